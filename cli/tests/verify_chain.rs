//! `minhbach verify chain --home DIR` on a real home: a good store verifies,
//! and a rewritten payment is caught at its height with exit code 1. With
//! stderr piped, only the summary is written (on stdout): the progress bar
//! is for terminals.

use std::process::Command;

use genesis::Genesis;
use ledger::builder::{build_block, sign_commit, BlockTemplate};
use ledger::testkit::{id, key};
use ledger::tx::{Op, TxBody};
use ledger::{Amount, ContractId, Height, LineCode, PeerId, SignedTx, Year};
use node::home::Home;
use serde_json::json;

/// Writes a home whose store holds `blocks` blocks of spending.
fn make_home(dir: &std::path::Path, blocks: u64) -> Genesis {
    let validators: Vec<_> = (0..4).map(|i| key(&format!("val-{i}"))).collect();
    let entities = [
        ("MOF", "treasury", None),
        ("MOH", "ministry", None),
        ("MOH.BVBM", "department", Some("MOH")),
        ("V-0042", "vendor", None),
    ];
    let genesis_json = json!({
        "chain_id": "minhbach-verify",
        "genesis_time": "2026-01-01T00:00:00Z",
        "entities": entities.iter().map(|(i, k, p)| json!({
            "id": i, "kind": k, "name": format!("Đơn vị {i}"), "parent": p,
            "keys": [key(i).public_key().to_hex()]
        })).collect::<Vec<_>>(),
        "validators": validators.iter().enumerate().map(|(i, k)| json!({
            "name": format!("val-{i}"), "consensus_key": k.public_key().to_hex(),
            "peer_id": PeerId::from_ed25519(&k.public_key()).unwrap().to_string(), "power": 10
        })).collect::<Vec<_>>(),
    });
    std::fs::write(dir.join("genesis.json"), genesis_json.to_string()).unwrap();
    let home = Home::new(dir);
    let genesis = home.genesis().unwrap();
    let (store, mut state) = home.open_store(&genesis).unwrap();
    let year = Year::new(2026).unwrap();
    let line = LineCode::new("0402-HEALTH").unwrap();
    let sign = |signer: &str, nonce: u64, op: Op| -> SignedTx {
        TxBody {
            chain_id: genesis.chain_id.clone(),
            signer: id(signer),
            nonce,
            op,
        }
        .sign(&key(signer))
    };
    let contract = ContractId::new("C-17").unwrap();
    let mut prev_hash = genesis.hash();
    let mut last_commit = None;
    for h in 1..=blocks {
        let txs = match h {
            1 => vec![sign(
                "MOF",
                1,
                Op::Appropriate {
                    year,
                    line: line.clone(),
                    to: id("MOH"),
                    amount: Amount(10_000_000),
                    legal_ref: "QĐ-1".into(),
                },
            )],
            2 => vec![sign(
                "MOH",
                1,
                Op::Allocate {
                    year,
                    line: line.clone(),
                    to: id("MOH.BVBM"),
                    amount: Amount(5_000_000),
                },
            )],
            3 => vec![sign(
                "MOH.BVBM",
                1,
                Op::Award {
                    contract: contract.clone(),
                    year,
                    line: line.clone(),
                    vendor: id("V-0042"),
                    amount: Amount(3_000_000),
                    title: "Máy thở".into(),
                    document_hash: None,
                },
            )],
            n => vec![sign(
                "MOH.BVBM",
                n - 2,
                Op::Pay {
                    contract: contract.clone(),
                    amount: Amount(1_000),
                    reference: format!("INV-{n}"),
                    document_hash: None,
                },
            )],
        };
        let template = BlockTemplate {
            prev_hash,
            history_root: store.history_root(state.height()).unwrap(),
            time_ms: genesis.genesis_time_ms + h * 1000,
            proposer: validators[0].public_key(),
            last_commit: last_commit.take(),
            evidence: vec![],
        };
        let (block, outcome) = build_block(&state, txs, template).unwrap();
        let cert = sign_commit(&block, 0, &validators.iter().collect::<Vec<_>>());
        store.commit_block(&block, &cert, &outcome, &state).unwrap();
        state.commit(outcome);
        prev_hash = block.hash();
        last_commit = Some(cert);
    }
    genesis
}

/// Runs `minhbach ARGS --home DIR --output json`: the exit code, stdout
/// as JSON (null if it is not), and stderr.
fn run_json(args: &[&str], dir: &std::path::Path) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .args(args)
        .args(["--home", dir.to_str().unwrap(), "--output", "json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit code and JSON summary of `verify chain`, run with stderr piped:
/// not a terminal, so no progress bar may appear there.
fn verify(dir: &std::path::Path) -> (Option<i32>, serde_json::Value) {
    let (code, json, stderr) = run_json(&["verify", "chain"], dir);
    assert!(!json.is_null(), "no JSON summary; stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr is not a terminal, yet: {stderr}");
    (code, json)
}

#[test]
fn a_good_store_verifies() {
    let dir = tempfile::tempdir().unwrap();
    make_home(dir.path(), 8);
    let (code, json) = verify(dir.path());
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["valid"], true);
    assert_eq!(json["height"], 8);
    assert_eq!(json["txs"], 8);
}

#[test]
fn a_rewritten_payment_fails_at_its_height() {
    let dir = tempfile::tempdir().unwrap();
    make_home(dir.path(), 8);
    {
        let store = Home::new(dir.path()).open_existing_store().unwrap();
        let mut block = store.block(Height(6)).unwrap().unwrap();
        let Op::Pay { amount, .. } = &mut block.txs[0].body.op else {
            panic!("block 6 pays")
        };
        *amount = Amount(900_000);
        store
            .tamper("blocks", &6u64.to_be_bytes(), &block.encode())
            .unwrap();
    }
    let (code, json) = verify(dir.path());
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["valid"], false);
    assert_eq!(json["first_bad_height"], 6, "{json}");
}

#[test]
fn a_doctored_history_tree_fails_at_the_block_that_completed_it() {
    let dir = tempfile::tempdir().unwrap();
    make_home(dir.path(), 8);
    {
        let store = Home::new(dir.path()).open_existing_store().unwrap();
        // The subtree over blocks 5 and 6: level 1, index 2.
        let mut key = vec![1u8];
        key.extend_from_slice(&2u64.to_be_bytes());
        store.tamper("history_tree", &key, &[7u8; 32]).unwrap();
    }
    let (code, json) = verify(dir.path());
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["first_bad_height"], 6, "{json}");
    assert!(
        json["error"]
            .as_str()
            .unwrap_or_default()
            .contains("history tree"),
        "{json}"
    );
}

#[test]
fn a_home_without_a_store_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    make_home(dir.path(), 0);
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .args(["verify", "chain", "--home", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store"));
}

/// `minhbach migrate --home DIR --output json`.
fn migrate(dir: &std::path::Path) -> (Option<i32>, serde_json::Value, String) {
    run_json(&["migrate"], dir)
}

#[test]
fn migrate_brings_a_store_of_the_format_before_to_this_one_once() {
    let dir = tempfile::tempdir().unwrap();
    make_home(dir.path(), 5);
    let home = Home::new(dir.path());
    home.open_existing_store()
        .unwrap()
        .downgrade_to_format_3()
        .unwrap();
    // The node refuses the store, naming the command.
    let genesis = home.genesis().unwrap();
    let refused = home.open_store(&genesis).map(|_| ()).unwrap_err();
    assert!(
        refused.to_string().contains("minhbach migrate"),
        "{refused}"
    );

    // Not while the store is held, as a running node holds it.
    let held = home.open_existing_store().unwrap();
    let (code, _, stderr) = migrate(dir.path());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("stop the node first"), "{stderr}");
    drop(held);

    let (code, done, stderr) = migrate(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(done["from"], 3, "{done}");
    assert_eq!(done["to"], ledger::store::STORE_FORMAT, "{done}");
    assert_eq!(done["blocks"], 5, "{done}");
    let (code, report) = verify(dir.path());
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["height"], 5);

    let (code, again, stderr) = migrate(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(again["from"], again["to"], "{again}");
    assert_eq!(again["blocks"], 0, "{again}");
}
