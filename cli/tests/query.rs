//! `minhbach query` against a stand-in node: the route each query reads, and
//! its answer as JSON, a table and CSV; 404 exits 1, bad input 2, an
//! unreachable node 3.

mod support;

use serde_json::{json, Value};
use support::{closed_url, minhbach, minhbach_env, Stub};

fn status() -> Value {
    json!({
        "chain_id": "minhbach-test", "node_id": "12D3KooWnode", "name": "val-0",
        "height": 1234, "round": 0, "last_block_hash": "ab".repeat(32),
        "last_block_time": "2026-03-01T08:00:00.250Z",
        "validators": [
            {"name": "val-0", "public_key": "01".repeat(32), "peer_id": "12D3KooWa", "power": 10},
            {"name": "val-1", "public_key": "02".repeat(32), "peer_id": "12D3KooWb", "power": 1},
        ],
        "peers": 4, "catching_up": false, "mempool_txs": 2,
    })
}

fn entity() -> Value {
    json!({
        "id": "MOH.BVBM", "kind": "department", "name": "Bệnh viện Bạch Mai", "parent": "MOH",
        "public_key": "11".repeat(32), "status": "active", "next_nonce": 8,
        "budgets": [
            {"year": 2026, "line": "0402-HEALTH-INFRA", "received": "50000000000",
             "passed_on": "0", "committed": "3000000", "paid": "300000",
             "available": "49997000000"},
            {"year": 2026, "line": "0403-HEALTH-OPS", "received": "1000",
             "passed_on": "0", "committed": "0", "paid": "0", "available": "1000"},
        ],
    })
}

/// A node that answers `routes` (exact path and query) and 404 otherwise.
fn node(routes: Vec<(String, Value)>) -> Stub {
    Stub::start(move |r| {
        assert_eq!(r.method, "GET", "queries only read");
        match routes.iter().find(|(path, _)| *path == r.target) {
            Some((_, body)) => (200, body.to_string()),
            None => (
                404,
                json!({"error": {"code": "not_found", "message": format!("nothing at {}", r.target)}})
                    .to_string(),
            ),
        }
    })
}

fn query(stub: &Stub, args: &[&str]) -> support::Run {
    minhbach(&[&["--node", stub.url.as_str(), "query"], args].concat())
}

/// The value on the table line for `key` (`key  value`).
fn table_value<'a>(table: &'a str, key: &str) -> &'a str {
    table
        .lines()
        .find_map(|l| l.strip_prefix(key).filter(|rest| rest.starts_with("  ")))
        .unwrap_or_else(|| panic!("no line for {key} in\n{table}"))
        .trim()
}

#[test]
fn json_output_is_the_nodes_answer() {
    let stub = node(vec![("/v1/status".into(), status())]);
    let run = query(&stub, &["status", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        status()
    );
    assert!(run.stdout.lines().count() > 10, "pretty-printed: {run:?}");
}

#[test]
fn status_as_a_table_and_as_csv() {
    let stub = node(vec![("/v1/status".into(), status())]);
    let run = query(&stub, &["status"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(table_value(&run.stdout, "chain_id"), "minhbach-test");
    assert_eq!(
        table_value(&run.stdout, "height"),
        "1234",
        "heights are not amounts"
    );
    assert_eq!(table_value(&run.stdout, "catching_up"), "false");
    assert!(run.stdout.contains("validators (2)"), "{run:?}");
    let row = run.stdout.lines().find(|l| l.starts_with("val-1")).unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>()[1..],
        ["1", &"02".repeat(32), "12D3KooWb"]
    );

    let run = query(&stub, &["status", "--output", "csv"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let values: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(header.len(), values.len());
    let field = |name: &str| values[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(field("chain_id"), "minhbach-test");
    assert_eq!(field("height"), "1234");
    assert_eq!(field("last_block_time"), "2026-03-01T08:00:00.250Z");
}

#[test]
fn an_entity_shows_its_budget_lines_with_grouped_amounts() {
    let stub = node(vec![("/v1/entities/MOH.BVBM".into(), entity())]);
    let run = query(&stub, &["entity", "MOH.BVBM"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(table_value(&run.stdout, "name"), "Bệnh viện Bạch Mai");
    assert_eq!(table_value(&run.stdout, "next_nonce"), "8");
    let row = run
        .stdout
        .lines()
        .find(|l| l.contains("0402-HEALTH-INFRA"))
        .unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "2026",
            "0402-HEALTH-INFRA",
            "50,000,000,000",
            "0",
            "3,000,000",
            "300,000",
            "49,997,000,000"
        ]
    );

    // CSV: the budget lines, raw amounts, with the entity as first column.
    let run = query(&stub, &["entity", "MOH.BVBM", "--output", "csv"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "entity,year,line,received,passed_on,committed,paid,available\n\
         MOH.BVBM,2026,0402-HEALTH-INFRA,50000000000,0,3000000,300000,49997000000\n\
         MOH.BVBM,2026,0403-HEALTH-OPS,1000,0,0,0,1000\n"
    );
}

#[test]
fn each_query_reads_its_route() {
    let hash = "c0".repeat(32);
    let block = json!({
        "hash": "b1".repeat(32),
        "header": {"chain_id": "minhbach-test", "height": 7, "time": 1767225600000u64,
                   "prev_hash": "b0".repeat(32), "tx_count": 1, "proposer": "01".repeat(32)},
        "txs": [hash], "evidence": [],
        "commit": {"round": 0, "precommits": [{"validator": "01".repeat(32), "signature": "ee".repeat(64)}]},
    });
    let tx = json!({
        "hash": hash, "status": "committed", "height": 7, "index": 0, "signer": "MOH.BVBM",
        "nonce": 3, "op": {"type": "pay", "contract": "C-17", "amount": "300000",
                           "reference": "INV-9", "document_hash": null},
    });
    let contract = json!({
        "id": "C-17", "department": "MOH.BVBM", "vendor": "V-0042", "year": 2026,
        "line": "0402-HEALTH-INFRA", "amount": "3000000", "paid": "300000", "title": "Máy thở",
        "document_hash": null, "awarded_at": 5,
        "deliveries": [{"milestone": "đợt 1", "note": "", "height": 6}],
    });
    let entities = json!({"entities": [
        {"id": "MOF", "kind": "treasury", "name": "Bộ Tài chính", "parent": null, "status": "active"},
        {"id": "MOH", "kind": "ministry", "name": "Bộ Y tế", "parent": null, "status": "active"},
    ]});
    let history = json!({"txs": [{"hash": hash, "height": 7, "index": 0}], "next": "7:0"});
    let validators = json!({"height": 5, "validators": status()["validators"]});
    let evidence = json!({"evidence": [
        {"height": 3, "validator": "01".repeat(32), "vote_type": "prevote", "round": 1},
    ]});
    let stub = node(vec![
        ("/v1/blocks/latest".into(), block.clone()),
        ("/v1/blocks/7".into(), block.clone()),
        (format!("/v1/txs/{hash}"), tx.clone()),
        ("/v1/contracts/C-17".into(), contract.clone()),
        ("/v1/entities".into(), entities.clone()),
        ("/v1/entities/MOH.BVBM/txs".into(), history.clone()),
        (
            "/v1/entities/MOH.BVBM/txs?cursor=7%3A0".into(),
            json!({"txs": [], "next": null}),
        ),
        ("/v1/validators".into(), validators.clone()),
        ("/v1/validators?height=5".into(), validators.clone()),
        ("/v1/evidence".into(), evidence.clone()),
    ]);
    let cases: Vec<(Vec<&str>, &Value)> = vec![
        (vec!["block", "latest"], &block),
        (vec!["block", "7"], &block),
        (vec!["tx", &hash], &tx),
        (vec!["contract", "C-17"], &contract),
        (vec!["entities"], &entities),
        (vec!["history", "MOH.BVBM"], &history),
        (vec!["validators"], &validators),
        (vec!["validators", "--height", "5"], &validators),
        (vec!["evidence"], &evidence),
    ];
    for (args, expected) in cases {
        for output in ["json", "table", "csv"] {
            let run = query(&stub, &[&args[..], &["--output", output]].concat());
            assert_eq!(run.code, Some(0), "{args:?} {output}: {run:?}");
            if output == "json" {
                assert_eq!(
                    &serde_json::from_str::<Value>(&run.stdout).unwrap(),
                    expected
                );
            }
        }
    }

    // A few renderings in detail.
    let run = query(&stub, &["tx", &hash]);
    assert_eq!(table_value(&run.stdout, "op.type"), "pay");
    assert_eq!(table_value(&run.stdout, "op.amount"), "300,000");
    assert_eq!(table_value(&run.stdout, "op.document_hash"), "-");
    let run = query(&stub, &["contract", "C-17", "--output", "csv"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("id,title,") && lines[1].starts_with("C-17,Máy thở,"),
        "{run:?}"
    );
    let run = query(&stub, &["validators", "--height", "5", "--output", "csv"]);
    assert_eq!(
        run.stdout.lines().next(),
        Some("height,name,power,public_key,peer_id")
    );
    assert!(
        run.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("5,val-0,10,"),
        "{run:?}"
    );
    let run = query(&stub, &["block", "7"]);
    assert_eq!(table_value(&run.stdout, "header.height"), "7");
    assert!(
        run.stdout.contains(&format!("txs (1)\n  {hash}\n")),
        "{run:?}"
    );

    // History pages: the next cursor is offered, and passed back encoded.
    let run = query(&stub, &["history", "MOH.BVBM"]);
    assert!(run.stderr.contains("--cursor 7:0"), "{run:?}");
    let run = query(
        &stub,
        &["history", "MOH.BVBM", "--cursor", "7:0", "--output", "csv"],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout, "hash,height,index\n",
        "a header even without rows: {run:?}"
    );
    assert!(!run.stderr.contains("--cursor"), "{run:?}");
}

#[test]
fn not_found_exits_1() {
    let stub = node(vec![]);
    let run = query(&stub, &["contract", "C-99"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("not_found: nothing at /v1/contracts/C-99"),
        "{run:?}"
    );
    assert_eq!(run.stdout, "");

    // A 404 without the error shape is still the node answering, not exit 3.
    let bare = Stub::start(|_| (404, "404 page not found".into()));
    let run = query(&bare, &["block", "99"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("not_found"), "{run:?}");
}

#[test]
fn bad_arguments_exit_2_before_asking() {
    let stub = node(vec![]);
    for args in [
        &["tx", "1234"][..],
        &["tx", &"zz".repeat(32)],
        &["block", "-1"],
        &["entity", "moh"],
        &["contract", "C 1"],
        &["validators", "--height", "tall"],
        &["nothing"],
    ] {
        let run = query(&stub, args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    }
    assert_eq!(stub.targets(), Vec::<String>::new());
}

#[test]
fn the_node_comes_from_minhbach_node_or_node() {
    let stub = node(vec![("/v1/status".into(), status())]);
    let host_port = stub.url.trim_start_matches("http://").to_owned();
    let run = minhbach_env(
        &["query", "status", "--output", "json"],
        &[("MINHBACH_NODE", &stub.url)],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    // --node wins over the environment, and a bare host:port means http.
    let run = minhbach_env(
        &["query", "status", "--node", &host_port],
        &[("MINHBACH_NODE", &closed_url())],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(stub.targets().len(), 2);
}

#[test]
fn an_unreachable_node_exits_3() {
    let url = closed_url();
    for args in [&["status"][..], &["entity", "MOH"], &["block", "latest"]] {
        let run = minhbach(&[&["--node", url.as_str(), "query"], args].concat());
        assert_eq!(run.code, Some(3), "{args:?}: {run:?}");
        assert!(run.stderr.contains("unreachable"), "{run:?}");
    }
}

#[test]
fn ready_exits_0_when_the_node_is_ready_and_1_when_not() {
    let readiness = |ready: bool| {
        json!({"ready": ready, "height": 12, "best_peer_height": 12,
               "catching_up": false, "store_writable": true})
        .to_string()
    };
    let up = Stub::start(move |_| (200, readiness(true)));
    let run = query(&up, &["ready"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(table_value(&run.stdout, "ready"), "true", "{run:?}");
    assert_eq!(up.targets(), ["GET /readyz"]);

    let down = Stub::start(move |_| (503, readiness(false)));
    let run = query(&down, &["ready"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("not ready"), "{run:?}");

    let run = minhbach(&["--node", &closed_url(), "query", "ready"]);
    assert_eq!(run.code, Some(3), "{run:?}");
}

#[test]
fn what_awaits_signatures_and_a_years_figures_are_read_from_their_routes() {
    let awaiting = json!({"height": 40, "awaiting": [{
        "id": "ef".repeat(32), "signer": "BYT-BVBM", "nonce": 4,
        "op": {"type": "pay", "contract": "C-1", "amount": "55000000000",
               "reference": "HĐ-01", "document_hash": null},
        "needs": {"code": "approval_required", "message": "needs KBNN"},
        "waits_for": {"entity": "KBNN", "threshold": 2, "signed": 1},
        "signatures": ["11".repeat(32), "22".repeat(32)], "since": 38,
    }]});
    let year = json!({"year": 2027, "height": 40, "closed": true, "closed_at": 39,
        "entities": [{"id": "BYT", "kind": "ministry", "name": "Bộ Y tế", "parent": null,
            "received": "5000000000", "passed_on": "4000000000", "committed": "0",
            "paid": "0", "unspent": "1000000000", "lapsed": "1000000000"}]});
    let stub = node(vec![
        ("/v1/awaiting".into(), awaiting.clone()),
        ("/v1/years/2027".into(), year.clone()),
    ]);

    let run = query(&stub, &["awaiting", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        awaiting
    );
    let run = query(&stub, &["awaiting"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let row = run.stdout.lines().find(|l| l.starts_with("efef")).unwrap();
    assert!(
        row.contains("55,000,000,000") && row.contains("KBNN 1 of 2"),
        "{run:?}"
    );
    let run = query(&stub, &["awaiting", "--output", "csv"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let keys = format!("{} {}", "11".repeat(32), "22".repeat(32));
    assert_eq!(
        run.stdout.lines().nth(1),
        Some(
            format!(
                "40,{},BYT-BVBM,4,pay,C-1,55000000000,approval_required,KBNN,1,2,{keys},38",
                "ef".repeat(32)
            )
            .as_str()
        )
    );

    let run = query(&stub, &["year", "2027", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(serde_json::from_str::<Value>(&run.stdout).unwrap(), year);
    let run = query(&stub, &["year", "2027"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(table_value(&run.stdout, "status"), "closed at height 39");
    let row = run.stdout.lines().find(|l| l.starts_with("BYT ")).unwrap();
    assert!(row.ends_with("1,000,000,000  1,000,000,000"), "{run:?}");
    let run = query(&stub, &["year", "2027", "--output", "csv"]);
    assert_eq!(
        run.stdout,
        "year,closed,id,kind,name,parent,received,passed_on,committed,paid,unspent,lapsed\n\
         2027,true,BYT,ministry,Bộ Y tế,,5000000000,4000000000,0,0,1000000000,1000000000\n"
    );
    // A year the node has no answer for is not found: exit 1.
    let run = query(&stub, &["year", "2028"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        stub.targets(),
        [
            "GET /v1/awaiting",
            "GET /v1/awaiting",
            "GET /v1/awaiting",
            "GET /v1/years/2027",
            "GET /v1/years/2027",
            "GET /v1/years/2027",
            "GET /v1/years/2028",
        ]
    );
}
