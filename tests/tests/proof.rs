//! Audit bundles end to end on a real network of four validator processes:
//! a committed transaction's bundle is fetched with `minhbach proof tx`
//! through the API and checked offline with `minhbach verify proof` against
//! the genesis file, before and after a validator-set change.

use std::path::Path;
use std::time::Duration;

use ledger::Op;
use tests::cluster::Cluster;
use tests::ops::appropriate;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);

/// Runs the binary; exit code, stdout and stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Fetches the bundle of `hash` from node `i` into `dir`, verifies it
/// offline, and returns the verifier's JSON summary.
fn fetch_and_verify(c: &Cluster, i: usize, hash: &str, dir: &Path) -> serde_json::Value {
    let file = dir.join(format!("proof-{hash}.json"));
    let node = c.node(i).api_url();
    let (code, out, err) = run(&[
        "--node",
        &node,
        "proof",
        "tx",
        hash,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let genesis = c.node(i).home.join("genesis.json");
    let (code, out, err) = run(&[
        "--output",
        "json",
        "verify",
        "proof",
        file.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_bundle_fetched_from_a_node_verifies_offline_across_a_set_change() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let dir = tempfile::tempdir().unwrap();

    let tx = c.sign_next(0, "BTC", appropriate("BYT", "YTE.TX", 1_250_000));
    let hash = c.submit(0, &tx).unwrap();
    let committed = c.wait_committed(0, &hash, BLOCKS);
    let v = fetch_and_verify(&c, 1, &hash, dir.path());
    assert_eq!(v["hash"], hash);
    assert_eq!(v["height"], committed["height"]);
    assert_eq!(v["block_hash"], committed["block_hash"]);
    assert_eq!(v["op"]["amount"], "1250000");
    assert_eq!(v["validator_set_changes"], 0);

    // The route answers a download, and 404 for what is not committed.
    let url = format!("{}/v1/txs/{hash}/proof", c.node(2).api_url());
    let response = reqwest::blocking::get(&url).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"proof-{hash}.json\"").as_str()
    );
    let unknown = format!("{}/v1/txs/{}/proof", c.node(2).api_url(), "ab".repeat(32));
    let response = reqwest::blocking::get(&unknown).unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    // Removing a validator in block R changes set(R+2): one change, at R+1.
    let removed = c.validator_key(3).public_key();
    let remove = c.sign_next(
        0,
        "BTC",
        Op::RemoveValidator {
            consensus_key: removed,
        },
    );
    let remove_hash = c.submit(0, &remove).unwrap();
    let removed_at = c.wait_committed(0, &remove_hash, BLOCKS)["height"]
        .as_u64()
        .unwrap();
    c.wait_height(0, removed_at + 2, BLOCKS);
    let tx = c.sign_next(0, "BTC", appropriate("BYT", "YTE.TX", 750_000));
    let hash = c.submit(0, &tx).unwrap();
    let committed = c.wait_committed(0, &hash, BLOCKS);
    assert!(committed["height"].as_u64().unwrap() >= removed_at + 2);
    let v = fetch_and_verify(&c, 0, &hash, dir.path());
    assert_eq!(v["height"], committed["height"]);
    assert_eq!(v["validator_set_changes"], 1);
    assert_eq!(v["total_power"], 3 * node::testnet::VALIDATOR_POWER);
}
