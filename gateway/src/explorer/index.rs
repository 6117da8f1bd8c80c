//! Committed transactions as the pages list them, and the latest payments,
//! read from the newest blocks back, a bounded number of blocks per
//! request.

use ledger::store::{Store, StoreError};
use ledger::{EntityId, Hash, Height, Op};

/// Most blocks read back from the tip for the latest payments: a chain
/// whose recent blocks hold no payment shows fewer rather than read on.
pub const LATEST_PAYMENTS_BLOCKS_MAX: u64 = 64;

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

/// The newest `n` payments at or below `tip`, newest first, from at most
/// [`LATEST_PAYMENTS_BLOCKS_MAX`] blocks.
pub fn latest_payments(
    store: &Store,
    tip: Height,
    n: usize,
) -> Result<Vec<CommittedTx>, StoreError> {
    let mut out = Vec::new();
    let lowest = tip.0.saturating_sub(LATEST_PAYMENTS_BLOCKS_MAX - 1).max(1);
    for h in (lowest..=tip.0).rev() {
        let Some(block) = store.block(Height(h))? else {
            continue;
        };
        for (i, tx) in block.txs.iter().enumerate().rev() {
            if out.len() >= n {
                return Ok(out);
            }
            if matches!(tx.body.op, Op::Pay { .. }) {
                out.push(CommittedTx {
                    height: Height(h),
                    index: u32::try_from(i).expect("a block holds fewer than 2^32 transactions"),
                    time_ms: block.header.time_ms,
                    hash: tx.hash(),
                    signer: tx.body.signer.clone(),
                    op: tx.body.op.clone(),
                });
            }
        }
    }
    Ok(out)
}
