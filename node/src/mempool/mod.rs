//! The mempool: transactions that were admitted but are not yet committed,
//! and the cache of signature verdicts that admission, proposals and sync
//! share.
//!
//! It owns:
//! - admission ([`Mempool::insert`], [`Mempool::insert_batch`]): dedupe by
//!   hash, the checks of SPEC §2 against the committed [`State`], the nonce
//!   rules and the limits of [`MempoolLimits`], including each signer's
//!   share;
//! - per-signer nonce order: the contiguous run of nonces after the signer's
//!   committed nonce is *ready*; a pooled transaction beyond it is *future*
//!   and waits for the gap to fill;
//! - [`Mempool::next_nonce`], counting the signer's ready transactions;
//! - block building ([`Mempool::reap`]): a fair, deterministic selection that
//!   executes as a block, where each signer takes its turn;
//! - re-checking after each commit ([`Mempool::on_commit`]), dropping what can
//!   no longer execute together with the same signer's later nonces;
//! - the [`VerdictCache`] of signature verdicts, keyed by transaction hash.
//!
//! It does not own: I/O, gossip, timers or threads (the node's event loop
//! owns the mempool and calls it), the `committed` and `rejected` statuses a
//! client can ask about (the node keeps those; the mempool reports what it
//! drops and why), or the execution rules themselves, which are
//! [`ledger::state::BlockExec::apply_tx`]'s.
//!
//! Refusals and their codes:
//! - the same transaction again (same hash): `duplicate`;
//! - another transaction with the nonce of a pooled one from the same signer:
//!   `duplicate`, naming the signer and nonce (there are no fees, so there is
//!   no replace-by-fee: the first one admitted keeps its slot);
//! - a nonce at or below the signer's committed nonce: `bad_nonce`, with the
//!   next nonce counted as [`Mempool::next_nonce`] counts it;
//! - a nonce more than [`MempoolLimits::future_nonces_per_signer_max`] beyond
//!   the signer's next nonce: `mempool_full`, naming that limit. The nonce is
//!   not wrong, only early: it is admitted once the gap before it fills, so
//!   the client's right reaction is to retry later, which is what
//!   `mempool_full` says;
//! - a signer holding its share already
//!   ([`MempoolLimits::txs_per_signer_max`], a tenth of the pool by default,
//!   or [`MempoolLimits::bytes_per_signer_max`]): `mempool_full`, naming the
//!   limit;
//! - the transaction or byte limit, with no room to make: `mempool_full`,
//!   naming the limit. A full mempool makes room only by evicting *future*
//!   transactions (waiting for an earlier nonce), last nonce first, of the
//!   signer holding the most of them, and only for a signer that will still
//!   hold no more transactions than that one keeps. So signers who fill the
//!   pool with future nonces give way to anyone holding fewer, and a
//!   signer's share of a full pool is about the pool divided by the signers
//!   in it. Ready transactions are never evicted: blocks take them, in
//!   turns. An evicted transaction is reported `mempool_full` through
//!   [`Mempool::take_evicted`];
//! - everything else with the ledger's own code (`wrong_chain`,
//!   `unknown_signer`, `bad_signature`, `inactive`, and, for a transaction
//!   that is its signer's next one, whatever executing it says, such as
//!   `over_budget`).
//!
//! A transaction dropped because an earlier nonce of its signer was dropped is
//! reported as `bad_nonce`: after the drop, the signer's next nonce is the
//! dropped one.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use ledger::codec::TX_BYTES_MAX;
use ledger::state::Verdict;
use ledger::tx::Status;
use ledger::{EntityId, Hash, SignedTx, State, TxError};

mod queue;
mod reap;
#[cfg(test)]
mod tests;
mod verdicts;

use self::queue::{Pooled, SignerQueue, Slot};
use self::verdicts::Check;
pub use self::verdicts::{Staged, VerdictCache};

/// Default limit on the number of pooled transactions.
pub const MEMPOOL_TXS_MAX: usize = 50_000;
/// Default limit on the pooled transactions' encoded size, in bytes (64 MiB).
pub const MEMPOOL_BYTES_MAX: usize = 64 * 1024 * 1024;
/// How many nonces beyond a signer's next nonce the mempool holds (SPEC §2).
pub const FUTURE_NONCES_PER_SIGNER_MAX: u64 = 64;
/// Default limit on one signer's pooled transactions: a tenth of the pool, so
/// that no signer holds more than its share of it, however fast it signs.
pub const TXS_PER_SIGNER_MAX: usize = MEMPOOL_TXS_MAX / 10;
/// Default limit on one signer's pooled transactions' encoded size, in bytes:
/// a tenth of the pool (6.4 MiB).
pub const BYTES_PER_SIGNER_MAX: usize = MEMPOOL_BYTES_MAX / 10;
/// Most evictions kept for [`Mempool::take_evicted`]; past it the oldest
/// reports are forgotten (the transactions are gone either way).
pub const EVICTIONS_UNTAKEN_MAX: usize = MEMPOOL_TXS_MAX;
/// Default limit on the number of cached signature verdicts.
pub const VERDICT_CACHE_ENTRIES_MAX: usize = 200_000;
/// Signatures checked in one batch; larger requests are split.
pub const VERIFY_BATCH_TXS_MAX: usize = 1024;

// A full mempool can hold the largest transaction.
const _: () = assert!(TX_BYTES_MAX <= MEMPOOL_BYTES_MAX);
// Every pooled transaction's verdict fits in the cache, so reaping and
// re-checking never verify a pooled signature twice.
const _: () = assert!(MEMPOOL_TXS_MAX <= VERDICT_CACHE_ENTRIES_MAX);
// One signer's future nonces cannot fill the mempool on their own.
const _: () = assert!((FUTURE_NONCES_PER_SIGNER_MAX as usize) < MEMPOOL_TXS_MAX);
// A signer's share holds its whole window of future nonces with ready ones
// besides, and its largest transaction; and no share is the whole pool.
const _: () = assert!((FUTURE_NONCES_PER_SIGNER_MAX as usize) < TXS_PER_SIGNER_MAX);
const _: () = assert!(TXS_PER_SIGNER_MAX < MEMPOOL_TXS_MAX);
const _: () = assert!(TX_BYTES_MAX <= BYTES_PER_SIGNER_MAX);
const _: () = assert!(BYTES_PER_SIGNER_MAX < MEMPOOL_BYTES_MAX);
const _: () = assert!(VERIFY_BATCH_TXS_MAX > 0);

/// The limits of a [`Mempool`]. Zero limits are allowed and refuse everything
/// they bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions held at once.
    pub txs_max: usize,
    /// Most bytes (sum of encoded transactions) held at once.
    pub bytes_max: usize,
    /// Most nonces beyond a signer's next nonce that are held: a transaction
    /// whose nonce is more than this beyond the next one is refused.
    pub future_nonces_per_signer_max: u64,
    /// Most transactions one signer has pooled at once.
    pub txs_per_signer_max: usize,
    /// Most bytes one signer has pooled at once.
    pub bytes_per_signer_max: usize,
    /// Most signature verdicts cached. At least `txs_max`, or a pooled
    /// transaction whose verdict was evicted is verified again when it is
    /// re-checked or reaped.
    pub verdicts_max: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            txs_max: MEMPOOL_TXS_MAX,
            bytes_max: MEMPOOL_BYTES_MAX,
            future_nonces_per_signer_max: FUTURE_NONCES_PER_SIGNER_MAX,
            txs_per_signer_max: TXS_PER_SIGNER_MAX,
            bytes_per_signer_max: BYTES_PER_SIGNER_MAX,
            verdicts_max: VERDICT_CACHE_ENTRIES_MAX,
        }
    }
}

/// What the mempool knows about one of its transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The signer.
    pub signer: EntityId,
    /// Its nonce.
    pub nonce: u64,
    /// Its encoded size.
    pub bytes: usize,
    /// True if it is in its signer's contiguous run of nonces after the
    /// committed one (as of the last state the mempool saw), so it can go
    /// into the next block; false if it waits for an earlier nonce.
    pub ready: bool,
}

/// What [`Mempool::reap`] selected for a block.
#[derive(Clone, Debug, Default)]
pub struct Reap {
    /// The transactions, in block order; they execute as a block.
    pub txs: Vec<SignedTx>,
    /// Their hashes, in the same order.
    pub hashes: Vec<Hash>,
    /// The sum of their encoded sizes.
    pub bytes: usize,
    /// Transactions that failed to execute when their turn came, with why.
    /// The caller should pass each to [`Mempool::drop_tx`], which also drops
    /// the signer's later nonces.
    pub rejected: Vec<(Hash, TxError)>,
}

/// Room made in a full mempool: `signer`'s pooled nonces from `from` on,
/// `count` future transactions, go.
struct Eviction {
    signer: EntityId,
    from: u64,
    count: usize,
}

/// Admitted, uncommitted transactions. See the module documentation.
pub struct Mempool {
    limits: MempoolLimits,
    txs: HashMap<Hash, Pooled>,
    /// By signer. A queue is removed when it empties.
    signers: BTreeMap<EntityId, SignerQueue>,
    /// The signers with future transactions, by how many they hold: where a
    /// full mempool makes room. Kept in step with `signers` by
    /// [`Mempool::edit_queue`].
    by_futures: BTreeSet<(usize, EntityId)>,
    bytes: usize,
    /// Counts arrivals and commits, for the signers' reaping order.
    arrivals: u64,
    /// Transactions evicted to make room and not yet taken by
    /// [`Mempool::take_evicted`], oldest first.
    evicted: VecDeque<(Hash, TxError)>,
    verdicts: VerdictCache,
}

impl Mempool {
    /// An empty mempool with these limits.
    pub fn new(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            txs: HashMap::new(),
            signers: BTreeMap::new(),
            by_futures: BTreeSet::new(),
            bytes: 0,
            arrivals: 0,
            evicted: VecDeque::new(),
            verdicts: VerdictCache::new(limits.verdicts_max),
        }
    }

    /// The limits it was made with.
    pub fn limits(&self) -> MempoolLimits {
        self.limits
    }

    /// Checks `tx` against `state` and the mempool's rules and admits it,
    /// returning its hash. The signatures are verified unless a verdict for
    /// the transaction is cached; whether their keys may act for the signer
    /// is checked against `state` every time.
    pub fn insert(&mut self, tx: SignedTx, state: &State) -> Result<Hash, TxError> {
        let bytes = tx.encode();
        let hash = Hash::digest(&bytes);
        self.admit(tx, hash, bytes.len(), None, state)
    }

    /// Admits many transactions, in order, verifying the signatures that are
    /// not cached as batches first. One result per transaction, as
    /// [`Mempool::insert`] would give.
    pub fn insert_batch(
        &mut self,
        txs: Vec<SignedTx>,
        state: &State,
    ) -> Vec<Result<Hash, TxError>> {
        let mut staged = self.stage(Staged::hash(txs), state);
        staged.verify();
        self.admit_staged(staged, state)
    }

    /// The first step of admitting a batch with the mempool locked only
    /// briefly: looks up the cached verdicts of `txs` and notes which
    /// signatures are still to be checked. [`Staged::verify`] checks them
    /// without the mempool, and [`Mempool::admit_staged`] admits the batch.
    pub fn stage(&self, txs: Vec<(SignedTx, Hash, usize)>, state: &State) -> Staged {
        // Only what admission would get as far as verifying is verified: no
        // more than the mempool has room for, so that a full mempool costs
        // an overloaded node no signature checks.
        let room = self.limits.txs_max.saturating_sub(self.txs.len());
        let checks = txs
            .iter()
            .enumerate()
            .filter(|(_, (tx, hash, bytes))| {
                !self.txs.contains_key(hash)
                    && *bytes <= TX_BYTES_MAX
                    && tx.body.chain_id == state.chain_id()
            })
            .filter(|(_, (tx, ..))| {
                tx.check_form().is_ok() && state.entity(&tx.body.signer).is_some()
            })
            .map(|(i, (_, hash, _))| Check {
                index: i,
                verdict: self.verdicts.get(hash),
                fresh: false,
            })
            .take(room)
            .collect();
        Staged { txs, checks }
    }

    /// Admits a staged batch, in order, caching the verdicts
    /// [`Staged::verify`] found. A signature left unchecked is checked here.
    pub fn admit_staged(&mut self, staged: Staged, state: &State) -> Vec<Result<Hash, TxError>> {
        let mut by_index: Vec<Option<Verdict>> = vec![None; staged.txs.len()];
        for check in &staged.checks {
            if let Some(verdict) = check.verdict {
                if check.fresh {
                    self.verdicts.signatures_verified +=
                        staged.txs[check.index].0.signatures.len() as u64;
                    self.verdicts.insert(staged.txs[check.index].1, verdict);
                }
                by_index[check.index] = Some(verdict);
            }
        }
        staged
            .txs
            .into_iter()
            .zip(by_index)
            .map(|((tx, hash, bytes), verdict)| self.admit(tx, hash, bytes, verdict, state))
            .collect()
    }

    fn admit(
        &mut self,
        tx: SignedTx,
        hash: Hash,
        bytes: usize,
        verdict: Option<Verdict>,
        state: &State,
    ) -> Result<Hash, TxError> {
        if self.txs.contains_key(&hash) {
            return Err(TxError::Duplicate {
                what: "transaction",
                id: hash.to_hex(),
            });
        }
        if bytes > TX_BYTES_MAX {
            return Err(TxError::TooLarge {
                bytes,
                bytes_max: TX_BYTES_MAX,
            });
        }
        let body = &tx.body;
        if body.chain_id != state.chain_id() {
            return Err(TxError::WrongChain {
                expected: state.chain_id().to_owned(),
                got: body.chain_id.clone(),
            });
        }
        let signer = state
            .entity(&body.signer)
            .ok_or_else(|| TxError::UnknownSigner {
                signer: body.signer.clone(),
            })?;
        self.resync_signer(&signer.id, signer.nonce);
        // Before the signature and execution checks: a signer over its share,
        // or a full mempool with no room to make, refuses at once, rather
        // than after the work. Room is made only once the transaction has
        // passed every check.
        let eviction = self.room_for(&signer.id, bytes)?;
        tx.check_form()?;
        let verdict = match verdict {
            Some(v) => v,
            None => self.verdicts.verify(&[(hash, &tx)])[0],
        };
        if !verdict.valid {
            return Err(TxError::BadSignature {
                signer: signer.id.clone(),
            });
        }
        if signer.status != Status::Active {
            return Err(TxError::Inactive {
                entity: signer.id.clone(),
            });
        }
        let nonce = body.nonce;
        self.check_nonce(&signer.id, signer.nonce, nonce)?;
        // The signer's next transaction can be checked in full against the
        // state; later ones depend on it and are checked when they become
        // next (on commit) or when a block is built.
        // Later ones must still be signed by keys that act for the signer
        // now: else anyone could take a signer's future nonces with a key of
        // their own.
        if Some(nonce) == signer.nonce.checked_add(1) {
            state.begin_block().apply_tx(&tx, Some(verdict))?;
        } else {
            state.check_authority(&tx)?;
        }
        if let Some(eviction) = eviction {
            self.evict(eviction, &signer.id);
        }
        self.add(tx, hash, bytes, signer.nonce);
        Ok(hash)
    }

    /// The nonce rules of the module documentation, for a signer whose queue
    /// is in sync with its committed nonce `committed`.
    fn check_nonce(&self, signer: &EntityId, committed: u64, nonce: u64) -> Result<(), TxError> {
        let next = self.queue_next_nonce(signer, committed);
        if nonce <= committed {
            return Err(TxError::BadNonce {
                signer: signer.clone(),
                expected: next,
                got: nonce,
            });
        }
        if self.slot_taken(signer, nonce) {
            return Err(TxError::Duplicate {
                what: "pending transaction of",
                id: format!("{signer} with nonce {nonce}"),
            });
        }
        let ahead = nonce.saturating_sub(next);
        if ahead > self.limits.future_nonces_per_signer_max {
            return Err(TxError::MempoolFull {
                reason: format!(
                    "nonce {nonce} of {signer} is {ahead} beyond its next nonce {next}; the \
                     mempool holds at most {} future nonces per signer \
                     (future_nonces_per_signer_max)",
                    self.limits.future_nonces_per_signer_max
                ),
            });
        }
        Ok(())
    }

    /// Whether `signer` may pool one more transaction of `bytes`: within
    /// its share, and with room in the mempool or room that can be made.
    /// Room is made by evicting future transactions (those waiting for an
    /// earlier nonce) of the signer holding the most of them, last nonce
    /// first, provided that signer still holds no fewer transactions than
    /// `signer` will. Ready transactions are never evicted: they leave with
    /// the next blocks.
    fn room_for(&self, signer: &EntityId, bytes: usize) -> Result<Option<Eviction>, TxError> {
        let (held, held_bytes) = self
            .signers
            .get(signer)
            .map_or((0, 0), |q| (q.nonces.len(), q.bytes));
        if held >= self.limits.txs_per_signer_max {
            return Err(TxError::MempoolFull {
                reason: format!(
                    "{signer} has {held} transactions pooled, its share (txs_per_signer_max {})",
                    self.limits.txs_per_signer_max
                ),
            });
        }
        if held_bytes.saturating_add(bytes) > self.limits.bytes_per_signer_max {
            return Err(TxError::MempoolFull {
                reason: format!(
                    "{bytes} more bytes on the {held_bytes} {signer} has pooled would exceed its \
                     share (bytes_per_signer_max {})",
                    self.limits.bytes_per_signer_max
                ),
            });
        }
        let fits = |txs: usize, pooled_bytes: usize| {
            txs < self.limits.txs_max && pooled_bytes.saturating_add(bytes) <= self.limits.bytes_max
        };
        if fits(self.txs.len(), self.bytes) {
            return Ok(None);
        }
        let full = if self.txs.len() >= self.limits.txs_max {
            format!(
                "it holds {} transactions, its limit (txs_max {})",
                self.txs.len(),
                self.limits.txs_max
            )
        } else {
            format!(
                "{bytes} more bytes on the {} it holds would exceed its limit (bytes_max {})",
                self.bytes, self.limits.bytes_max
            )
        };
        let refused = |why: String| TxError::MempoolFull {
            reason: format!("{full}, {why}"),
        };
        let Some((_, victim)) = self.by_futures.last() else {
            return Err(refused("and none of it waits for an earlier nonce".into()));
        };
        let queue = &self.signers[victim];
        let (mut txs, mut pooled_bytes) = (self.txs.len(), self.bytes);
        let mut eviction = Eviction {
            signer: victim.clone(),
            from: 0,
            count: 0,
        };
        for (nonce, slot) in queue.futures_from_last() {
            // The victim keeps at least as many as `signer` will hold, so
            // the two cannot take turns evicting each other.
            if held + 1 + eviction.count + 1 > queue.nonces.len() {
                break;
            }
            eviction.from = nonce;
            eviction.count += 1;
            txs -= 1;
            pooled_bytes -= slot.bytes;
            if fits(txs, pooled_bytes) {
                return Ok(Some(eviction));
            }
        }
        Err(refused(format!(
            "and {victim}, which has the most waiting for an earlier nonce ({} of its {}), \
             cannot give way to {signer}, which has {held} pooled",
            queue.futures(),
            queue.nonces.len()
        )))
    }

    /// Evicts what [`Mempool::room_for`] chose, reporting each transaction
    /// as `mempool_full` to [`Mempool::take_evicted`].
    fn evict(&mut self, eviction: Eviction, for_signer: &EntityId) {
        let victim = eviction.signer;
        let Some(removed) = self.edit_queue(&victim, |q| q.truncate_from(eviction.from)) else {
            return;
        };
        assert_eq!(removed.len(), eviction.count, "only future nonces go");
        for (nonce, slot) in removed {
            self.forget(&slot.hash);
            if self.evicted.len() >= EVICTIONS_UNTAKEN_MAX {
                self.evicted.pop_front();
            }
            let reason = format!(
                "evicted to make room for {for_signer}, which had fewer transactions pooled; \
                 nonce {nonce} of {victim} was waiting for an earlier nonce"
            );
            self.evicted
                .push_back((slot.hash, TxError::MempoolFull { reason }));
        }
    }

    /// The transactions evicted to make room since the last call, with why
    /// (`mempool_full`), oldest first. The caller records them as it records
    /// [`Mempool::on_commit`]'s drops, so that a client polling one learns it
    /// must send it again.
    pub fn take_evicted(&mut self) -> Vec<(Hash, TxError)> {
        self.evicted.drain(..).collect()
    }

    /// Runs `f` on `signer`'s queue, then keeps [`Mempool::by_futures`] in
    /// step and removes the queue if it emptied. Every change to a queue's
    /// nonces goes through here. `None` if `signer` has no queue.
    fn edit_queue<R>(
        &mut self,
        signer: &EntityId,
        f: impl FnOnce(&mut SignerQueue) -> R,
    ) -> Option<R> {
        let queue = self.signers.get_mut(signer)?;
        let before = queue.futures();
        let out = f(queue);
        let after = queue.futures();
        if queue.nonces.is_empty() {
            self.signers.remove(signer);
        }
        if before != after {
            if before > 0 {
                let was = self.by_futures.remove(&(before, signer.clone()));
                assert!(was, "the index had the queue");
            }
            if after > 0 {
                self.by_futures.insert((after, signer.clone()));
            }
        }
        Some(out)
    }

    fn slot_taken(&self, signer: &EntityId, nonce: u64) -> bool {
        self.signers
            .get(signer)
            .is_some_and(|q| q.nonces.contains_key(&nonce))
    }

    /// The queue's next nonce, for a queue in sync with `committed`.
    fn queue_next_nonce(&self, signer: &EntityId, committed: u64) -> u64 {
        match self.signers.get(signer) {
            Some(q) => {
                assert_eq!(q.committed, committed, "queue in sync");
                q.next_nonce()
            }
            None => committed.saturating_add(1),
        }
    }

    /// Brings a signer's queue to the committed nonce `committed`. Normally a
    /// no-op, since [`Mempool::on_commit`] keeps queues in sync; if a caller
    /// admits against a newer state before reporting the commit, the stale
    /// transactions leave here, unreported.
    fn resync_signer(&mut self, signer: &EntityId, committed: u64) {
        if self
            .signers
            .get(signer)
            .is_none_or(|q| q.committed == committed)
        {
            return;
        }
        let stale = self
            .edit_queue(signer, |q| q.resync(committed))
            .unwrap_or_default();
        for (_, slot) in stale {
            self.forget(&slot.hash);
        }
    }

    fn add(&mut self, tx: SignedTx, hash: Hash, bytes: usize, committed: u64) {
        let since = self.arrivals;
        self.arrivals += 1;
        let signer = tx.body.signer.clone();
        self.signers
            .entry(signer.clone())
            .or_insert_with(|| SignerQueue::new(committed, since));
        let nonce = tx.body.nonce;
        self.edit_queue(&signer, |q| q.insert(nonce, Slot { hash, bytes }));
        self.bytes += bytes;
        let previous = self.txs.insert(hash, Pooled { tx, bytes });
        assert!(previous.is_none(), "hash was not pooled");
        assert!(self.txs.len() <= self.limits.txs_max);
        assert!(self.bytes <= self.limits.bytes_max);
    }

    /// Removes a transaction from the hash index only; the caller fixes its
    /// signer's queue.
    fn forget(&mut self, hash: &Hash) -> Option<Pooled> {
        let pooled = self.txs.remove(hash)?;
        self.bytes -= pooled.bytes;
        Some(pooled)
    }

    /// Drops the pooled transaction `hash` for `reason`, and the same
    /// signer's later nonces with `bad_nonce`. Returns everything dropped,
    /// with why; empty if `hash` is not pooled.
    pub fn drop_tx(&mut self, hash: &Hash, reason: TxError) -> Vec<(Hash, TxError)> {
        let Some(pooled) = self.txs.get(hash) else {
            return Vec::new();
        };
        let signer = pooled.tx.body.signer.clone();
        let nonce = pooled.tx.body.nonce;
        self.drop_from(&signer, nonce, reason)
    }

    fn drop_from(
        &mut self,
        signer: &EntityId,
        nonce: u64,
        reason: TxError,
    ) -> Vec<(Hash, TxError)> {
        let Some(removed) = self.edit_queue(signer, |q| q.truncate_from(nonce)) else {
            return Vec::new();
        };
        let mut reason = Some(reason);
        let mut dropped = Vec::with_capacity(removed.len());
        for (n, slot) in removed {
            self.forget(&slot.hash);
            let why = match reason.take() {
                Some(r) if n == nonce => r,
                _ => TxError::BadNonce {
                    signer: signer.clone(),
                    expected: nonce,
                    got: n,
                },
            };
            dropped.push((slot.hash, why));
        }
        dropped
    }

    /// The nonce `signer`'s next transaction should use: one more than its
    /// committed nonce, plus the number of its pooled transactions that
    /// follow the committed nonce without a gap. `None` if `state` has no
    /// such entity.
    pub fn next_nonce(&self, signer: &EntityId, state: &State) -> Option<u64> {
        let committed = state.entity(signer)?.nonce;
        let Some(queue) = self.signers.get(signer) else {
            return Some(committed.saturating_add(1));
        };
        if queue.committed == committed {
            return Some(queue.next_nonce());
        }
        // Asked against another state than the one last seen: count afresh.
        let mut next = committed.saturating_add(1);
        for (&n, _) in queue.nonces.range(next..) {
            if n != next {
                break;
            }
            next = next.saturating_add(1);
        }
        Some(next)
    }

    /// The cached signature verdict for the transaction with this hash, to
    /// pass to [`ledger::state::BlockExec::apply_tx`].
    pub fn verdict(&self, hash: &Hash) -> Option<Verdict> {
        self.verdicts.get(hash)
    }

    /// Signature verdicts for `txs` (a proposal, a synced block), verifying
    /// in batches only those the cache lacks, and caching them. `None` for a
    /// transaction whose signer `state` does not know. One entry per
    /// transaction, in order.
    pub fn verdicts_for(&mut self, txs: &[SignedTx], state: &State) -> Vec<Option<Verdict>> {
        let keyed: Vec<(usize, Hash, &SignedTx)> = txs
            .iter()
            .enumerate()
            .filter(|(_, tx)| state.entity(&tx.body.signer).is_some())
            .map(|(i, tx)| (i, tx.hash(), tx))
            .collect();
        let items: Vec<(Hash, &SignedTx)> = keyed.iter().map(|(_, h, tx)| (*h, *tx)).collect();
        let mut out = vec![None; txs.len()];
        for ((i, ..), verdict) in keyed.iter().zip(self.verdicts.verify(&items)) {
            out[*i] = Some(verdict);
        }
        out
    }

    /// The verdict cache, for its size and counters.
    pub fn verdict_cache(&self) -> &VerdictCache {
        &self.verdicts
    }

    /// How many signatures the mempool has verified since it was made.
    pub fn signatures_verified(&self) -> u64 {
        self.verdicts.signatures_verified()
    }

    /// The pooled transaction with this hash.
    pub fn get(&self, hash: &Hash) -> Option<&SignedTx> {
        self.txs.get(hash).map(|p| &p.tx)
    }

    /// True if the transaction with this hash is pooled.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.txs.contains_key(hash)
    }

    /// The status of a pooled transaction: `None` if it is not pooled (it
    /// may be committed, rejected or unknown; the node knows which).
    pub fn status(&self, hash: &Hash) -> Option<Pending> {
        let pooled = self.txs.get(hash)?;
        let body = &pooled.tx.body;
        let ready = self
            .signers
            .get(&body.signer)
            .is_some_and(|q| body.nonce <= q.ready_end);
        Some(Pending {
            signer: body.signer.clone(),
            nonce: body.nonce,
            bytes: pooled.bytes,
            ready,
        })
    }

    /// How many transactions are pooled.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True if nothing is pooled.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// How many pooled transactions are ready: in their signer's contiguous
    /// run of nonces after the committed one, so in line for the next
    /// blocks.
    pub fn ready_len(&self) -> usize {
        let futures: usize = self.by_futures.iter().map(|(n, _)| n).sum();
        self.txs.len().saturating_sub(futures)
    }

    /// The pooled transactions' encoded size, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many signers have pooled transactions.
    pub fn signers_len(&self) -> usize {
        self.signers.len()
    }

    /// The pooled transactions with their hashes, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Hash, &SignedTx)> {
        self.txs.iter().map(|(h, p)| (h, &p.tx))
    }
}
