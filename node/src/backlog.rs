//! How much a client may add to the mempool: no more than the validators
//! can commit in about `[limits] backlog_ms`, at the rate they committed
//! over the last heights.
//!
//! Offered more than it can commit, a node that admitted everything up to
//! `[limits] mempool_txs` would hold tens of seconds of transactions: each
//! one accepted would wait that long, and the excess would be refused only
//! once the pool was full. Bounding what clients may add by time instead
//! keeps the wait of an accepted transaction near `backlog_ms` plus a
//! height, and refuses the excess at once with 429 `mempool_full` and
//! `Retry-After`, before its signature is checked.
//!
//! The rate is each height's transactions over the time since the commit
//! before it, the highest of the last [`RATE_HEIGHTS`] heights: under load,
//! every height commits what it can; when load falls, a burst still finds
//! room for what the recent heights showed they can take. The bound never
//! falls below [`CLIENT_TXS_FLOOR`], so an idle network takes a burst of
//! that size at once, and the commits it makes raise the bound within a few
//! heights. The bound applies to clients only: transactions gossiped by
//! peers were admitted by a node that checked it, and a validator that
//! refused them would have to fetch them for the next proposal.

use std::collections::VecDeque;

/// Heights whose commit rate the bound is taken from.
pub const RATE_HEIGHTS: usize = 8;
/// The least the bound allows: transactions a client may find pooled and
/// still add its own, whatever the recent rate. Half of what a batch may
/// hold (`gateway::api::SUBMIT_BATCH_TXS_MAX`): a larger floor lets a slow
/// network queue more than its backlog (measured with 7 validators on two
/// cores, committing 1,000–1,300 a second: 4,096 doubled the wait of an
/// accepted transaction), and the rest of a larger batch is taken a second
/// later, when the client sends it again as `Retry-After` says.
pub const CLIENT_TXS_FLOOR: usize = 2_048;

/// The recent heights' commit rates.
#[derive(Clone, Debug, Default)]
pub struct DrainRate {
    /// Transactions per second of each of the last heights, oldest first.
    heights: VecDeque<f64>,
}

impl DrainRate {
    /// Notes a height that committed `txs` transactions `ms` after the
    /// commit before it.
    pub fn note(&mut self, txs: usize, ms: u64) {
        if self.heights.len() == RATE_HEIGHTS {
            self.heights.pop_front();
        }
        self.heights
            .push_back(txs as f64 * 1_000.0 / ms.max(1) as f64);
    }

    /// The highest of the recent heights' rates, in transactions per
    /// second; 0 before any.
    pub fn per_second(&self) -> f64 {
        self.heights.iter().copied().fold(0.0, f64::max)
    }

    /// The most ready transactions a client's submission may find and
    /// still be admitted: the transactions committed in `backlog_ms` at
    /// [`DrainRate::per_second`], at least [`CLIENT_TXS_FLOOR`], at most
    /// the pool's own limit `txs_max`. `backlog_ms` 0 leaves only the
    /// pool's limit.
    pub fn client_txs_max(&self, backlog_ms: u64, txs_max: usize) -> usize {
        if backlog_ms == 0 {
            return txs_max;
        }
        let within = self.per_second() * backlog_ms as f64 / 1_000.0;
        // A float past usize::MAX casts to usize::MAX.
        (within as usize).clamp(CLIENT_TXS_FLOOR.min(txs_max), txs_max)
    }
}

/// How many of a client's transactions may be admitted now, with `ready`
/// transactions ready in the pool and a bound of `max`: the room left,
/// shared out among the `validators`, since each may be admitting its own
/// clients' transactions at once, before gossip shows them to the others;
/// but never less than what fills the pool to [`CLIENT_TXS_FLOOR`], so that
/// a quiet pool takes a batch up to that size whole.
pub fn client_room(max: usize, ready: usize, validators: usize) -> usize {
    let left = max.saturating_sub(ready);
    let share = left.div_ceil(validators.max(1));
    share.max(CLIENT_TXS_FLOOR.saturating_sub(ready)).min(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_what_the_fastest_recent_height_commits_within_the_backlog() {
        let mut rate = DrainRate::default();
        assert_eq!(rate.per_second(), 0.0);
        // Before any height: the floor.
        assert_eq!(rate.client_txs_max(1_500, 50_000), CLIENT_TXS_FLOOR);
        rate.note(6_000, 1_000);
        rate.note(12_000, 1_500);
        rate.note(100, 500);
        // 12,000 in 1.5 s is the fastest: 8,000 a second, 12,000 in 1.5 s.
        assert_eq!(rate.per_second(), 8_000.0);
        assert_eq!(rate.client_txs_max(1_500, 50_000), 12_000);
        assert_eq!(rate.client_txs_max(1_000, 50_000), 8_000);
        // Never past the pool's own limit, never under the floor.
        assert_eq!(rate.client_txs_max(60_000, 50_000), 50_000);
        assert_eq!(rate.client_txs_max(100, 50_000), CLIENT_TXS_FLOOR);
        // A pool smaller than the floor is its own bound.
        assert_eq!(rate.client_txs_max(100, 1_000), 1_000);
        // Off.
        assert_eq!(rate.client_txs_max(0, 50_000), 50_000);
    }

    #[test]
    fn the_room_is_shared_among_the_validators_above_the_floor() {
        // A quiet pool: room up to the floor (2,048), whatever the
        // validators, or a share of the room if that is more.
        assert_eq!(client_room(4_000, 0, 4), 2_048);
        assert_eq!(client_room(4_000, 1_000, 4), 1_048);
        assert_eq!(client_room(10_000, 0, 4), 2_500);
        // Past the floor: a quarter of what is left each, for 4.
        assert_eq!(client_room(10_000, 6_000, 4), 1_000);
        assert_eq!(client_room(10_000, 9_999, 4), 1);
        assert_eq!(client_room(10_000, 6_000, 1), 4_000);
        // Never past the bound, and nothing at or past it.
        assert_eq!(client_room(2, 0, 4), 2);
        assert_eq!(client_room(10_000, 10_000, 4), 0);
        assert_eq!(client_room(10_000, 12_000, 4), 0);
        // No validators known yet counts as one.
        assert_eq!(client_room(10_000, 6_000, 0), 4_000);
    }

    #[test]
    fn only_the_last_heights_count() {
        let mut rate = DrainRate::default();
        rate.note(20_000, 1_000);
        for _ in 0..RATE_HEIGHTS - 1 {
            rate.note(1_000, 1_000);
        }
        assert_eq!(rate.per_second(), 20_000.0);
        rate.note(1_000, 1_000);
        assert_eq!(rate.per_second(), 1_000.0);
        // A height committed in no measurable time counts as 1 ms.
        rate.note(5, 0);
        assert_eq!(rate.per_second(), 5_000.0);
    }
}
