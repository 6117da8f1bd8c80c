//! `POST /v1/cosignatures` on the API listener: a witness's cosignature is
//! kept only when it checks out, every refusal has its own code and keeps
//! nothing, the explorer listener refuses the method, the explorer's block
//! pages name the witnesses who cosigned them, and `/metrics` has each
//! witness's latest height.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use ledger::witness::{Checkpoint, Cosignature, COSIGNATURE_BYTES_MAX};
use ledger::{Hash, Height};
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::{json, Value};
use testkit::{id, key, CHAIN_ID};

use crate::fixture::{Answer, On};
use crate::witnesses::{
    expected_witnesses, witnessed, Witnessed, MARKUP_NAME, MARKUP_WITNESS, SUSPENDED, TOP, WITNESS,
    WITNESS_NAME,
};

/// When the witnesses cosign, by their clocks.
const TIME_MS: u64 = 1_800_000_000_000;

fn cosign(who: &str, cp: &Checkpoint) -> Cosignature {
    Cosignature::sign(&key(who), id(who), cp, TIME_MS)
}

fn body(c: &Cosignature) -> Vec<u8> {
    serde_json::to_vec(c).unwrap()
}

impl Witnessed {
    async fn post_cosignature(&self, body: Vec<u8>) -> Answer {
        self.f
            .post_to("/v1/cosignatures", "application/json", body)
            .await
    }

    /// What `GET /v1/cosignatures` answers, the same on both listeners.
    async fn held(&self) -> Value {
        let api = self.f.get(On::Api, "/v1/cosignatures").await;
        assert_eq!(api.status, StatusCode::OK, "{}", api.text());
        self.f
            .document(On::Api)
            .await
            .check("get", "/v1/cosignatures", &api);
        let explorer = self.f.get(On::Explorer, "/v1/cosignatures").await;
        assert_eq!(explorer.json(), api.json());
        api.json()
    }

    async fn witnesses(&self) -> Value {
        self.f.get(On::Api, "/v1/witnesses").await.json()
    }
}

fn held(cs: &[&Cosignature]) -> Value {
    json!({ "cosignatures": cs.iter().map(|c| serde_json::to_value(c).unwrap()).collect::<Vec<_>>() })
}

/// `c` as JSON followed by spaces, `len` bytes in all.
fn padded(c: &Cosignature, len: usize) -> Vec<u8> {
    let mut b = body(c);
    assert!(b.len() <= len);
    b.resize(len, b' ');
    b
}

#[tokio::test]
async fn every_refusal_has_its_code_and_keeps_nothing() {
    let w = witnessed();
    let doc = w.f.document(On::Api).await;
    let cp = w.checkpoint(6);
    let good = cosign(WITNESS, &cp);
    let good_json = serde_json::to_value(&good).unwrap();

    let mut forged = good.clone();
    forged.time_ms += 1;
    let mut other_chain = cp.clone();
    other_chain.chain_id = "another-chain".into();
    let zero = Checkpoint {
        chain_id: CHAIN_ID.into(),
        height: Height(0),
        block_hash: w.f.shared.genesis.hash(),
        history_root: Hash::digest(&[]),
    };
    let mut ahead = w.checkpoint(TOP);
    ahead.height = Height(TOP + 1);
    let mut rewritten = cp.clone();
    rewritten.history_root = Hash::digest(b"another history");
    let with = |key: &str, value: Value| {
        let mut v = good_json.clone();
        v[key] = value;
        v.to_string().into_bytes()
    };
    let without_time = {
        let mut v = good_json.clone();
        v.as_object_mut().unwrap().remove("time_ms");
        v.to_string().into_bytes()
    };
    let mut trailing = body(&good);
    trailing.extend_from_slice(b" {}");

    let forbidden = StatusCode::FORBIDDEN;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let bad = StatusCode::BAD_REQUEST;
    let refusals: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "no such entity",
            body(&cosign("SAO-X", &cp)),
            forbidden,
            "unknown_witness",
        ),
        (
            "a vendor",
            body(&cosign("V-0001", &cp)),
            forbidden,
            "not_a_witness",
        ),
        (
            "a suspended witness",
            body(&cosign(SUSPENDED, &cp)),
            forbidden,
            "witness_suspended",
        ),
        (
            "a key not registered for the witness",
            body(&Cosignature::sign(
                &key("V-0001"),
                id(WITNESS),
                &cp,
                TIME_MS,
            )),
            forbidden,
            "wrong_key",
        ),
        (
            "a forged signature",
            body(&forged),
            unprocessable,
            "bad_signature",
        ),
        (
            "another chain",
            body(&cosign(WITNESS, &other_chain)),
            unprocessable,
            "wrong_chain",
        ),
        (
            "height 0",
            body(&cosign(WITNESS, &zero)),
            unprocessable,
            "height_zero",
        ),
        (
            "a height not committed",
            body(&cosign(WITNESS, &ahead)),
            unprocessable,
            "not_reached",
        ),
        (
            "another history",
            body(&cosign(WITNESS, &rewritten)),
            StatusCode::CONFLICT,
            "other_history",
        ),
        ("not JSON", b"not json".to_vec(), bad, "malformed"),
        ("empty", Vec::new(), bad, "malformed"),
        ("no field", b"{}".to_vec(), bad, "malformed"),
        ("a field missing", without_time, bad, "malformed"),
        (
            "an unknown field",
            with("note", json!("x")),
            bad,
            "malformed",
        ),
        (
            "a height as text",
            with("height", json!("6")),
            bad,
            "malformed",
        ),
        ("trailing bytes", trailing, bad, "malformed"),
        (
            "one byte over the bound",
            padded(&good, COSIGNATURE_BYTES_MAX + 1),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "far over the bound",
            vec![b' '; 64 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ];
    for (what, body, status, code) in refusals {
        let a = w.post_cosignature(body).await;
        assert_eq!(a.status, status, "{what}: {}", a.text());
        assert_eq!(a.error_code(), code, "{what}");
        doc.check("post", "/v1/cosignatures", &a);
        assert_eq!(w.held().await, held(&[]), "{what}: nothing kept");
    }
    assert_eq!(w.witnesses().await, expected_witnesses(&[]));

    // The same cosignature, unaltered, is kept.
    let a = w.post_cosignature(body(&good)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    doc.check("post", "/v1/cosignatures", &a);
    assert_eq!(a.json(), json!({"witness": WITNESS, "height": 6}));
}

#[tokio::test]
async fn a_cosignature_is_kept_until_a_newer_one_replaces_it() {
    let w = witnessed();
    let doc = w.f.document(On::Api).await;
    let at6 = cosign(WITNESS, &w.checkpoint(6));
    let a = w.post_cosignature(body(&at6)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json(), json!({"witness": WITNESS, "height": 6}));
    let listed = w.held().await;
    assert_eq!(listed, held(&[&at6]));
    // Each listed one reads back as the witness wrote it.
    let first = listed["cosignatures"][0].to_string();
    assert_eq!(Cosignature::decode(first.as_bytes()).unwrap(), at6);
    assert!(Cosignature::decode(first.as_bytes()).unwrap().verify());
    assert_eq!(
        w.witnesses().await,
        expected_witnesses(&[(WITNESS, 6, TIME_MS)])
    );

    // Older, or the same height again (even signed at another time), is
    // refused and changes nothing.
    let later_clock = Cosignature::sign(&key(WITNESS), id(WITNESS), &w.checkpoint(6), TIME_MS + 5);
    for (what, c) in [
        ("the same", at6.clone()),
        ("the same height", later_clock),
        ("older", cosign(WITNESS, &w.checkpoint(5))),
    ] {
        let a = w.post_cosignature(body(&c)).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{what}: {}", a.text());
        assert_eq!(a.error_code(), "not_newer", "{what}");
        assert!(a.json()["error"]["message"].as_str().unwrap().contains("6"));
        doc.check("post", "/v1/cosignatures", &a);
        assert_eq!(w.held().await, held(&[&at6]), "{what}");
    }
    // A rewrite of an older height is another history, whatever is held.
    let mut rewritten = w.checkpoint(3);
    rewritten.history_root = Hash::digest(b"rewritten");
    let a = w.post_cosignature(body(&cosign(WITNESS, &rewritten))).await;
    assert_eq!(a.error_code(), "other_history");
    assert_eq!(a.status, StatusCode::CONFLICT);

    // A newer one replaces it; a body of exactly the bound is read.
    let at7 = cosign(WITNESS, &w.checkpoint(TOP));
    let a = w
        .post_cosignature(padded(&at7, COSIGNATURE_BYTES_MAX))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json(), json!({"witness": WITNESS, "height": TOP}));
    // A second witness is held beside the first, by id.
    let other = cosign(MARKUP_WITNESS, &w.checkpoint(2));
    let a = w.post_cosignature(body(&other)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(w.held().await, held(&[&at7, &other]));
    assert_eq!(
        w.witnesses().await,
        expected_witnesses(&[(WITNESS, TOP, TIME_MS), (MARKUP_WITNESS, 2, TIME_MS)])
    );
}

#[tokio::test]
async fn the_explorer_listener_takes_no_cosignature() {
    let w = witnessed();
    let good = cosign(WITNESS, &w.checkpoint(6));
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let request = Request::builder()
            .method(method.clone())
            .uri("/v1/cosignatures")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body(&good)))
            .unwrap();
        let a = w.f.send(On::Explorer, request).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(a.header(header::ALLOW), "GET, HEAD", "{method}");
        assert_eq!(a.error_code(), "method_not_allowed");
    }
    assert_eq!(w.held().await, held(&[]));
    // On the API, the route takes GET and POST only.
    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/v1/cosignatures")
        .body(Body::empty())
        .unwrap();
    let a = w.f.send(On::Api, request).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let mut allow: Vec<String> = a
        .header(header::ALLOW)
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect();
    allow.sort();
    assert_eq!(allow, ["GET", "HEAD", "POST"]);
}

/// The witnesses' section of the explorer's page of block `h`, in `lang`
/// (the block's transactions may name the same entities).
async fn block_page(w: &Witnessed, h: u64, lang: &str) -> String {
    let a =
        w.f.get(On::Explorer, &format!("/blocks/{h}?lang={lang}"))
            .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header(header::CACHE_CONTROL), "public, max-age=5");
    let page = a.text();
    let heading = match lang {
        "en" => "<h2>Outside witnesses</h2>",
        _ => "<h2>Nhân chứng bên ngoài</h2>",
    };
    let start = page
        .find(heading)
        .unwrap_or_else(|| panic!("block {h} has no witnesses' section"));
    let end = start + page[start..].find("</section>").expect("a closed section");
    page[start..end].to_owned()
}

const NONE_EN: &str = "No outside witness has cosigned this block yet.";
const NONE_VI: &str = "Chưa có nhân chứng bên ngoài nào đồng ký khối này.";

#[tokio::test]
async fn a_block_page_names_the_witnesses_who_cosigned_it_or_a_later_checkpoint() {
    let w = witnessed();
    let link = format!(r#"href="/entities/{WITNESS}?lang=en""#);
    for h in 1..=TOP {
        let page = block_page(&w, h, "en").await;
        assert!(page.contains(NONE_EN), "block {h}");
        assert!(!page.contains(&link), "block {h}");
        assert!(block_page(&w, h, "vi").await.contains(NONE_VI));
    }
    // Refused, it shows nowhere.
    let a = w
        .post_cosignature(body(&cosign(SUSPENDED, &w.checkpoint(6))))
        .await;
    assert_eq!(a.error_code(), "witness_suspended");
    assert!(block_page(&w, 6, "en").await.contains(NONE_EN));

    let a = w
        .post_cosignature(body(&cosign(WITNESS, &w.checkpoint(5))))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    for h in 1..=5 {
        let page = block_page(&w, h, "en").await;
        assert!(!page.contains(NONE_EN), "block {h}");
        assert!(
            page.contains("These outside witnesses have cosigned"),
            "block {h}"
        );
        assert!(page.contains(&link), "block {h}");
        assert!(page.contains(WITNESS_NAME), "block {h}");
        assert!(
            page.contains(r#"href="/blocks/5?lang=en""#),
            "cosigned up to 5"
        );
        let vi = block_page(&w, h, "vi").await;
        assert!(!vi.contains(NONE_VI) && vi.contains("đã đồng ký đến khối"));
        assert!(vi.contains(&format!(r#"href="/entities/{WITNESS}?lang=vi""#)));
    }
    for h in 6..=TOP {
        let page = block_page(&w, h, "en").await;
        assert!(page.contains(NONE_EN), "block {h}");
        assert!(!page.contains(&link), "block {h}");
    }

    // A name that carries markup is shown as text.
    let a = w
        .post_cosignature(body(&cosign(MARKUP_WITNESS, &w.checkpoint(TOP))))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let page = block_page(&w, TOP, "en").await;
    assert!(page.contains(&format!(r#"href="/entities/{MARKUP_WITNESS}?lang=en""#)));
    assert!(page.contains("Mặt trận &lt;b&gt;Tổ quốc&lt;/b&gt; &amp; &quot;bạn&quot;"));
    assert!(!page.contains(MARKUP_NAME) && !page.contains("<b>Tổ quốc"));
    assert!(!page.contains(&link), "KTNN cosigned only up to 5");
    let page = block_page(&w, 3, "en").await;
    assert!(page.contains(&link) && page.contains(MARKUP_WITNESS));
}

#[tokio::test]
async fn a_witness_since_suspended_or_rekeyed_is_not_shown_behind_blocks() {
    let w = witnessed();
    let store = &w.f.shared.store;
    // Held as if posted before the suspension (block 6) or before a
    // change of key: written straight into the store.
    let hold = |c: &Cosignature| {
        store
            .tamper(
                "cosignatures",
                c.witness.as_str().as_bytes(),
                &ledger::codec::encode(c),
            )
            .unwrap();
    };
    hold(&cosign(SUSPENDED, &w.checkpoint(5)));
    let mut rekeyed = cosign(MARKUP_WITNESS, &w.checkpoint(5));
    rekeyed.key = key("another key").public_key();
    hold(&rekeyed);
    let page = block_page(&w, 3, "en").await;
    assert!(page.contains(NONE_EN), "{page}");
    assert!(!page.contains(SUSPENDED) && !page.contains(MARKUP_WITNESS));
    // An active witness with its key is.
    hold(&cosign(WITNESS, &w.checkpoint(5)));
    let page = block_page(&w, 3, "en").await;
    assert!(page.contains(WITNESS_NAME) && !page.contains(SUSPENDED));
}

#[test]
fn metrics_show_the_height_each_witness_last_cosigned() {
    let w = witnessed();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let gauge =
        |who: &str, h: u64| format!("minhbach_witness_cosigned_height{{witness=\"{who}\"}} {h}\n");
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let post = |c: Cosignature| {
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async { w.post_cosignature(body(&c)).await.status })
        })
    };
    // Set by the answer itself: nothing was held when the router was made.
    assert!(w.f.shared.store.cosignatures().unwrap().is_empty());
    assert_eq!(post(cosign(WITNESS, &w.checkpoint(5))), StatusCode::OK);
    assert!(handle.render().contains(&gauge(WITNESS, 5)));
    // Refusals set nothing, and do not lower the gauge.
    assert_eq!(
        post(cosign(SUSPENDED, &w.checkpoint(6))),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(cosign(WITNESS, &w.checkpoint(4))),
        StatusCode::CONFLICT
    );
    let text = handle.render();
    assert!(text.contains(&gauge(WITNESS, 5)), "{text}");
    assert!(!text.contains(SUSPENDED), "{text}");
    assert_eq!(post(cosign(WITNESS, &w.checkpoint(TOP))), StatusCode::OK);
    assert!(handle.render().contains(&gauge(WITNESS, TOP)));

    // A node that restarts shows what it holds before anyone posts again.
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || drop(w.f.router(On::Api)));
    assert!(handle.render().contains(&gauge(WITNESS, TOP)));
    // The explorer listener's router sets nothing.
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || drop(w.f.router(On::Explorer)));
    assert!(!handle.render().contains("minhbach_witness_cosigned_height"));
}
