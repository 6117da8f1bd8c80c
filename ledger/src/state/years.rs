//! Closing a fiscal year: once the treasury closes it, its budget lines are
//! final. No appropriation, allocation, return, award, amendment or payment
//! touches the year again, and what was not paid or passed on has lapsed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{treasury_only, BlockExec, Changes, Entity, State, StateKey, StateValue, TxError};
use crate::tx::Op;
use crate::types::{Amount, EntityId, Height, Year};

impl BlockExec<'_> {
    /// The block that closed `year`, if it is closed.
    fn year_closed(&self, year: Year) -> Option<Height> {
        match self.get(&StateKey::YearClosed(year)) {
            Some(StateValue::YearClosed(at)) => Some(*at),
            _ => None,
        }
    }

    /// Whether a fiscal year may be closed (false: surely none), so that the
    /// common case costs nothing more.
    fn any_year_closed(&self) -> bool {
        self.years_closed_maybe
    }

    /// Refuses an operation that moves money on a closed year: on its own
    /// year, or on the year of the contract it names.
    pub(super) fn check_year_open(&self, op: &Op) -> Result<(), TxError> {
        if !self.any_year_closed() {
            return Ok(());
        }
        let year = match op {
            Op::Appropriate { year, .. }
            | Op::Allocate { year, .. }
            | Op::ReturnFunds { year, .. }
            | Op::Award { year, .. } => Some(*year),
            Op::AmendContract { contract, .. } | Op::Pay { contract, .. } => {
                match self.get(&StateKey::Contract(contract.clone())) {
                    Some(StateValue::Contract(c)) => Some(c.year),
                    _ => None,
                }
            }
            _ => None,
        };
        match year.and_then(|y| Some((y, self.year_closed(y)?))) {
            Some((year, closed_at)) => Err(TxError::YearClosed { year, closed_at }),
            None => Ok(()),
        }
    }

    /// `close-year`: the treasury closes a fiscal year.
    pub(super) fn close_year(&self, s: &Entity, year: Year) -> Result<Changes, TxError> {
        treasury_only(s, "close-year")?;
        year.check()?;
        if let Some(at) = self.year_closed(year) {
            return Err(TxError::NoOp {
                op: "close-year",
                reason: format!("fiscal year {year} was closed at block {at}"),
            });
        }
        Ok(vec![(
            StateKey::YearClosed(year),
            Some(StateValue::YearClosed(self.height)),
        )])
    }
}

/// One entity's figures on a fiscal year, summed over its budget lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct YearFigures {
    /// Budget received.
    pub received: Amount,
    /// Passed on to its departments (for a ministry).
    pub passed_on: Amount,
    /// Committed to contracts.
    pub committed: Amount,
    /// Paid to vendors.
    pub paid: Amount,
    /// What was neither passed on nor paid: once the year is closed, it has
    /// lapsed unspent (received − passed on − paid).
    pub unspent: Amount,
}

impl State {
    /// The block that closed `year`, if the treasury has closed it.
    pub fn year_closed(&self, year: Year) -> Option<Height> {
        self.begin_block().year_closed(year)
    }

    /// The closed fiscal years, with the blocks that closed them.
    pub fn closed_years(&self) -> Vec<(Year, Height)> {
        self.entries()
            .filter_map(|(k, v)| match (k, v) {
                (StateKey::YearClosed(y), StateValue::YearClosed(at)) => Some((*y, *at)),
                _ => None,
            })
            .collect()
    }

    /// Every ministry's and department's figures on `year`, summed over
    /// their budget lines, by entity. `None` for a figure that overflows.
    pub fn year_figures(&self, year: Year) -> Option<BTreeMap<EntityId, YearFigures>> {
        let mut out: BTreeMap<EntityId, YearFigures> = BTreeMap::new();
        for (k, v) in self.entries() {
            let (StateKey::Budget(entity, y, _), StateValue::Budget(b)) = (k, v) else {
                continue;
            };
            let kind = self.entity(entity).map(|e| e.kind);
            if *y != year
                || !matches!(
                    kind,
                    Some(crate::tx::EntityKind::Ministry | crate::tx::EntityKind::Department)
                )
            {
                continue;
            }
            let f = out.entry(entity.clone()).or_default();
            f.received = f.received.checked_add(b.received)?;
            f.passed_on = f.passed_on.checked_add(b.passed_on)?;
            f.committed = f.committed.checked_add(b.committed)?;
            f.paid = f.paid.checked_add(b.paid)?;
        }
        for f in out.values_mut() {
            f.unspent = f.received.checked_sub(f.passed_on)?.checked_sub(f.paid)?;
        }
        Some(out)
    }
}
