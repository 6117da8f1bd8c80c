//! The readers' summaries in the store: written in each block's batch,
//! read by the explorer and the API, and rebuilt once by replaying the
//! chain for a store written before they were kept.

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::{cf, corrupt, Store, StoreError, CF_META, CF_SUMMARY, META_SUMMARY};
use crate::block::Block;
use crate::state::State;
use crate::summary::{self, FlagParams, SummaryError, SummaryRead};
use crate::types::{Hash, Height};
use crate::validity::{check_block, Walk};

impl SummaryRead for Store {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, SummaryError> {
        Store::get(self, CF_SUMMARY, key).map_err(|e| SummaryError(e.to_string()))
    }

    fn scan(
        &self,
        prefix: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), SummaryError> {
        let db = self.db();
        let mode = IteratorMode::From(prefix, Direction::Forward);
        for item in db.iterator_cf(cf(&db, CF_SUMMARY), mode) {
            let (k, v) = item.map_err(|e| SummaryError(e.to_string()))?;
            if !k.starts_with(prefix) || !f(&k, &v) {
                break;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Whether the summaries cover every committed block (a store written
    /// before they were kept, and not opened with its genesis since, has
    /// none).
    pub fn summaries_complete(&self) -> Result<bool, StoreError> {
        Ok(Store::get(self, CF_META, META_SUMMARY)?.is_some())
    }

    /// Adds to `batch` the summary entries of `block`, executed on `before`.
    pub(super) fn summarise(
        &self,
        batch: &mut WriteBatch,
        block: &Block,
        hashes: &[Hash],
        before: &State,
    ) -> Result<(), StoreError> {
        let h = block.header.height;
        let changes = summary::changes_hashed(block, hashes, before, self, &FlagParams::default())
            .map_err(|e| corrupt(h, e.0))?;
        let db = self.db();
        for (k, v) in changes {
            match v {
                Some(v) => batch.put_cf(cf(&db, CF_SUMMARY), k, v),
                None => batch.delete_cf(cf(&db, CF_SUMMARY), k),
            }
        }
        Ok(())
    }

    /// Writes the summaries of blocks 1..=`top` by walking the chain again
    /// from `genesis` (hash `genesis_hash`) with the one rule of block
    /// validity, as `verify chain` does, for a store whose blocks were
    /// committed before summaries were kept. Costs one replay, once.
    pub(super) fn rebuild_summary(
        &self,
        genesis: &State,
        genesis_hash: Hash,
        top: Height,
    ) -> Result<(), StoreError> {
        let db = self.db();
        // Only a lower bound on block 1's time depends on the genesis time.
        let mut walk = Walk::genesis(genesis.clone(), genesis_hash, 0);
        for h in 1..=top.0 {
            let h = Height(h);
            let block = self
                .block(h)?
                .ok_or_else(|| corrupt(h, "a block to summarise is missing"))?;
            let mut batch = WriteBatch::default();
            self.summarise(&mut batch, &block, &block.tx_hashes(), &walk.state)?;
            db.write(batch)?;
            let verdicts = walk.state.batch_verdicts(&block.txs);
            let outcome = check_block(&walk, &block, verdicts)
                .map_err(|e| corrupt(h, format!("the block no longer checks: {e}")))?;
            walk.advance(&block, outcome);
        }
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, CF_META), META_SUMMARY, []);
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}

#[cfg(feature = "testkit")]
impl Store {
    /// Deletes every summary and the mark that they are complete, as in a
    /// store written before summaries were kept. Only for tests of the
    /// rebuild.
    #[doc(hidden)]
    pub fn forget_summaries(&self) -> Result<(), StoreError> {
        let db = self.db();
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            cf(&db, CF_SUMMARY),
            [0u8].as_slice(),
            [0xffu8; 2].as_slice(),
        );
        batch.delete_cf(cf(&db, CF_META), META_SUMMARY);
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}
