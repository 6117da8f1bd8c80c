//! Error answers: bad input (400), unknown things (404), writes to read
//! routes (405), oversized bodies (413) and the explorer's rate limit (429),
//! each a JSON error with its code.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use gateway::api::{explorer_router, SUBMIT_BODY_BYTES_MAX};
use gateway::explorer::RateLimits;
use ledger::codec::TX_BYTES_MAX;
use tower::ServiceExt;

use crate::fixture::{answer, Fixture, On, BOTH};

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
async fn the_explorer_rate_limit_answers_json_errors_on_json_routes() {
    let f = Fixture::new(0);
    let router = explorer_router(
        f.shared.clone(),
        RateLimits {
            requests_per_second: 1,
            burst: 1,
            trusted_proxies: Vec::new(),
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
