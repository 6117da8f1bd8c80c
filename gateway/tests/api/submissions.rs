//! Submissions through `POST /v1/txs` and `POST /v1/txs/batch`: raw or as
//! JSON, one or a batch, admitted, refused or evicted, and a transaction's
//! status as committed, pending or rejected.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine as _;
use ledger::{Amount, LineCode, Op, SignedTx, TxError, Year};
use node::mempool::{Mempool, MempoolLimits};
use serde_json::{json, Value};
use testkit::ops::cid;
use testkit::{id, key};

use crate::fixture::{Fixture, On, LINE, YEAR};

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
    // Signed for another chain, or with a signature that does not verify.
    let next = f.next_payment(3, 1_000, "NEXT-1");
    let mut body = next.body.clone();
    body.chain_id = "another-chain".into();
    let other_chain = body.sign(&key("MOH.BVBM"));
    let a = f
        .post("application/octet-stream", other_chain.encode())
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.error_code(), "wrong_chain");
    let mut forged = next.clone();
    forged.signatures[0].signature.0[0] ^= 1;
    let a = f.post("application/octet-stream", forged.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.error_code(), "bad_signature");
    // The same key twice: refused as it is read.
    let mut twice = next.clone();
    twice.signatures.push(twice.signatures[0]);
    let a = f.post("application/octet-stream", twice.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert_eq!(a.error_code(), "duplicate_signature");
    // A good signature by a key that is not the signer's, alone or beside
    // the signer's own: the ministry's next transaction, checked in full.
    let allocate = f.node.tx("MOH", 0, allocate_one());
    for signers in [vec![key("V-0001")], vec![key("MOH"), key("V-0001")]] {
        let refs: Vec<_> = signers.iter().collect();
        let foreign = allocate.body.clone().sign_all(&refs);
        let a = f.post("application/octet-stream", foreign.encode()).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
        assert_eq!(a.error_code(), "foreign_signature");
        assert!(
            a.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&key("V-0001").public_key().to_hex()),
            "the message names the key: {}",
            a.text()
        );
    }
}

/// The ministry passes 1 more to its hospital.
fn allocate_one() -> Op {
    testkit::ops::allocate(YEAR, LINE, "MOH.BVBM", 1)
}

#[tokio::test]
async fn a_batch_gets_one_answer_per_transaction_in_order() {
    let f = Fixture::new(0);
    let doc = f.document(On::Api).await;
    let b64 = |tx: &SignedTx| base64::engine::general_purpose::STANDARD.encode(tx.encode());
    let first = f.next_payment(0, 1_000, "BATCH-1");
    let second = f.next_payment(1, 2_000, "BATCH-2");
    let mut forged = f.next_payment(2, 3_000, "BATCH-3");
    forged.signatures[0].signature.0[0] ^= 1;
    let foreign = f
        .node
        .tx("MOH", 0, allocate_one())
        .body
        .sign(&key("V-0001"));
    let body = json!({ "txs": [
        b64(&first),
        "%%%",
        b64(&second),
        b64(&first),
        b64(&forged),
        b64(&foreign),
    ] });
    let a = f
        .post_to("/v1/txs/batch", "application/json", body.to_string())
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    doc.check("post", "/v1/txs/batch", &a);
    let answer = a.json();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[0], json!({"hash": first.hash().to_hex()}));
    assert_eq!(results[1]["error"]["code"], "malformed");
    assert_eq!(results[2], json!({"hash": second.hash().to_hex()}));
    assert_eq!(results[3]["error"]["code"], "duplicate");
    assert_eq!(results[4]["error"]["code"], "bad_signature");
    assert_eq!(results[5]["error"]["code"], "foreign_signature");
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
    // it is never decoded.
    let a = f
        .post_to("/v1/txs/batch", "application/json", "not json")
        .await;
    a.assert_mempool_full();
    assert!(a.text().contains("txs_max 1"), "{}", a.text());
    doc.check("post", "/v1/txs/batch", &a);
    // One transaction alone is refused the same way.
    let second = f.next_payment(0, 1_000, "FULL-2");
    let a = f
        .post_to("/v1/txs", "application/octet-stream", second.encode())
        .await;
    a.assert_mempool_full();
}

/// Past what the validators commit within `[limits] backlog_ms`, a client's
/// transaction is refused at once, with `Retry-After`, while the pool has
/// room: a batch up to the bound, then anything; the same transaction
/// gossiped by a peer is still taken.
#[tokio::test]
async fn a_client_is_refused_once_the_pool_holds_its_backlog_and_a_peer_is_not() {
    let f = Fixture::new(0);
    let doc = f.document(On::Api).await;
    f.shared
        .client_txs_max
        .store(2, std::sync::atomic::Ordering::Relaxed);
    // A batch of three finds room for two: the third is refused unchecked.
    let b64 = |tx: &SignedTx| base64::engine::general_purpose::STANDARD.encode(tx.encode());
    let txs: Vec<SignedTx> = (0..3)
        .map(|k| f.next_payment(k, 1_000, &format!("BACKLOG-{k}")))
        .collect();
    let body = json!({ "txs": txs.iter().map(b64).collect::<Vec<_>>() }).to_string();
    let a = f.post_to("/v1/txs/batch", "application/json", body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["admitted"], 2, "{}", a.text());
    let third = &a.json()["results"][2];
    assert_eq!(third["error"]["code"], "mempool_full", "{}", a.text());
    assert!(
        third["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("first 2 transactions")),
        "{}",
        a.text()
    );
    // Two are ready now: anything more is refused.
    let refused = &txs[2];
    let a = f
        .post_to("/v1/txs", "application/octet-stream", refused.encode())
        .await;
    a.assert_mempool_full();
    assert!(a.text().contains("backlog_ms"), "{}", a.text());
    doc.check("post", "/v1/txs", &a);
    // A batch is refused before its body is read.
    let a = f
        .post_to("/v1/txs/batch", "application/json", "not json")
        .await;
    a.assert_mempool_full();
    // Gossip is not a client: the pool's own limit is all that bounds it.
    let admitted = f.shared.admit_only(vec![refused.clone()]);
    assert_eq!(admitted, vec![Ok(refused.hash())]);
    assert_eq!(f.shared.mempool.lock().unwrap().len(), 3);
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
