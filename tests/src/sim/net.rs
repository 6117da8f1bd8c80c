//! The simulated network and the events of the queue.

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::PeerId;
use node::driver::{Event, ReplyId, Topic};
use node::wire::{SyncRequest, SyncResponse};
use rand::Rng;

use super::io::Out;
use super::Sim;

/// How long a block-sync request waits for an answer that never comes.
const REQUEST_TIMEOUT_MS: u64 = 2_000;
/// How long a gossip message may still be relayed, as gossipsub keeps
/// recent messages for a few heartbeats.
const RELAY_WINDOW_MS: u64 = 5_000;

/// A gossip message that nodes which accept it relay to the nodes that
/// have not had it yet, as gossipsub forwards what its application
/// accepted.
#[derive(Debug)]
pub(super) struct Relayed {
    topic: Topic,
    data: Vec<u8>,
    at_ms: u64,
    /// The nodes it was sent to (or that sent it), one bit each.
    had: u64,
}

/// An event of the queue.
#[derive(Debug)]
pub(super) enum Ev {
    /// Something for node `node` in its life `epoch`.
    To {
        node: usize,
        epoch: u64,
        ev: Event,
    },
    /// Something for the forger.
    ToForger(Event),
    /// A consensus timeout.
    Timer {
        node: usize,
        epoch: u64,
        timeout: consensus::Timeout,
    },
    Wake {
        node: usize,
        epoch: u64,
    },
    Tick {
        node: usize,
        epoch: u64,
    },
    Restart {
        node: usize,
        epoch: u64,
    },
    Chaos,
    CrashAll,
    Load,
    Forger,
}

/// Who a message is from: a node, or the forger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum From {
    Node(usize),
    Forger,
}

/// The gossip id of the `n`th message sent in the run.
fn message_id(n: u64) -> MessageId {
    MessageId::new(&n.to_le_bytes())
}

/// Which message of the run a gossip id names.
fn message_number(id: &MessageId) -> Option<u64> {
    id.0.as_slice().try_into().ok().map(u64::from_le_bytes)
}

impl Sim {
    pub(super) fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::To { node, epoch, ev } => {
                if self.nodes[node].epoch == epoch {
                    self.handle(node, ev);
                }
            }
            Ev::ToForger(ev) => self.forger_hears(ev),
            Ev::Timer {
                node,
                epoch,
                timeout,
            } => {
                if self.nodes[node].epoch == epoch {
                    self.handle(node, Event::Timeout(timeout));
                }
            }
            Ev::Wake { node, epoch } => {
                if self.nodes[node].epoch == epoch {
                    self.nodes[node].wake_at = None;
                    self.handle(node, Event::Wake);
                }
            }
            Ev::Tick { node, epoch } => {
                if self.nodes[node].epoch == epoch && self.nodes[node].core.is_some() {
                    self.take_backup(node);
                    self.handle(node, Event::Tick);
                    self.push(1_000, Ev::Tick { node, epoch });
                }
            }
            Ev::Restart { node, epoch } => {
                if self.nodes[node].epoch == epoch
                    && self.nodes[node].core.is_none()
                    && !self.nodes[node].stopped
                {
                    let forget = self.scenario.lose_record_on_restart;
                    self.restore_backup(node);
                    self.start(node, forget);
                }
            }
            Ev::Chaos => self.chaos(),
            Ev::CrashAll => {
                if self.healed_at_ms.is_some() {
                    return;
                }
                for i in 0..self.nodes.len() {
                    self.crash(i);
                }
                let delay = self.rng.gen_range(50..500);
                for i in 0..self.nodes.len() {
                    let epoch = self.nodes[i].epoch;
                    self.push(delay, Ev::Restart { node: i, epoch });
                }
                let next = self.rng.gen_range(2_000..8_000);
                self.push(next, Ev::CrashAll);
            }
            Ev::Load => {
                self.load();
                self.push(super::LOAD_EVERY_MS, Ev::Load);
            }
            Ev::Forger => {
                self.forger_acts();
                let next = self.rng.gen_range(100..400);
                self.push(next, Ev::Forger);
            }
        }
    }

    fn chaos(&mut self) {
        if self.healed_at_ms.is_some() {
            return;
        }
        match self.rng.gen_range(0..10) {
            0 => {
                let groups = self.rng.gen_range(2..=3);
                for i in 0..self.nodes.len() {
                    self.nodes[i].group = self.rng.gen_range(0..groups);
                }
            }
            1 | 2 => {
                for n in &mut self.nodes {
                    n.group = 0;
                }
            }
            3 => self.drop_rate = self.rng.gen_range(0.0..=0.3),
            4 => {
                let i = self.rng.gen_range(0..self.nodes.len());
                if self.nodes[i].core.is_some() {
                    self.crash(i);
                    let epoch = self.nodes[i].epoch;
                    let delay = self.rng.gen_range(200..3_000);
                    self.push(delay, Ev::Restart { node: i, epoch });
                }
            }
            _ => {}
        }
        let next = self.rng.gen_range(200..1_500);
        self.push(next, Ev::Chaos);
    }

    /// The index of the node with this peer id.
    pub(super) fn node_of(&self, peer: &PeerId) -> Option<usize> {
        self.nodes.iter().position(|n| n.peer == *peer)
    }

    fn peer_of(&self, from: From) -> PeerId {
        match from {
            From::Node(i) => self.nodes[i].peer,
            From::Forger => self.forger.as_ref().expect("a forger").peer,
        }
    }

    /// Whether the network carries a message from `from` to node `to` now:
    /// both in one partition group, and `to` allows the sender.
    fn passes(&mut self, from: From, to: usize) -> bool {
        let sender = self.peer_of(from);
        let Some(core) = self.nodes[to].core.as_ref() else {
            return false;
        };
        if !core.io().allowed.contains(&sender) {
            return false;
        }
        if let From::Node(i) = from {
            if self.nodes[i].group != self.nodes[to].group {
                return false;
            }
        }
        !(self.drop_rate > 0.0 && self.rng.gen_bool(self.drop_rate))
    }

    /// Queues `ev` for node `to` after a network delay, perhaps twice.
    pub(super) fn send(&mut self, from: From, to: usize, ev: impl Fn() -> Event) -> bool {
        if !self.passes(from, to) {
            return false;
        }
        let copies = if self.rng.gen_bool(0.05) { 2 } else { 1 };
        for _ in 0..copies {
            let mut delay = self.rng.gen_range(2..40) + self.scenario.late_ms;
            if self.rng.gen_bool(0.1) {
                delay += self.rng.gen_range(0..250);
            }
            let epoch = self.nodes[to].epoch;
            self.push(
                delay,
                Ev::To {
                    node: to,
                    epoch,
                    ev: ev(),
                },
            );
        }
        true
    }

    /// Gossips from `from` to every node (or those of `only`), and to the
    /// forger.
    pub(super) fn gossip(
        &mut self,
        from: From,
        topic: Topic,
        data: Vec<u8>,
        only: Option<&[PeerId]>,
    ) {
        self.seq += 1;
        let id = self.seq;
        let sender = self.peer_of(from);
        let mut had = match from {
            From::Node(i) => 1 << i,
            From::Forger => 0,
        };
        for to in 0..self.nodes.len() {
            if from == From::Node(to) {
                continue;
            }
            if only.is_some_and(|o| !o.contains(&self.nodes[to].peer)) {
                continue;
            }
            let data = &data;
            if self.send(from, to, || Event::Gossip {
                id: message_id(id),
                from: sender,
                topic: Some(topic),
                data: data.clone(),
            }) {
                had |= 1 << to;
            }
        }
        let now = self.now();
        while let Some(entry) = self.relay.first_entry() {
            if entry.get().at_ms + RELAY_WINDOW_MS >= now {
                break;
            }
            entry.remove();
        }
        self.relay.insert(
            id,
            Relayed {
                topic,
                data: data.clone(),
                at_ms: now,
                had,
            },
        );
        if from != From::Forger && self.forger.is_some() {
            let delay = self.rng.gen_range(1..10);
            self.push(
                delay,
                Ev::ToForger(Event::Gossip {
                    id: message_id(id),
                    from: sender,
                    topic: Some(topic),
                    data,
                }),
            );
        }
    }

    /// Carries out one request of node `i`'s core.
    pub(super) fn carry_out(&mut self, i: usize, out: Out) {
        let epoch = self.nodes[i].epoch;
        match out {
            Out::Publish {
                topic,
                bytes,
                to,
                record,
            } => {
                let me = self.nodes[i].key.public_key();
                self.check
                    .published(i, me, topic, &bytes, record.as_deref());
                self.gossip(From::Node(i), topic, bytes, to.as_deref());
            }
            Out::Timer { timeout, after } => {
                self.push(
                    after.as_millis() as u64,
                    Ev::Timer {
                        node: i,
                        epoch,
                        timeout,
                    },
                );
            }
            Out::Admit(batches) => {
                let Some(shared) = self.nodes[i].shared.clone() else {
                    return;
                };
                let verdicts = node::driver::shell::admit_gossiped(&shared, batches);
                self.push(
                    1,
                    Ev::To {
                        node: i,
                        epoch,
                        ev: Event::Admitted(verdicts),
                    },
                );
            }
            Out::Request { id, peer, request } => {
                if matches!(request, SyncRequest::Txs(_)) {
                    self.count_tx_request(i, epoch);
                }
                let me = self.nodes[i].peer;
                let reply = (i as u64) << 48 | epoch << 32 | (id.0 & 0xFFFF_FFFF);
                self.replies.insert(reply, (i, epoch, id, peer));
                let delivered = match self.node_of(&peer) {
                    Some(to) => self.send(From::Node(i), to, || Event::SyncRequest {
                        peer: me,
                        request: request.clone(),
                        reply: ReplyId(reply),
                    }),
                    None if self.forger.as_ref().is_some_and(|f| f.peer == peer) => {
                        self.push(
                            5,
                            Ev::ToForger(Event::SyncRequest {
                                peer: me,
                                request,
                                reply: ReplyId(reply),
                            }),
                        );
                        true
                    }
                    None => false,
                };
                if !delivered {
                    self.replies.remove(&reply);
                    self.push(
                        REQUEST_TIMEOUT_MS,
                        Ev::To {
                            node: i,
                            epoch,
                            ev: Event::SyncFailed { peer, request: id },
                        },
                    );
                }
            }
            Out::Respond { reply, response } => self.respond(From::Node(i), reply.0, response),
            Out::Report { id, from, verdict } => {
                let forger = self.forger.as_mut().filter(|f| f.peer == from);
                if let Some(f) = forger {
                    if !matches!(verdict, MessageAcceptance::Accept) {
                        f.refused += 1;
                    }
                }
                if matches!(verdict, MessageAcceptance::Accept) {
                    self.outsider_forwarded(i, &id);
                    self.relay_from(i, &id);
                }
                if self.scenario.oversized_proposer
                    && matches!(verdict, MessageAcceptance::Reject)
                    && self.node_of(&from) == Some(2)
                {
                    self.out.oversized_refused += 1;
                }
            }
        }
    }

    /// Node `i` accepted gossip message `id`, which it will forward: a vote
    /// or proposal the forger signed must never be (its key is no
    /// validator's, and a message is judged by its signer first).
    fn outsider_forwarded(&mut self, i: usize, id: &MessageId) {
        let Some(forger) = self.forger.as_ref().map(|f| f.public_key()) else {
            return;
        };
        let Some(n) = message_number(id) else {
            return;
        };
        let Some(m) = self.relay.get(&n) else { return };
        let signer = match m.topic {
            Topic::Votes => node::wire::decode_vote(&m.data)
                .ok()
                .map(|v| v.vote.validator),
            Topic::Proposals => node::wire::decode_proposal(&m.data)
                .ok()
                .map(|p| p.proposal.proposer),
            _ => None,
        };
        if signer == Some(forger) {
            let what = format!(
                "outsider forwarded: node {i} accepted a {:?} the forger signed",
                m.topic
            );
            self.violation(what);
        }
    }

    /// Node `i` accepted gossip message `id`: it forwards it to the nodes
    /// that have not had it.
    fn relay_from(&mut self, i: usize, id: &MessageId) {
        let Some(n) = message_number(id) else {
            return;
        };
        let Some(m) = self.relay.get_mut(&n) else {
            return;
        };
        m.had |= 1 << i;
        let (topic, data, had) = (m.topic, m.data.clone(), m.had);
        let sender = self.nodes[i].peer;
        let mut sent = 0;
        for to in (0..self.nodes.len()).filter(|to| had & (1 << to) == 0) {
            if self.send(From::Node(i), to, || Event::Gossip {
                id: id.clone(),
                from: sender,
                topic: Some(topic),
                data: data.clone(),
            }) {
                sent |= 1 << to;
            }
        }
        if let Some(m) = self.relay.get_mut(&n) {
            m.had |= sent;
        }
    }

    /// Delivers an answer to the request numbered `reply`.
    pub(super) fn respond(&mut self, from: From, reply: u64, response: SyncResponse) {
        let Some((to, epoch, request, _)) = self.replies.remove(&reply) else {
            return;
        };
        if self.nodes[to].epoch != epoch {
            return;
        }
        let sender = self.peer_of(from);
        let delivered = self.send(from, to, || Event::SyncResponse {
            peer: sender,
            request,
            response: response.clone(),
        });
        if !delivered {
            self.push(
                REQUEST_TIMEOUT_MS,
                Ev::To {
                    node: to,
                    epoch,
                    ev: Event::SyncFailed {
                        peer: sender,
                        request,
                    },
                },
            );
        }
    }
}
