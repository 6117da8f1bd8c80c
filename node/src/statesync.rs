//! `minhbach node start --state-sync`: a node with an empty store starts
//! from a snapshot of a recent height H that its peers serve, instead of
//! replaying the chain from genesis, and then syncs blocks from H+1 as any
//! node does.
//!
//! It trusts no peer: the anchor is checked from the genesis file through
//! every validator-set change to block H's certificate, each block and
//! chunk against that certified header, and a peer whose answer fails a
//! check is named in the log and not asked again (see
//! `ledger::statesync`). The store is written once, whole, after every
//! check has passed: a node stopped or refused halfway has written nothing
//! and starts again from scratch.
//!
//! A validator started this way holds no safety record, though its key
//! may have signed before from a disk since lost: it gets the signing
//! guard a restore into an empty home gets, and signs nothing until it has
//! caught up with the network (the simulator's state-sync scenario shows
//! it double-signing without).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use anyhow::{bail, Context};
use futures::StreamExt;
use ledger::proof::TrustAnchor;
use ledger::state::snapshot::CHUNK_DEPTH_MAX;
use ledger::statesync::Anchored;
use ledger::store::Store;
use ledger::{Block, Height};
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::home::Home;
use crate::net::{Behaviour, BehaviourEvent};
use crate::wire::{ChunkAnswer, SyncRequest, SyncResponse};

/// How long a peer has to answer one request.
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// How long the node looks for a peer that offers a snapshot before it
/// gives up, saying so.
pub const OFFER_WAIT: Duration = Duration::from_secs(120);
/// The first chunks asked for have prefixes of this many bits; a chunk too
/// large is asked for again in halves.
pub const FIRST_DEPTH: u8 = 4;

/// Starts the store of `home` from a snapshot served by the peers of
/// `dial`, unless it already holds a chain. Returns the height started
/// from, or `None` if the store was not empty.
pub async fn run(
    swarm: &mut Swarm<Behaviour>,
    dial: &[(PeerId, Multiaddr)],
    home: &Home,
    genesis: &genesis::Genesis,
) -> anyhow::Result<Option<Height>> {
    let path = home.data_dir();
    let store = Store::open(&path)
        .with_context(|| format!("cannot open the store at {}", path.display()))?;
    if let Some(meta) = store.meta()? {
        info!(
            height = meta.height.0,
            "state sync: the store already holds the chain; starting from it"
        );
        return Ok(None);
    }
    let state = genesis.state();
    let trust = TrustAnchor::from_genesis_state(&state, genesis.hash());
    // The peers this node may talk to: those the genesis state allows.
    let allowed = crate::net::allowed_peers(&state);
    for p in &allowed {
        swarm.behaviour_mut().allow.allow_peer(*p);
    }
    let mut client = Client {
        swarm,
        dial: dial
            .iter()
            .filter(|(p, _)| allowed.contains(p))
            .cloned()
            .collect(),
        connected: BTreeSet::new(),
        distrusted: BTreeSet::new(),
    };
    let offers = client.find_offers().await?;
    // The newest height first; a height whose pieces no peer sends as
    // certified (one peer may offer a height that does not exist) gives
    // way to the next.
    let mut snapshot = Err(anyhow::anyhow!("state sync: no snapshot offered"));
    for (height, offering) in offers.into_iter().rev() {
        info!(
            height = height.0,
            peers = offering.len(),
            "state sync: taking the snapshot"
        );
        snapshot = client
            .take(&trust, height, offering, state.chain_id())
            .await;
        match &snapshot {
            Ok(_) => break,
            Err(e) => warn!("{e:#}; trying an older snapshot"),
        }
    }
    // The node's loop tracks its peers from their connections: it starts
    // with none, and dials them again itself.
    client.disconnect_all().await;
    let snapshot = snapshot?;
    // A validator's key may have signed before, from a disk since lost:
    // it signs nothing until it has caught up with the network, as after a
    // restore into an empty home (see `crate::driver::guard`). The guard
    // goes in first: a node stopped before the snapshot is written starts
    // state sync again, and one stopped after finds the guard there.
    if home.validator_key_path().exists() {
        let guard = crate::driver::guard::SignGuard {
            floor: 1,
            awaiting_network: true,
        };
        guard.save(&store)?;
        info!("state sync: this validator signs nothing until it has caught up with the network");
    }
    let h = store
        .start_from_snapshot(&state, genesis.hash(), &snapshot)?
        .height();
    info!(
        height = h.0,
        entries = snapshot.state.entries().count(),
        "state sync: the store starts at the snapshot; syncing blocks from the next height"
    );
    Ok(Some(h))
}

/// The swarm, used one request at a time.
struct Client<'a> {
    swarm: &'a mut Swarm<Behaviour>,
    dial: Vec<(PeerId, Multiaddr)>,
    connected: BTreeSet<PeerId>,
    /// Peers that sent something that failed a check.
    distrusted: BTreeSet<PeerId>,
}

impl Client<'_> {
    fn dial_all(&mut self) {
        for (peer, addr) in self.dial.clone() {
            if self.connected.contains(&peer) {
                continue;
            }
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(vec![addr])
                .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
                .build();
            let _ = self.swarm.dial(opts);
        }
    }

    /// Closes every connection, waiting a little for them to close.
    async fn disconnect_all(&mut self) {
        for peer in self.connected.clone() {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.connected.is_empty() {
            match tokio::time::timeout_at(deadline, self.swarm.select_next_some()).await {
                Ok(event) => {
                    self.on_event(event, None);
                }
                Err(_) => break,
            }
        }
    }

    /// The snapshot heights offered, each with the peers offering it.
    async fn find_offers(&mut self) -> anyhow::Result<BTreeMap<Height, Vec<PeerId>>> {
        let give_up = Instant::now() + OFFER_WAIT;
        loop {
            self.dial_all();
            self.wait_events(Duration::from_secs(1)).await;
            let mut offers: BTreeMap<Height, Vec<PeerId>> = BTreeMap::new();
            for peer in self.trusted_peers() {
                match self.ask(peer, SyncRequest::Snapshots).await {
                    Some(SyncResponse::Snapshots(heights)) => {
                        for h in heights {
                            offers.entry(h).or_default().push(peer);
                        }
                    }
                    other => debug!(%peer, "state sync: no list of snapshots: {other:?}"),
                }
            }
            if !offers.is_empty() {
                return Ok(offers);
            }
            if Instant::now() >= give_up {
                bail!(
                    "state sync: no peer offered a snapshot within {} s ({} of {} configured \
                     peers connected); check [p2p] peers, or start without --state-sync to \
                     replay the chain from genesis",
                    OFFER_WAIT.as_secs(),
                    self.connected.len(),
                    self.dial.len()
                );
            }
            info!(
                connected = self.connected.len(),
                "state sync: waiting for a peer that offers a snapshot"
            );
        }
    }

    fn trusted_peers(&self) -> Vec<PeerId> {
        self.connected
            .iter()
            .filter(|p| !self.distrusted.contains(p))
            .copied()
            .collect()
    }

    /// Marks `peer` as having sent something wrong.
    fn distrust(&mut self, peer: PeerId, why: impl std::fmt::Display) {
        warn!(%peer, "state sync: refused what the peer sent: {why}");
        self.distrusted.insert(peer);
    }

    /// Takes the snapshot of `height` from `peers`.
    async fn take(
        &mut self,
        trust: &TrustAnchor,
        height: Height,
        peers: Vec<PeerId>,
        chain_id: &str,
    ) -> anyhow::Result<ledger::statesync::VerifiedSnapshot> {
        let mut anchored = None;
        for &peer in &peers {
            match self.ask(peer, SyncRequest::SnapshotAnchor { height }).await {
                Some(SyncResponse::SnapshotAnchor(Some(anchor))) => {
                    match Anchored::check(trust, &anchor) {
                        Ok(a) if a.height() == height => {
                            anchored = Some(a);
                            break;
                        }
                        Ok(a) => self.distrust(peer, format!("an anchor of height {}", a.height())),
                        Err(e) => self.distrust(peer, e),
                    }
                }
                other => debug!(%peer, "state sync: no anchor: {other:?}"),
            }
        }
        let Some(anchored) = anchored else {
            bail!("state sync: no peer sent an anchor for the snapshot of height {height} that checks");
        };
        let mut blocks: BTreeMap<Height, Block> = BTreeMap::new();
        for k in anchored.block_heights() {
            for &peer in &peers {
                if self.distrusted.contains(&peer) {
                    continue;
                }
                let request = SyncRequest::Blocks { from: k, count: 1 };
                let Some(SyncResponse::Blocks(got)) = self.ask(peer, request).await else {
                    continue;
                };
                let Some((block, _)) = got.into_iter().next() else {
                    continue;
                };
                match anchored.check_block(&block) {
                    Ok(()) if block.header.height == k => {
                        blocks.insert(k, block);
                        break;
                    }
                    Ok(()) => self.distrust(peer, format!("block {} for {k}", block.header.height)),
                    Err(e) => self.distrust(peer, e),
                }
            }
            if !blocks.contains_key(&k) {
                bail!("state sync: no peer sent block {k} as certified");
            }
        }
        let entries = self.chunks(&anchored, &peers).await?;
        Ok(anchored.finish(chain_id, entries, blocks)?)
    }

    /// Every entry of the snapshot, chunk by chunk, each checked against
    /// the certified state root.
    async fn chunks(
        &mut self,
        anchored: &Anchored,
        peers: &[PeerId],
    ) -> anyhow::Result<Vec<(ledger::state::StateKey, ledger::state::StateValue)>> {
        let height = anchored.height();
        let mut wanted: VecDeque<(u8, u32)> =
            (0..1u32 << FIRST_DEPTH).map(|p| (FIRST_DEPTH, p)).collect();
        let mut entries = Vec::new();
        let mut turn = 0usize;
        let mut misses: HashMap<(u8, u32), usize> = HashMap::new();
        let (mut done, mut last_log) = (0usize, Instant::now());
        while let Some((depth, prefix)) = wanted.pop_front() {
            let trusted: Vec<PeerId> = peers
                .iter()
                .filter(|p| !self.distrusted.contains(p) && self.connected.contains(p))
                .copied()
                .collect();
            if trusted.is_empty() {
                bail!("state sync: no peer left that serves the snapshot of height {height}");
            }
            let peer = trusted[turn % trusted.len()];
            turn += 1;
            let request = SyncRequest::SnapshotChunk {
                height,
                depth,
                prefix,
            };
            match self.ask(peer, request).await {
                Some(SyncResponse::SnapshotChunk(ChunkAnswer::Chunk(chunk)))
                    if (chunk.depth, chunk.prefix) == (depth, prefix) =>
                {
                    match anchored.check_chunk(&chunk) {
                        Ok(got) => {
                            entries.extend(got);
                            done += 1;
                        }
                        Err(e) => {
                            self.distrust(peer, e);
                            wanted.push_back((depth, prefix));
                        }
                    }
                }
                Some(SyncResponse::SnapshotChunk(ChunkAnswer::TooLarge))
                    if depth < CHUNK_DEPTH_MAX =>
                {
                    wanted.push_back((depth + 1, prefix * 2));
                    wanted.push_back((depth + 1, prefix * 2 + 1));
                }
                other => {
                    debug!(%peer, depth, prefix, "state sync: no chunk: {other:?}");
                    let n = misses.entry((depth, prefix)).or_default();
                    *n += 1;
                    if *n > 3 * peers.len() {
                        bail!("state sync: no peer sent chunk {prefix} of {depth} bits of height {height}");
                    }
                    wanted.push_back((depth, prefix));
                }
            }
            if last_log.elapsed() > Duration::from_secs(5) {
                info!(
                    chunks = done,
                    left = wanted.len(),
                    entries = entries.len(),
                    "state sync: taking chunks"
                );
                last_log = Instant::now();
            }
        }
        Ok(entries)
    }

    /// Sends `request` to `peer` and waits for its answer, at most
    /// [`ANSWER_WAIT`]; `None` if it fails or is late.
    async fn ask(&mut self, peer: PeerId, request: SyncRequest) -> Option<SyncResponse> {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        let deadline = Instant::now() + ANSWER_WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .ok()?;
            if let Some(answer) = self.on_event(event, Some(id)) {
                return answer;
            }
        }
    }

    /// Handles swarm events for `wait`.
    async fn wait_events(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while let Ok(event) = tokio::time::timeout_at(deadline, self.swarm.select_next_some()).await
        {
            self.on_event(event, None);
        }
    }

    /// Handles one event; `Some` once the request `waiting` is answered
    /// (`Some(None)`: it failed).
    fn on_event(
        &mut self,
        event: SwarmEvent<BehaviourEvent>,
        waiting: Option<OutboundRequestId>,
    ) -> Option<Option<SyncResponse>> {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                self.connected.insert(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.connected.remove(&peer_id);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => match event {
                request_response::Event::Message {
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                } if Some(request_id) == waiting => return Some(Some(response)),
                request_response::Event::OutboundFailure { request_id, .. }
                    if Some(request_id) == waiting =>
                {
                    return Some(None)
                }
                // A peer asking this node: it holds nothing yet.
                request_response::Event::Message {
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                } => {
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, nothing_yet(&request));
                }
                _ => {}
            },
            _ => {}
        }
        None
    }
}

/// What a node that holds no chain yet answers: height 0, and nothing
/// of what is asked.
pub fn nothing_yet(request: &SyncRequest) -> SyncResponse {
    match request {
        SyncRequest::Status => SyncResponse::Status {
            height: Height(0),
            last_hash: ledger::Hash([0; 32]),
        },
        SyncRequest::Blocks { .. } => SyncResponse::Blocks(Vec::new()),
        SyncRequest::Txs(_) => SyncResponse::Txs(Vec::new()),
        SyncRequest::Snapshots => SyncResponse::Snapshots(Vec::new()),
        SyncRequest::SnapshotAnchor { .. } => SyncResponse::SnapshotAnchor(None),
        SyncRequest::SnapshotChunk { .. } => SyncResponse::SnapshotChunk(ChunkAnswer::NotServed),
    }
}
