//! Each signer's queue of pooled transactions, by nonce: the contiguous
//! run after its committed nonce (ready for a block) and the future nonces
//! that wait for a gap to fill.

use std::collections::BTreeMap;

use ledger::{Hash, SignedTx};

pub(super) struct Pooled {
    pub(super) tx: SignedTx,
    pub(super) bytes: usize,
}

/// A pooled transaction's place in its signer's queue.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) hash: Hash,
    /// Its encoded size.
    pub(super) bytes: usize,
}

/// One signer's pooled nonces.
pub(super) struct SignerQueue {
    /// The signer's committed nonce when the queue last saw a state. Every
    /// nonce in `nonces` is above it.
    pub(super) committed: u64,
    /// The last nonce of the contiguous run `committed + 1 ..= ready_end`
    /// in `nonces`; `committed` if the run is empty.
    pub(super) ready_end: u64,
    /// Its place in the reaping order: when the queue was created or last
    /// had a transaction committed, counted in arrivals. Reaping visits
    /// signers from the smallest.
    pub(super) since: u64,
    /// The sum of the slots' sizes.
    pub(super) bytes: usize,
    pub(super) nonces: BTreeMap<u64, Slot>,
}

impl SignerQueue {
    pub(super) fn new(committed: u64, since: u64) -> SignerQueue {
        SignerQueue {
            committed,
            ready_end: committed,
            since,
            bytes: 0,
            nonces: BTreeMap::new(),
        }
    }

    /// The next nonce after the ready run.
    pub(super) fn next_nonce(&self) -> u64 {
        self.ready_end.saturating_add(1)
    }

    /// How many pooled nonces wait for a gap before them to fill.
    pub(super) fn futures(&self) -> usize {
        self.nonces.len().saturating_sub(self.ready_len())
    }

    pub(super) fn ready_len(&self) -> usize {
        // Never more than the pooled nonces, which fit in memory.
        usize::try_from(self.ready_end - self.committed).unwrap_or(usize::MAX)
    }

    /// The future nonces, last first.
    pub(super) fn futures_from_last(&self) -> impl Iterator<Item = (u64, Slot)> + '_ {
        self.nonces
            .range(self.next_nonce()..)
            .rev()
            .map(|(&n, &slot)| (n, slot))
    }

    pub(super) fn insert(&mut self, nonce: u64, slot: Slot) {
        assert!(nonce > self.committed);
        let previous = self.nonces.insert(nonce, slot);
        assert!(previous.is_none(), "nonce slot was free");
        self.bytes += slot.bytes;
        self.extend_run();
    }

    pub(super) fn extend_run(&mut self) {
        while let Some(next) = self.ready_end.checked_add(1) {
            if !self.nonces.contains_key(&next) {
                break;
            }
            self.ready_end = next;
        }
    }

    /// Removes the slots `removed` took out of `nonces` from the byte count.
    pub(super) fn removed(&mut self, removed: BTreeMap<u64, Slot>) -> Vec<(u64, Slot)> {
        for slot in removed.values() {
            self.bytes -= slot.bytes;
        }
        removed.into_iter().collect()
    }

    /// Moves the queue to a state where the signer's committed nonce is
    /// `committed`, returning the now stale entries.
    pub(super) fn resync(&mut self, committed: u64) -> Vec<(u64, Slot)> {
        let keep = match committed.checked_add(1) {
            Some(first) => self.nonces.split_off(&first),
            None => BTreeMap::new(),
        };
        let stale = std::mem::replace(&mut self.nonces, keep);
        self.committed = committed;
        self.ready_end = committed;
        self.extend_run();
        self.removed(stale)
    }

    /// Removes `nonce` and every later one.
    pub(super) fn truncate_from(&mut self, nonce: u64) -> Vec<(u64, Slot)> {
        let removed = self.nonces.split_off(&nonce);
        self.ready_end = self
            .ready_end
            .min(nonce.saturating_sub(1))
            .max(self.committed);
        self.removed(removed)
    }
}
