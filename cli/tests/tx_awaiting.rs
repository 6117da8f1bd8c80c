//! Signatures gathered on a node, end to end against a one-validator
//! network of a real node process on loopback, payments of 50 tỷ or more
//! co-signed by KBNN: the department leaves a payment with the node (`tx
//! submit FILE --awaiting`), `query awaiting` shows it waiting for KBNN,
//! KBNN writes it to a file (`tx fetch`), reads, signs and sends it back,
//! and it is committed; or KBNN posts the same payment with only its own
//! signature and the node merges the two. Then `query year` shows the
//! year's figures. And how those commands parse.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cli::tx::{parse_args, TxCommand};
use genesis::story;
use ledger::state::ControlRule;
use ledger::{Amount, EntityId, Hash};
use node::testnet::Governance;
use serde_json::Value;
use support::minhbach;
use support::net::{mri_award, Net, TX_WAIT};
use tools::client::Client;

#[test]
fn submit_awaiting_and_fetch_parse() {
    match parse_args(["submit", "tx.json", "--awaiting"]) {
        Ok(TxCommand::Submit(a)) => assert!(a.awaiting && !a.wait),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("not submit"),
    }
    match parse_args([
        "submit",
        "tx.json",
        "--awaiting",
        "--wait",
        "--timeout",
        "30",
    ]) {
        Ok(TxCommand::Submit(a)) => {
            assert!(a.awaiting && a.wait);
            assert_eq!(a.timeout, Duration::from_secs(30));
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("not submit"),
    }
    match parse_args(["submit", "tx.json"]) {
        Ok(TxCommand::Submit(a)) => assert!(!a.awaiting),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("not submit"),
    }
    let id = "ab".repeat(32);
    match parse_args(["fetch", &id, "--out", "pay.json"]) {
        Ok(TxCommand::Fetch(a)) => {
            assert_eq!(a.id, Hash::from_hex(&id).unwrap());
            assert_eq!(a.out, PathBuf::from("pay.json"));
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("not fetch"),
    }
    let err = parse_args(["fetch", "abc", "--out", "pay.json"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("64 hex digits"), "{err}");
    let err = parse_args(["fetch", &id]).unwrap_err().to_string();
    assert!(err.contains("--out"), "{err}");
}

#[test]
fn query_awaiting_and_year_parse() {
    // Refused before any request: the node here does not exist.
    let url = support::closed_url();
    let run = minhbach(&["--node", &url, "query", "year", "1999"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("fiscal year"), "{run:?}");
    let run = minhbach(&["--node", &url, "query", "awaiting", "extra"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    // Well formed, they reach for the node: unreachable is exit 3.
    for args in [&["query", "awaiting"][..], &["query", "year", "2026"]] {
        let run = minhbach(&[&["--node", url.as_str()], args].concat());
        assert_eq!(run.code, Some(3), "{args:?}: {run:?}");
    }
}

/// A one-validator network of the devnet story's entities where payments
/// and awards of 50 tỷ or more need KBNN.
fn start(chain_id: &str) -> Net {
    let governance = Governance {
        control: vec![ControlRule {
            ministry: None,
            amount: Amount(story::CONTROL_FROM_VND),
            controller: EntityId::new(story::CONTROLLER).unwrap(),
        }],
        ..Governance::default()
    };
    Net::start(chain_id, &governance)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The value on the table line for `key` (`key  value`).
fn table_value<'a>(table: &'a str, key: &str) -> &'a str {
    table
        .lines()
        .find_map(|l| l.strip_prefix(key).filter(|rest| rest.starts_with(' ')))
        .unwrap_or_else(|| panic!("no {key} in:\n{table}"))
        .trim()
}

#[test]
fn a_payment_gathers_the_controllers_signature_on_the_node() {
    let net = start("minhbach-awaiting");
    let (bvbm, kbnn) = (net.key("BYT-BVBM"), net.key("KBNN"));
    net.fund_hospital("200.000.000.000", "150.000.000.000");
    let signers = ["--key", &bvbm, "--key", &kbnn, "--signer", "BYT-BVBM"];
    let wait = ["--wait", "--timeout", TX_WAIT];
    net.tx_ok(&[&mri_award("120.000.000.000")[..], &signers, &wait].concat());
    let pay = |reference: &str, key: &str, out: &Path| {
        net.ok(&[
            "tx",
            "pay",
            "--contract",
            "C-1",
            "--amount",
            "55.000.000.000",
            "--reference",
            reference,
            "--key",
            key,
            "--signer",
            "BYT-BVBM",
            "--out",
            s(out),
        ]);
    };

    // The hospital leaves the first payment with the node.
    let mine = net.path("pay-1.json");
    pay("HĐ-01", &bvbm, &mine);
    let kept = net.ok(&["tx", "submit", s(&mine), "--awaiting"]);
    let id = table_value(&kept.stdout, "awaiting").to_owned();
    assert_eq!(id.len(), 64, "{kept:?}");
    assert!(
        table_value(&kept.stdout, "needs").starts_with("approval_required:"),
        "{kept:?}"
    );
    assert!(kept.stderr.contains("tx fetch"), "{kept:?}");

    // It waits for KBNN, in every output.
    let table = net.ok(&["query", "awaiting"]).stdout;
    assert!(table.contains("awaiting (1)"), "{table}");
    let row = table.lines().find(|l| l.contains(&id)).expect(&table);
    for word in [
        "BYT-BVBM",
        "pay",
        "C-1",
        "55,000,000,000",
        "approval_required",
        "KBNN",
    ] {
        assert!(row.contains(word), "{word} not in {row}");
    }
    let json: Value =
        serde_json::from_str(&net.ok_as("json", &["query", "awaiting"]).stdout).unwrap();
    let entry = &json["awaiting"][0];
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["waits_for"]["entity"], "KBNN");
    assert_eq!(entry["waits_for"]["signed"], 0);
    let csv = net.ok_as("csv", &["query", "awaiting"]).stdout;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("height,id,signer,nonce,op,"),
        "{csv}"
    );
    let row = lines.next().expect(&csv);
    assert!(
        row.contains(&format!(
            ",{id},BYT-BVBM,2,pay,C-1,55000000000,approval_required,KBNN,0,1,"
        )),
        "{csv}"
    );

    // KBNN writes it to a file, reads it, signs it and sends it back.
    let theirs = net.path("fetched.json");
    let fetched = net.ok(&["tx", "fetch", &id, "--out", s(&theirs)]);
    assert_eq!(fetched.stdout.trim(), s(&theirs));
    assert!(fetched.stderr.contains("KBNN"), "{fetched:?}");
    let again = net.run("table", &["tx", "fetch", &id, "--out", s(&theirs)]);
    assert_eq!(again.code, Some(2), "never overwritten: {again:?}");
    let shown = net.ok(&["tx", "show", s(&theirs)]).stdout;
    assert!(shown.contains("signatures    1 (in key order)"), "{shown}");
    assert!(shown.contains("55,000,000,000 đồng"), "{shown}");
    assert!(shown.contains("valid"), "{shown}");
    net.ok(&["tx", "sign", s(&theirs), "--key", &kbnn]);
    let sent = net.ok(&[
        "tx",
        "submit",
        s(&theirs),
        "--awaiting",
        "--wait",
        "--timeout",
        TX_WAIT,
    ]);
    assert!(sent.stdout.contains("committed at height"), "{sent:?}");
    assert!(net
        .ok(&["query", "awaiting"])
        .stdout
        .contains("awaiting: none"));
    let gone = net.run(
        "table",
        &["tx", "fetch", &id, "--out", s(&net.path("late.json"))],
    );
    assert_eq!(gone.code, Some(1), "{gone:?}");
    assert!(gone.stderr.contains("not_found"), "{gone:?}");

    // The second: the hospital's signature and KBNN's, each posted alone
    // on the same payment, merged by the node.
    let hospital = net.path("pay-2-bvbm.json");
    let controller = net.path("pay-2-kbnn.json");
    pay("HĐ-02", &bvbm, &hospital);
    pay("HĐ-02", &kbnn, &controller);
    let kept: Value = serde_json::from_str(
        &net.ok_as("json", &["tx", "submit", s(&hospital), "--awaiting"])
            .stdout,
    )
    .unwrap();
    assert_eq!(kept["status"], "awaiting", "{kept}");
    assert_eq!(kept["needs"]["code"], "approval_required", "{kept}");
    let merged = net.ok_as(
        "json",
        &[
            "tx",
            "submit",
            s(&controller),
            "--awaiting",
            "--wait",
            "--timeout",
            TX_WAIT,
        ],
    );
    let merged: Value = serde_json::from_str(&merged.stdout).unwrap();
    assert_eq!(merged["status"], "committed", "{merged}");

    // Under the rule's amount the hospital's signature suffices: submitted
    // at once.
    let small = net.path("pay-3.json");
    net.ok(&[
        "tx",
        "pay",
        "--contract",
        "C-1",
        "--amount",
        "1.000.000",
        "--reference",
        "HĐ-03",
        "--key",
        &bvbm,
        "--signer",
        "BYT-BVBM",
        "--out",
        s(&small),
    ]);
    let csv = net
        .ok_as("csv", &["tx", "submit", s(&small), "--awaiting"])
        .stdout;
    let hash = csv
        .strip_prefix("status,hash\nsubmitted,")
        .unwrap_or_else(|| panic!("{csv}"))
        .trim();
    let client = Client::new(&net.url(), None).unwrap();
    let committed = client.wait_for_tx(hash, Duration::from_secs(60)).unwrap();
    assert_eq!(committed["status"], "committed", "{committed}");
    // Refused as a submission would be, and nothing kept: more than the
    // contract owes; a file no one has signed.
    let over = net.path("pay-4.json");
    let unsigned = net.path("pay-5.json");
    net.ok(&[
        "tx",
        "pay",
        "--contract",
        "C-1",
        "--amount",
        "60.000.000.000",
        "--reference",
        "HĐ-04",
        "--key",
        &bvbm,
        "--signer",
        "BYT-BVBM",
        "--out",
        s(&over),
    ]);
    let refused = net.run("table", &["tx", "submit", s(&over), "--awaiting"]);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("over_contract"), "{refused:?}");
    net.ok(&[
        "tx",
        "pay",
        "--contract",
        "C-1",
        "--amount",
        "1.000.000",
        "--reference",
        "HĐ-05",
        "--signer",
        "BYT-BVBM",
        "--unsigned",
        "--out",
        s(&unsigned),
    ]);
    let none = net.run("table", &["tx", "submit", s(&unsigned), "--awaiting"]);
    assert_eq!(none.code, Some(2), "{none:?}");
    assert!(none.stderr.contains("no signature"), "{none:?}");
    assert!(net
        .ok(&["query", "awaiting"])
        .stdout
        .contains("awaiting: none"));

    // The year's figures: what the ministry received and passed on, what
    // the hospital committed and paid.
    let year = net.ok(&["query", "year", "2026"]).stdout;
    assert!(year.contains("status  open"), "{year}");
    let row = |id: &str| {
        year.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no {id} in:\n{year}"))
            .to_owned()
    };
    let byt_row = row("BYT");
    assert!(
        byt_row.contains("200,000,000,000") && byt_row.contains("150,000,000,000"),
        "{year}"
    );
    let bvbm_row = row("BYT-BVBM");
    assert!(
        bvbm_row.contains("120,000,000,000") && bvbm_row.contains("110,001,000,000"),
        "{year}"
    );
    assert!(bvbm_row.ends_with(" -"), "not lapsed while open: {year}");
    let json: Value =
        serde_json::from_str(&net.ok_as("json", &["query", "year", "2026"]).stdout).unwrap();
    assert_eq!(json["closed"], false);
    assert_eq!(json["year"], 2026);
    let csv = net.ok_as("csv", &["query", "year", "2026"]).stdout;
    assert!(
        csv.starts_with(
            "year,closed,id,kind,name,parent,received,passed_on,committed,paid,unspent,lapsed\n"
        ),
        "{csv}"
    );
    assert!(csv.contains("2026,false,BYT-BVBM,department,"), "{csv}");
}
