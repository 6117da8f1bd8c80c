//! The demo spending feed of `minhbach devnet`: the devnet story
//! ([`genesis::story`]) told as transactions.
//!
//! Each fiscal year the treasury appropriates the ministries' budget lines,
//! the ministries allocate them to their departments (and top them up when
//! they run low), the departments award contracts to vendors, pay them in
//! installments against invoices, record deliveries and acceptance, now and
//! then amend a contract, and at the end of the year return what is unspent.
//! About one action in [`BAD_EVERY_ACTIONS`] is a deliberate mistake (a
//! payment beyond what a contract still owes, an award or allocation beyond
//! a budget, or a payment a control rule covers made without the
//! controller) that the ledger must refuse.
//!
//! Where a control rule asks for the controller's signature (KBNN's, on
//! payments and awards of 50 tỷ or more), the controller signs with the
//! department, except for about one controlled payment in
//! [`AWAIT_ONE_IN`]: the department's signature is left with the node to
//! gather signatures, and the controller's follows a few seconds later
//! ([`Planned::cosign_after`]), so the explorer's `/awaiting` page has
//! something to show. Vendors acknowledge each payment a few seconds after
//! it is committed, except about one in [`UNACKNOWLEDGED_ONE_IN`], which its
//! vendor never acknowledges ([`acks::never_acknowledged`]) and the explorer
//! flags once it is 1,000 blocks old.
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

pub mod acks;
mod budget;
mod contract;
mod mistake;
mod model;
pub mod runner;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use genesis::story::{self, StoryLine, StoryPurchase};
use ledger::tx::{EntityKind, Op, Status};
use ledger::{Amount, ContractId, EntityId, LineCode, State, Year};
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
/// About one controlled payment in this many gathers its signatures on the
/// node: the controller signs a few seconds after the department.
pub const AWAIT_ONE_IN: u32 = 2;
/// Shortest wait before the controller co-signs a payment left with the
/// node, in milliseconds.
pub const COSIGN_AFTER_MS_MIN: u64 = 3_000;
/// Longest such wait.
pub const COSIGN_AFTER_MS_MAX: u64 = 8_000;
/// Time for a co-signed payment to be committed, in milliseconds: the
/// department acts again only after the wait and this.
const COMMIT_MARGIN_MS: u64 = 2_000;
/// About one payment in this many is never acknowledged by its vendor.
pub const UNACKNOWLEDGED_ONE_IN: u64 = 10;
/// A vendor acknowledges a payment this many milliseconds after it is
/// planned, at the pace, at the soonest (time for it to be committed)...
const ACK_AFTER_MS_MIN: u64 = 2_000;
/// ...and at the latest (plus the wait of a payment gathering signatures).
const ACK_AFTER_MS_MAX: u64 = 6_000;
/// The pace the feed plans for unless told another
/// ([`Feed::set_pace`]): the devnet's default, in actions per second.
pub const PACE_PER_S_DEFAULT: f64 = 5.0;

// A deliberate mistake is the exception, and the three payments of a
// contract add up to at most the whole.
const _: () = assert!(BAD_EVERY_ACTIONS >= 4);
const _: () = assert!(ADVANCE_PERCENT + SECOND_PAYMENT_PERCENT < 100);
const _: () = assert!(FIRST_ALLOCATION_PERCENT <= 100);
const _: () = assert!(COSIGN_AFTER_MS_MIN <= COSIGN_AFTER_MS_MAX && AWAIT_ONE_IN > 0);
const _: () = assert!(UNACKNOWLEDGED_ONE_IN > 1 && ACK_AFTER_MS_MIN <= ACK_AFTER_MS_MAX);

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
    /// The action's number in the feed, from 0: how a later action names it
    /// in [`Planned::after`].
    pub seq: u64,
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
    /// The controller that co-signs: the one a control rule asks for, as
    /// the state stood before the action (an amendment is judged by the
    /// amount it raises the contract from). `None` where no rule covers the
    /// action, and for the deliberate mistake of paying without it.
    pub controller: Option<EntityId>,
    /// For a controlled payment whose signatures the node gathers: how long
    /// after the signer's signature is left with the node
    /// (`POST /v1/awaiting`) the controller adds its own. The transaction
    /// holds the signer's next nonce meanwhile, so the signer must be idle
    /// first ([`Needs::SignerIdle`]) and does nothing else until it is
    /// committed. `None`: the controller, if any, signs with the signer.
    pub cosign_after: Option<Duration>,
    /// An earlier action (its [`Planned::seq`]), of another signer, that
    /// must be committed first: the payment a vendor acknowledges. If that
    /// action failed, this one is left out.
    pub after: Option<u64>,
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

/// An acknowledgement a vendor will make ([`acks`]).
#[derive(Clone, Debug)]
struct PendingAck {
    /// When: once the feed has planned this many actions.
    due: u64,
    contract: ContractId,
    /// Which of the contract's payments, from 0.
    payment: u32,
    /// The payment's own action, if the feed planned it: it must be
    /// committed first.
    after: Option<u64>,
}

struct Draft {
    signer: EntityId,
    op: Op,
    expect: Expect,
    summary: String,
    then: Bookkeeping,
    /// See [`Planned::after`].
    after: Option<u64>,
    /// Signed without the controller a control rule asks for: a
    /// deliberate mistake.
    unapproved: bool,
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
    /// Acknowledgements the vendors will make.
    acks: Vec<PendingAck>,
    /// Departments with a payment gathering signatures, left alone until
    /// this many actions have been planned.
    quiet: BTreeMap<EntityId, u64>,
    /// Actions per second the runner submits at.
    pace_per_s: f64,
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
            acks: Vec::new(),
            quiet: BTreeMap::new(),
            pace_per_s: PACE_PER_S_DEFAULT,
        };
        feed.next_bad_at = feed.bad_gap();
        feed.invoice_no = feed.rng.gen_range(1_000..9_000) * 100;
        feed.resume_acks();
        feed.open_year();
        feed
    }

    /// Tells the feed how many actions per second are submitted, so that a
    /// department whose payment gathers signatures is left alone for about
    /// as long as that takes, rather than holding up the actions after its
    /// own. Any pace above zero is safe; a pace far from the real one only
    /// makes the runner wait more.
    pub fn set_pace(&mut self, actions_per_s: f64) {
        if actions_per_s > 0.0 && actions_per_s.is_finite() {
            self.pace_per_s = actions_per_s;
        }
    }

    /// Actions planned while `ms` milliseconds pass, at the pace.
    fn actions_in(&self, ms: u64) -> u64 {
        (ms as f64 / 1000.0 * self.pace_per_s).ceil() as u64
    }

    /// Whether `department` has a payment gathering signatures and should
    /// be left alone for now.
    fn is_quiet(&self, department: &EntityId) -> bool {
        self.quiet
            .get(department)
            .is_some_and(|until| self.actions < *until)
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
            Op::Pay { contract, .. } => {
                self.active.remove(contract);
                self.acks.retain(|a| a.after != Some(planned.seq));
            }
            Op::ConfirmDelivery { contract, .. } | Op::AmendContract { contract, .. } => {
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
        if let Some(ack) = self.draft_ack() {
            return Some(ack);
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

    fn line_index(&self, code: &str) -> Option<usize> {
        self.lines.iter().position(|l| l.story.code == code)
    }
}
