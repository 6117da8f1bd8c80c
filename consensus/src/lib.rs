//! Tendermint BFT (Buchman, Kwon and Milosevic, arXiv:1807.04938, Algorithm 1)
//! as a pure state machine, for Minh Bạch's validators.
//!
//! This crate owns the consensus rules: rounds of propose, prevote and
//! precommit with locking; weighted voting power; proposer rotation; timeouts
//! that grow with the round; the safety record that stops a restarted
//! validator from signing anything conflicting; and equivocation evidence.
//!
//! It does not own I/O of any kind. No network, no disk, no clock, no
//! randomness, no threads: [`Consensus::handle`] takes an [`Input`] and returns
//! [`Effect`]s (persist this record, sign and broadcast this vote, schedule
//! this timer, decide this value) that the `node` crate carries out. It is
//! generic over the decided value `V` (the node uses 32-byte block hashes), the
//! validator identity `A` (32-byte ed25519 keys) and the signature `S`, which
//! it treats as opaque. That is what lets `tests/simulation.rs` run a whole
//! cluster in one thread from one seed.
//!
//! Layers, from the inside out:
//! - [`state_machine`]: `apply(state, input) -> (state, outputs)`, one match
//!   arm per line of Algorithm 1;
//! - [`votes`]: the weighted tallies the rules ask about;
//! - [`safety`]: the record consulted before every signature;
//! - [`driver`]: [`Consensus`], which evaluates the rules' conditions and
//!   turns outputs into effects.

pub mod config;
pub mod driver;
pub mod evidence;
pub mod safety;
pub mod state_machine;
pub mod types;
pub mod validators;
pub mod votes;

pub use config::Config;
pub use driver::{Consensus, Decision, Effect, Effects, Input, Message, StartError};
pub use evidence::{Evidence, EvidenceError, VoteVerifier};
pub use safety::{SafetyError, SafetyRecord, SignStep, Signable};
pub use state_machine::{RoundState, ValueAtRound};
pub use types::{
    Height, Proposal, Round, Signed, SignedProposal, SignedVote, Step, Timeout, TimeoutKind,
    Validity, Vote, VoteType, VOTE_DOMAIN_TAG,
};
pub use validators::{Validator, ValidatorSet, ValidatorSetError};
