//! The safety record: what this validator last signed, and its locked and
//! valid value and round — the small piece of state that must be durable
//! before any vote or proposal leaves the process (SPEC §4, STYLE item 4).
//!
//! This module owns the rule "never sign anything that conflicts with what was
//! signed or locked": [`SafetyRecord::authorize`] is asked before every
//! signature, and it either updates the record (which the driver then asks the
//! node to persist) or refuses. It does not write to disk: persistence is the
//! [`crate::Effect::PersistSafetyRecord`] effect that the node carries out,
//! and syncs, before it signs.
//!
//! Why the lock is in the record: if every validator restarts and forgets its
//! lock, a value locked by 2/3+ in round `r` can lose to a fresh proposal in
//! round `r+1`, and the chain forks with no Byzantine node at all.
//!
//! Why the valid value's polka is in the record: a restarted validator that
//! keeps its lock but not the 2f+1 prevotes behind it re-proposes its valid
//! value with a proof-of-lock round nobody can check any more; validators
//! that missed those prevotes then prevote nil forever while the locked ones
//! prevote nil for everything else. The seeded simulator found exactly this
//! livelock. With the polka in the record, the restarted proposer sends it
//! along with its proposal.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::state_machine::ValueAtRound;
use crate::types::{Height, Proposal, Round, SignedVote, Vote, VoteType};

/// Something a validator signs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Signable<V, A> {
    /// A proposal (step propose).
    Proposal(Proposal<V, A>),
    /// A prevote or precommit.
    Vote(Vote<V, A>),
}

/// The step a signable belongs to, in round order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SignStep {
    /// A proposal.
    Propose,
    /// A prevote.
    Prevote,
    /// A precommit.
    Precommit,
}

impl<V, A> Signable<V, A> {
    /// The height signed at.
    pub fn height(&self) -> Height {
        match self {
            Signable::Proposal(p) => p.height,
            Signable::Vote(v) => v.height,
        }
    }
    /// The round signed at.
    pub fn round(&self) -> Round {
        match self {
            Signable::Proposal(p) => p.round,
            Signable::Vote(v) => v.round,
        }
    }
    /// The step signed at.
    pub fn step(&self) -> SignStep {
        match self {
            Signable::Proposal(_) => SignStep::Propose,
            Signable::Vote(v) => match v.vote_type {
                VoteType::Prevote => SignStep::Prevote,
                VoteType::Precommit => SignStep::Precommit,
            },
        }
    }
}

/// Why the record refuses to sign, or is unusable.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SafetyError {
    /// Signing at a height below the record's.
    #[error("refusing to sign at height {height}: already signed at height {record_height}")]
    HeightRegressed {
        /// Height asked for.
        height: Height,
        /// Height of the record.
        record_height: Height,
    },
    /// Signing at an earlier (round, step) of the record's height.
    #[error("refusing to sign {step:?} of round {round} at height {height}: already signed {last_step:?} of round {last_round}")]
    RoundStepRegressed {
        /// Height.
        height: Height,
        /// Round asked for.
        round: Round,
        /// Step asked for.
        step: SignStep,
        /// Round last signed.
        last_round: Round,
        /// Step last signed.
        last_step: SignStep,
    },
    /// Signing something different at the (height, round, step) last signed.
    #[error("refusing to sign a different {step:?} at height {height}, round {round}: that would equivocate")]
    Conflict {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// Step.
        step: SignStep,
    },
    /// Prevoting for another value than the locked one without a polka at
    /// least as recent as the lock (paper L29).
    #[error("refusing to prevote another value at height {height}, round {round}: locked in round {locked_round}, polka round {polka_round:?}")]
    LockViolation {
        /// Height.
        height: Height,
        /// Round of the prevote.
        round: Round,
        /// Round of the lock.
        locked_round: Round,
        /// Round of the justifying polka, if any.
        polka_round: Option<Round>,
    },
    /// A record read back from storage contradicts itself.
    #[error("corrupt safety record: {reason}")]
    Corrupt {
        /// What is inconsistent.
        reason: &'static str,
    },
}

/// At most this many rounds of a height keep their signatures in the record
/// (the most recent ones); it bounds the record's size.
pub const RECORD_ROUNDS_MAX: usize = 16;

/// What a validator signed at its latest height (the last
/// [`RECORD_ROUNDS_MAX`] rounds of it), with its lock and valid value (and
/// the prevotes that made it valid). Persisted by the node before every
/// signature.
///
/// Signatures of earlier rounds are kept, not only the last one: a validator
/// that restarts must still be able to re-send what the network may have
/// lost. Otherwise a validator that restarts at its precommit step cannot
/// re-send its prevote, and one that moved to round r+1 cannot re-send its
/// precommit of round r to validators still waiting in round r for 2f+1
/// precommits; both stall the height for good (the simulator found both).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyRecord<V, A, S> {
    height: Height,
    /// Everything signed at `height` (latest rounds), in (round, step) order.
    signed: Vec<Signable<V, A>>,
    locked: Option<ValueAtRound<V>>,
    valid: Option<ValueAtRound<V>>,
    valid_polka: Vec<SignedVote<V, A, S>>,
}

impl<V: Clone + Eq, A: Clone + Eq, S: Clone> SafetyRecord<V, A, S> {
    /// An empty record: nothing signed at `height` yet.
    pub fn new(height: Height) -> Self {
        SafetyRecord {
            height,
            signed: Vec::new(),
            locked: None,
            valid: None,
            valid_polka: Vec::new(),
        }
    }

    /// The height of the last signature (or the starting height).
    pub fn height(&self) -> Height {
        self.height
    }
    /// The last thing signed at [`Self::height`].
    pub fn last_signed(&self) -> Option<&Signable<V, A>> {
        self.signed.last()
    }
    /// Everything signed at [`Self::height`] in its last
    /// [`RECORD_ROUNDS_MAX`] rounds, in (round, step) order.
    pub fn signed(&self) -> &[Signable<V, A>] {
        &self.signed
    }
    /// The lock at [`Self::height`] when the last signature was made.
    pub fn locked(&self) -> Option<&ValueAtRound<V>> {
        self.locked.as_ref()
    }
    /// The valid value at [`Self::height`] when the last signature was made.
    pub fn valid(&self) -> Option<&ValueAtRound<V>> {
        self.valid.as_ref()
    }

    /// The prevotes for the valid value in its round (2f+1 of the power when
    /// the record was written), so that a restarted proposer can justify
    /// re-proposing it.
    pub fn valid_polka(&self) -> &[SignedVote<V, A, S>] {
        &self.valid_polka
    }

    /// Checks a record read back from storage (STYLE item 5: check after reading).
    pub fn check_consistent(&self) -> Result<(), SafetyError> {
        let polka_matches = match &self.valid {
            None => self.valid_polka.is_empty(),
            Some(valid) => self.valid_polka.iter().all(|v| {
                v.message.vote_type == VoteType::Prevote
                    && v.message.height == self.height
                    && v.message.round == valid.round
                    && v.message.value.as_ref() == Some(&valid.value)
            }),
        };
        if !polka_matches {
            return Err(SafetyError::Corrupt {
                reason: "valid polka does not match the valid value",
            });
        }
        let Some(last) = self.signed.last() else {
            if self.locked.is_some() || self.valid.is_some() {
                return Err(SafetyError::Corrupt {
                    reason: "a lock or valid value without any signature",
                });
            }
            return Ok(());
        };
        if last.height() != self.height {
            return Err(SafetyError::Corrupt {
                reason: "last signature is not at the record's height",
            });
        }
        let in_order = self.signed.windows(2).all(|w| {
            w[0].height() == w[1].height()
                && (w[0].round(), w[0].step()) < (w[1].round(), w[1].step())
        });
        if !in_order {
            return Err(SafetyError::Corrupt {
                reason: "signatures are not of one height in (round, step) order",
            });
        }
        let after_last =
            |x: &Option<ValueAtRound<V>>| x.as_ref().is_some_and(|x| x.round > last.round());
        if after_last(&self.locked) || after_last(&self.valid) {
            return Err(SafetyError::Corrupt {
                reason: "lock or valid round after the last signature",
            });
        }
        Ok(())
    }

    /// Would signing `item` be safe? `polka_round` is the round of the polka
    /// that justifies a prevote for a value other than the locked one.
    pub fn check(
        &self,
        item: &Signable<V, A>,
        polka_round: Option<Round>,
    ) -> Result<(), SafetyError> {
        let height = item.height();
        if height < self.height {
            return Err(SafetyError::HeightRegressed {
                height,
                record_height: self.height,
            });
        }
        if height > self.height {
            return Ok(()); // A new height: nothing signed, nothing locked there.
        }
        let (round, step) = (item.round(), item.step());
        if let Some(last) = self.signed.last() {
            let (last_round, last_step) = (last.round(), last.step());
            if (round, step) < (last_round, last_step) {
                return Err(SafetyError::RoundStepRegressed {
                    height,
                    round,
                    step,
                    last_round,
                    last_step,
                });
            }
            if (round, step) == (last_round, last_step) {
                // Signing the same thing again is how a restarted validator
                // re-sends a vote that may never have left; anything else is
                // equivocation.
                return if item == last {
                    Ok(())
                } else {
                    Err(SafetyError::Conflict {
                        height,
                        round,
                        step,
                    })
                };
            }
        }
        if let (Signable::Vote(vote), Some(locked)) = (item, &self.locked) {
            let other_value = vote.value.as_ref().is_some_and(|v| *v != locked.value);
            let justified = polka_round.is_some_and(|p| p >= locked.round && p < round);
            if vote.vote_type == VoteType::Prevote && other_value && !justified {
                return Err(SafetyError::LockViolation {
                    height,
                    round,
                    locked_round: locked.round,
                    polka_round,
                });
            }
        }
        Ok(())
    }

    /// Checks `item` and, if safe, records it with the lock, the valid value
    /// and its polka that the state machine holds after deciding to sign it.
    /// The caller must then persist the record before signing.
    pub fn authorize(
        &mut self,
        item: Signable<V, A>,
        polka_round: Option<Round>,
        locked: Option<ValueAtRound<V>>,
        valid: Option<ValueAtRound<V>>,
        valid_polka: Vec<SignedVote<V, A, S>>,
    ) -> Result<(), SafetyError> {
        self.check(&item, polka_round)?;
        if item.height() == self.height {
            // A lock only moves forward within a height (L38 locks in round_p,
            // which only grows); a regression is a bug in the caller.
            if let Some(old) = &self.locked {
                assert!(
                    locked.as_ref().is_some_and(|new| new.round >= old.round),
                    "lock regressed within a height"
                );
            }
        }
        for x in [&locked, &valid].into_iter().flatten() {
            assert!(
                x.round <= item.round(),
                "lock or valid round ahead of the signature"
            );
        }
        if item.height() != self.height {
            self.signed.clear();
        }
        self.height = item.height();
        if self.signed.last() != Some(&item) {
            self.signed.push(item);
        }
        let rounds = |signed: &[Signable<V, A>]| {
            let mut rounds: Vec<Round> = signed.iter().map(Signable::round).collect();
            rounds.dedup();
            rounds
        };
        let held = rounds(&self.signed);
        if held.len() > RECORD_ROUNDS_MAX {
            let oldest_kept = held[held.len() - RECORD_ROUNDS_MAX];
            self.signed.retain(|s| s.round() >= oldest_kept);
        }
        assert!(rounds(&self.signed).len() <= RECORD_ROUNDS_MAX);
        self.locked = locked;
        self.valid = valid;
        self.valid_polka = valid_polka;
        debug_assert_eq!(self.check_consistent(), Ok(()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rec = SafetyRecord<u8, u8, ()>;

    fn vote(vote_type: VoteType, h: u64, r: u32, value: Option<u8>) -> Signable<u8, u8> {
        Signable::Vote(Vote {
            vote_type,
            height: Height(h),
            round: Round(r),
            value,
            validator: 1,
        })
    }
    fn at(value: u8, round: u32) -> Option<ValueAtRound<u8>> {
        Some(ValueAtRound {
            value,
            round: Round(round),
        })
    }

    #[test]
    fn same_vote_again_is_allowed_a_different_one_is_refused() {
        let mut rec = Rec::new(Height(5));
        let pv = vote(VoteType::Prevote, 5, 0, Some(3));
        rec.authorize(pv.clone(), None, None, None, vec![]).unwrap();
        assert_eq!(rec.check(&pv, None), Ok(()));
        assert!(matches!(
            rec.check(&vote(VoteType::Prevote, 5, 0, Some(4)), None),
            Err(SafetyError::Conflict { .. })
        ));
        assert!(matches!(
            rec.check(&vote(VoteType::Prevote, 5, 0, None), None),
            Err(SafetyError::Conflict { .. })
        ));
    }

    #[test]
    fn keeps_the_signatures_of_the_height_within_the_round_bound() {
        let mut rec = Rec::new(Height(5));
        let a = vote(VoteType::Prevote, 5, 0, Some(3));
        let b = vote(VoteType::Precommit, 5, 0, None);
        let c = vote(VoteType::Prevote, 5, 1, None);
        rec.authorize(a.clone(), None, None, None, vec![]).unwrap();
        rec.authorize(b.clone(), None, None, None, vec![]).unwrap();
        rec.authorize(b.clone(), None, None, None, vec![]).unwrap();
        assert_eq!(rec.signed(), &[a.clone(), b.clone()]);
        assert_eq!(rec.last_signed(), Some(&b));
        rec.authorize(c.clone(), None, None, None, vec![]).unwrap();
        assert_eq!(rec.signed(), &[a, b, c]);
        assert_eq!(rec.check_consistent(), Ok(()));
        // Only the latest RECORD_ROUNDS_MAX rounds are kept.
        for r in 2..40 {
            rec.authorize(
                vote(VoteType::Prevote, 5, r, None),
                None,
                None,
                None,
                vec![],
            )
            .unwrap();
        }
        assert_eq!(rec.signed().len(), RECORD_ROUNDS_MAX);
        assert_eq!(
            rec.signed()[0].round(),
            Round(40 - RECORD_ROUNDS_MAX as u32)
        );
        // A new height starts afresh.
        let d = vote(VoteType::Prevote, 6, 0, None);
        rec.authorize(d.clone(), None, None, None, vec![]).unwrap();
        assert_eq!(rec.signed(), &[d]);
        assert_eq!(rec.check_consistent(), Ok(()));
    }

    #[test]
    fn regressions_are_refused() {
        let mut rec = Rec::new(Height(5));
        rec.authorize(
            vote(VoteType::Precommit, 5, 2, None),
            None,
            None,
            None,
            vec![],
        )
        .unwrap();
        assert!(matches!(
            rec.check(&vote(VoteType::Prevote, 5, 2, None), None),
            Err(SafetyError::RoundStepRegressed { .. })
        ));
        assert!(matches!(
            rec.check(&vote(VoteType::Precommit, 5, 1, None), None),
            Err(SafetyError::RoundStepRegressed { .. })
        ));
        assert!(matches!(
            rec.check(&vote(VoteType::Prevote, 4, 9, None), None),
            Err(SafetyError::HeightRegressed { .. })
        ));
        assert_eq!(
            rec.check(&vote(VoteType::Prevote, 5, 3, None), None),
            Ok(())
        );
        assert_eq!(
            rec.check(&vote(VoteType::Prevote, 6, 0, Some(1)), None),
            Ok(())
        );
    }

    #[test]
    fn lock_is_kept_unless_a_recent_enough_polka_justifies() {
        let mut rec = Rec::new(Height(5));
        // Precommit 7 in round 1, locking on it.
        rec.authorize(
            vote(VoteType::Precommit, 5, 1, Some(7)),
            None,
            at(7, 1),
            at(7, 1),
            vec![],
        )
        .unwrap();
        let other = vote(VoteType::Prevote, 5, 3, Some(8));
        assert!(matches!(
            rec.check(&other, None),
            Err(SafetyError::LockViolation { .. })
        ));
        assert!(matches!(
            rec.check(&other, Some(Round(0))),
            Err(SafetyError::LockViolation { .. })
        ));
        assert_eq!(rec.check(&other, Some(Round(1))), Ok(()));
        assert_eq!(rec.check(&other, Some(Round(2))), Ok(()));
        // A polka from the future (≥ the vote's round) justifies nothing.
        assert!(matches!(
            rec.check(&other, Some(Round(3))),
            Err(SafetyError::LockViolation { .. })
        ));
        // Nil and the locked value need no justification.
        assert_eq!(
            rec.check(&vote(VoteType::Prevote, 5, 3, None), None),
            Ok(())
        );
        assert_eq!(
            rec.check(&vote(VoteType::Prevote, 5, 3, Some(7)), None),
            Ok(())
        );
        // The lock does not carry to the next height.
        assert_eq!(
            rec.check(&vote(VoteType::Prevote, 6, 0, Some(8)), None),
            Ok(())
        );
    }

    #[test]
    fn corrupt_records_are_detected() {
        let mut rec = Rec::new(Height(5));
        assert_eq!(rec.check_consistent(), Ok(()));
        rec.authorize(
            vote(VoteType::Precommit, 5, 1, Some(7)),
            None,
            at(7, 1),
            at(7, 1),
            vec![],
        )
        .unwrap();
        assert_eq!(rec.check_consistent(), Ok(()));
        let mut bad = rec.clone();
        bad.height = Height(6);
        assert!(bad.check_consistent().is_err());
        let mut bad = rec.clone();
        bad.locked = at(7, 2);
        assert!(bad.check_consistent().is_err());
        let mut bad = Rec::new(Height(5));
        bad.valid = at(1, 0);
        assert!(bad.check_consistent().is_err());
    }
}
