//! Verifying a bundle with no network: from set(1) in the genesis file,
//! through each certified validator-set change, to the certificate of the
//! transaction's block and the transaction's Merkle path into it.

use super::views::{first_difference, to_value, view_mismatch};
use super::{
    tx_view, AuditBundle, BundleHeader, ProofError, SetChange, TrustAnchor, VerifiedTx,
    BUNDLE_FORMAT, BUNDLE_VERSION,
};
use crate::block::{CommitCertificate, Header};
use crate::codec::{self, RECORD_BYTES_MAX};
use crate::merkle;
use crate::tx::SignedTx;
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

impl AuditBundle {
    /// Checks the bundle against the genesis facts, with no network: see the
    /// documentation of `proof` for what a valid bundle proves.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<VerifiedTx, ProofError> {
        self.check_chain(anchor)?;
        let tx = self.check_tx()?;
        if tx.body.chain_id != anchor.chain_id {
            return Err(ProofError::TxWrongChain {
                tx_chain: tx.body.chain_id,
                chain: anchor.chain_id.clone(),
            });
        }
        let target = self.block.header.decode()?;
        let trusted = trace_sets(anchor, &self.validator_set_changes, target.height)?;
        check_certified(anchor, &target, &self.block.certificate, &trusted)?;
        self.check_inclusion(&target)?;
        let signed_power = self
            .block
            .certificate
            .precommits
            .iter()
            .map(|v| trusted.power_of(&v.validator))
            .sum();
        Ok(VerifiedTx {
            hash: self.tx.hash,
            tx,
            height: target.height,
            index: self.block.index,
            tx_count: target.tx_count,
            block_hash: target.hash(),
            time_ms: target.time_ms,
            signed_power,
            total_power: trusted.total_power(),
            set_changes: self.validator_set_changes.len(),
        })
    }

    fn check_chain(&self, anchor: &TrustAnchor) -> Result<(), ProofError> {
        if self.format != BUNDLE_FORMAT {
            return Err(ProofError::WrongFormat {
                found: format!("{:?}", self.format),
            });
        }
        if self.version != BUNDLE_VERSION {
            return Err(ProofError::UnsupportedVersion {
                found: self.version.to_string(),
            });
        }
        if self.chain_id != anchor.chain_id {
            return Err(ProofError::WrongChain {
                bundle: self.chain_id.clone(),
                genesis: anchor.chain_id.clone(),
            });
        }
        if self.genesis_hash != anchor.genesis_hash {
            return Err(ProofError::WrongGenesis {
                bundle: self.genesis_hash,
                genesis: anchor.genesis_hash,
            });
        }
        Ok(())
    }

    /// The transaction from its bytes, after checking that the view says
    /// the same and that the stated hash is theirs.
    fn check_tx(&self) -> Result<SignedTx, ProofError> {
        let tx = SignedTx::decode(&self.tx.bytes)
            .map_err(|reason| ProofError::TxUnreadable { reason })?;
        let signed = tx_view(&tx);
        if let Some(e) = view_mismatch(&self.tx.view, &signed) {
            return Err(e);
        }
        let actual = tx.hash();
        if actual != self.tx.hash {
            return Err(ProofError::TxHash {
                stated: self.tx.hash,
                actual,
            });
        }
        Ok(tx)
    }

    fn check_inclusion(&self, header: &Header) -> Result<(), ProofError> {
        let proof = &self.block.inclusion;
        if proof.leaf_index != u64::from(self.block.index) {
            return Err(ProofError::LeafIndex {
                index: self.block.index,
                leaf_index: proof.leaf_index,
            });
        }
        if proof.tree_size != u64::from(header.tx_count) {
            return Err(ProofError::TreeSize {
                height: header.height,
                tree_size: proof.tree_size,
                tx_count: header.tx_count,
            });
        }
        let leaf = merkle::leaf_hash(&self.tx.bytes);
        if !proof.verify_bound(&leaf, &header.txs_root, u64::from(header.tx_count)) {
            return Err(ProofError::MerklePath {
                height: header.height,
            });
        }
        Ok(())
    }
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
