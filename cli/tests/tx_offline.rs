//! Transaction files: `minhbach tx <operation> --out FILE` (unsigned or
//! signed), `tx sign`, `tx show` and `tx submit`, run as officials run them,
//! against a stand-in node or none. A file read back here is decoded
//! independently of the command line's own reader: hex, the ledger's
//! canonical decoder, and the ledger's signature checks.

mod support;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ledger::codec::{self, TX_BYTES_MAX};
use ledger::crypto::SigningKey;
use ledger::tx::{Op, TxSignature};
use ledger::{Amount, ContractId, EntityId, PublicKey, Signature, SignedTx, TxBody};
use serde_json::{json, Value};
use support::{key_file, minhbach, minhbach_env, Request, Run, Stub};

const CHAIN: &str = "minhbach-test";
const OTHER: &str = "minhbach-other";
const SIGNER: &str = "BYT-BVBM";

fn pay_op() -> Op {
    Op::Pay {
        contract: ContractId::new("C-17").unwrap(),
        amount: Amount(1_250_000_000),
        reference: "INV-9".into(),
        document_hash: None,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `minhbach --chain-id CHAIN tx pay ... --unsigned --out FILE --nonce 7
/// --offline`: no node asked.
fn write_unsigned(dir: &Path, name: &str, chain: &str) -> PathBuf {
    let out = dir.join(name);
    let run = minhbach(&[
        "--chain-id",
        chain,
        "tx",
        "pay",
        "--signer",
        SIGNER,
        "--contract",
        "C-17",
        "--amount",
        "1.250.000.000",
        "--reference",
        "INV-9",
        "--unsigned",
        "--out",
        s(&out),
        "--nonce",
        "7",
        "--offline",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, format!("{}\n", out.display()));
    out
}

/// `minhbach [global...] tx sign FILE --key KEY [extra...]`.
fn sign(global: &[&str], file: &Path, key: &Path, extra: &[&str]) -> Run {
    let mut args = global.to_vec();
    args.extend(["tx", "sign", s(file), "--key", s(key)]);
    args.extend(extra);
    minhbach(&args)
}

/// Signs offline for [`CHAIN`], which must succeed.
fn sign_offline(file: &Path, key: &Path) -> Run {
    let run = sign(&["--chain-id", CHAIN], file, key, &["--offline"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    run
}

fn json_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The file's transaction, read without the command line's reader.
fn decode_file(path: &Path) -> SignedTx {
    let file = json_of(path);
    assert_eq!(file["format"], "minhbach-tx/1");
    let bytes = hex::decode(file["body"].as_str().unwrap()).unwrap();
    let body: TxBody = codec::decode::<TxBody, TX_BYTES_MAX>(&bytes).unwrap();
    let signatures = file["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| TxSignature {
            key: PublicKey::from_hex(s["key"].as_str().unwrap()).unwrap(),
            signature: Signature(
                hex::decode(s["signature"].as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap(),
            ),
        })
        .collect();
    SignedTx { body, signatures }
}

fn expected_body(chain: &str, nonce: u64) -> TxBody {
    TxBody {
        chain_id: chain.into(),
        signer: EntityId::new(SIGNER).unwrap(),
        nonce,
        op: pay_op(),
    }
}

fn status(chain: &str) -> String {
    json!({"chain_id": chain, "height": 41, "name": "val-0"}).to_string()
}

/// The signed transaction in a `POST /v1/txs` body.
fn posted(request: &Request) -> SignedTx {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body["tx"].as_str().unwrap())
        .unwrap();
    SignedTx::decode(&bytes).unwrap()
}

/// A node on `chain` whose signer's next nonce is `next_nonce`, accepting
/// every transaction and reporting it committed at height 12.
fn node(chain: &'static str, next_nonce: u64) -> Stub {
    Stub::start(move |r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/v1/status") => (200, status(chain)),
        ("GET", "/v1/entities/BYT-BVBM") => (
            200,
            json!({"id": SIGNER, "next_nonce": next_nonce}).to_string(),
        ),
        ("POST", "/v1/txs") => (202, json!({"hash": posted(r).hash().to_hex()}).to_string()),
        ("GET", t) if t.starts_with("/v1/txs/") => (
            200,
            json!({"status": "committed", "height": 12, "index": 0}).to_string(),
        ),
        _ => (
            404,
            json!({"error": {"code": "not_found", "message": r.target}}).to_string(),
        ),
    })
}

#[test]
fn an_unsigned_file_signed_by_two_keys_decodes_verifies_and_lists_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write_unsigned(d, "pay.json", CHAIN);
    let unsigned = decode_file(&file);
    assert_eq!(unsigned.body, expected_body(CHAIN, 7));
    assert!(unsigned.signatures.is_empty());
    // The readable fields say what the body says.
    let text = json_of(&file);
    assert_eq!(text["chain_id"], CHAIN);
    assert_eq!(text["signer"], SIGNER);
    assert_eq!(text["nonce"], 7);
    assert_eq!(
        text["op"],
        json!({"type": "pay", "contract": "C-17", "amount": "1250000000",
               "reference": "INV-9", "document_hash": null})
    );

    let (a_path, a) = key_file(d, "a.key", 21);
    let (b_path, b) = key_file(d, "b.key", 22);
    let run = sign_offline(&file, &a_path);
    assert!(
        run.stdout
            .contains(&format!("signed by   {}", a.public_key().to_hex())),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("signing: BYT-BVBM pays 1,250,000,000 đồng"),
        "{run:?}"
    );
    let run = sign_offline(&file, &b_path);
    assert!(
        run.stdout.contains("signatures  2 (in key order)"),
        "{run:?}"
    );

    let tx = decode_file(&file);
    assert_eq!(tx.body, expected_body(CHAIN, 7));
    let mut keys = vec![a.public_key(), b.public_key()];
    keys.sort();
    assert_eq!(tx.signing_keys().copied().collect::<Vec<_>>(), keys);
    assert!(tx.verify_signatures());
    // Exactly what the ledger decodes: canonical, in form, the same again.
    let decoded = SignedTx::decode(&tx.encode()).unwrap();
    assert_eq!(decoded, tx);
    // The same as signing the body with both keys at once.
    assert_eq!(tx, expected_body(CHAIN, 7).sign_all(&[&b, &a]));

    let shown = minhbach(&["tx", "show", s(&file)]);
    assert_eq!(shown.code, Some(0), "{shown:?}");
    for line in [
        "operation     pay".to_owned(),
        "chain         minhbach-test".to_owned(),
        "signer        BYT-BVBM".to_owned(),
        "nonce         7".to_owned(),
        "amount        1,250,000,000 đồng".to_owned(),
        "reference     INV-9".to_owned(),
        "signatures    2 (in key order)".to_owned(),
        format!("  {}  valid", keys[0]),
        format!("  {}  valid", keys[1]),
    ] {
        assert!(
            shown.stdout.lines().any(|l| l == line),
            "{line:?} not in:\n{}",
            shown.stdout
        );
    }
    let shown = minhbach(&["--output", "json", "tx", "show", s(&file)]);
    assert_eq!(shown.code, Some(0), "{shown:?}");
    let v: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(v["operation"], "pay");
    assert_eq!(v["nonce"], 7);
    assert_eq!(v["op"], text["op"]);
    assert_eq!(
        v["summary"],
        "BYT-BVBM pays 1,250,000,000 đồng to the vendor of contract C-17 (reference \"INV-9\")"
    );
    assert_eq!(
        v["signatures"],
        json!([{"key": keys[0].to_hex(), "valid": true}, {"key": keys[1].to_hex(), "valid": true}])
    );

    // Signing again with the same key replaces its signature: still two.
    sign_offline(&file, &a_path);
    let again = decode_file(&file);
    assert_eq!(again.signatures.len(), 2);
    assert!(again.verify_signatures());
}

#[test]
fn an_unsigned_file_says_so_and_is_not_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_unsigned(dir.path(), "pay.json", CHAIN);
    let shown = minhbach(&["tx", "show", s(&file)]);
    assert!(shown.stdout.contains("signatures    none yet"), "{shown:?}");
    let stub = node(CHAIN, 7);
    let run = minhbach(&["--node", &stub.url, "tx", "submit", s(&file), "--wait"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("carries no signature yet")
            && run.stderr.contains("nothing was submitted"),
        "{run:?}"
    );
    assert_eq!(
        stub.targets(),
        Vec::<String>::new(),
        "refused before any request"
    );
}

#[test]
fn a_signed_file_is_submitted_as_it_is_and_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write_unsigned(d, "pay.json", CHAIN);
    let (a_path, _) = key_file(d, "a.key", 21);
    let (b_path, _) = key_file(d, "b.key", 22);
    sign_offline(&file, &a_path);
    sign_offline(&file, &b_path);
    let stub = node(CHAIN, 7);
    let run = minhbach(&["--node", &stub.url, "tx", "submit", s(&file), "--wait"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let requests = stub.requests();
    let posts: Vec<&Request> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "{:?}", stub.targets());
    let sent = posted(posts[0]);
    assert_eq!(sent, decode_file(&file));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], sent.hash().to_hex());
    assert!(lines[1].contains("committed at height 12"), "{run:?}");
}

#[test]
fn sign_refuses_a_file_for_another_chain_and_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write_unsigned(d, "pay.json", OTHER);
    let before = std::fs::read(&file).unwrap();
    let (key, _) = key_file(d, "a.key", 21);

    // Named otherwise by the user: refused before any node is asked.
    let run = sign(&["--chain-id", CHAIN], &file, &key, &["--offline"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "is a transaction for chain {OTHER}, not {CHAIN}; nothing was signed"
        )),
        "{run:?}"
    );
    let run = minhbach_env(
        &["tx", "sign", s(&file), "--key", s(&key), "--offline"],
        &[("MINHBACH_CHAIN_ID", CHAIN)],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("MINHBACH_CHAIN_ID"), "{run:?}");

    // Reported otherwise by the (local) node.
    let stub = node(CHAIN, 1);
    let run = sign(&["--node", &stub.url], &file, &key, &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "is a transaction for chain {OTHER}, but the node at {} is on chain {CHAIN}",
            stub.url
        )),
        "{run:?}"
    );
    assert_eq!(stub.targets(), ["GET /v1/status"], "no nonce asked");
    // Named as the file's chain, but the node is on another.
    let run = sign(
        &["--node", &stub.url, "--chain-id", OTHER],
        &file,
        &key,
        &[],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("nothing was signed"), "{run:?}");

    // Offline with no chain named: nothing confirms the file's chain.
    let run = sign(&[], &file, &key, &["--offline"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--offline"), "{run:?}");

    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert!(decode_file(&file).signatures.is_empty());
}

#[test]
fn sign_refuses_a_nonce_the_signer_has_used_and_checks_the_node_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write_unsigned(d, "pay.json", CHAIN);
    let before = std::fs::read(&file).unwrap();
    let (key, a) = key_file(d, "a.key", 21);

    let stub = node(CHAIN, 9);
    let run = sign(&["--node", &stub.url], &file, &key, &[]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains(
            "nonce 7 of BYT-BVBM is already used (the node's next nonce for BYT-BVBM is 9)"
        ),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // --offline skips the node: it is not even asked.
    let run = sign(
        &["--node", &stub.url, "--chain-id", CHAIN],
        &file,
        &key,
        &["--offline"],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(stub.targets().len(), 2, "only the first run asked");
    std::fs::write(&file, &before).unwrap();

    // The nonce still to come: signed, after asking the chain and the nonce.
    let stub = node(CHAIN, 7);
    let run = sign(
        &["--node", &stub.url, "--chain-id", CHAIN],
        &file,
        &key,
        &[],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        stub.targets(),
        ["GET /v1/status", "GET /v1/entities/BYT-BVBM"]
    );
    let tx = decode_file(&file);
    assert_eq!(
        tx.signing_keys().copied().collect::<Vec<_>>(),
        [a.public_key()]
    );
    assert!(tx.verify_signatures());
}

/// Rewrites the file's JSON with `change`.
fn edit(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut v = json_of(path);
    change(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// `tx show`, `tx sign --offline` and `tx submit` of `file` all exit 2 with
/// `reason`, and the file is left as it was.
fn refused_everywhere(file: &Path, key: &Path, reason: &str) {
    let before = std::fs::read(file).unwrap();
    let stub = node(CHAIN, 7);
    for run in [
        minhbach(&["tx", "show", s(file)]),
        sign(&["--chain-id", CHAIN], file, key, &["--offline"]),
        minhbach(&["--node", &stub.url, "tx", "submit", s(file)]),
    ] {
        assert_eq!(run.code, Some(2), "{reason}: {run:?}");
        assert!(run.stderr.contains(reason), "{reason}: {run:?}");
        assert_eq!(run.stdout, "", "{run:?}");
    }
    assert_eq!(std::fs::read(file).unwrap(), before);
    assert_eq!(stub.targets(), Vec::<String>::new());
}

#[test]
fn a_file_whose_readable_fields_disagree_with_its_body_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a_path, _) = key_file(d, "a.key", 21);
    let signed = write_unsigned(d, "pay.json", CHAIN);
    sign_offline(&signed, &a_path);
    let original = std::fs::read(&signed).unwrap();
    let fresh = |name: &str| {
        let path = d.join(name);
        std::fs::write(&path, &original).unwrap();
        path
    };

    // The amount people read is not the amount signed.
    let file = fresh("amount.json");
    edit(&file, |v| v["op"]["amount"] = "9250000000".into());
    refused_everywhere(
        &file,
        &a_path,
        "its readable op disagrees with its body, which is what is signed: its amount is \
         \"9250000000\" in the file, \"1250000000\" in the body",
    );
    // Nor the nonce, nor the signer, nor the chain.
    for (field, value) in [
        ("nonce", json!(8)),
        ("signer", json!("BYT")),
        ("chain_id", json!(OTHER)),
    ] {
        let file = fresh(&format!("{field}.json"));
        edit(&file, |v| v[field] = value);
        refused_everywhere(&file, &a_path, &format!("its readable {field} disagrees"));
    }
    // A body changed under unchanged readable fields.
    let other_body = codec::encode(&TxBody {
        op: Op::Pay {
            contract: ContractId::new("C-17").unwrap(),
            amount: Amount(9_250_000_000),
            reference: "INV-9".into(),
            document_hash: None,
        },
        ..expected_body(CHAIN, 7)
    });
    let file = fresh("body.json");
    edit(&file, |v| v["body"] = hex::encode(other_body).into());
    refused_everywhere(&file, &a_path, "its readable op disagrees");
    // A field missing from the readable op.
    let file = fresh("missing.json");
    edit(&file, |v| {
        v["op"].as_object_mut().unwrap().remove("document_hash");
    });
    refused_everywhere(&file, &a_path, "the file has no document_hash");
}

#[test]
fn an_unknown_format_or_a_signature_that_does_not_verify_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a_path, _) = key_file(d, "a.key", 21);
    let (b_path, _) = key_file(d, "b.key", 22);
    let signed = write_unsigned(d, "pay.json", CHAIN);
    sign_offline(&signed, &a_path);
    let original = std::fs::read(&signed).unwrap();
    let fresh = |name: &str| {
        let path = d.join(name);
        std::fs::write(&path, &original).unwrap();
        path
    };

    let file = fresh("v2.json");
    edit(&file, |v| v["format"] = "minhbach-tx/2".into());
    refused_everywhere(
        &file,
        &a_path,
        "the file is in format \"minhbach-tx/2\", which this minhbach does not read",
    );
    let file = fresh("none.json");
    edit(&file, |v| {
        v.as_object_mut().unwrap().remove("format");
    });
    refused_everywhere(&file, &a_path, "it has no \"format\"");
    let file = d.join("genesis.json");
    std::fs::write(&file, genesis::story::test_genesis().to_json()).unwrap();
    refused_everywhere(&file, &a_path, "no \"format\"");

    // A signature changed after it was made: shown as invalid, never
    // signed beside nor submitted.
    let file = fresh("forged.json");
    edit(&file, |v| {
        let sig = v["signatures"][0]["signature"].as_str().unwrap().to_owned();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        v["signatures"][0]["signature"] = format!("{flipped}{}", &sig[1..]).into();
    });
    let shown = minhbach(&["tx", "show", s(&file)]);
    assert_eq!(shown.code, Some(0), "{shown:?}");
    assert!(shown.stdout.contains("INVALID"), "{shown:?}");
    let before = std::fs::read(&file).unwrap();
    let stub = node(CHAIN, 7);
    for run in [
        sign(&["--chain-id", CHAIN], &file, &b_path, &["--offline"]),
        minhbach(&["--node", &stub.url, "tx", "submit", s(&file)]),
    ] {
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(run.stderr.contains("does not verify"), "{run:?}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert!(!stub.targets().iter().any(|t| t.starts_with("POST")));
}

#[test]
fn a_signed_file_for_another_chain_than_the_nodes_is_not_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a_path, _) = key_file(d, "a.key", 21);
    let file = write_unsigned(d, "pay.json", OTHER);
    sign(&["--chain-id", OTHER], &file, &a_path, &["--offline"]);
    assert_eq!(decode_file(&file).signatures.len(), 1);
    let stub = node(CHAIN, 7);
    let run = minhbach(&["--node", &stub.url, "tx", "submit", s(&file)]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("nothing was submitted"), "{run:?}");
    assert_eq!(stub.targets(), ["GET /v1/status"]);
    let run = minhbach(&[
        "--node",
        &stub.url,
        "--chain-id",
        CHAIN,
        "tx",
        "submit",
        s(&file),
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(stub.targets(), ["GET /v1/status"], "refused before asking");
}

#[test]
fn out_writes_a_file_signed_by_the_keys_given_with_the_nodes_chain_and_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a_path, a) = key_file(d, "a.key", 21);
    let out = d.join("pay.json");
    let stub = node(CHAIN, 11);
    let pay = |extra: &[&str]| {
        let mut args = vec![
            "--node",
            stub.url.as_str(),
            "tx",
            "pay",
            "--signer",
            SIGNER,
            "--contract",
            "C-17",
            "--amount",
            "1250000000",
            "--reference",
            "INV-9",
            "--out",
            s(&out),
        ];
        args.extend(extra);
        minhbach(&args)
    };
    let run = pay(&["--key", s(&a_path)]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        stub.targets(),
        ["GET /v1/status", "GET /v1/entities/BYT-BVBM"],
        "nothing submitted"
    );
    let tx = decode_file(&out);
    assert_eq!(
        tx,
        expected_body(CHAIN, 11).sign(&SigningKey::from_seed([21; 32]))
    );
    assert_eq!(
        tx.signing_keys().copied().collect::<Vec<_>>(),
        [a.public_key()]
    );

    // Never over an existing file, and refused before asking the node.
    let before = std::fs::read(&out).unwrap();
    let run = pay(&["--unsigned"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("--out") && run.stderr.contains("exists"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(stub.targets().len(), 2);

    // --offline without a named chain: no node to say which.
    std::fs::remove_file(&out).unwrap();
    let run = pay(&["--unsigned", "--offline", "--nonce", "3"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--chain-id"), "{run:?}");
    assert!(!out.exists());
    assert_eq!(stub.targets().len(), 2);
}

#[test]
fn a_key_set_the_ledger_would_refuse_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let (key, a) = key_file(dir.path(), "btc.key", 21);
    let other = SigningKey::from_seed([22; 32]).public_key().to_hex();
    let a = a.public_key().to_hex();
    let stub = node(CHAIN, 1);
    for (keys, threshold, reason) in [
        (
            vec![a.as_str(), other.as_str()],
            "3",
            "threshold 3 with 2 keys",
        ),
        (vec![a.as_str()], "0", "threshold 0 with 1 keys"),
        (vec![a.as_str(), a.as_str()], "1", "is listed twice"),
    ] {
        let mut args = vec![
            "--node",
            stub.url.as_str(),
            "tx",
            "set-keys",
            "--key",
            s(&key),
            "--signer",
            "BTC",
            "--entity",
            "BYT",
            "--threshold",
            threshold,
        ];
        for k in &keys {
            args.extend(["--public-key", k]);
        }
        let run = minhbach(&args);
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(
            run.stderr.contains("--threshold") && run.stderr.contains(reason),
            "{reason}: {run:?}"
        );
    }
    assert_eq!(stub.targets(), Vec::<String>::new());
}
