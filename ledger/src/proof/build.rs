//! Building a bundle from a node's store (feature `store`): the committed
//! transaction, its block, every validator-set change from genesis to that
//! block, each with its certificate, and the checkpoints at or above the
//! block that witnesses cosigned.

use super::witnessed::witnessed_checkpoints;
use super::{
    set_changes, tx_view, AuditBundle, BundleBlock, BundleEntry, BundleHeader, BundleTx,
    SignerState, StateBlock, StateBundle, BUNDLE_FORMAT, BUNDLE_VERSION, STATE_BUNDLE_FORMAT,
    STATE_BUNDLE_VERSION,
};
use crate::merkle::InclusionProof;
use crate::state::StateKey;
use crate::store::{ChainMeta, Store, StoreError};
use crate::types::{EntityId, Hash, Height};

/// The store's chain facts, if it is of `genesis_hash`'s chain.
fn chain_of(store: &Store, genesis_hash: Hash) -> Result<Option<ChainMeta>, StoreError> {
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
    Ok(Some(meta))
}

impl StateBundle {
    /// The state proof of `key` after block `height` (the last committed
    /// block for `None`), or `None` if the store has not committed that
    /// height or it is 0 (genesis has no certificate: prove at 1 or later).
    pub fn build(
        store: &Store,
        genesis_hash: Hash,
        key: &StateKey,
        height: Option<Height>,
    ) -> Result<Option<StateBundle>, StoreError> {
        let Some(meta) = chain_of(store, genesis_hash)? else {
            return Ok(None);
        };
        let h = height.unwrap_or(meta.height);
        if h == Height(0) || h > meta.height {
            return Ok(None);
        }
        let corrupt = |what: &str| StoreError::Corrupt {
            height: h,
            what: what.into(),
        };
        let entry = store
            .entry_proof(key, h)?
            .ok_or_else(|| corrupt("no state proof at a committed height"))?;
        let block = store.block(h)?.ok_or_else(|| corrupt("block missing"))?;
        let certificate = store
            .cert(h)?
            .ok_or_else(|| corrupt("certificate missing"))?;
        Ok(Some(StateBundle {
            format: STATE_BUNDLE_FORMAT.into(),
            version: STATE_BUNDLE_VERSION,
            chain_id: meta.chain_id.clone(),
            genesis_hash,
            entry: BundleEntry::new(key, entry.value.as_ref(), entry.proof),
            block: StateBlock {
                header: BundleHeader::new(&block.header),
                certificate,
            },
            validator_set_changes: set_changes(store, h)?,
            witnesses: witnessed_checkpoints(store, &meta.chain_id, meta.height, h)?,
        }))
    }
}

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
        let Some(meta) = chain_of(store, genesis_hash)? else {
            return Ok(None);
        };
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
        let signer = signer_state(store, &tx.body.signer, h)?;
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
            signer,
        }))
    }
}

/// `signer`'s entity after block `h` − 1 with its proof and that block's
/// header; `None` for block 1, whose previous state is the genesis's.
fn signer_state(
    store: &Store,
    signer: &EntityId,
    h: Height,
) -> Result<Option<SignerState>, StoreError> {
    if h <= Height(1) {
        return Ok(None);
    }
    let before = Height(h.0 - 1);
    let corrupt = |what: &str| StoreError::Corrupt {
        height: before,
        what: what.into(),
    };
    let key = StateKey::Entity(signer.clone());
    let entry = store
        .entry_proof(&key, before)?
        .ok_or_else(|| corrupt("no state proof at a committed height"))?;
    let block = store
        .block(before)?
        .ok_or_else(|| corrupt("block missing"))?;
    Ok(Some(SignerState {
        entry: BundleEntry::new(&key, entry.value.as_ref(), entry.proof),
        header: BundleHeader::new(&block.header),
    }))
}
