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
mod course;
pub mod insider;
pub mod io;
mod life;
mod load;
mod net;
mod restore;
mod statesync;
mod upgrade;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

use genesis::{Genesis, GenesisEntity};
use ledger::crypto::SigningKey;
use ledger::state::NodeRecord;
use ledger::store::MemoryDisk;
use ledger::tx::EntityKind;
use ledger::{PeerId as LedgerPeerId, PublicKey, SignedTx, Validator};
use libp2p::PeerId;
use node::driver::{Core, Faults};
use node::shared::Shared;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;

use self::check::Checker;
use self::io::{SimIo, SimTime};
use self::net::Ev;

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
/// Most requests for a proposal's transactions one node may send within a
/// height: each block asked of its proposer and of each peer it came from,
/// with room to spare. Seed 3082 of the long run once saw thousands, when
/// every empty answer was asked again of every other peer.
pub const TX_REQUESTS_PER_HEIGHT_MAX: u64 = 200;

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
    /// Every message between nodes arrives this much later (ms), for the
    /// whole run: a network, or nodes so loaded, that each message is
    /// handled seconds after it was sent.
    pub late_ms: u64,
    /// Run with the node's default consensus timeouts and block interval
    /// (seconds) instead of the short ones (hundreds of milliseconds) that
    /// let the other scenarios cover many heights.
    pub node_timeouts: bool,
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
    /// Validator [`RESTORED_NODE`] comes back from every crash restored
    /// from a backup taken seconds before, into an empty home, as
    /// `minhbach restore` does; unguarded, without the signing guard that
    /// restore writes (for the checker's test).
    pub restore: Option<Restore>,
    /// The treasury schedules protocol version 2 from [`UPGRADE_HEIGHT`];
    /// every node runs it but validator [`LAGGARD`], which runs version 1
    /// and must stop cleanly before that height.
    pub upgrade: bool,
    /// A validator whose every block is invalid (validator 1).
    pub invalid_proposer: bool,
    /// A validator whose every proposal names more transactions than a
    /// block may hold (validator 2).
    pub oversized_proposer: bool,
    /// A validator whose every block names the root of another history
    /// than the committed one (validator 3).
    pub rewriting_proposer: bool,
    /// The forger also holds every validator's key at genesis, as a
    /// supermajority that colluded would: asked for a height some node
    /// has committed, it answers with that block, one transaction's
    /// signature changed, under a certificate those validators signed.
    pub colluding_forger: bool,
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
            late_ms: 0,
            node_timeouts: false,
            set_changes: true,
            heights_with_faults: 30,
            heights_after_heal: 5,
            faults: Faults::default(),
            lose_record_on_restart: false,
            restore: None,
            upgrade: false,
            invalid_proposer: true,
            // Its proposals cost every receiver the decoding of 640 kB:
            // simulated on its own (see the tests), not in every seed.
            oversized_proposer: false,
            rewriting_proposer: false,
            colluding_forger: false,
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

/// How a crashed validator comes back from a backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restore {
    /// As `minhbach restore` leaves it: the backup's store with the guard.
    Guarded,
    /// The backup's store alone.
    Unguarded,
    /// No backup: an empty disk started from a snapshot that a running
    /// peer serves, as `node start --state-sync` starts it, with its
    /// signing guard.
    FromSnapshot,
    /// The same without the signing guard (for the checker's test).
    FromSnapshotUnguarded,
}

/// The validator that [`Scenario::restore`] restores from backups.
pub const RESTORED_NODE: usize = 2;
/// The validator that runs the old protocol version under
/// [`Scenario::upgrade`].
pub const LAGGARD: usize = 3;
/// The first height of protocol version 2 under [`Scenario::upgrade`].
pub const UPGRADE_HEIGHT: u64 = 10;

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
    /// Restarts from a backup.
    pub restores: u64,
    /// Nodes that stopped for an upgrade they do not run, with the height
    /// they had committed.
    pub halted: BTreeMap<usize, u64>,
    /// Blocks honest nodes took by sync rather than by deciding.
    pub synced_blocks: u64,
    /// Blocks the node with the skewed clock took by sync.
    pub skewed_synced_blocks: u64,
    /// Validator-set changes committed.
    pub set_changes: u64,
    /// Blocks committed, by the proposer their header names.
    pub proposers: BTreeMap<PublicKey, u64>,
    /// Messages of the forger the nodes refused or ignored.
    pub forger_refused: u64,
    /// Certified blocks with a forged signature the colluding forger sent.
    pub forger_doctored: u64,
    /// Block reads that failed on purpose.
    pub read_faults: u64,
    /// The most requests for transactions one node sent within a height.
    pub max_tx_requests_per_height: u64,
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
    /// Backups of its store, one a second, oldest first (only for
    /// [`RESTORED_NODE`] under [`Scenario::restore`]).
    backups: std::collections::VecDeque<Vec<u8>>,
    /// Stopped for good: it halted before an upgrade it does not run.
    stopped: bool,
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
    /// Requests for transactions each node sent, by node, life and height.
    tx_requests: BTreeMap<(usize, u64, u64), u64>,
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
                backups: std::collections::VecDeque::new(),
                stopped: false,
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
                    keys: vec![treasury.public_key()],
                    threshold: 1,
                },
                GenesisEntity {
                    id: ledger::EntityId::new("BYT").expect("an id"),
                    kind: EntityKind::Ministry,
                    name: "Bộ Y tế".into(),
                    parent: None,
                    keys: vec![ledger::testkit::key("sim/BYT").public_key()],
                    threshold: 1,
                },
            ],
            validators,
            nodes: registered,
            rotation_delay: genesis::ROTATION_DELAY_DEFAULT,
            control: Vec::new(),
        };
        genesis.check().expect("the simulated genesis is valid");
        let genesis_state = genesis.state();
        let mut check = Checker::new(genesis_state.clone(), genesis.hash(), GENESIS_TIME_MS);
        check.equivocator = scenario.equivocating_node();
        if scenario.upgrade {
            check.runs.insert(LAGGARD, ledger::block::PROTOCOL_VERSION);
        }
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
            tx_requests: BTreeMap::new(),
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

    /// Counts a request for transactions by node `i` in its life `epoch`;
    /// past [`TX_REQUESTS_PER_HEIGHT_MAX`] within a height, the node is
    /// flooding its peers.
    fn count_tx_request(&mut self, i: usize, epoch: u64) {
        let height = self.nodes[i].core.as_ref().map_or(0, |c| c.height());
        let n = self.tx_requests.entry((i, epoch, height)).or_default();
        *n += 1;
        let n = *n;
        self.out.max_tx_requests_per_height = self.out.max_tx_requests_per_height.max(n);
        if n == TX_REQUESTS_PER_HEIGHT_MAX + 1 {
            self.violation(format!(
                "bounded requests: node {i} asked for transactions more than \
                 {TX_REQUESTS_PER_HEIGHT_MAX} times at height {height}"
            ));
        }
    }

    /// The equivocating validator, if the scenario has one.
    fn equivocator(&self) -> Option<usize> {
        self.scenario.equivocating_node()
    }
}
