//! Verifying a bundle with no network: from set(1) in the genesis file,
//! through each certified validator-set change, to the certificate of the
//! transaction's block and the transaction's Merkle path into it, then the
//! block's path into each history that witnesses cosigned.

use super::views::view_mismatch;
use super::witnessed::check_witnesses;
use super::{
    check_certified, signed_power, trace_sets, tx_view, AuditBundle, ProofError, SignerKeys,
    TrustAnchor, VerifiedTx, BUNDLE_FORMAT, BUNDLE_VERSION,
};
use crate::block::Header;
use crate::merkle;
use crate::state::{StateKey, StateValue};
use crate::tx::SignedTx;
use crate::types::Hash;

impl TrustAnchor {
    /// Refuses a bundle made for another chain or genesis than this one.
    pub(super) fn check_bundle_chain(
        &self,
        chain_id: &str,
        genesis_hash: Hash,
    ) -> Result<(), ProofError> {
        if chain_id != self.chain_id {
            return Err(ProofError::WrongChain {
                bundle: chain_id.to_owned(),
                genesis: self.chain_id.clone(),
            });
        }
        if genesis_hash != self.genesis_hash {
            return Err(ProofError::WrongGenesis {
                bundle: genesis_hash,
                genesis: self.genesis_hash,
            });
        }
        Ok(())
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
        let signer_keys = self.check_signer(&tx, &target)?;
        let block_hash = target.hash();
        let witnessed = check_witnesses(&self.witnesses, anchor, target.height, &block_hash)?;
        let signed_power = signed_power(&self.block.certificate, &trusted);
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
            signer_keys,
        })
    }

    /// The signer's keys when block `target` began, if the bundle carries
    /// them: its entity after the block whose header `target` names as the
    /// previous one, proved against that header's state root.
    fn check_signer(
        &self,
        tx: &SignedTx,
        target: &Header,
    ) -> Result<Option<SignerKeys>, ProofError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let header = signer.header.decode()?;
        let hash = header.hash();
        if header.height.next() != target.height || hash != target.prev_hash {
            return Err(ProofError::SignerHeader {
                height: target.height,
                prev_hash: target.prev_hash,
                given: header.height,
                given_hash: hash,
            });
        }
        let (key, value) = signer.entry.check_under(&header)?;
        if key != StateKey::Entity(tx.body.signer.clone()) {
            return Err(ProofError::SignerOther {
                signer: tx.body.signer.clone(),
            });
        }
        let Some(StateValue::Entity(entity)) = value else {
            return Err(ProofError::SignerAbsent {
                signer: tx.body.signer.clone(),
                after: header.height,
            });
        };
        let signed_by_held = tx
            .signatures
            .iter()
            .filter(|s| entity.holds(&s.key))
            .count();
        Ok(Some(SignerKeys {
            after: header.height,
            keys: entity.keys,
            threshold: entity.threshold,
            signed_by_held,
        }))
    }

    fn check_chain(&self, anchor: &TrustAnchor) -> Result<(), ProofError> {
        ProofError::check_format((&self.format, self.version), BUNDLE_FORMAT, BUNDLE_VERSION)?;
        anchor.check_bundle_chain(&self.chain_id, self.genesis_hash)
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
