//! The lives of the simulated nodes: each started (or restarted) from its
//! store alone and crashed, handed events, what its core asks of its edges
//! carried out, and its bounds checked after every event.

use std::sync::Arc;
use std::time::Duration;

use ledger::store::Store;
use ledger::SignedTx;
use node::config::Config;
use node::driver::{Clock, Core, CoreParts, Event};
use node::mempool::MempoolLimits;
use node::shared::{Shared, SharedParts};
use rand::Rng;
use tokio::sync::mpsc;

use super::io::{SimIo, SimStore};
use super::net::Ev;
use super::{Sim, GENESIS_TIME_MS};

impl Sim {
    /// Starts (or restarts) node `i` from its store alone.
    pub(super) fn start(&mut self, i: usize, forget_record: bool) {
        let byzantine = self.equivocator() == Some(i);
        let protocol_version = self.protocol_version(i);
        let node = &mut self.nodes[i];
        let store = Store::open_in_memory(&node.disk, &node.name).expect("the store opens");
        let state = store
            .init(&self.genesis_state, self.genesis.hash())
            .expect("the store is this chain's");
        let (gossip, gossip_rx) = mpsc::channel(100_000);
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle();
        let shared = Arc::new(Shared::new(SharedParts {
            name: node.name.clone(),
            node_id: node.peer.to_string(),
            genesis: self.genesis.clone(),
            store,
            state,
            mempool: MempoolLimits::default(),
            gossip,
            metrics,
        }));
        let mut config = Config::default();
        config.node.name = node.name.clone();
        if !self.scenario.node_timeouts {
            config.consensus.timeout_propose_ms = 400;
            config.consensus.timeout_prevote_ms = 200;
            config.consensus.timeout_precommit_ms = 200;
            config.consensus.timeout_delta_ms = 100;
            config.consensus.rebroadcast_ms = 500;
            config.consensus.block_interval_ms = 50;
        }
        let io = SimIo::new(
            self.time.clone(),
            GENESIS_TIME_MS,
            node.skew_ms,
            (i as u64) << 40 | node.epoch << 24,
        );
        let mut store = SimStore::new(shared.clone(), forget_record);
        if self.scenario.read_fault_rate > 0.0 {
            store = store.failing_reads(
                self.scenario.read_fault_rate,
                self.rng.gen(),
                self.read_failures.clone(),
            );
        }
        let store = Arc::new(store);
        let parts = CoreParts {
            shared: shared.clone(),
            config,
            key: Some(ledger::testkit::key(&format!("sim/consensus/{i}"))),
            dial: Vec::new(),
            protocol_version,
        };
        let (mut core, fx) = match Core::new(parts, io, store) {
            Ok(c) => c,
            Err(e) => {
                self.violation(format!("node {i} cannot start: {e}"));
                return;
            }
        };
        core.io_mut().shared = Some(shared.clone());
        core.faults = self.scenario.faults;
        core.faults.propose_invalid = self.scenario.invalid_proposer && i == 1;
        core.faults.propose_oversized = self.scenario.oversized_proposer && i == 2;
        core.faults.propose_rewritten_history = self.scenario.rewriting_proposer && i == 3;
        core.byzantine = byzantine;
        node.shared = Some(shared);
        node.gossip_rx = Some(gossip_rx);
        node.wake_at = None;
        core.start(fx);
        node.core = Some(core);
        let epoch = node.epoch;
        self.check.started(i);
        // Every other running node is connected to it, and it to them.
        for j in 0..self.nodes.len() {
            if j != i && self.nodes[j].core.is_some() {
                let (pi, pj) = (self.nodes[i].peer, self.nodes[j].peer);
                self.deliver_now(i, Event::Connected(pj));
                self.deliver_now(j, Event::Connected(pi));
            }
        }
        if let Some(f) = &self.forger {
            let p = f.peer;
            self.deliver_now(i, Event::Connected(p));
        }
        let tick = self.rng.gen_range(0..1_000);
        self.push(tick, Ev::Tick { node: i, epoch });
        self.after(i);
        self.stop_if_halted(i);
    }

    pub(super) fn crash(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if node.core.is_none() {
            return;
        }
        node.core = None;
        node.shared = None;
        node.gossip_rx = None;
        node.epoch += 1;
        node.wake_at = None;
        self.out.crashes += 1;
        let peer = self.nodes[i].peer;
        for j in 0..self.nodes.len() {
            if j != i && self.nodes[j].core.is_some() {
                self.deliver_now(j, Event::Disconnected(peer));
            }
        }
    }

    /// Hands an event to node `i` now, if it runs.
    fn deliver_now(&mut self, i: usize, ev: Event) {
        self.handle(i, ev);
    }

    /// Lets node `i` handle `ev`, then carries out what it asked for.
    pub(super) fn handle(&mut self, i: usize, ev: Event) {
        let equivocator = self.equivocator().map(|e| self.nodes[e].key.public_key());
        let Some(core) = self.nodes[i].core.as_mut() else {
            return;
        };
        if let (
            Some(e),
            Event::Gossip {
                topic: Some(node::driver::Topic::Votes),
                data,
                ..
            },
        ) = (equivocator, &ev)
        {
            // An equivocator's vote this node may still judge: two
            // different ones for one step make its offence detectable.
            if let Ok(m) = node::wire::decode_vote(data) {
                let v = m.vote;
                if v.validator == e && v.height.0 >= core.committed_height() {
                    let step = (
                        i,
                        v.height.0,
                        v.round,
                        v.vote_type == ledger::VoteType::Prevote,
                    );
                    let values = self.judged_votes.entry(step).or_default();
                    values.insert(v.block_hash);
                    if values.len() > 1 {
                        self.detectable.insert(v.height.0);
                    }
                }
            }
        }
        let _node = tracing::info_span!("node", i, t = self.time.ms()).entered();
        core.handle(ev);
        self.after(i);
        self.stop_if_halted(i);
    }

    /// Carries out what node `i`'s core asked of its edges, and queues its
    /// next wake-up.
    pub(super) fn after(&mut self, i: usize) {
        loop {
            let Some(core) = self.nodes[i].core.as_mut() else {
                return;
            };
            let outbox = std::mem::take(&mut core.io_mut().outbox);
            let submitted: Vec<SignedTx> = match self.nodes[i].gossip_rx.as_mut() {
                Some(rx) => std::iter::from_fn(|| rx.try_recv().ok()).collect(),
                None => Vec::new(),
            };
            if outbox.is_empty() && submitted.is_empty() {
                break;
            }
            for out in outbox {
                self.carry_out(i, out);
            }
            if !submitted.is_empty() {
                if let Some(core) = self.nodes[i].core.as_mut() {
                    core.handle(Event::Submitted(submitted));
                }
            }
        }
        let Some(core) = self.nodes[i].core.as_ref() else {
            return;
        };
        if let Some(at) = core.next_wakeup() {
            let base = core.io().now() - Duration::from_millis(self.now());
            let at_ms = at.saturating_duration_since(base).as_millis() as u64;
            let node = &mut self.nodes[i];
            if node.wake_at.is_none_or(|w| at_ms < w || w < self.time.ms()) {
                node.wake_at = Some(at_ms);
                let epoch = node.epoch;
                let delay = at_ms.saturating_sub(self.now());
                self.push(delay, Ev::Wake { node: i, epoch });
            }
        }
    }

    /// Checks every running node after an event.
    pub(super) fn observe(&mut self) {
        for i in 0..self.nodes.len() {
            let Some(core) = self.nodes[i].core.as_ref() else {
                continue;
            };
            for (what, len, max) in core.bounds() {
                if len > max {
                    let v = format!("bounded memory: node {i} holds {len} {what}, limit {max}");
                    self.violation(v);
                }
            }
            let shared = self.nodes[i]
                .shared
                .clone()
                .expect("a running node's shared parts");
            self.check.observe(i, &shared);
        }
    }
}
