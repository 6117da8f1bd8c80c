//! The ledger against an independent model, over random operation sequences.
//!
//! Proptest generates sequences of operations over a small universe (the
//! treasury MOF, three ministries, four departments, three vendors, an
//! observer and a signer that never exists; two years, two budget lines, six
//! contract ids, six validator keys, three node peer ids), including many that
//! must fail: wrong signers, wrong keys, bad nonces, another chain, suspended
//! entities, amounts over what is available or unpaid, zero and huge amounts,
//! bad keys, operations that would change nothing (a key or status set to
//! what it is, an amendment to the same amount), validator changes that break
//! the 2/3 carry-over rule.
//!
//! The model is plain bookkeeping written from SPEC §2: which entities exist,
//! the successful appropriations, allocations, returns, contracts and
//! payments, and the validator sets with their set(H+2) rotation. It never
//! reads the ledger's figures. For every transaction the model says whether it
//! must succeed or which codes may refuse it (and for over_budget, with what
//! figures); the ledger must agree. After every block the ledger's entities,
//! budgets, contracts, deliveries, validator sets and nodes must equal the
//! model's, and the invariants of SPEC §2 must hold on the ledger's state.
//!
//! Transactions go one or several to a block. Each is tried in a `BlockExec`
//! on top of the block so far (a refused one changes nothing and is dropped;
//! the first of each block also goes through `State::check_tx`, which must
//! agree), and the block's outcome is committed. Finally the blocks are
//! replayed as real blocks (`TestChain::commit`, so `execute_block` with
//! batched signature checks) on a fresh chain after the setup block: each
//! must be accepted whole with the root the run had after it, and the final
//! entries must be equal.
//!
//! The setup block (registrations, appropriations and allocations to start
//! from) is the same for every case, so it is checked and committed once per
//! thread and validator count and then cloned. Cost: about 30 s for the 10,000
//! cases in the dev profile on two cores; most of it is signing and verifying.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use ledger::crypto::SigningKey;
use ledger::state::{BudgetFigures, StateKey, StateValue};
use ledger::testkit::{key, TestChain, CHAIN_ID};
use ledger::tx::{EntityKind, Status};
use ledger::{
    Amount, CommitCertificate, ContractId, EntityId, Hash, LineCode, Op, PeerId, PublicKey,
    SignedTx, State, TxBody, TxError, ValidatorSet, Year,
};
use proptest::prelude::*;

// ---------------------------------------------------------------- universe

const YEARS: [u16; 2] = [2026, 2027];
const LINES: [&str; 2] = ["0402-HEALTH", "0501-EDU"];
const CONTRACTS: usize = 6;
/// Validator keys `validator-0` .. `validator-5`; genesis uses the first n.
const VALIDATOR_KEYS: usize = 6;
const GENESIS_POWER: u64 = 10;
/// Node peer ids: two nodes of their own, and validator-0's peer id, which a
/// node may never take.
const PEERS: [&str; 3] = ["node-0", "node-1", "validator-0"];

struct Def {
    id: &'static str,
    kind: EntityKind,
    parent: Option<usize>,
    /// Registered by the setup block.
    setup: bool,
}

const fn def(id: &'static str, kind: EntityKind, parent: Option<usize>, setup: bool) -> Def {
    Def {
        id,
        kind,
        parent,
        setup,
    }
}

const MOF: usize = 0;
const GHOST: usize = 12;
const UNIVERSE: [Def; 13] = [
    def("MOF", EntityKind::Treasury, None, true),
    def("MOH", EntityKind::Ministry, None, true),
    def("MOET", EntityKind::Ministry, None, true),
    def("MOT", EntityKind::Ministry, None, false),
    def("MOH.A", EntityKind::Department, Some(1), true),
    def("MOH.B", EntityKind::Department, Some(1), true),
    def("MOET.A", EntityKind::Department, Some(2), true),
    def("MOT.A", EntityKind::Department, Some(3), false),
    def("V-1", EntityKind::Vendor, None, true),
    def("V-2", EntityKind::Vendor, None, true),
    def("V-3", EntityKind::Vendor, None, false),
    def("AUDIT", EntityKind::Observer, None, false),
    // Never registered (registration ops never pick it).
    def("GHOST", EntityKind::Vendor, None, false),
];
const MINISTRIES: [usize; 3] = [1, 2, 3];
const DEPARTMENTS: [usize; 4] = [4, 5, 6, 7];
const VENDORS: [usize; 3] = [8, 9, 10];
/// What generated steps usually pick: mostly the entities the setup made.
const MINISTRY_PICKS: [usize; 5] = [1, 1, 2, 2, 3];
const DEPARTMENT_PICKS: [usize; 7] = [4, 4, 5, 5, 6, 6, 7];
const VENDOR_PICKS: [usize; 5] = [8, 8, 9, 9, 10];
const HOLDER_PICKS: [usize; 7] = [1, 2, 3, 4, 5, 6, 7];

/// The identity point: a canonical encoding of a point of small order.
const BAD_KEY: PublicKey = PublicKey({
    let mut b = [0u8; 32];
    b[0] = 1;
    b
});

static ENTITY_IDS: LazyLock<Vec<EntityId>> = LazyLock::new(|| {
    UNIVERSE
        .iter()
        .map(|d| EntityId::new(d.id).unwrap())
        .collect()
});
static LINE_CODES: LazyLock<Vec<LineCode>> =
    LazyLock::new(|| LINES.iter().map(|l| LineCode::new(l).unwrap()).collect());

fn eref(i: usize) -> &'static EntityId {
    &ENTITY_IDS[i]
}

fn eid(i: usize) -> EntityId {
    eref(i).clone()
}

fn year(y: usize) -> Year {
    Year::new(YEARS[y]).unwrap()
}

fn line(l: usize) -> LineCode {
    LINE_CODES[l].clone()
}

fn cid(c: usize) -> ContractId {
    ContractId::new(&format!("C-{c}")).unwrap()
}

fn validator_label(v: usize) -> String {
    format!("validator-{v}")
}

thread_local! {
    static KEYS: RefCell<HashMap<String, &'static SigningKey>> = RefCell::new(HashMap::new());
    static PEER_IDS: RefCell<HashMap<String, PeerId>> = RefCell::new(HashMap::new());
}

/// `testkit::key(label)`, derived once per thread. Deriving a key costs a
/// scalar multiplication and the same few labels are used all the time; the
/// labels are few (entity ids with a rotation count, validator and node
/// names), so leaking them is bounded.
fn signing_key(label: &str) -> &'static SigningKey {
    KEYS.with(|keys| {
        if let Some(k) = keys.borrow().get(label) {
            return *k;
        }
        let k: &'static SigningKey = Box::leak(Box::new(key(label)));
        keys.borrow_mut().insert(label.to_owned(), k);
        k
    })
}

fn public_key(label: &str) -> PublicKey {
    signing_key(label).public_key()
}

fn peer_of(label: &str) -> PeerId {
    PEER_IDS.with(|peers| {
        if let Some(p) = peers.borrow().get(label) {
            return p.clone();
        }
        let p = PeerId::from_ed25519(&public_key(label)).unwrap();
        peers.borrow_mut().insert(label.to_owned(), p.clone());
        p
    })
}

// ---------------------------------------------------------------- generated steps

/// An amount, resolved against the model when the step runs, so that the
/// boundaries (exactly what is available, one more, one less) come up often.
#[derive(Clone, Copy, Debug)]
enum Amt {
    Abs(u64),
    /// Percent of the upper bound.
    Pct(u8),
    /// Upper bound plus −1, 0 or 1.
    Hi(i8),
    /// Lower bound plus −1, 0 or 1.
    Lo(i8),
    Zero,
    Max,
}

#[derive(Clone, Copy, Debug)]
enum RegVariant {
    Normal,
    /// Registers with this universe entity as parent instead.
    Parent(usize),
    NoParent,
    AsTreasury,
    BadKey,
}

#[derive(Clone, Debug)]
enum G {
    Register {
        who: usize,
        variant: RegVariant,
    },
    SetStatus {
        who: usize,
        active: bool,
    },
    Rotate {
        who: usize,
        by_self: bool,
        bad: bool,
        /// To the key the entity already holds.
        same: bool,
    },
    Appropriate {
        y: usize,
        l: usize,
        to: usize,
        amt: Amt,
    },
    /// `by: None` is the department's own ministry.
    Allocate {
        y: usize,
        l: usize,
        by: Option<usize>,
        to: usize,
        amt: Amt,
    },
    Return {
        y: usize,
        l: usize,
        by: usize,
        amt: Amt,
    },
    Award {
        c: usize,
        y: usize,
        l: usize,
        by: usize,
        vendor: usize,
        amt: Amt,
    },
    Amend {
        c: CPick,
        by: usize,
        amt: Amt,
    },
    Pay {
        c: CPick,
        by: usize,
        amt: Amt,
    },
    Deliver {
        c: CPick,
        by: usize,
    },
    AddValidator {
        v: usize,
        power: u64,
    },
    RemoveValidator {
        v: usize,
    },
    RegisterNode {
        p: usize,
        operator: usize,
    },
    RemoveNode {
        p: usize,
    },
}

/// Which contract an operation on contracts names.
#[derive(Clone, Copy, Debug)]
enum CPick {
    /// The n-th existing contract (modulo how many exist), or `C-n` if none do.
    Existing(usize),
    /// `C-n`, whether or not it exists.
    Id(usize),
}

/// How the envelope is spoiled, if at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Env {
    Ok,
    WrongKey,
    NonceAhead,
    NonceBehind,
    WrongChain,
}

#[derive(Clone, Debug)]
struct Step {
    g: G,
    /// Signs instead of the operation's natural signer.
    signer: Option<usize>,
    env: Env,
    /// Starts a new block.
    new_block: bool,
}

fn amt() -> impl Strategy<Value = Amt> {
    prop_oneof![
        4 => (1u8..=100).prop_map(Amt::Pct),
        3 => (-1i8..=1).prop_map(Amt::Hi),
        2 => (1u64..=3_000).prop_map(Amt::Abs),
        1 => (-1i8..=1).prop_map(Amt::Lo),
        1 => Just(Amt::Zero),
    ]
}

fn appropriation() -> impl Strategy<Value = Amt> {
    prop_oneof![
        12 => (1u64..=10_000).prop_map(Amt::Abs),
        1 => Just(Amt::Zero),
        1 => Just(Amt::Max),
    ]
}

/// Mostly one of `usual`, sometimes any entity of the universe.
fn pick(usual: &'static [usize]) -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => prop::sample::select(usual),
        1 => 0..UNIVERSE.len(),
    ]
}

fn cpick() -> impl Strategy<Value = CPick> {
    prop_oneof![
        6 => (0..CONTRACTS).prop_map(CPick::Existing),
        1 => (0..CONTRACTS).prop_map(CPick::Id),
    ]
}

/// (year, line), mostly the two the setup funded.
fn year_line() -> impl Strategy<Value = (usize, usize)> + Clone {
    prop_oneof![
        5 => Just((0, 0)),
        3 => Just((1, 1)),
        1 => Just((0, 1)),
        1 => Just((1, 0)),
    ]
}

fn op_strategy(chain_ops: bool) -> BoxedStrategy<G> {
    let yl = year_line();
    let c = 0..CONTRACTS;
    let variant = prop_oneof![
        8 => Just(RegVariant::Normal),
        1 => (0..UNIVERSE.len()).prop_map(RegVariant::Parent),
        1 => Just(RegVariant::NoParent),
        1 => Just(RegVariant::AsTreasury),
        1 => Just(RegVariant::BadKey),
    ];
    let budget = prop_oneof![
        1 => ((0..GHOST), variant).prop_map(|(who, variant)| G::Register { who, variant }),
        1 => ((0..UNIVERSE.len()), prop::bool::weighted(0.6))
            .prop_map(|(who, active)| G::SetStatus { who, active }),
        1 => (
            (0..UNIVERSE.len()),
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2)
        )
            .prop_map(|(who, by_self, bad, same)| G::Rotate {
                who,
                by_self,
                bad,
                same
            }),
        3 => (yl.clone(), pick(&MINISTRY_PICKS), appropriation())
            .prop_map(|((y, l), to, amt)| G::Appropriate { y, l, to, amt }),
        4 => (
            yl.clone(),
            prop_oneof![6 => Just(None), 1 => pick(&MINISTRY_PICKS).prop_map(Some)],
            pick(&DEPARTMENT_PICKS),
            amt(),
        )
            .prop_map(|((y, l), by, to, amt)| G::Allocate { y, l, by, to, amt }),
        2 => (yl.clone(), pick(&HOLDER_PICKS), amt())
            .prop_map(|((y, l), by, amt)| G::Return { y, l, by, amt }),
        5 => (c, yl, pick(&DEPARTMENT_PICKS), pick(&VENDOR_PICKS), amt())
            .prop_map(|(c, (y, l), by, vendor, amt)| G::Award { c, y, l, by, vendor, amt }),
        2 => (cpick(), pick(&DEPARTMENT_PICKS), amt())
            .prop_map(|(c, by, amt)| G::Amend { c, by, amt }),
        4 => (cpick(), pick(&DEPARTMENT_PICKS), amt())
            .prop_map(|(c, by, amt)| G::Pay { c, by, amt }),
        1 => (cpick(), pick(&DEPARTMENT_PICKS)).prop_map(|(c, by)| G::Deliver { c, by }),
    ];
    if !chain_ops {
        return budget.boxed();
    }
    let chain = prop_oneof![
        2 => ((0..VALIDATOR_KEYS), prop_oneof![1 => Just(0u64), 8 => 1u64..=12])
            .prop_map(|(v, power)| G::AddValidator { v, power }),
        2 => (0..VALIDATOR_KEYS).prop_map(|v| G::RemoveValidator { v }),
        1 => ((0..PEERS.len()), (0..UNIVERSE.len()))
            .prop_map(|(p, operator)| G::RegisterNode { p, operator }),
        1 => (0..PEERS.len()).prop_map(|p| G::RemoveNode { p }),
    ];
    prop_oneof![4 => budget, 1 => chain].boxed()
}

fn step_strategy(chain_ops: bool) -> impl Strategy<Value = Step> {
    (
        op_strategy(chain_ops),
        prop_oneof![15 => Just(None), 1 => (0..UNIVERSE.len()).prop_map(Some)],
        prop_oneof![
            36 => Just(Env::Ok),
            1 => Just(Env::WrongKey),
            1 => Just(Env::NonceAhead),
            1 => Just(Env::NonceBehind),
            1 => Just(Env::WrongChain),
        ],
        prop::bool::weighted(0.4),
    )
        .prop_map(|(g, signer, env, new_block)| Step {
            g,
            signer,
            env,
            new_block,
        })
}

// ---------------------------------------------------------------- the model

#[derive(Clone, Debug)]
struct MEntity {
    registered: bool,
    active: bool,
    parent: Option<usize>,
    key_label: String,
    rotations: u32,
    nonce: u64,
}

#[derive(Clone, Debug)]
struct MContract {
    dept: usize,
    vendor: usize,
    y: usize,
    l: usize,
    amount: u64,
    payments: Vec<u64>,
    deliveries: u32,
}

type Powers = BTreeMap<usize, u64>;

/// Plain bookkeeping from SPEC §2. Sums are u128 so the model cannot
/// overflow where the ledger must refuse.
#[derive(Clone, Debug)]
struct Model {
    ents: Vec<MEntity>,
    /// Appropriated to each (year, line, ministry).
    appropriated: BTreeMap<(usize, usize, usize), u128>,
    /// Allocated to each (year, line, department) by its ministry.
    allocated: BTreeMap<(usize, usize, usize), u128>,
    /// Returned by each (year, line, entity) to its parent.
    returned: BTreeMap<(usize, usize, usize), u128>,
    contracts: BTreeMap<usize, MContract>,
    /// set(L+1), set(L+2), and set(L+3) as this block changes it.
    current: Powers,
    next: Powers,
    working: Option<Powers>,
    /// Registered nodes: peer index → operator.
    nodes: BTreeMap<usize, usize>,
    /// Blocks committed.
    blocks: u64,
}

/// What the model expects of a transaction.
#[derive(Debug, Default)]
struct Expect {
    /// Codes that may refuse it; empty if it must succeed.
    codes: BTreeSet<&'static str>,
    /// (entity, year, line, requested, available) if over_budget may refuse it.
    over_budget: Option<(usize, usize, usize, u64, u64)>,
}

impl Expect {
    fn refuse_if(&mut self, cond: bool, code: &'static str) {
        if cond {
            self.codes.insert(code);
        }
    }
}

/// What a successful transaction does to the model.
#[derive(Clone, Debug)]
enum Effect {
    Register {
        who: usize,
        parent: Option<usize>,
    },
    SetStatus {
        who: usize,
        active: bool,
    },
    Rotate {
        who: usize,
    },
    Appropriate {
        y: usize,
        l: usize,
        to: usize,
        a: u64,
    },
    Allocate {
        y: usize,
        l: usize,
        to: usize,
        a: u64,
    },
    Return {
        y: usize,
        l: usize,
        by: usize,
        a: u64,
    },
    Award {
        c: usize,
        contract: MContract,
    },
    Amend {
        c: usize,
        a: u64,
    },
    Pay {
        c: usize,
        a: u64,
    },
    Deliver {
        c: usize,
    },
    Validators(Powers),
    Node {
        p: usize,
        operator: Option<usize>,
    },
}

/// A step made concrete: who signs what, and what the model expects.
struct Plan {
    signer: usize,
    op: Op,
    expect: Expect,
    effect: Effect,
}

fn resolve(amt: Amt, lo: u64, hi: u64) -> u64 {
    match amt {
        Amt::Abs(x) => x,
        Amt::Pct(p) => (u128::from(hi) * u128::from(p) / 100) as u64,
        Amt::Hi(d) => hi.saturating_add_signed(i64::from(d)),
        Amt::Lo(d) => lo.saturating_add_signed(i64::from(d)),
        Amt::Zero => 0,
        Amt::Max => u64::MAX,
    }
}

/// SPEC §2: the power present in both sets must be more than 2/3 of the old
/// total and more than 2/3 of the new.
fn carries_over(old: &Powers, new: &Powers) -> bool {
    let carried: u128 = old
        .iter()
        .filter_map(|(v, p)| new.get(v).map(|q| u128::from(*p.min(q))))
        .sum();
    let old_total: u128 = old.values().map(|p| u128::from(*p)).sum();
    let new_total: u128 = new.values().map(|p| u128::from(*p)).sum();
    3 * carried > 2 * old_total && 3 * carried > 2 * new_total
}

impl Model {
    fn new(validators: usize) -> Model {
        let ents = UNIVERSE
            .iter()
            .enumerate()
            .map(|(i, d)| MEntity {
                registered: i == MOF,
                active: true,
                parent: d.parent,
                key_label: d.id.to_owned(),
                rotations: 0,
                nonce: 0,
            })
            .collect();
        let set: Powers = (0..validators).map(|v| (v, GENESIS_POWER)).collect();
        Model {
            ents,
            appropriated: BTreeMap::new(),
            allocated: BTreeMap::new(),
            returned: BTreeMap::new(),
            contracts: BTreeMap::new(),
            current: set.clone(),
            next: set,
            working: None,
            nodes: BTreeMap::new(),
            blocks: 0,
        }
    }

    fn kind(&self, i: usize) -> EntityKind {
        UNIVERSE[i].kind
    }

    fn registered(&self, i: usize) -> bool {
        self.ents[i].registered
    }

    fn get(map: &BTreeMap<(usize, usize, usize), u128>, y: usize, l: usize, e: usize) -> u128 {
        map.get(&(y, l, e)).copied().unwrap_or(0)
    }

    fn payments_where(&self, f: impl Fn(&MContract) -> bool) -> u128 {
        self.contracts
            .values()
            .filter(|c| f(c))
            .flat_map(|c| &c.payments)
            .map(|p| u128::from(*p))
            .sum()
    }

    /// [received, passed on, committed, paid] of (entity, year, line), from
    /// the operations that succeeded.
    fn figures(&self, e: usize, y: usize, l: usize) -> [u128; 4] {
        let ret = Self::get(&self.returned, y, l, e);
        match self.kind(e) {
            EntityKind::Treasury => {
                let gross: u128 = MINISTRIES
                    .iter()
                    .map(|m| Self::get(&self.appropriated, y, l, *m))
                    .sum();
                let returned: u128 = MINISTRIES
                    .iter()
                    .map(|m| Self::get(&self.returned, y, l, *m))
                    .sum();
                [gross, gross - returned, 0, 0]
            }
            EntityKind::Ministry => {
                let passed: u128 = DEPARTMENTS
                    .iter()
                    .filter(|d| self.ents[**d].registered && self.ents[**d].parent == Some(e))
                    .map(|d| {
                        Self::get(&self.allocated, y, l, *d) - Self::get(&self.returned, y, l, *d)
                    })
                    .sum();
                [Self::get(&self.appropriated, y, l, e) - ret, passed, 0, 0]
            }
            EntityKind::Department => {
                let committed: u128 = self
                    .contracts
                    .values()
                    .filter(|c| c.dept == e && c.y == y && c.l == l)
                    .map(|c| u128::from(c.amount))
                    .sum();
                let paid = self.payments_where(|c| c.dept == e && c.y == y && c.l == l);
                [
                    Self::get(&self.allocated, y, l, e) - ret,
                    0,
                    committed,
                    paid,
                ]
            }
            EntityKind::Vendor => [
                self.payments_where(|c| c.vendor == e && c.y == y && c.l == l),
                0,
                0,
                0,
            ],
            EntityKind::Observer => [0; 4],
        }
    }

    fn available(&self, e: usize, y: usize, l: usize) -> u64 {
        let [r, p, c, _] = self.figures(e, y, l);
        u64::try_from(r - p - c).expect("available fits")
    }

    fn working(&self) -> &Powers {
        self.working.as_ref().unwrap_or(&self.next)
    }

    /// A peer id is taken by a registered node or by a validator of set(L+1),
    /// set(L+2) or the set this block is building.
    fn peer_taken(&self, label: &str) -> bool {
        self.nodes.keys().any(|p| PEERS[*p] == label)
            || [&self.current, &self.next, self.working()]
                .iter()
                .any(|set| set.keys().any(|v| validator_label(*v) == label))
    }

    fn natural_signer(&self, g: &G) -> usize {
        match g {
            G::Rotate { who, by_self, .. } if *by_self => *who,
            G::Allocate { by: Some(by), .. } => *by,
            G::Allocate { by: None, to, .. } => self.ents[*to].parent.unwrap_or(MINISTRIES[0]),
            G::Return { by, .. } | G::Award { by, .. } => *by,
            G::Amend { c, by, .. } | G::Pay { c, by, .. } | G::Deliver { c, by } => self
                .contracts
                .get(&self.contract_id(*c))
                .map_or(*by, |k| k.dept),
            _ => MOF,
        }
    }

    fn contract_id(&self, pick: CPick) -> usize {
        match pick {
            CPick::Existing(n) if !self.contracts.is_empty() => {
                *self.contracts.keys().nth(n % self.contracts.len()).unwrap()
            }
            CPick::Existing(n) | CPick::Id(n) => n,
        }
    }

    fn plan(&self, step: &Step) -> Plan {
        let s = step.signer.unwrap_or_else(|| self.natural_signer(&step.g));
        // The envelope first: a transaction that is not properly signed by an
        // active signer with its next nonce is refused for that, whatever its
        // operation would have done.
        let mut envelope = Expect::default();
        envelope.refuse_if(step.env == Env::WrongChain, "wrong_chain");
        if !self.registered(s) {
            envelope.refuse_if(true, "unknown_signer");
        } else {
            envelope.refuse_if(step.env == Env::WrongKey, "bad_signature");
            envelope.refuse_if(!self.ents[s].active, "inactive");
            envelope.refuse_if(
                matches!(step.env, Env::NonceAhead | Env::NonceBehind),
                "bad_nonce",
            );
        }
        let mut x = Expect::default();
        let not_treasury = s != MOF;
        let (op, effect) = match step.g {
            G::Register { who, variant } => {
                let d = &UNIVERSE[who];
                let (kind, parent) = match variant {
                    RegVariant::Normal | RegVariant::BadKey => (d.kind, d.parent),
                    RegVariant::Parent(p) => (d.kind, Some(p)),
                    RegVariant::NoParent => (d.kind, None),
                    RegVariant::AsTreasury => (EntityKind::Treasury, d.parent),
                };
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(kind == EntityKind::Treasury, "invalid_argument");
                x.refuse_if(self.registered(who), "duplicate");
                x.refuse_if(matches!(variant, RegVariant::BadKey), "bad_key");
                match (kind, parent) {
                    (EntityKind::Department, None) => x.refuse_if(true, "invalid_argument"),
                    (EntityKind::Department, Some(p)) if !self.registered(p) => {
                        x.refuse_if(true, "unknown_entity")
                    }
                    (EntityKind::Department, Some(p)) => {
                        x.refuse_if(self.kind(p) != EntityKind::Ministry, "invalid_argument")
                    }
                    (_, Some(_)) => x.refuse_if(true, "invalid_argument"),
                    (_, None) => {}
                }
                let public_key = if matches!(variant, RegVariant::BadKey) {
                    BAD_KEY
                } else {
                    public_key(d.id)
                };
                let op = Op::RegisterEntity {
                    id: eid(who),
                    kind,
                    name: format!("Đơn vị {}", d.id),
                    parent: parent.map(eid),
                    public_key,
                };
                (op, Effect::Register { who, parent })
            }
            G::SetStatus { who, active } => {
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(!self.registered(who), "unknown_entity");
                x.refuse_if(who == MOF, "invalid_argument");
                // Setting the status an entity already has changes nothing.
                x.refuse_if(
                    self.registered(who) && self.ents[who].active == active,
                    "no_op",
                );
                let status = if active {
                    Status::Active
                } else {
                    Status::Suspended
                };
                let op = Op::SetStatus {
                    entity: eid(who),
                    status,
                };
                (op, Effect::SetStatus { who, active })
            }
            G::Rotate { who, bad, same, .. } => {
                x.refuse_if(not_treasury && s != who, "not_authorized");
                x.refuse_if(!self.registered(who), "unknown_entity");
                x.refuse_if(bad, "bad_key");
                x.refuse_if(same && !bad, "no_op");
                let public_key = if bad {
                    BAD_KEY
                } else if same {
                    public_key(&self.ents[who].key_label)
                } else {
                    public_key(&self.next_key_label(who))
                };
                let op = Op::RotateKey {
                    entity: eid(who),
                    public_key,
                };
                (op, Effect::Rotate { who })
            }
            G::Appropriate { y, l, to, amt } => {
                let a = resolve(amt, 0, 5_000);
                x.refuse_if(not_treasury, "not_authorized");
                if !self.registered(to) {
                    x.codes.insert("unknown_entity");
                } else {
                    x.refuse_if(self.kind(to) != EntityKind::Ministry, "invalid_argument");
                    x.refuse_if(!self.ents[to].active, "inactive");
                }
                x.refuse_if(a == 0, "invalid_argument");
                let gross = self.figures(MOF, y, l)[0];
                x.refuse_if(gross + u128::from(a) > u128::from(u64::MAX), "overflow");
                let op = Op::Appropriate {
                    year: year(y),
                    line: line(l),
                    to: eid(to),
                    amount: Amount(a),
                    legal_ref: "QĐ-17/2026/NQ-QH".into(),
                };
                (op, Effect::Appropriate { y, l, to, a })
            }
            G::Allocate { y, l, to, amt, .. } => {
                let avail = self.available(s, y, l);
                let a = resolve(amt, 0, avail);
                x.refuse_if(self.kind(s) != EntityKind::Ministry, "not_authorized");
                if !self.registered(to) {
                    x.codes.insert("unknown_entity");
                } else {
                    let own =
                        self.kind(to) == EntityKind::Department && self.ents[to].parent == Some(s);
                    x.refuse_if(!own, "not_authorized");
                    x.refuse_if(!self.ents[to].active, "inactive");
                }
                x.refuse_if(a == 0, "invalid_argument");
                self.over_budget(&mut x, s, y, l, a, avail);
                let op = Op::Allocate {
                    year: year(y),
                    line: line(l),
                    to: eid(to),
                    amount: Amount(a),
                };
                (op, Effect::Allocate { y, l, to, a })
            }
            G::Return { y, l, amt, .. } => {
                let avail = self.available(s, y, l);
                let a = resolve(amt, 0, avail);
                let holds = matches!(self.kind(s), EntityKind::Ministry | EntityKind::Department);
                x.refuse_if(!holds, "not_authorized");
                x.refuse_if(a == 0, "invalid_argument");
                self.over_budget(&mut x, s, y, l, a, avail);
                let op = Op::ReturnFunds {
                    year: year(y),
                    line: line(l),
                    amount: Amount(a),
                };
                (op, Effect::Return { y, l, by: s, a })
            }
            G::Award {
                c,
                y,
                l,
                vendor,
                amt,
                ..
            } => {
                let avail = self.available(s, y, l);
                let a = resolve(amt, 0, avail);
                x.refuse_if(self.kind(s) != EntityKind::Department, "not_authorized");
                x.refuse_if(self.contracts.contains_key(&c), "duplicate");
                if !self.registered(vendor) {
                    x.codes.insert("unknown_entity");
                } else {
                    x.refuse_if(self.kind(vendor) != EntityKind::Vendor, "invalid_argument");
                    x.refuse_if(!self.ents[vendor].active, "inactive");
                }
                x.refuse_if(a == 0, "invalid_argument");
                self.over_budget(&mut x, s, y, l, a, avail);
                let op = Op::Award {
                    contract: cid(c),
                    year: year(y),
                    line: line(l),
                    vendor: eid(vendor),
                    amount: Amount(a),
                    title: "Gói thầu xây lắp".into(),
                    document_hash: None,
                };
                let contract = MContract {
                    dept: s,
                    vendor,
                    y,
                    l,
                    amount: a,
                    payments: Vec::new(),
                    deliveries: 0,
                };
                (op, Effect::Award { c, contract })
            }
            G::Amend { c, amt, .. } => {
                let c = self.contract_id(c);
                let a = match self.contracts.get(&c) {
                    None => {
                        x.codes.insert("unknown_contract");
                        resolve(amt, 0, 1_000)
                    }
                    Some(k) => {
                        let paid: u64 = k.payments.iter().sum();
                        let avail = self.available(k.dept, k.y, k.l);
                        let a = resolve(amt, paid, k.amount + avail);
                        x.refuse_if(s != k.dept, "not_authorized");
                        x.refuse_if(a < paid, "over_contract");
                        // The same amount and no document: nothing to record.
                        x.refuse_if(a == k.amount, "no_op");
                        if a > k.amount {
                            self.over_budget(&mut x, k.dept, k.y, k.l, a - k.amount, avail);
                        }
                        a
                    }
                };
                let op = Op::AmendContract {
                    contract: cid(c),
                    amount: Amount(a),
                    reason: "Điều chỉnh khối lượng".into(),
                    document_hash: None,
                };
                (op, Effect::Amend { c, a })
            }
            G::Pay { c, amt, .. } => {
                let c = self.contract_id(c);
                let a = match self.contracts.get(&c) {
                    None => {
                        x.codes.insert("unknown_contract");
                        resolve(amt, 0, 1_000)
                    }
                    Some(k) => {
                        let unpaid = k.amount - k.payments.iter().sum::<u64>();
                        let a = resolve(amt, 0, unpaid);
                        x.refuse_if(s != k.dept, "not_authorized");
                        x.refuse_if(a == 0, "invalid_argument");
                        x.refuse_if(a > unpaid, "over_contract");
                        x.refuse_if(!self.ents[k.vendor].active, "inactive");
                        a
                    }
                };
                let op = Op::Pay {
                    contract: cid(c),
                    amount: Amount(a),
                    reference: "UNC-0001".into(),
                    document_hash: None,
                };
                (op, Effect::Pay { c, a })
            }
            G::Deliver { c, .. } => {
                let c = self.contract_id(c);
                match self.contracts.get(&c) {
                    None => x.refuse_if(true, "unknown_contract"),
                    Some(k) => x.refuse_if(s != k.dept, "not_authorized"),
                }
                let op = Op::ConfirmDelivery {
                    contract: cid(c),
                    milestone: "Nghiệm thu".into(),
                    note: String::new(),
                };
                (op, Effect::Deliver { c })
            }
            G::AddValidator { v, power } => {
                let mut new = self.working().clone();
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(power == 0, "invalid_argument");
                x.refuse_if(new.contains_key(&v), "duplicate");
                x.refuse_if(self.peer_taken(&validator_label(v)), "duplicate");
                new.insert(v, power);
                x.refuse_if(!carries_over(&self.next, &new), "validator_set");
                let label = validator_label(v);
                let op = Op::AddValidator {
                    name: label.clone(),
                    consensus_key: public_key(&label),
                    peer_id: peer_of(&label),
                    power,
                };
                (op, Effect::Validators(new))
            }
            G::RemoveValidator { v } => {
                let mut new = self.working().clone();
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(new.remove(&v).is_none(), "unknown_entity");
                x.refuse_if(new.is_empty(), "validator_set");
                x.refuse_if(!carries_over(&self.next, &new), "validator_set");
                let op = Op::RemoveValidator {
                    consensus_key: public_key(&validator_label(v)),
                };
                (op, Effect::Validators(new))
            }
            G::RegisterNode { p, operator } => {
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(!self.registered(operator), "unknown_entity");
                x.refuse_if(self.peer_taken(PEERS[p]), "duplicate");
                let op = Op::RegisterNode {
                    peer_id: peer_of(PEERS[p]),
                    operator: eid(operator),
                };
                let effect = Effect::Node {
                    p,
                    operator: Some(operator),
                };
                (op, effect)
            }
            G::RemoveNode { p } => {
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(!self.nodes.contains_key(&p), "unknown_entity");
                let op = Op::RemoveNode {
                    peer_id: peer_of(PEERS[p]),
                };
                (op, Effect::Node { p, operator: None })
            }
        };
        Plan {
            signer: s,
            op,
            expect: if envelope.codes.is_empty() {
                x
            } else {
                envelope
            },
            effect,
        }
    }

    fn over_budget(&self, x: &mut Expect, e: usize, y: usize, l: usize, a: u64, avail: u64) {
        if a > avail {
            x.codes.insert("over_budget");
            x.over_budget = Some((e, y, l, a, avail));
        }
    }

    fn next_key_label(&self, who: usize) -> String {
        format!("{}#{}", UNIVERSE[who].id, self.ents[who].rotations + 1)
    }

    /// Signs the plan's op as its signer would (or spoils it as `env` says).
    fn sign(&self, plan: &Plan, env: Env) -> SignedTx {
        let e = &self.ents[plan.signer];
        let next = e.nonce + 1;
        let nonce = match env {
            Env::NonceAhead => next + 1,
            Env::NonceBehind => next - 1,
            _ => next,
        };
        let key_label = match env {
            Env::WrongKey => "WRONG-KEY",
            _ => &e.key_label,
        };
        let chain_id = match env {
            Env::WrongChain => "another-chain",
            _ => CHAIN_ID,
        };
        TxBody {
            chain_id: chain_id.into(),
            signer: eid(plan.signer),
            nonce,
            op: plan.op.clone(),
        }
        .sign(signing_key(key_label))
    }

    fn apply(&mut self, signer: usize, effect: Effect) {
        self.ents[signer].nonce += 1;
        let add = |m: &mut BTreeMap<_, u128>, k, a: u64| *m.entry(k).or_insert(0) += u128::from(a);
        match effect {
            Effect::Register { who, parent } => {
                let e = &mut self.ents[who];
                assert!(!e.registered);
                e.registered = true;
                e.active = true;
                e.parent = parent;
            }
            Effect::SetStatus { who, active } => self.ents[who].active = active,
            Effect::Rotate { who } => {
                self.ents[who].key_label = self.next_key_label(who);
                self.ents[who].rotations += 1;
            }
            Effect::Appropriate { y, l, to, a } => add(&mut self.appropriated, (y, l, to), a),
            Effect::Allocate { y, l, to, a } => add(&mut self.allocated, (y, l, to), a),
            Effect::Return { y, l, by, a } => add(&mut self.returned, (y, l, by), a),
            Effect::Award { c, contract } => {
                assert!(self.contracts.insert(c, contract).is_none());
            }
            Effect::Amend { c, a } => self.contracts.get_mut(&c).unwrap().amount = a,
            Effect::Pay { c, a } => self.contracts.get_mut(&c).unwrap().payments.push(a),
            Effect::Deliver { c } => self.contracts.get_mut(&c).unwrap().deliveries += 1,
            Effect::Validators(set) => self.working = Some(set),
            Effect::Node { p, operator } => match operator {
                Some(o) => assert!(self.nodes.insert(p, o).is_none()),
                None => assert!(self.nodes.remove(&p).is_some()),
            },
        }
    }

    /// SPEC §2: set(H+2) is set(H+1) with the changes committed in block H.
    fn end_block(&mut self) {
        self.blocks += 1;
        self.current = self.next.clone();
        if let Some(set) = self.working.take() {
            self.next = set;
        }
    }
}

// ---------------------------------------------------------------- checks

fn powers(set: &ValidatorSet) -> Powers {
    static LABELS: LazyLock<BTreeMap<PublicKey, usize>> = LazyLock::new(|| {
        (0..VALIDATOR_KEYS)
            .map(|v| (key(&validator_label(v)).public_key(), v))
            .collect()
    });
    set.validators()
        .iter()
        .map(|v| (LABELS[&v.consensus_key], v.power))
        .collect()
}

fn to_u64(x: u128, what: &str) -> u64 {
    u64::try_from(x).unwrap_or_else(|_| panic!("model {what} {x} does not fit a u64"))
}

fn entity_index(id: &EntityId) -> usize {
    UNIVERSE
        .iter()
        .position(|d| d.id == id.as_str())
        .unwrap_or_else(|| panic!("{id} is not in the universe"))
}

fn year_index(y: Year) -> usize {
    YEARS
        .iter()
        .position(|x| *x == y.0)
        .expect("a year of the universe")
}

fn line_index(l: &LineCode) -> usize {
    LINES
        .iter()
        .position(|x| *x == l.as_str())
        .expect("a line of the universe")
}

/// The ledger's state equals the model's, and the SPEC §2 invariants hold on
/// the ledger's own figures.
fn check_state(st: &State, model: &Model) {
    assert_eq!(st.height().0, model.blocks);

    // Entities.
    let mut parents: Vec<(usize, usize)> = Vec::new();
    for (i, d) in UNIVERSE.iter().enumerate() {
        let m = &model.ents[i];
        match st.entity(eref(i)) {
            None => assert!(!m.registered, "{} missing", d.id),
            Some(e) => {
                assert!(m.registered, "{} should not exist", d.id);
                assert_eq!(e.kind, d.kind, "{}", d.id);
                assert_eq!(e.parent.as_ref(), m.parent.map(eref), "{}", d.id);
                let status = if m.active {
                    Status::Active
                } else {
                    Status::Suspended
                };
                assert_eq!(e.status, status, "{}", d.id);
                assert_eq!(e.nonce, m.nonce, "{}", d.id);
                assert_eq!(e.public_key, public_key(&m.key_label), "{}", d.id);
                if let Some(p) = &e.parent {
                    parents.push((i, entity_index(p)));
                }
            }
        }
    }
    let registered = model.ents.iter().filter(|e| e.registered).count();
    assert_eq!(st.entities().count(), registered);

    // Every figure the ledger holds is of the universe and not negative ...
    let mut figs: BTreeMap<(usize, usize, usize), BudgetFigures> = BTreeMap::new();
    for (e, y, l, b) in st.budgets() {
        assert!(
            b.available().is_some(),
            "negative available on {e} {y}/{l}: {b:?}"
        );
        figs.insert((entity_index(e), year_index(y), line_index(l)), *b);
    }
    let fig = |e: usize, y: usize, l: usize| figs.get(&(e, y, l)).copied().unwrap_or_default();
    // ... and equals what the model's bookkeeping gives.
    for (e, d) in UNIVERSE.iter().enumerate() {
        for (y, year) in YEARS.iter().enumerate() {
            for (l, line) in LINES.iter().enumerate() {
                let [r, p, c, paid] = model.figures(e, y, l);
                let expected = BudgetFigures {
                    received: Amount(to_u64(r, "received")),
                    passed_on: Amount(to_u64(p, "passed on")),
                    committed: Amount(to_u64(c, "committed")),
                    paid: Amount(to_u64(paid, "paid")),
                };
                let got = fig(e, y, l);
                assert_eq!(got, expected, "{} {year}/{line}", d.id);
            }
        }
    }

    // Contracts and deliveries.
    assert_eq!(st.contracts().count(), model.contracts.len());
    for (c, k) in &model.contracts {
        let got = st.contract(&cid(*c)).expect("contract exists");
        assert_eq!(&got.department, eref(k.dept));
        assert_eq!(&got.vendor, eref(k.vendor));
        assert_eq!((got.year, &got.line), (year(k.y), &line(k.l)));
        assert_eq!(got.amount, Amount(k.amount));
        assert_eq!(got.paid, Amount(k.payments.iter().sum()));
        assert_eq!(got.deliveries, k.deliveries);
        assert_eq!(st.deliveries(&cid(*c)).len(), k.deliveries as usize);
    }

    // SPEC §2 invariants, on the ledger's own figures and contracts.
    // (department, year, line) → (sum of amounts, sum paid); and
    // (vendor, year, line) → sum paid.
    let mut by_department: BTreeMap<(usize, usize, usize), (u128, u128)> = BTreeMap::new();
    let mut by_vendor: BTreeMap<(usize, usize, usize), u128> = BTreeMap::new();
    for c in st.contracts() {
        assert!(c.paid <= c.amount, "{} paid over its amount", c.id);
        let (y, l) = (year_index(c.year), line_index(&c.line));
        let d = by_department
            .entry((entity_index(&c.department), y, l))
            .or_default();
        d.0 += u128::from(c.amount.0);
        d.1 += u128::from(c.paid.0);
        *by_vendor
            .entry((entity_index(&c.vendor), y, l))
            .or_default() += u128::from(c.paid.0);
    }
    for y in 0..YEARS.len() {
        for l in 0..LINES.len() {
            // A department's committed is the sum of its contracts, its paid
            // the sum of its payments.
            for d in DEPARTMENTS {
                let (committed, paid) = by_department.get(&(d, y, l)).copied().unwrap_or_default();
                assert_eq!(u128::from(fig(d, y, l).committed.0), committed);
                assert_eq!(u128::from(fig(d, y, l).paid.0), paid);
                let payments = model.payments_where(|c| c.dept == d && c.y == y && c.l == l);
                assert_eq!(paid, payments);
            }
            // Vendors received exactly what departments paid them.
            for v in VENDORS {
                let paid_to = by_vendor.get(&(v, y, l)).copied().unwrap_or_default();
                assert_eq!(u128::from(fig(v, y, l).received.0), paid_to);
            }
            let vendors_received: u128 = VENDORS
                .iter()
                .map(|v| u128::from(fig(*v, y, l).received.0))
                .sum();
            let departments_paid: u128 = DEPARTMENTS
                .iter()
                .map(|d| u128::from(fig(*d, y, l).paid.0))
                .sum();
            assert_eq!(vendors_received, departments_paid);
            // A ministry's passed-on, net of returns, is what its departments hold.
            for m in MINISTRIES {
                let children: u128 = parents
                    .iter()
                    .filter(|(_, p)| *p == m)
                    .map(|(child, _)| u128::from(fig(*child, y, l).received.0))
                    .sum();
                assert_eq!(u128::from(fig(m, y, l).passed_on.0), children);
            }
            // The treasury's appropriations are all somewhere: available or
            // committed, at the treasury, a ministry or a department.
            let held: u128 = [MOF]
                .iter()
                .chain(&MINISTRIES)
                .chain(&DEPARTMENTS)
                .map(|e| {
                    let b = fig(*e, y, l);
                    u128::from(b.available().unwrap().0) + u128::from(b.committed.0)
                })
                .sum();
            assert_eq!(u128::from(fig(MOF, y, l).received.0), held);
        }
    }

    // Validator sets and nodes.
    assert_eq!(powers(st.validators()), model.current, "set(L+1)");
    assert_eq!(powers(st.next_validators()), model.next, "set(L+2)");
    let nodes: BTreeMap<PeerId, EntityId> = st
        .nodes()
        .map(|n| (n.peer_id.clone(), n.operator.clone()))
        .collect();
    let expected: BTreeMap<PeerId, EntityId> = model
        .nodes
        .iter()
        .map(|(p, o)| (peer_of(PEERS[*p]), eid(*o)))
        .collect();
    assert_eq!(nodes, expected);
}

/// Compares the ledger's verdict with the model's expectation.
fn check_verdict(i: usize, plan: &Plan, result: &Result<(), TxError>) {
    let what = || {
        format!(
            "step {i}: {} signed by {}",
            plan.op.name(),
            UNIVERSE[plan.signer].id
        )
    };
    let x = &plan.expect;
    match result {
        Ok(()) => assert!(
            x.codes.is_empty(),
            "{}: accepted, but the model expected one of {:?}\n{:?}",
            what(),
            x.codes,
            plan.op
        ),
        Err(e) => {
            assert!(
                x.codes.contains(e.code()),
                "{}: refused with `{e}`, but the model expected {}\n{:?}",
                what(),
                if x.codes.is_empty() {
                    "success".to_owned()
                } else {
                    format!("one of {:?}", x.codes)
                },
                plan.op
            );
            if let TxError::OverBudget {
                entity,
                year: ey,
                line: el,
                requested,
                available,
            } = e
            {
                let (me, y, l, req, avail) = x.over_budget.expect("over_budget was expected");
                assert_eq!(
                    (entity, *ey, el, *requested, *available),
                    (&eid(me), year(y), &line(l), Amount(req), Amount(avail)),
                    "{}",
                    what()
                );
            }
        }
    }
}

// ---------------------------------------------------------------- running

/// Registers the setup entities and gives MOH and MOET budget to work with,
/// through the same checked path as the random steps.
fn setup_steps() -> Vec<Step> {
    let natural = |g: G| Step {
        g,
        signer: None,
        env: Env::Ok,
        new_block: false,
    };
    let mut steps: Vec<Step> = (1..UNIVERSE.len())
        .filter(|i| UNIVERSE[*i].setup)
        .map(|who| {
            natural(G::Register {
                who,
                variant: RegVariant::Normal,
            })
        })
        .collect();
    for (y, l, to, amount) in [
        (0, 0, 1, 10_000),
        (0, 0, 2, 8_000),
        (1, 1, 1, 6_000),
        (1, 1, 2, 6_000),
    ] {
        steps.push(natural(G::Appropriate {
            y,
            l,
            to,
            amt: Amt::Abs(amount),
        }));
    }
    for (y, l, by, to, amount) in [
        (0, 0, 1, 4, 4_000),
        (0, 0, 1, 5, 3_000),
        (0, 0, 2, 6, 5_000),
        (1, 1, 1, 4, 2_000),
        (1, 1, 2, 6, 3_000),
    ] {
        steps.push(natural(G::Allocate {
            y,
            l,
            by: Some(by),
            to,
            amt: Amt::Abs(amount),
        }));
    }
    steps
}

/// A block of the run: the transactions accepted and the state root after it.
struct Committed {
    txs: Vec<SignedTx>,
    root: Hash,
}

/// Executes one block of `steps` on `state`: each transaction is tried on top
/// of the block so far and kept only if accepted, and the ledger's verdict
/// must be the model's. Then the block is committed and the ledger's state
/// must be the model's.
fn run_block(state: &mut State, model: &mut Model, steps: &[&Step], first: usize) -> Committed {
    let mut txs = Vec::new();
    let mut exec = state.begin_block();
    for (i, step) in steps.iter().enumerate() {
        let plan = model.plan(step);
        let tx = model.sign(&plan, step.env);
        let result = exec.apply_tx(&tx, None);
        if txs.is_empty() {
            // Nothing is pending, so the mempool's check must agree.
            assert_eq!(state.check_tx(&tx), result, "step {}: check_tx", first + i);
        }
        check_verdict(first + i, &plan, &result);
        if result.is_ok() {
            model.apply(plan.signer, plan.effect);
            txs.push(tx);
        }
    }
    let outcome = exec.finish();
    model.end_block();
    let root = outcome.state_root;
    state.commit(outcome);
    check_state(state, model);
    Committed { txs, root }
}

/// A chain after the setup block, with its model.
#[derive(Clone)]
struct AfterSetup {
    state: State,
    last_hash: Hash,
    last_time_ms: u64,
    last_cert: Option<CommitCertificate>,
    model: Model,
}

thread_local! {
    /// The setup is the same for every case with the same number of
    /// validators, so it runs once per thread and count.
    static SETUPS: RefCell<BTreeMap<usize, AfterSetup>> = const { RefCell::new(BTreeMap::new()) };
}

/// The chain and model after the setup block. The first time, the setup is
/// checked against the model like any block, and committed as a real block.
fn after_setup(validators: usize) -> (TestChain, Model) {
    let s = SETUPS.with(|setups| {
        setups
            .borrow_mut()
            .entry(validators)
            .or_insert_with(|| {
                let mut state = TestChain::new(validators).state;
                let mut model = Model::new(validators);
                let steps = setup_steps();
                let refs: Vec<&Step> = steps.iter().collect();
                let setup = run_block(&mut state, &mut model, &refs, 0);
                assert_eq!(setup.txs.len(), steps.len(), "the setup is all accepted");
                let mut chain = TestChain::new(validators);
                let block = chain.commit(setup.txs).expect("the setup block commits");
                assert_eq!(block.header.state_root, setup.root);
                assert_eq!(chain.state, state);
                AfterSetup {
                    state,
                    last_hash: chain.last_hash,
                    last_time_ms: chain.last_time_ms,
                    last_cert: chain.last_cert,
                    model,
                }
            })
            .clone()
    });
    let mut chain = TestChain::new(validators);
    chain.state = s.state;
    chain.last_hash = s.last_hash;
    chain.last_time_ms = s.last_time_ms;
    chain.last_cert = s.last_cert;
    (chain, s.model)
}

/// Runs `steps` after the setup block on a chain of `validators` validators,
/// checking against the model as it goes; returns the final state and the
/// blocks committed after the setup.
fn run(validators: usize, steps: &[Step]) -> (State, Vec<Committed>) {
    let (chain, mut model) = after_setup(validators);
    let mut state = chain.state;
    let mut groups: Vec<Vec<&Step>> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if step.new_block || i == 0 {
            groups.push(Vec::new());
        }
        groups.last_mut().unwrap().push(step);
    }
    let mut blocks = Vec::new();
    let mut first = 0;
    for group in groups {
        blocks.push(run_block(&mut state, &mut model, &group, first));
        first += group.len();
    }
    (state, blocks)
}

/// Replays the blocks as real blocks (`TestChain::commit`, which executes
/// them whole through `execute_block` with batched signature checks) on a
/// fresh chain after the setup: each must be accepted whole, with the root
/// the run had after it, and the final entries must be the run's.
fn check_replay(validators: usize, state: &State, blocks: Vec<Committed>) {
    let (mut chain, _) = after_setup(validators);
    for (i, b) in blocks.into_iter().enumerate() {
        let block = chain.commit(b.txs).unwrap_or_else(|(j, e)| {
            panic!("block {i}: tx {j} was accepted on its own but refused in the block: {e}")
        });
        assert_eq!(block.header.state_root, b.root, "block {i}");
    }
    assert_eq!(chain.state.root(), state.root());
    assert_eq!(chain.state.height(), state.height());
    let entries = |s: &State| -> Vec<(StateKey, StateValue)> {
        s.entries().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_eq!(entries(&chain.state), entries(state));
}

fn run_and_replay(validators: usize, steps: &[Step]) {
    let (state, blocks) = run(validators, steps);
    check_replay(validators, &state, blocks);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: model_cases(), ..ProptestConfig::default() })]

    /// Budget operations, entities, keys and statuses, on a one-validator chain.
    #[test]
    fn budget_sequences(steps in prop::collection::vec(step_strategy(false), 5..=40)) {
        run_and_replay(1, &steps);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: model_cases(), ..ProptestConfig::default() })]

    /// Everything, validator and node operations included, on chains of one
    /// to four validators.
    #[test]
    fn sequences_with_validator_and_node_ops(
        validators in 1usize..=4,
        steps in prop::collection::vec(step_strategy(true), 5..=40),
    ) {
        run_and_replay(validators, &steps);
    }
}

/// A fixed sequence that walks a contract through award, amendments, payments
/// and deliveries, so the model's own arithmetic is pinned by hand too.
#[test]
fn a_contract_from_award_to_final_payment() {
    let step = |g: G| Step {
        g,
        signer: None,
        env: Env::Ok,
        new_block: true,
    };
    let steps = vec![
        step(G::Award {
            c: 0,
            y: 0,
            l: 0,
            by: 4,
            vendor: 8,
            amt: Amt::Abs(3_000),
        }),
        step(G::Pay {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(1_000),
        }),
        step(G::Amend {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(999),
        }),
        step(G::Amend {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(2_500),
        }),
        step(G::Pay {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(1_500),
        }),
        step(G::Deliver {
            c: CPick::Id(0),
            by: 4,
        }),
        step(G::Return {
            y: 0,
            l: 0,
            by: 4,
            amt: Amt::Abs(1_500),
        }),
        step(G::Return {
            y: 0,
            l: 0,
            by: 1,
            amt: Amt::Abs(4_500),
        }),
    ];
    let (st, _) = run(1, &steps);
    let st = &st;
    let f = |e: usize| st.budget(&eid(e), year(0), &line(0));
    // MOH.A: received 4,000, returned 1,500; contract 2,500, all paid.
    assert_eq!(f(4).received, Amount(2_500));
    assert_eq!(f(4).committed, Amount(2_500));
    assert_eq!(f(4).paid, Amount(2_500));
    assert_eq!(f(4).available(), Some(Amount(0)));
    assert_eq!(f(8).received, Amount(2_500));
    // MOH: received 10,000, passed on 7,000 then 1,500 came back; returned 4,500.
    assert_eq!(f(1).received, Amount(5_500));
    assert_eq!(f(1).passed_on, Amount(5_500));
    // MOF: appropriated 18,000, 4,500 came back.
    assert_eq!(f(0).received, Amount(18_000));
    assert_eq!(f(0).passed_on, Amount(13_500));
    let c = st.contract(&cid(0)).unwrap();
    assert_eq!(
        (c.amount, c.paid, c.deliveries),
        (Amount(2_500), Amount(2_500), 1)
    );
}

/// Cases per property: 5,000 in CI (10,000 in all), more with `MODEL_CASES`.
fn model_cases() -> u32 {
    std::env::var("MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}
