//! A deterministic, single-threaded simulator of a Minh Bạch network that
//! runs each node's real consensus loop: the driver core of `node`
//! ([`node::driver::Core`]), the real ledger and mempool, and a RocksDB
//! store held in memory, over a simulated network, clock and timers.
//!
//! It owns the network (delay, drop, reorder, duplicate, partitions that
//! change and heal), crashes and restarts (each node alone, or all at
//! once mid-round), the transaction load, and insiders that misbehave:
//! - a registered non-validator node ([`insider::Forger`]) that sends votes
//!   and proposals signed by keys that may not sign them, replays other
//!   proposers' blocks under its own key, floods votes, claims heights it
//!   does not have and answers block sync with nothing or with garbage;
//! - a validator whose clock is off by 3 s;
//! - a validator whose every block is invalid;
//! - a validator set that changes during the run: a spare node is added
//!   as a validator and removed again.
//!
//! It owns no consensus rule: it delivers events and carries out what each
//! core asks of its edges. The checkers ([`check`]) compute what they need
//! themselves: quorums as `3·power > 2·total` over their own replay of the
//! chain.
//!
//! Everything random comes from one `ChaCha8Rng` seeded with the seed, and
//! every collection iterated is ordered, so a seed replays exactly.

pub mod check;
pub mod insider;
pub mod io;
mod net;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use genesis::{Genesis, GenesisEntity};
use ledger::crypto::SigningKey;
use ledger::state::NodeRecord;
use ledger::store::{MemoryDisk, Store};
use ledger::tx::EntityKind;
use ledger::{Op, PeerId as LedgerPeerId, SignedTx, TxBody, Validator};
use libp2p::PeerId;
use node::config::Config;
use node::driver::{Clock, Core, CoreParts, Faults};
use node::mempool::{Mempool, MempoolLimits};
use node::shared::{Live, Rejections, Shared};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;

use self::check::Checker;
use self::io::{SimIo, SimStore, SimTime};
use self::net::Ev;
use node::driver::Event;

/// The simulated genesis time: 2026-01-01.
pub use ledger::testkit::GENESIS_TIME_MS;
const CHAIN_ID: &str = "minhbach-sim";
/// Limits of a run, with their units.
const SIM_EVENTS_MAX: u64 = 2_000_000;
const CHAOS_TIME_MAX_MS: u64 = 240_000;
const POST_HEAL_TIME_MAX_MS: u64 = 90_000;
/// Rounds a height started after the heal may take to decide. In the
/// chaos scenario with 4 validators, the spare can make the set 5 with two
/// of them faulty for good: validator 0's clock makes it prevote nil on
/// every other proposer's block, and validator 1 proposes only invalid
/// ones. A polka then needs the prevote of every other validator, and two
/// rounds in five have a proposer whose block cannot pass: seed 1832 of the
/// long run needed 9 rounds for one height. A stall (no decision at all)
/// still fails, as `the_checker_catches_a_stall_after_the_heal` shows.
pub const ROUNDS_AFTER_HEAL_MAX: u32 = 12;
/// How often the load submits transactions, and how many may wait.
const LOAD_EVERY_MS: u64 = 400;
const LOAD_PENDING_MAX: usize = 24;
/// How long a submitted transaction waits before it is submitted again.
const RESUBMIT_AFTER_MS: u64 = 3_000;
/// Submissions after which a transaction is taken as refused for good.
const STUCK_AFTER_SUBMISSIONS: u32 = 8;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Validators at genesis.
    pub validators: usize,
    /// Drop messages (up to this rate), change partitions, crash nodes.
    pub chaos: bool,
    /// Crash every node at once mid-round, again every 2–8 s of the faults.
    pub all_crash: bool,
    /// A registered non-validator node that misbehaves.
    pub forger: bool,
    /// Validator 0's clock is off by this much (ms).
    pub skew_ms: i64,
    /// A spare node that joins the validator set and leaves it again.
    pub set_changes: bool,
    /// Heights every honest node must commit with the faults on.
    pub heights_with_faults: u64,
    /// Heights to commit after the heal.
    pub heights_after_heal: u64,
    /// Breakage on purpose, for every node.
    pub faults: Faults,
    /// Restart crashed nodes without their safety record.
    pub lose_record_on_restart: bool,
    /// A validator whose every block is invalid (validator 1).
    pub invalid_proposer: bool,
    /// A validator whose every proposal names more transactions than a
    /// block may hold (validator 2).
    pub oversized_proposer: bool,
    /// The share of block reads that fail on every node's store.
    pub read_fault_rate: f64,
    /// The last validator at genesis double-signs every vote and proposes
    /// twins, each to half of its peers (the `byzantine` build).
    pub equivocator: bool,
}

impl Scenario {
    /// Every fault and insider for `n` validators but the oversized
    /// proposer and the equivocator, which have scenarios of their own.
    pub fn chaos(validators: usize) -> Scenario {
        Scenario {
            validators,
            chaos: true,
            all_crash: true,
            forger: true,
            skew_ms: 3_000,
            set_changes: true,
            heights_with_faults: 30,
            heights_after_heal: 5,
            faults: Faults::default(),
            lose_record_on_restart: false,
            invalid_proposer: true,
            // Its proposals cost every receiver the decoding of 640 kB:
            // simulated on its own (see the tests), not in every seed.
            oversized_proposer: false,
            read_fault_rate: 0.0,
            equivocator: false,
        }
    }

    /// The node that equivocates, if any: the last validator at genesis.
    pub fn equivocating_node(&self) -> Option<usize> {
        self.equivocator.then(|| self.validators - 1)
    }

    /// No faults at all.
    pub fn calm(validators: usize) -> Scenario {
        Scenario {
            chaos: false,
            all_crash: false,
            forger: false,
            skew_ms: 0,
            set_changes: false,
            invalid_proposer: false,
            ..Scenario::chaos(validators)
        }
    }
}

/// The result of one seed.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Every property violation, in order.
    pub violations: Vec<String>,
    /// The lowest height every honest node committed.
    pub heights_decided: u64,
    /// Heights committed with the faults on (lowest over honest nodes).
    pub heights_with_faults: u64,
    /// The most rounds a height started after the heal took.
    pub max_rounds_after_heal: u32,
    /// Events processed.
    pub events: u64,
    /// Simulated time at the end.
    pub sim_time_ms: u64,
    /// Hash of the trace of commits, for replay checks.
    pub trace_hash: u64,
    /// Crashes performed.
    pub crashes: u64,
    /// Blocks honest nodes took by sync rather than by deciding.
    pub synced_blocks: u64,
    /// Blocks the node with the skewed clock took by sync.
    pub skewed_synced_blocks: u64,
    /// Validator-set changes committed.
    pub set_changes: u64,
    /// Messages of the forger the nodes refused or ignored.
    pub forger_refused: u64,
    /// Block reads that failed on purpose.
    pub read_faults: u64,
    /// Messages of the oversized proposer that nodes refused.
    pub oversized_refused: u64,
    /// Heights at which the equivocator signed two votes of one step.
    pub double_signed: u64,
    /// Heights at which some node received two of its votes for one step
    /// while it could still judge them.
    pub detectable: u64,
    /// Those, at least two heights below the end, whose evidence no block
    /// committed within two heights (on validator 0's chain).
    pub unpunished: Vec<u64>,
}

/// One simulated node.
pub struct SimNode {
    /// Its name.
    pub name: String,
    /// Its consensus key.
    pub key: SigningKey,
    /// Its libp2p peer id.
    pub peer: PeerId,
    disk: MemoryDisk,
    skew_ms: i64,
    /// The running core; `None` while crashed.
    pub core: Option<Core<SimIo>>,
    shared: Option<Arc<Shared>>,
    gossip_rx: Option<mpsc::Receiver<SignedTx>>,
    /// Bumped at every crash, so events for an earlier life are dropped.
    pub epoch: u64,
    /// Partition group; messages pass only within a group.
    group: u8,
    /// The earliest wake-up queued.
    wake_at: Option<u64>,
}

/// The queue's order: time, then insertion.
struct Queued {
    at: u64,
    seq: u64,
    ev: Ev,
}
impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// The simulation.
pub struct Sim {
    scenario: Scenario,
    rng: ChaCha8Rng,
    time: SimTime,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    genesis: Genesis,
    genesis_state: ledger::State,
    /// The nodes: validators at genesis first, then the spare (if any).
    pub nodes: Vec<SimNode>,
    forger: Option<insider::Forger>,
    treasury: SigningKey,
    /// Transactions submitted and not yet seen committed, by nonce, with
    /// when they were last submitted.
    pending: BTreeMap<u64, (SignedTx, u64, u32)>,
    next_nonce: u64,
    /// Requests under way: the asking node, its life, its request, and
    /// the peer asked.
    replies: BTreeMap<u64, (usize, u64, node::driver::RequestId, PeerId)>,
    /// The equivocator's votes each node received while it could still
    /// judge them, by node and step.
    judged_votes: BTreeMap<(usize, u64, u32, bool), BTreeSet<Option<ledger::Hash>>>,
    /// Heights at which some node received two different such votes.
    detectable: BTreeSet<u64>,
    /// Block reads the stores failed on purpose.
    read_failures: Arc<std::sync::atomic::AtomicU64>,
    /// Recent gossip, by message number, for nodes to relay.
    relay: BTreeMap<u64, net::Relayed>,
    drop_rate: f64,
    healed_at_ms: Option<u64>,
    heal_height: u64,
    check: Checker,
    out: Outcome,
}

/// Runs one seed of a scenario.
pub fn run(seed: u64, scenario: &Scenario) -> Outcome {
    let mut sim = Sim::new(seed, scenario.clone());
    sim.run();
    sim.out
}

fn node_peer(seed_label: &str) -> (LedgerPeerId, PeerId) {
    let key = ledger::testkit::key(seed_label);
    let ledger_peer = LedgerPeerId::from_ed25519(&key.public_key()).expect("an ed25519 peer id");
    let peer = PeerId::from_bytes(ledger_peer.as_bytes()).expect("a libp2p peer id");
    (ledger_peer, peer)
}

impl Sim {
    fn new(seed: u64, scenario: Scenario) -> Sim {
        let rng = ChaCha8Rng::seed_from_u64(seed);
        let n = scenario.validators;
        assert!((1..=20).contains(&n), "1 to 20 validators");
        let treasury = ledger::testkit::key("sim/MOF");
        let mut validators = Vec::new();
        let mut nodes = Vec::new();
        let spare = usize::from(scenario.set_changes);
        for i in 0..n + spare {
            let name = format!("v{i}");
            let key = ledger::testkit::key(&format!("sim/consensus/{i}"));
            let (ledger_peer, peer) = node_peer(&format!("sim/node/{i}"));
            if i < n {
                validators.push(Validator {
                    name: name.clone(),
                    consensus_key: key.public_key(),
                    peer_id: ledger_peer,
                    power: 10,
                });
            }
            nodes.push(SimNode {
                name,
                key,
                peer,
                disk: MemoryDisk::new().expect("memory for a store"),
                skew_ms: if i == 0 { scenario.skew_ms } else { 0 },
                core: None,
                shared: None,
                gossip_rx: None,
                epoch: 0,
                group: 0,
                wake_at: None,
            });
        }
        let mut registered: Vec<NodeRecord> = Vec::new();
        let treasury_id = ledger::EntityId::new("MOF").expect("an id");
        if spare == 1 {
            let (peer_id, _) = node_peer(&format!("sim/node/{n}"));
            registered.push(NodeRecord {
                peer_id,
                operator: treasury_id.clone(),
            });
        }
        let forger = scenario.forger.then(|| {
            let (peer_id, peer) = node_peer("sim/node/forger");
            registered.push(NodeRecord {
                peer_id,
                operator: treasury_id.clone(),
            });
            insider::Forger::new(peer, ledger::testkit::key(insider::FORGER_KEY))
        });
        let genesis = Genesis {
            chain_id: CHAIN_ID.into(),
            genesis_time_ms: GENESIS_TIME_MS,
            currency: Default::default(),
            entities: vec![
                GenesisEntity {
                    id: treasury_id,
                    kind: EntityKind::Treasury,
                    name: "Bộ Tài chính".into(),
                    parent: None,
                    public_key: treasury.public_key(),
                },
                GenesisEntity {
                    id: ledger::EntityId::new("BYT").expect("an id"),
                    kind: EntityKind::Ministry,
                    name: "Bộ Y tế".into(),
                    parent: None,
                    public_key: ledger::testkit::key("sim/BYT").public_key(),
                },
            ],
            validators,
            nodes: registered,
        };
        genesis.check().expect("the simulated genesis is valid");
        let genesis_state = genesis.state();
        let mut check = Checker::new(genesis_state.clone(), genesis.hash(), GENESIS_TIME_MS);
        check.equivocator = scenario.equivocating_node();
        Sim {
            scenario,
            rng,
            time: SimTime::new(),
            seq: 0,
            queue: BinaryHeap::new(),
            genesis,
            genesis_state,
            nodes,
            forger,
            treasury,
            pending: BTreeMap::new(),
            next_nonce: 1,
            replies: BTreeMap::new(),
            relay: BTreeMap::new(),
            read_failures: Arc::default(),
            judged_votes: BTreeMap::new(),
            detectable: BTreeSet::new(),
            drop_rate: 0.0,
            healed_at_ms: None,
            heal_height: 0,
            check,
            out: Outcome::default(),
        }
    }

    fn now(&self) -> u64 {
        self.time.ms()
    }

    fn push(&mut self, delay_ms: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at: self.now() + delay_ms,
            seq: self.seq,
            ev,
        }));
    }

    fn violation(&mut self, what: String) {
        if self.out.violations.len() < 50 {
            let line = format!("t={}ms: {what}", self.now());
            self.out.violations.push(line);
        }
    }

    fn run(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i, false);
        }
        if self.scenario.chaos {
            self.push(500, Ev::Chaos);
        }
        if self.scenario.all_crash {
            let at = self.rng.gen_range(1_000..3_000);
            self.push(at, Ev::CrashAll);
        }
        if self.forger.is_some() {
            self.push(300, Ev::Forger);
        }
        self.push(LOAD_EVERY_MS, Ev::Load);
        while let Some(Reverse(q)) = self.queue.pop() {
            self.time.set(q.at);
            self.out.events += 1;
            self.dispatch(q.ev);
            self.observe();
            if self.out.events > SIM_EVENTS_MAX {
                self.violation(format!("event budget of {SIM_EVENTS_MAX} exhausted"));
                break;
            }
            if self.finished() {
                break;
            }
        }
        self.finish();
    }

    /// Whether the run's goal is met, healing the network on the way.
    fn finished(&mut self) -> bool {
        let low = self.lowest_height();
        match self.healed_at_ms {
            None => {
                if low >= self.scenario.heights_with_faults || self.now() > CHAOS_TIME_MAX_MS {
                    self.heal();
                }
                false
            }
            Some(at) => {
                let target = self.heal_height + self.scenario.heights_after_heal;
                if low >= target {
                    return true;
                }
                if self.now() > at + POST_HEAL_TIME_MAX_MS {
                    let heights: Vec<u64> =
                        (0..self.nodes.len()).map(|i| self.height_of(i)).collect();
                    self.violation(format!(
                        "liveness: {POST_HEAL_TIME_MAX_MS} ms after the heal, the nodes have not \
                         all reached height {target} (committed heights {heights:?})"
                    ));
                    return true;
                }
                false
            }
        }
    }

    /// The committed height of node `i`, from its store (a crashed node's
    /// too).
    fn height_of(&self, i: usize) -> u64 {
        self.check.height_of(i)
    }

    fn lowest_height(&self) -> u64 {
        (0..self.nodes.len())
            .filter(|&i| self.counts(i))
            .map(|i| self.height_of(i))
            .min()
            .unwrap_or(0)
    }

    /// Whether node `i` must keep up: the validators at genesis. (The
    /// spare is refused by the others while it is neither a validator nor
    /// registered, so it may fall behind; what it commits is checked all
    /// the same.)
    fn counts(&self, i: usize) -> bool {
        i < self.scenario.validators
    }

    fn heal(&mut self) {
        self.healed_at_ms = Some(self.now());
        self.out.heights_with_faults = self.lowest_height();
        self.heal_height = (0..self.nodes.len())
            .map(|i| self.height_of(i))
            .max()
            .unwrap_or(0);
        self.check.heal_height = self.heal_height;
        self.drop_rate = 0.0;
        for i in 0..self.nodes.len() {
            self.nodes[i].group = 0;
            if self.nodes[i].core.is_none() {
                self.start(i, false);
            }
        }
    }

    fn finish(&mut self) {
        if std::env::var("SIM_DEBUG").is_ok() {
            // SIM_DEBUG=1 with SIM_SEED=s: where every node ended.
            for (i, n) in self.nodes.iter().enumerate() {
                match &n.core {
                    Some(c) => eprintln!(
                        "node {i}: height {} round {} step {:?} locked {:?} valid {:?} \
                         committed {} bounds {:?}",
                        c.height(),
                        c.round(),
                        c.machine().step(),
                        c.machine().state().locked(),
                        c.machine().state().valid(),
                        c.committed_height(),
                        c.bounds()
                    ),
                    None => eprintln!("node {i}: crashed"),
                }
                if let (Some(c), Some(v)) = (
                    &n.core,
                    self.nodes[1]
                        .core
                        .as_ref()
                        .and_then(|c| c.machine().state().valid().cloned()),
                ) {
                    for r in 0..=c.round() {
                        let pv = c.machine().votes().power_for(
                            consensus::Round(r),
                            consensus::VoteType::Prevote,
                            Some(&v.value),
                        );
                        let pnil = c.machine().votes().power_for(
                            consensus::Round(r),
                            consensus::VoteType::Prevote,
                            None,
                        );
                        let pany = c
                            .machine()
                            .votes()
                            .power_any(consensus::Round(r), consensus::VoteType::Prevote);
                        eprint!(" r{r}:{pv}/{pnil}/{pany}");
                    }
                    eprintln!();
                }
            }
        }
        self.out.heights_decided = self.lowest_height();
        self.out.sim_time_ms = self.now();
        self.out.trace_hash = self.check.trace_hash;
        self.out.max_rounds_after_heal = self.check.max_rounds_after_heal;
        self.out.set_changes = self.check.set_changes;
        for v in std::mem::take(&mut self.check.violations) {
            self.violation(v);
        }
        let equivocator = self.equivocator();
        for i in (0..self.nodes.len()).filter(|i| Some(*i) != equivocator) {
            if let Some(core) = &self.nodes[i].core {
                let synced = core.synced_blocks();
                self.out.synced_blocks += synced;
                if i == 0 && self.scenario.skew_ms != 0 {
                    self.out.skewed_synced_blocks += synced;
                }
            }
        }
        if let Some(f) = &self.forger {
            self.out.forger_refused = f.refused;
        }
        self.punishments();
        self.out.read_faults = self
            .read_failures
            .load(std::sync::atomic::Ordering::Relaxed);
    }

    /// The equivocating validator, if the scenario has one.
    fn equivocator(&self) -> Option<usize> {
        self.scenario.equivocating_node()
    }

    /// Which of the equivocator's detectable offences were punished in
    /// time: evidence of each is to be in a block at most two heights
    /// above it. (A vote that reaches every node only after it committed
    /// the next height is not judged, and cannot be caught.)
    fn punishments(&mut self) {
        let Some(e) = self.equivocator() else { return };
        let key = self.nodes[e].key.public_key();
        self.out.double_signed = self.check.double_signed.len() as u64;
        self.out.detectable = self.detectable.len() as u64;
        let Some(shared) = &self.nodes[0].shared else {
            return;
        };
        let top = self.height_of(0);
        let committed = shared.store.evidence().unwrap_or_default();
        self.out.unpunished = self
            .detectable
            .iter()
            .copied()
            .filter(|h| h + 2 <= top)
            .filter(|h| {
                !committed
                    .iter()
                    .any(|(at, ev)| ev.a.validator == key && ev.height().0 == *h && at.0 <= h + 2)
            })
            .collect();
    }

    /// Starts (or restarts) node `i` from its store alone.
    fn start(&mut self, i: usize, forget_record: bool) {
        let byzantine = self.equivocator() == Some(i);
        let node = &mut self.nodes[i];
        let store = Store::open_in_memory(&node.disk, &node.name).expect("the store opens");
        let state = store
            .init(&self.genesis_state, self.genesis.hash())
            .expect("the store is this chain's");
        let (gossip, gossip_rx) = mpsc::channel(100_000);
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle();
        let shared = Arc::new(Shared {
            name: node.name.clone(),
            node_id: node.peer.to_string(),
            genesis: self.genesis.clone(),
            store,
            state: RwLock::new(state),
            mempool: Mutex::new(Mempool::new(MempoolLimits::default())),
            rejected: Mutex::new(Rejections::default()),
            live: RwLock::new(Live::default()),
            gossip,
            metrics,
        });
        let mut config = Config::default();
        config.node.name = node.name.clone();
        config.consensus.timeout_propose_ms = 400;
        config.consensus.timeout_prevote_ms = 200;
        config.consensus.timeout_precommit_ms = 200;
        config.consensus.timeout_delta_ms = 100;
        config.consensus.rebroadcast_ms = 500;
        config.consensus.block_interval_ms = 50;
        let io = SimIo::new(
            self.time.clone(),
            GENESIS_TIME_MS,
            node.skew_ms,
            (i as u64) << 40 | node.epoch << 24,
        );
        let mut store = SimStore::new(shared.clone(), forget_record);
        if self.scenario.read_fault_rate > 0.0 {
            store = store.failing_reads(
                self.scenario.read_fault_rate,
                self.rng.gen(),
                self.read_failures.clone(),
            );
        }
        let store = Arc::new(store);
        let parts = CoreParts {
            shared: shared.clone(),
            config,
            key: Some(ledger::testkit::key(&format!("sim/consensus/{i}"))),
            dial: Vec::new(),
        };
        let (mut core, fx) = match Core::new(parts, io, store) {
            Ok(c) => c,
            Err(e) => {
                self.violation(format!("node {i} cannot start: {e}"));
                return;
            }
        };
        core.io_mut().shared = Some(shared.clone());
        core.faults = self.scenario.faults;
        core.faults.propose_invalid = self.scenario.invalid_proposer && i == 1;
        core.faults.propose_oversized = self.scenario.oversized_proposer && i == 2;
        core.byzantine = byzantine;
        node.shared = Some(shared);
        node.gossip_rx = Some(gossip_rx);
        node.wake_at = None;
        core.start(fx);
        node.core = Some(core);
        let epoch = node.epoch;
        self.check.started(i);
        // Every other running node is connected to it, and it to them.
        for j in 0..self.nodes.len() {
            if j != i && self.nodes[j].core.is_some() {
                let (pi, pj) = (self.nodes[i].peer, self.nodes[j].peer);
                self.deliver_now(i, Event::Connected(pj));
                self.deliver_now(j, Event::Connected(pi));
            }
        }
        if let Some(f) = &self.forger {
            let p = f.peer;
            self.deliver_now(i, Event::Connected(p));
        }
        let tick = self.rng.gen_range(0..1_000);
        self.push(tick, Ev::Tick { node: i, epoch });
        self.after(i);
    }

    fn crash(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if node.core.is_none() {
            return;
        }
        node.core = None;
        node.shared = None;
        node.gossip_rx = None;
        node.epoch += 1;
        node.wake_at = None;
        self.out.crashes += 1;
        let peer = self.nodes[i].peer;
        for j in 0..self.nodes.len() {
            if j != i && self.nodes[j].core.is_some() {
                self.deliver_now(j, Event::Disconnected(peer));
            }
        }
    }

    /// Hands an event to node `i` now, if it runs.
    fn deliver_now(&mut self, i: usize, ev: Event) {
        self.handle(i, ev);
    }

    /// Lets node `i` handle `ev`, then carries out what it asked for.
    fn handle(&mut self, i: usize, ev: Event) {
        let equivocator = self.equivocator().map(|e| self.nodes[e].key.public_key());
        let Some(core) = self.nodes[i].core.as_mut() else {
            return;
        };
        if let (
            Some(e),
            Event::Gossip {
                topic: Some(node::driver::Topic::Votes),
                data,
                ..
            },
        ) = (equivocator, &ev)
        {
            // An equivocator's vote this node may still judge: two
            // different ones for one step make its offence detectable.
            if let Ok(m) = node::wire::decode_vote(data) {
                let v = m.vote;
                if v.validator == e && v.height.0 >= core.committed_height() {
                    let step = (
                        i,
                        v.height.0,
                        v.round,
                        v.vote_type == ledger::VoteType::Prevote,
                    );
                    let values = self.judged_votes.entry(step).or_default();
                    values.insert(v.block_hash);
                    if values.len() > 1 {
                        self.detectable.insert(v.height.0);
                    }
                }
            }
        }
        let _node = tracing::info_span!("node", i, t = self.time.ms()).entered();
        core.handle(ev);
        self.after(i);
    }

    /// Carries out what node `i`'s core asked of its edges, and queues its
    /// next wake-up.
    fn after(&mut self, i: usize) {
        loop {
            let Some(core) = self.nodes[i].core.as_mut() else {
                return;
            };
            let outbox = std::mem::take(&mut core.io_mut().outbox);
            let submitted: Vec<SignedTx> = match self.nodes[i].gossip_rx.as_mut() {
                Some(rx) => std::iter::from_fn(|| rx.try_recv().ok()).collect(),
                None => Vec::new(),
            };
            if outbox.is_empty() && submitted.is_empty() {
                break;
            }
            for out in outbox {
                self.carry_out(i, out);
            }
            if !submitted.is_empty() {
                if let Some(core) = self.nodes[i].core.as_mut() {
                    core.handle(Event::Submitted(submitted));
                }
            }
        }
        let Some(core) = self.nodes[i].core.as_ref() else {
            return;
        };
        if let Some(at) = core.next_wakeup() {
            let base = core.io().now() - Duration::from_millis(self.now());
            let at_ms = at.saturating_duration_since(base).as_millis() as u64;
            let node = &mut self.nodes[i];
            if node.wake_at.is_none_or(|w| at_ms < w || w < self.time.ms()) {
                node.wake_at = Some(at_ms);
                let epoch = node.epoch;
                let delay = at_ms.saturating_sub(self.now());
                self.push(delay, Ev::Wake { node: i, epoch });
            }
        }
    }

    /// Checks every running node after an event.
    fn observe(&mut self) {
        for i in 0..self.nodes.len() {
            let Some(core) = self.nodes[i].core.as_ref() else {
                continue;
            };
            for (what, len, max) in core.bounds() {
                if len > max {
                    let v = format!("bounded memory: node {i} holds {len} {what}, limit {max}");
                    self.violation(v);
                }
            }
            let shared = self.nodes[i]
                .shared
                .clone()
                .expect("a running node's shared parts");
            self.check.observe(i, &shared);
        }
    }

    /// Submits transactions of the load to a running node: appropriations
    /// by the treasury, and once the spare node runs, its joining and
    /// leaving the validator set.
    fn load(&mut self) {
        let committed = self.check.treasury_next_nonce();
        self.pending.retain(|n, _| *n >= committed);
        if self.next_nonce < committed {
            self.next_nonce = committed;
        }
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].core.is_some())
            .collect();
        if live.is_empty() {
            return;
        }
        for _ in 0..self.rng.gen_range(0..4) {
            if self.pending.len() >= LOAD_PENDING_MAX {
                break;
            }
            let op = self.next_op();
            let tx = TxBody {
                chain_id: CHAIN_ID.into(),
                signer: ledger::EntityId::new("MOF").expect("an id"),
                nonce: self.next_nonce,
                op,
            }
            .sign(&self.treasury);
            self.pending.insert(self.next_nonce, (tx, 0, 0));
            self.next_nonce += 1;
        }
        // A transaction the chain refused (its operation no longer fits the
        // state) would hold up every later nonce: its nonce gets an
        // appropriation instead.
        if let Some((&nonce, (_, _, sent))) = self.pending.iter().next() {
            if *sent >= STUCK_AFTER_SUBMISSIONS {
                let op = self.appropriation();
                let tx = TxBody {
                    chain_id: CHAIN_ID.into(),
                    signer: ledger::EntityId::new("MOF").expect("an id"),
                    nonce,
                    op,
                }
                .sign(&self.treasury);
                self.pending.insert(nonce, (tx, 0, 0));
            }
        }
        let now = self.now();
        let due: Vec<SignedTx> = self
            .pending
            .values_mut()
            .filter(|(_, at, _)| *at == 0 || now >= at + RESUBMIT_AFTER_MS)
            .map(|(tx, at, sent)| {
                *at = now.max(1);
                *sent += 1;
                tx.clone()
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let i = live[self.rng.gen_range(0..live.len())];
        if let Some(shared) = self.nodes[i].shared.clone() {
            let _ = shared.admit_batch(due);
            self.after(i);
        }
    }

    /// The next operation of the load: mostly appropriations; with set
    /// changes, the spare node is taken off the registered nodes, added as
    /// a validator, removed, and registered again, in a cycle.
    fn next_op(&mut self) -> Op {
        let spare = self.scenario.validators;
        if self.scenario.set_changes {
            let (peer_id, _) = node_peer(&format!("sim/node/{spare}"));
            let key = self.nodes[spare].key.public_key();
            let treasury = ledger::EntityId::new("MOF").expect("an id");
            match self.next_nonce % 16 {
                3 => return Op::RemoveNode { peer_id },
                5 => {
                    return Op::AddValidator {
                        name: self.nodes[spare].name.clone(),
                        consensus_key: key,
                        peer_id,
                        power: 10,
                    }
                }
                11 => return Op::RemoveValidator { consensus_key: key },
                13 => {
                    return Op::RegisterNode {
                        peer_id,
                        operator: treasury,
                    }
                }
                _ => {}
            }
        }
        self.appropriation()
    }

    fn appropriation(&mut self) -> Op {
        Op::Appropriate {
            year: ledger::Year(2026),
            line: ledger::LineCode::new("SIM.1").expect("a line"),
            to: ledger::EntityId::new("BYT").expect("an id"),
            amount: ledger::Amount(self.rng.gen_range(1..1_000)),
            legal_ref: "Nghị quyết 01/2026/QH15".into(),
        }
    }
}
