//! The event loop: one task that owns the swarm and the consensus state
//! machine, and is the only writer of the store and the shared state.
//!
//! It reacts to gossip, sync responses, timers, admitted transactions and
//! shutdown signals, and carries out the effects of `consensus` in order:
//! a safety record is written and synced before any signature leaves; a
//! proposal is judged by re-executing its block on the committed state; a
//! decided block is committed to the store before the next height starts.
//! A node that falls behind asks peers for blocks and certificates and
//! verifies each before applying it.
//!
//! A store that cannot be written (a full disk, a read-only folder) stops
//! the node from signing and committing, never from serving reads: nothing
//! is signed without a durable safety record, and the committed state only
//! advances once its block is written. The loop opens the store again with
//! growing waits, and once it can write, catches up by sync.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use consensus::{Consensus, Effect, Input, Message, Signed, Validity};
use futures::StreamExt;
use ledger::builder::{build_block_with, check_block_with, BlockTemplate};
use ledger::crypto::SigningKey;
use ledger::{
    Block, BlockOutcome, CommitCertificate, Evidence, Hash, Height, PublicKey, Signature, SignedTx,
    ValidatorSet, Vote, VoteType,
};
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::net::{Behaviour, BehaviourEvent, Topics};
use crate::shared::Shared;
#[cfg(feature = "byzantine")]
pub mod byzantine;

use crate::wire::{
    self, CompactBlock, ProposalMsg, SignedProposal, SyncRequest, SyncResponse, VoteMsg,
};

/// The consensus instance of a node.
pub type Machine = Consensus<Hash, PublicKey, Signature>;
type Fx = Vec<Effect<Hash, PublicKey, Signature>>;
type In = Input<Hash, PublicKey, Signature>;

/// How far a fresh proposal's time may be from the validator's clock.
pub const PROPOSAL_CLOCK_SKEW_MS: u64 = 2_000;
/// Evidence older than this many blocks is expired and not included.
pub const EVIDENCE_MAX_AGE_BLOCKS: u64 = 100_000;
/// Most pieces of pending evidence kept.
pub const EVIDENCE_POOL_MAX: usize = 256;
/// Most proposals kept for the next heights.
pub const FUTURE_PROPOSALS_MAX: usize = 32;
/// Key of the safety record in the store's safety column.
pub const SAFETY_RECORD_KEY: &[u8] = b"record";
/// Swarm events handled in one loop turn.
const EVENTS_PER_TURN: usize = 512;
/// Most transactions kept for another gossip attempt.
const UNSENT_TXS_MAX: usize = 10_000;
/// Batches of transactions gossiped per loop turn before other events get a
/// look in.
const GOSSIP_BATCHES_PER_TURN: usize = 4;
/// Most transactions fetched for proposals and kept until the next commit.
const FETCHED_TXS_MAX: usize = 100_000;
/// Most gossiped transactions waiting for admission; further batches are
/// ignored until the waiting ones are admitted.
const GOSSIPED_TXS_MAX: usize = 50_000;
/// Gossiped transactions gathered before they are admitted as one batch.
const ADMIT_BATCH_TXS: usize = 512;
/// The longest a gossiped transaction waits to be gathered into a batch.
const ADMIT_WAIT_MS: u64 = 20;
/// A gossip message's verdict, for gossipsub.
type GossipVerdict = (gossipsub::MessageId, PeerId, MessageAcceptance);
/// Expired timeouts queued for the loop; a timer whose queue is full waits.
const TIMERS_QUEUE: usize = 64;
/// Most votes kept for catching equivocation after a commit (about 40
/// rounds of a 100-validator set).
const RECENT_VOTES_MAX: usize = 8_192;
/// Most proposals kept while their missing transactions are fetched.
const AWAITING_PROPOSALS_MAX: usize = 16;
/// The first wait before a store that failed a write is opened again; each
/// failed attempt doubles it, up to [`STORE_RETRY_MAX`].
const STORE_RETRY_FIRST: Duration = Duration::from_millis(250);
/// The longest wait between two attempts to open the store again.
const STORE_RETRY_MAX: Duration = Duration::from_secs(2);
/// How often a store that still cannot be written is reported again.
const STORE_FAULT_REPORT_EVERY: Duration = Duration::from_secs(60);

/// A store that cannot be written, and when to try it again.
struct StoreFault {
    since: Instant,
    retry_at: Instant,
    backoff: Duration,
    attempts: u32,
    reported_at: Instant,
}

/// Invalid gossip messages (refused: undecodable, or a signature that does
/// not verify) a peer may forward within [`INVALID_GOSSIP_WINDOW`]. Honest
/// nodes check every message before they forward it, so they send none.
pub const INVALID_GOSSIP_MAX: u32 = 32;
/// The window over which invalid gossip is counted.
pub const INVALID_GOSSIP_WINDOW: Duration = Duration::from_secs(10);
/// How long a peer that sent more invalid gossip than allowed is
/// disconnected and refused.
pub const INVALID_GOSSIP_BAN: Duration = Duration::from_secs(60);

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
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

/// A block proposed at the current height, with the verdict on it.
struct Candidate {
    block: Block,
    /// The execution outcome when valid.
    outcome: Option<BlockOutcome>,
    /// When it first arrived (or was built here), ms since the epoch: a
    /// fresh proposal's time is held against this clock reading.
    arrived_ms: u64,
}

/// A proposal message, the peer it came from and when it arrived.
type Arrived = (ProposalMsg, PeerId, u64);

/// The event loop's state.
pub struct Driver {
    shared: Arc<Shared>,
    config: Config,
    swarm: Swarm<Behaviour>,
    topics: Topics,
    key: Option<SigningKey>,
    machine: Machine,
    /// Blocks proposed at the current height, by hash.
    candidates: HashMap<Hash, Candidate>,
    /// Proposals for later heights, fed in when their height starts, with
    /// the peer each came from.
    future_proposals: VecDeque<Arrived>,
    /// Proposals at the current height waiting for transactions this node
    /// lacks, with the peer each came from.
    awaiting: Vec<Arrived>,
    /// Transactions fetched for those proposals, by hash, until the next
    /// commit.
    fetched: HashMap<Hash, SignedTx>,
    /// Verified evidence not yet committed.
    evidence_pool: Vec<Evidence>,
    /// The first vote of each validator for each step of the current and
    /// the last committed height, so that a conflicting vote arriving just
    /// after the commit is still caught as equivocation.
    recent_votes: HashMap<(u64, u32, VoteType, PublicKey), Vote>,
    /// The first block each validator proposed for a round of the current
    /// height, to notice one that proposes two.
    first_proposals: HashMap<(u32, PublicKey), Hash>,
    /// The last committed block's hash and time.
    last_hash: Hash,
    last_time_ms: u64,
    /// set(L), the set that signed the last committed block (None at genesis).
    prev_set: Option<ValidatorSet>,
    /// When the next height starts, after the pause that follows a commit.
    next_height_at: Option<Instant>,
    last_commit_at: Option<Instant>,
    timers: mpsc::Sender<consensus::Timeout>,
    timer_rx: mpsc::Receiver<consensus::Timeout>,
    gossip_rx: mpsc::Receiver<SignedTx>,
    peer_heights: HashMap<PeerId, u64>,
    connected: HashSet<PeerId>,
    allowed: BTreeSet<PeerId>,
    dial: Vec<(PeerId, Multiaddr)>,
    sync_in_flight: Option<(OutboundRequestId, Instant)>,
    /// Transactions no peer could take yet.
    unsent_txs: VecDeque<SignedTx>,
    /// Batches of gossiped transactions waiting to be admitted together.
    gossiped_txs: Vec<(gossipsub::MessageId, PeerId, Vec<SignedTx>)>,
    /// How many transactions those batches hold.
    gossiped_count: usize,
    /// When the oldest of them arrived.
    gossiped_since: Option<Instant>,
    /// True while a batch is being admitted on a blocking thread.
    admitting: bool,
    /// The verdicts on each admitted batch's gossip messages.
    admitted_tx: mpsc::Sender<Vec<GossipVerdict>>,
    admitted_rx: mpsc::Receiver<Vec<GossipVerdict>>,
    /// A Byzantine validator's two blocks of each round it leads.
    #[cfg(feature = "byzantine")]
    twins: HashMap<(u64, u32), (Hash, Hash)>,
    /// Set while the store cannot be written: nothing is signed or
    /// committed until it can.
    store_fault: Option<StoreFault>,
    /// When the store last became writable again, and the wait before the
    /// attempt that succeeded: a store that fails again soon after goes on
    /// from that wait rather than the first.
    store_resumed: Option<(Instant, Duration)>,

    /// Invalid gossip per peer: since when it is counted, and how much.
    invalid_gossip: HashMap<PeerId, (Instant, u32)>,
    /// Peers refused for invalid gossip, until when.
    banned: HashMap<PeerId, Instant>,
}

/// Everything [`Driver::new`] needs.
pub struct DriverParts {
    /// Shared with the API.
    pub shared: Arc<Shared>,
    /// The node's config.
    pub config: Config,
    /// The swarm, listening.
    pub swarm: Swarm<Behaviour>,
    /// Its topics.
    pub topics: Topics,
    /// The consensus key, for a validator.
    pub key: Option<SigningKey>,
    /// Admitted transactions to gossip.
    pub gossip_rx: mpsc::Receiver<SignedTx>,
    /// Peers to dial.
    pub dial: Vec<(PeerId, Multiaddr)>,
}

impl Driver {
    /// Prepares the loop: resumes consensus from the stored safety record at
    /// the height after the last committed block.
    pub fn new(parts: DriverParts) -> anyhow::Result<(Driver, Fx)> {
        let shared = parts.shared;
        let (height, set, last_hash, last_time_ms, prev_set) = {
            let state = shared.state.read().expect("state lock");
            let meta = shared
                .store
                .meta()?
                .ok_or_else(|| anyhow::anyhow!("the store is not initialised"))?;
            let (last_time, prev_set) = if meta.height.0 == 0 {
                (shared.genesis.genesis_time_ms, None)
            } else {
                let block = shared
                    .store
                    .block(meta.height)?
                    .ok_or_else(|| anyhow::anyhow!("the last block is missing"))?;
                let set = shared
                    .store
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
            )
        };
        let record = match shared.store.safety_get(SAFETY_RECORD_KEY)? {
            Some(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| anyhow::anyhow!("the stored safety record cannot be read: {e}"))?,
            ),
            None => None,
        };
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
        let (timers, timer_rx) = mpsc::channel(TIMERS_QUEUE);
        let (admitted_tx, admitted_rx) = mpsc::channel(1);
        let mut driver = Driver {
            shared,
            config: parts.config,
            swarm: parts.swarm,
            topics: parts.topics,
            key: parts.key,
            machine,
            candidates: HashMap::new(),
            future_proposals: VecDeque::new(),
            awaiting: Vec::new(),
            fetched: HashMap::new(),
            evidence_pool: Vec::new(),
            recent_votes: HashMap::new(),
            first_proposals: HashMap::new(),
            last_hash,
            last_time_ms,
            prev_set,
            next_height_at: None,
            last_commit_at: None,
            timers,
            timer_rx,
            gossip_rx: parts.gossip_rx,
            peer_heights: HashMap::new(),
            connected: HashSet::new(),
            allowed: BTreeSet::new(),
            dial: parts.dial,
            sync_in_flight: None,
            unsent_txs: VecDeque::new(),
            gossiped_txs: Vec::new(),
            gossiped_count: 0,
            gossiped_since: None,
            admitting: false,
            admitted_tx,
            admitted_rx,
            #[cfg(feature = "byzantine")]
            twins: HashMap::new(),
            store_fault: None,
            store_resumed: None,

            invalid_gossip: HashMap::new(),
            banned: HashMap::new(),
        };
        #[cfg(feature = "byzantine")]
        if byzantine::enabled() {
            driver.byzantine_start();
        }
        driver.update_allowed();
        metrics::gauge!("minhbach_height").set(height.0.saturating_sub(1) as f64);
        metrics::gauge!("minhbach_store_writable").set(1.0);
        metrics::counter!("minhbach_store_write_failures_total").increment(0);
        if !driver.shared.store.is_writable() {
            // Opened read-only: the disk refused the writes of the open.
            let why = driver
                .shared
                .live
                .read()
                .expect("live lock")
                .store_error
                .clone()
                .unwrap_or_else(|| "it was opened read-only".into());
            driver.store_failed("open the store for writing", &why);
        }
        Ok((driver, fx))
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(mut self, start: Fx, shutdown: impl std::future::Future<Output = ()>) {
        self.effects(start);
        self.dial_peers();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tokio::pin!(shutdown);
        loop {
            let pause = self.next_height_at;
            let admit_at = self.admit_due();
            let store_retry_at = self.store_fault.as_ref().map(|f| f.retry_at);
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    self.on_swarm(event);
                    // Take what else is ready, so gossiped transactions are
                    // admitted (and their signatures checked) as a batch.
                    for _ in 1..EVENTS_PER_TURN {
                        match futures::FutureExt::now_or_never(self.swarm.next()) {
                            Some(Some(event)) => self.on_swarm(event),
                            _ => break,
                        }
                    }
                    self.admit_gossiped_txs(false);
                }
                Some(t) = self.timer_rx.recv() => self.input(Input::Timeout(t)),
                Some(verdicts) = self.admitted_rx.recv() => {
                    self.admitting = false;
                    for (id, from, verdict) in verdicts {
                        self.report(&id, &from, verdict);
                    }
                    if !self.awaiting.is_empty() {
                        self.retry_awaiting();
                    }
                    self.admit_gossiped_txs(false);
                }
                Some(tx) = self.gossip_rx.recv() => {
                    // Whatever else is queued goes in the same batches.
                    let mut txs = vec![tx];
                    while txs.len() < GOSSIP_BATCHES_PER_TURN * wire::TX_BATCH_TXS_MAX {
                        match self.gossip_rx.try_recv() {
                            Ok(tx) => txs.push(tx),
                            Err(_) => break,
                        }
                    }
                    self.publish_in_batches(txs);
                }
                _ = tick.tick() => self.on_tick(),
                _ = sleep_until(pause), if pause.is_some() => self.start_next_height(),
                _ = sleep_until(admit_at), if admit_at.is_some() => self.admit_gossiped_txs(true),
                _ = sleep_until(store_retry_at), if store_retry_at.is_some() => self.retry_store(),
                _ = &mut shutdown => {
                    info!("shutting down");
                    break;
                }
            }
        }
    }

    fn height(&self) -> u64 {
        self.machine.height().0
    }

    // ---- consensus effects ----

    fn input(&mut self, input: In) {
        let fx = self.machine.handle(input);
        self.effects(fx);
    }

    fn effects(&mut self, fx: Fx) {
        let mut queue: VecDeque<In> = VecDeque::new();
        let mut fx: VecDeque<_> = fx.into();
        loop {
            while let Some(effect) = fx.pop_front() {
                self.effect(effect, &mut queue);
            }
            match queue.pop_front() {
                Some(input) => fx.extend(self.machine.handle(input)),
                None => break,
            }
        }
        self.shared.live.write().expect("live lock").round = self.machine.round().0;
        metrics::gauge!("minhbach_round").set(self.machine.round().0 as f64);
    }

    fn effect(&mut self, effect: Effect<Hash, PublicKey, Signature>, queue: &mut VecDeque<In>) {
        match effect {
            Effect::PersistSafetyRecord(record) => {
                // Signing without a durable record could equivocate after a
                // restart: a record that is not written stops the signature
                // that follows it (below), and every later one until the
                // store can be written again.
                if self.store_fault.is_some() {
                    return;
                }
                let bytes = serde_json::to_vec(&record).expect("a safety record serializes");
                if let Err(e) = self.shared.store.safety_put(SAFETY_RECORD_KEY, &bytes) {
                    self.store_failed("persist the safety record", &e.to_string());
                }
            }
            Effect::SignProposal(p) => {
                let Some(key) = &self.key else { return };
                if self.store_fault.is_some() {
                    debug!(
                        height = p.height.0,
                        "not proposing: the store cannot be written"
                    );
                    return;
                }
                let Some(candidate) = self.candidates.get(&p.value) else {
                    error!(
                        height = p.height.0,
                        "asked to propose a block this node does not have"
                    );
                    return;
                };
                let signed = SignedProposal::sign(
                    key,
                    self.shared.chain_id(),
                    Height(p.height.0),
                    p.round.0,
                    p.value,
                    p.pol_round.map(|r| r.0),
                );
                let msg = ProposalMsg {
                    proposal: signed.clone(),
                    block: CompactBlock::of(&candidate.block),
                    sent_ms: now_ms(),
                };
                info!(
                    height = p.height.0,
                    round = p.round.0,
                    txs = candidate.block.txs.len(),
                    "proposing block {}",
                    p.value
                );
                #[cfg(feature = "byzantine")]
                if byzantine::enabled() {
                    self.byzantine_propose(msg);
                    queue.push_back(Input::Proposal {
                        proposal: Signed {
                            message: p,
                            signature: signed.signature,
                        },
                        validity: Validity::Valid,
                    });
                    return;
                }
                self.publish(Topic::Proposals, wire::encode(&msg));
                queue.push_back(Input::Proposal {
                    proposal: Signed {
                        message: p,
                        signature: signed.signature,
                    },
                    validity: Validity::Valid,
                });
            }
            Effect::SignVote(v) => {
                let Some(key) = &self.key else { return };
                if self.store_fault.is_some() {
                    debug!(
                        height = v.height.0,
                        "not voting: the store cannot be written"
                    );
                    return;
                }
                let vote = Vote::sign(
                    key,
                    self.shared.chain_id(),
                    ledger_vote_type(v.vote_type),
                    Height(v.height.0),
                    v.round.0,
                    v.value,
                );
                let signature = vote.signature;
                #[cfg(feature = "byzantine")]
                if byzantine::enabled() {
                    self.byzantine_vote(vote);
                    queue.push_back(Input::Vote(Signed {
                        message: v,
                        signature,
                    }));
                    return;
                }
                self.publish_vote(vote);
                queue.push_back(Input::Vote(Signed {
                    message: v,
                    signature,
                }));
            }
            Effect::Broadcast(Message::Vote(v)) => {
                self.publish_vote(ledger_vote(&v));
            }
            Effect::Broadcast(Message::Proposal(p)) => {
                if let Some(candidate) = self.candidates.get(&p.message.value) {
                    let msg = ProposalMsg {
                        proposal: SignedProposal {
                            height: Height(p.message.height.0),
                            round: p.message.round.0,
                            block_hash: p.message.value,
                            pol_round: p.message.pol_round.map(|r| r.0),
                            proposer: p.message.proposer,
                            signature: p.signature,
                        },
                        block: CompactBlock::of(&candidate.block),
                        sent_ms: now_ms(),
                    };
                    self.publish(Topic::Proposals, wire::encode(&msg));
                }
            }
            Effect::ScheduleTimeout {
                timeout,
                duration_ms,
            } => {
                let timers = self.timers.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(duration_ms)).await;
                    let _ = timers.send(timeout).await;
                });
            }
            Effect::GetValue { height, round } => {
                if let Some(value) = self.build_proposal() {
                    queue.push_back(Input::ProposeValue {
                        height,
                        round,
                        value,
                    });
                }
            }
            Effect::Decide(decision) => {
                let Some(candidate) = self.candidates.remove(&decision.value) else {
                    warn!(
                        height = decision.height.0,
                        "decided block {} is not here; it will come by sync", decision.value
                    );
                    return;
                };
                let Some(outcome) = candidate.outcome else {
                    error!(
                        height = decision.height.0,
                        "decided a block this node judged invalid"
                    );
                    return;
                };
                let cert = CommitCertificate {
                    height: Height(decision.height.0),
                    round: decision.round.0,
                    block_hash: decision.value,
                    precommits: decision.precommits.iter().map(ledger_vote).collect(),
                };
                if self.commit(candidate.block, cert, outcome) {
                    let pause = Duration::from_millis(self.config.consensus.block_interval_ms);
                    self.next_height_at = Some(Instant::now() + pause);
                }
            }
            Effect::Evidence(ev) => {
                let [a, b] = ev.votes().clone();
                let evidence = Evidence {
                    a: ledger_vote(&a),
                    b: ledger_vote(&b),
                };
                warn!(
                    validator = %evidence.a.validator,
                    height = evidence.height().0,
                    "equivocation seen"
                );
                self.publish(Topic::Evidence, wire::encode(&evidence));
                self.add_evidence(evidence);
            }
            Effect::SigningRefused(e) => {
                error!("the safety record refused a signature: {e}");
            }
        }
    }

    // ---- proposals ----

    /// Builds a block from the mempool and remembers it; returns its hash.
    fn build_proposal(&mut self) -> Option<Hash> {
        let key = self.key.as_ref()?.public_key();
        let started = Instant::now();
        let last_commit = if self.height() > 1 {
            self.shared
                .store
                .cert(Height(self.height() - 1))
                .ok()
                .flatten()
        } else {
            None
        };
        let evidence = self.pick_evidence();
        let state = self.shared.state.read().expect("state lock");
        let mut mempool = self.shared.mempool.lock().expect("mempool lock");
        for _ in 0..8 {
            let reap = mempool.reap(
                &state,
                self.config.limits.block_txs,
                self.config.limits.block_bytes,
            );
            if !reap.rejected.is_empty() {
                let mut rejections = self.shared.rejected.lock().expect("rejections lock");
                for (hash, why) in reap.rejected {
                    for (h, e) in mempool.drop_tx(&hash, why) {
                        rejections.insert(h, e);
                    }
                }
            }
            let verdicts = mempool.verdicts_for(&reap.txs, &state);
            // The time is read once the transactions are chosen, so that
            // reaping a full mempool does not age the proposal.
            let time_ms = now_ms().max(self.last_time_ms + 1);
            let template = BlockTemplate {
                prev_hash: self.last_hash,
                time_ms,
                proposer: key,
                last_commit: last_commit.clone(),
                evidence: evidence.clone(),
            };
            match build_block_with(&state, reap.txs, verdicts, template) {
                Ok((block, outcome)) => {
                    let hash = block.hash();
                    debug!(
                        height = block.header.height.0,
                        txs = block.txs.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "built block {hash}"
                    );
                    self.candidates.insert(
                        hash,
                        Candidate {
                            block,
                            outcome: Some(outcome),
                            arrived_ms: now_ms(),
                        },
                    );
                    return Some(hash);
                }
                Err((i, e)) => {
                    let hash = reap.hashes[i];
                    let mut rejections = self.shared.rejected.lock().expect("rejections lock");
                    for (h, e) in mempool.drop_tx(&hash, e) {
                        rejections.insert(h, e);
                    }
                }
            }
        }
        error!("could not build a block from the mempool");
        None
    }

    fn on_proposal_msg(&mut self, msg: ProposalMsg, from: PeerId) -> MessageAcceptance {
        let p = &msg.proposal;
        if !p.verify(self.shared.chain_id()) || msg.block.hash() != p.block_hash {
            return MessageAcceptance::Reject;
        }
        let height = self.height();
        if p.height.0 < height {
            return MessageAcceptance::Ignore;
        }
        if p.height.0 > height {
            if p.height.0 <= height + 2 {
                if self.future_proposals.len() >= FUTURE_PROPOSALS_MAX {
                    self.future_proposals.pop_front();
                }
                self.future_proposals.push_back((msg, from, now_ms()));
            }
            return MessageAcceptance::Accept;
        }
        self.feed_proposal(msg, from, now_ms());
        MessageAcceptance::Accept
    }

    /// Judges a proposal at the current height and hands it to consensus,
    /// once its block's transactions are all here; until then it waits and
    /// the missing ones are fetched from the proposer (or the peer it came
    /// from).
    fn feed_proposal(&mut self, msg: ProposalMsg, from: PeerId, arrived_ms: u64) {
        let p = &msg.proposal;
        match self.first_proposals.get(&(p.round, p.proposer)) {
            None => {
                self.first_proposals
                    .insert((p.round, p.proposer), p.block_hash);
            }
            Some(first) if *first != p.block_hash => {
                // Consensus keeps the first; a signer of two is misbehaving.
                warn!(
                    height = p.height.0,
                    round = p.round,
                    proposer = %p.proposer.to_hex(),
                    "two different proposals for one round: {first} and {}",
                    p.block_hash
                );
                metrics::counter!("minhbach_conflicting_proposals_total").increment(1);
            }
            Some(_) => {}
        }
        let block = if self.candidates.contains_key(&msg.proposal.block_hash) {
            None
        } else {
            match self.fill(&msg.block) {
                Ok(block) => Some(block),
                Err(missing) => {
                    let peer = self.proposer_peer(&msg.proposal.proposer).unwrap_or(from);
                    debug!(
                        height = msg.proposal.height.0,
                        missing = missing.len(),
                        %peer,
                        "fetching the transactions of proposal {}",
                        msg.proposal.block_hash
                    );
                    self.fetch_txs(peer, missing);
                    if self.awaiting.len() >= AWAITING_PROPOSALS_MAX {
                        self.awaiting.remove(0);
                    }
                    self.awaiting.push((msg, from, arrived_ms));
                    return;
                }
            }
        };
        let p = msg.proposal;
        let validity = self.judge(block, &p, arrived_ms);
        let proposal = consensus::Proposal {
            height: consensus::Height(p.height.0),
            round: consensus::Round(p.round),
            value: p.block_hash,
            pol_round: p.pol_round.map(consensus::Round),
            proposer: p.proposer,
        };
        self.input(Input::Proposal {
            proposal: Signed {
                message: proposal,
                signature: p.signature,
            },
            validity,
        });
    }

    /// The whole block of a compact one, from the mempool and the fetched
    /// transactions; or the hashes of those this node lacks.
    fn fill(&self, compact: &CompactBlock) -> Result<Block, Vec<Hash>> {
        let mempool = self.shared.mempool.lock().expect("mempool lock");
        compact.fill(|h| mempool.get(h).or_else(|| self.fetched.get(h)).cloned())
    }

    /// The libp2p peer of the validator with this consensus key, if connected.
    fn proposer_peer(&self, proposer: &PublicKey) -> Option<PeerId> {
        let state = self.shared.state.read().expect("state lock");
        let v = state.validators().get(proposer)?;
        let peer = PeerId::from_bytes(v.peer_id.as_bytes()).ok()?;
        self.connected.contains(&peer).then_some(peer)
    }

    fn fetch_txs(&mut self, peer: PeerId, missing: Vec<Hash>) {
        for chunk in missing.chunks(wire::TXS_FETCH_MAX) {
            self.swarm
                .behaviour_mut()
                .sync
                .send_request(&peer, SyncRequest::Txs(chunk.to_vec()));
        }
    }

    /// Keeps fetched transactions that a waiting proposal names, then feeds
    /// every waiting proposal that is now complete.
    fn on_fetched(&mut self, peer: PeerId, txs: Vec<SignedTx>) {
        let wanted: HashSet<Hash> = self
            .awaiting
            .iter()
            .flat_map(|(m, ..)| m.block.tx_hashes.iter().copied())
            .collect();
        let mut kept = 0;
        for tx in txs {
            let h = tx.hash();
            if wanted.contains(&h) && self.fetched.len() < FETCHED_TXS_MAX {
                self.fetched.insert(h, tx);
                kept += 1;
            }
        }
        metrics::counter!("minhbach_proposal_txs_fetched_total").increment(kept);
        let still_missing = self.retry_awaiting();
        // What the first peer did not have is asked of the peer each
        // proposal came from.
        for (from, missing) in still_missing {
            if from != peer {
                self.fetch_txs(from, missing);
            }
        }
    }

    /// Feeds the waiting proposals whose transactions are all here now;
    /// returns, for the others, the peer each came from and what it lacks.
    fn retry_awaiting(&mut self) -> Vec<(PeerId, Vec<Hash>)> {
        let height = self.height();
        let mut still = Vec::new();
        let mut missing_out = Vec::new();
        for (msg, from, arrived_ms) in std::mem::take(&mut self.awaiting) {
            if msg.proposal.height.0 != height {
                continue;
            }
            match self.fill(&msg.block) {
                Ok(_) => {
                    self.feed_proposal(msg, from, arrived_ms);
                }
                Err(missing) => {
                    missing_out.push((from, missing));
                    still.push((msg, from, arrived_ms));
                }
            }
        }
        self.awaiting.extend(still);
        missing_out
    }

    /// Whether `block` may be decided at the current height: it links to the
    /// last block, its contents and header are what re-execution gives, its
    /// last commit and evidence verify, and a fresh proposal's time is within
    /// [`PROPOSAL_CLOCK_SKEW_MS`] of this validator's clock.
    fn judge(&mut self, block: Option<Block>, p: &SignedProposal, arrived_ms: u64) -> Validity {
        let hash = p.block_hash;
        let fresh = p.pol_round.is_none();
        if let (false, Some(block)) = (self.candidates.contains_key(&hash), block) {
            let outcome = if block.header.proposer != p.proposer {
                warn!(
                    height = p.height.0,
                    "proposal {hash} names another proposer in its block"
                );
                None
            } else {
                let started = Instant::now();
                match self.check_block(&block) {
                    Ok(outcome) => {
                        debug!(
                            height = p.height.0,
                            txs = block.txs.len(),
                            ms = started.elapsed().as_millis() as u64,
                            waited_ms = now_ms().saturating_sub(arrived_ms),
                            "checked proposal {hash}"
                        );
                        Some(outcome)
                    }
                    Err(why) => {
                        warn!(height = p.height.0, "invalid proposal {hash}: {why}");
                        None
                    }
                }
            };
            self.candidates.insert(
                hash,
                Candidate {
                    block,
                    outcome,
                    arrived_ms,
                },
            );
        }
        let Some(c) = self.candidates.get(&hash) else {
            return Validity::Invalid;
        };
        if c.outcome.is_none() {
            return Validity::Invalid;
        }
        // The clock rule applies to fresh proposals only: a value re-proposed
        // with a proof of lock was judged in an earlier round. A block refused
        // for its time alone keeps its outcome, so that if the others decide
        // it anyway this node can still commit it.
        if let Err(why) = fresh_time_ok(fresh, c.block.header.time_ms, c.arrived_ms) {
            warn!(height = p.height.0, "proposal {hash}: {why}");
            return Validity::Invalid;
        }
        Validity::Valid
    }

    /// Checks a block for height L+1 against the committed state, and
    /// returns its execution outcome. Does not check the time against the
    /// clock, nor the certificate of the block itself.
    fn check_block(&mut self, block: &Block) -> Result<BlockOutcome, String> {
        let h = block.header.height;
        if h.0 != self.height() {
            return Err(format!("it is for height {h}, not {}", self.height()));
        }
        if block.header.time_ms <= self.last_time_ms {
            return Err(format!(
                "its time {} is not after the last block's {}",
                block.header.time_ms, self.last_time_ms
            ));
        }
        block.check_contents().map_err(|e| e.to_string())?;
        match (&block.last_commit, &self.prev_set) {
            (None, None) => {}
            (Some(c), Some(set)) => c
                .verify(
                    self.shared.chain_id(),
                    Height(h.0 - 1),
                    &self.last_hash,
                    set,
                )
                .map_err(|e| format!("last commit: {e}"))?,
            (None, Some(_)) => return Err("the last commit is missing".into()),
            (Some(_), None) => return Err("block 1 carries a last commit".into()),
        }
        let committed = self.shared.store.evidence().map_err(|e| e.to_string())?;
        let mut seen = HashSet::new();
        for (i, ev) in block.evidence.iter().enumerate() {
            self.check_evidence(ev)
                .map_err(|e| format!("evidence {i}: {e}"))?;
            if committed.iter().any(|(_, c)| offence(c) == offence(ev)) {
                return Err(format!("evidence {i} is already committed"));
            }
            if !seen.insert(offence(ev)) {
                return Err(format!("evidence {i} repeats an offence"));
            }
        }
        let state = self.shared.state.read().expect("state lock");
        let verdicts = self
            .shared
            .mempool
            .lock()
            .expect("mempool lock")
            .verdicts_for(&block.txs, &state);
        let outcome =
            check_block_with(&state, block, verdicts, self.last_hash).map_err(|e| e.to_string())?;
        if state.validators().get(&block.header.proposer).is_none() {
            return Err("its proposer is not a validator".into());
        }
        Ok(outcome)
    }

    // ---- commits ----

    /// Commits block L+1; false if it is not the next block, the store
    /// cannot be written or the write failed. The state, the mempool and
    /// the candidates change only once the block is written.
    fn commit(&mut self, block: Block, cert: CommitCertificate, outcome: BlockOutcome) -> bool {
        if self.store_fault.is_some() {
            debug!(
                height = block.header.height.0,
                "not committing: the store cannot be written"
            );
            return false;
        }
        let started = Instant::now();
        let h = block.header.height;
        let hash = block.hash();
        let (dropped, set_used, txs) = {
            let mut state = self.shared.state.write().expect("state lock");
            if h != state.height().next() {
                return false;
            }
            if let Err(e) = self
                .shared
                .store
                .commit_block(&block, &cert, &outcome, &state)
            {
                drop(state);
                self.store_failed(&format!("commit block {h}"), &e.to_string());
                return false;
            }
            let set_used = state.validators().clone();
            state.commit(outcome);
            let dropped = self
                .shared
                .mempool
                .lock()
                .expect("mempool lock")
                .on_commit(&block.txs, &state);
            (dropped, set_used, block.txs.len())
        };
        {
            let mut rejections = self.shared.rejected.lock().expect("rejections lock");
            for (hash, why) in dropped {
                rejections.insert(hash, why);
            }
        }
        self.evidence_pool.retain(|e| !block.evidence.contains(e));
        self.prev_set = Some(set_used);
        self.last_hash = hash;
        self.last_time_ms = block.header.time_ms;
        self.candidates.clear();
        self.update_allowed();
        let now = Instant::now();
        if let Some(prev) = self.last_commit_at.replace(now) {
            metrics::histogram!("minhbach_block_interval_seconds")
                .record(now.duration_since(prev).as_secs_f64());
        }
        metrics::gauge!("minhbach_height").set(h.0 as f64);
        metrics::counter!("minhbach_committed_txs_total").increment(txs as u64);
        metrics::counter!("minhbach_committed_blocks_total").increment(1);
        metrics::gauge!("minhbach_mempool_txs")
            .set(self.shared.mempool.lock().expect("mempool lock").len() as f64);
        info!(
            height = h.0,
            txs,
            ms = started.elapsed().as_millis() as u64,
            "committed block {hash}"
        );
        true
    }

    // ---- store faults ----

    /// A write failed (or the store was opened read-only): stop signing and
    /// committing, report it, and try the store again after a pause.
    fn store_failed(&mut self, what: &str, why: &str) {
        metrics::counter!("minhbach_store_write_failures_total").increment(1);
        metrics::gauge!("minhbach_store_writable").set(0.0);
        let path = self.shared.store.path().display().to_string();
        let height = self.committed_height();
        let relapse = self
            .store_resumed
            .filter(|(at, _)| at.elapsed() < STORE_FAULT_REPORT_EVERY);
        if relapse.is_some() {
            warn!(
                path = %path,
                height,
                "cannot {what}: the store at {path} cannot be written again: {why}"
            );
        } else {
            error!(
                path = %path,
                height,
                "cannot {what}: the store at {path} cannot be written: {why}; \
                 not signing or committing until it can, retrying"
            );
        }
        self.shared.live.write().expect("live lock").store_error =
            Some(format!("cannot {what}: {why}"));
        let backoff = relapse.map_or(STORE_RETRY_FIRST, |(_, b)| (b * 2).min(STORE_RETRY_MAX));
        let now = Instant::now();
        self.store_fault = Some(StoreFault {
            since: now,
            retry_at: now + backoff,
            backoff,
            attempts: 0,
            reported_at: now,
        });
    }

    /// Opens the store again for writing and writes the safety record; on
    /// success, signing and committing resume and the node catches up by
    /// sync; otherwise the next attempt waits twice as long.
    fn retry_store(&mut self) {
        let Some(fault) = self.store_fault.as_mut() else {
            return;
        };
        fault.attempts += 1;
        let store = &self.shared.store;
        let result = store.reopen().and_then(|()| {
            // The record in memory may be ahead of the stored one (records
            // not written while the store failed); it is written before any
            // signature, and proves the store takes a synced write.
            if self.key.is_none() {
                return Ok(());
            }
            let bytes =
                serde_json::to_vec(self.machine.record()).expect("a safety record serializes");
            store.safety_put(SAFETY_RECORD_KEY, &bytes)
        });
        let path = store.path().display().to_string();
        match result {
            Ok(()) => {
                let fault = self.store_fault.take().expect("checked above");
                self.store_resumed = Some((Instant::now(), fault.backoff));
                metrics::gauge!("minhbach_store_writable").set(1.0);
                self.shared.live.write().expect("live lock").store_error = None;
                let stored = store.meta().ok().flatten().map(|m| m.height.0);
                info!(
                    path = %path,
                    down_ms = fault.since.elapsed().as_millis() as u64,
                    attempts = fault.attempts,
                    height = self.committed_height(),
                    "the store at {path} can be written again; resuming"
                );
                if let Some(stored) = stored.filter(|s| *s > self.committed_height()) {
                    // The failed write reached the disk after all; the block
                    // comes again by sync and is written again, unchanged.
                    info!(
                        height = stored,
                        "the store holds a block its failed write reported lost"
                    );
                }
                self.maybe_sync();
            }
            Err(e) => {
                metrics::counter!("minhbach_store_write_failures_total").increment(1);
                fault.backoff = (fault.backoff * 2).min(STORE_RETRY_MAX);
                fault.retry_at = Instant::now() + fault.backoff;
                debug!(
                    attempts = fault.attempts,
                    "the store still cannot be written: {e}"
                );
                if fault.reported_at.elapsed() >= STORE_FAULT_REPORT_EVERY {
                    fault.reported_at = Instant::now();
                    warn!(
                        path = %path,
                        down_s = fault.since.elapsed().as_secs(),
                        "the store at {path} still cannot be written: {e}"
                    );
                }
                self.shared.live.write().expect("live lock").store_error =
                    Some(format!("cannot reopen the store for writing: {e}"));
            }
        }
    }

    fn start_next_height(&mut self) {
        self.next_height_at = None;
        let (height, set) = {
            let state = self.shared.state.read().expect("state lock");
            (state.height().next(), consensus_set(state.validators()))
        };
        if height.0 <= self.height() {
            return;
        }
        self.input(Input::NewHeight {
            height: consensus::Height(height.0),
            validators: set,
        });
        self.awaiting.clear();
        self.fetched.clear();
        self.first_proposals.clear();
        // Kept: the height just committed, and the new one.
        self.recent_votes.retain(|(vh, ..), _| vh + 1 >= height.0);
        let waiting: Vec<Arrived> = self.future_proposals.drain(..).collect();
        for (msg, from, arrived_ms) in waiting {
            match msg.proposal.height.0.cmp(&self.height()) {
                std::cmp::Ordering::Equal => self.feed_proposal(msg, from, arrived_ms),
                std::cmp::Ordering::Greater => {
                    self.future_proposals.push_back((msg, from, arrived_ms))
                }
                std::cmp::Ordering::Less => {}
            }
        }
    }

    // ---- evidence ----

    fn check_evidence(&self, ev: &Evidence) -> Result<(), String> {
        let eh = ev.height();
        // The height after the committed one, whose set is the state's. Not
        // the machine's height: in the pause after a commit that is still
        // the committed height, whose set is another.
        let h = self.committed_height() + 1;
        if eh.0 == 0 || eh.0 > h {
            return Err(format!("it is for height {eh}, not yet reached"));
        }
        if eh.0 + EVIDENCE_MAX_AGE_BLOCKS <= h {
            return Err(format!("it is for height {eh} and has expired"));
        }
        let set = if eh.0 == h {
            self.shared
                .state
                .read()
                .expect("state lock")
                .validators()
                .clone()
        } else {
            let block = self
                .shared
                .store
                .block(eh)
                .map_err(|e| e.to_string())?
                .ok_or("its height has no block here")?;
            self.shared
                .store
                .validator_set(&block.header.validators_hash)
                .map_err(|e| e.to_string())?
                .ok_or("the validator set of its height is missing")?
        };
        ev.verify(self.shared.chain_id(), &set)
            .map_err(|e| e.to_string())
    }

    fn add_evidence(&mut self, ev: Evidence) {
        if self
            .evidence_pool
            .iter()
            .any(|e| offence(e) == offence(&ev))
            || self.evidence_pool.len() >= EVIDENCE_POOL_MAX
        {
            return;
        }
        self.evidence_pool.push(ev);
    }

    fn pick_evidence(&mut self) -> Vec<Evidence> {
        let committed = self.shared.store.evidence().unwrap_or_default();
        let h = self.height();
        self.evidence_pool.retain(|e| {
            e.height().0 + EVIDENCE_MAX_AGE_BLOCKS > h
                && !committed.iter().any(|(_, c)| offence(c) == offence(e))
        });
        // Checked again before it is proposed: a piece the others would
        // refuse would make every one of this node's proposals invalid.
        let pool = std::mem::take(&mut self.evidence_pool);
        self.evidence_pool = pool
            .into_iter()
            .filter(|e| match self.check_evidence(e) {
                Ok(()) => true,
                Err(why) => {
                    warn!("dropping pooled evidence: {why}");
                    false
                }
            })
            .collect();
        self.evidence_pool
            .iter()
            .take(ledger::block::BLOCK_EVIDENCE_MAX)
            .cloned()
            .collect()
    }

    // ---- network ----

    /// Publishes; false if no peer could take the message now.
    fn publish(&mut self, topic: Topic, bytes: Vec<u8>) -> bool {
        let t = match topic {
            Topic::Txs => self.topics.txs.clone(),
            Topic::Proposals => self.topics.proposals.clone(),
            Topic::Votes => self.topics.votes.clone(),
            Topic::Evidence => self.topics.evidence.clone(),
        };
        match self.swarm.behaviour_mut().gossipsub.publish(t, bytes) {
            Ok(_) | Err(gossipsub::PublishError::Duplicate) => true,
            Err(
                gossipsub::PublishError::NoPeersSubscribedToTopic
                | gossipsub::PublishError::AllQueuesFull(_),
            ) => false,
            Err(e) => {
                warn!("gossip publish: {e}");
                true
            }
        }
    }

    fn publish_vote(&mut self, vote: Vote) {
        let msg = VoteMsg {
            vote,
            sent_ms: now_ms(),
        };
        self.publish(Topic::Votes, wire::encode(&msg));
    }

    /// Gossips a batch of transactions; those no peer could take yet (the
    /// node has just started, say) are tried again on later ticks while they
    /// are still pending.
    fn publish_txs(&mut self, txs: Vec<SignedTx>) {
        if !self.publish(Topic::Txs, wire::encode(&txs)) {
            let room = UNSENT_TXS_MAX.saturating_sub(self.unsent_txs.len());
            self.unsent_txs.extend(txs.into_iter().take(room));
        }
    }

    fn retry_unsent_txs(&mut self) {
        let waiting: Vec<SignedTx> = {
            let mempool = self.shared.mempool.lock().expect("mempool lock");
            self.unsent_txs
                .drain(..)
                .filter(|tx| mempool.contains(&tx.hash()))
                .collect()
        };
        self.publish_in_batches(waiting);
    }

    /// Gossips `txs` as batch messages, each closed at
    /// [`wire::TX_BATCH_TXS_MAX`] transactions or half of
    /// [`wire::TX_BATCH_BYTES_MAX`].
    fn publish_in_batches(&mut self, txs: Vec<SignedTx>) {
        let mut batch = Vec::new();
        let mut bytes = 0;
        for tx in txs {
            bytes += tx.encode().len();
            batch.push(tx);
            if batch.len() == wire::TX_BATCH_TXS_MAX || bytes >= wire::TX_BATCH_BYTES_MAX / 2 {
                self.publish_txs(std::mem::take(&mut batch));
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            self.publish_txs(batch);
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                if message.topic.as_str() == wire::TOPIC_TXS {
                    match wire::decode_tx_batch(&message.data) {
                        // Beyond the bound, a batch is not taken (nor
                        // forwarded); its transactions come back in a
                        // proposal, which fetches what is missing.
                        Ok(txs) if self.gossiped_count + txs.len() > GOSSIPED_TXS_MAX => {
                            self.report(&message_id, &propagation_source, MessageAcceptance::Ignore)
                        }
                        Ok(txs) => {
                            self.gossiped_since.get_or_insert_with(Instant::now);
                            self.gossiped_count += txs.len();
                            self.gossiped_txs
                                .push((message_id, propagation_source, txs))
                        }
                        Err(_) => {
                            self.report(&message_id, &propagation_source, MessageAcceptance::Reject)
                        }
                    }
                    return;
                }
                let verdict = self.on_gossip(propagation_source, &message);
                self.report(&message_id, &propagation_source, verdict);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if self.connected.insert(peer_id) {
                    info!(%peer_id, "peer connected");
                }
                self.ask_status(peer_id);
                self.update_peer_count();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.connected.remove(&peer_id);
                self.peer_heights.remove(&peer_id);
                info!(%peer_id, "peer disconnected");
                self.update_peer_count();
            }
            SwarmEvent::NewListenAddr { address, .. } => info!(%address, "p2p listening"),
            SwarmEvent::IncomingConnectionError { error, .. } => {
                debug!("incoming connection refused: {error}")
            }
            _ => {}
        }
    }

    fn report(&mut self, id: &gossipsub::MessageId, from: &PeerId, verdict: MessageAcceptance) {
        let invalid = matches!(verdict, MessageAcceptance::Reject);
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, from, verdict);
        if invalid {
            self.note_invalid_gossip(*from);
        }
    }

    /// Counts a refused message against the peer that forwarded it; past
    /// [`INVALID_GOSSIP_MAX`] in [`INVALID_GOSSIP_WINDOW`], the peer is
    /// disconnected and refused for [`INVALID_GOSSIP_BAN`].
    fn note_invalid_gossip(&mut self, peer: PeerId) {
        metrics::counter!("minhbach_gossip_invalid_total").increment(1);
        let now = Instant::now();
        let (since, count) = self.invalid_gossip.entry(peer).or_insert((now, 0));
        if now.duration_since(*since) > INVALID_GOSSIP_WINDOW {
            *since = now;
            *count = 0;
        }
        *count += 1;
        if *count <= INVALID_GOSSIP_MAX || self.banned.contains_key(&peer) {
            return;
        }
        self.invalid_gossip.remove(&peer);
        warn!(
            %peer,
            seconds = INVALID_GOSSIP_BAN.as_secs(),
            "peer sent more than {INVALID_GOSSIP_MAX} invalid gossip messages in {} s; \
             disconnecting it",
            INVALID_GOSSIP_WINDOW.as_secs()
        );
        metrics::counter!("minhbach_peers_banned_total").increment(1);
        self.banned.insert(peer, now + INVALID_GOSSIP_BAN);
        self.swarm.behaviour_mut().allow.disallow_peer(peer);
    }

    /// Lets peers whose ban is over connect again, if they are still allowed.
    fn lift_bans(&mut self) {
        let now = Instant::now();
        self.invalid_gossip
            .retain(|_, (since, _)| now.duration_since(*since) <= INVALID_GOSSIP_WINDOW);
        let over: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in over {
            self.banned.remove(&peer);
            if self.allowed.contains(&peer) {
                info!(%peer, "ban over; the peer may connect again");
                self.swarm.behaviour_mut().allow.allow_peer(peer);
            }
        }
    }

    /// When the gossiped transactions waiting are due for admission.
    fn admit_due(&self) -> Option<Instant> {
        if self.admitting {
            return None;
        }
        self.gossiped_since
            .map(|t| t + Duration::from_millis(ADMIT_WAIT_MS))
    }

    /// Admits the gossiped transactions waiting, as one batch on a blocking
    /// thread so that the loop goes on polling the network meanwhile; one
    /// batch at a time, so a signer's nonces are admitted in the order they
    /// came. When it is done, gossip is told which messages to forward:
    /// those with a transaction admitted; not those with a bad signature
    /// (refused) or with nothing this node could admit now (ignored).
    ///
    /// Signatures are checked several times faster in large batches, so
    /// the waiting batches are gathered until they hold
    /// [`ADMIT_BATCH_TXS`] transactions or the oldest has waited
    /// [`ADMIT_WAIT_MS`] (`now` admits them at once).
    fn admit_gossiped_txs(&mut self, now: bool) {
        if self.admitting || self.gossiped_txs.is_empty() {
            return;
        }
        if !now && self.gossiped_count < ADMIT_BATCH_TXS {
            return;
        }
        self.admitting = true;
        self.gossiped_count = 0;
        self.gossiped_since = None;
        let batches = std::mem::take(&mut self.gossiped_txs);
        let shared = self.shared.clone();
        let done = self.admitted_tx.clone();
        tokio::task::spawn_blocking(move || {
            let mut meta = Vec::with_capacity(batches.len());
            let mut all = Vec::new();
            for (id, from, txs) in batches {
                meta.push((id, from, txs.len()));
                all.extend(txs);
            }
            let mut results = shared.admit_only(all).into_iter();
            let verdicts = meta
                .into_iter()
                .map(|(id, from, n)| {
                    let mut verdict = MessageAcceptance::Ignore;
                    for result in results.by_ref().take(n) {
                        match result {
                            Ok(_) if matches!(verdict, MessageAcceptance::Ignore) => {
                                verdict = MessageAcceptance::Accept
                            }
                            Err(ledger::TxError::BadSignature { .. }) => {
                                verdict = MessageAcceptance::Reject
                            }
                            _ => {}
                        }
                    }
                    (id, from, verdict)
                })
                .collect();
            // The loop may have stopped; then nobody needs the verdicts.
            let _ = done.blocking_send(verdicts);
        });
    }

    fn on_gossip(&mut self, from: PeerId, message: &gossipsub::Message) -> MessageAcceptance {
        let topic = message.topic.as_str();
        if topic == wire::TOPIC_VOTES {
            let Ok(msg) = wire::decode_vote(&message.data) else {
                return MessageAcceptance::Reject;
            };
            return self.on_vote(from, msg.vote);
        }
        if topic == wire::TOPIC_PROPOSALS {
            let Ok(msg) = wire::decode_proposal(&message.data) else {
                return MessageAcceptance::Reject;
            };
            self.note_peer_height(from, msg.proposal.height.0.saturating_sub(1));
            return self.on_proposal_msg(msg, from);
        }
        if topic == wire::TOPIC_EVIDENCE {
            let Ok(ev) = wire::decode_evidence(&message.data) else {
                return MessageAcceptance::Reject;
            };
            return match self.check_evidence(&ev) {
                Ok(()) => {
                    self.add_evidence(ev);
                    MessageAcceptance::Accept
                }
                Err(e) => {
                    debug!("evidence refused: {e}");
                    MessageAcceptance::Ignore
                }
            };
        }
        MessageAcceptance::Reject
    }

    fn on_vote(&mut self, from: PeerId, vote: Vote) -> MessageAcceptance {
        if !vote.verify(self.shared.chain_id()) {
            return MessageAcceptance::Reject;
        }
        let h = vote.height.0;
        self.note_peer_height(from, h.saturating_sub(1));
        if h + 1 < self.height() || h > self.height() + 1 {
            return MessageAcceptance::Ignore;
        }
        let step = (h, vote.round, vote.vote_type, vote.validator);
        match self.recent_votes.get(&step) {
            None if self.recent_votes.len() < RECENT_VOTES_MAX => {
                self.recent_votes.insert(step, vote.clone());
            }
            Some(first) if first.block_hash != vote.block_hash && h + 1 == self.height() => {
                // Consensus has moved on from height h; equivocation there is
                // caught here.
                let evidence = Evidence {
                    a: first.clone(),
                    b: vote.clone(),
                };
                if self.check_evidence(&evidence).is_ok() {
                    warn!(
                        validator = %evidence.a.validator,
                        height = h,
                        "equivocation seen after its height was committed"
                    );
                    self.publish(Topic::Evidence, wire::encode(&evidence));
                    self.add_evidence(evidence);
                }
            }
            Some(_) | None => {}
        }
        if h < self.height() {
            return MessageAcceptance::Ignore;
        }
        self.input(Input::Vote(Signed {
            message: consensus::Vote {
                vote_type: consensus_vote_type(vote.vote_type),
                height: consensus::Height(h),
                round: consensus::Round(vote.round),
                value: vote.block_hash,
                validator: vote.validator,
            },
            signature: vote.signature,
        }));
        MessageAcceptance::Accept
    }

    // ---- sync ----

    fn ask_status(&mut self, peer: PeerId) {
        self.swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, SyncRequest::Status);
    }

    fn note_peer_height(&mut self, peer: PeerId, height: u64) {
        let e = self.peer_heights.entry(peer).or_insert(0);
        *e = (*e).max(height);
        self.maybe_sync();
    }

    fn committed_height(&self) -> u64 {
        self.shared.state.read().expect("state lock").height().0
    }

    fn maybe_sync(&mut self) {
        if let Some((_, since)) = self.sync_in_flight {
            if since.elapsed() < Duration::from_secs(30) {
                return;
            }
        }
        let ours = self.committed_height();
        let best = self
            .peer_heights
            .iter()
            .filter(|(p, _)| self.connected.contains(*p))
            .max_by_key(|(_, h)| **h)
            .map(|(p, h)| (*p, *h));
        {
            let mut live = self.shared.live.write().expect("live lock");
            live.best_peer_height = best.map(|b| b.1).unwrap_or(0);
            live.catching_up = best.is_some_and(|(_, h)| h > ours + 1);
            if best.is_some() {
                live.heard_peer = true;
            }
        }
        // Blocks that cannot be written are not asked for.
        if self.store_fault.is_some() {
            return;
        }
        // A node one block behind is usually just finishing the same height
        // through consensus; sync only when a peer has a block we cannot
        // decide ourselves any more.
        let Some((peer, h)) = best else { return };
        if h <= ours
            || (h == ours + 1 && self.next_height_at.is_none() && self.recently_committed())
        {
            return;
        }
        let count = ((h - ours) as u32).min(wire::SYNC_BLOCKS_MAX);
        let id = self.swarm.behaviour_mut().sync.send_request(
            &peer,
            SyncRequest::Blocks {
                from: Height(ours + 1),
                count,
            },
        );
        debug!(%peer, from = ours + 1, count, "asking for blocks");
        self.sync_in_flight = Some((id, Instant::now()));
    }

    fn recently_committed(&self) -> bool {
        self.last_commit_at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(5))
    }

    fn on_sync(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let response = self.answer_sync(request);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
                let _ = peer;
            }
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => match response {
                SyncResponse::Status { height, .. } => self.note_peer_height(peer, height.0),
                SyncResponse::Txs(txs) => self.on_fetched(peer, txs),
                SyncResponse::Blocks(blocks) => {
                    if self.sync_in_flight.map(|(id, _)| id) == Some(request_id) {
                        self.sync_in_flight = None;
                    }
                    self.apply_synced(peer, blocks);
                    self.maybe_sync();
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if self.sync_in_flight.map(|(id, _)| id) == Some(request_id) {
                    self.sync_in_flight = None;
                }
                debug!("sync request failed: {error}");
            }
            _ => {}
        }
    }

    fn answer_sync(&self, request: SyncRequest) -> SyncResponse {
        match request {
            SyncRequest::Status => {
                let meta = self.shared.store.meta().ok().flatten();
                SyncResponse::Status {
                    height: meta.as_ref().map(|m| m.height).unwrap_or(Height(0)),
                    last_hash: meta.map(|m| m.last_block_hash).unwrap_or(Hash([0; 32])),
                }
            }
            SyncRequest::Blocks { from, count } => {
                let mut out = Vec::new();
                let mut bytes = 0usize;
                for h in from.0
                    ..from
                        .0
                        .saturating_add(u64::from(count.min(wire::SYNC_BLOCKS_MAX)))
                {
                    let (Ok(Some(block)), Ok(Some(cert))) = (
                        self.shared.store.block(Height(h)),
                        self.shared.store.cert(Height(h)),
                    ) else {
                        break;
                    };
                    let size = block.encode().len() + cert.encode().len();
                    if !out.is_empty() && bytes + size > wire::SYNC_RESPONSE_BYTES_MAX / 2 {
                        break;
                    }
                    bytes += size;
                    out.push((block, cert));
                }
                SyncResponse::Blocks(out)
            }
            SyncRequest::Txs(hashes) => {
                let mempool = self.shared.mempool.lock().expect("mempool lock");
                let mut out = Vec::new();
                let mut bytes = 0usize;
                for h in hashes.iter().take(wire::TXS_FETCH_MAX) {
                    let Some(tx) = mempool.get(h).or_else(|| self.fetched.get(h)) else {
                        continue;
                    };
                    bytes += tx.encode().len();
                    if bytes > wire::SYNC_RESPONSE_BYTES_MAX / 2 {
                        break;
                    }
                    out.push(tx.clone());
                }
                SyncResponse::Txs(out)
            }
        }
    }

    /// Verifies and commits synced blocks in order, stopping at the first
    /// that does not verify.
    fn apply_synced(&mut self, peer: PeerId, blocks: Vec<(Block, CommitCertificate)>) {
        let mut applied = 0;
        for (block, cert) in blocks {
            let h = block.header.height;
            if h.0 != self.committed_height() + 1 {
                continue;
            }
            // Consensus may be behind the store only by the pause after a
            // commit; the block is checked at the height consensus is at.
            if self.height() != h.0 {
                self.start_next_height();
                // Starting the height feeds the proposal and votes held for
                // it, which may decide and commit this very block.
                if h.0 != self.committed_height() + 1 {
                    continue;
                }
            }
            let set = self
                .shared
                .state
                .read()
                .expect("state lock")
                .validators()
                .clone();
            if let Err(e) = cert.verify(self.shared.chain_id(), h, &block.hash(), &set) {
                warn!(%peer, height = h.0, "synced block refused: certificate: {e}");
                return;
            }
            let outcome = match self.check_block(&block) {
                Ok(o) => o,
                Err(e) => {
                    warn!(%peer, height = h.0, "synced block refused: {e}");
                    return;
                }
            };
            if !self.commit(block, cert, outcome) {
                return;
            }
            applied += 1;
        }
        if applied > 0 {
            info!(%peer, applied, height = self.committed_height(), "caught up by sync");
            self.start_next_height();
        }
    }

    // ---- housekeeping ----

    fn on_tick(&mut self) {
        self.lift_bans();
        self.dial_peers();
        self.retry_unsent_txs();
        let peers: Vec<PeerId> = self.connected.iter().copied().collect();
        for p in peers {
            self.ask_status(p);
        }
        self.maybe_sync();
        if self.dial.is_empty() {
            self.shared.live.write().expect("live lock").heard_peer = true;
        }
        metrics::gauge!("minhbach_mempool_txs")
            .set(self.shared.mempool.lock().expect("mempool lock").len() as f64);
    }

    fn dial_peers(&mut self) {
        let targets: Vec<(PeerId, Multiaddr)> = self
            .dial
            .iter()
            .filter(|(p, _)| {
                !self.connected.contains(p)
                    && self.allowed.contains(p)
                    && !self.banned.contains_key(p)
            })
            .cloned()
            .collect();
        for (peer, addr) in targets {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(vec![addr])
                .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, "dial: {e}");
            }
        }
    }

    fn update_peer_count(&mut self) {
        let n = self.connected.len();
        self.shared.live.write().expect("live lock").peers = n;
        metrics::gauge!("minhbach_peers").set(n as f64);
    }

    /// Allows exactly the current and next validators and the registered
    /// nodes, but for those banned for invalid gossip until their ban is
    /// over; disallowing a peer closes its connections.
    fn update_allowed(&mut self) {
        let wanted: BTreeSet<PeerId> = {
            let state = self.shared.state.read().expect("state lock");
            state
                .validators()
                .validators()
                .iter()
                .chain(state.next_validators().validators())
                .map(|v| v.peer_id.clone())
                .chain(state.nodes().map(|n| n.peer_id.clone()))
                .filter_map(|p| PeerId::from_bytes(p.as_bytes()).ok())
                .collect()
        };
        let allow = &mut self.swarm.behaviour_mut().allow;
        for p in self.allowed.difference(&wanted) {
            info!(peer = %p, "peer no longer allowed; disconnecting");
            allow.disallow_peer(*p);
        }
        for p in wanted.difference(&self.allowed) {
            if !self.banned.contains_key(p) {
                allow.allow_peer(*p);
            }
        }
        self.allowed = wanted;
    }
}

#[derive(Clone, Copy)]
enum Topic {
    Txs,
    Proposals,
    Votes,
    Evidence,
}

/// The clock rule of SPEC §3: a fresh proposal (one without a proof of
/// lock) must carry a time within [`PROPOSAL_CLOCK_SKEW_MS`] of the judging
/// validator's clock, `now_ms`. A re-proposed value was judged when it was
/// first proposed, so the rule does not apply to it again.
pub fn fresh_time_ok(fresh: bool, block_time_ms: u64, now_ms: u64) -> Result<(), String> {
    if !fresh || block_time_ms.abs_diff(now_ms) <= PROPOSAL_CLOCK_SKEW_MS {
        return Ok(());
    }
    let (ahead, by) = if block_time_ms > now_ms {
        ("ahead of", block_time_ms - now_ms)
    } else {
        ("behind", now_ms - block_time_ms)
    };
    Err(format!(
        "its time is {by} ms {ahead} this clock, beyond the {PROPOSAL_CLOCK_SKEW_MS} ms allowed"
    ))
}

/// What a piece of evidence proves: one validator signed two different
/// votes of one type, height and round. Two pieces with the same offence
/// (the votes in the other order, say) count once.
fn offence(e: &Evidence) -> (PublicKey, Height, u32, bool) {
    (
        e.a.validator,
        e.a.height,
        e.a.round,
        e.a.vote_type == VoteType::Prevote,
    )
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn ledger_vote_type(t: consensus::VoteType) -> VoteType {
    match t {
        consensus::VoteType::Prevote => VoteType::Prevote,
        consensus::VoteType::Precommit => VoteType::Precommit,
    }
}

fn consensus_vote_type(t: VoteType) -> consensus::VoteType {
    match t {
        VoteType::Prevote => consensus::VoteType::Prevote,
        VoteType::Precommit => consensus::VoteType::Precommit,
    }
}

fn ledger_vote(v: &consensus::SignedVote<Hash, PublicKey, Signature>) -> Vote {
    Vote {
        vote_type: ledger_vote_type(v.message.vote_type),
        height: Height(v.message.height.0),
        round: v.message.round.0,
        block_hash: v.message.value,
        validator: v.message.validator,
        signature: v.signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_proposal_must_be_within_two_seconds_of_the_clock() {
        let now = 1_800_000_000_000;
        assert!(fresh_time_ok(true, now, now).is_ok());
        assert!(fresh_time_ok(true, now + 2_000, now).is_ok());
        assert!(fresh_time_ok(true, now - 2_000, now).is_ok());
        let e = fresh_time_ok(true, now + 2_001, now).unwrap_err();
        assert_eq!(
            e,
            "its time is 2001 ms ahead of this clock, beyond the 2000 ms allowed"
        );
        let e = fresh_time_ok(true, now - 60_000, now).unwrap_err();
        assert!(e.starts_with("its time is 60000 ms behind"), "{e}");
        // A value re-proposed with a proof of lock is not judged by the clock again.
        assert!(fresh_time_ok(false, now - 60_000, now).is_ok());
    }
}
