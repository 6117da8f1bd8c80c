//! How blocks are stored (format 5 and on): each block's transactions one
//! by one in [`CF_TXS`], by height and index, and the rest of the block
//! (header, evidence, the previous block's certificate) in [`CF_BLOCKS`].
//!
//! A reader of one transaction (a contract's page, a department's history,
//! an export) then reads that transaction and the block's header, not the
//! whole block, whose ten thousand transactions cost milliseconds to read
//! and decode. A whole block is the header's part and a range of
//! [`CF_TXS`], as many entries as the header counts.
//!
//! Stores of format 4 and before hold each block whole in [`CF_BLOCKS`].
//! Such a block is read as it is, so a store being migrated
//! ([`Store::migrate`] rewrites the blocks one by one) reads the same
//! throughout.

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch, DB};

use super::{cf, corrupt, height_key, Store, StoreError, CF_BLOCKS};
use crate::block::{Block, Header};
use crate::tx::SignedTx;
use crate::types::Height;
use crate::validity::BLOCK_TXS_MAX;

/// Each block's transactions, by height and index (format 5 and on).
pub(super) const CF_TXS: &str = "txs";

/// Blocks rewritten per batch while migrating.
const BLOCKS_PER_BATCH: usize = 16;

fn tx_key(h: Height, index: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&height_key(h));
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The height a key of [`CF_BLOCKS`] names.
fn block_height(key: &[u8]) -> Result<Height, StoreError> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| corrupt(Height(0), "a block's key is not a height"))?;
    Ok(Height(u64::from_be_bytes(bytes)))
}

/// Adds `block` to `batch`, its transactions one by one.
pub(super) fn put_block(db: &DB, batch: &mut WriteBatch, block: &Block) {
    let h = block.header.height;
    let rest = Block {
        header: block.header.clone(),
        txs: Vec::new(),
        evidence: block.evidence.clone(),
        last_commit: block.last_commit.clone(),
    };
    batch.put_cf(cf(db, CF_BLOCKS), height_key(h), rest.encode());
    let txs = cf(db, CF_TXS);
    for (i, tx) in block.txs.iter().enumerate() {
        let index = u32::try_from(i).expect("a block holds fewer than 2^32 transactions");
        batch.put_cf(txs, tx_key(h, index), tx.encode());
    }
}

impl Store {
    /// The block at `h`; [`StoreError::NotHeld`] below the snapshot a
    /// store started from.
    pub fn block(&self, h: Height) -> Result<Option<Block>, StoreError> {
        let Some(mut block) = self.block_rest(h)? else {
            return Ok(None);
        };
        let count = block.header.tx_count as usize;
        if count > BLOCK_TXS_MAX {
            // Read from disk: a damaged count is named, never allocated.
            return Err(corrupt(
                h,
                format!("the header counts {count} transactions, more than a block may hold"),
            ));
        }
        if block.txs.is_empty() && count > 0 {
            block.txs = self.block_txs(h, count)?;
        }
        Ok(Some(block))
    }

    /// The header of block `h`, without reading its transactions;
    /// [`StoreError::NotHeld`] as for [`Store::block`].
    pub fn header(&self, h: Height) -> Result<Option<Header>, StoreError> {
        Ok(self.block_rest(h)?.map(|b| b.header))
    }

    /// Transaction `index` of block `h`, read alone; `None` if there is no
    /// such block or transaction.
    pub fn tx_at(&self, h: Height, index: u32) -> Result<Option<SignedTx>, StoreError> {
        if let Some(bytes) = self.get(CF_TXS, &tx_key(h, index))? {
            return SignedTx::decode(&bytes)
                .map(Some)
                .map_err(|e| corrupt(h, format!("transaction {index}: {e}")));
        }
        // A block stored whole (a store not yet migrated).
        Ok(self
            .block_rest(h)?
            .and_then(|b| b.txs.into_iter().nth(index as usize)))
    }

    /// Transaction `index` of block `h` with the block's header, read
    /// without the block's other transactions.
    pub fn tx_with_header(
        &self,
        h: Height,
        index: u32,
    ) -> Result<Option<(Header, SignedTx)>, StoreError> {
        let Some(header) = self.header(h)? else {
            return Ok(None);
        };
        Ok(self.tx_at(h, index)?.map(|tx| (header, tx)))
    }

    /// What [`CF_BLOCKS`] holds for `h`: the block without its
    /// transactions, or, in a store of format 4 and before, the whole
    /// block.
    fn block_rest(&self, h: Height) -> Result<Option<Block>, StoreError> {
        self.held(h, CF_BLOCKS)?
            .map(|b| Block::decode(&b).map_err(|e| corrupt(h, format!("block: {e}"))))
            .transpose()
    }

    /// The `count` transactions of block `h`, which must be stored at
    /// indexes 0 to `count` − 1 and no others.
    fn block_txs(&self, h: Height, count: usize) -> Result<Vec<SignedTx>, StoreError> {
        let db = self.db();
        let from = tx_key(h, 0);
        let mut txs = Vec::with_capacity(count);
        let mut opts = ReadOptions::default();
        opts.set_iterate_upper_bound(tx_key(h.next(), 0));
        let mode = IteratorMode::From(&from, Direction::Forward);
        for item in db.iterator_cf_opt(cf(&db, CF_TXS), opts, mode) {
            let (key, value) = item?;
            if key[..] != tx_key(h, txs.len() as u32)[..] {
                return Err(corrupt(
                    h,
                    format!("transaction {} of the block is missing", txs.len()),
                ));
            }
            let tx = SignedTx::decode(&value)
                .map_err(|e| corrupt(h, format!("transaction {}: {e}", txs.len())))?;
            txs.push(tx);
            if txs.len() > count {
                break;
            }
        }
        if txs.len() != count {
            return Err(corrupt(
                h,
                format!(
                    "the header counts {count} transactions, the store holds {}",
                    txs.len()
                ),
            ));
        }
        Ok(txs)
    }

    /// Rewrites every block stored whole with its transactions one by one
    /// (format 4 → 5); returns how many were rewritten. Taken up again
    /// where it stopped if run again.
    pub(super) fn split_blocks(&self) -> Result<u64, StoreError> {
        let db = self.db();
        let mut batch = WriteBatch::default();
        let mut in_batch = 0;
        let mut split = 0;
        for item in db.iterator_cf(cf(&db, CF_BLOCKS), IteratorMode::Start) {
            let (key, value) = item?;
            let h = block_height(&key)?;
            let block = Block::decode(&value).map_err(|e| corrupt(h, format!("block: {e}")))?;
            if block.txs.is_empty() {
                continue;
            }
            put_block(&db, &mut batch, &block);
            split += 1;
            in_batch += 1;
            if in_batch == BLOCKS_PER_BATCH {
                db.write(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        db.write_opt(batch, &Self::synced())?;
        Ok(split)
    }
}

#[cfg(feature = "testkit")]
impl Store {
    /// Stores every block whole again, as format 4 did, and removes the
    /// transactions stored one by one. Only for tests of the migration.
    pub(super) fn join_blocks(&self) -> Result<(), StoreError> {
        let db = self.db();
        let heights: Vec<Height> = db
            .iterator_cf(cf(&db, CF_BLOCKS), IteratorMode::Start)
            .map(|item| block_height(&item?.0))
            .collect::<Result<_, StoreError>>()?;
        let mut batch = WriteBatch::default();
        for h in heights {
            let block = self.block(h)?.ok_or_else(|| corrupt(h, "block missing"))?;
            batch.put_cf(cf(&db, CF_BLOCKS), height_key(h), block.encode());
        }
        batch.delete_range_cf(
            cf(&db, CF_TXS),
            [0u8; 12].as_slice(),
            [0xffu8; 13].as_slice(),
        );
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}
