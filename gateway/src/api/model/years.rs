//! `GET /v1/years/{year}`: a fiscal year's figures per ministry and
//! department, and whether the treasury has closed it.

use ledger::tx::EntityKind;
use ledger::{Amount, EntityId, Year};
use serde::Serialize;
use utoipa::ToSchema;

use crate::approvals::YearRow;

/// `GET /v1/years/{year}`: a fiscal year, closed or not, and the figures of
/// every ministry and department with a budget line in it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearView {
    /// The fiscal year.
    pub year: Year,
    /// The height the figures are read at: the last committed one.
    pub height: u64,
    /// Whether the treasury has closed the year (`close-year`): its figures
    /// are final, and what is unspent has lapsed.
    pub closed: bool,
    /// The block that closed it; null while it is open.
    #[schema(required = true)]
    pub closed_at: Option<u64>,
    /// Each ministry (by id) followed by its departments (by id); only those
    /// with a budget line in the year, so empty for a year nothing was
    /// recorded in.
    pub entities: Vec<YearEntityView>,
}

/// One ministry's or department's figures on a fiscal year, summed over its
/// budget lines.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearEntityView {
    /// Id.
    pub id: EntityId,
    /// `ministry` or `department`.
    pub kind: EntityKind,
    /// Display name, as registered.
    pub name: String,
    /// A department's ministry; null for a ministry.
    #[schema(required = true)]
    pub parent: Option<EntityId>,
    /// Received (a ministry: appropriated by the treasury; a department:
    /// passed on by its ministry), net of returns.
    pub received: Amount,
    /// Passed on to its departments (a ministry), net of their returns.
    pub passed_on: Amount,
    /// Committed to contracts.
    pub committed: Amount,
    /// Paid to vendors.
    pub paid: Amount,
    /// received − passed on − paid: neither passed on nor paid (committed
    /// but unpaid contracts included).
    pub unspent: Amount,
    /// Once the year is closed, what lapsed: the same as `unspent`. Null
    /// while the year is open, when it may still be spent.
    #[schema(required = true)]
    pub lapsed: Option<Amount>,
}

impl YearEntityView {
    /// `row` of a year that is `closed` or not.
    pub fn new(row: &YearRow, closed: bool) -> YearEntityView {
        let f = &row.figures;
        YearEntityView {
            id: row.id.clone(),
            kind: row.kind,
            name: row.name.clone(),
            parent: row.parent.clone(),
            received: f.received,
            passed_on: f.passed_on,
            committed: f.committed,
            paid: f.paid,
            unspent: f.unspent,
            lapsed: closed.then_some(f.unspent),
        }
    }
}
