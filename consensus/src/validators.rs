//! Validator sets: weighted voting power, the >2/3 and >1/3 thresholds, and
//! proposer rotation.
//!
//! This module owns the arithmetic of power. It does not know how a validator
//! set changes from height to height (the ledger's `add-validator` and
//! `remove-validator` rule, SPEC §2); the node hands consensus the set of each
//! height.
//!
//! Proposer rotation is a pure function of (set, height, round): every unit of
//! power is a slot, slot `k = (height + round) mod total_power` is mapped to a
//! position by multiplying with a stride close to `total_power / φ` and
//! coprime to it. The map is a permutation of the slots, so over any
//! `total_power` consecutive values of `height + round` each validator
//! proposes exactly `power` times, and the golden-ratio stride spreads those
//! turns evenly (three-distance theorem) instead of giving one validator a run
//! of consecutive heights.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::types::{Height, Round};

/// One validator and its voting power.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validator<A> {
    /// The validator's identity (the node uses its 32-byte ed25519 key).
    pub address: A,
    /// Voting power; never zero inside a [`ValidatorSet`].
    pub power: u64,
}

/// Why a list of validators is not a valid set.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ValidatorSetError {
    /// A set must hold at least one validator.
    #[error("a validator set must not be empty")]
    Empty,
    /// Every validator must have some power.
    #[error("validator at index {index} has zero voting power")]
    ZeroPower {
        /// Position in the input list.
        index: usize,
    },
    /// A validator appears twice.
    #[error("validator at index {index} appears more than once")]
    Duplicate {
        /// Position in the input list of the second occurrence.
        index: usize,
    },
    /// The total power must fit in a `u64`.
    #[error("total voting power overflows u64 at index {index}")]
    TotalPowerOverflow {
        /// Position in the input list where the sum overflowed.
        index: usize,
    },
}

/// A validator set, sorted by address so that every node sees it in the same
/// order. Private fields guard the invariants: non-empty, no duplicates, no
/// zero power, total power fits in `u64`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSet<A> {
    validators: Vec<Validator<A>>,
    /// `cumulative_power[i]` = sum of powers of validators `0..=i`.
    cumulative_power: Vec<u64>,
    total_power: u64,
    proposer_stride: u64,
}

impl<A: Ord + Clone> ValidatorSet<A> {
    /// Builds a set; the order of the input does not matter.
    pub fn new(
        validators: impl IntoIterator<Item = Validator<A>>,
    ) -> Result<Self, ValidatorSetError> {
        let mut list: Vec<(usize, Validator<A>)> = validators.into_iter().enumerate().collect();
        if list.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if let Some((index, _)) = list.iter().find(|(_, v)| v.power == 0) {
            return Err(ValidatorSetError::ZeroPower { index: *index });
        }
        list.sort_by(|(ia, a), (ib, b)| a.address.cmp(&b.address).then(ia.cmp(ib)));
        if let Some(pair) = list.windows(2).find(|w| w[0].1.address == w[1].1.address) {
            return Err(ValidatorSetError::Duplicate { index: pair[1].0 });
        }
        let mut cumulative_power = Vec::with_capacity(list.len());
        let mut total: u64 = 0;
        for (index, v) in &list {
            total = total
                .checked_add(v.power)
                .ok_or(ValidatorSetError::TotalPowerOverflow { index: *index })?;
            cumulative_power.push(total);
        }
        let validators: Vec<Validator<A>> = list.into_iter().map(|(_, v)| v).collect();
        let set = ValidatorSet {
            validators,
            cumulative_power,
            total_power: total,
            proposer_stride: golden_stride(total),
        };
        assert!(set.total_power > 0);
        assert_eq!(gcd(set.proposer_stride, set.total_power), 1);
        Ok(set)
    }

    /// The validators, sorted by address.
    pub fn validators(&self) -> &[Validator<A>] {
        &self.validators
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false: a set is never empty. Present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of all voting power.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// The power of `address`, or `None` if it is not in the set.
    pub fn power_of(&self, address: &A) -> Option<u64> {
        self.index_of(address).map(|i| self.validators[i].power)
    }

    /// True if `address` is a member.
    pub fn contains(&self, address: &A) -> bool {
        self.index_of(address).is_some()
    }

    fn index_of(&self, address: &A) -> Option<usize> {
        self.validators
            .binary_search_by(|v| v.address.cmp(address))
            .ok()
    }

    /// True if `power` is more than two thirds of the total (`2f + 1`).
    /// Computed in `u128`, so no input can overflow.
    pub fn is_quorum(&self, power: u64) -> bool {
        u128::from(power) * 3 > u128::from(self.total_power) * 2
    }

    /// True if `power` is more than one third of the total (`f + 1`): at
    /// least one honest validator is among its holders.
    pub fn is_one_third_plus(&self, power: u64) -> bool {
        u128::from(power) * 3 > u128::from(self.total_power)
    }

    /// The proposer of `(height, round)`: a pure function of the set, the
    /// height and the round, weighted by power (see the module header).
    pub fn proposer(&self, height: Height, round: Round) -> &A {
        let total = u128::from(self.total_power);
        let slot = (u128::from(height.0) + u128::from(round.0)) % total;
        let position = (slot * u128::from(self.proposer_stride)) % total;
        // `position < total_power <= u64::MAX`, so the conversion is exact.
        let position = u64::try_from(position).expect("position < total power");
        let index = self.cumulative_power.partition_point(|&c| c <= position);
        assert!(index < self.validators.len());
        &self.validators[index].address
    }
}

/// A stride close to `total / φ` and coprime to `total`, so that
/// `slot ↦ slot · stride mod total` is a permutation with a good spread.
fn golden_stride(total: u64) -> u64 {
    // 1/φ ≈ 0.618033988749894848 as a fraction over 10^18.
    const INV_PHI_NUM: u128 = 618_033_988_749_894_848;
    const INV_PHI_DEN: u128 = 1_000_000_000_000_000_000;
    let mut stride = u64::try_from(u128::from(total) * INV_PHI_NUM / INV_PHI_DEN)
        .expect("stride < total")
        .max(1);
    // Integers coprime to `total` are dense (gaps are O(log total)), so this
    // loop is short; it ends at the latest when `stride == total - 1`, which is
    // always coprime, or at 1 when total is 1 or 2.
    while gcd(stride, total) != 1 {
        stride += 1;
    }
    stride
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(powers: &[u64]) -> ValidatorSet<u32> {
        ValidatorSet::new(powers.iter().enumerate().map(|(i, &p)| Validator {
            address: i as u32,
            power: p,
        }))
        .unwrap()
    }

    #[test]
    fn thresholds_match_exact_fractions() {
        // Independent expectation: quorum iff 3p > 2t, one-third-plus iff 3p > t,
        // checked by brute force over small totals.
        for powers in [
            &[1u64, 1, 1, 1][..],
            &[1, 2, 3],
            &[5],
            &[10, 10, 10, 1],
            &[7, 7, 7],
        ] {
            let s = set(powers);
            let t = s.total_power();
            for p in 0..=t {
                assert_eq!(s.is_quorum(p), 3 * p > 2 * t, "quorum p={p} t={t}");
                assert_eq!(s.is_one_third_plus(p), 3 * p > t, "f+1 p={p} t={t}");
            }
        }
        // n = 4, equal power: 3 of 4 is a quorum, 2 of 4 is not; 2 is f+1, 1 is not.
        let s = set(&[1, 1, 1, 1]);
        assert!(s.is_quorum(3) && !s.is_quorum(2));
        assert!(s.is_one_third_plus(2) && !s.is_one_third_plus(1));
    }

    #[test]
    fn thresholds_do_not_overflow_near_u64_max() {
        let big = u64::MAX / 3;
        let s = set(&[big, big, big]);
        assert_eq!(s.total_power(), big * 3);
        assert!(s.is_quorum(big * 2 + 1));
        assert!(!s.is_quorum(big * 2));
        assert!(s.is_one_third_plus(big + 1));
        assert!(!s.is_one_third_plus(big));
        // Proposer computation stays in range for huge totals.
        for r in 0..100 {
            let _ = s.proposer(Height(u64::MAX), Round(u32::MAX - r));
        }
    }

    #[test]
    fn rejects_bad_sets() {
        let v = |a: u32, p: u64| Validator {
            address: a,
            power: p,
        };
        assert_eq!(
            ValidatorSet::<u32>::new(vec![]),
            Err(ValidatorSetError::Empty)
        );
        assert_eq!(
            ValidatorSet::new(vec![v(1, 1), v(2, 0)]),
            Err(ValidatorSetError::ZeroPower { index: 1 })
        );
        assert_eq!(
            ValidatorSet::new(vec![v(1, 1), v(2, 1), v(1, 3)]),
            Err(ValidatorSetError::Duplicate { index: 2 })
        );
        assert_eq!(
            ValidatorSet::new(vec![v(1, u64::MAX), v(2, 1)]),
            Err(ValidatorSetError::TotalPowerOverflow { index: 1 })
        );
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let a = ValidatorSet::new(vec![
            Validator {
                address: 3u32,
                power: 2,
            },
            Validator {
                address: 1,
                power: 5,
            },
        ])
        .unwrap();
        let b = ValidatorSet::new(vec![
            Validator {
                address: 1u32,
                power: 5,
            },
            Validator {
                address: 3,
                power: 2,
            },
        ])
        .unwrap();
        assert_eq!(a, b);
        for h in 0..20 {
            assert_eq!(
                a.proposer(Height(h), Round(0)),
                b.proposer(Height(h), Round(0))
            );
        }
    }

    #[test]
    fn proposer_weighting_is_exact_over_one_cycle() {
        for powers in [
            &[1u64, 1, 1, 1][..],
            &[1, 2, 3, 4],
            &[10, 1, 1],
            &[3, 3, 3, 3, 3, 3, 2],
        ] {
            let s = set(powers);
            let total = s.total_power();
            // Any window of `total` consecutive (height + round) values, starting anywhere.
            for start in [0u64, 7, 1_000_003] {
                let mut counts = vec![0u64; powers.len()];
                for k in start..start + total {
                    counts[*s.proposer(Height(k), Round(0)) as usize] += 1;
                }
                assert_eq!(counts, powers.to_vec(), "powers {powers:?} start {start}");
            }
        }
    }

    #[test]
    fn proposer_rotates_with_round_and_is_pure() {
        let s = set(&[1, 1, 1, 1]);
        let h = Height(5);
        let mut seen: Vec<u32> = (0..4).map(|r| *s.proposer(h, Round(r))).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            vec![0, 1, 2, 3],
            "4 rounds visit all 4 equal validators"
        );
        assert_eq!(s.proposer(h, Round(2)), s.clone().proposer(h, Round(2)));
        // A heavy validator is never starved, a light one is not over-served:
        // with powers 10:1:1, validator 0 never gets more than... it gets 10 of 12,
        // and the two light ones are not adjacent to each other.
        let s = set(&[10, 1, 1]);
        let seq: Vec<u32> = (0..12).map(|k| *s.proposer(Height(k), Round(0))).collect();
        assert_eq!(seq.iter().filter(|&&p| p == 0).count(), 10);
        assert!(seq.windows(2).all(|w| !(w[0] != 0 && w[1] != 0)), "{seq:?}");
    }

    #[test]
    fn stride_is_coprime() {
        for t in 1..2000u64 {
            let s = golden_stride(t);
            assert!(s >= 1 && (s < t || t == 1), "t={t} s={s}");
            assert_eq!(gcd(s, t), 1);
        }
    }
}
