//! The validator sets from genesis to a height: the changes a store lists
//! (feature `store`), and following them from set(1) of the genesis file,
//! one certified header at a time, to set(H). Audit bundles and checkpoint
//! proofs both carry the changes and are both checked this way.

use super::views::{first_difference, to_value};
use super::{BundleHeader, ProofError, SetChange, TrustAnchor};
use crate::block::{CommitCertificate, Header};
use crate::codec::{self, RECORD_BYTES_MAX};
#[cfg(feature = "store")]
use crate::store::{Store, StoreError};
use crate::types::Height;
use crate::validators::ValidatorSet;

impl BundleHeader {
    /// The header from its bytes, after checking that the view says the same.
    pub(crate) fn decode(&self) -> Result<Header, ProofError> {
        let header: Header = codec::decode::<Header, RECORD_BYTES_MAX>(&self.bytes)
            .map_err(|reason| ProofError::HeaderUnreadable { reason })?;
        if header != self.view {
            let (shown, signed) = (to_value(&self.view), to_value(&header));
            let mut path = Vec::new();
            first_difference(&shown, &signed, &mut path);
            return Err(ProofError::HeaderChanged {
                height: header.height,
                field: path.join("."),
            });
        }
        Ok(header)
    }
}

/// Every validator-set change below height `below`, each with its header,
/// certificate and the set it starts, as [`trace_sets`] follows
/// them from genesis.
#[cfg(feature = "store")]
pub(crate) fn set_changes(store: &Store, below: Height) -> Result<Vec<SetChange>, StoreError> {
    let corrupt = |height: Height, what: String| StoreError::Corrupt { height, what };
    let mut changes = Vec::new();
    for k in store.set_change_heights(below)? {
        let b = store
            .block(k)?
            .ok_or_else(|| corrupt(k, "block missing".into()))?;
        let header = b.header;
        if header.validators_hash == header.next_validators_hash {
            return Err(corrupt(
                k,
                "indexed as a validator-set change, but is not one".into(),
            ));
        }
        let certificate = store
            .cert(k)?
            .ok_or_else(|| corrupt(k, "certificate missing".into()))?;
        let next_validators = store
            .validator_set(&header.next_validators_hash)?
            .ok_or_else(|| {
                corrupt(
                    k,
                    format!("validator set {} missing", header.next_validators_hash),
                )
            })?;
        changes.push(SetChange {
            header: BundleHeader::new(&header),
            certificate,
            next_validators,
        });
    }
    Ok(changes)
}

/// set(H) for a block at `target`, reached from set(1) of the genesis
/// file through `changes`: each a certified header k < H, in increasing
/// order, whose next set differs from its own and is the one given.
pub(crate) fn trace_sets(
    anchor: &TrustAnchor,
    changes: &[SetChange],
    target: Height,
) -> Result<ValidatorSet, ProofError> {
    let mut trusted = anchor.validators.clone();
    let mut last_change = Height(0);
    for change in changes {
        let header = change.header.decode()?;
        if header.height <= last_change || header.height >= target {
            return Err(ProofError::ChangeOutOfOrder {
                height: header.height,
                after: last_change,
                target,
            });
        }
        check_certified(anchor, &header, &change.certificate, &trusted)?;
        let given = change.next_validators.hash();
        if given != header.next_validators_hash {
            return Err(ProofError::NextSetMismatch {
                height: header.height,
                next: header.height.next(),
                given,
                committed: header.next_validators_hash,
            });
        }
        if header.next_validators_hash == header.validators_hash {
            return Err(ProofError::NotAChange {
                height: header.height,
            });
        }
        trusted = change.next_validators.clone();
        last_change = header.height;
    }
    Ok(trusted)
}

/// Checks that `header` is of this chain, names `set` as set(H), and that
/// `cert` commits it under `set`.
pub(crate) fn check_certified(
    anchor: &TrustAnchor,
    header: &Header,
    cert: &CommitCertificate,
    set: &ValidatorSet,
) -> Result<(), ProofError> {
    let height = header.height;
    if header.chain_id != anchor.chain_id {
        return Err(ProofError::HeaderWrongChain {
            height,
            found: header.chain_id.clone(),
            chain: anchor.chain_id.clone(),
        });
    }
    if height == Height(1) && header.prev_hash != anchor.genesis_hash {
        return Err(ProofError::NotAfterGenesis {
            prev_hash: header.prev_hash,
            genesis: anchor.genesis_hash,
        });
    }
    let trusted = set.hash();
    if header.validators_hash != trusted {
        return Err(ProofError::ValidatorsHash {
            height,
            named: header.validators_hash,
            trusted,
        });
    }
    let header_hash = header.hash();
    if cert.block_hash != header_hash {
        return Err(ProofError::BlockHashMismatch {
            height,
            header_hash,
            certified: cert.block_hash,
        });
    }
    cert.verify(&anchor.chain_id, height, &header_hash, set)
        .map_err(|reason| ProofError::Certificate { height, reason })
}

/// The power of `set` that signed `cert`'s precommits.
pub(crate) fn signed_power(cert: &CommitCertificate, set: &ValidatorSet) -> u64 {
    cert.precommits
        .iter()
        .map(|v| set.power_of(&v.validator))
        .sum()
}
