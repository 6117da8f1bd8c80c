//! Proposals: building this validator's blocks, and receiving, completing
//! and judging everyone else's.
//!
//! A proposal is checked in order of cost: its signature and block hash,
//! then that its signer leads its round at its height, then the block's
//! size; only then is the block filled from the mempool (fetching what is
//! missing) and executed. Only the first block a proposer sends for a
//! round is executed: consensus counts only the first anyway.

use consensus::{Input, Signed, Validity};
use ledger::builder::{build_block_with, BlockTemplate};
use ledger::validity::{self, CheckError, BLOCK_TXS_MAX};
use ledger::{Block, BlockOutcome, Hash, Height, PublicKey, SignedTx, ValidatorSet};
use libp2p::gossipsub::MessageAcceptance;
use libp2p::PeerId;
use std::collections::hash_map::Entry;
use std::collections::HashSet;
use tracing::{debug, error, warn};

use super::view::View;
use super::{
    consensus_set, Arrived, Candidate, Core, Io, RequestId, AWAITING_PROPOSALS_MAX, CANDIDATES_MAX,
    CANDIDATE_ROUNDS_AHEAD_MAX, FETCHED_TXS_MAX, FUTURE_PROPOSALS_MAX, RETRY_PROPOSALS_MAX,
    RETRY_READ_AFTER,
};
use crate::wire::{self, CompactBlock, ProposalMsg, SignedProposal, SyncRequest};

/// What became of a block's judging.
enum Judged {
    /// Judged: valid with its outcome, or not.
    Done,
    /// A read failed; judge it again later.
    Unavailable,
    /// No room to keep it.
    NoRoom,
}

impl<I: Io> Core<I> {
    /// Builds a block from the mempool and remembers it; returns its hash.
    pub(crate) fn build_proposal(&mut self) -> Option<Hash> {
        let key = self.key.as_ref()?.public_key();
        let started = self.io.now();
        let last_commit = if self.height() > 1 {
            match self.store.cert(Height(self.height() - 1)) {
                Ok(cert) => cert,
                Err(e) => {
                    warn!("not proposing: the last certificate cannot be read: {e}");
                    return None;
                }
            }
        } else {
            None
        };
        let evidence = self.pick_evidence();
        let txs_max = self.config.limits.block_txs.min(BLOCK_TXS_MAX);
        let state = self.shared.state.read().expect("state lock");
        let mut mempool = self.shared.mempool.lock().expect("mempool lock");
        for _ in 0..8 {
            let reap = mempool.reap(&state, txs_max, self.config.limits.block_bytes);
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
            let time_ms = self.io.wall_ms().max(self.last_time_ms + 1);
            let template = BlockTemplate {
                prev_hash: self.last_hash,
                history_root: self.history.root(),
                time_ms,
                proposer: key,
                last_commit: last_commit.clone(),
                evidence: evidence.clone(),
            };
            match build_block_with(&state, reap.txs, verdicts, template) {
                Ok((block, outcome)) => {
                    #[cfg(feature = "faults")]
                    let block = self.spoil(block);
                    let hash = block.hash();
                    debug!(
                        height = block.header.height.0,
                        txs = block.txs.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "built block {hash}"
                    );
                    drop(mempool);
                    drop(state);
                    let round = self.machine.round().0;
                    self.make_room();
                    self.candidates.insert(
                        hash,
                        Candidate {
                            block,
                            outcome: Some(outcome),
                            round,
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

    /// A block made invalid on purpose, for the simulator's insider.
    #[cfg(feature = "faults")]
    fn spoil(&self, mut block: Block) -> Block {
        if self.faults.propose_invalid {
            block.header.state_root = Hash::digest(b"not this block's");
        }
        if self.faults.propose_rewritten_history {
            let rewritten = Hash::digest_parts(&[b"rewritten", &block.header.history_root.0]);
            block.header.history_root = rewritten;
        }
        block
    }

    /// The validator set of height `h`, if this node knows it now: the
    /// state's for the next height, its next set for the one after.
    fn set_of(&self, h: u64) -> Option<ValidatorSet> {
        let state = self.shared.state.read().expect("state lock");
        let next = state.height().0 + 1;
        if h == next {
            Some(state.validators().clone())
        } else if h == next + 1 {
            Some(state.next_validators().clone())
        } else {
            None
        }
    }

    pub(crate) fn on_proposal_msg(&mut self, msg: ProposalMsg, from: PeerId) -> MessageAcceptance {
        let arrived_ms = self.io.wall_ms();
        let p = &msg.proposal;
        if !p.verify(self.shared.chain_id()) || msg.block.hash() != p.block_hash {
            return MessageAcceptance::Reject;
        }
        if msg.block.tx_hashes.len() > BLOCK_TXS_MAX {
            warn!(
                height = p.height.0,
                txs = msg.block.tx_hashes.len(),
                "proposal {} names more transactions than a block may hold",
                p.block_hash
            );
            return MessageAcceptance::Reject;
        }
        // Only the round's proposer may propose: checked before anything is
        // kept, executed or forwarded. Heights whose set is not known yet
        // are not kept.
        let Some(set) = self.set_of(p.height.0) else {
            return MessageAcceptance::Ignore;
        };
        let leader =
            *consensus_set(&set).proposer(consensus::Height(p.height.0), consensus::Round(p.round));
        if leader != p.proposer {
            debug!(
                height = p.height.0,
                round = p.round,
                "proposal {} is not signed by the round's proposer",
                p.block_hash
            );
            return MessageAcceptance::Reject;
        }
        if let Some(v) = set.get(&p.proposer) {
            let name = v.name.clone();
            self.note_clock(p.proposer, &name, msg.sent_ms, arrived_ms);
        }
        self.sync.heard_height(&from, p.height.0.saturating_sub(1));
        if p.height.0 != self.height() {
            // The next height (or, in the pause after a commit, this one's
            // successor): kept until it starts.
            if self.future_proposals.len() >= FUTURE_PROPOSALS_MAX {
                self.future_proposals.pop_front();
            }
            self.future_proposals.push_back((msg, from, arrived_ms));
            return MessageAcceptance::Accept;
        }
        if p.round
            > self
                .machine
                .round()
                .0
                .saturating_add(CANDIDATE_ROUNDS_AHEAD_MAX)
        {
            return MessageAcceptance::Ignore;
        }
        if !self.note_proposed(p) {
            return MessageAcceptance::Ignore;
        }
        self.feed_proposal(msg, from, arrived_ms);
        MessageAcceptance::Accept
    }

    /// Notes `p`'s block as its proposer's first or second for the round,
    /// and says whether to judge it. A proposer that signs two is
    /// misbehaving: consensus counts the first, and keeps the second aside
    /// only to decide it if the others do, so both are judged (and the
    /// second forwarded, so that others see it too). A third is not.
    fn note_proposed(&mut self, p: &SignedProposal) -> bool {
        let (first, twin) = match self.round_proposals.entry((p.round, p.proposer)) {
            Entry::Vacant(e) => {
                e.insert((p.block_hash, None));
                return true;
            }
            Entry::Occupied(e) => e.into_mut(),
        };
        if *first == p.block_hash || *twin == Some(p.block_hash) {
            return true;
        }
        if twin.is_some() {
            return false;
        }
        warn!(
            height = p.height.0,
            round = p.round,
            proposer = %p.proposer.to_hex(),
            "two different proposals for one round: {first} and {}",
            p.block_hash
        );
        metrics::counter!("minhbach_conflicting_proposals_total").increment(1);
        *twin = Some(p.block_hash);
        true
    }

    /// Judges a proposal at the current height and hands it to consensus,
    /// once its block's transactions are all here; until then it waits and
    /// the missing ones are fetched from the proposer (or the peer it came
    /// from).
    pub(crate) fn feed_proposal(&mut self, msg: ProposalMsg, from: PeerId, arrived_ms: u64) {
        let hash = msg.proposal.block_hash;
        if !self.candidates.contains_key(&hash) {
            let block = match self.fill(&msg.block) {
                Ok(block) => block,
                Err(missing) => {
                    let peer = self.proposer_peer(&msg.proposal.proposer).unwrap_or(from);
                    debug!(
                        height = msg.proposal.height.0,
                        missing = missing.len(),
                        %peer,
                        "fetching the transactions of proposal {hash}"
                    );
                    self.fetch_txs(hash, peer, missing);
                    let p = &msg.proposal;
                    let waiting = self.awaiting.iter().any(|(m, ..)| {
                        (m.proposal.block_hash, m.proposal.round) == (p.block_hash, p.round)
                    });
                    if !waiting {
                        if self.awaiting.len() >= AWAITING_PROPOSALS_MAX {
                            self.awaiting.remove(0);
                        }
                        self.awaiting.push((msg, from, arrived_ms));
                    }
                    return;
                }
            };
            match self.judge_block(block, msg.proposal.round) {
                Judged::Done => {}
                Judged::Unavailable => {
                    if self.retry.len() >= RETRY_PROPOSALS_MAX {
                        self.retry.remove(0);
                    }
                    self.retry.push((msg, from, arrived_ms));
                    let at = self.io.now() + RETRY_READ_AFTER;
                    self.retry_at.get_or_insert(at);
                    return;
                }
                Judged::NoRoom => return,
            }
        }
        let p = msg.proposal;
        let validity = self.validity(&p, arrived_ms);
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

    /// Block H by the one rule of validity, on the committed state, with
    /// the signature verdicts the mempool already holds.
    pub(crate) fn check_block(&mut self, block: &Block) -> Result<BlockOutcome, CheckError> {
        let verdicts = {
            let state = self.shared.state.read().expect("state lock");
            self.shared
                .mempool
                .lock()
                .expect("mempool lock")
                .verdicts_for(&block.txs, &state)
        };
        self.check_verified_block(block, verdicts)
    }

    /// Judges a block by the one rule of validity with its transactions'
    /// signature verdicts given (`None` where not known).
    pub(crate) fn check_verified_block(
        &mut self,
        block: &Block,
        verdicts: Vec<Option<ledger::state::Verdict>>,
    ) -> Result<BlockOutcome, CheckError> {
        let state = self.shared.state.read().expect("state lock");
        validity::check_block(&View::new(self, &state), block, verdicts)
    }

    /// Judges a block by the one rule of validity and keeps it as a
    /// candidate with the verdict. A failed read is not a verdict.
    fn judge_block(&mut self, block: Block, round: u32) -> Judged {
        let hash = block.hash();
        let started = self.io.now();
        let outcome = match self.check_block(&block) {
            Ok(outcome) => {
                debug!(
                    height = block.header.height.0,
                    txs = block.txs.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "checked proposal {hash}"
                );
                Some(outcome)
            }
            Err(CheckError::Invalid(why)) => {
                warn!(
                    height = block.header.height.0,
                    "invalid proposal {hash}: {why}"
                );
                #[cfg(feature = "faults")]
                if self.faults.decide_invalid {
                    // Broken on purpose: an invalid block is taken as valid,
                    // with the outcome of executing its transactions.
                    let state = self.shared.state.read().expect("state lock");
                    let outcome = state.execute_block(&block.txs).ok();
                    drop(state);
                    return self.keep(hash, block, outcome, round);
                }
                None
            }
            Err(e @ CheckError::Unavailable(_)) => {
                warn!(
                    height = block.header.height.0,
                    "proposal {hash} cannot be judged now: {e}"
                );
                return Judged::Unavailable;
            }
        };
        self.keep(hash, block, outcome, round)
    }

    fn keep(
        &mut self,
        hash: Hash,
        block: Block,
        outcome: Option<ledger::BlockOutcome>,
        round: u32,
    ) -> Judged {
        if !self.make_room() {
            return Judged::NoRoom;
        }
        self.candidates.insert(
            hash,
            Candidate {
                block,
                outcome,
                round,
            },
        );
        Judged::Done
    }

    /// Makes room for one more candidate within [`CANDIDATES_MAX`], taking
    /// out the lowest-round one that consensus neither holds as locked or
    /// valid; false if there is none.
    fn make_room(&mut self) -> bool {
        if self.candidates.len() < CANDIDATES_MAX {
            return true;
        }
        let state = self.machine.state();
        let keep: HashSet<Hash> = [state.locked(), state.valid()]
            .into_iter()
            .flatten()
            .map(|v| v.value)
            .collect();
        let out = self
            .candidates
            .iter()
            .filter(|(h, _)| !keep.contains(*h))
            .min_by_key(|(h, c)| (c.round, **h))
            .map(|(h, _)| *h);
        match out {
            Some(h) => {
                self.candidates.remove(&h);
                true
            }
            None => false,
        }
    }

    /// The verdict consensus gets for a proposal of a block already judged:
    /// invalid, or valid, or untimely when fresh and its time is too far
    /// from this clock's reading when it arrived.
    fn validity(&self, p: &SignedProposal, arrived_ms: u64) -> Validity {
        let Some(c) = self.candidates.get(&p.block_hash) else {
            return Validity::Invalid;
        };
        if c.outcome.is_none() {
            return Validity::Invalid;
        }
        if p.pol_round.is_none() {
            if let Err(why) = validity::timely(c.block.header.time_ms, arrived_ms, p.round) {
                warn!(height = p.height.0, "proposal {}: {why}", p.block_hash);
                return Validity::Untimely;
            }
        }
        Validity::Valid
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

    /// Asks `peer` for the transactions of `block` this node lacks, unless
    /// it was asked for them at this height already (see [`super::fetch`]).
    fn fetch_txs(&mut self, block: Hash, peer: PeerId, missing: Vec<Hash>) {
        if !self.tx_fetches.ask(block, peer) {
            return;
        }
        for chunk in missing.chunks(wire::TXS_FETCH_MAX) {
            let id = self.io.request(&peer, SyncRequest::Txs(chunk.to_vec()));
            self.tx_fetches.sent(id, peer, block);
        }
    }

    /// Keeps fetched transactions that a waiting proposal names, then feeds
    /// every waiting proposal that is now complete. An answer to no request
    /// of ours, or from another peer than the one asked, is ignored.
    pub(crate) fn on_fetched(&mut self, peer: PeerId, request: RequestId, txs: Vec<SignedTx>) {
        if !self.tx_fetches.answered(request, &peer) {
            debug!(%peer, "transactions nobody asked for");
            return;
        }
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
        // proposal came from, once.
        for (block, from, missing) in still_missing {
            if from != peer {
                self.fetch_txs(block, from, missing);
            }
        }
    }

    /// Feeds the waiting proposals whose transactions are all here now;
    /// returns, for the others, the block, the peer each came from and what
    /// it lacks.
    pub(crate) fn retry_awaiting(&mut self) -> Vec<(Hash, PeerId, Vec<Hash>)> {
        let height = self.height();
        let mut still = Vec::new();
        let mut missing_out = Vec::new();
        for (msg, from, arrived_ms) in std::mem::take(&mut self.awaiting) {
            if msg.proposal.height.0 != height {
                continue;
            }
            match self.fill(&msg.block) {
                Ok(_) => self.feed_proposal(msg, from, arrived_ms),
                Err(missing) => {
                    missing_out.push((msg.proposal.block_hash, from, missing));
                    still.push((msg, from, arrived_ms));
                }
            }
        }
        self.awaiting.extend(still);
        missing_out
    }

    /// Takes back the block of the recorded valid value, written with the
    /// safety record, so that this validator can propose it again after a
    /// restart; it is judged like any other.
    pub(crate) fn restore_valid_block(&mut self) {
        let Some(valid) = self.machine.state().valid().map(|v| (v.value, v.round)) else {
            return;
        };
        let block = match self.store.valid_block() {
            Ok(Some(bytes)) => Block::decode(&bytes).ok(),
            Ok(None) => None,
            Err(e) => {
                warn!("the valid value's block cannot be read: {e}");
                None
            }
        };
        match block {
            Some(block) if block.hash() == valid.0 => {
                self.valid_block_saved = Some(valid.0);
                self.judge_block(block, valid.1 .0);
            }
            _ => warn!(
                "the block of the valid value {} is not stored; it can only come from a peer",
                valid.0
            ),
        }
    }

    /// Judges again the proposals a failed read held back.
    pub(crate) fn retry_unavailable(&mut self) {
        let height = self.height();
        self.retry_at = None;
        for (msg, from, arrived_ms) in std::mem::take(&mut self.retry) {
            if msg.proposal.height.0 == height {
                self.feed_proposal(msg, from, arrived_ms);
            }
        }
    }

    /// Feeds the proposals kept for the height that just started.
    pub(crate) fn feed_future_proposals(&mut self) {
        let waiting: Vec<Arrived> = self.future_proposals.drain(..).collect();
        for (msg, from, arrived_ms) in waiting {
            match msg.proposal.height.0.cmp(&self.height()) {
                std::cmp::Ordering::Equal => {
                    if self.note_proposed(&msg.proposal) {
                        self.feed_proposal(msg, from, arrived_ms)
                    }
                }
                std::cmp::Ordering::Greater => {
                    self.future_proposals.push_back((msg, from, arrived_ms))
                }
                std::cmp::Ordering::Less => {}
            }
        }
    }
}
