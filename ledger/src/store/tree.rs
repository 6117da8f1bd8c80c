//! The history tree in the store: the root of each complete perfect
//! subtree of block hashes (see [`crate::history`]), written in the batch
//! of the block that completes it, so that checkpoints and their proofs
//! cost a few reads whatever the length of the chain.

use rocksdb::WriteBatch;

use super::{cf, corrupt, hash_from, Store, StoreError, CF_TREE};
use crate::history::{self, Subtree, Subtrees};
use crate::merkle::{ConsistencyProof, Frontier, InclusionProof};
use crate::types::{Hash, Height};

pub(super) fn subtree_key(s: Subtree) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = s.level;
    k[1..].copy_from_slice(&s.index.to_be_bytes());
    k
}

impl Subtrees for Store {
    type Error = StoreError;
    fn subtree(&self, s: Subtree) -> Result<Hash, StoreError> {
        let Some(bytes) = self.get(CF_TREE, &subtree_key(s))? else {
            // A store started from a snapshot holds only the subtrees that
            // complete from its height on.
            self.check_held(Height((s.index << s.level) + 1))?;
            return Err(corrupt(
                Height(s.index << s.level),
                format!("history subtree {}/{} missing", s.level, s.index),
            ));
        };
        hash_from(&bytes).ok_or_else(|| corrupt(Height(0), "history subtree is not 32 bytes"))
    }
}

impl Store {
    /// Adds block `hash`, the block after the first `before` blocks, to
    /// the history tree in `batch`.
    pub(super) fn grow_history(
        &self,
        batch: &mut WriteBatch,
        before: u64,
        hash: &Hash,
    ) -> Result<(), StoreError> {
        let mut frontier = history::frontier(self, before)?;
        let db = self.db();
        for (s, root) in history::completed(&mut frontier, history::leaf(hash)) {
            batch.put_cf(cf(&db, CF_TREE), subtree_key(s), root.0);
        }
        Ok(())
    }

    /// The history tree over blocks 1..=`size`.
    pub fn history_frontier(&self, size: Height) -> Result<Frontier, StoreError> {
        history::frontier(self, size.0)
    }

    /// The root of the history tree over blocks 1..=`size`.
    pub fn history_root(&self, size: Height) -> Result<Hash, StoreError> {
        history::root(self, size.0)
    }

    /// The proof that block `k` is in the history over blocks 1..=`size`;
    /// `None` unless 1 ≤ k ≤ size.
    pub fn history_inclusion(
        &self,
        k: Height,
        size: Height,
    ) -> Result<Option<InclusionProof>, StoreError> {
        if k.0 == 0 {
            return Ok(None);
        }
        history::inclusion(self, size.0, k.0 - 1)
    }

    /// The proof that the history over blocks 1..=`old` is a prefix of the
    /// history over blocks 1..=`new`; `None` if `old` is above `new`.
    pub fn history_consistency(
        &self,
        old: Height,
        new: Height,
    ) -> Result<Option<ConsistencyProof>, StoreError> {
        history::consistency(self, old.0, new.0)
    }
}
