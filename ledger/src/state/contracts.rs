//! Contracts: awards, amendments, payments and deliveries.

use super::{
    budget_put, check_text, not_authorized, overflow, positive, required_text, unknown_entity,
    AckChunk, Amount, BlockExec, Changes, Contract, ContractId, Delivery, Entity, EntityId,
    EntityKind, Hash, LineCode, StateKey, StateValue, Status, TxError, Year, REF_BYTES_MAX,
    TEXT_BYTES_MAX,
};

impl BlockExec<'_> {
    /// `award`: a department commits budget it holds to a contract with an active vendor.
    #[allow(clippy::too_many_arguments)] // one argument per field of the operation
    pub(super) fn award(
        &self,
        s: &Entity,
        contract: &ContractId,
        year: &Year,
        line: &LineCode,
        vendor: &EntityId,
        amount: &Amount,
        title: &str,
        document_hash: &Option<Hash>,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        if s.kind != EntityKind::Department {
            return Err(not_authorized(
                &s.id,
                "award contracts (only departments do)",
            ));
        }
        year.check()?;
        if self.get(&StateKey::Contract(contract.clone())).is_some() {
            return Err(TxError::Duplicate {
                what: "contract",
                id: contract.to_string(),
            });
        }
        let v = self
            .entity_ref(vendor)
            .ok_or_else(|| unknown_entity(vendor))?;
        if v.kind != EntityKind::Vendor {
            return Err(TxError::InvalidArgument {
                field: "vendor",
                reason: format!("{vendor} is a {}, not a vendor", v.kind.as_str()),
            });
        }
        if v.status != Status::Active {
            return Err(TxError::Inactive {
                entity: vendor.clone(),
            });
        }
        positive(*amount)?;
        required_text("title", title, TEXT_BYTES_MAX)?;
        let mut d = self.spend_check(&s.id, *year, line, *amount)?;
        d.committed = d
            .committed
            .checked_add(*amount)
            .ok_or_else(|| overflow("committed"))?;
        ch.push(budget_put(&s.id, *year, line, d));
        ch.push((
            StateKey::Contract(contract.clone()),
            Some(StateValue::Contract(Contract {
                id: contract.clone(),
                department: s.id.clone(),
                vendor: vendor.clone(),
                year: *year,
                line: line.clone(),
                amount: *amount,
                paid: Amount::ZERO,
                title: title.to_owned(),
                document_hash: *document_hash,
                deliveries: 0,
                payments: 0,
                awarded_at: self.height,
            })),
        ));
        Ok(ch)
    }

    /// `amend-contract`: its department changes a contract's amount (never below what is paid) or document.
    pub(super) fn amend_contract(
        &self,
        s: &Entity,
        contract: &ContractId,
        amount: &Amount,
        reason: &str,
        document_hash: &Option<Hash>,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        let mut c = self.awarded_by(s, contract, "amend")?;
        required_text("reason", reason, TEXT_BYTES_MAX)?;
        let new_document = document_hash.is_some() && *document_hash != c.document_hash;
        if *amount == c.amount && !new_document {
            return Err(TxError::NoOp {
                op: "amend-contract",
                reason: format!("{contract} is already {amount}, with no new document"),
            });
        }
        if *amount < c.paid {
            return Err(TxError::OverContract {
                contract: contract.clone(),
                message: format!(
                    "amend {contract} to {amount}, below the {} already paid",
                    c.paid
                ),
            });
        }
        let mut d = if *amount > c.amount {
            let increase = amount.checked_sub(c.amount).expect("amount > c.amount");
            let mut d = self.spend_check(&s.id, c.year, &c.line, increase)?;
            d.committed = d
                .committed
                .checked_add(increase)
                .ok_or_else(|| overflow("committed"))?;
            d
        } else {
            let decrease = c.amount.checked_sub(*amount).expect("amount <= c.amount");
            let mut d = self.budget(&s.id, c.year, &c.line);
            d.committed = d
                .committed
                .checked_sub(decrease)
                .ok_or_else(|| overflow("committed"))?;
            d
        };
        c.amount = *amount;
        if document_hash.is_some() {
            c.document_hash = *document_hash;
        }
        ch.push(budget_put(&s.id, c.year, &c.line, std::mem::take(&mut d)));
        ch.push((
            StateKey::Contract(contract.clone()),
            Some(StateValue::Contract(c)),
        ));
        Ok(ch)
    }

    /// `pay`: its department pays an active vendor on a contract, never beyond what is unpaid.
    pub(super) fn pay(
        &self,
        s: &Entity,
        contract: &ContractId,
        amount: &Amount,
        reference: &str,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        let mut c = self.awarded_by(s, contract, "pay")?;
        positive(*amount)?;
        required_text("reference", reference, REF_BYTES_MAX)?;
        let unpaid = c
            .amount
            .checked_sub(c.paid)
            .ok_or_else(|| overflow("unpaid"))?;
        if *amount > unpaid {
            return Err(TxError::OverContract {
                contract: contract.clone(),
                message: format!(
                    "pay {amount} exceeds the {unpaid} still unpaid on contract {contract}"
                ),
            });
        }
        let v = self
            .entity_ref(&c.vendor)
            .ok_or_else(|| unknown_entity(&c.vendor))?;
        if v.status != Status::Active {
            return Err(TxError::Inactive {
                entity: c.vendor.clone(),
            });
        }
        let mut d = self.budget(&s.id, c.year, &c.line);
        let mut vb = self.budget(&c.vendor, c.year, &c.line);
        let of = || overflow(format!("payments on {contract}"));
        c.paid = c.paid.checked_add(*amount).ok_or_else(of)?;
        d.paid = d.paid.checked_add(*amount).ok_or_else(of)?;
        vb.received = vb.received.checked_add(*amount).ok_or_else(of)?;
        c.payments = c
            .payments
            .checked_add(1)
            .ok_or_else(|| overflow("payments"))?;
        ch.push(budget_put(&s.id, c.year, &c.line, d));
        ch.push(budget_put(&c.vendor, c.year, &c.line, vb));
        ch.push((
            StateKey::Contract(contract.clone()),
            Some(StateValue::Contract(c)),
        ));
        Ok(ch)
    }

    /// `confirm-delivery`: its department records a delivered milestone of a contract.
    pub(super) fn confirm_delivery(
        &self,
        s: &Entity,
        contract: &ContractId,
        milestone: &str,
        note: &str,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        let mut c = self.awarded_by(s, contract, "confirm delivery on")?;
        required_text("milestone", milestone, REF_BYTES_MAX)?;
        check_text("note", note, TEXT_BYTES_MAX)?;
        let seq = c.deliveries;
        c.deliveries = seq.checked_add(1).ok_or_else(|| overflow("deliveries"))?;
        ch.push((
            StateKey::Delivery(contract.clone(), seq),
            Some(StateValue::Delivery(Delivery {
                milestone: milestone.to_owned(),
                note: note.to_owned(),
                height: self.height,
            })),
        ));
        ch.push((
            StateKey::Contract(contract.clone()),
            Some(StateValue::Contract(c)),
        ));
        Ok(ch)
    }

    /// `acknowledge-payment`: the contract's vendor acknowledges that it
    /// received one of its payments.
    pub(super) fn acknowledge_payment(
        &self,
        s: &Entity,
        contract: &ContractId,
        payment: u32,
    ) -> Result<Changes, TxError> {
        let c = self.contract(contract)?;
        if c.vendor != s.id {
            return Err(not_authorized(
                &s.id,
                format!(
                    "acknowledge payments of {contract}, whose vendor is {}",
                    c.vendor
                ),
            ));
        }
        if payment >= c.payments {
            return Err(TxError::UnknownEntity {
                what: "payment",
                id: format!("{payment} of contract {contract} (it has {})", c.payments),
            });
        }
        let (chunk, bit) = AckChunk::locate(payment);
        let key = StateKey::Acks(contract.clone(), chunk);
        let mut acks = match self.get(&key) {
            Some(StateValue::Acks(a)) => a.clone(),
            _ => AckChunk::empty(),
        };
        if acks.get(bit) {
            return Err(TxError::NoOp {
                op: "acknowledge-payment",
                reason: format!("payment {payment} of {contract} is already acknowledged"),
            });
        }
        acks.set(bit);
        Ok(vec![(key, Some(StateValue::Acks(acks)))])
    }

    /// The contract, if `s` awarded it.
    fn awarded_by(
        &self,
        s: &Entity,
        contract: &ContractId,
        action: &str,
    ) -> Result<Contract, TxError> {
        let c = self.contract(contract)?;
        if c.department != s.id {
            return Err(not_authorized(
                &s.id,
                format!("{action} {contract}, which {} awarded", c.department),
            ));
        }
        Ok(c)
    }
}
