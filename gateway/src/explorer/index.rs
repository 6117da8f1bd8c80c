//! The explorer's in-memory index of recent spending: the awards,
//! amendments, payments, deliveries and key rotations of a contiguous range
//! of blocks ending at the last committed one. The home page's latest
//! payments are read from it instead of from blocks on every request.
//!
//! The index is filled on demand and every fill is bounded: a request reads
//! at most [`INDEX_BLOCKS_PER_REFRESH_MAX`] blocks. New blocks come first, so
//! the index always reaches the tip; what is left of the budget extends it
//! back towards block 1 until it holds [`INDEX_TXS_MAX`] transactions. After
//! a long absence (more new blocks than one refresh reads) it starts again
//! from the tip rather than leave a gap.

use std::collections::VecDeque;

use ledger::store::{Store, StoreError};
use ledger::{Block, EntityId, Hash, Height, Op};

/// A committed transaction, with where and when it was committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedTx {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
    /// Block time, ms since the epoch.
    pub time_ms: u64,
    /// Transaction hash.
    pub hash: Hash,
    /// Who signed it.
    pub signer: EntityId,
    /// What it did.
    pub op: Op,
}

/// Most blocks one refresh reads.
pub const INDEX_BLOCKS_PER_REFRESH_MAX: u64 = 500;
/// Most transactions the index keeps; older ones are dropped whole blocks
/// at a time.
pub const INDEX_TXS_MAX: usize = 100_000;

/// Whether the index keeps a transaction with this operation.
fn kept(op: &Op) -> bool {
    matches!(
        op,
        Op::Award { .. }
            | Op::AmendContract { .. }
            | Op::Pay { .. }
            | Op::ConfirmDelivery { .. }
            | Op::RotateKey { .. }
    )
}

/// The kept transactions of one block, in block order.
fn kept_txs(block: &Block) -> impl DoubleEndedIterator<Item = CommittedTx> + '_ {
    let h = &block.header;
    block
        .txs
        .iter()
        .enumerate()
        .filter(|(_, tx)| kept(&tx.body.op))
        .map(move |(i, tx)| CommittedTx {
            height: h.height,
            index: u32::try_from(i).expect("a block holds fewer than 2^32 transactions"),
            time_ms: h.time_ms,
            hash: tx.hash(),
            signer: tx.body.signer.clone(),
            op: tx.body.op.clone(),
        })
}

/// Kept transactions of blocks `first..=last`, in chain order.
pub struct SpendIndex {
    first: Height,
    last: Height,
    txs: VecDeque<CommittedTx>,
}

impl Default for SpendIndex {
    fn default() -> Self {
        // Covers nothing: blocks 1..=0.
        SpendIndex {
            first: Height(1),
            last: Height(0),
            txs: VecDeque::new(),
        }
    }
}

impl SpendIndex {
    /// The first block covered (greater than [`SpendIndex::last`] when the
    /// index covers nothing).
    pub fn first(&self) -> Height {
        self.first
    }

    /// The last block covered.
    pub fn last(&self) -> Height {
        self.last
    }

    /// The kept transactions, oldest first.
    pub fn txs(&self) -> &VecDeque<CommittedTx> {
        &self.txs
    }

    /// Brings the index up to `tip`, then extends it back, reading at most
    /// [`INDEX_BLOCKS_PER_REFRESH_MAX`] blocks in all.
    pub fn refresh(&mut self, store: &Store, tip: Height) -> Result<(), StoreError> {
        self.refresh_within(store, tip, INDEX_BLOCKS_PER_REFRESH_MAX, INDEX_TXS_MAX)
    }

    /// [`SpendIndex::refresh`] with the bounds given: at most `blocks_max`
    /// blocks read, and at most `txs_max` transactions kept.
    pub fn refresh_within(
        &mut self,
        store: &Store,
        tip: Height,
        blocks_max: u64,
        txs_max: usize,
    ) -> Result<(), StoreError> {
        let mut budget = blocks_max;
        if tip < self.last || tip.0 - self.last.0 > budget {
            // Too far behind to close the gap in one go: start again at the tip.
            *self = SpendIndex {
                first: tip.next(),
                last: tip,
                ..SpendIndex::default()
            };
        }
        while self.last < tip {
            let h = self.last.next();
            if let Some(block) = store.block(h)? {
                self.txs.extend(kept_txs(&block));
            }
            self.last = h;
            budget -= 1;
        }
        while self.first.0 > 1 && budget > 0 && self.txs.len() < txs_max {
            let h = Height(self.first.0 - 1);
            if let Some(block) = store.block(h)? {
                for tx in kept_txs(&block).rev() {
                    self.txs.push_front(tx);
                }
            }
            self.first = h;
            budget -= 1;
        }
        while self.txs.len() > txs_max {
            // Drop the oldest block whole, so the range stays exact.
            let oldest = self.txs[0].height;
            while self.txs.front().is_some_and(|t| t.height == oldest) {
                self.txs.pop_front();
            }
            self.first = oldest.next();
        }
        Ok(())
    }
}
