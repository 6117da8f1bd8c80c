//! Transactions awaiting signatures: offered with `POST /v1/awaiting` (API
//! listener only) until their signatures suffice, then submitted; listed
//! by `GET /v1/awaiting` and fetched by `GET /v1/awaiting/{id}` on both
//! listeners, as a co-signer would to check and sign; and refused with the
//! ledger's codes. Every answer is validated against the listener's
//! document.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine as _;
use ledger::crypto::SigningKey;
use ledger::tx::{EntityKind, TxBody};
use ledger::{Amount, Hash, Op, SignedTx};
use serde_json::{json, Value};
use testkit::ops::cid;
use testkit::{id, key};

use crate::fixture::{Document, Fixture, On, BOTH};

/// The controller's two keys, both of which must sign.
fn controller_keys() -> [SigningKey; 2] {
    [key("KBNN 1"), key("KBNN 2")]
}

/// The vendor's own two keys, both of which must sign.
fn vendor_keys() -> [SigningKey; 2] {
    [key("V-0001 A"), key("V-0001 B")]
}

/// The fixture's chain, then one block: the treasury registers KBNN, an
/// expenditure controller with two keys, both to sign, and makes it
/// co-sign the health ministry's payments and awards of 1 tỷ or more; the
/// vendor replaces its key with two, both to sign.
fn controlled() -> Fixture {
    let mut f = Fixture::new(0);
    let txs = vec![
        f.node.tx(
            "MOF",
            0,
            Op::RegisterEntity {
                id: id("KBNN"),
                kind: EntityKind::Controller,
                name: "Kho bạc Nhà nước".into(),
                parent: None,
                keys: controller_keys()
                    .iter()
                    .map(SigningKey::public_key)
                    .collect(),
                threshold: 2,
            },
        ),
        f.node.tx(
            "MOF",
            1,
            Op::SetControl {
                ministry: Some(id("MOH")),
                amount: Amount(1_000_000_000),
                controller: id("KBNN"),
            },
        ),
        f.node.tx(
            "V-0001",
            0,
            Op::SetKeys {
                entity: id("V-0001"),
                keys: vendor_keys().iter().map(SigningKey::public_key).collect(),
                threshold: 2,
            },
        ),
    ];
    f.node.commit(txs);
    f
}

/// The department's next payment, 1.5 tỷ on C-1: over the rule's amount.
fn big_payment(f: &Fixture) -> TxBody {
    f.next_payment(0, 1_500_000_000, "UNC-002").body
}

/// Whether `body` validates against the schema `doc` gives for the answer.
fn matches(doc: &Document, method: &str, template: &str, status: StatusCode, body: &Value) -> bool {
    let schema = doc.schema(method, template, status);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
        .is_valid(body)
}

fn b64(tx: &SignedTx) -> String {
    base64::engine::general_purpose::STANDARD.encode(tx.encode())
}

/// Public keys as the API lists them: hex, in key order.
fn hex_sorted(keys: &[&SigningKey]) -> Value {
    let mut hex: Vec<String> = keys.iter().map(|k| k.public_key().to_hex()).collect();
    hex.sort();
    json!(hex)
}

#[tokio::test]
async fn signatures_gather_until_the_payment_is_submitted() {
    let mut f = controlled();
    let api = f.document(On::Api).await;
    let body = big_payment(&f);
    let id_hex = Hash::digest(&body.signing_bytes()).to_hex();
    let dept = key("MOH.BVBM");
    let [k1, k2] = controller_keys();

    // The department alone: kept, waiting for the controller.
    let offered_at = f.height();
    let a = f
        .post_to(
            "/v1/awaiting",
            "application/octet-stream",
            body.clone().sign(&dept).encode(),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    api.check("post", "/v1/awaiting", &a);
    let v = a.json();
    assert_eq!(v["status"], "awaiting");
    assert_eq!(v["id"], id_hex);
    assert_eq!(v["needs"]["code"], "approval_required");
    assert!(
        v["needs"]["message"].as_str().unwrap().contains("KBNN"),
        "{v}"
    );
    assert_eq!(v["signatures"], hex_sorted(&[&dept]));
    assert_eq!(v.as_object().unwrap().len(), 4, "{v}");

    // A block later, one of the controller's keys, as base64 JSON: merged,
    // still waiting, and still since the block it was first offered at.
    f.node.commit(Vec::new());
    let a = f
        .post_to(
            "/v1/awaiting",
            "application/json",
            json!({ "tx": b64(&body.clone().sign(&k1)) }).to_string(),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    api.check("post", "/v1/awaiting", &a);
    assert_eq!(a.json()["signatures"], hex_sorted(&[&dept, &k1]));
    assert_eq!(a.json()["needs"]["code"], "approval_required");

    let entry = json!({
        "id": id_hex,
        "signer": "MOH.BVBM",
        "nonce": 4,
        "op": {"type": "pay", "contract": "C-1", "amount": "1500000000",
            "reference": "UNC-002", "document_hash": null},
        "needs": a.json()["needs"],
        "waits_for": {"entity": "KBNN", "threshold": 2, "signed": 1},
        "signatures": hex_sorted(&[&dept, &k1]),
        "since": offered_at,
    });
    let both_signed = body.clone().sign_all(&[&dept, &k1]);
    for on in BOTH {
        let doc = f.document(on).await;
        let a = f.get(on, "/v1/awaiting").await;
        assert_eq!(a.status, StatusCode::OK, "{on:?}");
        doc.check("get", "/v1/awaiting", &a);
        assert_eq!(
            a.json(),
            json!({"height": f.height(), "awaiting": [entry]}),
            "{on:?}"
        );
        let a = f.get(on, &format!("/v1/awaiting/{id_hex}")).await;
        assert_eq!(a.status, StatusCode::OK, "{on:?}: {}", a.text());
        doc.check("get", "/v1/awaiting/{id}", &a);
        let mut expected = entry.clone();
        expected["tx"] = json!(hex::encode(both_signed.encode()));
        expected["signing_bytes"] = json!(hex::encode(body.signing_bytes()));
        assert_eq!(a.json(), expected, "{on:?}");
    }

    // The document is strict about these answers: a copy that strays
    // from the shape fails it.
    let kept = json!({"status": "awaiting", "id": id_hex, "needs": entry["needs"],
        "signatures": hex_sorted(&[&dept])});
    let stray = [
        json!({"status": "waiting", "id": id_hex, "needs": entry["needs"], "signatures": []}),
        json!({"status": "awaiting", "id": id_hex, "needs": entry["needs"], "signatures": [],
            "hash": id_hex}),
        json!({"status": "submitted", "hash": id_hex, "id": id_hex}),
        json!({"status": "awaiting", "hash": id_hex}),
    ];
    assert!(matches(
        &api,
        "post",
        "/v1/awaiting",
        StatusCode::ACCEPTED,
        &kept
    ));
    for body in &stray {
        assert!(
            !matches(&api, "post", "/v1/awaiting", StatusCode::ACCEPTED, body),
            "{body}"
        );
    }
    let mut extra = entry.clone();
    extra["tx"] = json!("00");
    assert!(!matches(
        &api,
        "get",
        "/v1/awaiting/{id}",
        StatusCode::OK,
        &entry
    ));
    assert!(!matches(
        &api,
        "get",
        "/v1/awaiting",
        StatusCode::OK,
        &json!({"height": 1, "awaiting": [extra]})
    ));

    // A co-signer checks what it signs from the answer alone, adds its
    // signature and posts it back: complete, it is submitted.
    let fetched = f
        .get(On::Explorer, &format!("/v1/awaiting/{id_hex}"))
        .await
        .json();
    let signing = hex::decode(fetched["signing_bytes"].as_str().unwrap()).unwrap();
    assert_eq!(Hash::digest(&signing).to_hex(), id_hex);
    let mut tx = SignedTx::decode(&hex::decode(fetched["tx"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(tx.body.signing_bytes(), signing);
    tx.add_signature(&k2);
    let a = f
        .post_to("/v1/awaiting", "application/octet-stream", tx.encode())
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    api.check("post", "/v1/awaiting", &a);
    let complete = body.clone().sign_all(&[&dept, &k1, &k2]);
    assert_eq!(
        a.json(),
        json!({"status": "submitted", "hash": complete.hash().to_hex()})
    );
    let pending = f
        .get(On::Api, &format!("/v1/txs/{}", complete.hash()))
        .await;
    assert_eq!(pending.json()["status"], "pending");
    // Gone from the pool.
    for on in BOTH {
        let a = f.get(on, "/v1/awaiting").await;
        assert_eq!(a.json()["awaiting"], json!([]), "{on:?}");
        let a = f.get(on, &format!("/v1/awaiting/{id_hex}")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{on:?}");
        assert_eq!(a.error_code(), "not_found");
        f.document(on).await.check("get", "/v1/awaiting/{id}", &a);
    }
    // Posting it again is a duplicate of what is pending.
    let a = f
        .post_to(
            "/v1/awaiting",
            "application/octet-stream",
            complete.encode(),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text());
    assert_eq!(a.error_code(), "duplicate");
    api.check("post", "/v1/awaiting", &a);
}

/// While clients are refused for the backlog, a signature that would
/// complete a transaction is refused too, before anything leaves the pool:
/// the signatures gathered stay, and the same signature completes it once
/// there is room.
#[tokio::test]
async fn a_completing_signature_refused_for_the_backlog_loses_nothing() {
    let f = controlled();
    let body = big_payment(&f);
    let id_hex = Hash::digest(&body.signing_bytes()).to_hex();
    let dept = key("MOH.BVBM");
    let [k1, k2] = controller_keys();
    for k in [&dept, &k1] {
        let a = f
            .post_to(
                "/v1/awaiting",
                "application/octet-stream",
                body.clone().sign(k).encode(),
            )
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    }
    let bound = |n| {
        f.shared
            .client_txs_max
            .store(n, std::sync::atomic::Ordering::Relaxed)
    };
    bound(0);
    let last = body.clone().sign(&k2).encode();
    let a = f
        .post_to("/v1/awaiting", "application/octet-stream", last.clone())
        .await;
    a.assert_mempool_full();
    let kept = f.get(On::Api, &format!("/v1/awaiting/{id_hex}")).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text());
    assert_eq!(kept.json()["signatures"], hex_sorted(&[&dept, &k1]));
    bound(node::backlog::CLIENT_TXS_FLOOR);
    let a = f
        .post_to("/v1/awaiting", "application/octet-stream", last)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let complete = body.sign_all(&[&dept, &k1, &k2]);
    assert_eq!(
        a.json(),
        json!({"status": "submitted", "hash": complete.hash().to_hex()})
    );
}

#[tokio::test]
async fn an_entity_short_of_its_threshold_waits_for_its_own_keys() {
    let f = controlled();
    let api = f.document(On::Api).await;
    let [a_key, b_key] = vendor_keys();
    let body = f
        .node
        .tx(
            "V-0001",
            0,
            Op::AcknowledgePayment {
                contract: cid("C-1"),
                payment: 0,
            },
        )
        .body;
    let a = f
        .post_to(
            "/v1/awaiting",
            "application/octet-stream",
            body.clone().sign(&a_key).encode(),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    api.check("post", "/v1/awaiting", &a);
    assert_eq!(a.json()["needs"]["code"], "threshold_not_met");
    let list = f.get(On::Explorer, "/v1/awaiting").await.json();
    assert_eq!(
        list["awaiting"][0]["waits_for"],
        json!({"entity": "V-0001", "threshold": 2, "signed": 1})
    );
    assert_eq!(list["awaiting"][0]["op"]["type"], "acknowledge-payment");

    let a = f
        .post_to(
            "/v1/awaiting",
            "application/octet-stream",
            body.clone().sign(&b_key).encode(),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let complete = body.sign_all(&[&a_key, &b_key]);
    assert_eq!(
        a.json(),
        json!({"status": "submitted", "hash": complete.hash().to_hex()})
    );

    // A transaction whose signatures already suffice goes straight on.
    let small = f.next_payment(0, 1_000, "SMALL-1");
    let a = f
        .post_to("/v1/awaiting", "application/octet-stream", small.encode())
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    api.check("post", "/v1/awaiting", &a);
    assert_eq!(
        a.json(),
        json!({"status": "submitted", "hash": small.hash().to_hex()})
    );
}

#[tokio::test]
async fn refusals_carry_the_ledgers_codes_and_keep_nothing() {
    let f = controlled();
    let api = f.document(On::Api).await;
    let dept = key("MOH.BVBM");
    let body = big_payment(&f);
    let mut ahead = body.clone();
    ahead.nonce += 1;
    let mut other_chain = body.clone();
    other_chain.chain_id = "another-chain".into();
    let mut over = body.clone();
    over.op = testkit::ops::pay("C-1", 9_000_000_000, "OVER");
    let mut forged = body.clone().sign(&dept);
    forged.signatures[0].signature.0[0] ^= 1;
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "application/octet-stream",
            b"not a transaction".to_vec(),
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
            "application/octet-stream",
            vec![0; gateway::api::SUBMIT_BODY_BYTES_MAX + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "application/octet-stream",
            ahead.sign(&dept).encode(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_nonce",
        ),
        (
            "application/octet-stream",
            other_chain.sign(&dept).encode(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_chain",
        ),
        (
            "application/octet-stream",
            forged.encode(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_signature",
        ),
        (
            "application/octet-stream",
            body.clone().sign(&key("V-0001 A")).encode(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "foreign_signature",
        ),
        (
            "application/octet-stream",
            over.sign_all(&[&dept, &controller_keys()[0]]).encode(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "over_contract",
        ),
    ];
    for (content_type, bytes, status, code) in cases {
        let a = f.post_to("/v1/awaiting", content_type, bytes).await;
        assert_eq!(a.status, status, "{code}: {}", a.text());
        assert_eq!(a.error_code(), code);
        api.check("post", "/v1/awaiting", &a);
    }
    assert_eq!(
        f.get(On::Api, "/v1/awaiting").await.json()["awaiting"],
        json!([]),
        "nothing kept"
    );

    // A signer's share of the pool: four different payments on its next
    // nonce wait; a fifth is refused.
    for i in 0..4u64 {
        let mut b = body.clone();
        b.op = testkit::ops::pay("C-1", 1_000_000_000 + i, &format!("SHARE-{i}"));
        let a = f
            .post_to(
                "/v1/awaiting",
                "application/octet-stream",
                b.sign(&dept).encode(),
            )
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{i}: {}", a.text());
    }
    let a = f
        .post_to(
            "/v1/awaiting",
            "application/octet-stream",
            body.clone().sign(&dept).encode(),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text());
    assert_eq!(a.error_code(), "mempool_full");
    api.check("post", "/v1/awaiting", &a);
    let list = f.get(On::Api, "/v1/awaiting").await.json();
    let amounts: Vec<&str> = list["awaiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["op"]["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts.len(), 4);
    for i in 0..4u64 {
        assert!(amounts.contains(&(1_000_000_000 + i).to_string().as_str()));
    }

    // An id that is not a hash, or that nothing waits under.
    for on in BOTH {
        let doc = f.document(on).await;
        let a = f.get(on, "/v1/awaiting/xyz").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{on:?}");
        assert_eq!(a.error_code(), "invalid_argument");
        doc.check("get", "/v1/awaiting/{id}", &a);
        let a = f
            .get(on, &format!("/v1/awaiting/{}", "ab".repeat(32)))
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{on:?}");
        doc.check("get", "/v1/awaiting/{id}", &a);
    }
    // The explorer takes no transaction.
    let request = Request::post("/v1/awaiting")
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body.sign(&dept).encode()))
        .unwrap();
    let a = f.send(On::Explorer, request).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}
