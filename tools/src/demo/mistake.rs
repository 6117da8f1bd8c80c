//! The deliberate mistakes of the story, which the ledger must refuse: a
//! payment beyond what a contract still owes, an award or allocation beyond
//! what a budget holds, and a payment a control rule covers signed without
//! the controller.

use genesis::story::StoryPurchase;
use ledger::state::ControlRule;
use ledger::tx::Op;
use ledger::{Amount, ContractId, EntityId, Hash};
use rand::Rng;

use super::{
    id, name, percent, round_down, vnd, Bookkeeping, Draft, Expect, Feed, ADVANCE_PERCENT,
    ROUND_VND, TOP_UP_PERCENT,
};

impl Feed {
    /// A deliberate mistake the ledger must refuse: paying more than a
    /// contract still owes, awarding or allocating more than a budget
    /// holds, or paying without the controller a control rule asks for.
    pub(super) fn draft_mistake(&mut self) -> Option<Draft> {
        const KINDS: u32 = 4;
        let first = self.rng.gen_range(0..KINDS);
        (0..KINDS).find_map(|k| match (first + k) % KINDS {
            0 => self.mistake_overpay(),
            1 => self.mistake_award(),
            2 => self.mistake_allocate(),
            _ => self.mistake_unapproved(),
        })
    }

    fn mistake_overpay(&mut self) -> Option<Draft> {
        let candidates: Vec<ContractId> = self
            .active
            .keys()
            .filter(|id| {
                self.model.contract(id).is_some_and(|c| {
                    c.paid > Amount::ZERO && c.paid < c.amount && !self.is_quiet(&c.department)
                })
            })
            .cloned()
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let contract = candidates[self.rng.gen_range(0..candidates.len())].clone();
        let c = self.model.contract(&contract)?.clone();
        let unpaid = c.amount.0 - c.paid.0;
        let amount = Amount(
            unpaid + round_down(percent(c.amount.0, ADVANCE_PERCENT), ROUND_VND).max(ROUND_VND),
        );
        let reference = self.invoice("hóa đơn trùng");
        Some(Draft {
            signer: c.department.clone(),
            summary: format!(
                "{} tries to pay {} {} on {contract}, more than the {} still unpaid",
                name(&c.department),
                name(&c.vendor),
                vnd(amount),
                vnd(Amount(unpaid))
            ),
            op: Op::Pay {
                contract,
                amount,
                document_hash: Some(Hash::digest(reference.as_bytes())),
                reference,
            },
            expect: Expect::Refused("over_contract"),
            then: Bookkeeping::Nothing,
            after: None,
            unapproved: false,
        })
    }

    /// A random department and one of its purchases, with the line's index.
    fn random_purchase(&mut self) -> Option<(EntityId, &'static StoryPurchase, usize)> {
        let i = self.rng.gen_range(0..self.departments.len());
        let n = self.departments[i].purchases.len();
        let p = self.departments[i].purchases[self.rng.gen_range(0..n)];
        let l = self.line_index(p.line)?;
        Some((self.departments[i].id.clone(), p, l))
    }

    fn mistake_award(&mut self) -> Option<Draft> {
        let (dept, p, l) = self.random_purchase()?;
        if self.is_quiet(&dept) {
            return None;
        }
        let line = self.lines[l].code.clone();
        let available = self.available(&dept, self.year, &line);
        let over = round_down(percent(p.max_vnd, self.rng.gen_range(10..=50)), ROUND_VND);
        let amount = Amount(available + over.max(ROUND_VND));
        let (contract, _) = self.next_contract(&dept);
        Some(Draft {
            summary: format!(
                "{} tries to award {contract} to {} for {}, more than the {} left on {}/{line}",
                name(&dept),
                name(&id(p.vendor)),
                vnd(amount),
                vnd(Amount(available)),
                self.year,
            ),
            signer: dept,
            op: Op::Award {
                document_hash: None,
                contract,
                year: self.year,
                line,
                vendor: id(p.vendor),
                amount,
                title: p.title.to_owned(),
            },
            expect: Expect::Refused("over_budget"),
            then: Bookkeeping::Nothing,
            after: None,
            unapproved: false,
        })
    }

    fn mistake_allocate(&mut self) -> Option<Draft> {
        let (dept, _, l) = self.random_purchase()?;
        let line = &self.lines[l];
        let available = self.available(&line.ministry, self.year, &line.code);
        let over = percent(line.story.yearly_vnd, TOP_UP_PERCENT).max(ROUND_VND);
        let mut d = self.allocation(l, &dept, Amount(available + over), "tries to allocate");
        d.summary = format!(
            "{}, more than the {} it has left",
            d.summary,
            vnd(Amount(available))
        );
        d.expect = Expect::Refused("over_budget");
        Some(d)
    }

    /// A department pays the next installment of a contract, of at least
    /// the amount a control rule covers, without the controller's
    /// signature.
    fn mistake_unapproved(&mut self) -> Option<Draft> {
        let mut candidates: Vec<(ContractId, ControlRule)> = Vec::new();
        for (id, plan) in &self.active {
            let Some(c) = self.model.contract(id) else {
                continue;
            };
            if c.paid >= c.amount || self.is_quiet(&plan.department) {
                continue;
            }
            let whole = Op::Pay {
                contract: id.clone(),
                amount: Amount(c.amount.0 - c.paid.0),
                reference: String::new(),
                document_hash: None,
            };
            if let Some(rule) = self.model.control_rule_for(&c.department, &whole) {
                candidates.push((id.clone(), rule));
            }
        }
        if candidates.is_empty() {
            return None;
        }
        let (contract, rule) = candidates.swap_remove(self.rng.gen_range(0..candidates.len()));
        let c = self.model.contract(&contract)?.clone();
        let unpaid = c.amount.0 - c.paid.0;
        let installment = round_down(percent(c.amount.0, ADVANCE_PERCENT), ROUND_VND);
        // At least the rule's amount, at most what is owed (which the rule
        // covers): refused for the missing signature and nothing else.
        let amount = Amount(installment.max(rule.amount.0).min(unpaid));
        let reference = self.invoice("thanh toán chưa qua kiểm soát chi");
        Some(Draft {
            signer: c.department.clone(),
            summary: format!(
                "{} tries to pay {} {} on {contract} without {}, whose signature payments of {} \
                 or more need",
                name(&c.department),
                name(&c.vendor),
                vnd(amount),
                name(&rule.controller),
                vnd(rule.amount)
            ),
            op: Op::Pay {
                contract,
                amount,
                document_hash: Some(Hash::digest(reference.as_bytes())),
                reference,
            },
            expect: Expect::Refused("approval_required"),
            then: Bookkeeping::Nothing,
            after: None,
            unapproved: true,
        })
    }
}
