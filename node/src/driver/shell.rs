//! The node's run loop: the [`Core`] over libp2p, tokio and RocksDB.
//!
//! [`Driver`] owns the swarm and the channels from the API; it turns swarm
//! events into [`Event`]s, and carries out the core's requests of the
//! network, the timers and the clock ([`SwarmIo`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ledger::crypto::SigningKey;
use ledger::SignedTx;
use libp2p::gossipsub::{self, MessageAcceptance, MessageId};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::{
    Clock, Core, CoreParts, Event, GossipVerdict, GossipedTxs, Network, ReplyId, RequestId, Timers,
    Topic,
};
use crate::config::Config;
use crate::net::{Behaviour, BehaviourEvent, Topics};
use crate::shared::Shared;
use crate::wire::{self, SyncRequest, SyncResponse};

/// Swarm events handled in one loop turn.
const EVENTS_PER_TURN: usize = 512;
/// Batches of transactions gossiped per loop turn before other events get a
/// look in.
const GOSSIP_BATCHES_PER_TURN: usize = 4;
/// Expired timeouts queued for the loop; a timer whose queue is full waits.
const TIMERS_QUEUE: usize = 64;

/// Everything [`Driver::new`] needs.
pub struct DriverParts {
    /// Shared with the API.
    pub shared: Arc<Shared>,
    /// The node's config.
    pub config: Config,
    /// The swarm, listening.
    pub swarm: Swarm<Behaviour>,
    /// Its topics.
    pub topics: Topics,
    /// The consensus key, for a validator.
    pub key: Option<SigningKey>,
    /// Admitted transactions to gossip.
    pub gossip_rx: mpsc::Receiver<SignedTx>,
    /// Peers to dial.
    pub dial: Vec<(PeerId, Multiaddr)>,
}

/// The core's edges in a running node.
pub struct SwarmIo {
    swarm: Swarm<Behaviour>,
    topics: Topics,
    shared: Arc<Shared>,
    timers: mpsc::Sender<consensus::Timeout>,
    admitted: mpsc::Sender<Vec<GossipVerdict>>,
    requests: HashMap<OutboundRequestId, RequestId>,
    replies: HashMap<u64, ResponseChannel<SyncResponse>>,
    next_id: u64,
}

impl Clock for SwarmIo {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wall_ms(&self) -> u64 {
        super::now_ms()
    }
}

impl Timers for SwarmIo {
    fn schedule(&mut self, timeout: consensus::Timeout, after: Duration) {
        let timers = self.timers.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = timers.send(timeout).await;
        });
    }
}

impl Network for SwarmIo {
    fn publish(&mut self, topic: Topic, bytes: Vec<u8>) -> bool {
        let t = self.topics.get(topic).clone();
        match self.swarm.behaviour_mut().gossipsub.publish(t, bytes) {
            Ok(_) | Err(gossipsub::PublishError::Duplicate) => true,
            Err(
                gossipsub::PublishError::NoPeersSubscribedToTopic
                | gossipsub::PublishError::AllQueuesFull(_),
            ) => false,
            Err(e) => {
                warn!("gossip publish: {e}");
                true
            }
        }
    }

    fn report(&mut self, id: &MessageId, from: &PeerId, verdict: MessageAcceptance) {
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, from, verdict);
    }

    fn request(&mut self, peer: &PeerId, request: SyncRequest) -> RequestId {
        let out = self.swarm.behaviour_mut().sync.send_request(peer, request);
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.requests.insert(out, id);
        id
    }

    fn respond(&mut self, reply: ReplyId, response: SyncResponse) {
        if let Some(channel) = self.replies.remove(&reply.0) {
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, response);
        }
    }

    fn allow(&mut self, peer: PeerId) {
        self.swarm.behaviour_mut().allow.allow_peer(peer);
    }

    fn disallow(&mut self, peer: PeerId) {
        self.swarm.behaviour_mut().allow.disallow_peer(peer);
    }

    fn dial(&mut self, peer: PeerId, addr: Multiaddr) {
        let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
            .addresses(vec![addr])
            .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            debug!(%peer, "dial: {e}");
        }
    }

    fn admit(&mut self, batches: Vec<GossipedTxs>) {
        let shared = self.shared.clone();
        let done = self.admitted.clone();
        tokio::task::spawn_blocking(move || {
            let verdicts = admit_gossiped(&shared, batches);
            // The loop may have stopped; then nobody needs the verdicts.
            let _ = done.blocking_send(verdicts);
        });
    }

    fn publish_to(&mut self, topic: Topic, bytes: Vec<u8>, to: &[PeerId], not: &[PeerId]) {
        let _ = to;
        #[cfg(feature = "byzantine")]
        {
            let gossip = &mut self.swarm.behaviour_mut().gossipsub;
            for p in not {
                gossip.set_application_score(p, super::byzantine::SHUNNED);
            }
        }
        self.publish(topic, bytes);
        #[cfg(feature = "byzantine")]
        {
            let gossip = &mut self.swarm.behaviour_mut().gossipsub;
            for p in not {
                gossip.set_application_score(p, 0.0);
            }
        }
        #[cfg(not(feature = "byzantine"))]
        let _ = not;
    }
}

/// Admits gossiped transactions as one batch and gives each gossip
/// message its verdict: accepted if one of its transactions was admitted,
/// refused if one has a bad signature, ignored otherwise.
pub fn admit_gossiped(shared: &Shared, batches: Vec<GossipedTxs>) -> Vec<GossipVerdict> {
    let mut meta = Vec::with_capacity(batches.len());
    let mut all = Vec::new();
    for (id, from, txs) in batches {
        meta.push((id, from, txs.len()));
        all.extend(txs);
    }
    let mut results = shared.admit_only(all).into_iter();
    meta.into_iter()
        .map(|(id, from, n)| {
            let mut verdict = MessageAcceptance::Ignore;
            for result in results.by_ref().take(n) {
                match result {
                    Ok(_) if matches!(verdict, MessageAcceptance::Ignore) => {
                        verdict = MessageAcceptance::Accept
                    }
                    Err(ledger::TxError::BadSignature { .. }) => {
                        verdict = MessageAcceptance::Reject
                    }
                    _ => {}
                }
            }
            (id, from, verdict)
        })
        .collect()
}

/// The running node's consensus loop.
pub struct Driver {
    core: Core<SwarmIo>,
    start: super::Fx,
    timer_rx: mpsc::Receiver<consensus::Timeout>,
    admitted_rx: mpsc::Receiver<Vec<GossipVerdict>>,
    gossip_rx: mpsc::Receiver<SignedTx>,
}

impl Driver {
    /// Prepares the loop: resumes consensus from the stored safety record at
    /// the height after the last committed block.
    pub fn new(parts: DriverParts) -> anyhow::Result<Driver> {
        let (timers, timer_rx) = mpsc::channel(TIMERS_QUEUE);
        let (admitted, admitted_rx) = mpsc::channel(1);
        #[allow(unused_mut)]
        let mut swarm = parts.swarm;
        #[cfg(feature = "byzantine")]
        if super::byzantine::enabled() {
            super::byzantine::start(&mut swarm);
        }
        let io = SwarmIo {
            swarm,
            topics: parts.topics,
            shared: parts.shared.clone(),
            timers,
            admitted,
            requests: HashMap::new(),
            replies: HashMap::new(),
            next_id: 0,
        };
        let store: Arc<dyn super::ChainStore> = parts.shared.clone();
        let (core, start) = Core::new(
            CoreParts {
                shared: parts.shared,
                config: parts.config,
                key: parts.key,
                dial: parts.dial,
                protocol_version: super::upgrade::spoken(),
            },
            io,
            store,
        )?;
        Ok(Driver {
            core,
            start,
            timer_rx,
            admitted_rx,
            gossip_rx: parts.gossip_rx,
        })
    }

    /// Runs until `shutdown` resolves, or until the node stops before a
    /// height of a protocol version it does not run (returned).
    pub async fn run(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Option<super::upgrade::Halted> {
        let start = std::mem::take(&mut self.start);
        self.core.start(start);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tokio::pin!(shutdown);
        loop {
            if let Some(halted) = self.core.halted() {
                return Some(halted.clone());
            }
            let wake = self.core.next_wakeup();
            tokio::select! {
                event = self.core.io.swarm.select_next_some() => {
                    self.on_swarm(event);
                    // Take what else is ready, so gossiped transactions are
                    // admitted (and their signatures checked) as a batch.
                    for _ in 1..EVENTS_PER_TURN {
                        match futures::FutureExt::now_or_never(
                            self.core.io.swarm.next(),
                        ) {
                            Some(Some(event)) => self.on_swarm(event),
                            _ => break,
                        }
                    }
                }
                Some(t) = self.timer_rx.recv() => self.core.handle(Event::Timeout(t)),
                Some(verdicts) = self.admitted_rx.recv() => {
                    self.core.handle(Event::Admitted(verdicts));
                }
                Some(tx) = self.gossip_rx.recv() => {
                    // Whatever else is queued goes in the same batches.
                    let mut txs = vec![tx];
                    while txs.len() < GOSSIP_BATCHES_PER_TURN * wire::TX_BATCH_TXS_MAX {
                        match self.gossip_rx.try_recv() {
                            Ok(tx) => txs.push(tx),
                            Err(_) => break,
                        }
                    }
                    self.core.handle(Event::Submitted(txs));
                }
                _ = tick.tick() => self.core.handle(Event::Tick),
                _ = sleep_until(wake), if wake.is_some() => self.core.handle(Event::Wake),
                _ = &mut shutdown => {
                    info!("shutting down");
                    return None;
                }
            }
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        let io = &mut self.core.io;
        let event = match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => Event::Gossip {
                id: message_id,
                from: propagation_source,
                topic: Topic::from_name(message.topic.as_str()),
                data: message.data,
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => match event {
                request_response::Event::Message {
                    peer,
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                } => {
                    io.next_id += 1;
                    io.replies.insert(io.next_id, channel);
                    Event::SyncRequest {
                        peer,
                        request,
                        reply: ReplyId(io.next_id),
                    }
                }
                request_response::Event::Message {
                    peer,
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                } => {
                    let Some(request) = io.requests.remove(&request_id) else {
                        return;
                    };
                    Event::SyncResponse {
                        peer,
                        request,
                        response,
                    }
                }
                request_response::Event::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                } => {
                    debug!(%peer, "sync request failed: {error}");
                    let Some(request) = io.requests.remove(&request_id) else {
                        return;
                    };
                    Event::SyncFailed { peer, request }
                }
                request_response::Event::InboundFailure { .. }
                | request_response::Event::ResponseSent { .. } => return,
            },
            SwarmEvent::ConnectionEstablished { peer_id, .. } => Event::Connected(peer_id),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => Event::Disconnected(peer_id),
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "p2p listening");
                return;
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                debug!("incoming connection refused: {error}");
                return;
            }
            _ => return,
        };
        self.core.handle(event);
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
