//! Real networks of `minhbach node start` processes on 127.0.0.1: agreement,
//! refusals over HTTP, crash and recovery, losing a quorum, peers by DNS
//! name, permissioning, full nodes and membership changes; the metrics
//! that `deploy/`'s alert rules and dashboard read.
//!
//! Each test generates its own network in a temporary folder with free
//! ports, waits only with deadlines, and its processes are killed when the
//! test ends, even by a panic.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ledger::Op;
use tests::cluster::{wait_for, Cluster};
use tests::ops::{allocate, appropriate, id};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);

/// Every pair of nodes has the same block hash at every height both have.
fn assert_same_chain(c: &Cluster, nodes: &[usize]) {
    let top = nodes
        .iter()
        .map(|&i| c.height(i).expect("node answers"))
        .min()
        .unwrap();
    assert!(top >= 1);
    for h in 1..=top {
        let first = c.block_hash(nodes[0], h).expect("block");
        for &i in &nodes[1..] {
            assert_eq!(
                c.block_hash(i, h).as_deref(),
                Some(first.as_str()),
                "node {i} differs from node {} at height {h}",
                nodes[0]
            );
        }
    }
}

#[test]
fn four_validators_agree_and_a_transaction_sent_to_one_commits_on_all() {
    let mut c = Cluster::new(BIN, 4, 1);
    c.start_all();
    for i in 0..5 {
        c.wait_height(i, 2, BLOCKS);
    }
    let tx = c.sign_next(0, "BTC", appropriate("BYT", "YTE.DTPT", 5_000_000_000));
    let hash = c.submit(0, &tx).expect("accepted");
    assert_eq!(hash, tx.hash().to_hex());
    let mut heights = Vec::new();
    for i in 0..5 {
        let rec = c.wait_committed(i, &hash, BLOCKS);
        assert_eq!(rec["signer"], "BTC");
        assert_eq!(rec["op"]["type"], "appropriate");
        assert_eq!(rec["op"]["amount"], "5000000000");
        heights.push(rec["height"].as_u64().unwrap());
    }
    assert!(
        heights.windows(2).all(|w| w[0] == w[1]),
        "one height: {heights:?}"
    );
    // The ministry's budget shows it on every node, and the nonce moved on.
    for i in 0..5 {
        let e = c.client(i).get("/v1/entities/BYT").unwrap();
        let line = e["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["line"] == "YTE.DTPT")
            .expect("the appropriated line")
            .clone();
        assert_eq!(line["received"], "5000000000");
        let t = c.client(i).get("/v1/entities/BTC").unwrap();
        assert_eq!(t["next_nonce"], tx.body.nonce + 1);
    }
    c.wait_height(4, heights[0] + 2, BLOCKS);
    assert_same_chain(&c, &[0, 1, 2, 3, 4]);
}

#[test]
fn a_validator_without_a_proposals_transactions_fetches_them_and_votes() {
    let mut c = Cluster::new(BIN, 4, 0);
    // Validator 1 pools nothing, so every transaction in a proposal is one
    // it must fetch before it can judge the block.
    c.configure(1, |config| config.limits.mempool_txs = 0);
    c.start_all();
    for i in 0..4 {
        c.wait_height(i, 1, BLOCKS);
    }
    let refused = c.sign_next(1, "BTC", appropriate("BYT", "YTE.DTPT", 1));
    let e = c.submit(1, &refused).unwrap_err();
    assert_eq!(e.code(), Some("mempool_full"), "{e}");
    // Without validator 2, no block commits unless validator 1 votes for it.
    assert!(c.stop(2));
    let mut hashes = Vec::new();
    for n in 0..5u64 {
        let tx = c.sign(
            "BTC",
            refused.body.nonce + n,
            appropriate("BYT", "YTE.DTPT", 1_000 + n),
        );
        hashes.push(c.submit(0, &tx).expect("accepted"));
    }
    for hash in &hashes {
        let on_0 = c.wait_committed(0, hash, BLOCKS);
        let on_1 = c.wait_committed(1, hash, BLOCKS);
        assert_eq!(on_0["height"], on_1["height"]);
    }
    assert!(c.metric(1, "minhbach_proposal_txs_fetched_total") >= 1.0);
    assert_same_chain(&c, &[0, 1, 3]);
}

#[test]
fn bad_transactions_get_their_code_over_http_and_never_commit() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let good = c.sign_next(0, "BTC", appropriate("BYT", "YTE.TX", 1_000_000));
    let good_hash = c.submit(0, &good).unwrap();
    c.wait_committed(0, &good_hash, BLOCKS);

    let code = |r: Result<String, tools::client::ClientError>| {
        r.expect_err("must be refused").code().unwrap().to_owned()
    };
    // Replayed: the same signed bytes again.
    assert_eq!(code(c.submit(1, &good)), "bad_nonce");
    // Another chain's transaction.
    let mut body = good.body.clone();
    body.chain_id = "another-chain".into();
    body.nonce += 1;
    let wrong_chain = body.sign(&c.key("BTC"));
    assert_eq!(code(c.submit(0, &wrong_chain)), "wrong_chain");
    // A signature that does not verify.
    let mut forged = c.sign_next(0, "BTC", appropriate("BYT", "YTE.TX", 7));
    forged.signatures[0].signature.0[5] ^= 1;
    assert_eq!(code(c.submit(2, &forged)), "bad_signature");
    // The ministry passes on more than it received.
    let over = c.sign_next(0, "BYT", allocate("BYT-BVBM", "YTE.TX", 1_000_001));
    let err = c.submit(3, &over).expect_err("over budget");
    assert_eq!(err.code(), Some("over_budget"));
    assert!(err.to_string().contains("1,000,001"), "{err}");
    assert!(
        !err.to_string().starts_with("over_budget: over_budget"),
        "the code is said once: {err}"
    );

    // None of them is ever committed, on any node.
    let h = c.height(0).unwrap();
    c.wait_height(0, h + 3, BLOCKS);
    for tx in [&wrong_chain, &forged, &over] {
        for i in 0..4 {
            let r = c.client(i).get(&format!("/v1/txs/{}", tx.hash()));
            if let Ok(v) = r {
                assert_ne!(v["status"], "committed", "node {i} committed {v}");
            }
        }
    }
    assert_same_chain(&c, &[0, 1, 2, 3]);
}

#[test]
fn a_killed_validator_is_not_missed_and_catches_up_on_restart() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 2, BLOCKS);
    c.kill(3);
    // Transactions keep flowing and committing on the other three.
    let mut last = String::new();
    for k in 0..5u64 {
        let tx = c.sign("BTC", 1 + k, appropriate("BYT", "YTE.TX", 1_000 + k));
        last = c.submit(k as usize % 3, &tx).unwrap();
    }
    let rec = c.wait_committed(0, &last, BLOCKS);
    let h = rec["height"].as_u64().unwrap();
    c.wait_height(1, h + 2, BLOCKS);
    assert!(!c.is_running(3));
    // Restarted, it catches up to the same chain.
    c.start(3);
    let target = c.height(0).unwrap() + 1;
    c.wait_height(3, target, BLOCKS);
    assert_same_chain(&c, &[0, 1, 2, 3]);
    c.wait_committed(3, &last, BLOCKS);
    // Its store verifies offline.
    assert!(c.stop(3), "validator 3 stops cleanly on SIGTERM");
    let out = std::process::Command::new(BIN)
        .args(["verify", "chain", "--home"])
        .arg(&c.node(3).home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify chain: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_a_quorum_nothing_commits_and_commits_resume_when_it_returns() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 2, BLOCKS);
    c.stop(2);
    c.stop(3);
    // Let anything in flight land, then watch the height stand still.
    std::thread::sleep(Duration::from_secs(2));
    let stuck = c.height(0).unwrap();
    let tx = c.sign_next(0, "BTC", appropriate("BYT", "YTE.TX", 42));
    let hash = c.submit(0, &tx).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        c.height(0),
        Some(stuck),
        "no block without 2/3 of the power"
    );
    assert_eq!(c.height(1), Some(stuck));
    let rec = c.client(0).get(&format!("/v1/txs/{hash}")).unwrap();
    assert_eq!(rec["status"], "pending");
    c.start(2);
    c.start(3);
    c.wait_committed(0, &hash, BLOCKS);
    c.wait_height(3, stuck + 2, BLOCKS);
    assert_same_chain(&c, &[0, 1, 2, 3]);
}

#[test]
fn a_full_node_follows_the_chain_and_serves_the_api() {
    let mut c = Cluster::new(BIN, 4, 1);
    c.start_all();
    let tx = c.sign("BTC", 1, appropriate("BGTVT", "GT.DTPT", 9_000_000));
    // The full node takes the transaction and gossips it to the validators.
    let hash = wait_for("the full node's API", BLOCKS, || c.submit(4, &tx).ok());
    let rec = c.wait_committed(4, &hash, BLOCKS);
    assert_eq!(rec["signer"], "BTC");
    let status = c.client(4).get("/v1/status").unwrap();
    assert_eq!(status["chain_id"], "minhbach-test");
    assert_eq!(status["validators"].as_array().unwrap().len(), 4);
    assert_eq!(status["catching_up"], false);
    // The explorer listener is read-only.
    let explorer = c
        .node(4)
        .explorer
        .expect("the full node serves the explorer");
    let client = reqwest::blocking::Client::new();
    let post = client
        .post(format!("http://{explorer}/v1/txs"))
        .body(tx.encode())
        .send()
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    let get = client
        .get(format!("http://{explorer}/v1/status"))
        .send()
        .unwrap();
    assert_eq!(get.status().as_u16(), 200);
    let h = rec["height"].as_u64().unwrap();
    c.wait_height(0, h, BLOCKS);
    assert_same_chain(&c, &[0, 4]);
}

fn peers(c: &Cluster, i: usize) -> u64 {
    c.client(i).get("/v1/status").unwrap()["peers"]
        .as_u64()
        .unwrap()
}

/// A generated peer, `/ip4/127.0.0.1/tcp/PORT/p2p/ID`, by name:
/// `/dns4/localhost/tcp/PORT/p2p/ID`.
fn by_name(peer: &str) -> String {
    let rest = peer
        .strip_prefix("/ip4/127.0.0.1/")
        .unwrap_or_else(|| panic!("{peer} is not on loopback"));
    format!("/dns4/localhost/{rest}")
}

#[test]
fn peers_given_by_dns_name_connect_commit_and_are_redialled_by_name() {
    let mut c = Cluster::new(BIN, 4, 1);
    for i in 0..5 {
        c.configure(i, |config| {
            assert_eq!(config.p2p.peers.len(), 4, "node {i} dials the 4 others");
            config.p2p.peers = config.p2p.peers.iter().map(|p| by_name(p)).collect();
        });
    }
    c.start_all();
    let tx = c.sign("BTC", 1, appropriate("BYT", "YTE.TX", 77_000));
    let hash = wait_for("validator 0's API", BLOCKS, || c.submit(0, &tx).ok());
    let mut heights = Vec::new();
    for i in 0..5 {
        let rec = c.wait_committed(i, &hash, BLOCKS);
        heights.push(rec["height"].as_u64().unwrap());
    }
    assert!(
        heights.windows(2).all(|w| w[0] == w[1]),
        "one height: {heights:?}"
    );
    for i in 0..5 {
        wait_for(&format!("node {i} to have its 4 peers"), BLOCKS, || {
            (peers(&c, i) == 4).then_some(())
        });
    }
    // Killed, then back with no peers of its own: every connection to it
    // now comes from the others redialling its name.
    c.kill(3);
    wait_for("validator 3 to be missed", BLOCKS, || {
        (peers(&c, 0) == 3).then_some(())
    });
    c.configure(3, |config| config.p2p.peers.clear());
    c.start(3);
    for i in [0, 1, 2, 4] {
        wait_for(&format!("node {i} to redial validator 3"), BLOCKS, || {
            (peers(&c, i) == 4).then_some(())
        });
    }
    let tx = c.sign("BTC", 2, appropriate("BYT", "YTE.TX", 78_000));
    let hash = c.submit(0, &tx).expect("accepted");
    for i in 0..5 {
        c.wait_committed(i, &hash, BLOCKS);
    }
    assert_same_chain(&c, &[0, 1, 2, 3, 4]);
}

#[test]
fn an_unknown_node_is_refused_until_registered_and_cut_off_when_removed() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let rogue = c.add_home("outsider", false);
    c.start(rogue);
    wait_for("the outsider's API", BLOCKS, || c.height(rogue));
    // It can take a transaction into its own mempool, but no validator
    // ever hears of it.
    let tx = c.sign_next(0, "BTC", appropriate("BYT", "YTE.TX", 5));
    let hash = c.submit(rogue, &tx).expect("its own node admits it");
    let h = c.height(0).unwrap();
    c.wait_height(0, h + 4, BLOCKS);
    assert_eq!(peers(&c, rogue), 0, "nobody lets the outsider connect");
    assert_eq!(c.height(rogue), Some(0), "it learns no block");
    for i in 0..4 {
        assert_eq!(
            peers(&c, i),
            3,
            "validator {i} is connected to the other validators only"
        );
        let r = c.client(i).get(&format!("/v1/txs/{hash}"));
        assert!(
            r.as_ref().is_err_and(|e| e.code() == Some("not_found")),
            "validator {i} heard of the outsider's transaction: {r:?}"
        );
    }
    // Registered by the treasury, it may connect and follows the chain.
    let peer_id = c.node(rogue).peer_id.clone();
    let register = c.sign_next(
        0,
        "BTC",
        Op::RegisterNode {
            peer_id: peer_id.clone(),
            operator: id("BTC"),
        },
    );
    let reg_hash = c.submit(0, &register).unwrap();
    let at = c.wait_committed(0, &reg_hash, BLOCKS)["height"]
        .as_u64()
        .unwrap();
    c.wait_height(rogue, at, BLOCKS);
    assert_same_chain(&c, &[0, rogue]);
    // Removed, it is disconnected and refused again.
    let remove = c.sign_next(0, "BTC", Op::RemoveNode { peer_id });
    let rm_hash = c.submit(0, &remove).unwrap();
    let removed_at = c.wait_committed(0, &rm_hash, BLOCKS)["height"]
        .as_u64()
        .unwrap();
    wait_for("the removed node to lose its peers", BLOCKS, || {
        (peers(&c, rogue) == 0).then_some(())
    });
    c.wait_height(0, removed_at + 5, BLOCKS);
    assert_eq!(peers(&c, rogue), 0);
    assert!(c.height(rogue).unwrap() <= removed_at + 1);
    for i in 0..4 {
        assert_eq!(peers(&c, i), 3);
    }
}

#[test]
fn an_added_validator_votes_and_proposes_and_stops_counting_once_removed() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let new = c.add_home("validator-4", true);
    let key = c.validator_key(new).public_key();
    c.start(new);
    let add = c.sign_next(
        0,
        "BTC",
        Op::AddValidator {
            name: "validator-4".into(),
            consensus_key: key,
            peer_id: c.node(new).peer_id.clone(),
            power: 10,
        },
    );
    let hash = c.submit(0, &add).unwrap();
    let added_at = c.wait_committed(0, &hash, BLOCKS)["height"]
        .as_u64()
        .unwrap();
    // From H+2 the set has five members, and the new one's precommits are in
    // certificates and it proposes in turn.
    let set = c
        .client(0)
        .get(&format!("/v1/validators?height={}", added_at + 2))
        .unwrap();
    assert_eq!(set["validators"].as_array().unwrap().len(), 5);
    let set = c
        .client(0)
        .get(&format!("/v1/validators?height={}", added_at + 1))
        .unwrap();
    assert_eq!(set["validators"].as_array().unwrap().len(), 4);
    let key_hex = key.to_hex();
    let signs = |b: &serde_json::Value| {
        b["commit"]["precommits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["validator"] == key_hex.as_str())
    };
    let (mut voted, mut proposed) = (false, false);
    let mut h = added_at + 2;
    while !(voted && proposed) {
        c.wait_height(0, h + 1, BLOCKS);
        let b = c.client(0).get(&format!("/v1/blocks/{h}")).unwrap();
        voted |= signs(&b);
        proposed |= b["header"]["proposer"] == key_hex.as_str();
        h += 1;
        assert!(
            h < added_at + 40,
            "in 38 blocks the new validator voted: {voted}, proposed: {proposed}\n{}",
            c.log_tail(new)
        );
    }
    // Removed, its votes stop counting from H+2.
    let remove = c.sign_next(0, "BTC", Op::RemoveValidator { consensus_key: key });
    let hash = c.submit(0, &remove).unwrap();
    let removed_at = c.wait_committed(0, &hash, BLOCKS)["height"]
        .as_u64()
        .unwrap();
    c.wait_height(0, removed_at + 6, BLOCKS);
    for h in removed_at + 2..=removed_at + 5 {
        let b = c.client(0).get(&format!("/v1/blocks/{h}")).unwrap();
        assert!(!signs(&b), "block {h} counts the removed validator");
        assert_ne!(b["header"]["proposer"], key_hex.as_str());
    }
    assert_same_chain(&c, &[0, 1, 2, 3]);
}

#[test]
fn the_command_line_submits_waits_for_the_commit_and_reads_it_back() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let node = c.node(1).api_url();
    let key = c
        .plan
        .entity(&id("BTC"))
        .unwrap()
        .key_file
        .display()
        .to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(["--node", &node])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[
        "--output",
        "json",
        "tx",
        "appropriate",
        "--key",
        &key,
        "--signer",
        "BTC",
        "--year",
        "2026",
        "--line",
        "YTE.TX",
        "--to",
        "BYT",
        "--amount",
        "1.250.000",
        "--legal-ref",
        "Nghị quyết 01/2026/QH15",
        "--wait",
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "committed");
    assert!(v["height"].as_u64().unwrap() >= 1);
    let (code, out, _) = run(&["--output", "json", "query", "entity", "BYT"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["budgets"][0]["received"], "1250000");
    // Over budget: the ministry passes on more than it has; exit 1 with the code.
    let bkey = c
        .plan
        .entity(&id("BYT"))
        .unwrap()
        .key_file
        .display()
        .to_string();
    let (code, _, err) = run(&[
        "tx", "allocate", "--key", &bkey, "--signer", "BYT", "--year", "2026", "--line", "YTE.TX",
        "--to", "BYT-BVBM", "--amount", "2000000", "--wait",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("over_budget"), "{err}");
    // A node that is not there: exit 3.
    c.kill(1);
    let (code, _, _) = run(&["query", "status"]);
    assert_eq!(code, Some(3));
}

#[test]
fn a_node_refuses_to_start_with_a_key_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let c = Cluster::new(BIN, 1, 0);
    let home = &c.node(0).home;
    for file in ["validator_key", "node_key"] {
        let path = home.join(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = std::process::Command::new(BIN)
            .args(["node", "start", "--home"])
            .arg(home)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(file), "{err}");
        assert!(
            err.contains("mode 644") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn metrics_report_height_round_commits_mempool_peers_and_block_interval() {
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    let tx = c.sign("BTC", 1, appropriate("BYT", "YTE.TX", 1));
    let hash = wait_for("the API", BLOCKS, || c.submit(0, &tx).ok());
    let h = c.wait_committed(0, &hash, BLOCKS)["height"]
        .as_u64()
        .unwrap();
    c.wait_height(0, h + 2, BLOCKS);
    let value = |name: &str| c.metric(0, name);
    assert!(value("minhbach_height") >= (h + 2) as f64);
    assert_eq!(value("minhbach_committed_txs_total"), 1.0);
    assert!(value("minhbach_committed_blocks_total") >= (h + 2) as f64);
    assert_eq!(value("minhbach_peers"), 3.0);
    value("minhbach_round");
    value("minhbach_mempool_txs");
    assert!(value("minhbach_block_interval_seconds_count") >= 1.0);
}

/// The repository's `deploy/` folder.
fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .join("deploy")
}

/// Every `minhbach_[a-z_]+` name in `text`.
fn minhbach_names(text: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(i) = rest.find("minhbach_") {
        let before = rest[..i].chars().next_back();
        let name: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        rest = &rest[i + name.len()..];
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.insert(name.trim_end_matches('_').to_owned());
        }
    }
}

/// The metric names `deploy/`'s alert rules and Grafana dashboard read:
/// from the rules file (expressions and annotations alike) and from every
/// `expr` (and variable query) of the dashboard, which must be JSON with a
/// query in each panel.
fn deployed_metric_names() -> BTreeSet<String> {
    let dir = deploy_dir();
    let mut names = BTreeSet::new();
    let rules = std::fs::read_to_string(dir.join("prometheus/alerts.yml")).expect("alerts.yml");
    for line in rules.lines().filter(|l| !l.trim_start().starts_with('#')) {
        minhbach_names(line, &mut names);
    }
    let dashboard = std::fs::read_to_string(dir.join("grafana/minhbach.json")).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    for panel in panels {
        let targets = panel["targets"].as_array().expect("each panel has targets");
        for t in targets {
            let expr = t["expr"].as_str().expect("each target has an expr");
            minhbach_names(expr, &mut names);
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        minhbach_names(&var["definition"].to_string(), &mut names);
    }
    names
}

/// The metric names in a Prometheus text exposition.
fn exported_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_owned())
        .collect()
}

/// Runs promtool in `deploy/prometheus`, failing the test if it is missing
/// or finds fault.
fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(deploy_dir().join("prometheus"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}): it checks deploy/prometheus/alerts.yml. \
                 Install it with `sudo apt-get install -y --no-install-recommends prometheus` \
                 (Debian and Ubuntu; .ci/run does this), or put the promtool of a \
                 Prometheus release on PATH"
            )
        });
    assert!(
        output.status.success(),
        "promtool {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_alert_rules_pass_promtool_and_fire_on_their_cases() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts_test.yml"]);
    promtool(&["check", "config", "prometheus.yml"]);
}

#[test]
fn every_metric_the_alerts_and_dashboard_read_is_exported() {
    let wanted = deployed_metric_names();
    for name in [
        "minhbach_validator_missed_signatures_total",
        "minhbach_connected_voting_power_ratio",
        "minhbach_sync_lag_blocks",
        "minhbach_clock_offset_seconds",
        "minhbach_store_write_failures_total",
        "minhbach_ready",
        "minhbach_http_connections",
    ] {
        assert!(wanted.contains(name), "{name} is in neither: {wanted:?}");
    }
    let mut c = Cluster::new(BIN, 4, 0);
    c.start_all();
    c.wait_height(0, 3, BLOCKS);
    wait_for("node 0 connected to all the voting power", BLOCKS, || {
        (c.metric(0, "minhbach_connected_voting_power_ratio") == 1.0).then_some(())
    });
    wait_for("node 0 ready", BLOCKS, || {
        (c.metric(0, "minhbach_ready") == 1.0).then_some(())
    });
    // The clock offset of the median validator is published on the
    // loop's next second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let body = c.client(0).download("/metrics").expect("/metrics").body;
        let text = String::from_utf8(body).expect("UTF-8 metrics");
        if wanted.is_subset(&exported_names(&text)) || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let exported = exported_names(&text);
    let missing: Vec<&String> = wanted.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "deploy/ reads metrics a node does not export: {missing:?}\n{text}"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        c.metric(0, &format!("minhbach_build_info{{version=\"{version}\"}}")),
        1.0
    );
    assert!(c.metric(0, "minhbach_sync_lag_blocks") <= 2.0);
    // One machine, one clock: the offset is the delay of a message.
    let offset = c.metric(0, "minhbach_clock_offset_seconds");
    assert!(offset.abs() < 1.0, "clock offset {offset} s");
    for i in 1..4 {
        let name = &c.node(i).name;
        let seen = c.metric(
            0,
            &format!("minhbach_peer_clock_offset_seconds{{validator=\"{name}\"}}"),
        );
        assert!(seen.abs() < 1.0, "{name}: {seen} s");
    }
    assert_eq!(c.metric(0, "minhbach_store_write_failures_total"), 0.0);

    // A validator that stops signs no block, and takes its power with it.
    let gone = c.node(3).name.clone();
    let missed = |c: &Cluster, name: &str| {
        c.metric(
            0,
            &format!("minhbach_validator_missed_signatures_total{{validator=\"{name}\"}}"),
        )
    };
    let live: Vec<String> = (0..3).map(|i| c.node(i).name.clone()).collect();
    let before = missed(&c, &gone);
    let live_before: Vec<f64> = live.iter().map(|n| missed(&c, n)).collect();
    assert!(c.stop(3));
    wait_for("the power share to fall to 3/4", BLOCKS, || {
        (c.metric(0, "minhbach_connected_voting_power_ratio") == 0.75).then_some(())
    });
    let from = c.height(0).expect("node 0 answers");
    c.wait_height(0, from + 4, BLOCKS);
    assert!(
        missed(&c, &gone) >= before + 3.0,
        "{gone} missed {} signatures, {before} before it stopped",
        missed(&c, &gone)
    );
    // The three others are all needed for a quorum now, so each signs
    // every block.
    for (name, was) in live.iter().zip(live_before) {
        let now = missed(&c, name);
        assert!(now <= was + 1.0, "{name} missed {now}, {was} before");
    }
}
