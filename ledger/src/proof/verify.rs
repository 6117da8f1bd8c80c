//! Verifying a bundle with no network: from set(1) in the genesis file,
//! through each certified validator-set change, to the certificate of the
//! transaction's block and the transaction's Merkle path into it, then the
//! block's path into each history that witnesses cosigned.

use super::views::view_mismatch;
use super::{
    check_certified, trace_sets, tx_view, AuditBundle, ProofError, TrustAnchor, VerifiedTx,
    BUNDLE_FORMAT, BUNDLE_VERSION,
};
use crate::block::Header;
use crate::merkle;
use crate::tx::SignedTx;

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
        let block_hash = target.hash();
        let witnessed = self.check_witnesses(anchor, target.height, &block_hash)?;
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
            block_hash,
            time_ms: target.time_ms,
            signed_power,
            total_power: trusted.total_power(),
            set_changes: self.validator_set_changes.len(),
            witnesses: witnessed.counted,
            uncounted_witnesses: witnessed.uncounted,
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
