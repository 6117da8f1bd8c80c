//! The vocabulary of consensus: heights, rounds, steps, proposals, votes and
//! the signed envelopes around them.
//!
//! This module owns plain data only. It does not sign or verify anything (the
//! node does, see [`crate::evidence::VoteVerifier`]) and it does not encode
//! messages for the wire (the node chooses the byte layout; the signed bytes
//! of a vote are domain-separated with [`VOTE_DOMAIN_TAG`]).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Domain tag that the node prepends (with the chain id) to the bytes of a
/// vote before signing it (SPEC §4). Consensus never signs; the tag lives here
/// so that every signer and verifier names the same constant.
pub const VOTE_DOMAIN_TAG: &[u8] = b"minhbach/vote/v1";

/// A block height: the index of one consensus instance.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Height(pub u64);

impl Height {
    /// The next height. Heights never reach `u64::MAX` in practice; saturating
    /// keeps the function total.
    pub fn next(self) -> Height {
        Height(self.0.saturating_add(1))
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A round within a height. The paper's round `-1` ("none") is spelt
/// `Option<Round>::None` throughout this crate.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Round(pub u32);

impl Round {
    /// The next round (saturating; a height never lasts 2^32 rounds).
    pub fn next(self) -> Round {
        Round(self.0.saturating_add(1))
    }
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The step of a round (paper line 4), plus `Unstarted` before round 0 and
/// `Commit` once the height is decided. The order is the order of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Step {
    /// The height is known but `StartRound(0)` has not run yet.
    Unstarted,
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for a polka or for the prevote timeout.
    Prevote,
    /// Precommitted; waiting for a decision or for the precommit timeout.
    Precommit,
    /// The height is decided; waiting for the node to start the next height.
    Commit,
}

/// The two kinds of vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VoteType {
    /// First-stage vote of a round.
    Prevote,
    /// Second-stage vote of a round; 2/3+ of precommits for a value decide it.
    Precommit,
}

/// An unsigned vote. `value: None` is a vote for nil.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Vote<V, A> {
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// Height voted on.
    pub height: Height,
    /// Round voted on.
    pub round: Round,
    /// The value voted for, or `None` for nil.
    pub value: Option<V>,
    /// The validator casting the vote.
    pub validator: A,
}

/// An unsigned proposal (paper: `⟨PROPOSAL, h, r, v, vr⟩`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Proposal<V, A> {
    /// Height proposed for.
    pub height: Height,
    /// Round proposed in.
    pub round: Round,
    /// The proposed value (a block hash for the node).
    pub value: V,
    /// The proof-of-lock round `vr`: `None` for a fresh value, otherwise the
    /// earlier round in which the value got 2/3+ prevotes.
    pub pol_round: Option<Round>,
    /// The validator that proposes; must be `proposer(set, height, round)`.
    pub proposer: A,
}

/// A message with its signature. Consensus treats `S` as opaque.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Signed<M, S> {
    /// The signed message.
    pub message: M,
    /// The signature over the message's canonical bytes.
    pub signature: S,
}

/// A signed vote.
pub type SignedVote<V, A, S> = Signed<Vote<V, A>, S>;
/// A signed proposal.
pub type SignedProposal<V, A, S> = Signed<Proposal<V, A>, S>;

/// The application's verdict on a proposed value (paper: `valid(v)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Validity {
    /// The value (block) executes without rejection on top of the previous one.
    Valid,
    /// The value is valid, but its fresh proposal broke a rule of this
    /// validator's own judging, such as a time too far from its clock. It
    /// is not prevoted for fresh (L22), but once more than 2/3 have shown
    /// it acceptable it is locked on (L36) and decided (L49) like a valid
    /// one: what the others found timely must not stall this validator.
    /// This is the timeliness rule of proposer-based timestamps.
    Untimely,
    /// The value is not acceptable; honest validators prevote nil for it.
    Invalid,
}

impl Validity {
    /// True for a value that may be locked on and decided:
    /// [`Validity::Valid`] or [`Validity::Untimely`].
    pub fn is_valid(self) -> bool {
        !matches!(self, Validity::Invalid)
    }

    /// True for [`Validity::Valid`] only: a fresh proposal this validator
    /// prevotes for.
    pub fn is_timely_valid(self) -> bool {
        matches!(self, Validity::Valid)
    }
}

/// The kinds of timer the state machine asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimeoutKind {
    /// Paper L21: no proposal arrived in time.
    Propose,
    /// Paper L35: 2/3+ prevotes arrived but no polka for one value or nil.
    Prevote,
    /// Paper L48: 2/3+ precommits arrived but no decision.
    Precommit,
    /// Not in the paper: re-send our own signed messages of the current round,
    /// because the network may drop them (the paper assumes reliable gossip).
    Rebroadcast,
}

/// A timer: which kind, for which height and round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timeout {
    /// What the timer is for.
    pub kind: TimeoutKind,
    /// Height the timer was scheduled at.
    pub height: Height,
    /// Round the timer was scheduled at.
    pub round: Round,
}
