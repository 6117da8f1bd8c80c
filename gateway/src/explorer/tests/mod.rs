//! The explorer's router driven in-process with `tower::ServiceExt::oneshot`
//! over a real store: a small chain is built block by block with the
//! ledger's own builder, then every page is asked for as a browser would.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use genesis::Genesis;
use ledger::tx::EntityKind;
use ledger::{Amount, Hash, Op};
use node::shared::Shared;
use testkit::ops::{self, cid};
use testkit::{id, key, GenesisBuilder, NodeFixture, CHAIN_ID};
use tower::ServiceExt;

use super::RateLimits;
use crate::api::explorer_router;

mod approvals;
mod caches;
mod feeds;
mod flags;
mod keys;
mod pictures;

const GENEROUS: RateLimits = RateLimits {
    requests_per_second: 10_000,
    burst: 10_000,
    trusted_proxies: Vec::new(),
};

const LINE: &str = "YTE.DTPT";
const YEAR: u16 = 2026;

/// A store with a few blocks of spending, and the node parts around it.
struct Fixture {
    /// Keeps the store's folder while the test runs.
    _node: NodeFixture,
    shared: Arc<Shared>,
    /// Every committed transaction's hash, by label.
    pay_hash: Hash,
    rotate_hash: Hash,
}

/// The treasury BTC, the health ministry BYT, its hospital BYT-BVBM and
/// the vendor V-0001, named `vendor`: the world of the tests that need no
/// more.
fn health_world(vendor: &str) -> GenesisBuilder {
    GenesisBuilder::new(CHAIN_ID)
        .entity("BTC", EntityKind::Treasury, "Bộ Tài chính", None)
        .entity("BYT", EntityKind::Ministry, "Bộ Y tế", None)
        .entity(
            "BYT-BVBM",
            EntityKind::Department,
            "Bệnh viện Bạch Mai",
            Some("BYT"),
        )
        .entity("V-0001", EntityKind::Vendor, vendor, None)
}

fn fixture() -> Fixture {
    let genesis = GenesisBuilder::new(CHAIN_ID)
        .entity("BTC", EntityKind::Treasury, "Bộ Tài chính", None)
        .entity("BYT", EntityKind::Ministry, "Bộ Y tế", None)
        .entity(
            "BGDDT",
            EntityKind::Ministry,
            "Bộ Giáo dục và Đào tạo",
            None,
        )
        .entity(
            "BYT-BVBM",
            EntityKind::Department,
            "Bệnh viện Bạch Mai",
            Some("BYT"),
        )
        .entity(
            "V-0001",
            EntityKind::Vendor,
            "Công ty TNHH Thiết bị Y tế Sông Hồng",
            None,
        )
        .build();
    let mut b = NodeFixture::new("test", genesis);
    b.chain.block_interval_ms = 60_000;
    // 1: the treasury appropriates 5 tỷ to the health ministry.
    let t = b.tx("BTC", 0, ops::appropriate(YEAR, LINE, "BYT", 5_000_000_000));
    b.commit(vec![t]);
    // 2: which passes 4.5 tỷ to Bạch Mai.
    let t = b.tx(
        "BYT",
        0,
        ops::allocate(YEAR, LINE, "BYT-BVBM", 4_500_000_000),
    );
    b.commit(vec![t]);
    // 3: two awards just under 2 tỷ to one vendor.
    let award =
        |c: &str, amount: u64| ops::award(c, YEAR, LINE, "V-0001", amount, "Máy thở chức năng cao");
    let txs = vec![
        b.tx("BYT-BVBM", 0, award("C-1", 1_950_000_000)),
        b.tx("BYT-BVBM", 1, award("C-2", 1_960_000_000)),
    ];
    b.commit(txs);
    // 4: a payment on C-1; C-2 amended upward and delivered.
    let pay = b.tx("BYT-BVBM", 0, ops::pay("C-1", 500_000_000, "HĐ-01/2026"));
    let pay_hash = pay.hash();
    let txs = vec![
        pay,
        b.tx(
            "BYT-BVBM",
            1,
            Op::AmendContract {
                contract: cid("C-2"),
                amount: Amount(1_990_000_000),
                reason: "Bổ sung bảo hành".into(),
                document_hash: None,
            },
        ),
        b.tx("BYT-BVBM", 2, ops::deliver("C-2", "Đợt 1", "Đã lắp đặt")),
    ];
    b.commit(txs);
    // 5: the treasury replaces the vendor's key.
    let rotate = b.tx(
        "BTC",
        0,
        Op::RotateKey {
            entity: id("V-0001"),
            public_key: key("V-0001 new").public_key(),
        },
    );
    let rotate_hash = rotate.hash();
    b.commit(vec![rotate]);
    // 6: many small payments, for a history longer than one page.
    let txs = (0..26)
        .map(|i| b.tx("BYT-BVBM", i, ops::pay("C-1", 1_000, &format!("TT-{i}"))))
        .collect();
    b.commit(txs);
    // 7: empty, so that block 6 has a successor.
    b.commit(Vec::new());

    Fixture {
        shared: b.shared.clone(),
        _node: b,
        pay_hash,
        rotate_hash,
    }
}

impl Fixture {
    fn router(&self) -> Router {
        explorer_router(self.shared.clone(), GENEROUS)
    }

    async fn send(&self, router: Router, request: Request<Body>) -> Response {
        let _ = self;
        router.oneshot(request).await.unwrap()
    }

    async fn get(&self, uri: &str) -> Response {
        self.send(
            self.router(),
            Request::get(uri).body(Body::empty()).unwrap(),
        )
        .await
    }

    /// Status and body of `GET uri`.
    async fn page(&self, uri: &str) -> (StatusCode, String) {
        let r = self.get(uri).await;
        let status = r.status();
        (status, body(r).await)
    }
}

async fn body(r: Response) -> String {
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn header_of(r: &Response, name: header::HeaderName) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_home_page_answers_the_first_questions_in_vietnamese() {
    let f = fixture();
    let r = f.get("/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header_of(&r, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "public, max-age=5");
    let html = body(r).await;
    assert!(html.contains(r#"<html lang="vi">"#), "{html}");
    assert!(html.contains(r#"<meta charset="utf-8">"#));
    // Per ministry: the names as written, and the figures in the reader's format.
    assert!(html.contains("Bộ Y tế"));
    assert!(html.contains("Bộ Giáo dục và Đào tạo"));
    assert!(html.contains("Ngân sách năm 2026 theo bộ"));
    assert!(html.contains("5.000.000.000 ₫"), "received");
    assert!(html.contains("4.500.000.000 ₫"), "passed on");
    // Committed by the department: 1.95 + 1.99 tỷ.
    assert!(html.contains("3.940.000.000 ₫"), "committed");
    // Paid: 500 million and 26 × 1,000; executed = paid ÷ received.
    assert!(html.contains("500.026.000 ₫"), "paid");
    assert!(html.contains("10,0 %"), "executed");
    // Latest payments: who paid whom, for what contract, in which block.
    assert!(html.contains("Bệnh viện Bạch Mai"));
    assert!(html.contains("Công ty TNHH Thiết bị Y tế Sông Hồng"));
    assert!(html.contains(r#"href="/contracts/C-1""#));
    assert!(html.contains(r#"href="/blocks/6""#));
    assert!(html.contains("1.000 ₫"), "the newest payments, of block 6");
    // Top vendors, the flags, one search box, the update time, verification.
    assert!(html.contains("Nhà cung cấp nhận nhiều tiền nhất năm 2026"));
    assert!(html.contains("Khóa bị Bộ Tài chính thay"));
    assert!(html.contains("Hợp đồng sát ngưỡng, lặp lại"));
    assert_eq!(html.matches(r#"name="q""#).count(), 1, "one search box");
    assert!(html.contains("Dữ liệu đến khối"));
    assert!(html.contains("(UTC+07:00)"));
    assert!(html.contains("minhbach verify proof proof.json --genesis genesis.json"));
    assert!(html.contains(r#"href="/genesis.json""#));
    assert!(!html.contains("<script"), "no JavaScript");
}

#[tokio::test]
async fn english_on_request_switches_words_and_amounts() {
    let f = fixture();
    let (status, html) = f.page("/?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("Budget 2026 by ministry"));
    assert!(html.contains("5,000,000,000 ₫"));
    assert!(html.contains("10.0%"));
    assert!(!html.contains("5.000.000.000 ₫"));
    // Names stay as written; links keep the chosen language; the switch
    // leads back to Vietnamese.
    assert!(html.contains("Bộ Y tế"));
    assert!(html.contains(r#"href="/contracts/C-1?lang=en""#));
    assert!(html.contains(r#"href="/?lang=vi""#));

    let r = f
        .send(
            f.router(),
            Request::get("/blocks/1")
                .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,vi;q=0.5")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(header_of(&r, header::VARY), "Accept-Language");
    assert_eq!(header_of(&r, header::CONTENT_LANGUAGE), "en");
    let html = body(r).await;
    assert!(html.contains("Block 1"));
    // The header chose it, so links need not carry it.
    assert!(html.contains(r#"href="/blocks/2""#));
}

#[tokio::test]
async fn search_goes_straight_to_what_the_query_names() {
    let f = fixture();
    let location = |r: &Response| header_of(r, header::LOCATION);
    let r = f.get(&format!("/search?q={}", f.pay_hash)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/txs/{}", f.pay_hash));
    let upper = f.pay_hash.to_hex().to_uppercase();
    let r = f.get(&format!("/search?q={upper}&lang=en")).await;
    assert_eq!(location(&r), format!("/txs/{}?lang=en", f.pay_hash));
    let r = f.get("/search?q=+4+").await;
    assert_eq!(location(&r), "/blocks/4");
    let r = f.get("/search?q=byt-bvbm").await;
    assert_eq!(location(&r), "/entities/BYT-BVBM");
    let r = f.get("/search?q=c-2").await;
    assert_eq!(location(&r), "/contracts/C-2");

    // Names: without accents, and with them exactly.
    let (status, html) = f.page("/search?q=bach%20mai").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/entities/BYT-BVBM""#), "{html}");
    let (_, html) = f.page("/search?q=B%E1%BA%A1ch").await; // "Bạch"
    assert!(html.contains(r#"href="/entities/BYT-BVBM""#));
    let (_, html) = f.page("/search?q=b%C3%A1ch").await; // "bách"
    assert!(!html.contains(r#"href="/entities/BYT-BVBM""#));
    assert!(html.contains("Không tìm thấy gì"));
    // Contract titles too.
    let (_, html) = f.page("/search?q=may%20tho").await;
    assert!(html.contains(r#"href="/contracts/C-1""#));

    // A block that does not exist yet, and an unknown hash, find nothing.
    let (status, html) = f.page("/search?q=999").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Không tìm thấy gì cho «999»"));
    let (_, html) = f.page(&format!("/search?q={}", "ab".repeat(32))).await;
    assert!(html.contains("Không tìm thấy gì"));

    let long = "a".repeat(super::SEARCH_QUERY_CHARS_MAX + 1);
    let (status, _) = f.page(&format!("/search?q={long}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = f.page("/search").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_committed_transaction_links_to_its_block_entities_contract_and_proof() {
    let f = fixture();
    let r = f.get(&format!("/txs/{}", f.pay_hash)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header_of(&r, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let html = body(r).await;
    assert!(html.contains("Đã ghi vào khối"));
    assert!(html.contains(r#"href="/blocks/4""#));
    assert!(html.contains(r#"href="/entities/BYT-BVBM""#));
    assert!(html.contains(r#"href="/entities/V-0001""#));
    assert!(html.contains(r#"href="/contracts/C-1""#));
    assert!(html.contains("500.000.000 ₫"));
    assert!(html.contains("HĐ-01/2026"));
    assert!(html.contains(&format!(r#"href="/v1/txs/{}/proof""#, f.pay_hash)));
    assert!(html.contains(&format!(
        "minhbach proof tx {} --out proof.json",
        f.pay_hash
    )));

    let (status, html) = f.page(&format!("/txs/{}", "00".repeat(32))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Không tìm thấy"));
    let (status, _) = f.page("/txs/not-a-hash").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn blocks_link_their_neighbours_and_are_cached_briefly() {
    let f = fixture();
    let r = f.get("/blocks/4").await;
    assert_eq!(r.status(), StatusCode::OK);
    // Even with a successor a block's page changes: witnesses cosign it.
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "public, max-age=5");
    let html = body(r).await;
    assert!(html.contains(r#"href="/blocks/3""#) && html.contains(r#"href="/blocks/5""#));
    assert!(html.contains(&format!(r#"href="/txs/{}""#, f.pay_hash)));
    assert!(html.contains("validator-0"), "commit signatures by name");
    assert!(html.contains("Quyền biểu quyết đã ký: 10 trên tổng 10."));
    assert!(html.contains("Chưa có nhân chứng bên ngoài nào đồng ký khối này."));
    let r = f.get("/blocks/7").await;
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "public, max-age=5");
    let r = f.get("/blocks/latest").await;
    assert_eq!(header_of(&r, header::LOCATION), "/blocks/7");
    let (status, html) = f.page("/blocks/8").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Chưa có khối 8."));
}

#[tokio::test]
async fn entity_history_is_paged_by_cursor() {
    let f = fixture();
    let (status, html) = f.page("/entities/BYT-BVBM").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Bệnh viện Bạch Mai"));
    assert!(html.contains(r#"href="/entities/BYT""#), "its ministry");
    assert!(html.contains("YTE.DTPT"));
    assert!(html.contains(r#"href="/contracts/C-2""#));
    // 2 awards, 3 in block 4, 26 payments, plus the allocation it received:
    // 32 entries, so a first page of 25 and a link to the rest.
    let next = html
        .split("href=\"/entities/BYT-BVBM?cursor=")
        .nth(1)
        .expect("a next-page link")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(html.matches(r#"<a class="hash" href="/txs/"#).count(), 25);
    let (status, page2) = f.page(&format!("/entities/BYT-BVBM?cursor={next}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page2.matches(r#"<a class="hash" href="/txs/"#).count(), 7);
    assert!(!page2.contains(r#"rel="next""#), "no page after the last");
    assert!(
        page2.contains(r#"href="/entities/BYT-BVBM">"#),
        "back to the first page"
    );
    let (status, _) = f.page("/entities/BYT-BVBM?cursor=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, html) = f.page("/entities/NOPE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Không có tổ chức NOPE."));
}

#[tokio::test]
async fn each_budget_line_links_to_a_proof_of_its_figures() {
    let f = fixture();
    let (_, html) = f.page("/entities/BYT-BVBM").await;
    let href = format!("/v1/state-proof?key=line:{YEAR}/{LINE}/BYT-BVBM");
    assert!(
        html.contains(&format!(r#"href="{href}" download"#)),
        "{html}"
    );
    let r = f.get(&href).await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    let v = ledger::proof::StateBundle::decode(&bytes)
        .unwrap()
        .verify(&f.shared.genesis.trust_anchor())
        .unwrap();
    // After block 7: 4.5 tỷ received; C-1 (1.95 tỷ) and C-2 (amended to
    // 1.99 tỷ) committed; 500,000,000 and 26 × 1,000 paid.
    assert_eq!(v.height.0, 7);
    match v.value {
        Some(ledger::state::StateValue::Budget(b)) => {
            assert_eq!(b.received, Amount(4_500_000_000));
            assert_eq!(b.committed, Amount(3_940_000_000));
            assert_eq!(b.paid, Amount(500_026_000));
        }
        other => panic!("not a budget line: {other:?}"),
    }
}

#[tokio::test]
async fn a_contract_shows_its_money_deliveries_amendments_and_flags() {
    let f = fixture();
    let (status, html) = f.page("/contracts/C-2").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1.990.000.000 ₫"), "current amount");
    assert!(
        html.contains("1.960.000.000 ₫"),
        "amount before the amendment"
    );
    assert!(html.contains("Bổ sung bảo hành"));
    assert!(html.contains("Đã lắp đặt"));
    assert!(html.contains("Hợp đồng được điều chỉnh tăng"));
    let (_, html) = f.page("/contracts/C-1?lang=en").await;
    assert!(html.contains("500,026,000 ₫"), "paid");
    assert!(html.contains("1,449,974,000 ₫"), "still to pay");
    assert!(html.contains("HĐ-01/2026"));
    let (status, _) = f.page("/contracts/C-404").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_flag_page_explains_each_flag_with_links_to_its_evidence() {
    let f = fixture();
    let (status, html) = f.page("/flags?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Key replaced by the treasury"));
    assert!(html.contains(&format!(r#"href="/txs/{}?lang=en""#, f.rotate_hash)));
    assert!(html.contains("Repeated awards just under a threshold"));
    assert!(html.contains("Contract amended upward"));
    // One vendor holds all of the ministry's contracts, but two contracts
    // are too few to say anything.
    assert!(!html.contains("One vendor takes most"));
}

#[tokio::test]
async fn validators_evidence_and_genesis_are_served() {
    let f = fixture();
    let (status, html) = f.page("/validators").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("validator-0") && html.contains("100,0 %"));
    let (status, html) = f.page("/evidence").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Chưa có bằng chứng vi phạm nào"));
    let r = f.get("/genesis.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let served = Genesis::from_json(&body(r).await).unwrap();
    assert_eq!(served.hash(), f.shared.genesis.hash());
    // The JSON routes are there too.
    let (status, _) = f.page("/v1/status").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_pages_are_404_in_the_layout_and_writes_are_405() {
    let f = fixture();
    let (status, html) = f.page("/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Không có trang nào ở địa chỉ này."));
    assert!(html.contains(r#"href="/genesis.json""#), "in the layout");
    let r = f.get("/v1/nowhere").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(body(r).await.contains("\"not_found\""));

    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let r = f
            .send(
                f.router(),
                Request::builder()
                    .method(method.clone())
                    .uri("/")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    let r = f
        .send(
            f.router(),
            Request::head("/blocks/1").body(Body::empty()).unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body(r).await.is_empty());
}

#[tokio::test]
async fn the_listener_limits_bursts_long_targets_and_allows_cross_origin_reads() {
    let f = fixture();
    let router = explorer_router(
        f.shared.clone(),
        RateLimits {
            requests_per_second: 1,
            burst: 3,
            trusted_proxies: Vec::new(),
        },
    );
    for _ in 0..3 {
        let r = f
            .send(
                router.clone(),
                Request::get("/healthz").body(Body::empty()).unwrap(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = f
        .send(
            router.clone(),
            Request::get("/").body(Body::empty()).unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_of(&r, header::RETRY_AFTER), "1");
    assert!(body(r).await.contains("Too many requests"));

    let long = format!("/search?q={}", "a".repeat(super::URI_BYTES_MAX));
    let r = f.get(&long).await;
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);

    let r = f
        .send(
            f.router(),
            Request::get("/v1/status")
                .header(header::ORIGIN, "https://newsroom.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(header_of(&r, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
}

#[tokio::test]
async fn the_latest_payments_are_read_from_the_newest_blocks_back() {
    use super::index::latest_payments;
    use ledger::Height;

    let f = fixture();
    let store = &f.shared.store;
    // Block 7 is empty and block 6 holds 26 payments (TT-0 to TT-25).
    let ten = latest_payments(store, Height(7), 10).unwrap();
    assert_eq!(ten.len(), 10);
    assert!(ten.iter().all(|t| t.height == Height(6)));
    let indexes: Vec<u32> = ten.iter().map(|t| t.index).collect();
    assert_eq!(
        indexes,
        (16..26).rev().collect::<Vec<u32>>(),
        "newest first"
    );
    // All of them: block 6's, then block 4's payment.
    let all = latest_payments(store, Height(7), 100).unwrap();
    assert_eq!(all.len(), 27);
    assert_eq!(all[26].hash, f.pay_hash);
    assert!(latest_payments(store, Height(3), 10).unwrap().is_empty());
}

#[tokio::test]
async fn every_answer_forbids_scripts_frames_and_sniffing() {
    let f = fixture();
    for uri in ["/", "/entities/BYT", "/v1/status", "/no-such-page"] {
        let r = f.get(uri).await;
        let csp = header_of(&r, header::CONTENT_SECURITY_POLICY);
        // No source of script is allowed, and nothing may frame the page.
        assert!(csp.starts_with("default-src 'none';"), "{uri}: {csp}");
        assert!(!csp.contains("script-src"), "{uri}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert_eq!(
            header_of(&r, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{uri}"
        );
        assert_eq!(
            header_of(&r, header::REFERRER_POLICY),
            "no-referrer",
            "{uri}"
        );
        assert_eq!(header_of(&r, header::X_FRAME_OPTIONS), "DENY", "{uri}");
    }
    // And the pages carry no script for the policy to have to allow.
    let (_, home) = f.page("/").await;
    assert!(
        !home.to_lowercase().contains("<script"),
        "a script on the home page"
    );
}

#[tokio::test]
async fn a_page_not_found_links_only_to_known_routes() {
    let f = fixture();
    for uri in [
        "//evil.example",
        "//evil.example/x?lang=en",
        "/nothing/here?q=%22%3E",
    ] {
        let (status, page) = f.page(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            !page.contains("evil.example"),
            "{uri}: the address is echoed"
        );
        assert!(
            !page.contains("nothing/here"),
            "{uri}: the address is echoed"
        );
        for href in page.split("href=\"").skip(1) {
            let href = &href[..href.find('"').unwrap()];
            // The empty icon, inline: nothing to fetch.
            if href == "data:," {
                continue;
            }
            assert!(
                href.starts_with('/') && !href.starts_with("//"),
                "{uri}: link {href:?} leaves the explorer"
            );
        }
    }
}

#[tokio::test]
async fn readers_behind_a_trusted_proxy_are_limited_apart_and_a_stranger_cannot_say_who_it_is() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;

    let f = fixture();
    let router = explorer_router(
        f.shared.clone(),
        RateLimits {
            requests_per_second: 1,
            burst: 2,
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
        },
    );
    // A request from `peer`, as `http::serve` hands it on, with the
    // `X-Forwarded-For` lines given.
    let ask = |peer: &str, forwarded: &[&str]| {
        let mut r = Request::get("/healthz");
        for line in forwarded {
            r = r.header("x-forwarded-for", *line);
        }
        let mut r = r.body(Body::empty()).unwrap();
        let peer = SocketAddr::new(peer.parse().unwrap(), 51_000);
        r.extensions_mut().insert(ConnectInfo(peer));
        f.send(router.clone(), r)
    };
    let status = |r: Response| r.status();

    // Two readers behind the proxy 10.0.0.5: each has its own burst.
    for _ in 0..2 {
        assert_eq!(
            status(ask("10.0.0.5", &["198.51.100.1"]).await),
            StatusCode::OK
        );
    }
    let r = ask("10.0.0.5", &["198.51.100.1"]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_of(&r, header::RETRY_AFTER), "1");
    for _ in 0..2 {
        assert_eq!(
            status(ask("10.0.0.5", &["198.51.100.2"]).await),
            StatusCode::OK
        );
    }
    // The first reader through a chain of two proxies (an outer one at
    // 10.1.0.1, then the IPv6 one in front of the node) is still itself,
    // whatever it put at the left of the header.
    let r = ask("fd00::5", &["203.0.113.250, 198.51.100.1, 10.1.0.1"]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // A third reader, with a malformed header: counted as the proxy.
    for _ in 0..2 {
        assert_eq!(
            status(ask("10.0.0.5", &["198.51.100.3, junk"]).await),
            StatusCode::OK
        );
    }
    assert_eq!(
        status(ask("10.0.0.5", &[]).await),
        StatusCode::TOO_MANY_REQUESTS
    );

    // A stranger sending the same header, or a new one each time, is
    // limited as itself...
    for n in 0..2 {
        let line = format!("198.51.100.{}", 10 + n);
        assert_eq!(status(ask("203.0.113.9", &[&line]).await), StatusCode::OK);
    }
    assert_eq!(
        status(ask("203.0.113.9", &["198.51.100.2"]).await),
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...and spent no token of the readers it named.
    assert_eq!(
        status(ask("10.0.0.5", &["198.51.100.10"]).await),
        StatusCode::OK
    );
}

#[tokio::test]
async fn what_signers_wrote_is_shown_isolated_from_the_page_around_it() {
    let f = fixture();
    let (_, entity) = f.page("/entities/BYT-BVBM").await;
    assert!(
        entity.contains("<h1><bdi>Bệnh viện Bạch Mai</bdi></h1>"),
        "{entity}"
    );
    let (_, home) = f.page("/").await;
    assert!(home.contains("><bdi>Bộ Y tế</bdi></a>"), "a name in a link");
}
