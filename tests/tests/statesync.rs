//! State sync in a running network of processes (README "State sync"):
//! four validators commit past height 1,000, then a full node with an
//! empty store starts with `--state-sync`. A registered peer lies to it,
//! offering a snapshot far above the chain with an anchor that does not
//! check; the node refuses it by name and takes the newest snapshot the
//! validators serve instead, checks it from its genesis file, syncs on
//! from there, and then serves the same state proofs as the validators,
//! while it answers plainly that it does not hold the heights below its
//! snapshot.
//!
//! Every wait has a deadline; the processes are killed when the test ends,
//! even by a panic.

use std::path::Path;
use std::time::Duration;

use ledger::crypto::read_key_file;
use serde_json::Value;
use tests::cluster::{wait_for, Cluster};
use tests::peer::Peer;
use tools::client::ClientError;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
const VALIDATORS: usize = 4;
/// The full node, started last.
const JOINER: usize = VALIDATORS;
/// The full node whose key the lying peer holds (never started).
const LIAR: usize = VALIDATORS + 1;
/// Snapshots every this many heights.
const INTERVAL: u64 = 250;
/// The height the network passes before the full node starts.
const TARGET: u64 = 1_000;

fn state_proof(c: &Cluster, i: usize, key: &str, height: u64) -> Value {
    c.client(i)
        .get(&format!("/v1/state-proof?key={key}&height={height}"))
        .unwrap_or_else(|e| panic!("node {i}: state proof of {key} at {height}: {e}"))
}

#[test]
fn a_full_node_joins_by_state_sync_past_height_1000_and_serves_the_same_state_proofs() {
    let mut c = Cluster::new(BIN, VALIDATORS, 2);
    for i in 0..=JOINER {
        c.configure(i, |config| {
            config.consensus.block_interval_ms = 0;
            config.snapshots.interval = INTERVAL;
            config.snapshots.keep = 3;
        });
    }
    for i in 0..VALIDATORS {
        c.start(i);
    }
    c.wait_height(0, TARGET + 1, Duration::from_secs(300));

    let key = read_key_file(&c.node(LIAR).home.join("node_key")).unwrap();
    let joiner = c.node(JOINER);
    let target = (
        joiner.peer_id.to_string().parse().unwrap(),
        joiner.dial_address().parse().unwrap(),
    );
    let _liar = Peer::start_snapshot_liar(key.seed(), vec![target]);
    let bin = Path::new(BIN).to_owned();
    c.start_with(JOINER, &bin, &["--state-sync"]);
    let status = wait_for(
        "the full node to start from a snapshot",
        Duration::from_secs(120),
        || {
            c.client(JOINER)
                .get("/v1/status")
                .ok()
                .filter(|s| s["holds_from"].is_u64())
        },
    );
    let base = status["holds_from"].as_u64().unwrap();
    assert!(base >= TARGET, "snapshot {base}: {status}");
    assert_eq!(base % INTERVAL, 0, "snapshot {base}");
    let log = std::fs::read_to_string(c.node(JOINER).home.join("node.log")).unwrap();
    for said in [
        "state sync: refused what the peer sent",
        "trying an older snapshot",
        "state sync: the store starts at the snapshot",
    ] {
        assert!(log.contains(said), "{said:?} missing:\n{log}");
    }

    // It syncs on past where the network was when it joined.
    let network = c.height(0).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while c.height(JOINER).unwrap_or(0) < network + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the full node did not sync past {network}: at {:?}\n{}",
            c.height(JOINER),
            c.log_tail(JOINER)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for h in [base, base + 1, network] {
        assert_eq!(
            c.block_hash(JOINER, h),
            c.block_hash(0, h),
            "block {h} differs"
        );
    }

    // The same state proofs as a validator, at the snapshot and after it:
    // the same entry, path and header. Each node keeps the certificate it
    // collected itself (any 2/3 of the precommits), so those may differ;
    // both verify from the genesis file alone.
    let trust = genesis::Genesis::load(&c.node(0).home.join("genesis.json"))
        .unwrap()
        .trust_anchor();
    let keys = [
        "entity:BTC",
        "entity:BYT",
        "entity:BYT-BVBM",
        "entity:NOBODY",
    ];
    for h in [base, base + 1, network] {
        for key in keys {
            let ours = state_proof(&c, JOINER, key, h);
            let theirs = state_proof(&c, 0, key, h);
            for field in ["entry", "validator_set_changes", "genesis_hash"] {
                assert_eq!(ours[field], theirs[field], "{key} at {h}: {field}");
            }
            assert_eq!(
                ours["block"]["header"], theirs["block"]["header"],
                "{key} at {h}"
            );
            let bundle = ledger::proof::StateBundle::decode(ours.to_string().as_bytes()).unwrap();
            assert_eq!(bundle.verify(&trust).unwrap().height.0, h);
        }
    }

    // Below the snapshot: not held, said so.
    for (path, what) in [
        (format!("/v1/blocks/{}", base - 1), "a block"),
        (
            format!("/v1/state-proof?key=entity:BTC&height={}", base - 1),
            "a state proof",
        ),
    ] {
        match c.client(JOINER).get(&path) {
            Err(ClientError::Rejected {
                status: 404,
                code,
                message,
            }) => {
                assert_eq!(code, "not_held", "{what}");
                assert!(message.contains("not held here"), "{what}: {message}");
            }
            other => panic!("{what} below the snapshot: {other:?}"),
        }
        // A validator holds it.
        c.client(0).get(&path).unwrap();
    }
    // The explorer says the same, on its home page and for a block below.
    let explorer = c
        .node(JOINER)
        .explorer_url()
        .expect("full nodes serve the explorer");
    let page = |path: &str| {
        let url = format!("{}{path}?lang=en", explorer.trim_end_matches('/'));
        let r = reqwest::blocking::get(url).unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, home) = page("/");
    assert_eq!(status, 200, "{home}");
    assert!(
        home.contains("This node started from a snapshot of block"),
        "{home}"
    );
    let (status, below) = page(&format!("/blocks/{}", base - 1));
    assert_eq!(status, 404, "{below}");
    assert!(below.contains("not held here"), "{below}");

    let blocks = c.client(JOINER).get("/v1/blocks?limit=100").unwrap();
    let lowest = blocks["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["header"]["height"].as_u64())
        .min()
        .unwrap();
    assert!(lowest >= base, "{lowest}");
}
