//! `minhbach tx` against a stand-in node: what it submits, what it prints,
//! which chain it signs for, and its exit codes (0 committed or submitted,
//! 1 rejected, 2 bad input or another chain, 3 node unreachable).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use ledger::tx::Op;
use ledger::{Amount, ContractId, EntityId, SignedTx};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{closed_url, key_file, minhbach, minhbach_env, Request, Stub};

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
fn pay(url: &str, key: &Path, extra: &[&str]) -> support::Run {
    pay_env(url, key, extra, &[])
}

/// Environment variables for a run, as (name, value).
type Env<'a> = &'a [(&'a str, &'a str)];

/// [`pay`] with environment variables.
fn pay_env(url: &str, key: &Path, extra: &[&str], env: Env) -> support::Run {
    let mut args = vec!["--node", url, "tx"];
    args.extend(PAY);
    args.extend(["--key", key.to_str().unwrap()]);
    args.extend(extra);
    minhbach_env(&args, env)
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
    let keys: Vec<_> = tx.signing_keys().copied().collect();
    assert_eq!(keys, [key.public_key()]);
    assert!(tx.verify_signatures());
    assert_eq!(run.stdout, format!("{hash}\n"));
    // Without --wait it never asks about the transaction.
    assert!(!stub.targets().iter().any(|t| t.starts_with("GET /v1/txs/")));
}

#[test]
fn repeated_keys_sign_one_transaction_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a_path, a) = key_file(dir.path(), "a.key", 5);
    let (b_path, b) = key_file(dir.path(), "b.key", 6);
    let (c_path, c) = key_file(dir.path(), "c.key", 7);
    let stub = node(7, |_| pending());
    let run = pay(
        &stub.url,
        &a_path,
        &[
            "--key",
            b_path.to_str().unwrap(),
            "--key",
            c_path.to_str().unwrap(),
            // The same file twice signs once.
            "--key",
            a_path.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let (tx, hash) = submitted(&stub.requests()[2]);
    let mut expected = vec![a.public_key(), b.public_key(), c.public_key()];
    expected.sort();
    let keys: Vec<_> = tx.signing_keys().copied().collect();
    assert_eq!(keys, expected, "one signature per key, ordered by key");
    assert!(tx.verify_signatures());
    assert_eq!(run.stdout, format!("{hash}\n"));
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

/// Another chain than the stand-in node's.
const OTHER: &str = "minhbach-other";

/// A genesis file for `chain_id` in `dir`.
fn genesis_file(dir: &Path, chain_id: &str) -> PathBuf {
    let mut genesis = genesis::story::test_genesis();
    genesis.chain_id = chain_id.to_owned();
    let path = dir.join(format!("{chain_id}.genesis.json"));
    std::fs::write(&path, genesis.to_json()).unwrap();
    path
}

/// The note printed when the chain id is taken from a local node.
fn local_note(url: &str) -> String {
    format!(
        "note: signing for chain {CHAIN} as reported by the local node at {url}; \
         name it with --chain-id or --genesis"
    )
}

/// The chain id the stand-in node was sent a transaction for.
fn signed_chain(stub: &Stub) -> String {
    let requests = stub.requests();
    let posts: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "{:?}", stub.targets());
    submitted(posts[0]).0.body.chain_id
}

#[test]
fn a_chain_id_or_genesis_that_matches_the_node_signs_and_submits() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let genesis = genesis_file(dir.path(), CHAIN);
    let by_genesis = ["--genesis", genesis.to_str().unwrap()];
    for named in [&["--chain-id", CHAIN][..], &by_genesis] {
        let stub = node(4, |_| committed(12, 0));
        let run = pay(&stub.url, &key_path, &[named, &["--wait"]].concat());
        assert_eq!(run.code, Some(0), "{named:?}: {run:?}");
        assert_eq!(signed_chain(&stub), CHAIN, "{named:?}");
        assert!(run.stdout.contains("committed at height 12"), "{run:?}");
        assert!(!run.stderr.contains("note:"), "{named:?}: {run:?}");
    }
    // Before the subcommand too: the flags are global.
    let stub = node(4, |_| pending());
    let mut args = vec!["--chain-id", CHAIN, "--node", &stub.url, "tx"];
    args.extend(PAY);
    args.extend(["--key", key_path.to_str().unwrap()]);
    let run = minhbach(&args);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(signed_chain(&stub), CHAIN);
}

#[test]
fn another_chain_than_the_nodes_exits_2_naming_both_and_signs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let genesis = genesis_file(dir.path(), OTHER);
    let genesis = genesis.to_str().unwrap();
    let cases: [(&[&str], Env, &str); 3] = [
        (&["--chain-id", OTHER], &[], "--chain-id"),
        (&["--genesis", genesis], &[], "--genesis"),
        (&[], &[("MINHBACH_CHAIN_ID", OTHER)], "MINHBACH_CHAIN_ID"),
    ];
    for (extra, env, by) in cases {
        let stub = node(4, |_| committed(12, 0));
        let run = pay_env(&stub.url, &key_path, &[extra, &["--wait"]].concat(), env);
        assert_eq!(run.code, Some(2), "{by}: {run:?}");
        let reason = format!(
            "error: {by}: the node at {} is on chain {CHAIN}, not {OTHER}",
            stub.url
        );
        assert!(run.stderr.contains(&reason), "{by}: {run:?}");
        assert!(run.stderr.contains("nothing was signed"), "{run:?}");
        assert_eq!(run.stdout, "", "{by}: {run:?}");
        // Asked which chain it is on, and nothing more: no nonce, no POST.
        assert_eq!(stub.targets(), ["GET /v1/status"], "{by}");
    }
    let stub = node(4, |_| pending());
    let run = pay(&stub.url, &key_path, &["--genesis", genesis]);
    assert!(
        run.stderr.contains(&format!("(the chain of {genesis})")),
        "{run:?}"
    );
}

#[test]
fn with_no_chain_named_a_local_node_is_taken_at_its_word_with_one_note() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = node(4, |poll| if poll < 2 { pending() } else { committed(3, 1) });
    let run = pay(&stub.url, &key_path, &["--wait"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(signed_chain(&stub), CHAIN);
    assert_eq!(
        run.stderr.matches(&local_note(&stub.url)).count(),
        1,
        "{run:?}"
    );
    assert_eq!(run.stderr.matches("note:").count(), 1, "{run:?}");
}

#[test]
fn a_remote_node_with_no_chain_named_exits_2_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    // TEST-NET-1, never routed: a request would hang or fail as unreachable
    // (exit 3), so exit 2 at once shows none was made.
    let remote = "http://192.0.2.1:1";
    let started = std::time::Instant::now();
    for run in [
        pay(remote, &key_path, &["--wait"]),
        minhbach_env(
            &[&["tx"], &PAY[..], &["--key", key_path.to_str().unwrap()]].concat(),
            &[("MINHBACH_NODE", remote)],
        ),
        pay_env(remote, &key_path, &[], &[("MINHBACH_CHAIN_ID", "")]),
    ] {
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(
            run.stderr.contains(
                "error: --chain-id: no chain named to sign for; name it with --chain-id ID, \
                 --genesis FILE (the chain's genesis file) or MINHBACH_CHAIN_ID=ID. The node at \
                 http://192.0.2.1:1 is not on this machine"
            ),
            "{run:?}"
        );
        assert!(!run.stderr.contains("unreachable"), "{run:?}");
        assert_eq!(run.stdout, "", "{run:?}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn minhbach_chain_id_names_the_chain_and_a_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let stub = node(4, |_| pending());
    let run = pay_env(&stub.url, &key_path, &[], &[("MINHBACH_CHAIN_ID", CHAIN)]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(signed_chain(&stub), CHAIN);
    assert!(!run.stderr.contains("note:"), "{run:?}");

    let stub = node(4, |_| pending());
    let run = pay_env(
        &stub.url,
        &key_path,
        &["--chain-id", CHAIN],
        &[("MINHBACH_CHAIN_ID", OTHER)],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(signed_chain(&stub), CHAIN);
}

#[test]
fn a_genesis_file_and_a_chain_id_together_exit_2_and_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(dir.path(), "k", 5);
    let genesis = genesis_file(dir.path(), CHAIN);
    let genesis = genesis.to_str().unwrap();
    let stub = node(4, |_| pending());
    let run = pay(
        &stub.url,
        &key_path,
        &["--genesis", genesis, "--chain-id", CHAIN],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("'--genesis <FILE>' cannot be used with '--chain-id <ID>'"),
        "{run:?}"
    );
    let run = pay_env(
        &stub.url,
        &key_path,
        &["--genesis", genesis],
        &[("MINHBACH_CHAIN_ID", CHAIN)],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: --genesis: the chain is named twice, by --genesis {genesis} and by \
             MINHBACH_CHAIN_ID={CHAIN}; name it once"
        )),
        "{run:?}"
    );
    // Split around the subcommand, clap sees them apart; `tx` still refuses.
    let mut args = vec!["--genesis", genesis, "--node", &stub.url, "tx"];
    args.extend(PAY);
    args.extend(["--key", key_path.to_str().unwrap(), "--chain-id", CHAIN]);
    let run = minhbach(&args);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("named twice"), "{run:?}");
    let run = pay(
        &stub.url,
        &key_path,
        &["--genesis", "/nonexistent/genesis.json"],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("error: --genesis: cannot read"),
        "{run:?}"
    );
    assert_eq!(stub.targets(), Vec::<String>::new());
}
