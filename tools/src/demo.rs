//! The demo spending feed of `minhbach devnet`: the devnet story
//! ([`genesis::story`]) told as transactions.
//!
//! Each fiscal year the treasury appropriates the ministries' budget lines,
//! the ministries allocate them to their departments (and top them up when
//! they run low), the departments award contracts to vendors, pay them in
//! installments against invoices, record deliveries and acceptance, now and
//! then amend a contract, and at the end of the year return what is unspent.
//! About one action in [`BAD_EVERY_ACTIONS`] is a deliberate mistake (a
//! payment beyond what a contract still owes, or an award or allocation
//! beyond a budget) that the ledger must refuse.
//!
//! [`Feed`] decides what happens next and nothing else: it does no I/O,
//! reads no clock, and its randomness is seeded. It keeps its own copy of the
//! ledger [`State`] and executes every action on it before handing it out,
//! so a planned action is one the ledger accepts (or, for a deliberate
//! mistake, refuses with the expected code), given that everything planned
//! before it was committed. [`Needs`] tells the runner what must be
//! committed first, because a node checks a signer's next transaction
//! against the committed state only. [`runner::FeedRunner`] signs, paces and
//! submits the actions to a node.

pub mod runner;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use genesis::story::{self, StoryLine, StoryPurchase};
use ledger::state::Verdict;
use ledger::tx::{EntityKind, Op, SignedTx, Status, TxBody};
use ledger::{Amount, ContractId, EntityId, Hash, LineCode, Signature, State, TxError, Year};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// On average one action in this many is a deliberate mistake.
pub const BAD_EVERY_ACTIONS: u64 = 20;
/// Contracts a department has in progress at once, at most.
pub const ACTIVE_CONTRACTS_PER_DEPARTMENT_MAX: usize = 2;
/// Drafts [`Feed::next`] tries before it gives up (each skipped draft is a
/// step that turned out to have nothing to do, such as returning a zero).
const DRAFTS_PER_ACTION_MAX: usize = 256;
/// Share of a line's yearly budget a ministry allocates at the start of the
/// year, split between the departments that spend from it.
const FIRST_ALLOCATION_PERCENT: u64 = 60;
/// Share of a line's yearly budget (per department) in a top-up.
const TOP_UP_PERCENT: u64 = 10;
/// The advance paid on award, as a share of the contract.
const ADVANCE_PERCENT: u64 = 30;
/// The second installment, as a share of the contract.
const SECOND_PAYMENT_PERCENT: u64 = 40;
/// One contract in this many is amended before its final payment.
const AMEND_ONE_IN: u32 = 5;
/// Amounts are rounded down to a million đồng, as budgets are quoted.
const ROUND_VND: u64 = 1_000_000;

// A deliberate mistake is the exception, and the three payments of a
// contract add up to at most the whole.
const _: () = assert!(BAD_EVERY_ACTIONS >= 4);
const _: () = assert!(ADVANCE_PERCENT + SECOND_PAYMENT_PERCENT < 100);
const _: () = assert!(FIRST_ALLOCATION_PERCENT <= 100);

/// What the ledger must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The transaction is valid.
    Accepted,
    /// A deliberate mistake, refused with this code.
    Refused(&'static str),
}

/// What must be committed before an action is submitted. A node checks a
/// signer's next transaction against its committed state, so an action that
/// spends budget another signer just gave must wait for that to commit, and
/// a deliberate mistake must be its signer's next transaction to be refused
/// on submission (a later one would be admitted and dropped afterwards,
/// taking the signer's following transactions with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Needs {
    /// Nothing: the signer's pending transactions come first by nonce.
    Nothing,
    /// Every transaction of the same signer.
    SignerIdle,
    /// Every transaction submitted so far.
    AllCommitted,
}

/// One action of the story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// Who signs.
    pub signer: EntityId,
    /// What it does.
    pub op: Op,
    /// What the ledger must answer.
    pub expect: Expect,
    /// What must be committed first.
    pub needs: Needs,
    /// One line for people: who does what, for how much.
    pub summary: String,
}

/// Where a contract is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Advance,
    FirstDelivery,
    SecondPayment,
    Acceptance,
    FinalPayment,
}

#[derive(Clone, Debug)]
struct ContractPlan {
    department: EntityId,
    stage: Stage,
    /// Amend before acceptance.
    amend: bool,
}

struct Line {
    ministry: EntityId,
    code: LineCode,
    story: &'static StoryLine,
    /// How many departments spend from it.
    departments: u64,
}

struct Department {
    id: EntityId,
    ministry: EntityId,
    purchases: Vec<&'static StoryPurchase>,
}

/// A scripted step of the year's calendar.
enum Intent {
    Appropriate {
        line: usize,
    },
    Allocate {
        line: usize,
        department: usize,
    },
    Return {
        entity: EntityId,
        line: usize,
        year: Year,
    },
    NextYear,
}

/// What the feed records once a drafted action executes on its model.
enum Bookkeeping {
    Nothing,
    Awarded(ContractId, ContractPlan, u32),
    Stage(ContractId, Option<Stage>),
    Amended(ContractId),
}

struct Draft {
    signer: EntityId,
    op: Op,
    expect: Expect,
    summary: String,
    then: Bookkeeping,
}

/// The planner of the demo feed. See the module documentation.
pub struct Feed {
    model: State,
    treasury: EntityId,
    rng: StdRng,
    year: Year,
    lines: Vec<Line>,
    departments: Vec<Department>,
    agenda: VecDeque<Intent>,
    active: BTreeMap<ContractId, ContractPlan>,
    /// Last contract number used per department.
    contract_seq: BTreeMap<EntityId, u32>,
    /// Round-robin position over the departments.
    cursor: usize,
    actions: u64,
    next_bad_at: u64,
    /// Entities whose budget another signer raised since the last
    /// [`Needs::AllCommitted`].
    raised: BTreeSet<EntityId>,
    invoice_no: u64,
    skipped: u64,
}

fn id(s: &str) -> EntityId {
    EntityId::new(s).expect("story ids are valid (checked by the genesis tests)")
}

fn round_down(amount: u64, unit: u64) -> u64 {
    amount / unit * unit
}

fn percent(amount: u64, p: u64) -> u64 {
    // u128: amounts near u64::MAX must not overflow here.
    (u128::from(amount) * u128::from(p) / 100) as u64
}

/// An amount as a Vietnamese reader writes it: `1.200.000 ₫`.
pub fn vnd(amount: Amount) -> String {
    format!("{} ₫", amount.to_string().replace(',', "."))
}

fn name(id: &EntityId) -> &str {
    story::name_of(id.as_str())
}

/// The story's actions, one after the other. `None` means the story has
/// nothing left to tell: the state has none of its ministries and
/// departments.
impl Iterator for Feed {
    type Item = Planned;

    fn next(&mut self) -> Option<Planned> {
        if self.lines.is_empty() {
            return None;
        }
        for _ in 0..DRAFTS_PER_ACTION_MAX {
            if let Some(planned) = self.draft().and_then(|d| self.settle(d)) {
                self.actions += 1;
                return Some(planned);
            }
        }
        None
    }
}

impl Feed {
    /// A feed that continues from `state`: the genesis state of a new chain,
    /// or the committed state of a chain that ran before. It books on the
    /// latest fiscal year the treasury has appropriated in `state`, or on
    /// `first_year` if none; contracts in progress are carried on.
    pub fn new(state: State, first_year: Year, seed: u64) -> Feed {
        let treasury = state
            .treasury()
            .expect("a ledger state always has a treasury")
            .clone();
        let is = |e: &EntityId, kind: EntityKind| {
            state
                .entity(e)
                .is_some_and(|x| x.kind == kind && x.status == Status::Active)
        };
        let mut departments: Vec<Department> = story::ENTITIES
            .iter()
            .filter(|e| e.kind == EntityKind::Department)
            .filter_map(|e| {
                let d = id(e.id);
                let m = id(e.parent?);
                let on_chain = state.entity(&d)?;
                (is(&d, EntityKind::Department)
                    && on_chain.parent.as_ref() == Some(&m)
                    && is(&m, EntityKind::Ministry))
                .then(|| Department {
                    purchases: story::PURCHASES
                        .iter()
                        .filter(|p| p.department == e.id && is(&id(p.vendor), EntityKind::Vendor))
                        .collect(),
                    id: d,
                    ministry: m,
                })
            })
            .collect();
        departments.retain(|d| !d.purchases.is_empty());
        let lines: Vec<Line> = story::LINES
            .iter()
            .filter(|l| is(&id(l.ministry), EntityKind::Ministry))
            .map(|l| Line {
                ministry: id(l.ministry),
                code: LineCode::new(l.code).expect("story line codes are valid"),
                story: l,
                departments: departments
                    .iter()
                    .filter(|d| d.purchases.iter().any(|p| p.line == l.code))
                    .count() as u64,
            })
            .filter(|l| l.departments > 0)
            .collect();
        let year = state
            .budgets()
            .filter(|(e, ..)| **e == treasury)
            .map(|(_, y, ..)| y)
            .max()
            .unwrap_or(first_year);
        let active = state
            .contracts()
            .filter(|c| c.paid < c.amount)
            .filter(|c| departments.iter().any(|d| d.id == c.department))
            .map(|c| {
                let stage = match (c.paid, c.deliveries) {
                    (Amount::ZERO, _) => Stage::Advance,
                    (_, 0) => Stage::FirstDelivery,
                    (paid, 1) if paid.0 < percent(c.amount.0, 70) => Stage::SecondPayment,
                    (_, 1) => Stage::Acceptance,
                    _ => Stage::FinalPayment,
                };
                let plan = ContractPlan {
                    department: c.department.clone(),
                    stage,
                    amend: false,
                };
                (c.id.clone(), plan)
            })
            .collect();
        let mut feed = Feed {
            model: state,
            treasury,
            rng: StdRng::seed_from_u64(seed),
            year,
            lines,
            departments,
            agenda: VecDeque::new(),
            active,
            contract_seq: BTreeMap::new(),
            cursor: 0,
            actions: 0,
            next_bad_at: 0,
            raised: BTreeSet::new(),
            invoice_no: 0,
            skipped: 0,
        };
        feed.next_bad_at = feed.bad_gap();
        feed.invoice_no = feed.rng.gen_range(1_000..9_000) * 100;
        feed.open_year();
        feed
    }

    /// The fiscal year being booked.
    pub fn year(&self) -> Year {
        self.year
    }

    /// The feed's ledger state: the chain's, if everything planned so far
    /// was committed.
    pub fn model(&self) -> &State {
        &self.model
    }

    /// Drafts that did not execute on the model as planned and were left
    /// out. Zero unless the feed's own logic is wrong, or the state holds
    /// something the story does not expect.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Tells the feed that an action it planned as valid was refused or
    /// dropped after all (a node said so), so that it stops building on it:
    /// the contract concerned is dropped from the story, and budget given by
    /// a refused appropriation or allocation is taken back from its model.
    pub fn refused_unexpectedly(&mut self, planned: &Planned) {
        match &planned.op {
            Op::Award { contract, .. } => {
                self.active.remove(contract);
                // Release what the model committed, so later awards see the
                // budget the chain really has.
                let undo = Op::AmendContract {
                    contract: contract.clone(),
                    amount: Amount::ZERO,
                    reason: "refused by the network".into(),
                    document_hash: None,
                };
                let _ = self.apply(&planned.signer, &undo);
            }
            Op::Pay { contract, .. }
            | Op::ConfirmDelivery { contract, .. }
            | Op::AmendContract { contract, .. } => {
                self.active.remove(contract);
            }
            Op::Allocate {
                year,
                line,
                to,
                amount,
            }
            | Op::Appropriate {
                year,
                line,
                to,
                amount,
                ..
            } => {
                let undo = Op::ReturnFunds {
                    year: *year,
                    line: line.clone(),
                    amount: *amount,
                };
                let _ = self.apply(to, &undo);
            }
            _ => {}
        }
    }

    fn bad_gap(&mut self) -> u64 {
        self.rng
            .gen_range(BAD_EVERY_ACTIONS / 2..=BAD_EVERY_ACTIONS * 3 / 2)
    }

    /// Puts the year's appropriations and first allocations on the agenda,
    /// leaving out those already in the model.
    fn open_year(&mut self) {
        let year = self.year;
        for (l, line) in self.lines.iter().enumerate() {
            if self.model.budget(&line.ministry, year, &line.code).received == Amount::ZERO {
                self.agenda.push_back(Intent::Appropriate { line: l });
            }
        }
        for (l, line) in self.lines.iter().enumerate() {
            for (d, dept) in self.departments.iter().enumerate() {
                let spends = dept.purchases.iter().any(|p| p.line == line.story.code);
                if spends && self.model.budget(&dept.id, year, &line.code).received == Amount::ZERO
                {
                    self.agenda.push_back(Intent::Allocate {
                        line: l,
                        department: d,
                    });
                }
            }
        }
    }

    /// Ends the year: departments, then ministries, return what is unspent.
    fn close_year(&mut self) {
        let year = self.year;
        for dept in &self.departments {
            for (l, line) in self.lines.iter().enumerate() {
                if line.ministry == dept.ministry {
                    self.agenda.push_back(Intent::Return {
                        entity: dept.id.clone(),
                        line: l,
                        year,
                    });
                }
            }
        }
        for (l, line) in self.lines.iter().enumerate() {
            self.agenda.push_back(Intent::Return {
                entity: line.ministry.clone(),
                line: l,
                year,
            });
        }
        self.agenda.push_back(Intent::NextYear);
    }

    fn draft(&mut self) -> Option<Draft> {
        if let Some(intent) = self.agenda.pop_front() {
            return self.draft_intent(intent);
        }
        if self.actions >= self.next_bad_at {
            self.next_bad_at = self.actions + self.bad_gap();
            if let Some(d) = self.draft_mistake() {
                return Some(d);
            }
        }
        let d = self.draft_spending();
        if d.is_none() {
            self.close_year();
        }
        d
    }

    fn available(&self, entity: &EntityId, year: Year, line: &LineCode) -> u64 {
        self.model
            .budget(entity, year, line)
            .available()
            .unwrap_or(Amount::ZERO)
            .0
    }

    fn draft_intent(&mut self, intent: Intent) -> Option<Draft> {
        let year = self.year;
        match intent {
            Intent::Appropriate { line } => {
                let l = &self.lines[line];
                let amount = Amount(l.story.yearly_vnd);
                let decision = self.rng.gen_range(1_500..2_600);
                Some(Draft {
                    signer: self.treasury.clone(),
                    summary: format!(
                        "{} appropriates {} to {} on {year}/{} ({})",
                        name(&self.treasury),
                        vnd(amount),
                        name(&l.ministry),
                        l.code,
                        l.story.title
                    ),
                    op: Op::Appropriate {
                        year,
                        line: l.code.clone(),
                        to: l.ministry.clone(),
                        amount,
                        legal_ref: format!(
                            "Quyết định {decision}/QĐ-TTg giao dự toán ngân sách nhà nước năm {year}"
                        ),
                    },
                    expect: Expect::Accepted,
                    then: Bookkeeping::Nothing,
                })
            }
            Intent::Allocate { line, department } => {
                let l = &self.lines[line];
                let share = percent(l.story.yearly_vnd, FIRST_ALLOCATION_PERCENT) / l.departments;
                let amount = round_down(
                    share.min(self.available(&l.ministry, year, &l.code)),
                    story::BILLION_VND,
                );
                if amount == 0 {
                    return None;
                }
                let dept = &self.departments[department];
                Some(self.allocation(line, &dept.id.clone(), Amount(amount), "allocates"))
            }
            Intent::Return { entity, line, year } => {
                let l = &self.lines[line];
                let amount = Amount(self.available(&entity, year, &l.code));
                if amount == Amount::ZERO {
                    return None;
                }
                let to = if entity == l.ministry {
                    self.treasury.clone()
                } else {
                    l.ministry.clone()
                };
                Some(Draft {
                    summary: format!(
                        "{} returns the unspent {} of {year}/{} to {}",
                        name(&entity),
                        vnd(amount),
                        l.code,
                        name(&to)
                    ),
                    op: Op::ReturnFunds {
                        year,
                        line: l.code.clone(),
                        amount,
                    },
                    signer: entity,
                    expect: Expect::Accepted,
                    then: Bookkeeping::Nothing,
                })
            }
            Intent::NextYear => {
                if let Ok(next) = Year::new(self.year.0 + 1) {
                    self.year = next;
                }
                self.open_year();
                None
            }
        }
    }

    fn allocation(&self, line: usize, to: &EntityId, amount: Amount, verb: &str) -> Draft {
        let l = &self.lines[line];
        Draft {
            signer: l.ministry.clone(),
            summary: format!(
                "{} {verb} {} to {} on {}/{}",
                name(&l.ministry),
                vnd(amount),
                name(to),
                self.year,
                l.code
            ),
            op: Op::Allocate {
                year: self.year,
                line: l.code.clone(),
                to: to.clone(),
                amount,
            },
            expect: Expect::Accepted,
            then: Bookkeeping::Nothing,
        }
    }

    fn line_index(&self, code: &str) -> Option<usize> {
        self.lines.iter().position(|l| l.story.code == code)
    }

    /// The next department (round robin) with something to do.
    fn draft_spending(&mut self) -> Option<Draft> {
        let n = self.departments.len();
        for k in 0..n {
            let i = (self.cursor + k) % n;
            if let Some(d) = self.department_draft(i) {
                self.cursor = (i + 1) % n;
                return Some(d);
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

    /// A ministry tops up a department that can no longer award anything.
    fn draft_top_up(&mut self, i: usize) -> Option<Draft> {
        let dept = &self.departments[i];
        for (l, line) in self.lines.iter().enumerate() {
            let on_line: Vec<&StoryPurchase> = dept
                .purchases
                .iter()
                .copied()
                .filter(|p| p.line == line.story.code)
                .collect();
            let (Some(min), Some(max)) = (
                on_line.iter().map(|p| p.min_vnd).min(),
                on_line.iter().map(|p| p.max_vnd).max(),
            ) else {
                continue;
            };
            let spare = self.available(&line.ministry, self.year, &line.code);
            if spare < min {
                continue;
            }
            let tranche = percent(line.story.yearly_vnd, TOP_UP_PERCENT) / line.departments;
            let amount = round_down(tranche.max(max).min(spare), ROUND_VND);
            return Some(self.allocation(l, &dept.id.clone(), Amount(amount), "tops up"));
        }
        None
    }

    /// The id the department's next contract of this year gets.
    fn next_contract(&self, dept: &EntityId) -> (ContractId, u32) {
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
        })
    }

    fn invoice(&mut self, what: &str) -> String {
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

    /// A deliberate mistake the ledger must refuse: paying more than a
    /// contract still owes, or awarding or allocating more than a budget
    /// holds.
    fn draft_mistake(&mut self) -> Option<Draft> {
        let first = self.rng.gen_range(0..3);
        (0..3).find_map(|k| match (first + k) % 3 {
            0 => self.mistake_overpay(),
            1 => self.mistake_award(),
            _ => self.mistake_allocate(),
        })
    }

    fn mistake_overpay(&mut self) -> Option<Draft> {
        let candidates: Vec<ContractId> = self
            .active
            .keys()
            .filter(|id| {
                self.model
                    .contract(id)
                    .is_some_and(|c| c.paid > Amount::ZERO && c.paid < c.amount)
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

    /// Executes a draft on the model and records it, or leaves it out.
    fn settle(&mut self, draft: Draft) -> Option<Planned> {
        let spends = matches!(
            draft.op,
            Op::Allocate { .. }
                | Op::Award { .. }
                | Op::AmendContract { .. }
                | Op::ReturnFunds { .. }
        );
        let base = match draft.expect {
            Expect::Accepted => Needs::Nothing,
            Expect::Refused(_) => Needs::SignerIdle,
        };
        let needs = if spends && self.raised.contains(&draft.signer) {
            Needs::AllCommitted
        } else {
            base
        };
        match draft.expect {
            Expect::Accepted => {
                if self.apply(&draft.signer, &draft.op).is_err() {
                    self.skipped += 1;
                    if let Bookkeeping::Stage(c, _) | Bookkeeping::Amended(c) = &draft.then {
                        self.active.remove(c);
                    }
                    return None;
                }
            }
            Expect::Refused(code) => match self.probe(&draft.signer, &draft.op) {
                Err(e) if e.code() == code => {}
                _ => {
                    self.skipped += 1;
                    return None;
                }
            },
        }
        if needs == Needs::AllCommitted {
            self.raised.clear();
        }
        if draft.expect == Expect::Accepted {
            self.record(&draft);
        }
        Some(Planned {
            signer: draft.signer,
            op: draft.op,
            expect: draft.expect,
            needs,
            summary: draft.summary,
        })
    }

    /// Bookkeeping after a valid draft executed on the model.
    fn record(&mut self, draft: &Draft) {
        match &draft.op {
            Op::Appropriate { to, .. } | Op::Allocate { to, .. } => {
                self.raised.insert(to.clone());
            }
            Op::ReturnFunds { .. } => {
                let parent = match self.model.entity(&draft.signer) {
                    Some(e) if e.kind == EntityKind::Department => e.parent.clone(),
                    _ => Some(self.treasury.clone()),
                };
                self.raised.extend(parent);
            }
            _ => {}
        }
        match &draft.then {
            Bookkeeping::Nothing => {}
            Bookkeeping::Awarded(contract, plan, seq) => {
                self.contract_seq.insert(plan.department.clone(), *seq);
                self.active.insert(contract.clone(), plan.clone());
            }
            Bookkeeping::Stage(contract, Some(next)) => {
                if let Some(p) = self.active.get_mut(contract) {
                    p.stage = *next;
                }
            }
            Bookkeeping::Stage(contract, None) => {
                self.active.remove(contract);
            }
            Bookkeeping::Amended(contract) => {
                if let Some(p) = self.active.get_mut(contract) {
                    p.amend = false;
                }
            }
        }
    }

    /// The transaction the model executes for `op`: the signer's next nonce
    /// and a signature the model takes as valid. The model checks the
    /// ledger's rules, not signatures; the runner signs for real.
    fn model_tx(&self, signer: &EntityId, op: &Op) -> Result<(SignedTx, Verdict), TxError> {
        let e = self
            .model
            .entity(signer)
            .ok_or_else(|| TxError::UnknownSigner {
                signer: signer.clone(),
            })?;
        let tx = SignedTx {
            body: TxBody {
                chain_id: self.model.chain_id().to_owned(),
                signer: signer.clone(),
                nonce: e.nonce + 1,
                op: op.clone(),
            },
            signature: Signature([0; 64]),
        };
        let verdict = Verdict {
            key: e.public_key,
            valid: true,
        };
        Ok((tx, verdict))
    }

    fn probe(&self, signer: &EntityId, op: &Op) -> Result<(), TxError> {
        let (tx, verdict) = self.model_tx(signer, op)?;
        self.model.begin_block().apply_tx(&tx, Some(verdict))
    }

    fn apply(&mut self, signer: &EntityId, op: &Op) -> Result<(), TxError> {
        let (tx, verdict) = self.model_tx(signer, op)?;
        let mut exec = self.model.begin_block();
        exec.apply_tx(&tx, Some(verdict))?;
        let outcome = exec.finish();
        self.model.commit(outcome);
        Ok(())
    }
}
