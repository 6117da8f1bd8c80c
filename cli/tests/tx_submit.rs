//! `minhbach tx` against a stand-in node: what it submits, what it prints,
//! and its exit codes (0 committed or submitted, 1 rejected, 2 bad input,
//! 3 node unreachable).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use ledger::tx::Op;
use ledger::{Amount, ContractId, EntityId, SignedTx};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{closed_url, key_file, minhbach, Request, Stub};

const CHAIN: &str = "minhbach-test";

fn status() -> String {
    json!({
        "chain_id": CHAIN, "node_id": "12D3KooWx", "name": "val-0", "height": 41, "round": 0,
        "last_block_hash": "00".repeat(32), "last_block_time": "2026-03-01T08:00:00Z",
        "validators": [], "peers": 3, "catching_up": false, "mempool_txs": 0,
    })
    .to_string()
}

fn entity(next_nonce: u64) -> String {
    json!({
        "id": "MOH.BVBM", "kind": "department", "name": "Bệnh viện Bạch Mai", "parent": "MOH",
        "public_key": "11".repeat(32), "status": "active", "next_nonce": next_nonce, "budgets": [],
    })
    .to_string()
}

/// The signed transaction in a `POST /v1/txs` body, and its hash computed
/// here from the bytes (SHA-256, SPEC §2).
fn submitted(request: &Request) -> (SignedTx, String) {
    let body: Value = serde_json::from_slice(&request.body).expect("the body is JSON");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body["tx"].as_str().expect("a \"tx\" field"))
        .expect("base64");
    let tx = SignedTx::decode(&bytes).expect("a canonical signed transaction");
    (tx, hex::encode(Sha256::digest(&bytes)))
}

/// A node that accepts every transaction and reports it with `tx_status`
/// (called with how many times it has been polled).
fn node<F>(next_nonce: u64, tx_status: F) -> Stub
where
    F: Fn(usize) -> (u16, Value) + Send + 'static,
{
    let polls = Arc::new(AtomicUsize::new(0));
    Stub::start(move |r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/v1/status") => (200, status()),
        ("GET", "/v1/entities/MOH.BVBM") => (200, entity(next_nonce)),
        ("POST", "/v1/txs") => (202, json!({"hash": submitted(r).1}).to_string()),
        ("GET", t) if t.starts_with("/v1/txs/") => {
            let (code, body) = tx_status(polls.fetch_add(1, Ordering::SeqCst));
            (code, body.to_string())
        }
        _ => (
            404,
            json!({"error": {"code": "not_found", "message": r.target}}).to_string(),
        ),
    })
}

fn committed(height: u64, index: u64) -> (u16, Value) {
    (
        200,
        json!({"status": "committed", "height": height, "index": index, "signer": "MOH.BVBM"}),
    )
}

fn pending() -> (u16, Value) {
    (
        200,
        json!({"status": "pending", "height": null, "index": null}),
    )
}

const PAY: [&str; 9] = [
    "pay",
    "--signer",
    "MOH.BVBM",
    "--contract",
    "C-17",
    "--amount",
    "300.000",
    "--reference",
    "INV-9",
];

/// `minhbach --node URL tx pay ... --key KEY extra...`
fn pay(url: &str, key: &std::path::Path, extra: &[&str]) -> support::Run {
    let mut args = vec!["--node", url, "tx"];
    args.extend(PAY);
    args.extend(["--key", key.to_str().unwrap()]);
    args.extend(extra);
    minhbach(&args)
}

#[test]
fn pay_submits_a_signed_transaction_and_prints_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path(), "bvbm.key", 5);
    let stub = node(7, |_| pending());
    let run = pay(&stub.url, &key_path, &[]);
    assert_eq!(run.code, Some(0), "{run:?}");

    let requests = stub.requests();
    let posts: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "{:?}", stub.targets());
    assert_eq!(posts[0].target, "/v1/txs");
    let (tx, hash) = submitted(posts[0]);
    assert_eq!(tx.body.chain_id, CHAIN, "chain id from /v1/status");
    assert_eq!(tx.body.signer, EntityId::new("MOH.BVBM").unwrap());
    assert_eq!(tx.body.nonce, 7, "nonce from the entity's next_nonce");
    assert_eq!(
        tx.body.op,
        Op::Pay {
            contract: ContractId::new("C-17").unwrap(),
            amount: Amount(300_000),
            reference: "INV-9".into(),
            document_hash: None,
        }
    );
    assert!(tx.verify_signature(&key.public_key()));
    assert_eq!(run.stdout, format!("{hash}\n"));
    // Without --wait it never asks about the transaction.
    assert!(!stub.targets().iter().any(|t| t.starts_with("GET /v1/txs/")));
}

#[test]
fn an_explicit_nonce_is_used_without_asking_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = node(7, |_| pending());
    let run = pay(&stub.url, &key_path, &["--nonce", "42", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(stub.targets(), ["GET /v1/status", "POST /v1/txs"]);
    let (tx, hash) = submitted(&stub.requests()[1]);
    assert_eq!(tx.body.nonce, 42);
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed, json!({"hash": hash}));
}

#[test]
fn wait_prints_the_height_once_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = node(1, |poll| match poll {
        0 => (
            404,
            json!({"error": {"code": "not_found", "message": "not yet"}}),
        ),
        1 | 2 => pending(),
        _ => committed(42, 3),
    });
    let run = pay(&stub.url, &key_path, &["--wait"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let hash = submitted(&stub.requests()[2]).1;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], hash);
    assert!(
        lines[1].contains("height 42") && lines[1].contains("index 3"),
        "{run:?}"
    );
    let polls = stub
        .targets()
        .iter()
        .filter(|t| **t == format!("GET /v1/txs/{hash}"))
        .count();
    assert_eq!(polls, 4, "polls until committed: {:?}", stub.targets());

    let stub = node(1, |_| committed(9, 0));
    let run = pay(&stub.url, &key_path, &["--wait", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["status"], "committed");
    assert_eq!(printed["height"], 9);
    assert_eq!(printed["index"], 0);
    assert_eq!(printed["hash"].as_str().unwrap().len(), 64);
}

#[test]
fn a_refused_submission_exits_1_with_the_nodes_code() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = Stub::start(|r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/v1/status") => (200, status()),
        ("GET", "/v1/entities/MOH.BVBM") => (200, entity(3)),
        ("POST", "/v1/txs") => (
            422,
            json!({"error": {"code": "over_contract",
                "message": "pay 5,000,000 exceeds the 3,000,000 still unpaid on contract C-17"}})
            .to_string(),
        ),
        _ => (500, "{}".into()),
    });
    let run = pay(&stub.url, &key_path, &["--wait"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains(
            "over_contract: pay 5,000,000 exceeds the 3,000,000 still unpaid on contract C-17"
        ),
        "{run:?}"
    );
    assert_eq!(run.stdout, "", "no hash for a refused transaction");
}

#[test]
fn a_rejection_while_waiting_exits_1_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = node(1, |_| {
        (
            200,
            json!({"status": "rejected", "height": null, "index": null,
            "error": {"code": "over_budget", "message": "MOH.BVBM needs 300,000 on 2026/L1 but only 0 is available"}}),
        )
    });
    let run = pay(&stub.url, &key_path, &["--wait"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("over_budget: MOH.BVBM needs 300,000"),
        "{run:?}"
    );
}

#[test]
fn wait_gives_up_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = node(1, |_| pending());
    let started = std::time::Instant::now();
    let run = pay(&stub.url, &key_path, &["--wait", "--timeout", "1"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("still pending"), "{run:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The hash was printed before waiting, so it is not lost.
    assert_eq!(run.stdout.lines().next().unwrap().len(), 64, "{run:?}");
}

#[test]
fn an_unknown_signer_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = Stub::start(|r| match r.target.as_str() {
        "/v1/status" => (200, status()),
        _ => (
            404,
            json!({"error": {"code": "not_found", "message": "no entity MOH.BVBM"}}).to_string(),
        ),
    });
    let run = pay(&stub.url, &key_path, &[]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("unknown_signer"), "{run:?}");
    assert!(!stub.targets().iter().any(|t| t.starts_with("POST")));
}

#[test]
fn an_unreachable_node_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let url = closed_url();
    let run = pay(&url, &key_path, &["--wait"]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stderr.contains("unreachable"), "{run:?}");
}

#[test]
fn bad_input_exits_2_naming_the_flag_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let key = key_path.to_str().unwrap();
    let stub = node(1, |_| pending());
    let url = stub.url.as_str();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "pay",
                "--key",
                key,
                "--signer",
                "MOH.BVBM",
                "--contract",
                "C 17",
                "--amount",
                "1",
                "--reference",
                "r",
            ],
            "--contract",
        ),
        (
            &[
                "rotate-key",
                "--key",
                key,
                "--signer",
                "MOF",
                "--entity",
                "MOH",
                "--public-key",
                "12zz",
            ],
            "--public-key",
        ),
        (
            &[
                "pay",
                "--key",
                key,
                "--signer",
                "MOH.BVBM",
                "--contract",
                "C-17",
                "--amount",
                "1,5",
                "--reference",
                "r",
            ],
            "--amount",
        ),
        (
            &[
                "pay",
                "--key",
                key,
                "--signer",
                "MOH.BVBM",
                "--contract",
                "C-17",
            ],
            "--amount",
        ),
    ];
    for (args, flag) in cases {
        let run = minhbach(&[&["--node", url, "tx"], args].concat());
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains(flag), "{args:?}: {run:?}");
    }

    // A key file that others can read is refused before anything is sent.
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = pay(url, &key_path, &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("--key") && run.stderr.contains("chmod 600"),
        "{run:?}"
    );
    let run = pay(url, &dir.path().join("missing.key"), &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--key"), "{run:?}");
    assert_eq!(stub.targets(), Vec::<String>::new());
}
