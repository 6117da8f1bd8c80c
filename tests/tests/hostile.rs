//! Hostile peers and clients against four validators running as processes.
//!
//! Each attack is followed (and, for the HTTP ones, accompanied) by honest
//! transactions that must commit on every validator; commits must go on;
//! and each node's resident memory is read from `/proc/<pid>/status`
//! before and after, its peak growth held under a bound derived from the
//! limits that apply. The figures are printed (`-- --nocapture`).
//!
//! Peers (`hostile_peers_are_refused_and_cut_off`):
//! - gossip messages longer than the nodes' bound on gossip, from a
//!   registered peer whose own bound is larger;
//! - messages within that bound but over their topic's (a vote of 64 KiB,
//!   a transaction batch of 3 MiB): refused, and the peer cut off;
//! - transaction batches and votes with signatures that do not verify:
//!   refused, and the peer cut off;
//! - connections from fresh identities that are not registered: refused,
//!   the peer count unchanged.
//!
//! Clients (`hostile_clients_are_bounded`):
//! - `POST /v1/txs` and `POST /v1/txs/batch` with forged signatures;
//! - one client sending valid transactions past a small mempool:
//!   `mempool_full`, and the mempool never over its bound;
//! - slow readers (pipelined requests, responses never read) and slowloris
//!   connections (a request head sent a byte at a time): other clients are
//!   still served, each client address holds a bounded number of
//!   connections, the listener a bounded total, and both kinds are closed
//!   by the node's timeouts.
//!
//! `HOSTILE_SCALE=<n>` multiplies the size of every flood (default 1).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ledger::crypto::read_key_file;
use ledger::testkit::id;
use ledger::{Amount, Hash, Height, LineCode, Op, SignedTx, Vote, VoteType, Year};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId};
use node::wire::{self, VoteMsg};
use rand::RngCore;
use serde_json::Value;
use tests::cluster::{wait_for, Cluster, Memory};
use tests::ops;
use tests::peer::{Peer, Topic};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);
const VALIDATORS: [usize; 4] = [0, 1, 2, 3];
const MIB: u64 = 1024 * 1024;
/// Memory a node may grow by for reasons of its own while an attack runs
/// (blocks committed, caches, allocator slack).
const SLACK_BYTES: u64 = 96 * MIB;

/// How many times bigger every flood is than in CI.
fn scale() -> usize {
    std::env::var("HOSTILE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

// ---- the network and honest work ----

/// Four validators running, at height 2 or more, with the ministry (BYT)
/// funded so that its honest allocations commit. Full nodes are generated
/// (so registered) but not started: their keys are the hostile peers'.
fn network(full_nodes: usize, configure: impl Fn(&mut node::config::Config)) -> Cluster {
    let mut c = Cluster::new(BIN, 4, full_nodes);
    for i in VALIDATORS {
        c.configure(i, &configure);
        c.start(i);
    }
    for i in VALIDATORS {
        c.wait_height(i, 2, BLOCKS);
    }
    let fund = c.sign_next(0, "BTC", ops::appropriate("BYT", "YTE.TX", 1_000_000_000));
    let hash = c.submit(0, &fund).expect("funding accepted");
    for i in VALIDATORS {
        c.wait_committed(i, &hash, BLOCKS);
    }
    c
}

/// The ministry passing 1 đồng at a time to a hospital: transactions that
/// are valid whatever else happens, with nonces tracked here.
struct Honest {
    nonce: u64,
    committed: usize,
}

impl Honest {
    fn new(c: &Cluster) -> Honest {
        let nonce = c.client(0).next_nonce(&id("BYT")).expect("next nonce");
        Honest {
            nonce,
            committed: 0,
        }
    }

    fn tx(&mut self, c: &Cluster) -> SignedTx {
        let op = Op::Allocate {
            year: Year(2026),
            line: LineCode::new("YTE.TX").unwrap(),
            to: id("BYT-BVBM"),
            amount: Amount(1),
        };
        let tx = c.sign("BYT", self.nonce, op);
        self.nonce += 1;
        tx
    }

    /// Submits one honest transaction to node `to`, again while the node
    /// answers "try again" (`mempool_full`, `busy`); its hash.
    fn submit(&mut self, c: &Cluster, to: usize) -> String {
        let tx = self.tx(c);
        wait_for("an honest transaction to be admitted", BLOCKS, || {
            match c.submit(to, &tx) {
                Ok(hash) => Some(hash),
                Err(e) if e.code() == Some("duplicate") => Some(tx.hash().to_hex()),
                Err(e) if matches!(e.code(), Some("mempool_full" | "busy")) => None,
                Err(e) => panic!("node {to} refused an honest transaction: {e}"),
            }
        })
    }

    /// Waits until every validator has committed `hash`.
    fn committed_everywhere(&mut self, c: &Cluster, hash: &str) {
        for i in VALIDATORS {
            c.wait_committed(i, hash, BLOCKS);
        }
        self.committed += 1;
    }

    /// Submits one to each validator in turn and waits for all to commit
    /// everywhere.
    fn round(&mut self, c: &Cluster) {
        let hashes: Vec<String> = VALIDATORS.iter().map(|&i| self.submit(c, i)).collect();
        for h in hashes {
            self.committed_everywhere(c, &h);
        }
    }
}

fn heights(c: &Cluster) -> Vec<u64> {
    VALIDATORS
        .iter()
        .map(|&i| c.height(i).expect("node answers"))
        .collect()
}

/// Waits until every validator is at least `blocks` past `before`.
fn commits_go_on(c: &Cluster, before: &[u64], blocks: u64) {
    for i in VALIDATORS {
        c.wait_height(i, before[i] + blocks, BLOCKS);
    }
}

fn memory(c: &Cluster) -> Vec<Memory> {
    VALIDATORS
        .iter()
        .map(|&i| c.memory(i).expect("node process running"))
        .collect()
}

/// Prints each node's memory around an attack and checks that its peak
/// during the attack is at most `bound` above where it started.
fn memory_bounded(what: &str, before: &[Memory], after: &[Memory], bound: u64) {
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        let grew = (a.hwm_kib * 1024).saturating_sub(b.rss_kib * 1024);
        println!(
            "{what}: node {i} RSS {:.1} → {:.1} MiB, peak {:.1} MiB (grew ≤ {:.1} MiB, bound {} MiB)",
            b.rss_kib as f64 / 1024.0,
            a.rss_kib as f64 / 1024.0,
            a.hwm_kib as f64 / 1024.0,
            grew as f64 / MIB as f64,
            bound / MIB
        );
        assert!(
            grew <= bound,
            "{what}: node {i} grew by {} MiB, over the {} MiB bound",
            grew / MIB,
            bound / MIB
        );
    }
}

fn labelled(name: &str, listener: &str) -> String {
    format!("{name}{{listener=\"{listener}\"}}")
}

/// A metric that is absent until first counted, as zero.
fn counter(c: &Cluster, i: usize, name: &str) -> f64 {
    let body = c.client(i).download("/metrics").expect("/metrics").body;
    let text = String::from_utf8(body).expect("UTF-8 metrics");
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

// ---- hostile peers ----

fn targets(c: &Cluster) -> Vec<(PeerId, Multiaddr)> {
    VALIDATORS
        .iter()
        .map(|&i| {
            let n = c.node(i);
            (
                n.peer_id.to_string().parse().expect("peer id"),
                n.dial_address().parse().expect("multiaddr"),
            )
        })
        .collect()
}

/// A peer with full node `i`'s key, connected to every validator.
fn hostile_peer(c: &Cluster, i: usize, transmit_bytes_max: usize) -> Peer {
    let key = read_key_file(&c.node(i).home.join("node_key")).expect("node key");
    let peer = Peer::start_with(key.seed(), targets(c), transmit_bytes_max);
    wait_for(
        "the validators to accept the registered peer and subscribe",
        BLOCKS,
        || (peer.subscribed() == VALIDATORS.len()).then_some(()),
    );
    peer
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

/// Waits until every validator has cut `peer` off: it counts a ban, and
/// the peer is connected to none of them (its redials are refused).
fn cut_off_everywhere(c: &Cluster, peer: &Peer, bans_before: &[f64]) {
    for i in VALIDATORS {
        wait_for(&format!("node {i} to ban the peer"), BLOCKS, || {
            (counter(c, i, "minhbach_peers_banned_total") > bans_before[i]).then_some(())
        });
    }
    wait_for("the banned peer to be disconnected", BLOCKS, || {
        (peer.connected() == 0).then_some(())
    });
    // It keeps redialing every 500 ms; it stays out. The nodes are asked:
    // the peer's own side can show a redial for the instant between its
    // handshake and the node closing it.
    std::thread::sleep(Duration::from_secs(2));
    for i in VALIDATORS {
        assert_eq!(
            c.metric(i, "minhbach_peers") as usize,
            VALIDATORS.len() - 1,
            "node {i} let a banned peer back in"
        );
    }
}

fn bans(c: &Cluster) -> Vec<f64> {
    VALIDATORS
        .iter()
        .map(|&i| counter(c, i, "minhbach_peers_banned_total"))
        .collect()
}

/// A Tokio runtime for libp2p dialers, shut down with a bounded wait when
/// dropped.
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// Whether a node refuses a fresh, unregistered identity: the dial fails,
/// or the connection is closed by the node within `within`.
async fn refused(addr: Multiaddr, within: Duration) -> bool {
    let swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .expect("tcp transport")
        .with_behaviour(|_| libp2p::swarm::dummy::Behaviour)
        .expect("behaviour")
        // Keeps the connection itself, so that only the node closes it.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    let mut swarm = swarm;
    if swarm.dial(addr).is_err() {
        return true;
    }
    let deadline = tokio::time::sleep(within);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return false,
            event = swarm.select_next_some() => match event {
                SwarmEvent::OutgoingConnectionError { .. } => return true,
                SwarmEvent::ConnectionClosed { .. } => return true,
                _ => {}
            }
        }
    }
}

#[test]
fn hostile_peers_are_refused_and_cut_off() {
    let c = network(3, |_| {});
    let (oversize, topic_oversize, forger) = (4, 5, 6);
    let mut honest = Honest::new(&c);
    let n = scale();
    let gossip_bound = net_bound();

    // 1. Messages over the nodes' bound on gossip, from a peer whose own
    // bound is larger. Nodes drop them by their length, unread.
    let before = memory(&c);
    let h0 = heights(&c);
    let peer = hostile_peer(&c, oversize, 4 * gossip_bound);
    let mut sent = 0;
    for k in 0..4 * n {
        let topic = [Topic::Votes, Topic::Txs, Topic::Proposals][k % 3];
        // Once a node has refused a few, the peer gives up sending to it.
        if peer
            .publish(topic, random_bytes(gossip_bound + MIB as usize))
            .is_ok()
        {
            sent += 1;
        }
        if k % 2 == 1 {
            honest.round(&c);
        }
    }
    drop(peer);
    honest.round(&c);
    commits_go_on(&c, &h0, 3);
    println!(
        "oversized gossip: {sent} messages of {:.1} MiB (bound {:.1} MiB) published",
        (gossip_bound as u64 + MIB) as f64 / MIB as f64,
        gossip_bound as f64 / MIB as f64
    );
    memory_bounded(
        "oversized gossip",
        &before,
        &memory(&c),
        4 * gossip_bound as u64 + SLACK_BYTES,
    );

    // 2. Within the gossip bound, over the topic's: refused, and the peer
    // that sends more than the allowed number is cut off.
    let before = memory(&c);
    let h0 = heights(&c);
    let bans0 = bans(&c);
    let peer = hostile_peer(&c, topic_oversize, net_bound());
    let messages = (node::driver::INVALID_GOSSIP_MAX as usize + 8) * n;
    for k in 0..messages {
        let (topic, len) = if k % 4 == 0 {
            (Topic::Txs, wire::TX_BATCH_BYTES_MAX + MIB as usize)
        } else {
            (Topic::Votes, 64 * 1024)
        };
        if peer.publish(topic, random_bytes(len)).is_err() {
            break;
        }
    }
    cut_off_everywhere(&c, &peer, &bans0);
    drop(peer);
    honest.round(&c);
    commits_go_on(&c, &h0, 3);
    println!("oversized for their topic: {messages} messages sent; the peer was banned by all 4");
    memory_bounded(
        "oversized for the topic",
        &before,
        &memory(&c),
        8 * wire::TX_BATCH_BYTES_MAX as u64 + SLACK_BYTES,
    );

    // 3. Transaction batches and votes whose signatures do not verify.
    let before = memory(&c);
    let h0 = heights(&c);
    let bans0 = bans(&c);
    let invalid0: Vec<f64> = VALIDATORS
        .iter()
        .map(|&i| counter(&c, i, "minhbach_gossip_invalid_total"))
        .collect();
    let peer = hostile_peer(&c, forger, net_bound());
    let chain_id = c.plan.chain_id.clone();
    let btc_next = c.client(0).next_nonce(&id("BTC")).expect("next nonce");
    let keys: Vec<_> = VALIDATORS.iter().map(|&i| c.validator_key(i)).collect();
    let rounds = (node::driver::INVALID_GOSSIP_MAX as usize / 2 + 8) * n;
    let (mut batches, mut votes) = (0, 0);
    for k in 0..rounds {
        // 64 transactions with the treasury's next nonces, each signature
        // altered after signing.
        let batch: Vec<SignedTx> = (0..64)
            .map(|j| {
                let mut tx = c.sign(
                    "BTC",
                    btc_next + j,
                    ops::appropriate("BYT", "YTE.TX", 1 + k as u64),
                );
                tx.signature.0[7] ^= 0x20;
                tx
            })
            .collect();
        if peer.publish(Topic::Txs, wire::encode(&batch)).is_err() {
            break;
        }
        batches += 1;
        let h = c.height(0).expect("node answers") + 1;
        let mut vote = Vote::sign(
            &keys[k % keys.len()],
            &chain_id,
            VoteType::Prevote,
            Height(h),
            k as u32,
            Some(Hash::digest(format!("forged {k}").as_bytes())),
        );
        vote.signature.0[11] ^= 0x01;
        let msg = VoteMsg {
            vote,
            sent_ms: node::driver::now_ms(),
        };
        if peer.publish_vote(&msg).is_err() {
            break;
        }
        votes += 1;
    }
    cut_off_everywhere(&c, &peer, &bans0);
    drop(peer);
    honest.round(&c);
    commits_go_on(&c, &h0, 3);
    let invalid: Vec<f64> = VALIDATORS
        .iter()
        .map(|&i| counter(&c, i, "minhbach_gossip_invalid_total") - invalid0[i])
        .collect();
    for (i, got) in invalid.iter().enumerate() {
        assert!(
            *got > f64::from(node::driver::INVALID_GOSSIP_MAX),
            "node {i} refused only {got} forged messages"
        );
    }
    // None of the forged transactions is anywhere.
    let forged = c.sign("BTC", btc_next, ops::appropriate("BYT", "YTE.TX", 1));
    for i in VALIDATORS {
        let v = c.client(i).get(&format!("/v1/txs/{}", forged.hash()));
        assert!(
            v.as_ref().map_or(true, |v| v["status"] != "committed"),
            "node {i}: {v:?}"
        );
    }
    println!(
        "forged gossip: {batches} batches of 64 transactions and {votes} votes sent; \
         refused per node {invalid:?}; the peer was banned by all 4"
    );
    memory_bounded(
        "forged gossip",
        &before,
        &memory(&c),
        8 * wire::TX_BATCH_BYTES_MAX as u64 + SLACK_BYTES,
    );

    // 4. Fresh identities, not registered, dialing the validators.
    let before = memory(&c);
    let h0 = heights(&c);
    let peers0: Vec<f64> = VALIDATORS
        .iter()
        .map(|&i| c.metric(i, "minhbach_peers"))
        .collect();
    let attempts = 1_000 * n;
    let addrs: Vec<Multiaddr> = VALIDATORS
        .iter()
        .map(|&i| c.node(i).p2p.parse().expect("multiaddr"))
        .collect();
    let rt = Runtime(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime"),
    ));
    let started = Instant::now();
    let results: Vec<bool> = rt.0.as_ref().unwrap().block_on(
        futures::stream::iter(0..attempts)
            .map(|k| refused(addrs[k % addrs.len()].clone(), Duration::from_secs(20)))
            .buffer_unordered(32)
            .collect(),
    );
    let took = started.elapsed();
    drop(rt);
    let refused_count = results.iter().filter(|r| **r).count();
    let peers: Vec<f64> = VALIDATORS
        .iter()
        .map(|&i| c.metric(i, "minhbach_peers"))
        .collect();
    honest.round(&c);
    commits_go_on(&c, &h0, 3);
    println!(
        "unknown peers: {refused_count}/{attempts} refused in {:.1} s; peers per node {peers0:?} → {peers:?}",
        took.as_secs_f64()
    );
    assert_eq!(refused_count, attempts, "some unknown peers were let in");
    assert_eq!(peers, peers0, "the peer count moved");
    memory_bounded("unknown peers", &before, &memory(&c), SLACK_BYTES);
    println!(
        "hostile peers: {} honest transactions committed on all 4",
        honest.committed
    );
}

fn net_bound() -> usize {
    node::net::GOSSIP_TRANSMIT_BYTES_MAX
}

// ---- hostile clients ----

const MEMPOOL_TXS: usize = 32;
const CONNECTIONS: usize = 256;
const PER_CLIENT: usize = 48;
const REQUESTS_PER_CLIENT: usize = 4;
/// What a node's memory may grow by under submission floods: the batch
/// bodies read and admitted at once, three times over for their decoded
/// copies, plus slack.
const SUBMISSIONS_BOUND_BYTES: u64 = 3
    * gateway::api::SUBMIT_BATCHES_RUNNING_MAX as u64
    * gateway::api::SUBMIT_BATCH_BODY_BYTES_MAX as u64
    + SLACK_BYTES;
/// Connections the test's own honest reads may hold open at once.
const HONEST_CONNECTIONS_MAX: usize = 8;

fn b64(tx: &SignedTx) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(tx.encode())
}

/// Posts a batch; the code of each refused item ("admitted" for the
/// others), or the error code of the whole request.
fn post_batch(api: &str, txs: &[SignedTx]) -> Result<Vec<String>, String> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    let body = serde_json::json!({ "txs": txs.iter().map(b64).collect::<Vec<_>>() });
    let r = http
        .post(format!("{api}/v1/txs/batch"))
        .json(&body)
        .send()
        .map_err(|e| e.to_string())?;
    let v: Value = r.json().map_err(|e| e.to_string())?;
    if let Some(code) = v["error"]["code"].as_str() {
        return Err(code.to_owned());
    }
    Ok(v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|item| {
            item["error"]["code"]
                .as_str()
                .unwrap_or("admitted")
                .to_owned()
        })
        .collect())
}

fn tally(codes: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in codes {
        *m.entry(c).or_insert(0) += 1;
    }
    m
}

/// Opens a blocking connection to `to` from the loopback address `from`.
fn connect_from(
    rt: &tokio::runtime::Runtime,
    from: Ipv4Addr,
    to: SocketAddr,
) -> std::io::Result<TcpStream> {
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
        tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
    })?;
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Whether the node has closed `s`: a read gives end of file or an error.
fn closed(s: &mut TcpStream) -> bool {
    let _ = s.set_nonblocking(true);
    let mut buf = [0u8; 4096];
    let r = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            // A slow reader that is being closed still has answers queued.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    let _ = s.set_nonblocking(false);
    r
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn hostile_clients_are_bounded() {
    let c = network(0, |cfg| {
        cfg.limits.mempool_txs = MEMPOOL_TXS;
        cfg.limits.http_connections = CONNECTIONS;
        cfg.limits.http_connections_per_client = PER_CLIENT;
        cfg.limits.http_requests_per_client = REQUESTS_PER_CLIENT;
    });
    let mut honest = Honest::new(&c);
    let n = scale();
    let api = c.node(0).api_url();

    // 1. Forged signatures over HTTP, one at a time and in batches, with
    // honest transactions submitted meanwhile.
    let before = memory(&c);
    let h0 = heights(&c);
    let btc_next = c.client(0).next_nonce(&id("BTC")).expect("next nonce");
    let forge = |k: u64| {
        let mut tx = c.sign(
            "BTC",
            btc_next + k % 64,
            ops::appropriate("BYT", "YTE.TX", 1 + k),
        );
        tx.signature.0[3] ^= 0x08;
        tx
    };
    let singles = 1_000 * n;
    let batches = 8 * n;
    let (single_codes, batch_codes, honest_during) = std::thread::scope(|scope| {
        let singles = scope.spawn(|| {
            let client = c.client(0);
            tally((0..singles as u64).map(|k| match client.submit(&forge(k)) {
                Ok(_) => "admitted".to_owned(),
                Err(e) => e.code().unwrap_or("transport").to_owned(),
            }))
        });
        let batch_threads: Vec<_> = (0..4)
            .map(|t| {
                let api = &api;
                let forge = &forge;
                scope.spawn(move || {
                    let mut codes = Vec::new();
                    for b in (t..batches).step_by(4) {
                        let txs: Vec<SignedTx> = (0..gateway::api::SUBMIT_BATCH_TXS_MAX as u64)
                            .map(|k| forge(1_000_000 + (b as u64) * 10_000 + k))
                            .collect();
                        match post_batch(api, &txs) {
                            Ok(items) => codes.extend(items),
                            Err(code) => codes.push(format!("request: {code}")),
                        }
                    }
                    codes
                })
            })
            .collect();
        let during = &mut honest;
        let mut hashes = Vec::new();
        while !singles.is_finished() {
            hashes.push(during.submit(&c, 1 + hashes.len() % 3));
            std::thread::sleep(Duration::from_millis(300));
        }
        let single_codes = singles.join().expect("single submitter");
        let mut batch_codes = Vec::new();
        for t in batch_threads {
            batch_codes.extend(t.join().expect("batch submitter"));
        }
        for h in &hashes {
            during.committed_everywhere(&c, h);
        }
        (single_codes, tally(batch_codes), hashes.len())
    });
    honest.round(&c);
    commits_go_on(&c, &h0, 3);
    println!(
        "forged over HTTP: {singles} single submissions {single_codes:?}; {batches} batches of {} {batch_codes:?}; \
         {honest_during} honest transactions submitted meanwhile, all committed",
        gateway::api::SUBMIT_BATCH_TXS_MAX
    );
    assert_eq!(
        single_codes.keys().collect::<Vec<_>>(),
        ["bad_signature"],
        "single forged submissions: {single_codes:?}"
    );
    assert_eq!(
        batch_codes.keys().collect::<Vec<_>>(),
        ["bad_signature"],
        "forged batches: {batch_codes:?}"
    );
    assert!(honest_during > 0);
    memory_bounded(
        "forged over HTTP",
        &before,
        &memory(&c),
        SUBMISSIONS_BOUND_BYTES,
    );

    // 2. One client sending valid transactions faster than blocks take
    // them, past a mempool of 32.
    let before = memory(&c);
    let h0 = heights(&c);
    let flood_for = Duration::from_secs(5 * n as u64);
    let flooding = std::sync::atomic::AtomicBool::new(true);
    let (codes, mempool_max, honest_hash) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut max = 0f64;
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                for i in VALIDATORS {
                    max = max.max(c.metric(i, "minhbach_mempool_txs"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            max
        });
        let mut codes = Vec::new();
        let mut amount = 0u64;
        let end = Instant::now() + flood_for;
        let mut honest_hash = None;
        while Instant::now() < end {
            let next = c.client(0).next_nonce(&id("BTC")).expect("next nonce");
            let txs: Vec<SignedTx> = (0..64)
                .map(|k| {
                    amount += 1;
                    c.sign("BTC", next + k, ops::appropriate("BYT", "YTE.TX", amount))
                })
                .collect();
            match post_batch(&api, &txs) {
                Ok(items) => codes.extend(items),
                Err(code) => codes.push(format!("request: {code}")),
            }
            if honest_hash.is_none() {
                honest_hash = Some(honest.submit(&c, 2));
            }
        }
        flooding.store(false, std::sync::atomic::Ordering::Relaxed);
        let max = watcher.join().expect("mempool watcher");
        (
            tally(codes),
            max,
            honest_hash.expect("an honest transaction"),
        )
    });
    honest.committed_everywhere(&c, &honest_hash);
    honest.round(&c);
    commits_go_on(&c, &h0, 3);
    println!(
        "mempool flood: {codes:?} from one client in {} s; largest mempool seen {mempool_max} (bound {MEMPOOL_TXS})",
        flood_for.as_secs()
    );
    assert!(
        codes.get("mempool_full").copied().unwrap_or(0) > 0,
        "no mempool_full answer: {codes:?}"
    );
    assert!(codes.get("admitted").copied().unwrap_or(0) > 0, "{codes:?}");
    assert!(
        mempool_max <= MEMPOOL_TXS as f64,
        "a mempool held {mempool_max} transactions, over {MEMPOOL_TXS}"
    );
    memory_bounded(
        "mempool flood",
        &before,
        &memory(&c),
        SUBMISSIONS_BOUND_BYTES,
    );

    // 3. Slow readers and slowloris connections on node 0's API, each kind
    // from its own loopback addresses; the honest client is 127.0.0.1.
    let before = memory(&c);
    let h0 = heights(&c);
    let open = labelled("minhbach_http_connections", "api");
    let to = c.node(0).api;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t = Instant::now();
    c.client(0).get("/v1/status").expect("status");
    let baseline = t.elapsed();
    let attempts_per_address = PER_CLIENT + 16;
    let opened = Instant::now();
    // Slow readers: many pipelined requests whose answers are never read.
    let mut readers = Vec::new();
    let request = "GET /v1/blocks?limit=100 HTTP/1.1\r\nHost: node\r\n\r\nGET /metrics HTTP/1.1\r\nHost: node\r\n\r\nGET /v1/openapi.json HTTP/1.1\r\nHost: node\r\n\r\n";
    for _ in 0..attempts_per_address * n {
        let mut s = connect_from(&rt, Ipv4Addr::new(127, 0, 0, 2), to).expect("connect");
        // Refused at accept or not, the requests fit in the socket buffers.
        let _ = s.write_all(request.repeat(80).as_bytes());
        readers.push(s);
    }
    // Slowloris: a request head that never ends, a byte at a time.
    let head = b"GET /v1/status HTTP/1.1\r\nHost: node\r\nX-Slow: ";
    let mut lorises = Vec::new();
    for addr in [3, 4] {
        for _ in 0..attempts_per_address * n {
            let Ok(s) = connect_from(&rt, Ipv4Addr::new(127, 0, 0, addr), to) else {
                // Under load a connection may not complete in time; the
                // attack goes on with those that did.
                continue;
            };
            lorises.push(s);
        }
    }
    // Trickle for a while, measuring the honest client meanwhile.
    let mut latencies = Vec::new();
    let mut open_max = 0f64;
    let honest_client = c.client(0);
    let mut honest_hashes = Vec::new();
    for step in 0..24 {
        for s in lorises.iter_mut() {
            let _ = s.write_all(&[head[step % head.len()]]);
        }
        let t = Instant::now();
        honest_client
            .get("/v1/status")
            .expect("an honest request is served");
        latencies.push(t.elapsed());
        open_max = open_max.max(c.metric(0, &open));
        if step % 8 == 0 {
            honest_hashes.push(honest.submit(&c, 0));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    for h in &honest_hashes {
        honest.committed_everywhere(&c, h);
    }
    let refused_total = counter(&c, 0, &labelled("minhbach_http_refused_total", "api"));
    println!(
        "slow clients: {} slow readers and {} slowloris connections attempted ({} per address, cap {PER_CLIENT}); \
         {refused_total} refused at accept; open connections at most {open_max} (cap {CONNECTIONS})",
        attempts_per_address * n,
        lorises.len(),
        attempts_per_address * n
    );
    println!(
        "slow clients: honest GET /v1/status {} ms before; during: median {} ms, max {} ms over {} requests ({:?})",
        baseline.as_millis(),
        median(latencies.clone()).as_millis(),
        latencies.iter().max().unwrap().as_millis(),
        latencies.len(),
        latencies.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    // Three attacking addresses at their cap, plus the honest connections
    // from 127.0.0.1: this loop's client and the fresh one each metrics
    // read opens, which the node counts until it sees them closed.
    assert!(
        open_max <= (3 * PER_CLIENT + HONEST_CONNECTIONS_MAX) as f64,
        "{open_max} connections open, over the per-client caps"
    );
    assert!(
        refused_total >= (attempts_per_address * n - PER_CLIENT) as f64,
        "only {refused_total} connections refused at accept"
    );
    // The node's timeouts close both kinds: slowloris heads within the head
    // timeout, slow readers once their answers have stalled. (The readers
    // are not read from here, which would unstall them: the node's count of
    // open connections tells.)
    let deadline = gateway::http::WRITE_STALL_TIMEOUT + gateway::http::HEADER_READ_TIMEOUT + BLOCKS;
    let lorises_closed = wait_for("the slowloris connections to be closed", deadline, || {
        for s in lorises.iter_mut() {
            let _ = s.write_all(b"x");
        }
        lorises.iter_mut().all(closed).then(|| opened.elapsed())
    });
    let all_closed = wait_for("the slow readers to be closed", deadline, || {
        (c.metric(0, &open) <= 2.0).then(|| opened.elapsed())
    });
    let timeouts = counter(&c, 0, &labelled("minhbach_http_timeouts_total", "api"));
    println!(
        "slow clients: slowloris closed by the node {:.1} s after they opened, slow readers by {:.1} s; \
         {timeouts} closed by a timeout",
        lorises_closed.as_secs_f64(),
        all_closed.as_secs_f64()
    );
    assert!(
        timeouts >= (2 * PER_CLIENT) as f64,
        "only {timeouts} connections closed by a timeout"
    );
    drop(readers);
    drop(lorises);

    // The listener's total cap: more connections than it takes, from more
    // addresses; the node holds at most its cap open.
    let mut idle = Vec::new();
    for addr in 10..10 + (CONNECTIONS / PER_CLIENT + 2) as u8 {
        for _ in 0..PER_CLIENT {
            if let Ok(s) = connect_from(&rt, Ipv4Addr::new(127, 0, 0, addr), to) {
                idle.push(s);
            }
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let open_idle = c.metric(0, &open);
    println!(
        "connection cap: {} idle connections opened, {open_idle} held by the node (cap {CONNECTIONS})",
        idle.len()
    );
    assert!(
        open_idle <= CONNECTIONS as f64,
        "{open_idle} connections open, over the cap"
    );
    assert!(idle.len() > CONNECTIONS);
    drop(idle);
    wait_for("the honest client to be served again", BLOCKS, || {
        honest_client.get("/v1/status").ok()
    });
    honest.round(&c);
    commits_go_on(&c, &h0, 3);
    memory_bounded(
        "slow clients",
        &before,
        &memory(&c),
        CONNECTIONS as u64 * (gateway::http::READ_BUFFER_BYTES as u64 + 512 * 1024) + SLACK_BYTES,
    );
    println!(
        "hostile clients: {} honest transactions committed on all 4",
        honest.committed
    );
}
