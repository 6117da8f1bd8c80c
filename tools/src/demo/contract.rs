//! The departments' side of the story: which department acts next, the
//! contracts it awards to vendors, and each contract's installments,
//! deliveries, acceptance and amendment.

use genesis::story::StoryPurchase;
use ledger::tx::Op;
use ledger::{Amount, ContractId, EntityId, Hash};
use rand::Rng;

use super::{
    id, name, percent, round_down, vnd, Bookkeeping, ContractPlan, Draft, Expect, Feed, Stage,
    ACTIVE_CONTRACTS_PER_DEPARTMENT_MAX, ADVANCE_PERCENT, AMEND_ONE_IN, ROUND_VND,
    SECOND_PAYMENT_PERCENT,
};

impl Feed {
    /// The next department (round robin) with something to do: first
    /// among those with no payment gathering signatures (whose next action
    /// would wait for it), then among those.
    pub(super) fn draft_spending(&mut self) -> Option<Draft> {
        let n = self.departments.len();
        for quiet in [false, true] {
            for k in 0..n {
                let i = (self.cursor + k) % n;
                if self.is_quiet(&self.departments[i].id) != quiet {
                    continue;
                }
                if let Some(d) = self.department_draft(i) {
                    self.cursor = (i + 1) % n;
                    return Some(d);
                }
            }
        }
        None
    }

    fn department_draft(&mut self, i: usize) -> Option<Draft> {
        let dept = &self.departments[i];
        let active: Vec<ContractId> = self
            .active
            .iter()
            .filter(|(_, c)| c.department == dept.id)
            .map(|(id, _)| id.clone())
            .collect();
        let awardable: Vec<&'static StoryPurchase> = dept
            .purchases
            .iter()
            .copied()
            .filter(|p| {
                self.line_index(p.line).is_some_and(|l| {
                    self.available(&dept.id, self.year, &self.lines[l].code) >= p.min_vnd
                })
            })
            .collect();
        let award = active.len() < ACTIVE_CONTRACTS_PER_DEPARTMENT_MAX
            && !awardable.is_empty()
            && (active.is_empty() || self.rng.gen_bool(0.4));
        if award {
            let p = awardable[self.rng.gen_range(0..awardable.len())];
            return self.draft_award(i, p);
        }
        if !active.is_empty() {
            let contract = active[self.rng.gen_range(0..active.len())].clone();
            return self.draft_stage(contract);
        }
        self.draft_top_up(i)
    }

    /// The id the department's next contract of this year gets.
    pub(super) fn next_contract(&self, dept: &EntityId) -> (ContractId, u32) {
        let mut seq = match self.contract_seq.get(dept) {
            Some(s) => s + 1,
            None => {
                self.model
                    .contracts()
                    .filter(|c| c.department == *dept)
                    .count() as u32
                    + 1
            }
        };
        loop {
            let id = ContractId::new(&format!("HD-{dept}-{}-{seq:04}", self.year))
                .expect("contract ids built from entity ids are valid");
            if self.model.contract(&id).is_none() {
                return (id, seq);
            }
            seq += 1;
        }
    }

    fn draft_award(&mut self, i: usize, p: &'static StoryPurchase) -> Option<Draft> {
        let dept = self.departments[i].id.clone();
        let line = self.lines[self.line_index(p.line)?].code.clone();
        let available = self.available(&dept, self.year, &line);
        let upper = p.max_vnd.min(available);
        if upper < p.min_vnd {
            return None;
        }
        let amount = Amount(round_down(self.rng.gen_range(p.min_vnd..=upper), ROUND_VND));
        let (contract, seq) = self.next_contract(&dept);
        let plan = ContractPlan {
            department: dept.clone(),
            stage: Stage::Advance,
            amend: self.rng.gen_ratio(1, AMEND_ONE_IN),
        };
        Some(Draft {
            summary: format!(
                "{} awards {contract} to {} for {}: {}",
                name(&dept),
                name(&id(p.vendor)),
                vnd(amount),
                p.title
            ),
            signer: dept,
            op: Op::Award {
                document_hash: Some(Hash::digest(
                    format!("{contract}\n{}\n{amount}", p.title).as_bytes(),
                )),
                contract: contract.clone(),
                year: self.year,
                line,
                vendor: id(p.vendor),
                amount,
                title: p.title.to_owned(),
            },
            expect: Expect::Accepted,
            then: Bookkeeping::Awarded(contract, plan, seq),
            after: None,
            unapproved: false,
        })
    }

    pub(super) fn invoice(&mut self, what: &str) -> String {
        self.invoice_no += 1;
        format!("Hóa đơn số {:07} – {what}", self.invoice_no)
    }

    fn payment(
        &mut self,
        contract: &ContractId,
        amount: u64,
        what: &str,
        next: Option<Stage>,
    ) -> Draft {
        let c = self
            .model
            .contract(contract)
            .expect("caller checked")
            .clone();
        let amount = Amount(amount);
        let reference = self.invoice(what);
        Draft {
            signer: c.department.clone(),
            summary: format!(
                "{} pays {} {} on {contract} ({what})",
                name(&c.department),
                name(&c.vendor),
                vnd(amount)
            ),
            op: Op::Pay {
                contract: contract.clone(),
                amount,
                document_hash: Some(Hash::digest(reference.as_bytes())),
                reference,
            },
            expect: Expect::Accepted,
            then: Bookkeeping::Stage(contract.clone(), next),
            after: None,
            unapproved: false,
        }
    }

    fn delivery(&self, contract: &ContractId, milestone: &str, note: String, next: Stage) -> Draft {
        let department = self.active[contract].department.clone();
        Draft {
            summary: format!(
                "{} records delivery on {contract}: {milestone}",
                name(&department)
            ),
            signer: department,
            op: Op::ConfirmDelivery {
                contract: contract.clone(),
                milestone: milestone.to_owned(),
                note,
            },
            expect: Expect::Accepted,
            then: Bookkeeping::Stage(contract.clone(), Some(next)),
            after: None,
            unapproved: false,
        }
    }

    /// The next step of a contract in progress.
    fn draft_stage(&mut self, contract: ContractId) -> Option<Draft> {
        let Some(c) = self.model.contract(&contract).cloned() else {
            self.active.remove(&contract);
            return None;
        };
        let plan = self.active[&contract].clone();
        let unpaid = c.amount.0 - c.paid.0;
        let vendor = name(&c.vendor).to_owned();
        let installment = |p| round_down(percent(c.amount.0, p), ROUND_VND).clamp(1, unpaid);
        match plan.stage {
            _ if unpaid == 0 => {
                self.active.remove(&contract);
                None
            }
            Stage::Advance => Some(self.payment(
                &contract,
                installment(ADVANCE_PERCENT),
                "tạm ứng hợp đồng",
                Some(Stage::FirstDelivery),
            )),
            Stage::FirstDelivery => Some(self.delivery(
                &contract,
                "Đợt 1: bàn giao",
                format!("{vendor} bàn giao đợt 1, có biên bản ký hai bên"),
                Stage::SecondPayment,
            )),
            Stage::SecondPayment => Some(self.payment(
                &contract,
                installment(SECOND_PAYMENT_PERCENT),
                "thanh toán đợt 2",
                Some(Stage::Acceptance),
            )),
            Stage::Acceptance if plan.amend => {
                let increase =
                    round_down(percent(c.amount.0, self.rng.gen_range(5..=12)), ROUND_VND);
                let spare = self.available(&c.department, c.year, &c.line);
                if increase == 0 || increase > spare {
                    if let Some(p) = self.active.get_mut(&contract) {
                        p.amend = false;
                    }
                    return self.draft_stage(contract);
                }
                let amount = Amount(c.amount.0 + increase);
                let reason = "Điều chỉnh khối lượng phát sinh theo phụ lục hợp đồng";
                Some(Draft {
                    signer: c.department.clone(),
                    summary: format!(
                        "{} amends {contract} from {} to {}: {reason}",
                        name(&c.department),
                        vnd(c.amount),
                        vnd(amount)
                    ),
                    op: Op::AmendContract {
                        contract: contract.clone(),
                        amount,
                        reason: reason.to_owned(),
                        document_hash: Some(Hash::digest(
                            format!("{contract}\nphụ lục\n{amount}").as_bytes(),
                        )),
                    },
                    expect: Expect::Accepted,
                    then: Bookkeeping::Amended(contract),
                    after: None,
                    unapproved: false,
                })
            }
            Stage::Acceptance => Some(self.delivery(
                &contract,
                "Nghiệm thu hoàn thành",
                format!("Hội đồng nghiệm thu ký biên bản với {vendor}"),
                Stage::FinalPayment,
            )),
            Stage::FinalPayment => {
                Some(self.payment(&contract, unpaid, "quyết toán hợp đồng", None))
            }
        }
    }
}
