//! A libp2p peer played inside a test: it takes a node key (so that nodes
//! that allow that key let it in), dials the nodes it is given, and
//! publishes whatever gossip the test hands it, valid or not. It relays
//! nothing, keeps the evidence it is sent, and answers sync requests as a
//! node without blocks, so no node waits on it.
//!
//! It runs on its own tokio runtime and is driven from the test thread;
//! dropping it stops its task and runtime.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use futures::StreamExt;
use ledger::statesync::SnapshotAnchor;
use ledger::Evidence;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use node::net::{self, Behaviour, BehaviourEvent, Topics};
use node::wire::{self, SyncRequest, SyncResponse, VoteMsg};
use tokio::sync::mpsc;

/// The snapshot height a lying peer offers.
pub const LIED_HEIGHT: ledger::Height = ledger::Height(1 << 40);

/// A gossip topic the peer publishes on.
pub use node::driver::Topic;

/// A request to the peer's task; each carries where to send the answer.
enum Cmd {
    /// How many of the targets are connected and subscribed to both the
    /// votes and the evidence topic.
    Subscribed(std_mpsc::Sender<usize>),
    /// How many of the targets are connected.
    Connected(std_mpsc::Sender<usize>),
    /// Publish on a topic.
    Publish(Topic, Vec<u8>, std_mpsc::Sender<Result<(), String>>),
    /// The evidence the peer has received by gossip so far.
    Received(std_mpsc::Sender<Vec<Evidence>>),
}

/// The in-process peer.
pub struct Peer {
    cmds: Option<mpsc::UnboundedSender<Cmd>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Peer {
    /// Starts a peer with the node key `seed` that allows and keeps dialing
    /// `targets`, with the nodes' own bound on gossip messages.
    pub fn start(seed: [u8; 32], targets: Vec<(PeerId, Multiaddr)>) -> Peer {
        Peer::start_with(seed, targets, net::GOSSIP_TRANSMIT_BYTES_MAX)
    }

    /// [`Peer::start`] with another bound on the gossip messages it may
    /// send: above the nodes' own, it can send messages they must drop.
    pub fn start_with(
        seed: [u8; 32],
        targets: Vec<(PeerId, Multiaddr)>,
        transmit_bytes_max: usize,
    ) -> Peer {
        Peer::spawn(seed, targets, transmit_bytes_max, false)
    }

    /// [`Peer::start`] with a peer that offers a snapshot of a height far
    /// above the chain's and answers every request for it with pieces that
    /// fail their checks.
    pub fn start_snapshot_liar(seed: [u8; 32], targets: Vec<(PeerId, Multiaddr)>) -> Peer {
        Peer::spawn(seed, targets, net::GOSSIP_TRANSMIT_BYTES_MAX, true)
    }

    fn spawn(
        seed: [u8; 32],
        targets: Vec<(PeerId, Multiaddr)>,
        transmit_bytes_max: usize,
        liar: bool,
    ) -> Peer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (swarm, topics) = {
            let _guard = rt.enter();
            net::build_swarm_with(net::keypair(seed), transmit_bytes_max).expect("the peer's swarm")
        };
        let (tx, rx) = mpsc::unbounded_channel();
        rt.spawn(run_peer(swarm, topics, targets, rx, liar));
        Peer {
            cmds: Some(tx),
            rt: Some(rt),
        }
    }

    /// Sends a command and waits (bounded) for its answer.
    fn ask<T>(&self, make: impl FnOnce(std_mpsc::Sender<T>) -> Cmd) -> T {
        let (tx, rx) = std_mpsc::channel();
        self.cmds
            .as_ref()
            .expect("peer running")
            .send(make(tx))
            .expect("the peer's task is running");
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the peer's task answers")
    }

    /// How many targets are connected and subscribed to votes and evidence.
    pub fn subscribed(&self) -> usize {
        self.ask(Cmd::Subscribed)
    }

    /// How many targets are connected.
    pub fn connected(&self) -> usize {
        self.ask(Cmd::Connected)
    }

    /// Publishes `bytes` as they are on `topic`.
    pub fn publish(&self, topic: Topic, bytes: Vec<u8>) -> Result<(), String> {
        self.ask(|tx| Cmd::Publish(topic, bytes, tx))
    }

    /// Publishes a vote message.
    pub fn publish_vote(&self, msg: &VoteMsg) -> Result<(), String> {
        self.publish(Topic::Votes, wire::encode(msg))
    }

    /// Publishes evidence.
    pub fn publish_evidence(&self, ev: &Evidence) -> Result<(), String> {
        self.publish(Topic::Evidence, wire::encode(ev))
    }

    /// The evidence received by gossip so far.
    pub fn received_evidence(&self) -> Vec<Evidence> {
        self.ask(Cmd::Received)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Closing the channel ends the task; the runtime gets a bounded wait.
        self.cmds.take();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

async fn run_peer(
    mut swarm: Swarm<Behaviour>,
    topics: Topics,
    targets: Vec<(PeerId, Multiaddr)>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    liar: bool,
) {
    for (p, _) in &targets {
        swarm.behaviour_mut().allow.allow_peer(*p);
    }
    let mut redial = tokio::time::interval(Duration::from_millis(500));
    let mut received = Vec::new();
    loop {
        tokio::select! {
            _ = redial.tick() => {
                for (p, a) in &targets {
                    if !swarm.is_connected(p) {
                        let opts = DialOpts::peer_id(*p)
                            .addresses(vec![a.clone()])
                            .condition(PeerCondition::DisconnectedAndNotDialing)
                            .build();
                        let _ = swarm.dial(opts);
                    }
                }
            }
            cmd = cmds.recv() => match cmd {
                None => return,
                Some(Cmd::Subscribed(reply)) => {
                    let wanted = [topics.votes.hash(), topics.evidence.hash()];
                    let n = swarm
                        .behaviour()
                        .gossipsub
                        .all_peers()
                        .filter(|(p, ts)| {
                            targets.iter().any(|(t, _)| t == *p)
                                && wanted.iter().all(|w| ts.contains(&w))
                        })
                        .count();
                    let _ = reply.send(n);
                }
                Some(Cmd::Connected(reply)) => {
                    let n = targets.iter().filter(|(p, _)| swarm.is_connected(p)).count();
                    let _ = reply.send(n);
                }
                Some(Cmd::Publish(topic, bytes, reply)) => {
                    let _ = reply.send(publish(&mut swarm, topics.get(topic), bytes));
                }
                Some(Cmd::Received(reply)) => {
                    let _ = reply.send(received.clone());
                }
            },
            event = swarm.select_next_some() => on_event(&mut swarm, event, &mut received, liar),
        }
    }
}

fn publish(swarm: &mut Swarm<Behaviour>, topic: &IdentTopic, bytes: Vec<u8>) -> Result<(), String> {
    swarm
        .behaviour_mut()
        .gossipsub
        .publish(topic.clone(), bytes)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn on_event(
    swarm: &mut Swarm<Behaviour>,
    event: SwarmEvent<BehaviourEvent>,
    received: &mut Vec<Evidence>,
    liar: bool,
) {
    match event {
        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        })) => {
            if message.topic.as_str() == wire::TOPIC_EVIDENCE {
                if let Ok(ev) = wire::decode_evidence(&message.data) {
                    received.push(ev);
                }
            }
            let _ = swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Ignore,
                );
        }
        SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
            message:
                request_response::Message::Request {
                    request, channel, ..
                },
            ..
        })) => {
            let response = match request {
                SyncRequest::Snapshots if liar => SyncResponse::Snapshots(vec![LIED_HEIGHT]),
                SyncRequest::SnapshotAnchor { .. } if liar => {
                    SyncResponse::SnapshotAnchor(Some(SnapshotAnchor {
                        bundle: b"{\"format\": \"not a state proof\"}".to_vec(),
                        history: Vec::new(),
                    }))
                }
                _ => node::statesync::nothing_yet(&request),
            };
            let _ = swarm.behaviour_mut().sync.send_response(channel, response);
        }
        _ => {}
    }
}
