//! The witnessed checkpoints of a bundle: gathering, from a node's store,
//! the witnesses' latest cosignatures that reach the block (feature
//! `store`), and checking each checkpoint's history path and cosignatures.
//!
//! Validators could sign another history than the one they showed the
//! witnesses; a witness who cosigned a checkpoint at or above the block was
//! shown a history holding this block at this height, whose root is the one
//! it signed.

use std::collections::BTreeSet;

use super::{ProofError, TrustAnchor, WitnessedCheckpoint};
use crate::history;
use crate::types::{EntityId, Hash, Height};
use crate::witness::cosignature::Cosignature;

/// Who stands behind a block, from its bundle's witnessed checkpoints.
#[derive(Debug, Default)]
pub(super) struct Witnessed {
    /// Witnesses of the anchor, each once, by id.
    pub(super) counted: Vec<EntityId>,
    /// Other valid cosigners, each once, by id.
    pub(super) uncounted: Vec<EntityId>,
}

/// Checks every witnessed checkpoint of a bundle against block `block`
/// (hashing to `block_hash`): in increasing height, none below the block,
/// the block's history path bound to the checkpoint's root and size, and
/// every cosignature for this chain and checkpoint, signed by its key.
/// Counts the cosigners that `anchor` trusts by id and key.
pub(super) fn check_witnesses(
    checkpoints: &[WitnessedCheckpoint],
    anchor: &TrustAnchor,
    block: Height,
    block_hash: &Hash,
) -> Result<Witnessed, ProofError> {
    let leaf = history::leaf(block_hash);
    let mut counted = BTreeSet::new();
    let mut uncounted = BTreeSet::new();
    let mut after = Height(0);
    for cp in checkpoints {
        check_checkpoint(cp, block, &leaf, after)?;
        after = cp.height;
        for c in &cp.cosignatures {
            check_cosignature(anchor, cp, c)?;
            let trusted = anchor
                .witnesses()
                .iter()
                .any(|(id, key)| *id == c.witness && *key == c.key);
            if trusted {
                counted.insert(c.witness.clone());
            } else {
                uncounted.insert(c.witness.clone());
            }
        }
    }
    let uncounted = uncounted.difference(&counted).cloned().collect();
    Ok(Witnessed {
        counted: counted.into_iter().collect(),
        uncounted,
    })
}

/// The checkpoint's place after `after`, and block `block`'s path (of
/// history leaf `leaf`) into it.
fn check_checkpoint(
    cp: &WitnessedCheckpoint,
    block: Height,
    leaf: &Hash,
    after: Height,
) -> Result<(), ProofError> {
    let checkpoint = cp.height;
    if checkpoint < block {
        return Err(ProofError::CheckpointBelowBlock { checkpoint, block });
    }
    if checkpoint <= after {
        return Err(ProofError::CheckpointOutOfOrder { checkpoint, after });
    }
    let proof = &cp.inclusion;
    // Block 0 is the genesis, in no history.
    let Some(expected) = block.0.checked_sub(1) else {
        return Err(ProofError::CheckpointBelowBlock { checkpoint, block });
    };
    if proof.leaf_index != expected {
        return Err(ProofError::HistoryLeafIndex {
            checkpoint,
            block,
            leaf_index: proof.leaf_index,
            expected,
        });
    }
    if proof.tree_size != checkpoint.0 {
        return Err(ProofError::HistoryTreeSize {
            checkpoint,
            tree_size: proof.tree_size,
        });
    }
    if !proof.verify_bound(leaf, &cp.history_root, checkpoint.0) {
        return Err(ProofError::HistoryPath { checkpoint, block });
    }
    if cp.cosignatures.is_empty() {
        return Err(ProofError::NoCosignatures { checkpoint });
    }
    Ok(())
}

/// That `c` is for this chain and for the checkpoint `cp`, and that its
/// signature verifies under its key.
fn check_cosignature(
    anchor: &TrustAnchor,
    cp: &WitnessedCheckpoint,
    c: &Cosignature,
) -> Result<(), ProofError> {
    let (checkpoint, witness) = (cp.height, c.witness.clone());
    if c.chain_id != anchor.chain_id() {
        return Err(ProofError::CosignatureWrongChain {
            checkpoint,
            witness,
            found: c.chain_id.clone(),
            chain: anchor.chain_id().to_owned(),
        });
    }
    let mismatch = |field, found: String, expected: String| {
        Err(ProofError::CosignatureMismatch {
            checkpoint,
            witness: c.witness.clone(),
            field,
            found,
            expected,
        })
    };
    if c.height != cp.height {
        return mismatch("height", c.height.to_string(), cp.height.to_string());
    }
    if c.history_root != cp.history_root {
        return mismatch(
            "history_root",
            c.history_root.to_string(),
            cp.history_root.to_string(),
        );
    }
    if !c.verify() {
        return Err(ProofError::CosignatureSignature {
            checkpoint,
            witness,
        });
    }
    Ok(())
}

#[cfg(feature = "store")]
pub(super) use build::witnessed_checkpoints;

#[cfg(feature = "store")]
mod build {
    use std::collections::BTreeMap;

    use super::{Cosignature, WitnessedCheckpoint};
    use crate::store::{Store, StoreError};
    use crate::types::{Hash, Height};

    /// The checkpoints at or above block `block` that the witnesses' latest
    /// cosignatures held by `store` name, with the block's path into each.
    /// A cosignature is left out unless it is for this chain, at a height
    /// the store has reached, for the store's own history root at that
    /// height, and its signature verifies: a bundle carries only what its
    /// verifier accepts.
    pub(in crate::proof) fn witnessed_checkpoints(
        store: &Store,
        chain_id: &str,
        reached: Height,
        block: Height,
    ) -> Result<Vec<WitnessedCheckpoint>, StoreError> {
        let mut roots: BTreeMap<Height, Hash> = BTreeMap::new();
        let mut by_checkpoint: BTreeMap<(Height, Hash), Vec<Cosignature>> = BTreeMap::new();
        for c in store.cosignatures()? {
            let n = c.height;
            if n < block || n > reached || c.chain_id != chain_id || !c.verify() {
                continue;
            }
            let root = match roots.get(&n) {
                Some(root) => *root,
                None => {
                    let root = store.history_root(n)?;
                    roots.insert(n, root);
                    root
                }
            };
            if c.history_root != root {
                continue;
            }
            by_checkpoint.entry((n, root)).or_default().push(c);
        }
        let mut out = Vec::with_capacity(by_checkpoint.len());
        for ((height, history_root), mut cosignatures) in by_checkpoint {
            let inclusion =
                store
                    .history_inclusion(block, height)?
                    .ok_or_else(|| StoreError::Corrupt {
                        height,
                        what: format!("no history path for block {block}"),
                    })?;
            cosignatures.sort_by(|a, b| a.witness.cmp(&b.witness));
            out.push(WitnessedCheckpoint {
                height,
                history_root,
                inclusion,
                cosignatures,
            });
        }
        Ok(out)
    }
}
