//! What the API and the explorer both read of a fiscal year and of the
//! transactions awaiting signatures, so that the JSON and the pages show
//! the same rows in the same order:
//! - [`year_rows`]: every ministry's and department's figures on a year,
//!   each ministry followed by its departments;
//! - [`awaiting`]: the transactions a node holds while they gather
//!   signatures, and [`waits_for`]: whose signatures each still needs.

use std::sync::Mutex;

use ledger::state::YearFigures;
use ledger::tx::EntityKind;
use ledger::{EntityId, State, TxError, Year};
use node::awaiting::{Awaiting, AwaitingPool, AWAITING_MAX};

/// One ministry's or department's figures on a fiscal year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearRow {
    /// The entity.
    pub id: EntityId,
    /// Its kind: a ministry or a department.
    pub kind: EntityKind,
    /// Its display name, as registered.
    pub name: String,
    /// A department's ministry; `None` for a ministry.
    pub parent: Option<EntityId>,
    /// Its figures, summed over its budget lines of the year.
    pub figures: YearFigures,
}

/// Every ministry and department with a budget line in `year`: each
/// ministry (by id) followed by its departments (by id). Empty for a year
/// nothing was recorded in; `None` if a sum overflows.
pub fn year_rows(state: &State, year: Year) -> Option<Vec<YearRow>> {
    let figures = state.year_figures(year)?;
    let mut rows: Vec<YearRow> = figures
        .into_iter()
        .filter_map(|(id, figures)| {
            let e = state.entity(&id)?;
            let parent = match e.kind {
                EntityKind::Department => e.parent.clone(),
                _ => None,
            };
            Some(YearRow {
                kind: e.kind,
                name: e.name.clone(),
                parent,
                figures,
                id,
            })
        })
        .collect();
    rows.sort_by(|a, b| group_key(a).cmp(&group_key(b)));
    Some(rows)
}

/// Where a row goes: under its ministry, the ministry first.
fn group_key(r: &YearRow) -> (&EntityId, bool, &EntityId) {
    match &r.parent {
        Some(ministry) => (ministry, true, &r.id),
        None => (&r.id, false, &r.id),
    }
}

/// Whose signatures a transaction awaiting signatures still needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitsFor {
    /// The signer itself (`threshold_not_met`), or the controller a control
    /// rule names (`approval_required`).
    pub entity: EntityId,
    /// Whether it is a controller's approval that is missing.
    pub approval: bool,
    /// How many of that entity's keys must sign.
    pub threshold: u8,
    /// How many of them have signed.
    pub signed: usize,
}

/// Whose signatures `needs` says are missing; `None` for any other error.
/// Execution checks the signer's own keys before a controller's, so while
/// the signer's threshold is not met that is what a transaction waits for.
pub fn waits_for(needs: &TxError) -> Option<WaitsFor> {
    match needs {
        TxError::ThresholdNotMet {
            entity,
            threshold,
            signed,
        } => Some(WaitsFor {
            entity: entity.clone(),
            approval: false,
            threshold: *threshold,
            signed: *signed,
        }),
        TxError::ApprovalRequired {
            controller,
            threshold,
            signed,
            ..
        } => Some(WaitsFor {
            entity: controller.clone(),
            approval: true,
            threshold: *threshold,
            signed: *signed,
        }),
        _ => None,
    }
}

/// The transactions awaiting signatures that are still current on `state`
/// (their signer has not used their nonce), oldest first, at most
/// [`AWAITING_MAX`]. Takes `pool`'s lock after the caller's state lock, in
/// the node's lock order.
pub fn awaiting(state: &State, pool: &Mutex<AwaitingPool>) -> Vec<Awaiting> {
    pool.lock()
        .expect("awaiting lock")
        .list(state)
        .into_iter()
        .take(AWAITING_MAX)
        .cloned()
        .collect()
}
