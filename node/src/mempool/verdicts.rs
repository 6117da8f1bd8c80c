//! Signature verdicts: a bounded cache of them by transaction hash, and the
//! staging of a batch of submissions whose signatures are checked together,
//! off the mempool's lock.

use std::collections::{HashMap, HashSet, VecDeque};

use ledger::state::Verdict;
use ledger::tx::verify_tx_batch;
use ledger::{Hash, SignedTx};

use super::VERIFY_BATCH_TXS_MAX;

/// Signature verdicts by transaction hash, bounded, evicting the oldest entry
/// first. A verdict depends on the transaction alone (each signature against
/// the key it names), so it holds whatever the signer's keys become.
pub struct VerdictCache {
    entries_max: usize,
    map: HashMap<Hash, Verdict>,
    /// Insertion order, for eviction; holds each key of `map` exactly once.
    order: VecDeque<Hash>,
    pub(super) signatures_verified: u64,
}

impl VerdictCache {
    /// An empty cache holding at most `entries_max` verdicts.
    pub fn new(entries_max: usize) -> VerdictCache {
        VerdictCache {
            entries_max,
            map: HashMap::new(),
            order: VecDeque::new(),
            signatures_verified: 0,
        }
    }

    /// The cached verdict for the transaction with this hash.
    pub fn get(&self, hash: &Hash) -> Option<Verdict> {
        self.map.get(hash).copied()
    }

    /// Caches a verdict, replacing any for the same hash, and evicts the
    /// oldest entries beyond the limit.
    pub fn insert(&mut self, hash: Hash, verdict: Verdict) {
        if self.entries_max == 0 {
            return;
        }
        if self.map.insert(hash, verdict).is_none() {
            self.order.push_back(hash);
        }
        while self.map.len() > self.entries_max {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&oldest);
        }
        assert_eq!(self.map.len(), self.order.len());
    }

    /// Verdicts for `items` (hash, transaction): cached ones are reused, the
    /// others are verified in batches of at most [`VERIFY_BATCH_TXS_MAX`]
    /// transactions and cached. One verdict per item, in order.
    pub fn verify(&mut self, items: &[(Hash, &SignedTx)]) -> Vec<Verdict> {
        let mut out: Vec<Option<Verdict>> = items.iter().map(|(hash, _)| self.get(hash)).collect();
        // Each missing hash is verified once, even if it appears twice.
        let mut queued = HashSet::new();
        let missing: Vec<usize> = (0..items.len())
            .filter(|&i| out[i].is_none() && queued.insert(items[i].0))
            .collect();
        for chunk in missing.chunks(VERIFY_BATCH_TXS_MAX) {
            let batch: Vec<&SignedTx> = chunk.iter().map(|&i| items[i].1).collect();
            let valid = verify_tx_batch(&batch);
            assert_eq!(valid.len(), chunk.len());
            self.signatures_verified += signature_count(&batch);
            for (&i, valid) in chunk.iter().zip(valid) {
                let verdict = Verdict { valid };
                self.insert(items[i].0, verdict);
                out[i] = Some(verdict);
            }
        }
        // Repeats of a hash verified above take the first one's verdict.
        let mut fresh: HashMap<Hash, Verdict> = HashMap::new();
        for (i, verdict) in out.iter().enumerate() {
            if let Some(v) = verdict {
                fresh.insert(items[i].0, *v);
            }
        }
        items
            .iter()
            .zip(out)
            .map(|((hash, _), v)| {
                v.or_else(|| fresh.get(hash).copied())
                    .expect("every item was verified or cached")
            })
            .collect()
    }

    /// How many verdicts are cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The most verdicts this cache holds.
    pub fn entries_max(&self) -> usize {
        self.entries_max
    }

    /// How many signatures this cache has verified since it was made (a
    /// cache hit verifies none).
    pub fn signatures_verified(&self) -> u64 {
        self.signatures_verified
    }
}

/// A batch on its way into the mempool: see [`Mempool::stage`].
pub struct Staged {
    /// Each transaction with its hash and encoded size.
    pub(super) txs: Vec<(SignedTx, Hash, usize)>,
    /// The signatures admission will need, with their verdicts once known.
    pub(super) checks: Vec<Check>,
}

pub(super) struct Check {
    pub(super) index: usize,
    pub(super) verdict: Option<Verdict>,
    /// Verified here rather than found in the cache.
    pub(super) fresh: bool,
}

impl Staged {
    /// Each transaction with its hash and encoded size, ready to stage.
    pub fn hash(txs: Vec<SignedTx>) -> Vec<(SignedTx, Hash, usize)> {
        txs.into_iter()
            .map(|tx| {
                let bytes = tx.encode();
                let hash = Hash::digest(&bytes);
                (tx, hash, bytes.len())
            })
            .collect()
    }

    /// Checks the signatures that had no cached verdict, in batches of at
    /// most [`VERIFY_BATCH_TXS_MAX`] transactions; a transaction repeated in
    /// the batch is checked once.
    pub fn verify(&mut self) {
        let mut first: HashMap<Hash, usize> = HashMap::new();
        let mut missing = Vec::new();
        for (c, check) in self.checks.iter().enumerate() {
            if check.verdict.is_none() && first.insert(self.txs[check.index].1, c).is_none() {
                missing.push(c);
            }
        }
        for chunk in missing.chunks(VERIFY_BATCH_TXS_MAX) {
            let batch: Vec<&SignedTx> = chunk
                .iter()
                .map(|&c| &self.txs[self.checks[c].index].0)
                .collect();
            let valid = verify_tx_batch(&batch);
            assert_eq!(valid.len(), chunk.len());
            for (&c, valid) in chunk.iter().zip(valid) {
                let check = &mut self.checks[c];
                check.verdict = Some(Verdict { valid });
                check.fresh = true;
            }
        }
        // Repeats take the verdict of the first occurrence.
        for c in 0..self.checks.len() {
            if self.checks[c].verdict.is_none() {
                let at = first[&self.txs[self.checks[c].index].1];
                self.checks[c].verdict = self.checks[at].verdict;
            }
        }
    }

    /// How many transactions are in the batch.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True if the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }
}

/// How many signatures `txs` carry between them.
pub(super) fn signature_count(txs: &[&SignedTx]) -> u64 {
    txs.iter().map(|tx| tx.signatures.len() as u64).sum()
}
