//! `minhbach verify proof FILE --genesis FILE` on bundles built from a real
//! store (exit 0 and a summary when valid; exit 1 and `invalid: <what>` when
//! tampered with, or checked against another genesis, or when fewer of the
//! genesis file's witnesses than `--witnesses K` stand behind the block,
//! which the summary names), and `minhbach proof
//! tx` against a stand-in node (the route it reads, the file it writes, and
//! no overwriting without `--force`).

mod support;

use std::path::{Path, PathBuf};

use genesis::Genesis;
use ledger::builder::{build_block, sign_commit, BlockTemplate};
use ledger::proof::AuditBundle;
use ledger::testkit::{id, key};
use ledger::tx::{Op, TxBody};
use ledger::witness::{CheckpointProof, Cosignature};
use ledger::Height;
use ledger::{Amount, ContractId, LineCode, PeerId, SignedTx, Year};
use node::home::Home;
use serde_json::{json, Value};
use support::{minhbach, Stub};

fn genesis_json(chain_id: &str, validator_label: &str) -> Value {
    let entities = [
        ("MOF", "treasury", None),
        ("MOH", "ministry", None),
        ("MOH.BVBM", "department", Some("MOH")),
        ("V-0042", "vendor", None),
        ("KTNN", "observer", None),
        ("TTXVN", "observer", None),
    ];
    json!({
        "chain_id": chain_id,
        "genesis_time": "2026-01-01T00:00:00Z",
        "entities": entities.iter().map(|(i, k, p)| json!({
            "id": i, "kind": k, "name": format!("Đơn vị {i}"), "parent": p,
            "keys": [key(i).public_key().to_hex()]
        })).collect::<Vec<_>>(),
        "validators": (0..4).map(|i| {
            let k = key(&format!("{validator_label}-{i}")).public_key();
            json!({
                "name": format!("val-{i}"), "consensus_key": k.to_hex(),
                "peer_id": PeerId::from_ed25519(&k).unwrap().to_string(), "power": 10
            })
        }).collect::<Vec<_>>(),
    })
}

/// A home whose chain appropriates, allocates, adds a validator (a set
/// change at block 3), awards C-17 and then pays 1,000 on it in each later
/// block. Returns the genesis and the hash of the payment in block 5.
fn make_home(dir: &Path) -> (Genesis, ledger::Hash) {
    std::fs::write(
        dir.join("genesis.json"),
        genesis_json("minhbach-proof", "val").to_string(),
    )
    .unwrap();
    let home = Home::new(dir);
    let genesis = home.genesis().unwrap();
    let (store, mut state) = home.open_store(&genesis).unwrap();
    let sign = |signer: &str, nonce: u64, op: Op| -> SignedTx {
        TxBody {
            chain_id: genesis.chain_id.clone(),
            signer: id(signer),
            nonce,
            op,
        }
        .sign(&key(signer))
    };
    let year = Year::new(2026).unwrap();
    let line = LineCode::new("0402-HEALTH").unwrap();
    let contract = ContractId::new("C-17").unwrap();
    let added = key("val-4").public_key();
    let mut prev_hash = genesis.hash();
    let mut last_commit = None;
    let mut paid = None;
    for h in 1..=6u64 {
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
            2 => vec![
                sign(
                    "MOH",
                    1,
                    Op::Allocate {
                        year,
                        line: line.clone(),
                        to: id("MOH.BVBM"),
                        amount: Amount(5_000_000),
                    },
                ),
                sign(
                    "MOF",
                    2,
                    Op::AddValidator {
                        name: "val-4".into(),
                        consensus_key: added,
                        peer_id: PeerId::from_ed25519(&added).unwrap(),
                        power: 10,
                    },
                ),
            ],
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
        if h == 5 {
            paid = Some(txs[0].hash());
        }
        let template = BlockTemplate {
            prev_hash,
            history_root: store.history_root(state.height()).unwrap(),
            time_ms: genesis.genesis_time_ms + h * 1000,
            proposer: key("val-0").public_key(),
            last_commit: last_commit.take(),
            evidence: vec![],
        };
        let signers: Vec<_> = (0..5)
            .map(|i| key(&format!("val-{i}")))
            .filter(|k| state.validators().get(&k.public_key()).is_some())
            .collect();
        let (block, outcome) = build_block(&state, txs, template).unwrap();
        let cert = sign_commit(&block, 0, &signers.iter().collect::<Vec<_>>());
        store.commit_block(&block, &cert, &outcome, &state).unwrap();
        state.commit(outcome);
        prev_hash = block.hash();
        last_commit = Some(cert);
    }
    (genesis, paid.unwrap())
}

/// Writes the bundle of `hash` from the home's store to `proof.json`.
fn write_bundle(dir: &Path, genesis: &Genesis, hash: &ledger::Hash) -> (PathBuf, AuditBundle) {
    let store = Home::new(dir).open_existing_store().unwrap();
    let bundle = AuditBundle::build(&store, genesis.hash(), hash)
        .unwrap()
        .unwrap();
    let path = dir.join("proof.json");
    std::fs::write(&path, bundle.to_json()).unwrap();
    (path, bundle)
}

fn verify(file: &Path, genesis: &Path, json: bool) -> support::Run {
    verify_with(file, genesis, json, &[])
}

fn verify_with(file: &Path, genesis: &Path, json: bool, extra: &[&str]) -> support::Run {
    let mut args = vec![
        "verify",
        "proof",
        file.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ];
    if json {
        args.extend(["--output", "json"]);
    }
    args.extend(extra);
    minhbach(&args)
}

/// Witness `who` of the genesis file cosigns the checkpoint at `height`,
/// and the home's store keeps it.
fn cosign(dir: &Path, genesis: &Genesis, who: &str, height: u64) {
    let (store, state) = Home::new(dir).open_store(genesis).unwrap();
    let checkpoint = CheckpointProof::build(&store, Height(height))
        .unwrap()
        .unwrap()
        .checkpoint;
    let c = Cosignature::sign(&key(who), id(who), &checkpoint, 1_800_000_000_000);
    store.admit_cosignature(&c, &state).unwrap().unwrap();
}

#[test]
fn a_valid_bundle_verifies_offline_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (_, paid) = make_home(dir.path());
    let genesis = Home::new(dir.path()).genesis().unwrap();
    let (file, _) = write_bundle(dir.path(), &genesis, &paid);
    let genesis_path = dir.path().join("genesis.json");

    let run = verify(&file, &genesis_path, true);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["hash"], paid.to_hex());
    assert_eq!(v["signer"], "MOH.BVBM");
    assert_eq!(v["op"]["type"], "pay");
    assert_eq!(v["op"]["amount"], "1000");
    assert_eq!(v["op"]["contract"], "C-17");
    assert_eq!(v["height"], 5);
    assert_eq!(v["time"], "2026-01-01T00:00:05.000Z");
    // Added in block 2: set(4) differs from set(3), one change at block 3.
    assert_eq!(v["validator_set_changes"], 1);
    assert_eq!(
        (v["signed_power"].clone(), v["total_power"].clone()),
        (json!(50), json!(50))
    );
    // No witness has cosigned yet.
    assert_eq!(v["witness_count"], 0);
    assert_eq!(v["witnesses"], json!([]));

    let run = verify(&file, &genesis_path, false);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains(&paid.to_hex()), "{run:?}");
    assert!(run.stdout.contains("pay"), "{run:?}");
    assert!(run.stdout.contains("1,000"), "{run:?}");
}

#[test]
fn a_tampered_bundle_fails_with_what_was_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, paid) = make_home(dir.path());
    let (file, bundle) = write_bundle(dir.path(), &genesis, &paid);
    let genesis_path = dir.path().join("genesis.json");

    let mut json: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    json["tx"]["view"]["op"]["amount"] = "5000000".into();
    std::fs::write(&file, json.to_string()).unwrap();
    let run = verify(&file, &genesis_path, false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stderr.trim(),
        "invalid: the transaction's amount 5,000,000 does not match its signed bytes (1,000)"
    );
    let run = verify(&file, &genesis_path, true);
    assert_eq!(run.code, Some(1), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["error"].as_str().unwrap().contains("5,000,000"));

    let mut json: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    json["block"]["certificate"]["precommits"]
        .as_array_mut()
        .unwrap()
        .truncate(2);
    std::fs::write(&file, json.to_string()).unwrap();
    let run = verify(&file, &genesis_path, false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("invalid: certificate of block 5: only 20 of 50 voting power signed"),
        "{run:?}"
    );

    std::fs::write(&file, format!("{}garbage", bundle.to_json())).unwrap();
    let run = verify(&file, &genesis_path, false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.starts_with("invalid: not an audit bundle"),
        "{run:?}"
    );
}

#[test]
fn another_genesis_file_is_refused_and_a_missing_one_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, paid) = make_home(dir.path());
    let (file, _) = write_bundle(dir.path(), &genesis, &paid);
    // The same chain id with other validators.
    let other = dir.path().join("other-genesis.json");
    std::fs::write(&other, genesis_json("minhbach-proof", "other").to_string()).unwrap();
    let run = verify(&file, &other, false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .starts_with("invalid: the bundle was made for genesis"),
        "{run:?}"
    );
    let run = verify(&file, &dir.path().join("absent.json"), false);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = verify(
        &dir.path().join("absent-proof.json"),
        &dir.path().join("genesis.json"),
        false,
    );
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn an_oversized_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    make_home(dir.path());
    let file = dir.path().join("huge.json");
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(ledger::proof::BUNDLE_BYTES_MAX as u64 + 1)
        .unwrap();
    let run = verify(&file, &dir.path().join("genesis.json"), false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("more than the 16777216 allowed"),
        "{run:?}"
    );
}

#[test]
fn proof_tx_writes_what_the_node_sends_and_never_overwrites_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, paid) = make_home(dir.path());
    let (_, bundle) = write_bundle(dir.path(), &genesis, &paid);
    let body = bundle.to_json();
    let route = format!("/v1/txs/{paid}/proof");
    let node = Stub::start(move |r| {
        if r.target == route {
            (200, body.clone())
        } else {
            (
                404,
                json!({"error": {"code": "not_found", "message": "not committed"}}).to_string(),
            )
        }
    });
    let out = dir.path().join("fetched.json");
    let out_s = out.to_str().unwrap();
    let hash = paid.to_hex();
    let run = minhbach(&["--node", &node.url, "proof", "tx", &hash, "--out", out_s]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(node.targets(), vec![format!("GET /v1/txs/{hash}/proof")]);
    let written = AuditBundle::decode(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(written, bundle);
    let run = verify(&out, &dir.path().join("genesis.json"), false);
    assert_eq!(run.code, Some(0), "{run:?}");

    // An existing file is kept unless --force.
    std::fs::write(&out, "keep me").unwrap();
    let run = minhbach(&["--node", &node.url, "proof", "tx", &hash, "--out", out_s]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let run = minhbach(&[
        "--node", &node.url, "proof", "tx", &hash, "--out", out_s, "--force",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        AuditBundle::decode(&std::fs::read(&out).unwrap()).unwrap(),
        bundle
    );

    // Unknown to the node: exit 1 with its code, and no file.
    let other = "ab".repeat(32);
    let missing = dir.path().join("missing.json");
    let run = minhbach(&[
        "--node",
        &node.url,
        "proof",
        "tx",
        &other,
        "--out",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("not_found"), "{run:?}");
    assert!(!missing.exists());
    // Not a hash: a usage error before anything is sent.
    let run = minhbach(&["--node", &node.url, "proof", "tx", "abc", "--out", out_s]);
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn witnesses_required_must_stand_behind_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, paid) = make_home(dir.path());
    let genesis_path = dir.path().join("genesis.json");
    let two = ["--witnesses", "2"];

    // KTNN alone, at block 6: one of two.
    cosign(dir.path(), &genesis, "KTNN", 6);
    let (file, _) = write_bundle(dir.path(), &genesis, &paid);
    let run = verify_with(&file, &genesis_path, false, &two);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stderr.trim(),
        "invalid: 1 of the genesis file's witnesses stood behind block 5 (KTNN), \
         but at least 2 are required"
    );
    let run = verify_with(&file, &genesis_path, true, &two);
    assert_eq!(run.code, Some(1), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["witness_count"], 1);
    assert_eq!(v["witnesses_required"], 2);
    // Without the flag, as valid as before.
    let run = verify(&file, &genesis_path, true);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["witness_count"], 1);

    // TTXVN too, at block 5 itself: two of two.
    cosign(dir.path(), &genesis, "TTXVN", 5);
    let (file, _) = write_bundle(dir.path(), &genesis, &paid);
    let run = verify_with(&file, &genesis_path, true, &two);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["witness_count"], 2);
    assert_eq!(v["witnesses_required"], 2);
    assert_eq!(
        v["witnesses"],
        json!([
            {"id": "KTNN", "name": "Đơn vị KTNN"},
            {"id": "TTXVN", "name": "Đơn vị TTXVN"},
        ])
    );
    let run = verify_with(&file, &genesis_path, false, &two);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("witnesses (2)"), "{run:?}");
    assert!(run.stdout.contains("Đơn vị TTXVN"), "{run:?}");
    assert!(
        run.stderr
            .contains("2 witnesses of the genesis file (KTNN, TTXVN) cosigned"),
        "{run:?}"
    );
    let run = verify_with(&file, &genesis_path, false, &["--witnesses", "3"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("2 of the genesis file's witnesses stood behind block 5"),
        "{run:?}"
    );
}

#[test]
fn a_state_proof_verifies_offline_and_proof_state_writes_what_the_node_sends() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, _) = make_home(dir.path());
    let genesis_path = dir.path().join("genesis.json");
    let key = ledger::state::StateKey::Budget(
        id("MOH.BVBM"),
        Year::new(2026).unwrap(),
        LineCode::new("0402-HEALTH").unwrap(),
    );
    let bundle = {
        let store = Home::new(dir.path()).open_existing_store().unwrap();
        ledger::proof::StateBundle::build(&store, genesis.hash(), &key, Some(Height(5)))
            .unwrap()
            .unwrap()
    };
    let body = bundle.to_json();
    let route = "/v1/state-proof?key=line:2026/0402-HEALTH/MOH.BVBM&height=5";
    let node = Stub::start(move |r| {
        if r.target == route {
            (200, body.clone())
        } else {
            (
                404,
                json!({"error": {"code": "not_found", "message": "no"}}).to_string(),
            )
        }
    });
    let out = dir.path().join("state.json");
    let out_s = out.to_str().unwrap();
    let run = minhbach(&[
        "--node",
        &node.url,
        "proof",
        "state",
        "--line",
        "2026/0402-HEALTH/MOH.BVBM",
        "--height",
        "5",
        "--out",
        out_s,
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(node.targets(), vec![format!("GET {route}")]);

    // Allocated 5,000,000, awarded 3,000,000, paid 1,000 in blocks 4 and 5.
    let run = verify(&out, &genesis_path, true);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["height"], 5);
    assert_eq!(v["key"]["kind"], "budget");
    assert_eq!(v["value"]["received"], "5000000");
    assert_eq!(v["value"]["committed"], "3000000");
    assert_eq!(v["value"]["paid"], "2000");
    assert_eq!(v["value"]["available"], "2000000");
    assert_eq!(v["validator_set_changes"], 1);
    let run = verify(&out, &genesis_path, false);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("valid: after block 5"), "{run:?}");

    // A figure changed in the file: exit 1 naming it.
    let mut edited: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    edited["entry"]["view"]["value"]["paid"] = "0".into();
    std::fs::write(&out, edited.to_string()).unwrap();
    let run = verify(&out, &genesis_path, false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("value.paid"), "{run:?}");

    // One key kind exactly.
    let run = minhbach(&["--node", &node.url, "proof", "state", "--out", out_s]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = minhbach(&[
        "--node",
        &node.url,
        "proof",
        "state",
        "--entity",
        "MOH",
        "--contract",
        "C-17",
        "--out",
        out_s,
        "--force",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
}
