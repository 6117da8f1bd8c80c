//! The figures of a run, computed from what was recorded: pure functions,
//! no I/O, no clock. Instants are nanoseconds since one origin, taken by the
//! bench process.
//!
//! Definitions (the report's fields):
//!
//! - A transaction's *commit instant* is the latest, over the validators,
//!   of the first instant its block's height was seen on that validator: it
//!   counts as committed once it is committed on every validator.
//! - *Latency* is its commit instant minus the instant its request was
//!   sent (for a transaction retried after `mempool_full`, its first send).
//! - The *window* is `[start, start + duration]`, where `start` is the
//!   instant the first transaction was due. `committed_tx_per_s` is the
//!   number of bench transactions whose commit instant falls in the window,
//!   divided by the window's length. It counts what the cluster finished
//!   while under load, so a backlog that commits after the window does not
//!   inflate it; it reads low by about one latency over the duration, since
//!   the first commits come one latency after the start.
//! - `blocks_per_s` and `txs_per_block` are over the blocks whose commit
//!   instant (the same latest-first-seen rule) falls in the window; the
//!   mean counts every transaction in those blocks, empty blocks included.

use serde::Serialize;

/// The nearest-rank percentile `p` (1 to 100) of sorted values: the
/// smallest value that at least `p`% of the values are at or below.
/// `None` for no values.
pub fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    assert!((1..=100).contains(&p), "a percentile from 1 to 100");
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "sorted");
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    // ceil(p * n / 100), in integers so that 95% of 100 is exactly rank 95.
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    Some(sorted[rank as usize - 1])
}

/// Percentiles of a duration, in milliseconds (to 0.1 ms).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

fn ms(ns: u64) -> f64 {
    (ns as f64 / 100_000.0).round() / 10.0
}

impl Percentiles {
    /// The percentiles of durations in nanoseconds; `None` for none.
    pub fn of_ns(mut values: Vec<u64>) -> Option<Percentiles> {
        values.sort_unstable();
        let at = |p| percentile(&values, p).map(ms);
        Some(Percentiles {
            p50: at(50)?,
            p95: at(95)?,
            p99: at(99)?,
            max: at(100)?,
        })
    }
}

/// What happened to one load transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxRecord {
    /// When it was due to be sent.
    pub due_ns: u64,
    /// When its request was first sent, if it was.
    pub sent_ns: Option<u64>,
    /// When the request a node accepted it from was sent, if one did.
    pub accepted_ns: Option<u64>,
    /// Whether a node answered with its hash.
    pub accepted: bool,
    /// The height it is committed at, if it is committed exactly once on
    /// every validator.
    pub height: Option<u64>,
}

/// What the figures are computed from.
pub struct Recorded<'a> {
    /// Every load transaction.
    pub txs: &'a [TxRecord],
    /// Per validator, the first instant each height was seen, indexed by
    /// height (index 0 unused).
    pub first_seen: &'a [Vec<Option<u64>>],
    /// Transactions in each block, indexed by height (index 0 unused).
    pub block_txs: &'a [u64],
    /// The window's start and end.
    pub window_ns: (u64, u64),
}

/// The figures of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Accepted, committed exactly once on every validator, and seen there.
    pub committed: u64,
    /// Of those, committed within the window.
    pub committed_in_window: u64,
    /// `committed_in_window` per second of window.
    pub committed_tx_per_s: f64,
    /// Submit-to-commit latency of every committed transaction, from its
    /// first send.
    pub latency: Option<Percentiles>,
    /// The same from the send a node accepted it from: what a transaction
    /// waits once it is in, leaving out the retries of a refused one.
    pub accepted_latency: Option<Percentiles>,
    /// How late requests were sent after the transactions were due.
    pub submit_lag: Option<Percentiles>,
    /// Blocks committed within the window.
    pub blocks_in_window: u64,
    /// Per second of window.
    pub blocks_per_s: f64,
    /// Mean transactions per block of the window.
    pub txs_per_block: f64,
    /// Committed on every validator, but at a height some validator's
    /// poller never saw, so with no commit instant.
    pub untracked: u64,
}

/// The commit instant of a height: the latest first sighting over the
/// validators, or `None` if one never saw it.
fn commit_ns(first_seen: &[Vec<Option<u64>>], height: u64) -> Option<u64> {
    first_seen
        .iter()
        .map(|v| v.get(height as usize).copied().flatten())
        .try_fold(0, |latest, seen| seen.map(|s| latest.max(s)))
}

/// Computes the [`Figures`] (definitions in the module documentation).
pub fn figures(r: &Recorded<'_>) -> Figures {
    let (start, end) = r.window_ns;
    assert!(start < end, "a window of some length");
    let in_window = |t: u64| (start..=end).contains(&t);
    let seconds = (end - start) as f64 / 1e9;
    let mut latencies = Vec::new();
    let mut accepted_latencies = Vec::new();
    let mut lags = Vec::new();
    let (mut committed, mut committed_in_window, mut untracked) = (0, 0, 0);
    for tx in r.txs {
        if let Some(sent) = tx.sent_ns {
            lags.push(sent.saturating_sub(tx.due_ns));
        }
        let (Some(sent), true, Some(h)) = (tx.sent_ns, tx.accepted, tx.height) else {
            continue;
        };
        let Some(at) = commit_ns(r.first_seen, h) else {
            untracked += 1;
            continue;
        };
        committed += 1;
        committed_in_window += u64::from(in_window(at));
        latencies.push(at.saturating_sub(sent));
        accepted_latencies.push(at.saturating_sub(tx.accepted_ns.unwrap_or(sent)));
    }
    let (mut blocks, mut block_txs) = (0u64, 0u64);
    for (h, txs) in r.block_txs.iter().enumerate().skip(1) {
        if commit_ns(r.first_seen, h as u64).is_some_and(in_window) {
            blocks += 1;
            block_txs += txs;
        }
    }
    Figures {
        committed,
        committed_in_window,
        committed_tx_per_s: committed_in_window as f64 / seconds,
        latency: Percentiles::of_ns(latencies),
        accepted_latency: Percentiles::of_ns(accepted_latencies),
        submit_lag: Percentiles::of_ns(lags),
        blocks_in_window: blocks,
        blocks_per_s: blocks as f64 / seconds,
        txs_per_block: if blocks == 0 {
            0.0
        } else {
            block_txs as f64 / blocks as f64
        },
        untracked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50), Some(50));
        assert_eq!(percentile(&hundred, 95), Some(95));
        assert_eq!(percentile(&hundred, 99), Some(99));
        assert_eq!(percentile(&hundred, 100), Some(100));
        assert_eq!(percentile(&hundred, 1), Some(1));
        // Ten values: p50 is the 5th, p95 and p99 round up to the 10th.
        let mut ten = vec![40, 10, 90, 20, 70, 30, 100, 50, 80, 60];
        ten.sort_unstable();
        assert_eq!(percentile(&ten, 50), Some(50));
        assert_eq!(percentile(&ten, 95), Some(100));
        assert_eq!(percentile(&ten, 99), Some(100));
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[], 50), None);
        // In milliseconds, to a tenth.
        let p = Percentiles::of_ns(vec![3_000_000, 1_000_000, 2_049_999, 250_000_000]).unwrap();
        assert_eq!(
            p,
            Percentiles {
                p50: 2.0,
                p95: 250.0,
                p99: 250.0,
                max: 250.0
            }
        );
    }

    #[test]
    fn throughput_counts_commits_on_every_validator_within_the_window() {
        const S: u64 = 1_000_000_000;
        // Heights 1..=4; validator 1 sees each height 100 ms after validator 0.
        let v0 = vec![
            None,
            Some(S / 2),
            Some(S + S / 2),
            Some(2 * S + S / 2),
            Some(4 * S),
        ];
        let v1: Vec<Option<u64>> = v0.iter().map(|t| t.map(|t| t + S / 10)).collect();
        let tx = |due, sent, height| TxRecord {
            due_ns: due,
            sent_ns: Some(sent),
            accepted_ns: Some(sent),
            accepted: true,
            height: Some(height),
        };
        let txs = [
            tx(S / 4, S / 4, 1),         // committed at 0.6 s: latency 350 ms
            tx(S, S + S / 10, 2),        // 1.6 s: 500 ms, sent 100 ms late
            tx(2 * S, 2 * S, 3),         // 2.6 s: 600 ms
            tx(2 * S + S / 2, 3 * S, 4), // 4.1 s: after the window, 1100 ms
            // Refused once at 0.1 s, accepted when sent again at 1.2 s,
            // committed at 1.6 s: 1500 ms from its first send, 400 from
            // the accepted one.
            TxRecord {
                accepted_ns: Some(S + S / 5),
                ..tx(S / 10, S / 10, 2)
            },
            TxRecord {
                accepted: false,
                height: None,
                ..tx(S, S, 0)
            },
        ];
        let r = Recorded {
            txs: &txs,
            first_seen: &[v0, v1],
            block_txs: &[0, 1, 1, 1, 5],
            window_ns: (0, 3 * S),
        };
        let f = figures(&r);
        assert_eq!(f.committed, 5);
        assert_eq!(f.committed_in_window, 4);
        assert_eq!(f.committed_tx_per_s, 4.0 / 3.0);
        assert_eq!(f.blocks_in_window, 3);
        assert_eq!(f.blocks_per_s, 1.0);
        assert_eq!(f.txs_per_block, 1.0);
        assert_eq!(f.untracked, 0);
        let l = f.latency.unwrap();
        assert_eq!((l.p50, l.max), (600.0, 1500.0));
        // 350, 400, 500, 600, 1100.
        let a = f.accepted_latency.unwrap();
        assert_eq!((a.p50, a.max), (500.0, 1100.0));
        assert_eq!(f.submit_lag.unwrap().max, 500.0);

        // A height one validator never saw has no commit instant.
        let r = Recorded {
            first_seen: &[vec![None, Some(1)], vec![None, None]],
            txs: &txs[..1],
            block_txs: &[0, 1],
            window_ns: (0, S),
        };
        let f = figures(&r);
        assert_eq!((f.committed, f.untracked, f.blocks_in_window), (0, 1, 0));
        assert_eq!(f.latency, None);
    }
}
