//! The exports end to end: a real node commits awards, payments, an
//! amendment and a delivery; `GET /v1/export.csv` and
//! `/v1/export/ocds.json` and `minhbach export` give them back, stamped
//! with a height and block hash that the node's own block agrees with.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ledger::testkit::id;
use ledger::{Amount, ContractId, Hash, LineCode, Op, Year};
use serde_json::Value;
use tests::cluster::Cluster;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);
const LINE: &str = "YTE.DTPT";

fn cid(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

/// Signs `op` as `signer`, submits it to node 0 and waits for the commit;
/// returns the transaction hash.
fn commit(c: &Cluster, signer: &str, op: Op) -> String {
    let tx = c.sign_next(0, signer, op);
    let hash = c.submit(0, &tx).expect("accepted");
    c.wait_committed(0, &hash, BLOCKS);
    hash
}

fn award(contract: &str, year: u16, amount: u64) -> Op {
    Op::Award {
        contract: cid(contract),
        year: Year(year),
        line: LineCode::new(LINE).unwrap(),
        vendor: id("V-0001"),
        amount: Amount(amount),
        title: format!("Máy thở, gói {contract}"),
        document_hash: Some(Hash::digest(contract.as_bytes())),
    }
}

fn pay(contract: &str, amount: u64, reference: &str) -> Op {
    Op::Pay {
        contract: cid(contract),
        amount: Amount(amount),
        reference: reference.into(),
        document_hash: None,
    }
}

/// A GET on node 0's API: status, headers and body.
fn get(c: &Cluster, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let url = format!("{}{path}", c.node(0).api_url());
    let r = reqwest::blocking::get(url).expect("the node answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().unwrap().to_vec())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The stamp of a download, checked against the node's block at that height.
fn checked_stamp(c: &Cluster, headers: &reqwest::header::HeaderMap) -> (u64, String) {
    let height: u64 = header(headers, "x-minhbach-height").parse().unwrap();
    let hash = header(headers, "x-minhbach-block-hash").to_owned();
    assert_eq!(
        c.block_hash(0, height).as_deref(),
        Some(hash.as_str()),
        "the stamp names block {height} as the node has it"
    );
    (height, hash)
}

fn error_code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("an error body in JSON");
    v["error"]["code"].as_str().expect("error.code").to_owned()
}

fn run(node: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["--node", node])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn csv_rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(bytes)
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn exports_over_http_and_the_command_line_name_their_block() {
    let mut c = Cluster::new(BIN, 1, 0);
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    for year in [2026, 2027] {
        let op = Op::Appropriate {
            year: Year(year),
            line: LineCode::new(LINE).unwrap(),
            to: id("BYT"),
            amount: Amount(10_000_000_000),
            legal_ref: "Nghị quyết 01/2026/QH15".into(),
        };
        commit(&c, "BTC", op);
        let op = Op::Allocate {
            year: Year(year),
            line: LineCode::new(LINE).unwrap(),
            to: id("BYT-BVBM"),
            amount: Amount(5_000_000_000),
        };
        commit(&c, "BYT", op);
    }
    commit(&c, "BYT-BVBM", award("C-26-1", 2026, 900_000_000));
    commit(&c, "BYT-BVBM", award("C-27-1", 2027, 100_000_000));
    let p1 = commit(&c, "BYT-BVBM", pay("C-26-1", 300_000_000, "UNC-1"));
    let amend = Op::AmendContract {
        contract: cid("C-26-1"),
        amount: Amount(800_000_000),
        reason: "Giảm số lượng".into(),
        document_hash: None,
    };
    commit(&c, "BYT-BVBM", amend);
    let delivered = Op::ConfirmDelivery {
        contract: cid("C-26-1"),
        milestone: "Bàn giao đợt 1".into(),
        note: "".into(),
    };
    commit(&c, "BYT-BVBM", delivered);
    let p2 = commit(&c, "BYT-BVBM", pay("C-26-1", 500_000_000, "UNC-2"));
    let p3 = commit(&c, "BYT-BVBM", pay("C-27-1", 40_000_000, "UNC-3"));

    // CSV of every year.
    let (status, headers, body) = get(&c, "/v1/export.csv");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
    let (height, hash) = checked_stamp(&c, &headers);
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("attachment; filename=\"minhbach-test-h{height}.csv\"")
    );
    let rows = csv_rows(&body);
    for r in &rows {
        assert_eq!(&r[0], height.to_string(), "as_of_height");
        assert_eq!(&r[1], hash, "as_of_block_hash");
    }
    let payments: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| &r[2] == "payment")
        .map(|r| (r[5].to_owned(), r[6].to_owned(), r[16].to_owned()))
        .collect();
    assert_eq!(
        payments,
        [
            (p1, "C-26-1".into(), "300000000".into()),
            (p2.clone(), "C-26-1".into(), "500000000".into()),
            (p3, "C-27-1".into(), "40000000".into()),
        ]
    );
    let contract = rows
        .iter()
        .find(|r| &r[2] == "contract" && &r[6] == "C-26-1")
        .unwrap();
    assert_eq!(&contract[9], "Bệnh viện Bạch Mai");
    assert_eq!(&contract[16], "800000000", "the amended amount");
    assert_eq!(&contract[17], "800000000", "paid in full");
    assert_eq!(&contract[18], "1", "one delivery");

    // OCDS of 2026.
    let (status, headers, body) = get(&c, "/v1/export/ocds.json?year=2026");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/json");
    let (height, hash) = checked_stamp(&c, &headers);
    assert!(
        header(&headers, "content-disposition").ends_with(&format!("-h{height}-2026.ocds.json\""))
    );
    let package: Value = serde_json::from_slice(&body).unwrap();
    let releases = package["releases"].as_array().unwrap();
    // Each release names the block, in the extension's `minhbach` object.
    assert_eq!(releases[0]["minhbach"]["height"], height);
    assert_eq!(releases[0]["minhbach"]["blockHash"], hash);
    assert_eq!(releases.len(), 1, "2026 only");
    let contract = &releases[0]["contracts"][0];
    assert_eq!(releases[0]["ocid"], "ocds-mb0000-minhbach-test-C-26-1");
    assert_eq!(contract["value"]["amount"], 800_000_000u64);
    assert_eq!(
        contract["implementation"]["transactions"][1]["id"],
        p2.as_str()
    );

    // Bad queries are 400 invalid_argument; an empty OCDS year is 404.
    for bad in ["year=abc", "year=1999", "year=", "yaer=2026"] {
        for route in ["/v1/export.csv", "/v1/export/ocds.json"] {
            let (status, _, body) = get(&c, &format!("{route}?{bad}"));
            assert_eq!(status, 400, "{route}?{bad}");
            assert_eq!(error_code(&body), "invalid_argument", "{route}?{bad}");
        }
    }
    let (status, _, body) = get(&c, "/v1/export/ocds.json?year=2031");
    assert_eq!((status, error_code(&body)), (404, "not_found".into()));
    let (status, _, body) = get(&c, "/v1/export.csv?year=2031");
    assert_eq!(status, 200);
    let rows = csv_rows(&body);
    assert_eq!(rows.len(), 1, "the snapshot row alone");
    assert_eq!(&rows[0][2], "snapshot");

    // The command line writes the file, names the block, and keeps files.
    let node = c.node(0).api_url();
    let out = c.dir().join("spending.csv");
    let out_s = out.to_str().unwrap();
    let (code, err) = run(&node, &["export", "csv", "--year", "2027", "--out", out_s]);
    assert_eq!(code, Some(0), "{err}");
    let written = std::fs::read(&out).unwrap();
    let rows = csv_rows(&written);
    let as_of = (rows[0][0].to_owned(), rows[0][1].to_owned());
    assert!(err.contains(&format!("height {}", as_of.0)), "{err}");
    assert!(err.contains(&as_of.1), "{err}");
    assert_eq!(
        c.block_hash(0, as_of.0.parse().unwrap()).as_deref(),
        Some(as_of.1.as_str())
    );
    assert!(rows.iter().all(|r| &r[14] == "2027"));

    let (code, err) = run(&node, &["export", "csv", "--out", out_s]);
    assert_eq!(code, Some(2), "refuses to overwrite: {err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), written, "the file is kept");
    let (code, err) = run(&node, &["export", "csv", "--out", out_s, "--force"]);
    assert_eq!(code, Some(0), "{err}");
    assert_ne!(std::fs::read(&out).unwrap(), written, "every year now");

    let json_out = c.dir().join("ocds.json");
    let json_s = json_out.to_str().unwrap();
    let (code, err) = run(
        &node,
        &["export", "ocds", "--year", "2031", "--out", json_s],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not_found"), "{err}");
    assert!(!Path::new(&json_out).exists(), "nothing written");
    let (code, err) = run(&node, &["export", "ocds", "--out", json_s]);
    assert_eq!(code, Some(0), "{err}");
    let package: Value = serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    assert_eq!(package["releases"].as_array().unwrap().len(), 2);

    c.kill(0);
    let gone = c.dir().join("gone.csv");
    let (code, _) = run(&node, &["export", "csv", "--out", gone.to_str().unwrap()]);
    assert_eq!(code, Some(3), "node unreachable");
    assert!(!gone.exists());
}
