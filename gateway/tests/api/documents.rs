//! The OpenAPI documents: each listener documents exactly the routes it
//! serves, every JSON answer validates against the schema documented for
//! its route and status, and answers that stray from it fail validation.

use axum::http::StatusCode;
use ledger::TxError;
use serde_json::{json, Value};
use testkit::ops::cid;

use crate::fixture::{Fixture, On, BOTH};

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
        "/v1/state-proof",
        "/v1/entities",
        "/v1/entities/{id}",
        "/v1/entities/{id}/txs",
        "/v1/contracts/{id}",
        "/v1/flags",
        "/v1/years/{year}",
        "/v1/awaiting",
        "/v1/awaiting/{id}",
        "/v1/validators",
        "/v1/evidence",
        "/v1/checkpoint",
        "/v1/checkpoints/{height}",
        "/v1/consistency",
        "/v1/witnesses",
        "/v1/cosignatures",
        "/v1/export.csv",
        "/v1/export/ocds.json",
        "/v1/export/ocds/extension.json",
        "/v1/export/ocds/release-schema.json",
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
    expected.push(("post".into(), "/v1/awaiting".into()));
    expected.push(("post".into(), "/v1/cosignatures".into()));
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
                .replace("{id}", "MOH")
                .replace("{year}", "2026");
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
        ("/v1/flags", "/v1/flags".into(), StatusCode::OK),
        ("/v1/flags", "/v1/flags?entity=MOH".into(), StatusCode::OK),
        (
            "/v1/flags",
            "/v1/flags?entity=x".into(),
            StatusCode::BAD_REQUEST,
        ),
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
