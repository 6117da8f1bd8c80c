//! Hostile HTTP clients against a validator's API: forged signatures, a
//! flood past a small mempool, slow readers and slowloris connections, and
//! more connections than the listener takes.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ledger::testkit::id;
use ledger::SignedTx;
use serde_json::Value;
use tests::cluster::wait_for;
use tests::ops;

use super::{
    commits_go_on, counter, heights, labelled, memory, memory_bounded, network, scale, Honest,
    BLOCKS, SLACK_BYTES, VALIDATORS,
};

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
        tx.signatures[0].signature.0[3] ^= 0x08;
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
    // Each batch is checked as far as the pool's room (32 here) goes; the
    // rest is refused unchecked. Nothing forged is admitted.
    assert!(
        batch_codes
            .keys()
            .all(|code| code == "bad_signature" || code == "mempool_full"),
        "forged batches: {batch_codes:?}"
    );
    assert!(
        batch_codes.get("bad_signature").is_some_and(|&n| n > 0),
        "forged batches: {batch_codes:?}"
    );
    assert_eq!(
        batch_codes.values().sum::<usize>(),
        batches * gateway::api::SUBMIT_BATCH_TXS_MAX,
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
