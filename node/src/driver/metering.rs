//! The figures an operator alerts on, exported as metrics as the loop goes:
//! missed signatures per validator, the share of voting power this node is
//! connected to, sync lag, clock offsets to peers and readiness. The
//! computations are in [`crate::monitor`]; here they are fed and
//! exported. Nothing here decides anything.

use ledger::{Block, PublicKey};
use libp2p::PeerId;

use super::{Core, Io};
use crate::monitor;

impl<I: Io> Core<I> {
    /// Counts, for each validator of set(H−1), whether it failed to sign
    /// block H−1: its precommit is neither in block H's `last_commit` (the
    /// certificate on chain, the same on every node) nor among those this
    /// node received or signed before committing block H. Called before
    /// `prev_set` becomes block H's set; forgets the precommits of heights
    /// below H.
    pub(crate) fn count_missed_signatures(&mut self, block: &Block) {
        let h = block.header.height.0;
        if let (Some(cert), Some(set)) = (&block.last_commit, &self.prev_set) {
            let seen = &self.precommits;
            let missed = monitor::missed_signatures(cert, set, |k| {
                seen.saw(cert.height.0, k, &cert.block_hash)
            });
            for v in set.validators() {
                let n = u64::from(missed.iter().any(|m| m.consensus_key == v.consensus_key));
                metrics::counter!(
                    "minhbach_validator_missed_signatures_total",
                    "validator" => v.name.clone()
                )
                .increment(n);
            }
        }
        self.precommits.forget_below(h);
    }

    /// A precommit received (verified) or signed here, for
    /// [`Core::count_missed_signatures`].
    pub(crate) fn note_precommit(&mut self, vote: &ledger::Vote) {
        if let (ledger::VoteType::Precommit, Some(block)) = (vote.vote_type, vote.block_hash) {
            self.precommits.note(vote.height.0, vote.validator, block);
        }
    }

    /// Shows every validator of the current set in the missed-signature
    /// counter (at 0), so that a rate over it exists from the start.
    pub(crate) fn register_validators(&self) {
        let state = self.shared.state.read().expect("state lock");
        for v in state.validators().validators() {
            metrics::counter!(
                "minhbach_validator_missed_signatures_total",
                "validator" => v.name.clone()
            )
            .increment(0);
        }
    }

    /// Sets what clients may add to the mempool from the last heights'
    /// commit rate (see [`crate::backlog`]).
    pub(crate) fn bound_clients(&self) {
        let max = self.drain.client_txs_max(
            self.config.limits.backlog_ms,
            self.config.limits.mempool_txs,
        );
        self.shared
            .client_txs_max
            .store(max, std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("minhbach_mempool_client_txs_max").set(max as f64);
    }

    /// The share of the current set's power this node is connected to,
    /// its own included.
    pub(crate) fn update_power_share(&self) {
        let me = self.key.as_ref().map(|k| k.public_key());
        let share = {
            let state = self.shared.state.read().expect("state lock");
            monitor::connected_power_share(state.validators(), me.as_ref(), |v| {
                PeerId::from_bytes(v.peer_id.as_bytes()).is_ok_and(|p| self.connected.contains(&p))
            })
        };
        metrics::gauge!("minhbach_connected_voting_power_ratio").set(share);
    }

    /// How many blocks the best trusted peer claims beyond ours.
    pub(crate) fn update_sync_lag(best: Option<u64>, ours: u64) {
        let lag = best.map_or(0, |b| b.saturating_sub(ours));
        metrics::gauge!("minhbach_sync_lag_blocks").set(lag as f64);
    }

    /// A verified proposal or vote of validator `key`, stamped `sent_ms`
    /// by its sender and received at `received_ms` by this node's clock.
    pub(crate) fn note_clock(
        &mut self,
        key: PublicKey,
        name: &str,
        sent_ms: u64,
        received_ms: u64,
    ) {
        let peer = self.clocks.record(key, name, sent_ms, received_ms);
        metrics::gauge!("minhbach_peer_clock_offset_seconds", "validator" => name.to_owned())
            .set(peer as f64 / 1_000.0);
    }

    /// The offset of the median validator's clock, once a second (it takes
    /// a median over every validator's).
    pub(crate) fn publish_clock_offset(&self) {
        if let Some(all) = self.clocks.overall(self.io.wall_ms()) {
            metrics::gauge!("minhbach_clock_offset_seconds").set(all as f64 / 1_000.0);
        }
    }

    /// Forgets the clocks of validators in none of set(H−1), set(H) and
    /// set(H+1).
    pub(crate) fn prune_clocks(&mut self) {
        let state = self.shared.state.read().expect("state lock");
        let prev = self.prev_set.as_ref();
        self.clocks.retain(|k| {
            state.validators().get(k).is_some()
                || state.next_validators().get(k).is_some()
                || prev.is_some_and(|s| s.get(k).is_some())
        });
    }

    /// 1 while `/readyz` would answer 200, 0 otherwise.
    pub(crate) fn publish_ready(&self) {
        let ready = self.shared.live.read().expect("live lock").ready();
        metrics::gauge!("minhbach_ready").set(if ready { 1.0 } else { 0.0 });
    }
}
