//! Consensus parameters: timeouts that grow with the round, and the bounds of
//! every buffer.
//!
//! This module owns numbers only. It does not read files or the environment;
//! the node builds a [`Config`] from its `config.toml`.

use serde::{Deserialize, Serialize};

use crate::types::{Round, TimeoutKind};

/// Timeouts (milliseconds of the node's clock) and buffer limits.
/// A timeout of round `r` lasts `base + r · delta` (saturating).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Wait for the proposal of round 0 (paper `timeoutPropose(0)`).
    pub timeout_propose_base_ms: u64,
    /// Added to the propose timeout per round.
    pub timeout_propose_delta_ms: u64,
    /// Wait after 2/3+ prevotes of any kind.
    pub timeout_prevote_base_ms: u64,
    /// Added to the prevote timeout per round.
    pub timeout_prevote_delta_ms: u64,
    /// Wait after 2/3+ precommits of any kind.
    pub timeout_precommit_base_ms: u64,
    /// Added to the precommit timeout per round.
    pub timeout_precommit_delta_ms: u64,
    /// Interval at which our own signed messages of the current round are sent
    /// again, because the network may have dropped them. Does not grow.
    pub timeout_rebroadcast_ms: u64,
    /// Per validator, at most this many rounds above ours are kept (the
    /// highest ones): enough to follow the cluster (L55) and decide (L49)
    /// without letting one validator fill memory with far-future rounds.
    pub future_rounds_per_validator_max: usize,
    /// At most this many proposals for rounds above ours are kept (the highest).
    pub future_round_proposals_max: usize,
    /// At most this many votes for the next height are buffered until it starts.
    pub future_height_votes_max: usize,
}

/// Default [`Config::future_rounds_per_validator_max`].
pub const FUTURE_ROUNDS_PER_VALIDATOR_MAX: usize = 4;
/// Default [`Config::future_round_proposals_max`].
pub const FUTURE_ROUND_PROPOSALS_MAX: usize = 8;
/// Default [`Config::future_height_votes_max`].
pub const FUTURE_HEIGHT_VOTES_MAX: usize = 4096;

// Every future round a validator may occupy can carry a proposal.
const _: () = assert!(FUTURE_ROUND_PROPOSALS_MAX >= FUTURE_ROUNDS_PER_VALIDATOR_MAX);
// L55 needs at least one round above ours per validator.
const _: () = assert!(FUTURE_ROUNDS_PER_VALIDATOR_MAX >= 1);

impl Default for Config {
    /// CometBFT-like timeouts for a LAN or a small WAN cluster.
    fn default() -> Self {
        Config {
            timeout_propose_base_ms: 3_000,
            timeout_propose_delta_ms: 500,
            timeout_prevote_base_ms: 1_000,
            timeout_prevote_delta_ms: 500,
            timeout_precommit_base_ms: 1_000,
            timeout_precommit_delta_ms: 500,
            timeout_rebroadcast_ms: 2_000,
            future_rounds_per_validator_max: FUTURE_ROUNDS_PER_VALIDATOR_MAX,
            future_round_proposals_max: FUTURE_ROUND_PROPOSALS_MAX,
            future_height_votes_max: FUTURE_HEIGHT_VOTES_MAX,
        }
    }
}

impl Config {
    /// How long the timer of `kind` lasts in `round`: `base + round · delta`,
    /// saturating, so it grows with the round (partial synchrony: eventually a
    /// round is long enough for the real message delay).
    pub fn timeout_ms(&self, kind: TimeoutKind, round: Round) -> u64 {
        let (base_ms, delta_ms) = match kind {
            TimeoutKind::Propose => (self.timeout_propose_base_ms, self.timeout_propose_delta_ms),
            TimeoutKind::Prevote => (self.timeout_prevote_base_ms, self.timeout_prevote_delta_ms),
            TimeoutKind::Precommit => (
                self.timeout_precommit_base_ms,
                self.timeout_precommit_delta_ms,
            ),
            TimeoutKind::Rebroadcast => (self.timeout_rebroadcast_ms, 0),
        };
        base_ms.saturating_add(delta_ms.saturating_mul(u64::from(round.0)))
    }

    /// Asserts the relations between limits; called by the driver at start.
    pub(crate) fn assert_sane(&self) {
        assert!(self.future_rounds_per_validator_max >= 1);
        assert!(self.future_round_proposals_max >= 1);
        assert!(self.timeout_rebroadcast_ms > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_linearly_with_round_and_saturate() {
        let c = Config::default();
        assert_eq!(c.timeout_ms(TimeoutKind::Propose, Round(0)), 3_000);
        assert_eq!(c.timeout_ms(TimeoutKind::Propose, Round(4)), 5_000);
        assert_eq!(c.timeout_ms(TimeoutKind::Prevote, Round(2)), 2_000);
        assert_eq!(c.timeout_ms(TimeoutKind::Precommit, Round(1)), 1_500);
        assert_eq!(c.timeout_ms(TimeoutKind::Rebroadcast, Round(9)), 2_000);
        let huge = Config {
            timeout_propose_delta_ms: u64::MAX,
            ..Config::default()
        };
        assert_eq!(huge.timeout_ms(TimeoutKind::Propose, Round(2)), u64::MAX);
    }
}
