//! A fiscal year's page, open and then closed, with the home page marking
//! a closed year final; and the page of transactions awaiting signatures,
//! each in words with whose keys it still waits for, in both languages,
//! escaping what signers wrote.

use axum::http::StatusCode;
use ledger::crypto::SigningKey;
use ledger::tx::EntityKind;
use ledger::{Op, SignedTx, Year};
use node::shared::AwaitingOutcome;
use testkit::ops;
use testkit::{key, NodeFixture};

use super::{body, GENEROUS, LINE, YEAR};
use crate::api::explorer_router;

/// The vendor's name, as its registration wrote it: markup that must show
/// as text.
const VENDOR_NAME: &str = "Công ty <b>Sông Hồng</b>";
const VENDOR_NAME_HTML: &str = "Công ty &lt;b&gt;Sông Hồng&lt;/b&gt;";
/// A payment reference with a script in it.
const REFERENCE: &str = "<script>alert(1)</script>";
const REFERENCE_HTML: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

/// A chain where the health ministry signs with two keys, both needed;
/// payments and awards of its departments of 1 tỷ or more need the
/// controller KSC (two keys, both needed). Block 1 appropriates 5 tỷ,
/// block 2 passes 4 tỷ on to Bạch Mai, block 3 awards C-1 (3 tỷ, approved),
/// block 4 pays 500 triệu on it.
fn chain() -> NodeFixture {
    let genesis = super::health_world(VENDOR_NAME)
        .entity("KSC", EntityKind::Controller, "Kho bạc Nhà nước", None)
        .keys("BYT", &["BYT 1", "BYT 2"], 2)
        .keys("KSC", &["KSC 1", "KSC 2"], 2)
        .control(Some("BYT"), 1_000_000_000, "KSC")
        .build();
    let mut node = NodeFixture::new("approvals", genesis);
    let t = node.tx("BTC", 0, ops::appropriate(YEAR, LINE, "BYT", 5_000_000_000));
    node.commit(vec![t]);
    let t = signed_by(
        &node,
        "BYT",
        ops::allocate(YEAR, LINE, "BYT-BVBM", 4_000_000_000),
        &[key("BYT 1"), key("BYT 2")],
    );
    node.commit(vec![t]);
    let award = ops::award("C-1", YEAR, LINE, "V-0001", 3_000_000_000, "Máy thở");
    let t = signed_by(
        &node,
        "BYT-BVBM",
        award,
        &[key("BYT-BVBM"), key("KSC 1"), key("KSC 2")],
    );
    node.commit(vec![t]);
    let t = node.tx("BYT-BVBM", 0, ops::pay("C-1", 500_000_000, "UNC-001"));
    node.commit(vec![t]);
    node
}

/// `op` as `signer`'s next transaction, signed with `keys`.
fn signed_by(node: &NodeFixture, signer: &str, op: Op, keys: &[SigningKey]) -> SignedTx {
    let refs: Vec<&SigningKey> = keys.iter().collect();
    node.tx(signer, 0, op).body.sign_all(&refs)
}

async fn page(node: &NodeFixture, uri: &str) -> (StatusCode, String) {
    let router = explorer_router(node.shared.clone(), GENEROUS);
    let request = axum::http::Request::get(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    let r = tower::ServiceExt::oneshot(router, request).await.unwrap();
    (r.status(), body(r).await)
}

/// A link to an entity as a page in `lang` writes it.
fn link(lang: &str, id: &str, name_html: &str) -> String {
    format!(r#"<a href="/entities/{id}?lang={lang}" title="{id}"><bdi>{name_html}</bdi></a>"#)
}

fn amount(lang: &str, vi: &str, en: &str) -> String {
    format!(
        r#"<td class="num"><span class="amt">{}</span></td>"#,
        if lang == "vi" { vi } else { en }
    )
}

/// The rows of 2026 in `lang`: the ministry then its department, each
/// with its kind and five figures.
fn year_rows(lang: &str) -> String {
    let vi = lang == "vi";
    let (ministry, department) = if vi {
        ("Bộ", "Đơn vị chi tiêu")
    } else {
        ("Ministry", "Department")
    };
    let zero = amount(lang, "0 ₫", "0 ₫");
    let byt = [
        amount(lang, "5.000.000.000 ₫", "5,000,000,000 ₫"),
        amount(lang, "4.000.000.000 ₫", "4,000,000,000 ₫"),
        zero.clone(),
        zero.clone(),
        amount(lang, "1.000.000.000 ₫", "1,000,000,000 ₫"),
    ]
    .concat();
    let bvbm = [
        amount(lang, "4.000.000.000 ₫", "4,000,000,000 ₫"),
        zero,
        amount(lang, "3.000.000.000 ₫", "3,000,000,000 ₫"),
        amount(lang, "500.000.000 ₫", "500,000,000 ₫"),
        amount(lang, "3.500.000.000 ₫", "3,500,000,000 ₫"),
    ]
    .concat();
    format!(
        "<tbody><tr><td>{}</td><td>{ministry}</td>{byt}</tr>\
         <tr class=\"sub\"><td>{}</td><td>{department}</td>{bvbm}</tr></tbody>",
        link(lang, "BYT", "Bộ Y tế"),
        link(lang, "BYT-BVBM", "Bệnh viện Bạch Mai"),
    )
}

#[tokio::test]
async fn a_year_page_shows_each_ministry_then_its_departments_and_turns_final_once_closed() {
    let mut node = chain();
    let open = [
        ("vi", "Năm ngân sách 2026", "Năm chưa khóa sổ", "Chưa chi"),
        ("en", "Fiscal year 2026", "Not closed yet", "Unspent"),
    ];
    for (lang, title, notice, last) in open {
        let (status, html) = page(&node, &format!("/years/2026?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK, "{lang}");
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{lang}: {html}"
        );
        assert!(html.contains(notice), "{lang}");
        assert!(
            html.contains(&format!(r#"<th class="num">{last}</th></tr></thead>"#)),
            "{lang}: {html}"
        );
        assert!(html.contains(&year_rows(lang)), "{lang}: {html}");
        assert!(!html.contains(r#"class="final""#), "{lang}");
        assert!(html.contains(r#"href="/v1/years/2026""#));
    }
    // The home page links the year; nothing is final yet.
    let (_, home) = page(&node, "/?lang=en").await;
    assert!(
        home.contains(r#"<a href="/years/2026?lang=en">2026 by ministry and department</a>"#),
        "{home}"
    );
    assert!(!home.contains("Final"), "{home}");
    assert!(!home.contains("Closed years"));

    // Block 5: the treasury closes 2026.
    let t = node.tx("BTC", 0, Op::CloseYear { year: Year(YEAR) });
    node.commit(vec![t]);
    let closed = [
        (
            "vi",
            r#"<p class="final">Số liệu chính thức — đã khóa sổ ở khối <a href="/blocks/5?lang=vi">5</a>.</p>"#,
            "Bị hủy bỏ",
            r#"<p class="note">Năm đã khóa sổ, số liệu chính thức: <a href="/years/2026?lang=vi">2026</a>.</p>"#,
        ),
        (
            "en",
            r#"<p class="final">Final — closed at block <a href="/blocks/5?lang=en">5</a>.</p>"#,
            "Lapsed",
            r#"<p class="note">Closed years, figures final: <a href="/years/2026?lang=en">2026</a>.</p>"#,
        ),
    ];
    for (lang, notice, last, closed_years) in closed {
        let (status, html) = page(&node, &format!("/years/2026?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(notice), "{lang}: {html}");
        assert!(html.contains(&format!(r#"<th class="num">{last}</th></tr></thead>"#)));
        assert!(html.contains(&year_rows(lang)), "{lang}: the same figures");
        // The home page: the year it shows is final, and listed as closed.
        let (_, home) = page(&node, &format!("/?lang={lang}")).await;
        assert!(home.contains(notice), "{lang}: {home}");
        assert!(home.contains(closed_years), "{lang}: {home}");
    }
}

#[tokio::test]
async fn a_year_with_nothing_is_empty_and_a_bad_year_is_400() {
    let node = chain();
    let (status, html) = page(&node, "/years/2030?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Nothing was recorded for 2030."), "{html}");
    assert!(!html.contains("<table"));
    let (status, html) = page(&node, "/years/1999").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("«1999» không phải năm ngân sách từ 2000 đến 2100."),
        "{html}"
    );
    let (status, html) = page(&node, "/years/%3Cb%3E?lang=en").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("“&lt;b&gt;” is not a fiscal year"), "{html}");
}

/// Offers `tx` to the node's pool; its id while it waits.
fn offer(node: &NodeFixture, tx: SignedTx) -> ledger::Hash {
    match node.shared.offer_awaiting(tx).unwrap() {
        AwaitingOutcome::Waiting(a) => a.id,
        AwaitingOutcome::Submitted(h) => panic!("submitted as {h}"),
    }
}

#[tokio::test]
async fn awaiting_transactions_read_as_sentences_with_whose_keys_they_wait_for() {
    let mut node = chain();
    let (status, html) = page(&node, "/awaiting?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No transaction awaits signatures."), "{html}");
    let (_, home) = page(&node, "/").await;
    assert!(!home.contains(r#"href="/awaiting""#), "nothing to link");

    // At height 4: Bạch Mai pays 1.5 tỷ, which needs the controller; the
    // ministry passes 100 triệu on with one of its two keys.
    let pay = ops::pay("C-1", 1_500_000_000, REFERENCE);
    let pay_id = offer(
        &node,
        signed_by(&node, "BYT-BVBM", pay.clone(), &[key("BYT-BVBM")]),
    );
    let more = ops::allocate(YEAR, LINE, "BYT-BVBM", 100_000_000);
    let more_id = offer(&node, signed_by(&node, "BYT", more, &[key("BYT 1")]));
    node.commit(Vec::new());
    // A block later the controller's first key signs: still since block 4.
    offer(
        &node,
        signed_by(&node, "BYT-BVBM", pay.clone(), &[key("KSC 1")]),
    );

    let cases = [
        (
            "vi",
            "Giao dịch chờ chữ ký",
            format!(
                "Cần {} phê duyệt: đã có 1 trên 2 chữ ký cần thiết.",
                link("vi", "KSC", "Kho bạc Nhà nước")
            ),
            format!(
                "Cần thêm khóa của {} ký: mới có 1 trên 2.",
                link("vi", "BYT", "Bộ Y tế")
            ),
            format!(
                "{} trả <span class=\"amt\">1.500.000.000 ₫</span> cho {} theo hợp đồng",
                link("vi", "BYT-BVBM", "Bệnh viện Bạch Mai"),
                link("vi", "V-0001", VENDOR_NAME_HTML)
            ),
        ),
        (
            "en",
            "Awaiting signatures",
            format!(
                "Needs {}'s approval: 1 of the 2 signatures it needs so far.",
                link("en", "KSC", "Kho bạc Nhà nước")
            ),
            format!(
                "Needs more of {}'s keys: 1 of 2 have signed.",
                link("en", "BYT", "Bộ Y tế")
            ),
            format!(
                "{} paid <span class=\"amt\">1,500,000,000 ₫</span> to {} under contract",
                link("en", "BYT-BVBM", "Bệnh viện Bạch Mai"),
                link("en", "V-0001", VENDOR_NAME_HTML)
            ),
        ),
    ];
    for (lang, title, controller, threshold, sentence) in &cases {
        let (status, html) = page(&node, &format!("/awaiting?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK, "{lang}");
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{lang}");
        assert!(
            html.contains(controller),
            "{lang}: missing\n{controller}\nin\n{html}"
        );
        assert!(
            html.contains(threshold),
            "{lang}: missing\n{threshold}\nin\n{html}"
        );
        assert!(
            html.contains(sentence),
            "{lang}: missing\n{sentence}\nin\n{html}"
        );
        // What the signer wrote is text; no markup of theirs gets through.
        assert!(
            html.contains(&format!("<bdi>{REFERENCE_HTML}</bdi>")),
            "{lang}"
        );
        assert!(
            !html.contains(REFERENCE) && !html.contains("<b>Sông"),
            "{lang}"
        );
        // Both since block 4, each linking its JSON.
        assert_eq!(
            html.matches(&format!(
                r#"<td class="num"><a href="/blocks/4?lang={lang}">4</a></td>"#
            ))
            .count(),
            2,
            "{lang}: {html}"
        );
        for id in [pay_id, more_id] {
            assert!(
                html.contains(&format!(r#"href="/v1/awaiting/{id}""#)),
                "{lang}"
            );
        }
    }
    let (_, home) = page(&node, "/?lang=en").await;
    assert!(
        home.contains(r#"<a href="/awaiting?lang=en">Transactions awaiting signatures: 2</a>"#),
        "{home}"
    );

    // The controller's second key completes the payment: submitted, then
    // committed, it no longer waits.
    let last = signed_by(&node, "BYT-BVBM", pay, &[key("KSC 2")]);
    let AwaitingOutcome::Submitted(hash) = node.shared.offer_awaiting(last).unwrap() else {
        panic!("three signatures suffice");
    };
    let complete = node
        .shared
        .mempool
        .lock()
        .unwrap()
        .get(&hash)
        .cloned()
        .unwrap();
    node.commit(vec![complete]);
    let (_, html) = page(&node, "/awaiting?lang=en").await;
    assert!(!html.contains(&pay_id.to_hex()), "{html}");
    assert!(html.contains(&more_id.to_hex()));
    let (_, home) = page(&node, "/?lang=en").await;
    assert!(home.contains("Transactions awaiting signatures: 1"));
}
