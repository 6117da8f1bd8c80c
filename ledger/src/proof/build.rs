//! Building a bundle from a node's store (feature `store`): the committed
//! transaction, its block, every validator-set change from genesis to that
//! block, each with its certificate, and the checkpoints at or above the
//! block that witnesses cosigned.

use super::witnessed::witnessed_checkpoints;
use super::{
    set_changes, tx_view, AuditBundle, BundleBlock, BundleHeader, BundleTx, BUNDLE_FORMAT,
    BUNDLE_VERSION,
};
use crate::merkle::InclusionProof;
use crate::store::{Store, StoreError};
use crate::types::{Hash, Height};

impl AuditBundle {
    /// The bundle of the committed transaction `tx_hash`, or `None` if the
    /// store has no such committed transaction.
    ///
    /// Cost: the validator-set changes (a change at k is a header whose
    /// `validators_hash` differs from its `next_validators_hash`) come from
    /// the store's index of them, so building reads one block per change
    /// plus the transaction's own block.
    pub fn build(
        store: &Store,
        genesis_hash: Hash,
        tx_hash: &Hash,
    ) -> Result<Option<AuditBundle>, StoreError> {
        let corrupt = |height: Height, what: String| StoreError::Corrupt { height, what };
        let Some(meta) = store.meta()? else {
            return Ok(None);
        };
        if meta.genesis_hash != genesis_hash {
            return Err(StoreError::OtherChain {
                expected: meta.chain_id.clone(),
                expected_genesis: genesis_hash,
                found: meta.chain_id,
                found_genesis: meta.genesis_hash,
            });
        }
        let Some(loc) = store.tx_location(tx_hash)? else {
            return Ok(None);
        };
        let h = loc.height;
        let block = store
            .block(h)?
            .ok_or_else(|| corrupt(h, format!("indexed block of {tx_hash} missing")))?;
        let certificate = store
            .cert(h)?
            .ok_or_else(|| corrupt(h, "certificate missing".into()))?;
        let index = loc.index as usize;
        let tx = block
            .txs
            .get(index)
            .ok_or_else(|| corrupt(h, format!("index of {tx_hash} points past the block")))?;
        if tx.hash() != *tx_hash {
            return Err(corrupt(h, format!("index of {tx_hash} points at another")));
        }
        let inclusion = InclusionProof::generate(&block.tx_leaf_hashes(), index)
            .expect("the index is inside the block");
        let changes = set_changes(store, h)?;
        let witnesses = witnessed_checkpoints(store, &meta.chain_id, meta.height, h)?;
        Ok(Some(AuditBundle {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            chain_id: meta.chain_id,
            genesis_hash,
            tx: BundleTx {
                hash: *tx_hash,
                bytes: tx.encode(),
                view: tx_view(tx),
            },
            block: BundleBlock {
                header: BundleHeader::new(&block.header),
                index: loc.index,
                inclusion,
                certificate,
            },
            validator_set_changes: changes,
            witnesses,
        }))
    }
}
