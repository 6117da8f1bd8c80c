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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use ledger::codec::TX_BYTES_MAX;
use ledger::state::Verdict;
use ledger::tx::{verify_tx_batch, Status};
use ledger::{EntityId, Hash, PublicKey, SignedTx, State, TxError};

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

/// Signature verdicts by transaction hash, bounded, evicting the oldest entry
/// first. A verdict holds the key it was checked against and is reused only
/// while the signer still has that key.
pub struct VerdictCache {
    entries_max: usize,
    map: HashMap<Hash, Verdict>,
    /// Insertion order, for eviction; holds each key of `map` exactly once.
    order: VecDeque<Hash>,
    signatures_verified: u64,
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

    /// Verdicts for `items` (hash, transaction, the signer's current key):
    /// cached ones are reused, the others are verified in batches of at most
    /// [`VERIFY_BATCH_TXS_MAX`] and cached. One verdict per item, in order.
    pub fn verify(&mut self, items: &[(Hash, &SignedTx, PublicKey)]) -> Vec<Verdict> {
        let mut out: Vec<Option<Verdict>> = items
            .iter()
            .map(|(hash, _, key)| self.get(hash).filter(|v| v.key == *key))
            .collect();
        // Each missing hash is verified once, even if it appears twice.
        let mut queued = HashSet::new();
        let missing: Vec<usize> = (0..items.len())
            .filter(|&i| out[i].is_none() && queued.insert((items[i].0, items[i].2)))
            .collect();
        for chunk in missing.chunks(VERIFY_BATCH_TXS_MAX) {
            let batch: Vec<(&SignedTx, PublicKey)> =
                chunk.iter().map(|&i| (items[i].1, items[i].2)).collect();
            let valid = verify_tx_batch(&batch);
            assert_eq!(valid.len(), chunk.len());
            self.signatures_verified += chunk.len() as u64;
            for (&i, valid) in chunk.iter().zip(valid) {
                let verdict = Verdict {
                    key: items[i].2,
                    valid,
                };
                self.insert(items[i].0, verdict);
                out[i] = Some(verdict);
            }
        }
        // Repeats of a hash verified above take the first one's verdict.
        let mut fresh: HashMap<(Hash, PublicKey), Verdict> = HashMap::new();
        for (i, verdict) in out.iter().enumerate() {
            if let Some(v) = verdict {
                fresh.insert((items[i].0, items[i].2), *v);
            }
        }
        items
            .iter()
            .zip(out)
            .map(|((hash, _, key), v)| {
                v.or_else(|| fresh.get(&(*hash, *key)).copied())
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
    txs: Vec<(SignedTx, Hash, usize)>,
    /// The signatures admission will need, with their verdicts once known.
    checks: Vec<Check>,
}

struct Check {
    index: usize,
    key: PublicKey,
    verdict: Option<Verdict>,
    /// Verified here rather than found in the cache.
    fresh: bool,
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
    /// most [`VERIFY_BATCH_TXS_MAX`]; a transaction repeated in the batch is
    /// checked once.
    pub fn verify(&mut self) {
        let mut first: HashMap<(Hash, PublicKey), usize> = HashMap::new();
        let mut missing = Vec::new();
        for (c, check) in self.checks.iter().enumerate() {
            if check.verdict.is_none()
                && first
                    .insert((self.txs[check.index].1, check.key), c)
                    .is_none()
            {
                missing.push(c);
            }
        }
        for chunk in missing.chunks(VERIFY_BATCH_TXS_MAX) {
            let batch: Vec<(&SignedTx, PublicKey)> = chunk
                .iter()
                .map(|&c| (&self.txs[self.checks[c].index].0, self.checks[c].key))
                .collect();
            let valid = verify_tx_batch(&batch);
            assert_eq!(valid.len(), chunk.len());
            for (&c, valid) in chunk.iter().zip(valid) {
                let check = &mut self.checks[c];
                check.verdict = Some(Verdict {
                    key: check.key,
                    valid,
                });
                check.fresh = true;
            }
        }
        // Repeats take the verdict of the first occurrence.
        for c in 0..self.checks.len() {
            if self.checks[c].verdict.is_none() {
                let at = first[&(self.txs[self.checks[c].index].1, self.checks[c].key)];
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

struct Pooled {
    tx: SignedTx,
    bytes: usize,
}

/// A pooled transaction's place in its signer's queue.
#[derive(Clone, Copy, Debug)]
struct Slot {
    hash: Hash,
    /// Its encoded size.
    bytes: usize,
}

/// One signer's pooled nonces.
struct SignerQueue {
    /// The signer's committed nonce when the queue last saw a state. Every
    /// nonce in `nonces` is above it.
    committed: u64,
    /// The last nonce of the contiguous run `committed + 1 ..= ready_end`
    /// in `nonces`; `committed` if the run is empty.
    ready_end: u64,
    /// Its place in the reaping order: when the queue was created or last
    /// had a transaction committed, counted in arrivals. Reaping visits
    /// signers from the smallest.
    since: u64,
    /// The sum of the slots' sizes.
    bytes: usize,
    nonces: BTreeMap<u64, Slot>,
}

impl SignerQueue {
    fn new(committed: u64, since: u64) -> SignerQueue {
        SignerQueue {
            committed,
            ready_end: committed,
            since,
            bytes: 0,
            nonces: BTreeMap::new(),
        }
    }

    /// The next nonce after the ready run.
    fn next_nonce(&self) -> u64 {
        self.ready_end.saturating_add(1)
    }

    /// How many pooled nonces wait for a gap before them to fill.
    fn futures(&self) -> usize {
        self.nonces.len().saturating_sub(self.ready_len())
    }

    fn ready_len(&self) -> usize {
        // Never more than the pooled nonces, which fit in memory.
        usize::try_from(self.ready_end - self.committed).unwrap_or(usize::MAX)
    }

    /// The future nonces, last first.
    fn futures_from_last(&self) -> impl Iterator<Item = (u64, Slot)> + '_ {
        self.nonces
            .range(self.next_nonce()..)
            .rev()
            .map(|(&n, &slot)| (n, slot))
    }

    fn insert(&mut self, nonce: u64, slot: Slot) {
        assert!(nonce > self.committed);
        let previous = self.nonces.insert(nonce, slot);
        assert!(previous.is_none(), "nonce slot was free");
        self.bytes += slot.bytes;
        self.extend_run();
    }

    fn extend_run(&mut self) {
        while let Some(next) = self.ready_end.checked_add(1) {
            if !self.nonces.contains_key(&next) {
                break;
            }
            self.ready_end = next;
        }
    }

    /// Removes the slots `removed` took out of `nonces` from the byte count.
    fn removed(&mut self, removed: BTreeMap<u64, Slot>) -> Vec<(u64, Slot)> {
        for slot in removed.values() {
            self.bytes -= slot.bytes;
        }
        removed.into_iter().collect()
    }

    /// Moves the queue to a state where the signer's committed nonce is
    /// `committed`, returning the now stale entries.
    fn resync(&mut self, committed: u64) -> Vec<(u64, Slot)> {
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
    fn truncate_from(&mut self, nonce: u64) -> Vec<(u64, Slot)> {
        let removed = self.nonces.split_off(&nonce);
        self.ready_end = self
            .ready_end
            .min(nonce.saturating_sub(1))
            .max(self.committed);
        self.removed(removed)
    }
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
    /// returning its hash. The signature is verified unless a verdict for it
    /// under the signer's current key is cached.
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
            .filter_map(|(i, (tx, hash, _))| {
                let key = state.entity(&tx.body.signer)?.public_key;
                let cached = self.verdicts.get(hash).filter(|v| v.key == key);
                Some(Check {
                    index: i,
                    key,
                    verdict: cached,
                    fresh: false,
                })
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
                    self.verdicts.signatures_verified += 1;
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
        let verdict = match verdict {
            Some(v) if v.key == signer.public_key => v,
            _ => self.verdicts.verify(&[(hash, &tx, signer.public_key)])[0],
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
        if Some(nonce) == signer.nonce.checked_add(1) {
            state.begin_block().apply_tx(&tx, Some(verdict))?;
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

    /// Selects transactions for a block on top of `state`: at most `txs_max`
    /// of them and `bytes_max` encoded bytes in all. Every candidate is
    /// executed in a block overlay, so the result executes as a block; one
    /// that fails ends its signer's turns and is reported in
    /// [`Reap::rejected`]. The result depends only on the mempool and `state`.
    ///
    /// Each signer's share of the block: signers take turns, one transaction
    /// per turn, and each signer's transactions go in nonce order from its
    /// committed nonce + 1. So a signer takes a second transaction only once
    /// every other signer with a ready one has taken one: while n signers
    /// have ready transactions left, none takes more than ⌈`txs_max` / n⌉,
    /// and one signer fills what is left only when the others have nothing
    /// more. The turns start with the signer that has waited longest: a
    /// signer goes to the back when one of its transactions commits (see
    /// [`Mempool::on_commit`]), so when more signers wait than a block holds,
    /// those left out go first in the next block.
    ///
    /// Cost: O(signers + `txs_max`) turns, each an execution.
    pub fn reap(&self, state: &State, txs_max: usize, bytes_max: usize) -> Reap {
        struct Turn<'a> {
            queue: &'a SignerQueue,
            next: Option<u64>,
        }
        let mut turns: Vec<Turn> = self
            .signers
            .iter()
            .map(|(id, queue)| Turn {
                queue,
                // An unknown signer's head is still tried, so that it is
                // reported as unknown rather than kept forever.
                next: match state.entity(id) {
                    Some(e) => e.nonce.checked_add(1),
                    None => queue.nonces.keys().next().copied(),
                },
            })
            .collect();
        turns.sort_by_key(|t| t.queue.since);

        let mut reap = Reap::default();
        let mut exec = state.begin_block();
        while !turns.is_empty() && reap.txs.len() < txs_max {
            for turn in turns.iter_mut() {
                if reap.txs.len() >= txs_max {
                    break;
                }
                let Some(nonce) = turn.next.take() else {
                    continue;
                };
                let Some(slot) = turn.queue.nonces.get(&nonce) else {
                    continue;
                };
                let pooled = &self.txs[&slot.hash];
                if reap.bytes.saturating_add(pooled.bytes) > bytes_max {
                    continue;
                }
                match exec.apply_tx(&pooled.tx, self.verdicts.get(&slot.hash)) {
                    Ok(()) => {
                        reap.txs.push(pooled.tx.clone());
                        reap.hashes.push(slot.hash);
                        reap.bytes += pooled.bytes;
                        turn.next = nonce.checked_add(1);
                    }
                    Err(e) => reap.rejected.push((slot.hash, e)),
                }
            }
            // Signers whose turns ended are not visited again, so a long
            // queue among many finished ones costs its own length only.
            turns.retain(|t| t.next.is_some());
        }
        reap
    }

    /// Updates the mempool after a block: removes its transactions and every
    /// pooled one whose nonce is now at or below its signer's committed nonce,
    /// then checks each signer's next transaction against `state` (the state
    /// after the block), dropping a failure with the signer's later nonces.
    /// The signers with a transaction in the block move to the back of the
    /// reaping order, in block order. Returns what was dropped, with why; the
    /// block's own transactions are not in it.
    pub fn on_commit(&mut self, committed: &[SignedTx], state: &State) -> Vec<(Hash, TxError)> {
        let mut served: Vec<&EntityId> = Vec::new();
        let mut seen: HashSet<&EntityId> = HashSet::new();
        for tx in committed {
            // Out of the hash index now, so that the resync below takes it
            // out of its queue without reporting it.
            self.forget(&tx.hash());
            if seen.insert(&tx.body.signer) {
                served.push(&tx.body.signer);
            }
        }
        let mut dropped = Vec::new();
        let ids: Vec<EntityId> = self.signers.keys().cloned().collect();
        for id in ids {
            dropped.extend(self.recheck_signer(&id, state));
        }
        for id in served {
            if let Some(q) = self.signers.get_mut(id) {
                q.since = self.arrivals;
                self.arrivals += 1;
            }
        }
        dropped
    }

    fn recheck_signer(&mut self, id: &EntityId, state: &State) -> Vec<(Hash, TxError)> {
        let Some(entity) = state.entity(id) else {
            let first = self
                .signers
                .get(id)
                .and_then(|q| q.nonces.keys().next().copied());
            return match first {
                Some(nonce) => {
                    self.drop_from(id, nonce, TxError::UnknownSigner { signer: id.clone() })
                }
                None => Vec::new(),
            };
        };
        let Some(stale) = self.edit_queue(id, |q| q.resync(entity.nonce)) else {
            return Vec::new();
        };
        let head = entity.nonce.checked_add(1).and_then(|n| {
            let slot = self.signers.get(id)?.nonces.get(&n)?;
            Some((n, slot.hash))
        });
        let mut dropped = Vec::new();
        for (nonce, slot) in stale {
            // The block's own transactions were forgotten already.
            if self.forget(&slot.hash).is_none() {
                continue;
            }
            let expected = entity.nonce.saturating_add(1);
            dropped.push((
                slot.hash,
                TxError::BadNonce {
                    signer: id.clone(),
                    expected,
                    got: nonce,
                },
            ));
        }
        let head = head.and_then(|(nonce, hash)| Some((nonce, hash, self.txs.get(&hash)?)));
        if let Some((nonce, hash, pooled)) = head {
            let tx = &pooled.tx;
            let verdict = self.verdicts.verify(&[(hash, tx, entity.public_key)])[0];
            if let Err(e) = state.begin_block().apply_tx(tx, Some(verdict)) {
                dropped.extend(self.drop_from(id, nonce, e));
            }
        }
        dropped
    }

    /// The cached signature verdict for the transaction with this hash, to
    /// pass to [`ledger::state::BlockExec::apply_tx`].
    pub fn verdict(&self, hash: &Hash) -> Option<Verdict> {
        self.verdicts.get(hash)
    }

    /// Verdicts for `txs` (a proposal, a synced block) under their signers'
    /// keys in `state`, verifying in batches only those the cache lacks, and
    /// caching them. `None` for a transaction whose signer `state` does not
    /// know. One entry per transaction, in order.
    pub fn verdicts_for(&mut self, txs: &[SignedTx], state: &State) -> Vec<Option<Verdict>> {
        let keyed: Vec<(usize, Hash, &SignedTx, PublicKey)> = txs
            .iter()
            .enumerate()
            .filter_map(|(i, tx)| {
                let key = state.entity(&tx.body.signer)?.public_key;
                Some((i, tx.hash(), tx, key))
            })
            .collect();
        let items: Vec<(Hash, &SignedTx, PublicKey)> =
            keyed.iter().map(|(_, h, tx, k)| (*h, *tx, *k)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    impl Mempool {
        /// Checks every internal invariant; tests call it after each step.
        pub(crate) fn assert_invariants(&self) {
            let mut count = 0;
            let mut bytes = 0;
            let mut by_futures = BTreeSet::new();
            for (id, q) in &self.signers {
                assert!(!q.nonces.is_empty(), "{id}: empty queues are removed");
                assert!(q.ready_end >= q.committed);
                for n in q.committed + 1..=q.ready_end {
                    assert!(q.nonces.contains_key(&n), "{id}: run is contiguous");
                }
                assert!(
                    !q.nonces.contains_key(&(q.ready_end + 1)),
                    "{id}: run is maximal"
                );
                let mut queue_bytes = 0;
                for (&n, slot) in &q.nonces {
                    assert!(n > q.committed, "{id}: no stale nonce");
                    let p = &self.txs[&slot.hash];
                    assert_eq!(&p.tx.body.signer, id);
                    assert_eq!(p.tx.body.nonce, n);
                    assert_eq!(p.tx.hash(), slot.hash);
                    assert_eq!(p.tx.encode().len(), p.bytes);
                    assert_eq!(slot.bytes, p.bytes);
                    count += 1;
                    bytes += p.bytes;
                    queue_bytes += p.bytes;
                }
                assert_eq!(q.bytes, queue_bytes, "{id}: queue bytes");
                assert!(q.nonces.len() <= self.limits.txs_per_signer_max);
                assert!(q.bytes <= self.limits.bytes_per_signer_max);
                let futures = q.nonces.keys().filter(|&&n| n > q.ready_end).count();
                assert_eq!(q.futures(), futures);
                if futures > 0 {
                    by_futures.insert((futures, id.clone()));
                }
            }
            assert_eq!(by_futures, self.by_futures, "future index");
            assert_eq!(count, self.txs.len());
            assert_eq!(bytes, self.bytes);
            assert!(self.txs.len() <= self.limits.txs_max);
            assert!(self.bytes <= self.limits.bytes_max);
            assert!(self.verdicts.len() <= self.verdicts.entries_max());
        }
    }

    /// Random nonces of three signers (gaps, repeats, stale and far-future
    /// ones) in a small pool that is often full, so that signers reach their
    /// share and future nonces are evicted; reaps, commits and drops, with
    /// every invariant checked after each step.
    #[test]
    fn random_steps_keep_the_invariants() {
        use ledger::testkit::{key, TestChain, CHAIN_ID};
        use ledger::tx::{EntityKind, Op, TxBody};
        use ledger::{Amount, LineCode, Year};

        let treasury = EntityId::new("MOF").unwrap();
        let ministries = [
            EntityId::new("MOH").unwrap(),
            EntityId::new("MOET").unwrap(),
        ];
        let signers = [&treasury, &ministries[0], &ministries[1]];
        let year = Year::new(2026).unwrap();
        let line = LineCode::new("0402-HEALTH").unwrap();
        // The treasury appropriates to a ministry, a ministry gives back. An
        // amount of zero is refused, and so is giving back more than was
        // received, so some transactions fail.
        let tx = |signer: &EntityId, nonce: u64, amount: u64| {
            let op = if *signer == treasury {
                Op::Appropriate {
                    year,
                    line: line.clone(),
                    to: ministries[(amount % 2) as usize].clone(),
                    amount: Amount(amount),
                    legal_ref: "QĐ-1".into(),
                }
            } else {
                Op::ReturnFunds {
                    year,
                    line: line.clone(),
                    amount: Amount(amount),
                }
            };
            TxBody {
                chain_id: CHAIN_ID.into(),
                signer: signer.clone(),
                nonce,
                op,
            }
            .sign(&key(signer.as_str()))
        };
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut below = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut chain = TestChain::new(1);
        let registrations = ministries
            .iter()
            .zip(1..)
            .map(|(m, nonce)| {
                TxBody {
                    chain_id: CHAIN_ID.into(),
                    signer: treasury.clone(),
                    nonce,
                    op: Op::RegisterEntity {
                        id: m.clone(),
                        kind: EntityKind::Ministry,
                        name: format!("Bộ {m}"),
                        parent: None,
                        public_key: key(m.as_str()).public_key(),
                    },
                }
                .sign(&key("MOF"))
            })
            .collect();
        chain.commit(registrations).unwrap();
        let (mut admitted, mut committed, mut dropped, mut evicted) = (0, 0, 0, 0);
        // Three signers' windows of future nonces hold more than the pool.
        let mut pool = Mempool::new(MempoolLimits {
            txs_max: 10,
            bytes_max: 10 * 200,
            future_nonces_per_signer_max: 5,
            txs_per_signer_max: 7,
            bytes_per_signer_max: 7 * 200,
            verdicts_max: 25,
        });
        for _ in 0..1200 {
            for _ in 0..1 + below(3) {
                let signer = signers[below(3) as usize];
                let next = chain.state.next_nonce(signer).unwrap();
                let nonce = (next + below(12)).saturating_sub(2);
                admitted += usize::from(
                    pool.insert(tx(signer, nonce, below(10)), &chain.state)
                        .is_ok(),
                );
                let gone = pool.take_evicted();
                for (h, e) in &gone {
                    assert_eq!(e.code(), "mempool_full");
                    assert!(!pool.contains(h));
                }
                evicted += gone.len();
            }
            match below(10) {
                0..=1 => {
                    let r = pool.reap(&chain.state, below(5) as usize, 1 << 20);
                    for (h, e) in r.rejected {
                        dropped += pool.drop_tx(&h, e).len();
                    }
                    chain.commit(r.txs.clone()).unwrap();
                    committed += r.txs.len();
                    dropped += pool.on_commit(&r.txs, &chain.state).len();
                }
                3 => {
                    let oldest = pool.iter().map(|(h, t)| (t.body.nonce, *h)).min();
                    if let Some((_, h)) = oldest {
                        dropped += pool
                            .drop_tx(&h, TxError::MempoolFull { reason: "t".into() })
                            .len();
                    }
                }
                _ => {}
            }
            pool.assert_invariants();
        }
        // The walk reached the interesting cases.
        assert!(
            admitted > 300 && committed > 60 && dropped > 60 && evicted > 10,
            "{admitted} {committed} {dropped} {evicted}"
        );
        assert_eq!(admitted, committed + dropped + evicted + pool.len());
    }

    #[test]
    fn verdict_cache_evicts_oldest_first_and_stays_bounded() {
        let mut cache = VerdictCache::new(2);
        let v = Verdict {
            key: PublicKey([1; 32]),
            valid: true,
        };
        for i in 0..5u8 {
            cache.insert(Hash([i; 32]), v);
            cache.insert(Hash([i; 32]), v); // a repeat does not take a second slot
            assert!(cache.len() <= 2);
        }
        assert_eq!(cache.get(&Hash([2; 32])), None);
        assert_eq!(cache.get(&Hash([3; 32])), Some(v));
        assert_eq!(cache.get(&Hash([4; 32])), Some(v));
        let mut none = VerdictCache::new(0);
        none.insert(Hash([0; 32]), v);
        assert!(none.is_empty());
    }
}
