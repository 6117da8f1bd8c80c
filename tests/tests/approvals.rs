//! Approvals end to end, on four validator processes of the devnet story:
//! a treasury of three keys of which two must sign, the State Treasury's
//! control office co-signing payments of 50 tỷ or more, and the treasury's
//! changes of another entity's keys waiting eight blocks.
//!
//! - The treasury registers a department with two signatures gathered in a
//!   transaction file, one official after the other; one alone is refused.
//! - A payment above the control amount is refused without the controller,
//!   and committed once the controller signs the file too; another waits on
//!   the node for the controller's signature, posted separately, and is
//!   committed once it arrives.
//! - The treasury's change of a department's key is pending, the department
//!   cancels it, and it never takes effect.
//! - The treasury closes the fiscal year; a payment on it is then refused,
//!   and the year's figures are final.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ledger::crypto::{read_key_file, SigningKey};
use ledger::state::ControlRule;
use ledger::tx::TxBody;
use ledger::{Amount, EntityId, Op, SignedTx, Year};
use node::testnet::Governance;
use serde_json::Value;
use tests::cluster::{wait_for, Cluster};
use tests::ops::{allocate, appropriate, id, YEAR};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);
/// The treasury's change of another entity's keys waits this many blocks.
const DELAY: u64 = 8;
/// One tỷ đồng.
const B: u64 = 1_000_000_000;

/// Runs the CLI against node 0; exit code, stdout and stderr.
fn cli(c: &Cluster, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .arg("--node")
        .arg(c.node(0).api_url())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the CLI and expects exit 0; its stdout.
fn ok(c: &Cluster, args: &[&str]) -> String {
    let (code, out, err) = cli(c, args);
    assert_eq!(code, Some(0), "minhbach {args:?}\n{out}\n{err}");
    out
}

/// Runs the CLI and expects the node's refusal with `code` (exit 1).
fn refused(c: &Cluster, args: &[&str], code: &str) {
    let (exit, out, err) = cli(c, args);
    assert_eq!(exit, Some(1), "minhbach {args:?}\n{out}\n{err}");
    assert!(err.contains(code), "{code} not in:\n{err}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An entity's `n`-th key file (0 for the first).
fn key_path(c: &Cluster, entity: &str, n: usize) -> String {
    let f = c.key_file(entity, n).expect("the entity holds that key");
    f.to_str().unwrap().to_owned()
}

fn key(c: &Cluster, entity: &str, n: usize) -> SigningKey {
    read_key_file(Path::new(&key_path(c, entity, n))).unwrap()
}

/// `op` signed by `signer` with `keys`, at the nonce node 0 says is next.
fn signed(c: &Cluster, signer: &str, keys: &[&SigningKey], op: Op) -> SignedTx {
    let nonce = c.client(0).next_nonce(&id(signer)).unwrap();
    TxBody {
        chain_id: c.plan.chain_id.clone(),
        signer: id(signer),
        nonce,
        op,
    }
    .sign_all(keys)
}

/// Submits to node 0 and waits for the commit; its height.
fn commit(c: &Cluster, tx: &SignedTx) -> u64 {
    let hash = c.submit(0, tx).unwrap();
    let record = c.wait_committed(0, &hash, BLOCKS);
    record["height"].as_u64().expect("a committed height")
}

fn entity(c: &Cluster, id: &str) -> Value {
    c.client(0).get(&format!("/v1/entities/{id}")).unwrap()
}

#[test]
fn approvals_hold_on_a_network_of_four_validators() {
    let governance = Governance {
        key_sets: vec![(EntityId::new("BTC").unwrap(), 3, 2)],
        rotation_delay: Some(DELAY),
        control: vec![ControlRule {
            ministry: None,
            amount: Amount(50 * B),
            controller: EntityId::new("KBNN").unwrap(),
        }],
    };
    let mut c = Cluster::with_governance(BIN, 4, 0, genesis::story::entities(), &governance);
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let dir = tempfile::tempdir().unwrap();
    let (btc1, btc2) = (key(&c, "BTC", 0), key(&c, "BTC", 1));

    // 1. The treasury registers a department: the file goes from one
    //    official to the next; with one signature it is refused.
    let newcomer = SigningKey::generate();
    let file = dir.path().join("register.json");
    ok(
        &c,
        &[
            "tx",
            "register-entity",
            "--signer",
            "BTC",
            "--id",
            "BYT-BVE",
            "--kind",
            "department",
            "--name",
            "Bệnh viện E",
            "--parent",
            "BYT",
            "--public-key",
            &newcomer.public_key().to_hex(),
            "--unsigned",
            "--out",
            s(&file),
        ],
    );
    ok(
        &c,
        &["tx", "sign", s(&file), "--key", &key_path(&c, "BTC", 0)],
    );
    let once = dir.path().join("register-once.json");
    std::fs::copy(&file, &once).unwrap();
    refused(
        &c,
        &["tx", "submit", s(&once), "--wait"],
        "threshold_not_met",
    );
    ok(
        &c,
        &["tx", "sign", s(&file), "--key", &key_path(&c, "BTC", 2)],
    );
    let out = ok(&c, &["tx", "submit", s(&file), "--wait"]);
    assert!(out.contains("committed at height"), "{out}");
    assert_eq!(entity(&c, "BYT-BVE")["kind"], "department");

    // Budget for Bạch Mai, and a 60 tỷ contract, which the controller
    // co-signs as the rule asks.
    let dept = key(&c, "BYT-BVBM", 0);
    let kbnn = key(&c, "KBNN", 0);
    commit(
        &c,
        &signed(
            &c,
            "BTC",
            &[&btc1, &btc2],
            appropriate("BYT", "YTE.DTPT", 500 * B),
        ),
    );
    commit(
        &c,
        &signed(
            &c,
            "BYT",
            &[&key(&c, "BYT", 0)],
            allocate("BYT-BVBM", "YTE.DTPT", 500 * B),
        ),
    );
    let award = testkit::ops::award("C-KSC-1", YEAR, "YTE.DTPT", "V-0001", 120 * B, "Máy MRI");
    let unapproved = signed(&c, "BYT-BVBM", &[&dept], award.clone());
    let err = c.submit(0, &unapproved).unwrap_err().to_string();
    assert!(err.contains("approval_required"), "{err}");
    commit(&c, &signed(&c, "BYT-BVBM", &[&dept, &kbnn], award));

    // 2. A payment of 55 tỷ: the department alone is refused; with the
    //    controller's signature on the same file it is committed.
    let pay = [
        "tx",
        "pay",
        "--signer",
        "BYT-BVBM",
        "--contract",
        "C-KSC-1",
        "--amount",
        "55000000000",
        "--reference",
        "INV-KSC-1",
    ];
    let dept_key = key_path(&c, "BYT-BVBM", 0);
    let mut alone = pay.to_vec();
    alone.extend(["--key", &dept_key, "--wait"]);
    refused(&c, &alone, "approval_required");
    let file = dir.path().join("pay.json");
    let mut unsigned = pay.to_vec();
    unsigned.extend(["--unsigned", "--out", s(&file)]);
    ok(&c, &unsigned);
    ok(&c, &["tx", "sign", s(&file), "--key", &dept_key]);
    refused(
        &c,
        &["tx", "submit", s(&file), "--wait"],
        "approval_required",
    );
    ok(
        &c,
        &["tx", "sign", s(&file), "--key", &key_path(&c, "KBNN", 0)],
    );
    let out = ok(&c, &["tx", "submit", s(&file), "--wait"]);
    assert!(out.contains("committed at height"), "{out}");
    let contract = c.client(0).get("/v1/contracts/C-KSC-1").unwrap();
    assert_eq!(contract["paid"], "55000000000");

    // Another 52 tỷ: the hospital's signature waits on the node until the
    // controller posts its own, for the same bytes.
    let body = TxBody {
        chain_id: c.plan.chain_id.clone(),
        signer: id("BYT-BVBM"),
        nonce: c.client(0).next_nonce(&id("BYT-BVBM")).unwrap(),
        op: testkit::ops::pay("C-KSC-1", 52 * B, "INV-KSC-4"),
    };
    let kept = post_awaiting(&c, &body.clone().sign(&dept));
    assert_eq!(kept["status"], "awaiting", "{kept}");
    assert_eq!(kept["needs"]["code"], "approval_required");
    let list = c.client(0).get("/v1/awaiting").unwrap();
    let waiting = &list["awaiting"][0];
    assert_eq!(waiting["id"], kept["id"]);
    assert_eq!(waiting["waits_for"]["entity"], "KBNN", "{list}");
    let done = post_awaiting(&c, &body.sign(&kbnn));
    assert_eq!(done["status"], "submitted", "{done}");
    c.wait_committed(0, done["hash"].as_str().unwrap(), BLOCKS);
    let contract = c.client(0).get("/v1/contracts/C-KSC-1").unwrap();
    assert_eq!(contract["paid"], "107000000000");
    let list = c.client(0).get("/v1/awaiting").unwrap();
    assert_eq!(list["awaiting"].as_array().map(Vec::len), Some(0), "{list}");

    // 3. The treasury sets a new key for Bạch Mai: pending for DELAY
    //    blocks; the hospital cancels it; it never takes effect.
    let stranger = SigningKey::generate();
    let set = Op::SetKeys {
        entity: id("BYT-BVBM"),
        keys: vec![stranger.public_key()],
        threshold: 1,
    };
    let at = commit(&c, &signed(&c, "BTC", &[&btc1, &btc2], set));
    let pending = entity(&c, "BYT-BVBM")["pending_keys"].clone();
    assert_eq!(pending["effective"].as_u64(), Some(at + DELAY), "{pending}");
    assert_eq!(pending["keys"][0], stranger.public_key().to_hex());
    ok(
        &c,
        &[
            "tx",
            "cancel-keys",
            "--key",
            &dept_key,
            "--signer",
            "BYT-BVBM",
            "--entity",
            "BYT-BVBM",
            "--wait",
        ],
    );
    assert!(entity(&c, "BYT-BVBM")["pending_keys"].is_null());
    c.wait_height(0, at + DELAY + 1, BLOCKS);
    let small = testkit::ops::pay("C-KSC-1", B, "INV-KSC-2");
    let by_stranger = signed(&c, "BYT-BVBM", &[&stranger], small.clone());
    let err = c.submit(0, &by_stranger).unwrap_err().to_string();
    assert!(err.contains("foreign_signature"), "{err}");
    commit(&c, &signed(&c, "BYT-BVBM", &[&dept], small));
    assert_eq!(
        entity(&c, "BYT-BVBM")["keys"][0],
        dept.public_key().to_hex(),
        "the hospital still holds its own key"
    );

    // 4. The treasury closes 2026; a payment on a 2026 contract is refused.
    let close = Op::CloseYear { year: Year(YEAR) };
    let closed_at = commit(&c, &signed(&c, "BTC", &[&btc1, &btc2], close));
    let mut late = pay.to_vec();
    late[9] = "INV-KSC-3";
    late[7] = "1000000";
    late.extend(["--key", &dept_key, "--wait"]);
    refused(&c, &late, "year_closed");
    wait_for("the refusal to leave nothing behind", BLOCKS, || {
        let contract = c.client(0).get("/v1/contracts/C-KSC-1").ok()?;
        (contract["paid"] == "108000000000").then_some(())
    });
    // The year's figures are final: Bạch Mai received 500 tỷ, committed
    // 120 and paid 108; the other 392 lapsed.
    let year = c.client(0).get(&format!("/v1/years/{YEAR}")).unwrap();
    assert_eq!(year["closed"], true);
    assert_eq!(year["closed_at"].as_u64(), Some(closed_at));
    let bvbm = year["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "BYT-BVBM")
        .expect("Bạch Mai's figures")
        .clone();
    assert_eq!(bvbm["received"], "500000000000");
    assert_eq!(bvbm["committed"], "120000000000");
    assert_eq!(bvbm["paid"], "108000000000");
    assert_eq!(bvbm["lapsed"], "392000000000", "{bvbm}");
}

/// Posts `tx` to node 0's `POST /v1/awaiting`; the answer (202).
fn post_awaiting(c: &Cluster, tx: &SignedTx) -> Value {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/awaiting", c.node(0).api_url()))
        .header("content-type", "application/octet-stream")
        .body(tx.encode())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{:?}", r.text());
    r.json().unwrap()
}
