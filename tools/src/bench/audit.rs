//! After a run: each validator's store, read once its node has stopped,
//! says where every load transaction was committed and whether the
//! validators hold the same chain.
//!
//! Every block of every store is read and each load transaction's
//! occurrences are counted, so a transaction committed twice (at two
//! heights, or twice in one block) is found, which the store's transaction
//! index alone, holding one location per hash, would hide.

use std::collections::HashMap;

use anyhow::Context as _;
use ledger::{Hash, Height};
use node::home::Home;

/// Where a load transaction is, over all validators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// Exactly once on every validator, at this height.
    Once(u64),
    /// Missing from at least one validator, and never repeated.
    Missing,
    /// More than once on at least one validator.
    Repeated,
}

/// What the stores hold.
#[derive(Debug)]
pub struct Audit {
    /// Each validator's last committed height.
    pub heights: Vec<u64>,
    /// The first height, up to the lowest of `heights`, at which two
    /// validators hold different blocks.
    pub first_divergence: Option<u64>,
    /// Transactions in each block of the first validator, by height (index
    /// 0 unused).
    pub block_txs: Vec<u64>,
    /// One per load transaction, in load order.
    pub found: Vec<Found>,
}

/// Reads the stores at `homes` (validators whose nodes have stopped) for
/// the load transactions `hashes`.
pub fn audit(homes: &[Home], hashes: &[Hash]) -> anyhow::Result<Audit> {
    audit_from(homes, hashes, Height(1))
}

/// [`audit`] of the blocks from height `from` on: the stores hold the same
/// blocks below it, and none of `hashes` (a history the bench committed
/// itself before the nodes started, as one store copied to every
/// validator). Block sizes below `from` are reported as 0.
pub fn audit_from(homes: &[Home], hashes: &[Hash], from: Height) -> anyhow::Result<Audit> {
    assert!(!homes.is_empty(), "at least one validator");
    let index: HashMap<Hash, usize> = hashes.iter().enumerate().map(|(i, h)| (*h, i)).collect();
    let mut counts = vec![vec![0u8; hashes.len()]; homes.len()];
    let mut at = vec![0u64; hashes.len()];
    let mut block_hashes: Vec<Vec<Hash>> = Vec::with_capacity(homes.len());
    let skipped = from.0.max(1) - 1;
    let mut block_txs = vec![0; from.0.max(1) as usize];
    for (v, home) in homes.iter().enumerate() {
        let place = || home.root().display().to_string();
        let store = home.open_existing_store().with_context(place)?;
        let height = store.meta().with_context(place)?.map_or(0, |m| m.height.0);
        let mut mine = Vec::with_capacity(height.saturating_sub(skipped) as usize);
        for h in skipped + 1..=height {
            let block = store
                .block(Height(h))
                .with_context(place)?
                .with_context(|| format!("{}: no block at height {h}", place()))?;
            mine.push(block.hash());
            if v == 0 {
                block_txs.push(block.txs.len() as u64);
            }
            for tx in &block.txs {
                if let Some(&i) = index.get(&tx.hash()) {
                    counts[v][i] = counts[v][i].saturating_add(1);
                    at[i] = h;
                }
            }
        }
        block_hashes.push(mine);
    }
    let heights: Vec<u64> = block_hashes
        .iter()
        .map(|b| skipped + b.len() as u64)
        .collect();
    let lowest = block_hashes.iter().map(Vec::len).min().unwrap_or(0);
    let first_divergence = (0..lowest)
        .find(|&i| block_hashes.iter().any(|b| b[i] != block_hashes[0][i]))
        .map(|i| skipped + i as u64 + 1);
    let found = (0..hashes.len())
        .map(|i| {
            let mut per_validator = counts.iter().map(|c| c[i]);
            if per_validator.clone().any(|n| n > 1) {
                Found::Repeated
            } else if per_validator.any(|n| n == 0) {
                Found::Missing
            } else {
                Found::Once(at[i])
            }
        })
        .collect();
    Ok(Audit {
        heights,
        first_divergence,
        block_txs,
        found,
    })
}
