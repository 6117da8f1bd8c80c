//! The libp2p side of a node: TCP with Noise and Yamux, dialled by IP
//! address or by DNS name (resolved anew at every dial), identify,
//! gossipsub for the four topics, a request-response protocol for block
//! sync, and the allow list that makes the network permissioned.
//!
//! The allow list comes first in the behaviour, so a connection from a peer
//! id that is not a current validator or registered node is denied as soon
//! as Noise has authenticated it, before any protocol stream is opened and
//! so before any application message is read. Taking a peer off the list
//! closes its connections. The list holds peer ids only: the address a
//! connection comes from or goes to, by IP or by name, admits nobody.

use std::io;
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use ledger::Hash;
use libp2p::dns::{ResolverConfig, ResolverOpts};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, identify, identity, noise, tcp, yamux, StreamProtocol, Swarm};
use tracing::warn;

use crate::wire::{
    self, SyncRequest, SyncResponse, GOSSIP_BYTES_MAX, SYNC_REQUEST_BYTES_MAX,
    SYNC_RESPONSE_BYTES_MAX, TOPIC_EVIDENCE, TOPIC_PROPOSALS, TOPIC_TXS, TOPIC_VOTES,
};

/// The block-sync protocol name.
pub const SYNC_PROTOCOL: &str = "/minhbach/sync/1";
/// The identify protocol version.
pub const IDENTIFY_PROTOCOL: &str = "/minhbach/1";
/// Messages waiting to go out to one peer before gossipsub drops more.
pub const PEER_QUEUE_LEN: usize = 2_000;

pub use behaviour::{Behaviour, BehaviourEvent};

mod behaviour {
    // The derive writes an undocumented event enum.
    #![allow(missing_docs)]

    use super::*;

    /// The node's network behaviour.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// Denies every peer id that is not allowed; first, so it decides first.
        pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
        /// Transactions, proposals, votes and evidence.
        pub gossipsub: gossipsub::Behaviour,
        /// Peers' addresses and protocols.
        pub identify: identify::Behaviour,
        /// Block sync.
        pub sync: request_response::Behaviour<SyncCodec>,
    }
}

/// The four gossip topics.
pub struct Topics {
    /// Transactions.
    pub txs: IdentTopic,
    /// Proposals with their blocks.
    pub proposals: IdentTopic,
    /// Votes.
    pub votes: IdentTopic,
    /// Evidence.
    pub evidence: IdentTopic,
}

impl Topics {
    /// The gossipsub topic of one of ours.
    pub fn get(&self, topic: crate::driver::Topic) -> &IdentTopic {
        use crate::driver::Topic;
        match topic {
            Topic::Txs => &self.txs,
            Topic::Proposals => &self.proposals,
            Topic::Votes => &self.votes,
            Topic::Evidence => &self.evidence,
        }
    }

    fn new() -> Topics {
        Topics {
            txs: IdentTopic::new(TOPIC_TXS),
            proposals: IdentTopic::new(TOPIC_PROPOSALS),
            votes: IdentTopic::new(TOPIC_VOTES),
            evidence: IdentTopic::new(TOPIC_EVIDENCE),
        }
    }
}

/// The peers a node with `state` lets connect: the current and next
/// validators and the registered nodes, by peer id.
pub fn allowed_peers(state: &ledger::State) -> std::collections::BTreeSet<libp2p::PeerId> {
    state
        .validators()
        .validators()
        .iter()
        .chain(state.next_validators().validators())
        .map(|v| v.peer_id.clone())
        .chain(state.nodes().map(|n| n.peer_id.clone()))
        .filter_map(|p| libp2p::PeerId::from_bytes(p.as_bytes()).ok())
        .collect()
}

/// The libp2p identity of a node key (its seed).
pub fn keypair(seed: [u8; 32]) -> identity::Keypair {
    identity::Keypair::ed25519_from_bytes(seed).expect("a 32-byte seed is a valid ed25519 key")
}

/// The largest gossip message a node sends or reads: the largest proposal
/// and gossipsub's own framing. A longer one is dropped unread, by length.
pub const GOSSIP_TRANSMIT_BYTES_MAX: usize = GOSSIP_BYTES_MAX + 4096;

/// Builds the swarm and subscribes to the topics.
pub fn build_swarm(key: identity::Keypair) -> anyhow::Result<(Swarm<Behaviour>, Topics)> {
    build_swarm_with(key, GOSSIP_TRANSMIT_BYTES_MAX)
}

/// [`build_swarm`] with another bound on gossip messages than
/// [`GOSSIP_TRANSMIT_BYTES_MAX`]: a peer built with a larger one can send
/// messages that nodes must refuse, to test that they do.
pub fn build_swarm_with(
    key: identity::Keypair,
    transmit_bytes_max: usize,
) -> anyhow::Result<(Swarm<Behaviour>, Topics)> {
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(Hash::digest(&m.data).0.to_vec()))
        .max_transmit_size(transmit_bytes_max)
        .heartbeat_interval(Duration::from_millis(500))
        .connection_handler_queue_len(PEER_QUEUE_LEN)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| anyhow::anyhow!("gossip config: {e}"))?;
    let transport = |key: identity::Keypair| {
        libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
    };
    let behaviour = |key: &identity::Keypair| {
        let gossipsub =
            gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_config)
                .map_err(|e| anyhow::anyhow!("gossip: {e}"))?;
        Ok(Behaviour {
            allow: allow_block_list::Behaviour::default(),
            gossipsub,
            // Without identify's address cache, a node reaches a peer
            // only at its configured address: a sync request to a peer
            // that has just disconnected would otherwise dial the
            // listen addresses the peer announced, around whatever
            // route (a tunnel, a proxy) the operator configured.
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public()).with_cache_size(0),
            ),
            sync: request_response::Behaviour::with_codec(
                SyncCodec,
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(16),
            ),
        })
    };
    let swarm_config =
        |c: libp2p::swarm::Config| c.with_idle_connection_timeout(Duration::from_secs(3600));
    // The DNS layer resolves a `/dns4/` or `/dns6/` name each time an
    // address is dialled (honouring the records' TTL), so a peer that
    // moves is found again on the next redial; nothing keeps the IP.
    let mut swarm = match transport(key.clone())?.with_dns() {
        Ok(builder) => builder
            .with_behaviour(behaviour)?
            .with_swarm_config(swarm_config)
            .build(),
        // No usable /etc/resolv.conf: a node whose peers are IP addresses
        // must still start, so names resolve from /etc/hosts alone.
        Err(e) => {
            warn!(
                "cannot read the system's DNS configuration ({e}); peers given by name \
                 resolve only through /etc/hosts"
            );
            transport(key)?
                .with_dns_config(ResolverConfig::new(), ResolverOpts::default())
                .with_behaviour(behaviour)?
                .with_swarm_config(swarm_config)
                .build()
        }
    };
    let topics = Topics::new();
    for t in [
        &topics.txs,
        &topics.proposals,
        &topics.votes,
        &topics.evidence,
    ] {
        swarm.behaviour_mut().gossipsub.subscribe(t)?;
    }
    Ok((swarm, topics))
}

/// Block-sync messages on a stream: a 4-byte big-endian length, then the
/// canonical encoding, each direction bounded by its own limit.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncCodec;

async fn read_frame<T: futures::AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("sync message of {len} bytes is over the {limit}-byte limit"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: futures::AsyncWrite + Unpin + Send>(
    io: &mut T,
    bytes: &[u8],
) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn invalid(e: ledger::TxError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

#[async_trait::async_trait]
impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, SYNC_REQUEST_BYTES_MAX).await?;
        wire::decode_sync_request(&bytes).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, SYNC_RESPONSE_BYTES_MAX).await?;
        wire::decode_sync_response(&bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncRequest,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        write_frame(io, &wire::encode(&req)).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        write_frame(io, &wire::encode(&res)).await
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use libp2p::multiaddr::Protocol;
    use libp2p::swarm::dial_opts::DialOpts;
    use libp2p::swarm::{DialError, ListenError, SwarmEvent};
    use libp2p::{Multiaddr, PeerId};

    use super::*;

    const WAIT: Duration = Duration::from_secs(20);

    fn peer(seed: u8) -> (Swarm<Behaviour>, PeerId) {
        let key = keypair([seed; 32]);
        let id = key.public().to_peer_id();
        (build_swarm(key).expect("swarm").0, id)
    }

    /// Polls `swarm` until `f` picks an event, within [`WAIT`].
    async fn until<T>(
        swarm: &mut Swarm<Behaviour>,
        what: &str,
        mut f: impl FnMut(SwarmEvent<BehaviourEvent>) -> Option<T>,
    ) -> T {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(v) = f(swarm.select_next_some().await) {
                    return v;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Listens on a free loopback port; the address by name, as
    /// `/dns4/localhost/tcp/PORT/p2p/ID`.
    async fn listen_by_name(swarm: &mut Swarm<Behaviour>) -> Multiaddr {
        swarm
            .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .expect("listen");
        let port = until(swarm, "a listen address", |e| match e {
            SwarmEvent::NewListenAddr { address, .. } => address.iter().find_map(|p| match p {
                Protocol::Tcp(port) => Some(port),
                _ => None,
            }),
            _ => None,
        })
        .await;
        format!("/dns4/localhost/tcp/{port}/p2p/{}", swarm.local_peer_id())
            .parse()
            .unwrap()
    }

    fn dial(peer: PeerId, addr: &Multiaddr) -> DialOpts {
        DialOpts::peer_id(peer)
            .addresses(vec![addr.clone()])
            .build()
    }

    /// Drives a swarm for the rest of the test.
    fn run_in_background(mut swarm: Swarm<Behaviour>) {
        tokio::spawn(async move {
            loop {
                swarm.select_next_some().await;
            }
        });
    }

    /// The allow list is of peer ids: a stranger dialling from the very
    /// host (127.0.0.1) an allowed peer dials from is denied once Noise
    /// has told its id, and a node refuses to dial a stranger even at an
    /// address it was given. The allowed peer, dialling by DNS name, is
    /// let in.
    #[tokio::test]
    async fn the_allow_list_admits_peer_ids_never_addresses() {
        let (mut node, node_id) = peer(1);
        let (mut friend, friend_id) = peer(2);
        let (mut stranger, stranger_id) = peer(3);
        node.behaviour_mut().allow.allow_peer(friend_id);
        friend.behaviour_mut().allow.allow_peer(node_id);
        stranger.behaviour_mut().allow.allow_peer(node_id);
        let node_addr = listen_by_name(&mut node).await;
        let stranger_addr = listen_by_name(&mut stranger).await;

        stranger
            .dial(dial(node_id, &node_addr))
            .expect("the stranger dials");
        run_in_background(stranger);
        until(&mut node, "the stranger to be denied", |e| match e {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                panic!("{peer_id} was let in")
            }
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { .. },
                peer_id,
                ..
            } => {
                assert_eq!(peer_id, Some(stranger_id));
                Some(())
            }
            _ => None,
        })
        .await;

        let e = node
            .dial(dial(stranger_id, &stranger_addr))
            .expect_err("a peer not allowed is not dialled");
        assert!(matches!(e, DialError::Denied { .. }), "{e}");

        friend
            .dial(dial(node_id, &node_addr))
            .expect("the friend dials");
        run_in_background(friend);
        let admitted = until(&mut node, "the friend to connect", |e| match e {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => Some(peer_id),
            _ => None,
        })
        .await;
        assert_eq!(admitted, friend_id);
    }
}
