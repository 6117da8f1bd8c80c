//! Network partitions of four real `minhbach node start` validators on
//! 127.0.0.1: every connection between two nodes runs through a proxy of
//! [`FaultNet`], which the tests cut and heal.
//!
//! - A 2/2 split: neither side has a quorum, so nothing commits; after the
//!   heal, commits resume on every node.
//! - A 3/1 split, by closed or by frozen connections: the majority goes on
//!   committing, transactions included; the isolated node stands still,
//!   then catches up after the heal.
//! - A flapping network: for a minute (`PARTITION_FLAP_SECONDS`), links are
//!   cut, delayed and healed every few seconds while transactions keep
//!   coming; then every acknowledged transaction is committed exactly once.
//!
//! In every case all nodes hold the same block at every height. The tests
//! print what they measure (times to resume after a heal), never assert on
//! it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ledger::{Hash, Op, SignedTx};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tests::cluster::{wait_for, Cluster};
use tests::faultnet::{Cut, FaultNet};
use tests::ops::{allocate, appropriate, id};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(90);
/// How long a side without a quorum is watched: several rounds of timeouts
/// (a round of the tests' timings lasts 2.5 s and more).
const STALL: Duration = Duration::from_secs(15);
const VALIDATORS: usize = 4;

/// Four validators wired through a fault proxy, started, each past height 2.
fn network() -> (Cluster, FaultNet) {
    let mut c = Cluster::new(BIN, VALIDATORS, 0);
    let net = FaultNet::wire(&c);
    c.start_all();
    for i in 0..VALIDATORS {
        c.wait_height(i, 2, BLOCKS);
    }
    // Every pair is connected, through its proxies.
    wait_peers(&c, &[3, 3, 3, 3]);
    for a in 0..VALIDATORS {
        for b in a + 1..VALIDATORS {
            assert!(
                net.accepted(a, b) + net.accepted(b, a) > 0,
                "nodes {a} and {b} connected around the proxy"
            );
        }
    }
    (c, net)
}

fn heights(c: &Cluster) -> Vec<u64> {
    (0..VALIDATORS)
        .map(|i| c.height(i).unwrap_or_else(|| panic!("node {i} answers")))
        .collect()
}

/// Waits until every node's `minhbach_peers` is what `expected` says for
/// it: the nodes see exactly the connections the proxy lets through.
fn wait_peers(c: &Cluster, expected: &[usize]) {
    wait_for(
        &format!("peer counts {expected:?}"),
        Duration::from_secs(60),
        || {
            let got: Vec<usize> = (0..VALIDATORS)
                .map(|i| c.metric(i, "minhbach_peers") as usize)
                .collect();
            (got == expected).then_some(())
        },
    );
}

/// Every node has the same block hash at every height up to the lowest
/// node's height; returns that height.
fn assert_no_fork(c: &Cluster) -> u64 {
    let top = *heights(c).iter().min().unwrap();
    for h in 1..=top {
        let first = c.block_hash(0, h).expect("block on node 0");
        for i in 1..VALIDATORS {
            assert_eq!(
                c.block_hash(i, h).as_deref(),
                Some(first.as_str()),
                "fork: node {i} differs from node 0 at height {h}"
            );
        }
    }
    top
}

/// Waits until every node has committed above `above`; how long after
/// `since` each did.
fn wait_all_above(c: &Cluster, above: u64, since: Instant) -> Vec<Duration> {
    let mut took = vec![None; VALIDATORS];
    wait_for(
        &format!("every node to commit above height {above}"),
        BLOCKS,
        || {
            for (i, t) in took.iter_mut().enumerate() {
                if t.is_none() && c.height(i).is_some_and(|h| h > above) {
                    *t = Some(since.elapsed());
                }
            }
            took.iter().all(Option::is_some).then_some(())
        },
    );
    took.into_iter().map(Option::unwrap).collect()
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[test]
fn a_two_two_split_commits_nothing_and_resumes_after_the_heal() {
    let (c, net) = network();
    net.partition(&[&[0, 1], &[2, 3]], Cut::Refuse);
    // Each node sees only its side: nothing reaches past the proxy.
    wait_peers(&c, &[1, 1, 1, 1]);
    // A block whose votes were already on their way may still land.
    std::thread::sleep(Duration::from_secs(1));
    let at_cut = heights(&c);
    let top = *at_cut.iter().max().unwrap();
    let rounds_before: Vec<f64> = (0..VALIDATORS)
        .map(|i| c.metric(i, "minhbach_round"))
        .collect();
    let watch = Instant::now();
    while watch.elapsed() < STALL {
        let now = heights(&c);
        // A node may take its partner's last block by sync, never a new one.
        assert!(
            now.iter().all(|&h| h <= top),
            "a side without a quorum committed: heights {now:?}, {top} at the cut"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let rounds_after: Vec<f64> = (0..VALIDATORS)
        .map(|i| c.metric(i, "minhbach_round"))
        .collect();
    println!(
        "partition: 2/2 split held {} s at heights {at_cut:?}; rounds {rounds_before:?} → {rounds_after:?}",
        STALL.as_secs()
    );

    let healed = Instant::now();
    net.heal_all();
    let took = wait_all_above(&c, top, healed);
    let slowest = *took.iter().max().unwrap();
    println!(
        "partition: 2/2 heal → first new commit on every node in {} ms (per node {:?} ms)",
        ms(slowest),
        took.iter().map(|d| ms(*d)).collect::<Vec<_>>()
    );
    wait_peers(&c, &[3, 3, 3, 3]);
    for i in 0..VALIDATORS {
        c.wait_height(i, top + 3, BLOCKS);
    }
    assert_no_fork(&c);
}

#[test]
fn a_three_one_split_goes_on_without_the_isolated_node_which_catches_up() {
    // Black-holed: the isolated node's connections close and its dials
    // hang instead of failing.
    three_one(Cut::BlackHole);
}

#[test]
fn a_three_one_split_by_frozen_connections_goes_on_and_catches_up() {
    // Frozen: no node learns that a connection carries nothing any more.
    three_one(Cut::Freeze);
}

fn three_one(how: Cut) {
    let (c, net) = network();
    let lone = 3;
    net.isolate(lone, how);
    if how != Cut::Freeze {
        wait_peers(&c, &[2, 2, 2, 0]);
    }
    std::thread::sleep(Duration::from_secs(1));
    let lone_height = c.height(lone).unwrap();
    let cut_at = Instant::now();

    // The majority commits a transaction; the isolated node never sees it.
    let tx = c.sign_next(0, "BTC", appropriate("BYT", "YTE.DTPT", 7_000_000_000));
    let hash = c.submit(0, &tx).expect("accepted");
    let mut majority = Vec::new();
    for i in 0..3 {
        majority.push(
            c.wait_committed(i, &hash, BLOCKS)["height"]
                .as_u64()
                .unwrap(),
        );
    }
    assert!(majority.windows(2).all(|w| w[0] == w[1]), "{majority:?}");
    assert!(majority[0] > lone_height);
    c.wait_height(0, lone_height + 5, BLOCKS);
    // Isolated for at least 10 s in all.
    if let Some(rest) = Duration::from_secs(10).checked_sub(cut_at.elapsed()) {
        std::thread::sleep(rest);
    }
    assert_eq!(
        c.height(lone),
        Some(lone_height),
        "the isolated node advanced on its own"
    );
    let on_lone = c.client(lone).get(&format!("/v1/txs/{hash}"));
    assert!(
        on_lone.map_or(true, |v| v["status"] != "committed"),
        "the isolated node committed the majority's transaction"
    );

    let healed = Instant::now();
    let target = *heights(&c).iter().max().unwrap();
    net.heal_all();
    c.wait_height(lone, target, BLOCKS);
    let caught_up = healed.elapsed();
    // Resumed: the isolated node also commits a block that did not exist
    // anywhere at the heal.
    let resumed = wait_all_above(&c, target, healed);
    println!(
        "partition: 3/1 {how:?} ({} blocks behind) heal → caught up in {} ms, resumed in {} ms",
        target - lone_height,
        ms(caught_up),
        ms(resumed[lone])
    );
    let rec = c.wait_committed(lone, &hash, BLOCKS);
    assert_eq!(rec["height"].as_u64(), Some(majority[0]));
    wait_peers(&c, &[3, 3, 3, 3]);
    let top = assert_no_fork(&c);
    assert!(top >= target);
}

/// A signer that only ever submits to one node, so its nonces follow each
/// other in that node's mempool.
struct Signer {
    name: &'static str,
    node: usize,
    nonce: u64,
    op: fn(u64) -> Op,
    /// Signed, not yet acknowledged.
    pending: Option<SignedTx>,
}

#[test]
fn a_flapping_network_forks_nothing_and_commits_every_transaction_once() {
    let seconds: u64 = std::env::var("PARTITION_FLAP_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("PARTITION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("partition: flapping for {seconds} s with PARTITION_SEED={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut c, net) = network();

    // Three ministries get budgets to pass on, so four signers take turns.
    let mut setup = Vec::new();
    for (ministry, line) in [
        ("BYT", "YTE.DTPT"),
        ("BGDDT", "GD.DTPT"),
        ("BGTVT", "GT.DTPT"),
    ] {
        let tx = c.sign_next(0, "BTC", appropriate(ministry, line, 1_000_000_000_000));
        setup.push(c.submit(0, &tx).expect("accepted"));
    }
    for hash in &setup {
        for i in 0..VALIDATORS {
            c.wait_committed(i, hash, BLOCKS);
        }
    }
    let mut signers = [
        Signer {
            name: "BTC",
            node: 0,
            nonce: 0,
            op: |n| appropriate("BYT", "YTE.TX", 1 + n),
            pending: None,
        },
        Signer {
            name: "BYT",
            node: 1,
            nonce: 0,
            op: |n| allocate("BYT-BVBM", "YTE.DTPT", 1 + n),
            pending: None,
        },
        Signer {
            name: "BGDDT",
            node: 2,
            nonce: 0,
            op: |n| allocate("BGDDT-DHBK", "GD.DTPT", 1 + n),
            pending: None,
        },
        Signer {
            name: "BGTVT",
            node: 3,
            nonce: 0,
            op: |n| allocate("BGTVT-CDB", "GT.DTPT", 1 + n),
            pending: None,
        },
    ];
    for s in &mut signers {
        s.nonce = c
            .client(s.node)
            .next_nonce(&id(s.name))
            .expect("next nonce");
    }

    let mut acked: Vec<String> = Vec::new();
    let mut sent: Vec<Hash> = Vec::new();
    let mut faults = Vec::new();
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut next_fault = start;
    let mut turn = 0usize;
    while Instant::now() < end {
        if Instant::now() >= next_fault {
            let how = [Cut::Refuse, Cut::BlackHole, Cut::Freeze][rng.gen_range(0..3)];
            let fault = match rng.gen_range(0..5) {
                0 => {
                    let i = rng.gen_range(0..VALIDATORS);
                    net.heal_all();
                    net.isolate(i, how);
                    format!("isolate {i}")
                }
                1 => {
                    let partner = rng.gen_range(1..VALIDATORS);
                    let side: Vec<usize> = [0, partner].into();
                    let other: Vec<usize> = (1..VALIDATORS).filter(|&j| j != partner).collect();
                    net.partition(&[&side, &other], how);
                    format!("split {side:?}/{other:?}")
                }
                2 => {
                    let a = rng.gen_range(0..VALIDATORS);
                    let b = (a + rng.gen_range(1..VALIDATORS)) % VALIDATORS;
                    net.cut(a, b, how);
                    format!("cut {a}-{b}")
                }
                3 => {
                    let a = rng.gen_range(0..VALIDATORS);
                    let b = (a + rng.gen_range(1..VALIDATORS)) % VALIDATORS;
                    let delay = rng.gen_range(50..400);
                    net.set_delay(a, b, Duration::from_millis(delay));
                    format!("delay {a}-{b} {delay} ms")
                }
                _ => {
                    net.heal_all();
                    "heal".to_owned()
                }
            };
            let at = start.elapsed().as_secs_f64();
            if fault.starts_with("heal") || fault.starts_with("delay") {
                faults.push(format!("{at:.1}s {fault}"));
            } else {
                faults.push(format!("{at:.1}s {fault} ({how:?})"));
            }
            next_fault = Instant::now() + Duration::from_millis(rng.gen_range(2_000..5_000));
        }
        let s = &mut signers[turn % signers.len()];
        turn += 1;
        let tx = s
            .pending
            .take()
            .unwrap_or_else(|| c.sign(s.name, s.nonce, (s.op)(s.nonce)));
        match c.submit(s.node, &tx) {
            Ok(hash) => {
                assert_eq!(hash, tx.hash().to_hex(), "the node names another hash");
                acked.push(hash);
                sent.push(tx.hash());
                s.nonce += 1;
            }
            // Admitted by an earlier try whose answer was lost.
            Err(e) if e.code() == Some("duplicate") => {
                acked.push(tx.hash().to_hex());
                sent.push(tx.hash());
                s.nonce += 1;
            }
            Err(_) => s.pending = Some(tx),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("partition: faults: {}", faults.join(", "));

    let top = *heights(&c).iter().max().unwrap();
    let healed = Instant::now();
    net.heal_all();
    for a in 0..VALIDATORS {
        for b in a + 1..VALIDATORS {
            net.set_delay(a, b, Duration::ZERO);
        }
    }
    let took = wait_all_above(&c, top, healed);
    println!(
        "partition: flapping, final heal → first new commit on every node in {} ms; {} faults, {} transactions acknowledged",
        ms(*took.iter().max().unwrap()),
        faults.len(),
        acked.len()
    );

    // Every acknowledged transaction commits, at one height on every node.
    for hash in &acked {
        let h = c.wait_committed(0, hash, BLOCKS)["height"].clone();
        for i in 1..VALIDATORS {
            assert_eq!(c.wait_committed(i, hash, BLOCKS)["height"], h, "{hash}");
        }
    }
    let top = assert_no_fork(&c);
    // Exactly once: no transaction appears in two blocks.
    let mut seen: HashMap<String, u64> = HashMap::new();
    for h in 1..=top {
        let block = c.client(0).get(&format!("/v1/blocks/{h}")).expect("block");
        for tx in block["txs"].as_array().expect("txs") {
            let tx = tx.as_str().expect("a hash").to_owned();
            if let Some(first) = seen.insert(tx.clone(), h) {
                panic!("{tx} committed at heights {first} and {h}");
            }
        }
    }
    for hash in &acked {
        assert!(seen.contains_key(hash), "{hash} is not in any block");
    }
    // And as an auditor reads the stores: each sent transaction, by the
    // hash the client computed, exactly once on every validator; every
    // chain verifies.
    let validators: Vec<usize> = (0..VALIDATORS).collect();
    c.audit_stores(&validators, &sent);
}
