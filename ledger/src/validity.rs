//! What makes block H valid: the one rule that a validator judging a
//! proposal, a node applying a synced block, and `minhbach verify chain`
//! all apply, so that what one of them accepts no other refuses.
//!
//! [`check_block`] judges a block against a [`ChainView`], the committed
//! chain up to H−1, and gives the block's execution outcome. It does not
//! look at a clock (a fresh proposal's time is a rule of proposing, see
//! [`timely`]) nor at the block's own commit certificate (which is about
//! the decision, not the block).
//!
//! A refusal is either [`CheckError::Invalid`], a verdict about the block
//! that holds on every honest node, or [`CheckError::Unavailable`], a read
//! that failed here; the second says nothing about the block and must not
//! be remembered as a verdict.

use std::collections::HashSet;

use thiserror::Error;

use crate::block::{Block, BlockError, CertError, Evidence, EvidenceError, VoteType};
use crate::codec::{self, BLOCK_BYTES_MAX};
use crate::error::TxError;
use crate::merkle::Frontier;
use crate::state::{BlockOutcome, State, Verdict};
use crate::types::{Hash, Height, PublicKey};
use crate::validators::ValidatorSet;

/// Most transactions in one block. A proposer's own limit
/// (`limits.block_txs` in the node's config) may be lower, never higher.
pub const BLOCK_TXS_MAX: usize = 20_000;
/// Evidence for a height this many blocks or more below the block that
/// carries it has expired.
pub const EVIDENCE_MAX_AGE_BLOCKS: u64 = 100_000;
/// How far a fresh proposal's time may be ahead of the judging validator's
/// clock, and how far behind it in round 0 (see [`lateness_allowed_ms`]).
pub const PROPOSAL_CLOCK_SKEW_MS: u64 = 2_000;

/// What a piece of evidence proves: one validator signed two different
/// votes of one type at one height and round. Two pieces with the same
/// offence (the votes in the other order, or a third conflicting vote)
/// count once: a validator is punished once per offence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Offence {
    /// The validator.
    pub validator: PublicKey,
    /// The height.
    pub height: Height,
    /// The round.
    pub round: u32,
    /// Prevote (true) or precommit.
    pub prevote: bool,
}

impl Evidence {
    /// The offence this evidence proves.
    pub fn offence(&self) -> Offence {
        Offence {
            validator: self.a.validator,
            height: self.a.height,
            round: self.a.round,
            prevote: self.a.vote_type == VoteType::Prevote,
        }
    }
}

/// The committed chain up to block H−1, as the rule for block H sees it.
pub trait ChainView {
    /// The state after block H−1. Block H executes on it; its validators
    /// are set(H), its next validators set(H+1).
    fn state(&self) -> &State;
    /// The hash of block H−1 (the genesis hash for H = 1).
    fn last_hash(&self) -> Hash;
    /// The time of block H−1 (the genesis time for H = 1).
    fn last_time_ms(&self) -> u64;
    /// The history tree over blocks 1..H−1, whose root block H carries.
    fn history(&self) -> &Frontier;
    /// set(H−1), which signed block H−1; `None` for H = 1.
    fn prev_set(&self) -> Option<&ValidatorSet>;
    /// set(h) for a height `h` in `1..H`, to check evidence against.
    fn set_at(&self, h: Height) -> Result<Option<ValidatorSet>, String>;
    /// Whether a block up to H−1 already carries evidence of `offence`.
    fn offence_committed(&self, offence: &Offence) -> Result<bool, String>;
}

/// Why [`check_block`] refuses a block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckError {
    /// The block is invalid on every honest node.
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    /// What the check needed could not be read here; this says nothing
    /// about the block.
    #[error("cannot read what the check needs: {0}")]
    Unavailable(String),
}

/// Why a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidBlock {
    /// Not the next height.
    #[error("the header says height {got}, not {expected}")]
    Height {
        /// H.
        expected: Height,
        /// The header's.
        got: Height,
    },
    /// Another chain's block.
    #[error("the header is for chain {got:?}")]
    Chain {
        /// The header's chain id.
        got: String,
    },
    /// Not the protocol version the chain's state requires at H.
    #[error("the header carries protocol version {got}, but blocks at this height carry version {expected}")]
    Version {
        /// The version required at H.
        expected: u32,
        /// The header's.
        got: u32,
    },
    /// Does not link to block H−1.
    #[error("previous hash {got} does not link to {expected}")]
    PrevHash {
        /// Block H−1's hash.
        expected: Hash,
        /// The header's.
        got: Hash,
    },
    /// Its history root is not the root over blocks 1..H−1.
    #[error("history root {got} is not the root {expected} of the blocks before it")]
    HistoryRoot {
        /// The root over blocks 1..H−1.
        expected: Hash,
        /// The header's.
        got: Hash,
    },
    /// Its time is not after block H−1's.
    #[error("time {time_ms} does not increase past {last_ms}")]
    Time {
        /// The header's time.
        time_ms: u64,
        /// Block H−1's.
        last_ms: u64,
    },
    /// The header does not commit to the block's contents.
    #[error(transparent)]
    Contents(#[from] BlockError),
    /// More transactions than a block may hold.
    #[error("it holds {count} transactions, at most {BLOCK_TXS_MAX} allowed")]
    TooManyTxs {
        /// How many.
        count: usize,
    },
    /// Its encoding is larger than a block may be, so that it could not be
    /// read back once stored.
    #[error("it encodes to {bytes} bytes, at most {BLOCK_BYTES_MAX} allowed")]
    TooLarge {
        /// The encoded size.
        bytes: usize,
    },
    /// The header's set(H) is not the state's.
    #[error("validators_hash is not the hash of set(H)")]
    ValidatorsHash,
    /// The header's set(H+1) is not the state's.
    #[error("next_validators_hash is not the hash of set(H+1)")]
    NextValidatorsHash,
    /// The proposer named in the header is not in set(H).
    #[error("proposer {0} is not in set(H)")]
    Proposer(PublicKey),
    /// Block H > 1 without block H−1's certificate.
    #[error("the last commit is missing")]
    LastCommitMissing,
    /// Block 1 with a last commit.
    #[error("block 1 carries a last commit")]
    LastCommitAtGenesis,
    /// Block H−1's certificate does not verify against set(H−1).
    #[error("last commit: {0}")]
    LastCommit(CertError),
    /// A piece of evidence is refused.
    #[error("evidence {index}: {why}")]
    Evidence {
        /// Its index in the block.
        index: usize,
        /// Why.
        why: EvidenceRefusal,
    },
    /// A transaction is rejected on execution.
    #[error("transaction {index} is rejected on re-execution: {error}")]
    Rejected {
        /// Its index in the block.
        index: usize,
        /// Why.
        error: TxError,
    },
    /// Execution gives another state root than the header's.
    #[error("re-execution gives state root {computed}, the header says {header}")]
    StateRoot {
        /// What execution gives.
        computed: Hash,
        /// The header's.
        header: Hash,
    },
}

/// Why a piece of evidence in a block is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvidenceRefusal {
    /// For height 0 or a height after the block's.
    #[error("it is for height {0}, which has no validator set yet")]
    NotReached(Height),
    /// Too old.
    #[error("it is for height {0} and has expired")]
    Expired(Height),
    /// It does not prove equivocation.
    #[error(transparent)]
    Invalid(#[from] EvidenceError),
    /// An earlier block already carries this offence.
    #[error("its offence is already committed")]
    Committed,
    /// The block carries this offence twice.
    #[error("it repeats an offence of the same block")]
    Repeated,
}

fn invalid(e: impl Into<InvalidBlock>) -> CheckError {
    CheckError::Invalid(e.into())
}

/// Judges block H against the chain up to H−1 and returns its outcome.
///
/// `verdicts` holds a signature verdict per transaction where one is
/// already known (a mempool's cache), `None` where not; see
/// [`State::execute_block_with`]. The checks, in order: height, chain,
/// link, history root, time, contents, size, validator sets and proposer, last commit,
/// evidence, and execution to the header's state root.
pub fn check_block(
    view: &impl ChainView,
    block: &Block,
    verdicts: Vec<Option<Verdict>>,
) -> Result<BlockOutcome, CheckError> {
    let state = view.state();
    let hd = &block.header;
    let h = state.height().next();
    if hd.height != h {
        return Err(invalid(InvalidBlock::Height {
            expected: h,
            got: hd.height,
        }));
    }
    if hd.chain_id != state.chain_id() {
        return Err(invalid(InvalidBlock::Chain {
            got: hd.chain_id.clone(),
        }));
    }
    let version = state.protocol_version_at(h);
    if hd.version != version {
        return Err(invalid(InvalidBlock::Version {
            expected: version,
            got: hd.version,
        }));
    }
    if hd.prev_hash != view.last_hash() {
        return Err(invalid(InvalidBlock::PrevHash {
            expected: view.last_hash(),
            got: hd.prev_hash,
        }));
    }
    let history_root = view.history().root();
    if hd.history_root != history_root {
        return Err(invalid(InvalidBlock::HistoryRoot {
            expected: history_root,
            got: hd.history_root,
        }));
    }
    if hd.time_ms <= view.last_time_ms() {
        return Err(invalid(InvalidBlock::Time {
            time_ms: hd.time_ms,
            last_ms: view.last_time_ms(),
        }));
    }
    block.check_contents().map_err(invalid)?;
    if block.txs.len() > BLOCK_TXS_MAX {
        return Err(invalid(InvalidBlock::TooManyTxs {
            count: block.txs.len(),
        }));
    }
    let bytes = codec::encoded_len(block);
    if bytes > BLOCK_BYTES_MAX {
        return Err(invalid(InvalidBlock::TooLarge { bytes }));
    }
    if hd.validators_hash != state.validators().hash() {
        return Err(invalid(InvalidBlock::ValidatorsHash));
    }
    if hd.next_validators_hash != state.next_validators().hash() {
        return Err(invalid(InvalidBlock::NextValidatorsHash));
    }
    if state.validators().get(&hd.proposer).is_none() {
        return Err(invalid(InvalidBlock::Proposer(hd.proposer)));
    }
    match (&block.last_commit, view.prev_set()) {
        (None, None) => {}
        (Some(c), Some(set)) => c
            .verify(state.chain_id(), Height(h.0 - 1), &view.last_hash(), set)
            .map_err(|e| invalid(InvalidBlock::LastCommit(e)))?,
        (None, Some(_)) => return Err(invalid(InvalidBlock::LastCommitMissing)),
        (Some(_), None) => return Err(invalid(InvalidBlock::LastCommitAtGenesis)),
    }
    let mut seen = HashSet::new();
    for (index, ev) in block.evidence.iter().enumerate() {
        let refused = |why| invalid(InvalidBlock::Evidence { index, why });
        match check_evidence(view, ev)? {
            Ok(()) => {}
            Err(why) => return Err(refused(why)),
        }
        if !seen.insert(ev.offence()) {
            return Err(refused(EvidenceRefusal::Repeated));
        }
    }
    // Every header field but the state root is checked above; execution
    // gives the last.
    let outcome = state
        .execute_block_with(&block.txs, verdicts)
        .map_err(|(index, error)| invalid(InvalidBlock::Rejected { index, error }))?;
    if outcome.state_root != hd.state_root {
        return Err(invalid(InvalidBlock::StateRoot {
            computed: outcome.state_root,
            header: hd.state_root,
        }));
    }
    Ok(outcome)
}

/// Whether a piece of evidence may go in block H: its height is in
/// `1..=H` and not expired, it proves equivocation against the set of its
/// height, and no block up to H−1 carries its offence. The outer error is
/// a failed read; the inner one the verdict.
pub fn check_evidence(
    view: &impl ChainView,
    ev: &Evidence,
) -> Result<Result<(), EvidenceRefusal>, CheckError> {
    let state = view.state();
    let h = state.height().next();
    let eh = ev.height();
    if eh.0 == 0 || eh > h {
        return Ok(Err(EvidenceRefusal::NotReached(eh)));
    }
    if eh.0 + EVIDENCE_MAX_AGE_BLOCKS <= h.0 {
        return Ok(Err(EvidenceRefusal::Expired(eh)));
    }
    let set = if eh == h {
        state.validators().clone()
    } else {
        match view.set_at(eh).map_err(CheckError::Unavailable)? {
            Some(set) => set,
            None => {
                return Err(CheckError::Unavailable(format!(
                    "the validator set of height {eh} is not here"
                )))
            }
        }
    };
    if let Err(e) = ev.verify(state.chain_id(), &set) {
        return Ok(Err(e.into()));
    }
    if view
        .offence_committed(&ev.offence())
        .map_err(CheckError::Unavailable)?
    {
        return Ok(Err(EvidenceRefusal::Committed));
    }
    Ok(Ok(()))
}

/// The clock rule for a fresh proposal (one without a proof-of-lock
/// round) of round `round`: its block's time is at most
/// [`PROPOSAL_CLOCK_SKEW_MS`] ahead of the judging validator's clock when
/// the proposal arrived, `now_ms`, and at most [`lateness_allowed_ms`] of
/// the round behind it. A value re-proposed with a proof of lock was judged
/// when it was first proposed, and a decided block is committed whatever
/// this clock says; the rule is only about prevoting.
///
/// A time ahead of the clock can only be a clock error, and stays bounded.
/// A time behind it is also the delay between the proposer's reading and
/// this validator's handling: the network, the execution of a large block,
/// a queue on a loaded machine. That delay has no fixed bound, so a fixed
/// bound could refuse every fresh proposal for as long as it lasts, and
/// nothing would be committed. The bound grows with the round instead, as
/// CometBFT's proposer-based timestamps let the message delay grow, and a
/// height whose early rounds fail for lateness decides in a later one.
pub fn timely(block_time_ms: u64, now_ms: u64, round: u32) -> Result<(), Untimely> {
    let allowed_ms = if block_time_ms > now_ms {
        PROPOSAL_CLOCK_SKEW_MS
    } else {
        lateness_allowed_ms(round)
    };
    if block_time_ms.abs_diff(now_ms) <= allowed_ms {
        Ok(())
    } else {
        Err(Untimely {
            block_time_ms,
            now_ms,
            allowed_ms,
        })
    }
}

/// How far behind the judging clock a fresh proposal of round `round` may
/// be: [`PROPOSAL_CLOCK_SKEW_MS`] in round 0, and half as much again in each
/// later round (2 s, 3 s, 4.5 s, 6.75 s, ...). A lateness of L seconds is
/// absorbed by round log1.5(L / 2) + 1, while the round timeouts, which
/// grow by the round too, give the proposal time to arrive.
pub fn lateness_allowed_ms(round: u32) -> u64 {
    let mut ms = PROPOSAL_CLOCK_SKEW_MS;
    for _ in 0..round {
        if ms == u64::MAX {
            break;
        }
        ms = ms.saturating_add(ms / 2);
    }
    ms
}

/// A fresh proposal whose time is too far from this validator's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Untimely {
    /// The block's time.
    pub block_time_ms: u64,
    /// This clock, when the proposal arrived.
    pub now_ms: u64,
    /// How far the block's time was allowed to be, on its side of the clock.
    pub allowed_ms: u64,
}

impl std::fmt::Display for Untimely {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ahead, by) = if self.block_time_ms > self.now_ms {
            ("ahead of", self.block_time_ms - self.now_ms)
        } else {
            ("behind", self.now_ms - self.block_time_ms)
        };
        write!(
            f,
            "its time is {by} ms {ahead} this clock, beyond the {} ms allowed",
            self.allowed_ms
        )
    }
}

impl std::error::Error for Untimely {}

/// A [`ChainView`] held in memory, for a reader that walks a chain from
/// genesis (`verify chain`) or a test: the state after the last block, the
/// sets by the height they start at, and the committed offences.
#[derive(Clone, Debug)]
pub struct Walk {
    /// The state after the last block walked.
    pub state: State,
    last_hash: Hash,
    last_time_ms: u64,
    history: Frontier,
    prev_set: Option<ValidatorSet>,
    sets: std::collections::BTreeMap<Height, ValidatorSet>,
    offences: HashSet<Offence>,
}

impl Walk {
    /// At genesis: `state` is the genesis state, with its hash and time.
    pub fn genesis(state: State, genesis_hash: Hash, genesis_time_ms: u64) -> Walk {
        let mut sets = std::collections::BTreeMap::new();
        sets.insert(Height(1), state.validators().clone());
        Walk {
            state,
            last_hash: genesis_hash,
            last_time_ms: genesis_time_ms,
            history: Frontier::default(),
            prev_set: None,
            sets,
            offences: HashSet::new(),
        }
    }

    /// Moves past `block`, whose `outcome` [`check_block`] gave.
    pub fn advance(&mut self, block: &Block, outcome: BlockOutcome) {
        self.prev_set = Some(self.state.validators().clone());
        self.offences
            .extend(block.evidence.iter().map(Evidence::offence));
        self.last_hash = block.hash();
        self.history.push(crate::history::leaf(&self.last_hash));
        self.last_time_ms = block.header.time_ms;
        self.state.commit(outcome);
        let next = self.state.height().next();
        if self.sets.last_key_value().map(|(_, s)| s) != Some(self.state.validators()) {
            self.sets.insert(next, self.state.validators().clone());
        }
    }
}

impl ChainView for Walk {
    fn state(&self) -> &State {
        &self.state
    }
    fn last_hash(&self) -> Hash {
        self.last_hash
    }
    fn last_time_ms(&self) -> u64 {
        self.last_time_ms
    }
    fn history(&self) -> &Frontier {
        &self.history
    }
    fn prev_set(&self) -> Option<&ValidatorSet> {
        self.prev_set.as_ref()
    }
    fn set_at(&self, h: Height) -> Result<Option<ValidatorSet>, String> {
        Ok(self.sets.range(..=h).next_back().map(|(_, s)| s.clone()))
    }
    fn offence_committed(&self, offence: &Offence) -> Result<bool, String> {
        Ok(self.offences.contains(offence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_proposal_of_round_zero_must_be_within_two_seconds_of_the_clock() {
        let now = 1_800_000_000_000;
        assert!(timely(now, now, 0).is_ok());
        assert!(timely(now + 2_000, now, 0).is_ok());
        assert!(timely(now - 2_000, now, 0).is_ok());
        let e = timely(now + 2_001, now, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "its time is 2001 ms ahead of this clock, beyond the 2000 ms allowed"
        );
        let e = timely(now - 2_001, now, 0).unwrap_err().to_string();
        assert_eq!(
            e,
            "its time is 2001 ms behind this clock, beyond the 2000 ms allowed"
        );
        let e = timely(now - 60_000, now, 0).unwrap_err().to_string();
        assert!(e.starts_with("its time is 60000 ms behind"), "{e}");
    }

    #[test]
    fn a_late_proposal_is_allowed_more_lateness_each_round_and_an_early_one_never() {
        assert_eq!(lateness_allowed_ms(0), 2_000);
        assert_eq!(lateness_allowed_ms(1), 3_000);
        assert_eq!(lateness_allowed_ms(2), 4_500);
        assert_eq!(lateness_allowed_ms(3), 6_750);
        assert_eq!(lateness_allowed_ms(u32::MAX), u64::MAX);
        let now = 1_800_000_000_000;
        // Seen 5 s after its time: refused in rounds 0 to 2, taken from 3.
        for round in 0..3 {
            assert!(timely(now - 5_000, now, round).is_err(), "round {round}");
        }
        assert!(timely(now - 5_000, now, 3).is_ok());
        assert!(timely(0, now, 200).is_ok());
        // A time ahead of the clock is a clock error, whatever the round.
        let e = timely(now + 2_001, now, 30).unwrap_err();
        assert_eq!(e.allowed_ms, 2_000);
    }
}
