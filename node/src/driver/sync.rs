//! Block sync: catching up with peers that are ahead, and answering peers
//! that are behind.
//!
//! A peer's height is only a claim. Every second the node asks connected
//! peers for their height; when a peer claims more than the height in
//! progress, the node asks it for up to [`wire::SYNC_BLOCKS_MAX`] blocks
//! with their certificates, and applies each only if its certificate
//! verifies against set(H) and the block passes the one rule of validity.
//! A peer whose answer is empty, wrong or later than [`SYNC_ANSWER_WAIT`]
//! has its claim lowered to this node's height and is not believed or
//! asked again for a while that doubles with each failure (up to
//! [`SYNC_DISTRUST_MAX`]); the node asks the other peers in turn, so an
//! allowed peer that lies about its height cannot keep a lagging node
//! from catching up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ledger::state::Verdict;
use ledger::validity::CheckError;
use ledger::{Block, CommitCertificate, Hash, Height};
use libp2p::PeerId;
use tracing::{debug, info, warn};

use super::{Core, Io, RequestId};
use crate::wire::{self, SyncRequest, SyncResponse};

/// How long a peer has to answer a request for blocks.
pub const SYNC_ANSWER_WAIT: Duration = Duration::from_secs(5);
/// How long a peer that answered badly once is neither believed nor asked.
pub const SYNC_DISTRUST_FIRST: Duration = Duration::from_secs(2);
/// The longest a peer that keeps answering badly is neither believed nor
/// asked.
pub const SYNC_DISTRUST_MAX: Duration = Duration::from_secs(120);
/// Most peers whose heights are tracked: more than a network has nodes.
pub const SYNC_PEERS_MAX: usize = 1_024;

/// What the node knows of one peer for sync.
#[derive(Clone, Debug, Default)]
struct PeerSync {
    /// The height it claims to have committed.
    height: u64,
    /// Bad answers in a row.
    failures: u32,
    /// Until when its claims are not believed and it is not asked.
    distrust_until: Option<Instant>,
    /// When it was last asked for blocks.
    asked_at: Option<Instant>,
}

/// A request for blocks under way.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    id: RequestId,
    peer: PeerId,
    at: Instant,
}

/// Block sync's state.
#[derive(Default)]
pub struct SyncState {
    peers: HashMap<PeerId, PeerSync>,
    in_flight: Option<InFlight>,
}

impl SyncState {
    /// Peers tracked.
    pub fn peers(&self) -> usize {
        self.peers.len()
    }

    /// Notes that `peer` has committed `height`, by its own word or by a
    /// verified message it forwarded; ignored while it is distrusted.
    pub(crate) fn heard_height(&mut self, peer: &PeerId, height: u64) {
        self.heard(peer, height, None);
    }

    fn heard(&mut self, peer: &PeerId, height: u64, now: Option<Instant>) {
        if !self.peers.contains_key(peer) && self.peers.len() >= SYNC_PEERS_MAX {
            return;
        }
        let p = self.peers.entry(*peer).or_default();
        if let (Some(until), Some(now)) = (p.distrust_until, now) {
            if now < until {
                return;
            }
        }
        p.height = p.height.max(height);
    }

    pub(crate) fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// A bad answer (or none): the claim falls to `ours`, the peer is not
    /// believed or asked for a while.
    fn penalise(&mut self, peer: &PeerId, ours: u64, now: Instant, why: &str) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        p.failures = p.failures.saturating_add(1);
        p.height = p.height.min(ours);
        let wait = SYNC_DISTRUST_FIRST
            .saturating_mul(1 << p.failures.min(16).saturating_sub(1))
            .min(SYNC_DISTRUST_MAX);
        p.distrust_until = Some(now + wait);
        metrics::counter!("minhbach_sync_peer_penalties_total").increment(1);
        warn!(%peer, failures = p.failures, wait_s = wait.as_secs(), "sync: {why}");
    }

    /// The peer to ask for blocks after `ours`: of those trusted now that
    /// claim more, the one asked longest ago (never asked first), then the
    /// highest.
    fn pick(
        &self,
        ours: u64,
        now: Instant,
        connected: impl Fn(&PeerId) -> bool,
    ) -> Option<(PeerId, u64)> {
        self.peers
            .iter()
            .filter(|(peer, p)| {
                p.height > ours
                    && connected(peer)
                    && p.distrust_until.is_none_or(|until| now >= until)
            })
            .min_by_key(|(peer, p)| (p.asked_at, std::cmp::Reverse(p.height), **peer))
            .map(|(peer, p)| (*peer, p.height))
    }

    /// The heights trusted, connected peers claim.
    pub(crate) fn claims(
        &self,
        now: Instant,
        connected: impl Fn(&PeerId) -> bool,
    ) -> impl Iterator<Item = (&PeerId, u64)> {
        self.peers
            .iter()
            .filter(move |(peer, p)| connected(peer) && p.distrust_until.is_none_or(|u| now >= u))
            .map(|(peer, p)| (peer, p.height))
    }

    /// The best height a trusted, connected peer claims.
    pub(crate) fn best(&self, now: Instant, connected: impl Fn(&PeerId) -> bool) -> Option<u64> {
        self.peers
            .iter()
            .filter(|(peer, p)| connected(peer) && p.distrust_until.is_none_or(|u| now >= u))
            .map(|(_, p)| p.height)
            .max()
    }
}

impl<I: Io> Core<I> {
    pub(crate) fn ask_status(&mut self, peer: PeerId) {
        self.io.request(&peer, SyncRequest::Status);
    }

    pub(crate) fn ask_statuses(&mut self) {
        let mut peers: Vec<PeerId> = self.connected.iter().copied().collect();
        // In a fixed order, so that a simulation replays exactly.
        peers.sort();
        for p in peers {
            self.ask_status(p);
        }
    }

    pub(crate) fn on_sync_response(
        &mut self,
        peer: PeerId,
        request: RequestId,
        response: SyncResponse,
    ) {
        match response {
            SyncResponse::Status { height, .. } => {
                let now = self.io.now();
                self.sync.heard(&peer, height.0, Some(now));
                self.maybe_sync();
            }
            SyncResponse::Txs(txs) => self.on_fetched(peer, request, txs),
            SyncResponse::Blocks(blocks) => {
                let ours = self.committed_height();
                let asked = self
                    .sync
                    .in_flight
                    .filter(|f| f.id == request && f.peer == peer);
                if asked.is_none() {
                    // Not asked, or asked of another peer: not applied.
                    debug!(%peer, "sync: an answer nobody asked for");
                    return;
                }
                self.sync.in_flight = None;
                let now = self.io.now();
                if blocks.is_empty() {
                    self.sync
                        .penalise(&peer, ours, now, "asked for blocks it claims, sent none");
                } else if !self.apply_synced(peer, blocks) {
                    self.sync
                        .penalise(&peer, ours, now, "sent a block that does not verify");
                } else if let Some(p) = self.sync.peers.get_mut(&peer) {
                    p.failures = 0;
                }
                self.maybe_sync();
            }
            // A running node asks for no snapshot: these answer nothing.
            SyncResponse::Snapshots(_)
            | SyncResponse::SnapshotAnchor(_)
            | SyncResponse::SnapshotChunk(_) => {
                debug!(%peer, "sync: a snapshot answer nobody asked for");
            }
        }
    }

    pub(crate) fn on_sync_failed(&mut self, peer: PeerId, request: RequestId) {
        if self.tx_fetches.failed(request, &peer) {
            debug!(%peer, "a request for transactions failed");
            return;
        }
        if self.sync.in_flight.is_some_and(|f| f.id == request) {
            self.sync.in_flight = None;
            let (ours, now) = (self.committed_height(), self.io.now());
            self.sync
                .penalise(&peer, ours, now, "a request for blocks failed");
        }
        debug!(%peer, "sync request failed");
    }

    /// Asks a peer for the blocks after ours, if one that is trusted claims
    /// more than this node can decide itself, and nothing is asked already.
    pub(crate) fn maybe_sync(&mut self) {
        let now = self.io.now();
        let ours = self.committed_height();
        if let Some(f) = self.sync.in_flight {
            if now.duration_since(f.at) < SYNC_ANSWER_WAIT {
                self.update_live(now, ours);
                return;
            }
            self.sync.in_flight = None;
            self.sync.penalise(
                &f.peer,
                ours,
                now,
                "did not answer a request for blocks in time",
            );
        }
        self.update_live(now, ours);
        // Blocks that cannot be written are not asked for.
        if self.store_fault.is_some() {
            return;
        }
        let connected = &self.connected;
        let Some((peer, h)) = self.sync.pick(ours, now, |p| connected.contains(p)) else {
            return;
        };
        // A node one block behind that just committed (or is in the pause
        // after a commit) is usually finishing that height through
        // consensus; sync only when a peer has a block it cannot decide
        // itself any more.
        if h == ours + 1 && (self.next_height_at.is_some() || self.recently_committed(now)) {
            return;
        }
        let count = u32::try_from(h - ours)
            .unwrap_or(u32::MAX)
            .min(wire::SYNC_BLOCKS_MAX);
        let id = self.io.request(
            &peer,
            SyncRequest::Blocks {
                from: Height(ours + 1),
                count,
            },
        );
        debug!(%peer, from = ours + 1, count, "asking for blocks");
        if let Some(p) = self.sync.peers.get_mut(&peer) {
            p.asked_at = Some(now);
        }
        self.sync.in_flight = Some(InFlight { id, peer, at: now });
    }

    fn update_live(&self, now: Instant, ours: u64) {
        let connected = &self.connected;
        let best = self.sync.best(now, |p| connected.contains(p));
        {
            let mut live = self.shared.live.write().expect("live lock");
            live.best_peer_height = best.unwrap_or(0);
            live.catching_up = best.is_some_and(|h| h > ours + 1);
            if best.is_some() {
                live.heard_peer = true;
            }
        }
        Self::update_sync_lag(best, ours);
        self.publish_ready();
    }

    fn recently_committed(&self, now: Instant) -> bool {
        self.last_commit_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(5))
    }

    pub(crate) fn answer_sync(&self, peer: &PeerId, request: SyncRequest) -> SyncResponse {
        let _ = peer;
        match request {
            SyncRequest::Status => {
                let meta = self.store.meta().ok().flatten();
                SyncResponse::Status {
                    height: meta.as_ref().map(|m| m.height).unwrap_or(Height(0)),
                    last_hash: meta.map(|m| m.last_block_hash).unwrap_or(Hash([0; 32])),
                }
            }
            SyncRequest::Blocks { from, count } => {
                let mut out = Vec::new();
                let mut bytes = 0usize;
                let end = from
                    .0
                    .saturating_add(u64::from(count.min(wire::SYNC_BLOCKS_MAX)));
                for h in from.0..end {
                    let (Ok(Some(block)), Ok(Some(cert))) =
                        (self.store.block(Height(h)), self.store.cert(Height(h)))
                    else {
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
                // What is in no pool may be in a block of this height: the
                // valid value's block taken back after a restart, say.
                let mut in_blocks: Option<HashMap<Hash, &ledger::SignedTx>> = None;
                let mut out = Vec::new();
                let mut bytes = 0usize;
                for h in hashes.iter().take(wire::TXS_FETCH_MAX) {
                    let found = mempool.get(h).or_else(|| self.fetched.get(h)).or_else(|| {
                        in_blocks
                            .get_or_insert_with(|| {
                                self.candidates
                                    .values()
                                    .flat_map(|c| c.block.txs.iter())
                                    .map(|tx| (tx.hash(), tx))
                                    .collect()
                            })
                            .get(h)
                            .copied()
                    });
                    let Some(tx) = found else {
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
            SyncRequest::Snapshots => self.answer_snapshots(),
            SyncRequest::SnapshotAnchor { height } => self.answer_snapshot_anchor(height),
            SyncRequest::SnapshotChunk {
                height,
                depth,
                prefix,
            } => self.answer_snapshot_chunk(height, depth, prefix),
        }
    }

    /// Verifies and commits synced blocks in order; false if one does not
    /// verify (the peer sent something wrong). Blocks this node already has
    /// are skipped; a failed write or a read that failed here stops without
    /// blaming the peer. A block's signatures do not depend on the state:
    /// under a certificate that holds, they are verified on the other
    /// cores while the block before it is checked and committed here.
    fn apply_synced(&mut self, peer: PeerId, blocks: Vec<(Block, CommitCertificate)>) -> bool {
        let mut applied = 0;
        let mut honest = true;
        let shared = self.shared.clone();
        std::thread::scope(|scope| {
            let (sender, verified) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                for (block, cert) in blocks {
                    // Signatures are checked ahead only under a certificate
                    // the validators of the height in progress signed: a
                    // peer's made-up certificate costs no more than before.
                    // Across a change of validator set the block is checked
                    // as a proposal is, once its height comes.
                    let certified = {
                        let state = shared.state.read().expect("state lock");
                        let (h, hash) = (block.header.height, block.hash());
                        cert.verify(shared.chain_id(), h, &hash, state.validators())
                            .is_ok()
                    };
                    let verdicts =
                        certified.then(|| ledger::state::verdicts_on_every_core(&block.txs));
                    // The receiver is gone once a block was refused.
                    if sender.send((block, cert, verdicts)).is_err() {
                        break;
                    }
                }
            });
            for (block, cert, verdicts) in verified.iter() {
                match self.apply_one(&peer, block, cert, verdicts) {
                    Applied::Yes => applied += 1,
                    Applied::Skipped => {}
                    Applied::Stop => break,
                    Applied::Refused => {
                        honest = false;
                        break;
                    }
                }
            }
            // Lets the verifying thread end if blocks are left.
            drop(verified);
        });
        if applied > 0 {
            info!(%peer, applied, height = self.committed_height(), "caught up by sync");
            self.start_next_height();
        }
        honest
    }

    /// Checks and commits one synced block whose signatures' verdicts are
    /// `verdicts`, if they were checked ahead.
    fn apply_one(
        &mut self,
        peer: &PeerId,
        block: Block,
        cert: CommitCertificate,
        verdicts: Option<Vec<Option<Verdict>>>,
    ) -> Applied {
        let h = block.header.height;
        if h.0 != self.committed_height() + 1 {
            return Applied::Skipped;
        }
        // Consensus may be behind the store only by the pause after a
        // commit; the block is checked at the height consensus is at.
        if self.height() != h.0 {
            self.start_next_height();
            if self.halted.is_some() {
                return Applied::Stop; // A height of a version this node does not run.
            }
            // Starting the height feeds the proposal and votes held for
            // it, which may decide and commit this very block.
            if h.0 != self.committed_height() + 1 {
                return Applied::Skipped;
            }
        }
        let certified = {
            let state = self.shared.state.read().expect("state lock");
            cert.verify(self.shared.chain_id(), h, &block.hash(), state.validators())
        };
        if let Err(e) = certified {
            warn!(%peer, height = h.0, "synced block refused: certificate: {e}");
            return Applied::Refused;
        }
        let checked = match verdicts {
            Some(verdicts) => self.check_verified_block(&block, verdicts),
            None => self.check_block(&block),
        };
        let outcome = match checked {
            Ok(o) => o,
            Err(CheckError::Invalid(e)) => {
                warn!(%peer, height = h.0, "synced block refused: {e}");
                return Applied::Refused;
            }
            Err(e) => {
                warn!(%peer, height = h.0, "synced block not checked: {e}");
                return Applied::Stop;
            }
        };
        if !self.commit(block, cert, outcome) {
            return Applied::Stop;
        }
        self.synced += 1;
        Applied::Yes
    }
}

/// What became of one synced block.
enum Applied {
    /// Checked and committed.
    Yes,
    /// Not the next block (this node has it already): passed over.
    Skipped,
    /// Not applied, through no fault of the peer: a failed write or read,
    /// or a version this node does not run.
    Stop,
    /// It does not verify: the peer sent something wrong.
    Refused,
}
