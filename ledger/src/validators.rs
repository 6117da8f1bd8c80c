//! Validator sets: who decides a height and with what voting power, and the
//! rule that bounds how much a set may change at once.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::TxError;
use crate::types::{Hash, PeerId, PublicKey};

/// Most validators in one set.
pub const VALIDATORS_MAX: usize = 150;
/// Largest total voting power, so that 3 × power never overflows a `u64`.
pub const TOTAL_POWER_MAX: u64 = 1 << 60;

/// A validator.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Validator {
    /// Display name.
    pub name: String,
    /// Key that signs votes and proposals.
    pub consensus_key: PublicKey,
    /// libp2p peer id of its node.
    pub peer_id: PeerId,
    /// Voting power.
    pub power: u64,
}

/// A validator set, kept sorted by consensus key so that its hash does not
/// depend on the order changes were made in.
#[derive(Clone, PartialEq, Eq, Debug, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
}

impl ValidatorSet {
    /// Builds a set, refusing duplicate keys or peer ids, zero power, and sets
    /// that are empty, too large or too powerful.
    pub fn new(mut validators: Vec<Validator>) -> Result<ValidatorSet, TxError> {
        validators.sort_by_key(|v| v.consensus_key);
        let set = ValidatorSet { validators };
        set.check()?;
        Ok(set)
    }

    fn check(&self) -> Result<(), TxError> {
        let err = |reason: String| Err(TxError::ValidatorSet { reason });
        if self.validators.is_empty() {
            return err("the validator set would be empty".into());
        }
        if self.validators.len() > VALIDATORS_MAX {
            return err(format!("more than {VALIDATORS_MAX} validators"));
        }
        let mut total: u64 = 0;
        for (i, v) in self.validators.iter().enumerate() {
            if v.power == 0 {
                return Err(TxError::InvalidArgument {
                    field: "power",
                    reason: format!("validator {} has zero power", v.name),
                });
            }
            total = total.saturating_add(v.power);
            if i > 0 && self.validators[i - 1].consensus_key == v.consensus_key {
                return Err(TxError::Duplicate {
                    what: "validator key",
                    id: v.consensus_key.to_hex(),
                });
            }
            if self.validators[..i].iter().any(|o| o.peer_id == v.peer_id) {
                return Err(TxError::Duplicate {
                    what: "peer id",
                    id: v.peer_id.to_string(),
                });
            }
        }
        if total > TOTAL_POWER_MAX {
            return err(format!("total power {total} exceeds {TOTAL_POWER_MAX}"));
        }
        Ok(())
    }

    /// The validators, sorted by consensus key.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The validator with this key.
    pub fn get(&self, key: &PublicKey) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.consensus_key.cmp(key))
            .ok()
            .map(|i| &self.validators[i])
    }

    /// The power of `key`, zero if it is not in the set.
    pub fn power_of(&self, key: &PublicKey) -> u64 {
        self.get(key).map_or(0, |v| v.power)
    }

    /// Sum of all power (bounded by [`TOTAL_POWER_MAX`]).
    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }

    /// True if `power` is more than 2/3 of the total.
    pub fn is_supermajority(&self, power: u64) -> bool {
        3 * u128::from(power) > 2 * u128::from(self.total_power())
    }

    /// SHA-256 of the canonical encoding; committed in block headers.
    pub fn hash(&self) -> Hash {
        Hash::digest(&codec::encode(self))
    }

    /// A copy with `v` added.
    pub fn with_added(&self, v: Validator) -> Result<ValidatorSet, TxError> {
        let mut vs = self.validators.clone();
        vs.push(v);
        ValidatorSet::new(vs)
    }

    /// A copy with the validator of `key` removed.
    pub fn with_removed(&self, key: &PublicKey) -> Result<ValidatorSet, TxError> {
        let before = self.validators.len();
        let vs: Vec<Validator> = self
            .validators
            .iter()
            .filter(|v| v.consensus_key != *key)
            .cloned()
            .collect();
        if vs.len() == before {
            return Err(TxError::UnknownEntity {
                what: "validator",
                id: key.to_hex(),
            });
        }
        ValidatorSet::new(vs)
    }
}

/// The carry-over rule of SPEC §2: the power of validators present in both
/// sets must be more than 2/3 of the old total and more than 2/3 of the new.
pub fn check_carry_over(old: &ValidatorSet, new: &ValidatorSet) -> Result<(), TxError> {
    let carried: u64 = old
        .validators
        .iter()
        .filter_map(|v| new.get(&v.consensus_key).map(|n| n.power.min(v.power)))
        .sum();
    if old.is_supermajority(carried) && new.is_supermajority(carried) {
        return Ok(());
    }
    Err(TxError::ValidatorSet {
        reason: format!(
            "only {carried} voting power carries over, which must be more than 2/3 of both the \
             old total {} and the new total {}",
            old.total_power(),
            new.total_power()
        ),
    })
}
