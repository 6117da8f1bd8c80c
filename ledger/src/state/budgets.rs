//! Budget moving down the hierarchy, and back up: appropriations, allocations and returns.

use super::{
    budget_put, not_authorized, overflow, positive, required_text, treasury_only, unknown_entity,
    Amount, BlockExec, Changes, Entity, EntityId, EntityKind, LineCode, Status, TxError, Year,
    REF_BYTES_MAX,
};

impl BlockExec<'_> {
    /// `appropriate`: the treasury gives a ministry budget on a year and line.
    pub(super) fn appropriate(
        &self,
        s: &Entity,
        year: &Year,
        line: &LineCode,
        to: &EntityId,
        amount: &Amount,
        legal_ref: &str,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        treasury_only(s, "appropriate")?;
        year.check()?;
        let m = self.entity_ref(to).ok_or_else(|| unknown_entity(to))?;
        if m.kind != EntityKind::Ministry {
            return Err(TxError::InvalidArgument {
                field: "to",
                reason: format!("{to} is a {}, not a ministry", m.kind.as_str()),
            });
        }
        if m.status != Status::Active {
            return Err(TxError::Inactive { entity: to.clone() });
        }
        positive(*amount)?;
        required_text("legal_ref", legal_ref, REF_BYTES_MAX)?;
        let mut t = self.budget(&s.id, *year, line);
        let mut b = self.budget(to, *year, line);
        let of = || overflow(format!("appropriations on {year}/{line}"));
        t.received = t.received.checked_add(*amount).ok_or_else(of)?;
        t.passed_on = t.passed_on.checked_add(*amount).ok_or_else(of)?;
        b.received = b.received.checked_add(*amount).ok_or_else(of)?;
        ch.push(budget_put(&s.id, *year, line, t));
        ch.push(budget_put(to, *year, line, b));
        Ok(ch)
    }

    /// `allocate`: a ministry passes budget it holds on to one of its departments.
    pub(super) fn allocate(
        &self,
        s: &Entity,
        year: &Year,
        line: &LineCode,
        to: &EntityId,
        amount: &Amount,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        if s.kind != EntityKind::Ministry {
            return Err(not_authorized(&s.id, "allocate (only ministries allocate)"));
        }
        year.check()?;
        let d = self.entity_ref(to).ok_or_else(|| unknown_entity(to))?;
        if d.kind != EntityKind::Department || d.parent.as_ref() != Some(&s.id) {
            return Err(not_authorized(
                &s.id,
                format!("allocate to {to}, which is not its department"),
            ));
        }
        if d.status != Status::Active {
            return Err(TxError::Inactive { entity: to.clone() });
        }
        positive(*amount)?;
        let mut m = self.spend_check(&s.id, *year, line, *amount)?;
        let mut b = self.budget(to, *year, line);
        let of = || overflow(format!("allocations on {year}/{line}"));
        m.passed_on = m.passed_on.checked_add(*amount).ok_or_else(of)?;
        b.received = b.received.checked_add(*amount).ok_or_else(of)?;
        ch.push(budget_put(&s.id, *year, line, m));
        ch.push(budget_put(to, *year, line, b));
        Ok(ch)
    }

    /// `return-funds`: a department or ministry gives unspent budget back to its parent.
    pub(super) fn return_funds(
        &self,
        s: &Entity,
        year: &Year,
        line: &LineCode,
        amount: &Amount,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        let parent = match s.kind {
            EntityKind::Department => s.parent.clone().ok_or_else(|| TxError::UnknownEntity {
                what: "parent of department",
                id: s.id.to_string(),
            })?,
            EntityKind::Ministry => self.treasury(),
            _ => {
                return Err(not_authorized(
                    &s.id,
                    "return funds (only departments and ministries hold budget)",
                ))
            }
        };
        year.check()?;
        positive(*amount)?;
        let mut own = self.spend_check(&s.id, *year, line, *amount)?;
        let mut p = self.budget(&parent, *year, line);
        let of = || overflow(format!("returns on {year}/{line}"));
        own.received = own.received.checked_sub(*amount).ok_or_else(of)?;
        p.passed_on = p.passed_on.checked_sub(*amount).ok_or_else(of)?;
        ch.push(budget_put(&s.id, *year, line, own));
        ch.push(budget_put(&parent, *year, line, p));
        Ok(ch)
    }
}
