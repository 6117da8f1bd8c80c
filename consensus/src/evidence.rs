//! Evidence of equivocation: two signed votes of one type, height and round,
//! from one validator, for different values (nil included).
//!
//! This module owns the shape of evidence and its stand-alone check against
//! the validator set of its height. It does not own a signature scheme: the
//! node implements [`VoteVerifier`] with ed25519 (ZIP-215) over the vote's
//! canonical bytes prefixed by [`crate::VOTE_DOMAIN_TAG`] and the chain id.
//! Nor does it decide how long evidence is kept or how many pieces a block
//! carries (SPEC §4: the ledger's rules).

use thiserror::Error;

use crate::types::{Height, Round, SignedVote, Vote, VoteType};
use crate::validators::ValidatorSet;

/// Checks one vote's signature. Implemented by the node; consensus never
/// verifies signatures of live traffic itself (the node does, before feeding
/// a vote in), but evidence must be checkable by anyone, alone.
pub trait VoteVerifier<V, A, S> {
    /// True if `signature` is `vote.validator`'s valid signature over `vote`.
    fn verify_vote(&self, vote: &Vote<V, A>, signature: &S) -> bool;
}

/// Why a pair of votes is not (valid) evidence.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EvidenceError {
    /// The votes differ in validator, type, height or round.
    #[error(
        "the two votes differ in {field}; evidence needs one validator, type, height and round"
    )]
    Mismatch {
        /// Which field differs.
        field: &'static str,
    },
    /// The votes are for the same value: that is a duplicate, not equivocation.
    #[error("the two votes are for the same value")]
    SameValue,
    /// The validator is not in the set of the evidence's height.
    #[error("the voter is not in the validator set of height {height}")]
    UnknownValidator {
        /// Height of the evidence.
        height: Height,
    },
    /// A signature does not verify.
    #[error("signature of vote {which} (0 or 1) does not verify")]
    BadSignature {
        /// Index of the failing vote.
        which: usize,
    },
}

/// Two conflicting signed votes. The votes are kept in a canonical order
/// (nil first, then by value) so that the same equivocation seen by two
/// nodes is the same evidence, and can be deduplicated by equality.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Evidence<V, A, S> {
    votes: [SignedVote<V, A, S>; 2],
}

impl<V: Ord + Clone, A: Ord + Clone, S: Clone> Evidence<V, A, S> {
    /// Builds evidence from two votes, checking that they conflict. Does not
    /// check signatures or membership: see [`Evidence::verify`].
    pub fn new(a: SignedVote<V, A, S>, b: SignedVote<V, A, S>) -> Result<Self, EvidenceError> {
        let (x, y) = (&a.message, &b.message);
        if x.validator != y.validator {
            return Err(EvidenceError::Mismatch { field: "validator" });
        }
        if x.vote_type != y.vote_type {
            return Err(EvidenceError::Mismatch { field: "vote type" });
        }
        if x.height != y.height {
            return Err(EvidenceError::Mismatch { field: "height" });
        }
        if x.round != y.round {
            return Err(EvidenceError::Mismatch { field: "round" });
        }
        if x.value == y.value {
            return Err(EvidenceError::SameValue);
        }
        let votes = if x.value < y.value { [a, b] } else { [b, a] };
        Ok(Evidence { votes })
    }

    /// Checks the evidence alone against the validator set of its height:
    /// the votes conflict, the voter is in the set, both signatures verify.
    pub fn verify(
        &self,
        validators: &ValidatorSet<A>,
        verifier: &impl VoteVerifier<V, A, S>,
    ) -> Result<(), EvidenceError> {
        // `new` is the only constructor, so the pair conflicts; checked again
        // because this is the check a block validator relies on.
        Evidence::new(self.votes[0].clone(), self.votes[1].clone())?;
        if !validators.contains(self.validator()) {
            return Err(EvidenceError::UnknownValidator {
                height: self.height(),
            });
        }
        for (which, vote) in self.votes.iter().enumerate() {
            if !verifier.verify_vote(&vote.message, &vote.signature) {
                return Err(EvidenceError::BadSignature { which });
            }
        }
        Ok(())
    }

    /// The equivocating validator.
    pub fn validator(&self) -> &A {
        &self.votes[0].message.validator
    }
    /// Height of both votes.
    pub fn height(&self) -> Height {
        self.votes[0].message.height
    }
    /// Round of both votes.
    pub fn round(&self) -> Round {
        self.votes[0].message.round
    }
    /// Type of both votes.
    pub fn vote_type(&self) -> VoteType {
        self.votes[0].message.vote_type
    }
    /// The two votes, in canonical order.
    pub fn votes(&self) -> &[SignedVote<V, A, S>; 2] {
        &self.votes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Signed;
    use crate::validators::Validator;

    /// Signature = validator + 100 × (value or 0) + 1000 × round: a toy scheme
    /// whose verifier is independent of the code under test.
    struct Toy;
    impl VoteVerifier<u8, u8, u32> for Toy {
        fn verify_vote(&self, v: &Vote<u8, u8>, s: &u32) -> bool {
            *s == toy_sig(v)
        }
    }
    fn toy_sig(v: &Vote<u8, u8>) -> u32 {
        u32::from(v.validator) + 100 * u32::from(v.value.unwrap_or(0)) + 1000 * v.round.0
    }
    fn signed(validator: u8, round: u32, value: Option<u8>) -> SignedVote<u8, u8, u32> {
        let message = Vote {
            vote_type: VoteType::Precommit,
            height: Height(3),
            round: Round(round),
            value,
            validator,
        };
        let signature = toy_sig(&message);
        Signed { message, signature }
    }
    fn set() -> ValidatorSet<u8> {
        ValidatorSet::new((1..=4).map(|a| Validator {
            address: a,
            power: 1,
        }))
        .unwrap()
    }

    #[test]
    fn nil_versus_value_is_evidence_and_verifies() {
        let e = Evidence::new(signed(2, 0, Some(7)), signed(2, 0, None)).unwrap();
        assert_eq!(
            e.votes()[0].message.value,
            None,
            "canonical order: nil first"
        );
        assert_eq!(e.validator(), &2);
        assert_eq!(e.verify(&set(), &Toy), Ok(()));
        // Same evidence either way round.
        assert_eq!(
            e,
            Evidence::new(signed(2, 0, None), signed(2, 0, Some(7))).unwrap()
        );
    }

    #[test]
    fn rejects_non_conflicting_pairs() {
        assert_eq!(
            Evidence::new(signed(2, 0, Some(7)), signed(2, 0, Some(7))),
            Err(EvidenceError::SameValue)
        );
        assert_eq!(
            Evidence::new(signed(2, 0, Some(7)), signed(3, 0, Some(8))),
            Err(EvidenceError::Mismatch { field: "validator" })
        );
        assert_eq!(
            Evidence::new(signed(2, 0, Some(7)), signed(2, 1, Some(8))),
            Err(EvidenceError::Mismatch { field: "round" })
        );
    }

    #[test]
    fn verify_catches_bad_signature_and_outsider() {
        let mut forged = signed(2, 0, Some(8));
        forged.signature += 1;
        let e = Evidence::new(signed(2, 0, Some(7)), forged).unwrap();
        assert_eq!(
            e.verify(&set(), &Toy),
            Err(EvidenceError::BadSignature { which: 1 })
        );
        let e = Evidence::new(signed(9, 0, Some(7)), signed(9, 0, None)).unwrap();
        assert_eq!(
            e.verify(&set(), &Toy),
            Err(EvidenceError::UnknownValidator { height: Height(3) })
        );
    }
}
