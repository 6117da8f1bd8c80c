//! A validator that breaks the protocol on purpose, so that tests can show
//! that the honest validators withstand it. It is built only with the
//! `byzantine` feature, and acts only in a process that calls [`enable`]
//! (the tests' `minhbach-byzantine` binary does, `minhbach` never does) or
//! in a core whose `byzantine` switch the simulator turned on.
//!
//! Once enabled, the validator splits its peers into two groups and signs
//! everything twice:
//! - in each round it leads, it proposes the block it built to the first
//!   group, and a twin (no transactions, one millisecond later) to the second;
//! - it prevotes and precommits its honest choice to the first group, and a
//!   conflicting value to the second: the twin when it leads, nil when its
//!   honest vote is for a block, or else a block that does not exist.
//!
//! A message reaches only its group because gossipsub publishes to no peer
//! whose score is under the publish threshold, and the other group's score is
//! pushed under it while the message goes out. Honest peers relay what they
//! accept, so each group also sees the other group's message a moment later:
//! that is how the double signing becomes evidence.

use std::sync::atomic::{AtomicBool, Ordering};

use ledger::builder::{build_block_with, BlockTemplate};
use ledger::{Hash, Height, Vote};
use libp2p::gossipsub::{PeerScoreParams, PeerScoreThresholds};
use libp2p::{PeerId, Swarm};
use tracing::warn;

use super::{Candidate, Core, Io, Topic};
use crate::net::Behaviour;
use crate::wire::{self, CompactBlock, ProposalMsg, SignedProposal, VoteMsg};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The score given to the group a message must not reach: under the default
/// publish threshold (−50), above the default graylist threshold (−80), so
/// the group's own messages are still read.
pub(super) const SHUNNED: f64 = -70.0;

/// Makes every validator this process runs Byzantine.
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Whether [`enable`] was called.
pub(super) fn enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

/// Turns on the peer scores that publishing to one group works with.
pub(super) fn start(swarm: &mut Swarm<Behaviour>) {
    let params = PeerScoreParams {
        app_specific_weight: 1.0,
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    };
    if let Err(e) = swarm
        .behaviour_mut()
        .gossipsub
        .with_peer_score(params, PeerScoreThresholds::default())
    {
        warn!("byzantine: peer scores: {e}");
    }
    warn!("this validator is Byzantine: it double-signs and proposes twins");
}

impl<I: Io> Core<I> {
    /// The two groups of connected peers, halves of the sorted peer ids.
    fn groups(&self) -> [Vec<PeerId>; 2] {
        let mut first: Vec<PeerId> = self.connected.iter().copied().collect();
        first.sort();
        let second = first.split_off(first.len().div_ceil(2));
        [first, second]
    }

    /// Publishes to group `to` (0 or 1) only.
    fn publish_to(&mut self, topic: Topic, bytes: Vec<u8>, to: usize) {
        let [first, second] = self.groups();
        let (to, not) = if to == 0 {
            (first, second)
        } else {
            (second, first)
        };
        self.io.publish_to(topic, bytes, &to, &not);
    }

    /// Proposes `msg`'s block to the first group and a twin of it to the
    /// second.
    pub(super) fn byzantine_propose(&mut self, msg: ProposalMsg) {
        let p = msg.proposal.clone();
        self.publish_to(Topic::Proposals, wire::encode(&msg), 0);
        let (Some(key), Some(built)) = (&self.key, self.candidates.get(&p.block_hash)) else {
            return;
        };
        let a = &built.block;
        let template = BlockTemplate {
            prev_hash: a.header.prev_hash,
            history_root: a.header.history_root,
            time_ms: a.header.time_ms + 1,
            proposer: a.header.proposer,
            last_commit: a.last_commit.clone(),
            evidence: a.evidence.clone(),
        };
        let twin = {
            let state = self.shared.state.read().expect("state lock");
            build_block_with(&state, Vec::new(), Vec::new(), template)
        };
        let Ok((block, outcome)) = twin else {
            warn!("byzantine: the twin block cannot be built");
            return;
        };
        let twin_hash = block.hash();
        let signed = SignedProposal::sign(
            key,
            self.shared.chain_id(),
            p.height,
            p.round,
            twin_hash,
            p.pol_round,
        );
        let twin_msg = ProposalMsg {
            proposal: signed,
            block: CompactBlock::of(&block),
            sent_ms: self.io.wall_ms(),
        };
        self.candidates.insert(
            twin_hash,
            Candidate {
                block,
                outcome: Some(outcome),
                round: p.round,
            },
        );
        self.twins.retain(|(h, _), _| *h >= p.height.0);
        self.twins
            .insert((p.height.0, p.round), (p.block_hash, twin_hash));
        warn!(
            height = p.height.0,
            round = p.round,
            "byzantine: proposing {} and its twin {twin_hash}",
            p.block_hash
        );
        self.publish_to(Topic::Proposals, wire::encode(&twin_msg), 1);
    }

    /// Sends the honest `vote` to the first group and a conflicting one to
    /// the second.
    pub(super) fn byzantine_vote(&mut self, vote: Vote) {
        let Some(key) = &self.key else { return };
        let conflicting = match self.twins.get(&(vote.height.0, vote.round)) {
            Some((a, b)) if vote.block_hash == Some(*a) => Some(*b),
            Some((a, _)) if vote.block_hash.is_none() => Some(*a),
            _ => match vote.block_hash {
                Some(_) => None,
                None => Some(Hash::digest(
                    format!("no such block {} {}", vote.height.0, vote.round).as_bytes(),
                )),
            },
        };
        let other = Vote::sign(
            key,
            self.shared.chain_id(),
            vote.vote_type,
            Height(vote.height.0),
            vote.round,
            conflicting,
        );
        let sent_ms = self.io.wall_ms();
        let encode = |vote| wire::encode(&VoteMsg { vote, sent_ms });
        warn!(
            "byzantine: double-signing a {:?} at height {} round {}",
            vote.vote_type, vote.height.0, vote.round
        );
        self.publish_to(Topic::Votes, encode(vote), 0);
        self.publish_to(Topic::Votes, encode(other), 1);
    }
}
