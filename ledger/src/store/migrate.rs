//! Bringing a store written by an earlier version to this version's
//! format, in place, with the node stopped (`minhbach migrate`).
//!
//! Format 4 → 5: format 5 stores each block's transactions one by one
//! (see `blocks`), so that one transaction is read without its block. The
//! migration rewrites every block so; their bytes and hashes stay the same.
//!
//! Format 3 → 4: format 4 keeps every state key ever written by its hash,
//! so that the state of a past height can be read back whole, keys and
//! values, to serve it as a snapshot. Format 3 kept the values' versions
//! by key hash only. The migration finds every key by walking the chain
//! again from genesis under the one rule of validity, as `verify chain`
//! does, and writes nothing else but the keys and the new format: the
//! blocks, their hashes and the state are untouched.

use rocksdb::WriteBatch;

use super::{cf, corrupt, Store, StoreError, CF_META, CF_STATE_KEYS, META_FORMAT, STORE_FORMAT};
use crate::codec;
use crate::state::{key_hash, State, StateKey};
use crate::types::{Hash, Height};
use crate::validity::{check_block, Walk};

/// Keys written per batch.
const KEYS_PER_BATCH: usize = 4_096;

/// What a migration did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The store's format before.
    pub from: u32,
    /// Its format after: [`STORE_FORMAT`].
    pub to: u32,
    /// Blocks walked.
    pub blocks: u64,
    /// State keys written.
    pub keys: u64,
    /// Blocks rewritten with their transactions one by one.
    pub split: u64,
}

impl Store {
    /// Brings the store to [`STORE_FORMAT`], walking its chain from
    /// `genesis` (hash `genesis_hash`) where the migration needs it, and
    /// calling `progress(height, top)` now and then. A store already at
    /// this format is left as it is. Refuses a store of another chain, of
    /// a newer format, or of a format no migration leads from. A
    /// migration stopped halfway is taken up again by running it again.
    pub fn migrate(
        &self,
        genesis: &State,
        genesis_hash: Hash,
        mut progress: impl FnMut(Height, Height),
    ) -> Result<Migration, StoreError> {
        let from = self.format()?;
        let Some(meta) = self.meta()? else {
            return Err(corrupt(
                Height(0),
                "the store is empty: there is nothing to migrate",
            ));
        };
        meta.check_chain(genesis, genesis_hash)?;
        let mut done = Migration {
            from,
            to: STORE_FORMAT,
            blocks: 0,
            keys: 0,
            split: 0,
        };
        match from {
            STORE_FORMAT => return Ok(done),
            3 => self.add_state_keys(genesis, genesis_hash, &meta, &mut done, &mut progress)?,
            4 => {}
            _ => return self.check_format().map(|()| done),
        }
        done.split = self.split_blocks()?;
        let db = self.db();
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, CF_META), META_FORMAT, STORE_FORMAT.to_be_bytes());
        db.write_opt(batch, &Self::synced())?;
        progress(meta.height, meta.height);
        Ok(done)
    }

    /// Format 3 → 4: writes every state key the chain ever wrote, walking
    /// it again from genesis.
    fn add_state_keys(
        &self,
        genesis: &State,
        genesis_hash: Hash,
        meta: &super::ChainMeta,
        done: &mut Migration,
        progress: &mut impl FnMut(Height, Height),
    ) -> Result<(), StoreError> {
        let db = self.db();
        let mut batch = WriteBatch::default();
        let keys = cf(&db, CF_STATE_KEYS);
        let put = |batch: &mut WriteBatch, key: &StateKey| {
            batch.put_cf(keys, key_hash(key).0, codec::encode(key));
        };
        for (key, _) in genesis.entries() {
            put(&mut batch, key);
        }
        let mut walk = Walk::genesis(genesis.clone(), genesis_hash, 0);
        for h in 1..=meta.height.0 {
            let h = Height(h);
            let block = self
                .block(h)?
                .ok_or_else(|| corrupt(h, "a block to migrate is missing"))?;
            let verdicts = walk.state.batch_verdicts(&block.txs);
            let outcome = check_block(&walk, &block, verdicts)
                .map_err(|e| corrupt(h, format!("the block no longer checks: {e}")))?;
            for (key, value) in &outcome.writes {
                if value.is_some() && !walk.state.holds(key) {
                    put(&mut batch, key);
                }
            }
            walk.advance(&block, outcome);
            done.blocks += 1;
            if batch.len() >= KEYS_PER_BATCH {
                done.keys += batch.len() as u64;
                db.write(std::mem::take(&mut batch))?;
            }
            if h.0.is_multiple_of(1_000) {
                progress(h, meta.height);
            }
        }
        if walk.state.root() != meta.state_root {
            return Err(corrupt(
                meta.height,
                format!(
                    "walking the chain again gives the state root {}, not the stored {}",
                    walk.state.root(),
                    meta.state_root
                ),
            ));
        }
        done.keys += batch.len() as u64;
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}

#[cfg(feature = "testkit")]
impl Store {
    /// Makes this store look as one written by format 3: no state keys by
    /// hash, blocks stored whole. Only for tests of the migration.
    #[doc(hidden)]
    pub fn downgrade_to_format_3(&self) -> Result<(), StoreError> {
        self.downgrade_to_format_4()?;
        let db = self.db();
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            cf(&db, CF_STATE_KEYS),
            [0u8; 32].as_slice(),
            [0xffu8; 33].as_slice(),
        );
        batch.put_cf(cf(&db, CF_META), META_FORMAT, 3u32.to_be_bytes());
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// Makes this store look as one written by format 4: blocks stored
    /// whole. Only for tests of the migration.
    #[doc(hidden)]
    pub fn downgrade_to_format_4(&self) -> Result<(), StoreError> {
        self.join_blocks()?;
        let db = self.db();
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, CF_META), META_FORMAT, 4u32.to_be_bytes());
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}
