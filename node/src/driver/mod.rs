//! The consensus loop: one core that owns the consensus state machine and
//! is the only writer of the store and the shared state, and a shell that
//! runs it over libp2p and tokio.
//!
//! The core ([`Core`]) takes one closed [`Event`] at a time (gossip, block
//! sync, a timer, a submission, admitted transactions, the clock) and acts
//! through the four traits of [`io`]: it never touches a socket, a thread or
//! the system clock itself. The node runs it in [`shell::Driver`]; the
//! seeded simulator of the `tests` crate runs the same core over a simulated
//! network, clock and store.
//!
//! The core carries out the effects of `consensus` in order: a safety
//! record is written and synced before any signature leaves; a proposal is
//! judged by [`ledger::validity::check_block`], the one rule of block
//! validity that `verify chain` applies too; a decided block is committed to
//! the store before the next height starts. A node that falls behind asks
//! peers for blocks and certificates and verifies each before applying it.
//!
//! A store that cannot be written (a full disk, a read-only folder) stops
//! the node from signing and committing, never from serving reads: nothing
//! is signed without a durable safety record, and the committed state only
//! advances once its block is written. The core opens the store again with
//! growing waits, and once it can write, catches up by sync.
//!
//! The core is cut along its own concerns:
//! - [`effects`]: consensus effects carried out in order;
//! - [`proposals`]: building, receiving and judging proposals;
//! - [`commit`]: committing blocks, starting heights, store faults;
//! - [`evidence`]: the pool of evidence and the committed offences;
//! - [`metering`]: the operator's metrics (missed signatures, connected
//!   power, sync lag, clock offsets, readiness);
//! - [`gossip`]: gossip in and out, votes, transactions, bans;
//! - [`sync`]: block sync and the peers it trusts;
//! - [`view`]: the committed chain as the rule of block validity sees it.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consensus::{Consensus, Effect, Input};
use ledger::crypto::SigningKey;
use ledger::merkle::Frontier;
use ledger::{Block, BlockOutcome, Hash, PublicKey, Signature, SignedTx, ValidatorSet};
use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};

use crate::config::Config;
use crate::shared::Shared;
use crate::wire::{ProposalMsg, SyncRequest, SyncResponse};

#[cfg(feature = "byzantine")]
pub mod byzantine;
mod commit;
mod effects;
pub mod evidence;
pub mod fetch;
mod gossip;
pub mod guard;
pub mod io;
mod metering;
mod proposals;
pub mod shell;
mod snapshots;
pub mod sync;
pub mod upgrade;
mod view;

pub use gossip::{INVALID_GOSSIP_BAN, INVALID_GOSSIP_MAX, INVALID_GOSSIP_WINDOW};
pub use guard::{SignGuard, SIGN_GUARD_KEY};
pub use io::{
    ChainStore, Clock, GossipVerdict, GossipedTxs, Io, Network, ReplyId, RequestId, Timers, Topic,
    SAFETY_RECORD_KEY, VALID_BLOCK_KEY,
};
pub use ledger::validity::{EVIDENCE_MAX_AGE_BLOCKS, PROPOSAL_CLOCK_SKEW_MS};
pub use shell::{Driver, DriverParts};

/// The consensus instance of a node.
pub type Machine = Consensus<Hash, PublicKey, Signature>;
/// Effects of the node's consensus instance.
pub type Fx = Vec<Effect<Hash, PublicKey, Signature>>;
type In = Input<Hash, PublicKey, Signature>;

/// Most proposals kept for the next two heights.
pub const FUTURE_PROPOSALS_MAX: usize = 32;
/// Most blocks judged and kept at one height. A proposer leads a round
/// only, and only its first block of a round is judged, so honest rounds
/// stay far below this; past it, the candidates of the lowest rounds that
/// are neither locked nor valid make room.
pub const CANDIDATES_MAX: usize = 64;
/// Proposals are judged for rounds at most this far above the current one;
/// consensus keeps no more of the rounds ahead.
pub const CANDIDATE_ROUNDS_AHEAD_MAX: u32 = 8;
/// Most proposals kept while their missing transactions are fetched.
pub const AWAITING_PROPOSALS_MAX: usize = 16;
/// Most proposals kept to be judged again because a read failed.
pub const RETRY_PROPOSALS_MAX: usize = 16;
/// How long after a failed read a proposal is judged again: soon, so that
/// a transient error costs no round.
pub const RETRY_READ_AFTER: Duration = Duration::from_millis(100);
/// Most transactions fetched for proposals and kept until the next commit.
pub const FETCHED_TXS_MAX: usize = 100_000;
/// Most gossiped transactions waiting for admission; further batches are
/// ignored until the waiting ones are admitted.
pub const GOSSIPED_TXS_MAX: usize = 50_000;
/// Most transactions kept for another gossip attempt.
pub const UNSENT_TXS_MAX: usize = 10_000;

/// Milliseconds since the Unix epoch, by the system clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The consensus view of a ledger validator set.
pub fn consensus_set(set: &ValidatorSet) -> consensus::ValidatorSet<PublicKey> {
    consensus::ValidatorSet::new(set.validators().iter().map(|v| consensus::Validator {
        address: v.consensus_key,
        power: v.power,
    }))
    .expect("a ledger validator set is non-empty, with distinct keys and positive power")
}

/// Everything that happens to the core, one at a time.
#[derive(Debug)]
pub enum Event {
    /// A gossip message; `topic` is `None` for a topic that is not ours.
    Gossip {
        /// Gossip's id of the message, to report a verdict on.
        id: MessageId,
        /// The peer that forwarded it.
        from: PeerId,
        /// Its topic.
        topic: Option<Topic>,
        /// Its bytes, not yet decoded.
        data: Vec<u8>,
    },
    /// A peer's block-sync request, to answer through
    /// [`Network::respond`].
    SyncRequest {
        /// The peer.
        peer: PeerId,
        /// What it asks.
        request: SyncRequest,
        /// Where the answer goes.
        reply: ReplyId,
    },
    /// The answer to a request of ours.
    SyncResponse {
        /// The peer that answered.
        peer: PeerId,
        /// Our request.
        request: RequestId,
        /// Its answer.
        response: SyncResponse,
    },
    /// A request of ours failed or timed out in the network.
    SyncFailed {
        /// The peer asked.
        peer: PeerId,
        /// Our request.
        request: RequestId,
    },
    /// A connection to a peer opened (its first).
    Connected(PeerId),
    /// The last connection to a peer closed.
    Disconnected(PeerId),
    /// A consensus timeout scheduled through [`Timers`] expired.
    Timeout(consensus::Timeout),
    /// Transactions admitted through the API, to gossip.
    Submitted(Vec<SignedTx>),
    /// The verdicts of a [`Network::admit`] call.
    Admitted(Vec<GossipVerdict>),
    /// Once a second: status requests, dials, bans, resends.
    Tick,
    /// The time of [`Core::next_wakeup`] has come.
    Wake,
}

/// A block proposed at the current height, with the verdict on it.
pub(crate) struct Candidate {
    pub(crate) block: Block,
    /// The execution outcome when valid.
    pub(crate) outcome: Option<BlockOutcome>,
    /// The round of the proposal it first came in.
    pub(crate) round: u32,
}

/// A proposal message, the peer it came from, and the clock reading when it
/// arrived: a fresh proposal's time is held against that reading.
pub(crate) type Arrived = (ProposalMsg, PeerId, u64);

/// Switches that break the core on purpose, so that the simulator can show
/// its checkers catch what they claim to. A node never sets them.
#[cfg(feature = "faults")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Carry out a signature before the safety record that allows it.
    pub sign_before_persist: bool,
    /// Judge every block valid, whatever the rule says.
    pub decide_invalid: bool,
    /// Ignore every consensus timeout: rounds never move on.
    pub ignore_timeouts: bool,
    /// Propose blocks whose header names a state root their transactions
    /// do not give: an insider whose blocks are invalid.
    pub propose_invalid: bool,
    /// Send each own proposal with a compact block that names more
    /// transactions than a block may hold: an insider whose blocks are
    /// oversized.
    pub propose_oversized: bool,
    /// Propose blocks whose header names the root of another history
    /// than the committed one: an insider that rewrites history.
    pub propose_rewritten_history: bool,
    /// Go on past a scheduled upgrade to a protocol version this node
    /// does not run, instead of stopping before it.
    pub ignore_upgrade: bool,
}

/// The consensus loop's state, and everything it decides. See the module
/// documentation.
pub struct Core<I: Io> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) config: Config,
    pub(crate) io: I,
    pub(crate) store: Arc<dyn ChainStore>,
    pub(crate) key: Option<SigningKey>,
    pub(crate) machine: Machine,
    /// Blocks proposed at the current height, by hash.
    pub(crate) candidates: HashMap<Hash, Candidate>,
    /// Proposals for the next two heights, fed in when their height starts.
    pub(crate) future_proposals: VecDeque<Arrived>,
    /// Proposals at the current height waiting for transactions this node
    /// lacks.
    pub(crate) awaiting: Vec<Arrived>,
    /// Proposals that could not be judged because a read failed; judged
    /// again [`RETRY_READ_AFTER`] later (and on every tick).
    pub(crate) retry: Vec<Arrived>,
    /// When they are judged again.
    pub(crate) retry_at: Option<Instant>,
    /// Transactions fetched for those proposals, until the next commit.
    pub(crate) fetched: HashMap<Hash, SignedTx>,
    /// The requests for them, and who was asked.
    pub(crate) tx_fetches: fetch::TxFetches,
    /// Verified evidence not yet committed, and the offences committed.
    pub(crate) evidence: evidence::EvidencePool,
    /// The first block each validator proposed for a round of the current
    /// height, and a second if it proposed two.
    pub(crate) round_proposals: HashMap<(u32, PublicKey), (Hash, Option<Hash>)>,
    /// The last committed block's hash and time.
    pub(crate) last_hash: Hash,
    pub(crate) last_time_ms: u64,
    /// The history tree over every committed block.
    pub(crate) history: Frontier,
    /// set(L), the set that signed the last committed block (None at genesis).
    pub(crate) prev_set: Option<ValidatorSet>,
    /// When the next height starts, after the pause that follows a commit.
    pub(crate) next_height_at: Option<Instant>,
    pub(crate) last_commit_at: Option<Instant>,
    /// The last heights' commit rates, which bound what clients may add to
    /// the mempool.
    pub(crate) drain: crate::backlog::DrainRate,
    /// Block sync: peers' heights, what is asked, and how peers answered.
    pub(crate) sync: sync::SyncState,
    pub(crate) connected: HashSet<PeerId>,
    pub(crate) allowed: BTreeSet<PeerId>,
    pub(crate) dial: Vec<(PeerId, Multiaddr)>,
    /// Transactions no peer could take yet.
    pub(crate) unsent_txs: VecDeque<SignedTx>,
    /// Gossiped transactions waiting to be admitted together.
    pub(crate) gossiped: gossip::Gathered,
    /// True while a batch is being admitted off the loop.
    pub(crate) admitting: bool,
    /// Set while the store cannot be written.
    pub(crate) store_fault: Option<commit::StoreFault>,
    /// When the store last became writable again, and the wait before the
    /// attempt that succeeded.
    pub(crate) store_resumed: Option<(Instant, std::time::Duration)>,
    /// Invalid gossip per peer, and peers banned for it.
    pub(crate) bans: gossip::Bans,
    /// Blocks taken by sync rather than decided here.
    pub(crate) synced: u64,
    /// The newest protocol version this node runs.
    pub(crate) protocol_version: u32,
    /// Set when the node stopped before a height of a version it does not
    /// run (see [`upgrade`]).
    pub(crate) halted: Option<upgrade::Halted>,
    /// Where a validator restored from a backup may sign from.
    pub(crate) guard: Option<guard::SignGuard>,
    /// Ticks since start while the guard waits for the network.
    pub(crate) guard_ticks: u32,
    /// The valid value whose block is written with the safety record.
    pub(crate) valid_block_saved: Option<Hash>,
    /// Validators' clock offsets, from their proposals' and votes' times.
    pub(crate) clocks: crate::monitor::ClockOffsets,
    /// Precommits received or signed at recent heights, for missed
    /// signatures.
    pub(crate) precommits: crate::monitor::PrecommitsSeen,
    /// A Byzantine validator's two blocks of each round it leads.
    #[cfg(feature = "byzantine")]
    pub(crate) twins: HashMap<(u64, u32), (Hash, Hash)>,
    /// Double-sign and propose twins (see [`byzantine`]): on from the
    /// start in a process that called [`byzantine::enable`]; the simulator
    /// turns it on for one validator.
    #[cfg(feature = "byzantine")]
    pub byzantine: bool,
    /// Breakage on purpose, for the simulator's checker tests.
    #[cfg(feature = "faults")]
    pub faults: Faults,
}

/// Everything [`Core::new`] needs besides its edges.
pub struct CoreParts {
    /// Shared with the API.
    pub shared: Arc<Shared>,
    /// The node's config.
    pub config: Config,
    /// The consensus key, for a validator.
    pub key: Option<SigningKey>,
    /// Peers to dial.
    pub dial: Vec<(PeerId, Multiaddr)>,
    /// The newest protocol version it runs ([`upgrade::spoken`]).
    pub protocol_version: u32,
}

impl<I: Io> Core<I> {
    /// Prepares the core: resumes consensus from the stored safety record at
    /// the height after the last committed block. Returns the effects of
    /// starting, for [`Core::start`].
    pub fn new(
        parts: CoreParts,
        io: I,
        store: Arc<dyn ChainStore>,
    ) -> anyhow::Result<(Core<I>, Fx)> {
        let shared = parts.shared;
        let (height, set, last_hash, last_time_ms, prev_set, history) = {
            let state = shared.state.read().expect("state lock");
            let meta = store
                .meta()?
                .ok_or_else(|| anyhow::anyhow!("the store is not initialised"))?;
            let (last_time, prev_set) = if meta.height.0 == 0 {
                (shared.genesis.genesis_time_ms, None)
            } else {
                let block = store
                    .block(meta.height)?
                    .ok_or_else(|| anyhow::anyhow!("the last block is missing"))?;
                let set = store
                    .validator_set(&block.header.validators_hash)?
                    .ok_or_else(|| anyhow::anyhow!("the last block's validator set is missing"))?;
                (block.header.time_ms, Some(set))
            };
            (
                state.height().next(),
                state.validators().clone(),
                meta.last_block_hash,
                last_time,
                prev_set,
                store.history_frontier(meta.height)?,
            )
        };
        let record = match store.safety_record()? {
            Some(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| anyhow::anyhow!("the stored safety record cannot be read: {e}"))?,
            ),
            None => None,
        };
        let evidence = evidence::EvidencePool::load(store.as_ref())?;
        let guard = guard::SignGuard::load(store.store())?;
        // A follower uses a key no validator can have (the identity point is
        // refused as a consensus key), so it never signs.
        let me = parts
            .key
            .as_ref()
            .map(|k| k.public_key())
            .unwrap_or(PublicKey([0; 32]));
        let (machine, fx) = Consensus::new(
            parts.config.consensus.to_consensus(),
            me,
            consensus::Height(height.0),
            consensus_set(&set),
            record,
        )
        .map_err(|e| anyhow::anyhow!("consensus cannot start: {e}"))?;
        let mut core = Core {
            shared,
            config: parts.config,
            io,
            store,
            key: parts.key,
            machine,
            candidates: HashMap::new(),
            future_proposals: VecDeque::new(),
            awaiting: Vec::new(),
            retry: Vec::new(),
            retry_at: None,
            fetched: HashMap::new(),
            tx_fetches: fetch::TxFetches::default(),
            evidence,
            round_proposals: HashMap::new(),
            last_hash,
            last_time_ms,
            history,
            prev_set,
            next_height_at: None,
            last_commit_at: None,
            drain: crate::backlog::DrainRate::default(),
            sync: sync::SyncState::default(),
            connected: HashSet::new(),
            allowed: BTreeSet::new(),
            dial: parts.dial,
            unsent_txs: VecDeque::new(),
            gossiped: gossip::Gathered::default(),
            admitting: false,
            store_fault: None,
            store_resumed: None,
            bans: gossip::Bans::default(),
            synced: 0,
            protocol_version: parts.protocol_version,
            halted: None,
            guard: None,
            guard_ticks: 0,
            valid_block_saved: None,
            clocks: crate::monitor::ClockOffsets::default(),
            precommits: crate::monitor::PrecommitsSeen::default(),
            #[cfg(feature = "byzantine")]
            twins: HashMap::new(),
            #[cfg(feature = "byzantine")]
            byzantine: byzantine::enabled(),
            #[cfg(feature = "faults")]
            faults: Faults::default(),
        };
        core.apply_sign_guard(guard);
        core.runs_version_of(height.0);
        core.bound_clients();
        Ok((core, fx))
    }

    /// Carries out the effects of starting, and reports a store that opened
    /// read-only.
    pub fn start(&mut self, fx: Fx) {
        metrics::gauge!("minhbach_halted").set(0.0);
        if self.halted.is_some() {
            metrics::gauge!("minhbach_halted").set(1.0);
            return; // Nothing is signed or sent at a height it cannot run.
        }
        self.restore_valid_block();
        self.update_allowed();
        metrics::gauge!("minhbach_height").set(self.committed_height() as f64);
        metrics::gauge!("minhbach_store_writable").set(1.0);
        metrics::counter!("minhbach_store_write_failures_total").increment(0);
        metrics::gauge!("minhbach_sync_lag_blocks").set(0.0);
        // Counters show from the start, at 0, so that a rate over them
        // exists before their first event.
        for counter in [
            "minhbach_evidence_committed_total",
            "minhbach_conflicting_proposals_total",
            "minhbach_proposal_txs_fetched_total",
            "minhbach_gossip_invalid_total",
            "minhbach_peers_banned_total",
            "minhbach_sync_peer_penalties_total",
        ] {
            metrics::counter!(counter).increment(0);
        }
        self.register_validators();
        self.update_power_share();
        self.publish_ready();
        if !self.store.is_writable() {
            // Opened read-only: the disk refused the writes of the open.
            let why = self
                .shared
                .live
                .read()
                .expect("live lock")
                .store_error
                .clone()
                .unwrap_or_else(|| "it was opened read-only".into());
            self.store_failed("open the store for writing", &why);
        }
        self.effects(fx);
        self.dial_peers();
    }

    /// Reacts to one event.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Gossip {
                id,
                from,
                topic,
                data,
            } => self.on_gossip(id, from, topic, data),
            Event::SyncRequest {
                peer,
                request,
                reply,
            } => {
                let response = self.answer_sync(&peer, request);
                self.io.respond(reply, response);
            }
            Event::SyncResponse {
                peer,
                request,
                response,
            } => self.on_sync_response(peer, request, response),
            Event::SyncFailed { peer, request } => self.on_sync_failed(peer, request),
            Event::Connected(peer) => self.on_connected(peer),
            Event::Disconnected(peer) => self.on_disconnected(peer),
            Event::Timeout(t) => {
                #[cfg(feature = "faults")]
                if self.faults.ignore_timeouts {
                    return;
                }
                self.input(Input::Timeout(t));
            }
            Event::Submitted(txs) => self.publish_in_batches(txs),
            Event::Admitted(verdicts) => self.on_admitted(verdicts),
            Event::Tick => self.on_tick(),
            Event::Wake => self.on_wake(),
        }
    }

    /// When the core next wants an [`Event::Wake`]: the next height's start,
    /// gathered transactions due for admission, or the store's next retry.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [
            self.next_height_at,
            self.admit_due(),
            self.store_fault.as_ref().map(|f| f.retry_at),
            self.retry_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_wake(&mut self) {
        let now = self.io.now();
        if self.next_height_at.is_some_and(|t| t <= now) {
            self.start_next_height();
        }
        if self.admit_due().is_some_and(|t| t <= now) {
            self.admit_gossiped_txs(true);
        }
        if self.store_fault.as_ref().is_some_and(|f| f.retry_at <= now) {
            self.retry_store();
        }
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_unavailable();
        }
    }

    /// The height consensus is at.
    pub fn height(&self) -> u64 {
        self.machine.height().0
    }

    /// The round consensus is at.
    pub fn round(&self) -> u32 {
        self.machine.round().0
    }

    /// The last committed height.
    pub fn committed_height(&self) -> u64 {
        self.shared.state.read().expect("state lock").height().0
    }

    /// How many blocks this node took by sync rather than deciding them.
    pub fn synced_blocks(&self) -> u64 {
        self.synced
    }

    /// The consensus machine, for inspection.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The edges, for the simulator.
    pub fn io(&self) -> &I {
        &self.io
    }

    /// The edges, for the simulator.
    pub fn io_mut(&mut self) -> &mut I {
        &mut self.io
    }

    /// The sizes of every bounded collection, with its limit, so that a
    /// simulation can check none is ever exceeded.
    pub fn bounds(&self) -> Vec<(&'static str, usize, usize)> {
        vec![
            ("candidates", self.candidates.len(), CANDIDATES_MAX),
            (
                "future_proposals",
                self.future_proposals.len(),
                FUTURE_PROPOSALS_MAX,
            ),
            ("awaiting", self.awaiting.len(), AWAITING_PROPOSALS_MAX),
            ("retry", self.retry.len(), RETRY_PROPOSALS_MAX),
            ("fetched", self.fetched.len(), FETCHED_TXS_MAX),
            ("tx_asks", self.tx_fetches.asked(), fetch::TX_ASKS_MAX),
            (
                "tx_requests",
                self.tx_fetches.open(),
                fetch::TX_REQUESTS_MAX,
            ),
            (
                "evidence_pool",
                self.evidence.pooled(),
                evidence::EVIDENCE_POOL_MAX,
            ),
            ("peer_heights", self.sync.peers(), sync::SYNC_PEERS_MAX),
            ("gossiped_txs", self.gossiped.count, GOSSIPED_TXS_MAX),
            ("unsent_txs", self.unsent_txs.len(), UNSENT_TXS_MAX),
            (
                "clock_offsets",
                self.clocks.len(),
                3 * ledger::validators::VALIDATORS_MAX,
            ),
            (
                "precommits_seen",
                self.precommits.len(),
                3 * crate::monitor::PRECOMMITS_SEEN_PER_HEIGHT_MAX,
            ),
        ]
    }
}

fn ledger_vote_type(t: consensus::VoteType) -> ledger::VoteType {
    match t {
        consensus::VoteType::Prevote => ledger::VoteType::Prevote,
        consensus::VoteType::Precommit => ledger::VoteType::Precommit,
    }
}

fn consensus_vote_type(t: ledger::VoteType) -> consensus::VoteType {
    match t {
        ledger::VoteType::Prevote => consensus::VoteType::Prevote,
        ledger::VoteType::Precommit => consensus::VoteType::Precommit,
    }
}

fn ledger_vote(v: &consensus::SignedVote<Hash, PublicKey, Signature>) -> ledger::Vote {
    ledger::Vote {
        vote_type: ledger_vote_type(v.message.vote_type),
        height: ledger::Height(v.message.height.0),
        round: v.message.round.0,
        block_hash: v.message.value,
        validator: v.message.validator,
        signature: v.signature,
    }
}
