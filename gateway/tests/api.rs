//! The HTTP API at its boundary: both listeners' routers driven in-process
//! with `tower::ServiceExt::oneshot` over a real store written block by
//! block by `testkit::NodeFixture`.
//!
//! Every route is asked for its success answer and its errors (400, 404,
//! 405, 413, 429, `POST /v1/txs` raw and as JSON), and every JSON answer is
//! validated against the schema that the listener's own
//! `/v1/openapi.json` documents for that route and status, so the document
//! and the wire cannot drift apart. The explorer's HTML pages are tested in
//! `gateway/src/explorer/tests.rs`, and the export files' contents in
//! `gateway/tests/export.rs`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use gateway::api::{
    api_router, explorer_router, BLOCKS_PAGE_DEFAULT, BLOCKS_PAGE_MAX, HISTORY_PAGE,
    SUBMIT_BODY_BYTES_MAX,
};
use gateway::explorer::RateLimits;
use ledger::codec::TX_BYTES_MAX;
use ledger::tx::EntityKind;
use ledger::{Amount, Hash, LineCode, Op, SignedTx, TxError, Year};
use node::mempool::{Mempool, MempoolLimits};
use node::shared::Shared;
use serde_json::{json, Value};
use testkit::ops::{self, cid};
use testkit::{id, key, GenesisBuilder, NodeFixture, CHAIN_ID};
use tower::ServiceExt;

const LINE: &str = "0402-HEALTH";
const YEAR: u16 = 2026;
const GENEROUS: RateLimits = RateLimits {
    requests_per_second: 100_000,
    burst: 100_000,
};

fn pay(amount: u64, reference: &str) -> Op {
    ops::pay("C-1", amount, reference)
}

/// Which listener a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum On {
    Api,
    Explorer,
}

const BOTH: [On; 2] = [On::Api, On::Explorer];

/// A chain in a real store, the node parts around it, and what the test
/// put into it.
struct Fixture {
    node: NodeFixture,
    shared: Arc<Shared>,
    award_hash: Hash,
    first_pay_hash: Hash,
    /// The transactions in V-0001's history, in chain order.
    vendor_history: Vec<Hash>,
}

impl Fixture {
    /// Four blocks of spending (appropriate, allocate, award, pay and
    /// deliver), then `payments` blocks of one small payment each.
    fn new(payments: usize) -> Fixture {
        let genesis = GenesisBuilder::new(CHAIN_ID)
            .entity("MOF", EntityKind::Treasury, "Bộ Tài chính", None)
            .entity("MOH", EntityKind::Ministry, "Bộ Y tế", None)
            .entity(
                "MOH.BVBM",
                EntityKind::Department,
                "Bệnh viện Bạch Mai",
                Some("MOH"),
            )
            .entity(
                "V-0001",
                EntityKind::Vendor,
                "Công ty TNHH Thiết bị Y tế Sông Hồng",
                None,
            )
            .build();
        let mut node = NodeFixture::new("api-test", genesis);
        let t = node.tx("MOF", 0, ops::appropriate(YEAR, LINE, "MOH", 5_000_000_000));
        node.commit(vec![t]);
        let t = node.tx(
            "MOH",
            0,
            ops::allocate(YEAR, LINE, "MOH.BVBM", 4_000_000_000),
        );
        node.commit(vec![t]);
        let award = ops::award(
            "C-1",
            YEAR,
            LINE,
            "V-0001",
            3_000_000_000,
            "Máy thở chức năng cao",
        );
        let award = node.tx(
            "MOH.BVBM",
            0,
            ops::award_with_document(award, b"hop dong C-1"),
        );
        let award_hash = award.hash();
        node.commit(vec![award]);
        let first_pay = node.tx("MOH.BVBM", 0, pay(500_000_000, "UNC-001"));
        let first_pay_hash = first_pay.hash();
        let deliver = node.tx("MOH.BVBM", 1, ops::deliver("C-1", "Đợt 1", "Đã lắp đặt"));
        let mut vendor_history = vec![award_hash, first_pay_hash, deliver.hash()];
        node.commit(vec![first_pay, deliver]);
        for i in 0..payments {
            let t = node.tx("MOH.BVBM", 0, pay(1_000, &format!("TT-{i}")));
            vendor_history.push(t.hash());
            node.commit(vec![t]);
        }
        Fixture {
            shared: node.shared.clone(),
            node,
            award_hash,
            first_pay_hash,
            vendor_history,
        }
    }

    fn height(&self) -> u64 {
        self.node.height()
    }

    fn router(&self, on: On) -> Router {
        match on {
            On::Api => api_router(self.shared.clone()),
            On::Explorer => explorer_router(self.shared.clone(), GENEROUS),
        }
    }

    async fn send(&self, on: On, request: Request<Body>) -> Answer {
        answer(self.router(on).oneshot(request).await.unwrap()).await
    }

    async fn get(&self, on: On, uri: &str) -> Answer {
        self.send(on, Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&self, content_type: &str, body: impl Into<Body>) -> Answer {
        self.post_to("/v1/txs", content_type, body).await
    }

    async fn post_to(&self, uri: &str, content_type: &str, body: impl Into<Body>) -> Answer {
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        self.send(On::Api, request).await
    }

    /// A payment the department has not signed yet, `pending` nonces ahead
    /// of its committed ones.
    fn next_payment(&self, pending: u64, amount: u64, reference: &str) -> SignedTx {
        self.node.tx("MOH.BVBM", pending, pay(amount, reference))
    }

    /// The listener's own document.
    async fn document(&self, on: On) -> Document {
        let a = self.get(on, "/v1/openapi.json").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header(header::CONTENT_TYPE), "application/json");
        Document(a.json())
    }
}

/// An answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn answer(r: axum::response::Response) -> Answer {
    let status = r.status();
    let headers = r.headers().clone();
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// The error code of an error answer, checking its shape on the way.
    fn error_code(&self) -> String {
        let v = self.json();
        let error = v["error"].as_object().unwrap_or_else(|| panic!("{v}"));
        assert_eq!(error.len(), 2, "exactly code and message: {v}");
        assert!(!error["message"].as_str().unwrap().is_empty(), "{v}");
        assert_eq!(v.as_object().unwrap().len(), 1, "only `error`: {v}");
        error["code"].as_str().unwrap().to_owned()
    }
}

/// An OpenAPI document as served.
struct Document(Value);

impl Document {
    fn paths(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (path, item) in self.0["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.push((method.clone(), path.clone()));
            }
        }
        out.sort();
        out
    }

    fn operation(&self, method: &str, template: &str) -> &Value {
        let op = &self.0["paths"][template][method];
        assert!(op.is_object(), "{method} {template} is not documented");
        op
    }

    /// The schema documented for a JSON answer, with the document's
    /// components beside it so that its `$ref`s resolve.
    fn schema(&self, method: &str, template: &str, status: StatusCode) -> Value {
        let response = &self.operation(method, template)["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{method} {template} does not document {status}"
        );
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} {status} documents no JSON body"
        );
        let mut root = schema.clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        root["components"] = self.0["components"].clone();
        root
    }

    /// Checks that `answer`, to `method template`, is documented and
    /// validates against its schema.
    fn check(&self, method: &str, template: &str, answer: &Answer) {
        let schema = self.schema(method, template, answer.status);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{method} {template}: the schema does not compile: {e}"));
        let body = answer.json();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("  {}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} {}: the answer does not match its schema:\n{}\n{body:#}",
            answer.status,
            errors.join("\n")
        );
    }
}

fn read_paths() -> Vec<(String, String)> {
    [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/openapi.json",
        "/v1/status",
        "/v1/blocks",
        "/v1/blocks/{height}",
        "/v1/txs/{hash}",
        "/v1/txs/{hash}/proof",
        "/v1/entities",
        "/v1/entities/{id}",
        "/v1/entities/{id}/txs",
        "/v1/contracts/{id}",
        "/v1/validators",
        "/v1/evidence",
        "/v1/export.csv",
        "/v1/export/ocds.json",
    ]
    .into_iter()
    .map(|p| ("get".to_owned(), p.to_owned()))
    .collect()
}

#[tokio::test]
async fn each_listener_documents_exactly_its_routes() {
    let f = Fixture::new(0);
    let api = f.document(On::Api).await;
    let explorer = f.document(On::Explorer).await;
    assert_eq!(api.0["openapi"], "3.1.0");
    assert_eq!(api.0["info"]["version"], env!("CARGO_PKG_VERSION"));

    let mut expected = read_paths();
    expected.push(("post".into(), "/v1/txs".into()));
    expected.push(("post".into(), "/v1/txs/batch".into()));
    expected.sort();
    assert_eq!(api.paths(), expected);
    let mut expected = read_paths();
    expected.push(("get".into(), "/genesis.json".into()));
    expected.sort();
    assert_eq!(explorer.paths(), expected, "no POST on the explorer");

    // Every documented route answers on its listener: none is a 404 from
    // a missing route (the 404s of unknown things are JSON errors).
    for (on, doc) in [(On::Api, &api), (On::Explorer, &explorer)] {
        for (method, template) in doc.paths() {
            if method != "get" {
                continue;
            }
            let uri = template
                .replace("{height}", "1")
                .replace("{hash}", &f.award_hash.to_hex())
                .replace("{id}", "MOH");
            let a = f.get(on, &uri).await;
            assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{on:?} {uri}");
            if a.status == StatusCode::NOT_FOUND {
                assert_eq!(a.error_code(), "not_found", "{on:?} {uri}");
                assert!(!a.text().contains("no route"), "{on:?} {uri}");
            }
        }
    }

    // The error shape and the list of codes: the API's and the ledger's.
    let code = &api.0["components"]["schemas"]["ErrorCode"];
    let codes: Vec<&str> = code["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in ledger::error::ERROR_CODES
        .iter()
        .chain(gateway::api::model::API_ERROR_CODES.iter())
    {
        assert!(codes.contains(c), "{c} is not in ErrorCode");
    }
    assert_eq!(
        codes.len(),
        ledger::error::ERROR_CODES.len() + gateway::api::model::API_ERROR_CODES.len()
    );
    let error = &api.0["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]));
    let detail = &api.0["components"]["schemas"]["ErrorDetail"];
    assert_eq!(detail["required"], json!(["code", "message"]));

    // Every object schema refuses what it does not list, so validating an
    // answer checks that its fields are exactly the documented ones.
    for (name, schema) in api.0["components"]["schemas"].as_object().unwrap() {
        if schema["type"] == "object" {
            assert_eq!(
                schema["additionalProperties"], false,
                "{name} accepts undocumented fields"
            );
        }
    }

    // The API documents the ledger's answer to a submission; the explorer
    // documents its rate limit on every route.
    let submit = api.operation("post", "/v1/txs");
    for status in ["202", "400", "409", "413", "422", "429"] {
        assert!(
            submit["responses"][status].is_object(),
            "POST /v1/txs {status}"
        );
    }
    for (method, template) in explorer.paths() {
        let op = explorer.operation(&method, &template);
        assert!(op["responses"]["429"].is_object(), "{template} 429");
    }
    assert!(api.operation("get", "/v1/status")["responses"]["429"].is_null());
}

#[tokio::test]
async fn every_json_answer_matches_its_documented_schema() {
    let f = Fixture::new(2);
    let pending = f.next_payment(0, 1_000, "PENDING-1");
    f.shared.admit(pending.clone()).unwrap();
    let refused = f.next_payment(1, 9_000_000_000, "REFUSED-1");
    f.shared.rejected.lock().unwrap().insert(
        refused.hash(),
        TxError::OverContract {
            contract: cid("C-1"),
            message: "pay 9,000,000,000 exceeds the 2,499,998,000 still unpaid".into(),
        },
    );
    let award = f.award_hash.to_hex();
    let unknown = "ab".repeat(32);
    let cases: Vec<(&str, String, StatusCode)> = vec![
        ("/readyz", "/readyz".into(), StatusCode::SERVICE_UNAVAILABLE),
        ("/v1/status", "/v1/status".into(), StatusCode::OK),
        ("/v1/blocks", "/v1/blocks".into(), StatusCode::OK),
        (
            "/v1/blocks",
            "/v1/blocks?before=3&limit=1".into(),
            StatusCode::OK,
        ),
        (
            "/v1/blocks",
            "/v1/blocks?limit=x".into(),
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/blocks/{height}", "/v1/blocks/3".into(), StatusCode::OK),
        (
            "/v1/blocks/{height}",
            "/v1/blocks/latest".into(),
            StatusCode::OK,
        ),
        (
            "/v1/blocks/{height}",
            "/v1/blocks/x".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/blocks/{height}",
            "/v1/blocks/99".into(),
            StatusCode::NOT_FOUND,
        ),
        ("/v1/txs/{hash}", format!("/v1/txs/{award}"), StatusCode::OK),
        (
            "/v1/txs/{hash}",
            format!("/v1/txs/{}", pending.hash()),
            StatusCode::OK,
        ),
        (
            "/v1/txs/{hash}",
            format!("/v1/txs/{}", refused.hash()),
            StatusCode::OK,
        ),
        (
            "/v1/txs/{hash}",
            "/v1/txs/xyz".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/txs/{hash}",
            format!("/v1/txs/{unknown}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/txs/{hash}/proof",
            format!("/v1/txs/{award}/proof"),
            StatusCode::OK,
        ),
        (
            "/v1/txs/{hash}/proof",
            "/v1/txs/xyz/proof".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/txs/{hash}/proof",
            format!("/v1/txs/{unknown}/proof"),
            StatusCode::NOT_FOUND,
        ),
        ("/v1/entities", "/v1/entities".into(), StatusCode::OK),
        (
            "/v1/entities/{id}",
            "/v1/entities/MOH.BVBM".into(),
            StatusCode::OK,
        ),
        (
            "/v1/entities/{id}",
            "/v1/entities/MOF".into(),
            StatusCode::OK,
        ),
        (
            "/v1/entities/{id}",
            "/v1/entities/moh".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/entities/{id}",
            "/v1/entities/NOPE".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/entities/{id}/txs",
            "/v1/entities/V-0001/txs".into(),
            StatusCode::OK,
        ),
        (
            "/v1/entities/{id}/txs",
            "/v1/entities/V-0001/txs?cursor=3.0".into(),
            StatusCode::OK,
        ),
        (
            "/v1/entities/{id}/txs",
            "/v1/entities/V-0001/txs?cursor=x".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/entities/{id}/txs",
            "/v1/entities/NOPE/txs".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/contracts/{id}",
            "/v1/contracts/C-1".into(),
            StatusCode::OK,
        ),
        (
            "/v1/contracts/{id}",
            "/v1/contracts/c%201".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/contracts/{id}",
            "/v1/contracts/C-404".into(),
            StatusCode::NOT_FOUND,
        ),
        ("/v1/validators", "/v1/validators".into(), StatusCode::OK),
        (
            "/v1/validators",
            "/v1/validators?height=2".into(),
            StatusCode::OK,
        ),
        (
            "/v1/validators",
            "/v1/validators?height=x".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/validators",
            "/v1/validators?height=0".into(),
            StatusCode::NOT_FOUND,
        ),
        ("/v1/evidence", "/v1/evidence".into(), StatusCode::OK),
        (
            "/v1/export.csv",
            "/v1/export.csv?year=1999".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/export/ocds.json",
            "/v1/export/ocds.json?year=x".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/export/ocds.json",
            "/v1/export/ocds.json?year=2030".into(),
            StatusCode::NOT_FOUND,
        ),
    ];
    for on in BOTH {
        let doc = f.document(on).await;
        for (template, uri, status) in &cases {
            let a = f.get(on, uri).await;
            assert_eq!(a.status, *status, "{on:?} {uri}: {}", a.text());
            // The proof is a download whose layout `ledger::proof` owns.
            if template.ends_with("/proof") && a.status == StatusCode::OK {
                continue;
            }
            doc.check("get", template, &a);
        }
    }
    // Submissions, on the API.
    let doc = f.document(On::Api).await;
    let tx = f.next_payment(1, 1_000, "SUBMIT-1");
    let a = f.post("application/octet-stream", tx.encode()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    doc.check("post", "/v1/txs", &a);
    for (content_type, body) in [
        ("application/octet-stream", b"not a transaction".to_vec()),
        ("application/json", b"{\"tx\": 1}".to_vec()),
        ("application/octet-stream", tx.encode()),
    ] {
        let a = f.post(content_type, body).await;
        assert!(a.status.is_client_error(), "{}", a.status);
        doc.check("post", "/v1/txs", &a);
    }
}

#[tokio::test]
async fn reads_answer_what_the_chain_holds() {
    let f = Fixture::new(2);
    let height = f.height();
    assert_eq!(height, 6);
    for on in BOTH {
        let status = f.get(on, "/v1/status").await.json();
        assert_eq!(status["chain_id"], CHAIN_ID);
        assert_eq!(status["node_id"], "api-test-node");
        assert_eq!(status["height"], height);
        assert_eq!(status["last_block_hash"], f.node.chain.last_hash.to_hex());
        assert_eq!(status["last_block_time"], "2026-01-01T00:00:06.000Z");
        assert_eq!(status["validators"][0]["name"], "validator-0");
        assert_eq!(status["validators"][0]["power"], 10);
        assert_eq!(status["catching_up"], false);
        assert_eq!(status["mempool_txs"], 0);

        // Newest first; the default page holds them all here.
        let page = f.get(on, "/v1/blocks").await.json();
        let heights: Vec<u64> = page["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["header"]["height"].as_u64().unwrap())
            .collect();
        assert_eq!(heights, vec![6, 5, 4, 3, 2, 1]);
        assert_eq!(page["next"], Value::Null);
        assert_eq!(
            page["blocks"][0]["commit"],
            Value::Null,
            "pages omit certificates"
        );
        let page = f.get(on, "/v1/blocks?before=5&limit=2").await.json();
        assert_eq!(page["blocks"][0]["header"]["height"], 4);
        assert_eq!(page["blocks"][1]["header"]["height"], 3);
        assert_eq!(page["next"], 3);

        let block = f.get(on, "/v1/blocks/3").await.json();
        assert_eq!(block["txs"], json!([f.award_hash.to_hex()]));
        assert_eq!(block["header"]["tx_count"], 1);
        assert_eq!(block["header"]["time"], "2026-01-01T00:00:03.000Z");
        let precommits = block["commit"]["precommits"].as_array().unwrap();
        assert_eq!(precommits.len(), 1);
        assert_eq!(
            precommits[0]["validator"],
            f.node.chain.validator_keys[0].public_key().to_hex()
        );
        assert_eq!(precommits[0]["signature"].as_str().unwrap().len(), 128);
        let latest = f.get(on, "/v1/blocks/latest").await.json();
        assert_eq!(latest["hash"], f.node.chain.last_hash.to_hex());

        let list = f.get(on, "/v1/entities").await.json();
        let ids: Vec<&str> = list["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["MOF", "MOH", "MOH.BVBM", "V-0001"]);
        assert_eq!(list["entities"][2]["parent"], "MOH");
        assert_eq!(list["entities"][1]["parent"], Value::Null);

        let dept = f.get(on, "/v1/entities/MOH.BVBM").await.json();
        assert_eq!(dept["kind"], "department");
        assert_eq!(dept["status"], "active");
        assert_eq!(dept["name"], "Bệnh viện Bạch Mai");
        assert_eq!(dept["public_key"], key("MOH.BVBM").public_key().to_hex());
        // The award is nonce 1, block 4 holds 2 and 3, then two payments.
        assert_eq!(dept["next_nonce"], 6);
        assert_eq!(
            dept["budgets"],
            json!([{"year": YEAR, "line": LINE, "received": "4000000000", "passed_on": "0",
                "committed": "3000000000", "paid": "500002000", "available": "1000000000"}])
        );

        let contract = f.get(on, "/v1/contracts/C-1").await.json();
        assert_eq!(contract["department"], "MOH.BVBM");
        assert_eq!(contract["vendor"], "V-0001");
        assert_eq!(contract["amount"], "3000000000");
        assert_eq!(contract["paid"], "500002000");
        assert_eq!(contract["awarded_at"], 3);
        assert_eq!(
            contract["document_hash"],
            Hash::digest(b"hop dong C-1").to_hex()
        );
        assert_eq!(
            contract["deliveries"],
            json!([{"milestone": "Đợt 1", "note": "Đã lắp đặt", "height": 4}])
        );

        let history = f.get(on, "/v1/entities/V-0001/txs").await.json();
        let hashes: Vec<String> = history["txs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["hash"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = f.vendor_history.iter().map(Hash::to_hex).collect();
        assert_eq!(hashes, expected);
        assert_eq!(history["next"], Value::Null);

        let set = f.get(on, "/v1/validators?height=1").await.json();
        assert_eq!(set["height"], 1);
        assert_eq!(set["total_power"], 10);
        let next = f.get(on, "/v1/validators").await.json();
        assert_eq!(next["height"], height + 1);
        assert_eq!(next["validators"], set["validators"]);

        let evidence = f.get(on, "/v1/evidence").await.json();
        assert_eq!(evidence, json!({"evidence": []}));

        let proof = f
            .get(on, &format!("/v1/txs/{}/proof", f.first_pay_hash))
            .await;
        assert_eq!(proof.status, StatusCode::OK);
        assert_eq!(
            proof.header(header::CONTENT_DISPOSITION),
            format!("attachment; filename=\"proof-{}.json\"", f.first_pay_hash)
        );
        let bundle = ledger::proof::AuditBundle::decode(&proof.body).unwrap();
        bundle
            .verify(&f.shared.genesis.trust_anchor())
            .expect("the bundle verifies against the genesis");

        let csv = f.get(on, "/v1/export.csv?year=2026").await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
        assert_eq!(
            csv.header(header::HeaderName::from_static("x-minhbach-height")),
            height.to_string()
        );
        assert_eq!(
            csv.header(header::HeaderName::from_static("x-minhbach-block-hash")),
            f.node.chain.last_hash.to_hex()
        );
        let ocds = f.get(on, "/v1/export/ocds.json").await;
        assert_eq!(ocds.status, StatusCode::OK);
        assert_eq!(ocds.json()["releases"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_transaction_is_committed_pending_or_rejected() {
    let f = Fixture::new(0);
    let a = f
        .get(On::Explorer, &format!("/v1/txs/{}", f.first_pay_hash))
        .await;
    let committed = a.json();
    assert_eq!(committed["status"], "committed");
    assert_eq!(committed["height"], 4);
    assert_eq!(committed["index"], 0);
    assert_eq!(committed["block_hash"].as_str().unwrap().len(), 64);
    assert_eq!(committed["time"], "2026-01-01T00:00:04.000Z");
    assert_eq!(committed["signer"], "MOH.BVBM");
    assert_eq!(committed["nonce"], 2);
    assert_eq!(
        committed["op"],
        json!({"type": "pay", "contract": "C-1", "amount": "500000000",
            "reference": "UNC-001", "document_hash": null})
    );
    assert!(committed.get("error").is_none());

    let tx = f.next_payment(0, 1_000, "PENDING-1");
    f.shared.admit(tx.clone()).unwrap();
    let pending = f
        .get(On::Api, &format!("/v1/txs/{}", tx.hash()))
        .await
        .json();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["height"], Value::Null);
    assert_eq!(pending["index"], Value::Null);
    assert_eq!(pending["nonce"], 4);
    assert!(pending.get("block_hash").is_none() && pending.get("time").is_none());

    let refused = f.next_payment(1, 5, "REFUSED-1");
    f.shared.rejected.lock().unwrap().insert(
        refused.hash(),
        TxError::OverContract {
            contract: cid("C-1"),
            message: "pay 5 exceeds the 0 still unpaid".into(),
        },
    );
    let rejected = f
        .get(On::Api, &format!("/v1/txs/{}", refused.hash()))
        .await
        .json();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["error"]["code"], "over_contract");
    assert!(!rejected["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("over_contract"));
    assert!(rejected.get("op").is_none());
}

#[tokio::test]
async fn bad_input_is_400_invalid_argument() {
    let f = Fixture::new(0);
    let bad = [
        "/v1/blocks/abc",
        "/v1/blocks/-1",
        "/v1/blocks?limit=many",
        "/v1/blocks?before=-1",
        "/v1/txs/123",
        &format!("/v1/txs/{}", "g".repeat(64)),
        "/v1/txs/xyz/proof",
        "/v1/entities/bvbm",
        "/v1/entities/bvbm/txs",
        "/v1/entities/V-0001/txs?cursor=abc",
        "/v1/entities/V-0001/txs?cursor=1.x",
        "/v1/contracts/c-1",
        "/v1/validators?height=next",
        "/v1/export.csv?year=1999",
        "/v1/export.csv?year=twenty",
        "/v1/export/ocds.json?year=3000",
        "/v1/export/ocds.json?format=xml",
    ];
    for on in BOTH {
        for uri in bad {
            let a = f.get(on, uri).await;
            assert_eq!(
                a.status,
                StatusCode::BAD_REQUEST,
                "{on:?} {uri}: {}",
                a.text()
            );
            assert_eq!(a.error_code(), "invalid_argument", "{on:?} {uri}");
        }
    }
}

#[tokio::test]
async fn unknown_things_are_404_not_found() {
    let f = Fixture::new(0);
    let unknown = "00".repeat(32);
    let missing = [
        "/v1/blocks/5",
        "/v1/blocks/18446744073709551615",
        &format!("/v1/txs/{unknown}"),
        &format!("/v1/txs/{unknown}/proof"),
        "/v1/entities/NOPE",
        "/v1/entities/NOPE/txs",
        "/v1/contracts/C-404",
        "/v1/validators?height=0",
        "/v1/validators?height=99",
        "/v1/export/ocds.json?year=2030",
        "/v1/nowhere",
        "/v1/blocks/1/extra",
    ];
    for on in BOTH {
        for uri in missing {
            let a = f.get(on, uri).await;
            assert_eq!(
                a.status,
                StatusCode::NOT_FOUND,
                "{on:?} {uri}: {}",
                a.text()
            );
            assert_eq!(a.error_code(), "not_found", "{on:?} {uri}");
        }
    }
    // Off `/v1/`, the API has no pages.
    let a = f.get(On::Api, "/nowhere").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.error_code(), "not_found");
}

#[tokio::test]
async fn writes_are_405_with_allow() {
    let f = Fixture::new(0);
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        for uri in ["/v1/txs", "/v1/status", "/v1/blocks/1", "/v1/openapi.json"] {
            let request = Request::builder()
                .method(method.clone())
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(vec![0u8; 16]))
                .unwrap();
            let a = f.send(On::Explorer, request).await;
            assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            assert_eq!(a.header(header::ALLOW), "GET, HEAD", "{method} {uri}");
            assert_eq!(a.error_code(), "method_not_allowed", "{method} {uri}");
        }
    }
    // The API: reads are read-only, and /v1/txs takes POST only.
    for (method, uri, allow) in [
        (Method::PUT, "/v1/status", "GET,HEAD"),
        (Method::DELETE, "/v1/entities/MOH", "GET,HEAD"),
        (Method::POST, "/v1/blocks", "GET,HEAD"),
        (Method::GET, "/v1/txs", "POST"),
        (Method::DELETE, "/v1/txs", "POST"),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let a = f.send(On::Api, request).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(
            a.header(header::ALLOW).replace(' ', ""),
            allow,
            "{method} {uri}"
        );
        assert_eq!(a.error_code(), "method_not_allowed", "{method} {uri}");
    }
}

#[tokio::test]
async fn submissions_raw_or_json_are_202_and_bad_ones_are_refused() {
    let f = Fixture::new(0);
    // The signer's next transaction is checked in full against the state:
    // more than the contract still owes is refused at once.
    let over = f.next_payment(0, 9_000_000_000, "OVER-1");
    let a = f.post("application/octet-stream", over.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert_eq!(a.error_code(), "over_contract");

    let raw = f.next_payment(0, 1_000, "RAW-1");
    let a = f.post("application/octet-stream", raw.encode()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    assert_eq!(a.json(), json!({"hash": raw.hash().to_hex()}));
    // No content type at all is raw bytes too.
    let bare = f.next_payment(1, 1_000, "RAW-2");
    let request = Request::post("/v1/txs")
        .body(Body::from(bare.encode()))
        .unwrap();
    let a = f.send(On::Api, request).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());

    let json_tx = f.next_payment(2, 1_000, "JSON-1");
    let b64 = base64::engine::general_purpose::STANDARD.encode(json_tx.encode());
    let a = f
        .post(
            "application/json; charset=utf-8",
            json!({ "tx": b64 }).to_string(),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    assert_eq!(a.json(), json!({"hash": json_tx.hash().to_hex()}));

    // All three are pending, in order.
    let status = f.get(On::Api, "/v1/status").await.json();
    assert_eq!(status["mempool_txs"], 3);
    let pending = f
        .get(On::Api, &format!("/v1/txs/{}", json_tx.hash()))
        .await
        .json();
    assert_eq!(pending["status"], "pending");
    let dept = f.get(On::Api, "/v1/entities/MOH.BVBM").await.json();
    assert_eq!(dept["next_nonce"], 7, "three pending after nonce 3");

    let refused = [
        (
            "application/octet-stream",
            b"not a transaction".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "application/octet-stream",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "application/json",
            b"not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "application/json",
            b"{}".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "application/json",
            br#"{"tx": "%%%"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "application/json",
            br#"{"tx": "AAAA"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "application/json",
            json!({"tx": b64, "extra": 1}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "application/octet-stream",
            raw.encode(),
            StatusCode::CONFLICT,
            "duplicate",
        ),
    ];
    for (content_type, body, status, code) in refused {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let a = f.post(content_type, body).await;
        assert_eq!(a.status, status, "{shown}: {}", a.text());
        assert_eq!(a.error_code(), code, "{shown}");
    }
    // Signed for another chain, or with another key.
    let next = f.next_payment(3, 1_000, "NEXT-1");
    let mut body = next.body.clone();
    body.chain_id = "another-chain".into();
    let foreign = body.sign(&key("MOH.BVBM"));
    let a = f.post("application/octet-stream", foreign.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.error_code(), "wrong_chain");
    let forged = next.body.clone().sign(&key("V-0001"));
    let a = f.post("application/octet-stream", forged.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.error_code(), "bad_signature");
}

#[tokio::test]
async fn a_batch_gets_one_answer_per_transaction_in_order() {
    let f = Fixture::new(0);
    let doc = f.document(On::Api).await;
    let b64 = |tx: &SignedTx| base64::engine::general_purpose::STANDARD.encode(tx.encode());
    let first = f.next_payment(0, 1_000, "BATCH-1");
    let second = f.next_payment(1, 2_000, "BATCH-2");
    let forged = f
        .next_payment(2, 3_000, "BATCH-3")
        .body
        .sign(&key("V-0001"));
    let body = json!({ "txs": [
        b64(&first),
        "%%%",
        b64(&second),
        b64(&first),
        b64(&forged),
    ] });
    let a = f
        .post_to("/v1/txs/batch", "application/json", body.to_string())
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    doc.check("post", "/v1/txs/batch", &a);
    let answer = a.json();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0], json!({"hash": first.hash().to_hex()}));
    assert_eq!(results[1]["error"]["code"], "malformed");
    assert_eq!(results[2], json!({"hash": second.hash().to_hex()}));
    assert_eq!(results[3]["error"]["code"], "duplicate");
    assert_eq!(results[4]["error"]["code"], "bad_signature");
    assert_eq!(answer["admitted"], 2);
    // Both admitted ones are pending, queued for gossip, and count in the
    // signer's next nonce.
    let status = f.get(On::Api, "/v1/status").await.json();
    assert_eq!(status["mempool_txs"], 2);
    let dept = f.get(On::Api, "/v1/entities/MOH.BVBM").await.json();
    assert_eq!(dept["next_nonce"], 6, "two pending after nonce 3");

    // The whole request is refused only for its shape or size.
    for (body, status, code) in [
        ("not json".to_string(), StatusCode::BAD_REQUEST, "malformed"),
        (
            r#"{"txs": "AAAA"}"#.to_string(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            json!({ "txs": vec!["AAAA"; gateway::api::SUBMIT_BATCH_TXS_MAX + 1] }).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "A".repeat(gateway::api::SUBMIT_BATCH_BODY_BYTES_MAX + 1),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ] {
        let a = f.post_to("/v1/txs/batch", "application/json", body).await;
        assert_eq!(a.status, status, "{}", a.text());
        assert_eq!(a.error_code(), code);
        doc.check("post", "/v1/txs/batch", &a);
    }
    // The explorer has no batch route either.
    let request = Request::post("/v1/txs/batch")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "txs": [b64(&first)] }).to_string()))
        .unwrap();
    let a = f.send(On::Explorer, request).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_batch_sent_to_a_full_mempool_is_refused_unread() {
    let f = Fixture::new(0);
    let doc = f.document(On::Api).await;
    *f.shared.mempool.lock().unwrap() = Mempool::new(MempoolLimits {
        txs_max: 1,
        ..MempoolLimits::default()
    });
    let b64 = |tx: &SignedTx| base64::engine::general_purpose::STANDARD.encode(tx.encode());
    let first = f.next_payment(0, 1_000, "FULL-1");
    let body = json!({ "txs": [b64(&first)] }).to_string();
    let a = f.post_to("/v1/txs/batch", "application/json", body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["admitted"], 1);
    // Full now: even a body that is not a batch gets `mempool_full`, since
    // it is never read.
    let a = f
        .post_to("/v1/txs/batch", "application/json", "not json")
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text());
    assert_eq!(a.error_code(), "mempool_full");
    assert!(a.text().contains("txs_max 1"), "{}", a.text());
    doc.check("post", "/v1/txs/batch", &a);
}

/// A full mempool makes room for a signer holding fewer by evicting another
/// signer's future nonce; a client polling the evicted transaction learns
/// it was refused `mempool_full`, so it knows to send it again.
#[tokio::test]
async fn a_transaction_evicted_for_room_reads_as_rejected_mempool_full() {
    let f = Fixture::new(0);
    *f.shared.mempool.lock().unwrap() = Mempool::new(MempoolLimits {
        txs_max: 3,
        ..MempoolLimits::default()
    });
    // The department's next three nonces after a gap: all waiting.
    let waiting: Vec<SignedTx> = (1..=3)
        .map(|k| f.next_payment(k, 1_000, &format!("WAIT-{k}")))
        .collect();
    for tx in &waiting {
        f.shared.admit(tx.clone()).unwrap();
    }
    let appropriation = f.node.chain.tx(
        "MOF",
        0,
        Op::Appropriate {
            year: Year(YEAR),
            line: LineCode::new(LINE).unwrap(),
            to: id("MOH"),
            amount: Amount(1),
            legal_ref: "Nghị quyết 02/2026/QH15".into(),
        },
    );
    let a = f
        .post("application/octet-stream", appropriation.encode())
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let evicted = f
        .get(On::Api, &format!("/v1/txs/{}", waiting[2].hash()))
        .await
        .json();
    assert_eq!(evicted["status"], "rejected");
    assert_eq!(evicted["error"]["code"], "mempool_full");
    for tx in &waiting[..2] {
        let kept = f.get(On::Api, &format!("/v1/txs/{}", tx.hash())).await;
        assert_eq!(kept.json()["status"], "pending");
    }
}

#[tokio::test]
async fn an_oversized_body_is_413_too_large() {
    let f = Fixture::new(0);
    // Past the body limit: refused before it is decoded, raw or as JSON,
    // with or without a length up front.
    let huge = vec![7u8; SUBMIT_BODY_BYTES_MAX + 1];
    let a = f.post("application/octet-stream", huge.clone()).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
    assert_eq!(a.error_code(), "too_large");
    let text = format!("{{\"tx\": \"{}\"}}", "A".repeat(SUBMIT_BODY_BYTES_MAX));
    let a = f.post("application/json", text).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.error_code(), "too_large");
    let chunks = futures::stream::iter(
        huge.chunks(16 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let request = Request::post("/v1/txs")
        .body(Body::from_stream(chunks))
        .unwrap();
    let a = f.send(On::Api, request).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.error_code(), "too_large");
    // Within the body limit but longer than any transaction: the ledger's
    // own limit, the same code.
    let a = f
        .post("application/octet-stream", vec![7u8; TX_BYTES_MAX + 1])
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
    assert_eq!(a.error_code(), "too_large");
}

#[tokio::test]
async fn pages_are_bounded_and_lead_to_the_end() {
    // 4 blocks of spending and 101 of one payment each: more blocks than a
    // page can hold, and more history than a page for the vendor.
    let f = Fixture::new(101);
    let top = f.height();
    assert_eq!(top, 105);
    for on in BOTH {
        let page = f.get(on, "/v1/blocks").await.json();
        assert_eq!(
            page["blocks"].as_array().unwrap().len() as u64,
            BLOCKS_PAGE_DEFAULT
        );
        let page = f.get(on, "/v1/blocks?limit=100000").await.json();
        let blocks = page["blocks"].as_array().unwrap();
        assert_eq!(blocks.len() as u64, BLOCKS_PAGE_MAX, "capped");
        assert_eq!(blocks[0]["header"]["height"], top);
        assert_eq!(page["next"], top - BLOCKS_PAGE_MAX + 1);
        let page = f.get(on, "/v1/blocks?limit=0").await.json();
        assert_eq!(page["blocks"].as_array().unwrap().len(), 1);
        let page = f
            .get(on, &format!("/v1/blocks?before={}", u64::MAX))
            .await
            .json();
        assert_eq!(page["blocks"][0]["header"]["height"], top);

        // Following `next` visits every block once, newest first.
        let mut seen = Vec::new();
        let mut uri = "/v1/blocks?limit=30".to_owned();
        loop {
            let page = f.get(on, &uri).await.json();
            for b in page["blocks"].as_array().unwrap() {
                seen.push(b["header"]["height"].as_u64().unwrap());
            }
            match page["next"].as_u64() {
                Some(before) => uri = format!("/v1/blocks?limit=30&before={before}"),
                None => break,
            }
        }
        assert_eq!(seen, (1..=top).rev().collect::<Vec<_>>());

        // The vendor's history: a full page, then the rest, then no more.
        let first = f.get(on, "/v1/entities/V-0001/txs").await.json();
        assert_eq!(first["txs"].as_array().unwrap().len(), HISTORY_PAGE);
        let cursor = first["next"].as_str().expect("a next page").to_owned();
        let second = f
            .get(on, &format!("/v1/entities/V-0001/txs?cursor={cursor}"))
            .await
            .json();
        assert_eq!(second["next"], Value::Null);
        let hashes: Vec<String> = first["txs"]
            .as_array()
            .unwrap()
            .iter()
            .chain(second["txs"].as_array().unwrap())
            .map(|t| t["hash"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = f.vendor_history.iter().map(Hash::to_hex).collect();
        assert_eq!(hashes, expected);
    }
    // Exactly a page: no `next` that leads to an empty page.
    let all = f.vendor_history.len();
    assert_eq!(all, 104);
    let first = f.get(On::Api, "/v1/entities/V-0001/txs").await.json();
    let before_last_page = &first["txs"][all - HISTORY_PAGE - 1];
    let cursor = format!(
        "{}.{}",
        before_last_page["height"], before_last_page["index"]
    );
    let page = f
        .get(On::Api, &format!("/v1/entities/V-0001/txs?cursor={cursor}"))
        .await
        .json();
    assert_eq!(page["txs"].as_array().unwrap().len(), HISTORY_PAGE);
    assert_eq!(page["next"], Value::Null);
}

#[tokio::test]
async fn the_explorer_rate_limit_answers_json_errors_on_json_routes() {
    let f = Fixture::new(0);
    let router = explorer_router(
        f.shared.clone(),
        RateLimits {
            requests_per_second: 1,
            burst: 1,
        },
    );
    let a = answer(
        router
            .clone()
            .oneshot(Request::get("/v1/status").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = answer(
        router
            .oneshot(Request::get("/v1/status").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.header(header::RETRY_AFTER), "1");
    assert_eq!(a.error_code(), "rate_limited");
    f.document(On::Explorer)
        .await
        .check("get", "/v1/status", &a);

    let long = format!(
        "/v1/blocks?before={}",
        "9".repeat(gateway::explorer::URI_BYTES_MAX)
    );
    let a = f.get(On::Explorer, &long).await;
    assert_eq!(a.status, StatusCode::URI_TOO_LONG);
    assert_eq!(a.error_code(), "uri_too_long");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let f = Fixture::new(0);
    for on in BOTH {
        let a = f.get(on, "/healthz").await;
        assert_eq!((a.status, a.text().as_str()), (StatusCode::OK, "ok\n"));
        let a = f.get(on, "/metrics").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header(header::CONTENT_TYPE), "text/plain; version=0.0.4");
    }
    // Not ready until a peer's height has been heard.
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        a.json(),
        json!({"ready": false, "height": 4, "best_peer_height": 0, "catching_up": false,
            "store_writable": true})
    );
    f.shared.live.write().unwrap().heard_peer = true;
    f.shared.live.write().unwrap().best_peer_height = 4;
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::OK);
    f.document(On::Api).await.check("get", "/readyz", &a);
    f.shared.live.write().unwrap().catching_up = true;
    let a = f.get(On::Explorer, "/readyz").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["catching_up"], true);
    f.shared.live.write().unwrap().catching_up = false;
    // A node whose store cannot be written is not ready, and says why.
    let why = "cannot commit block 5: /data: IO error: No space left on device";
    f.shared.live.write().unwrap().store_error = Some(why.into());
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["store_writable"], false);
    let status = f.get(On::Api, "/v1/status").await;
    f.document(On::Api)
        .await
        .check("get", "/v1/status", &status);
    assert_eq!(status.json()["store_writable"], false);
    assert_eq!(status.json()["store_error"], why);
    f.shared.live.write().unwrap().store_error = None;
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::OK);
    let status = f.get(On::Api, "/v1/status").await.json();
    assert_eq!(
        (&status["store_writable"], &status["store_error"]),
        (&json!(true), &Value::Null)
    );
}

#[tokio::test]
async fn answers_that_stray_from_their_schema_fail_validation() {
    // The check above is only worth something if it bites: broken copies
    // of real answers must fail it.
    let f = Fixture::new(0);
    let doc = f.document(On::Api).await;
    let fails = |template: &str, body: Value| {
        let schema = doc.schema("get", template, StatusCode::OK);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        assert!(!validator.is_valid(&body), "{template}: {body:#}");
    };
    let status = f.get(On::Api, "/v1/status").await.json();
    let mut broken = status.clone();
    broken.as_object_mut().unwrap().remove("height");
    fails("/v1/status", broken);
    let mut broken = status.clone();
    broken["undocumented"] = json!(1);
    fails("/v1/status", broken);
    let mut broken = status.clone();
    broken["last_block_time"] = json!("yesterday");
    fails("/v1/status", broken);
    let mut broken = status;
    broken["last_block_hash"] = json!("ABCDEF");
    fails("/v1/status", broken);

    let contract = f.get(On::Api, "/v1/contracts/C-1").await.json();
    let mut broken = contract.clone();
    broken["amount"] = json!(3_000_000_000u64);
    fails("/v1/contracts/{id}", broken);
    let mut broken = contract;
    broken["deliveries"][0]["extra"] = json!("x");
    fails("/v1/contracts/{id}", broken);

    let tx = f
        .get(On::Api, &format!("/v1/txs/{}", f.award_hash))
        .await
        .json();
    let mut broken = tx.clone();
    broken["op"]["type"] = json!("steal");
    fails("/v1/txs/{hash}", broken);
    let mut broken = tx.clone();
    broken["status"] = json!("lost");
    fails("/v1/txs/{hash}", broken);
    let mut broken = tx;
    broken["error"] = json!({"code": "no_such_code", "message": "x"});
    fails("/v1/txs/{hash}", broken);

    let block = f.get(On::Api, "/v1/blocks/1").await.json();
    let mut broken = block;
    broken.as_object_mut().unwrap().remove("commit");
    fails("/v1/blocks/{height}", broken);
}
