//! Committing blocks, starting heights, and what happens while the store
//! cannot be written.

use std::time::{Duration, Instant};

use consensus::Input;
use ledger::{Block, BlockOutcome, CommitCertificate};
use tracing::{debug, error, info, warn};

use super::{consensus_set, Core, Io};

/// The first wait before a store that failed a write is opened again; each
/// failed attempt doubles it, up to [`STORE_RETRY_MAX`].
pub const STORE_RETRY_FIRST: Duration = Duration::from_millis(250);
/// The longest wait between two attempts to open the store again.
pub const STORE_RETRY_MAX: Duration = Duration::from_secs(2);
/// How often a store that still cannot be written is reported again.
pub const STORE_FAULT_REPORT_EVERY: Duration = Duration::from_secs(60);

/// A store that cannot be written, and when to try it again.
pub(crate) struct StoreFault {
    since: Instant,
    pub(crate) retry_at: Instant,
    backoff: Duration,
    attempts: u32,
    reported_at: Instant,
}

impl<I: Io> Core<I> {
    /// Commits block L+1; false if it is not the next block, the store
    /// cannot be written or the write failed. The state, the mempool and
    /// the candidates change only once the block is written.
    pub(crate) fn commit(
        &mut self,
        block: Block,
        cert: CommitCertificate,
        outcome: BlockOutcome,
    ) -> bool {
        if self.store_fault.is_some() {
            debug!(
                height = block.header.height.0,
                "not committing: the store cannot be written"
            );
            return false;
        }
        let started = self.io.now();
        let h = block.header.height;
        let hash = block.hash();
        let (dropped, set_used, txs) = {
            let mut state = self.shared.state.write().expect("state lock");
            if h != state.height().next() {
                return false;
            }
            if let Err(e) = self.store.commit_block(&block, &cert, &outcome, &state) {
                drop(state);
                self.store_failed(&format!("commit block {h}"), &e.to_string());
                return false;
            }
            let set_used = state.validators().clone();
            state.commit(outcome);
            let dropped = self
                .shared
                .mempool
                .lock()
                .expect("mempool lock")
                .on_commit(&block.txs, &state);
            (dropped, set_used, block.txs.len())
        };
        {
            let mut rejections = self.shared.rejected.lock().expect("rejections lock");
            for (hash, why) in dropped {
                rejections.insert(hash, why);
            }
        }
        self.evidence.on_commit(&block.evidence);
        self.count_missed_signatures(&block);
        self.prev_set = Some(set_used);
        self.last_hash = hash;
        self.history.push(ledger::history::leaf(&hash));
        self.last_time_ms = block.header.time_ms;
        self.candidates.clear();
        self.update_allowed();
        self.update_power_share();
        self.prune_clocks();
        let now = self.io.now();
        if let Some(prev) = self.last_commit_at.replace(now) {
            let took = now.duration_since(prev);
            metrics::histogram!("minhbach_block_interval_seconds").record(took.as_secs_f64());
            self.drain.note(txs, took.as_millis() as u64);
        }
        self.bound_clients();
        metrics::gauge!("minhbach_height").set(h.0 as f64);
        metrics::counter!("minhbach_committed_txs_total").increment(txs as u64);
        metrics::counter!("minhbach_committed_blocks_total").increment(1);
        metrics::counter!("minhbach_evidence_committed_total")
            .increment(block.evidence.len() as u64);
        metrics::gauge!("minhbach_mempool_txs")
            .set(self.shared.mempool.lock().expect("mempool lock").len() as f64);
        info!(
            height = h.0,
            txs,
            ms = now.duration_since(started).as_millis() as u64,
            "committed block {hash}"
        );
        true
    }

    /// Starts consensus at the height after the committed one, and feeds it
    /// the proposals kept for that height.
    pub(crate) fn start_next_height(&mut self) {
        self.next_height_at = None;
        let (height, set) = {
            let state = self.shared.state.read().expect("state lock");
            (state.height().next(), consensus_set(state.validators()))
        };
        if height.0 <= self.height() || !self.runs_version_of(height.0) {
            return;
        }
        self.input(Input::NewHeight {
            height: consensus::Height(height.0),
            validators: set,
        });
        self.awaiting.clear();
        self.retry.clear();
        self.retry_at = None;
        self.fetched.clear();
        self.tx_fetches.clear();
        self.round_proposals.clear();
        self.feed_future_proposals();
    }

    /// A write failed (or the store was opened read-only): stop signing and
    /// committing, report it, and try the store again after a pause.
    pub(crate) fn store_failed(&mut self, what: &str, why: &str) {
        metrics::counter!("minhbach_store_write_failures_total").increment(1);
        metrics::gauge!("minhbach_store_writable").set(0.0);
        let path = self.store.path();
        let height = self.committed_height();
        let now = self.io.now();
        let relapse = self
            .store_resumed
            .filter(|(at, _)| now.duration_since(*at) < STORE_FAULT_REPORT_EVERY);
        if relapse.is_some() {
            warn!(
                path = %path,
                height,
                "cannot {what}: the store at {path} cannot be written again: {why}"
            );
        } else {
            error!(
                path = %path,
                height,
                "cannot {what}: the store at {path} cannot be written: {why}; \
                 not signing or committing until it can, retrying"
            );
        }
        self.shared.live.write().expect("live lock").store_error =
            Some(format!("cannot {what}: {why}"));
        self.publish_ready();
        let backoff = relapse.map_or(STORE_RETRY_FIRST, |(_, b)| (b * 2).min(STORE_RETRY_MAX));
        self.store_fault = Some(StoreFault {
            since: now,
            retry_at: now + backoff,
            backoff,
            attempts: 0,
            reported_at: now,
        });
    }

    /// Opens the store again for writing and writes the safety record; on
    /// success, signing and committing resume and the node catches up by
    /// sync; otherwise the next attempt waits twice as long.
    pub(crate) fn retry_store(&mut self) {
        let now = self.io.now();
        let Some(mut fault) = self.store_fault.take() else {
            return;
        };
        fault.attempts += 1;
        let store = self.store.clone();
        let result = store.reopen().and_then(|()| {
            // The record in memory may be ahead of the stored one (records
            // not written while the store failed); it is written before any
            // signature, and proves the store takes a synced write.
            if self.key.is_none() {
                return Ok(());
            }
            let bytes =
                serde_json::to_vec(self.machine.record()).expect("a safety record serializes");
            store.put_safety_record(&bytes)
        });
        let path = store.path();
        match result {
            Ok(()) => {
                self.store_resumed = Some((now, fault.backoff));
                metrics::gauge!("minhbach_store_writable").set(1.0);
                self.shared.live.write().expect("live lock").store_error = None;
                self.publish_ready();
                let stored = store.meta().ok().flatten().map(|m| m.height.0);
                info!(
                    path = %path,
                    down_ms = now.duration_since(fault.since).as_millis() as u64,
                    attempts = fault.attempts,
                    height = self.committed_height(),
                    "the store at {path} can be written again; resuming"
                );
                if let Some(stored) = stored.filter(|s| *s > self.committed_height()) {
                    // The failed write reached the disk after all; the block
                    // comes again by sync and is written again, unchanged.
                    info!(
                        height = stored,
                        "the store holds a block its failed write reported lost"
                    );
                }
                self.maybe_sync();
            }
            Err(e) => {
                metrics::counter!("minhbach_store_write_failures_total").increment(1);
                fault.backoff = (fault.backoff * 2).min(STORE_RETRY_MAX);
                fault.retry_at = now + fault.backoff;
                debug!(
                    attempts = fault.attempts,
                    "the store still cannot be written: {e}"
                );
                if now.duration_since(fault.reported_at) >= STORE_FAULT_REPORT_EVERY {
                    fault.reported_at = now;
                    warn!(
                        path = %path,
                        down_s = now.duration_since(fault.since).as_secs(),
                        "the store at {path} still cannot be written: {e}"
                    );
                }
                self.shared.live.write().expect("live lock").store_error =
                    Some(format!("cannot reopen the store for writing: {e}"));
                self.store_fault = Some(fault);
            }
        }
    }
}
