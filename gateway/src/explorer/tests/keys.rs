//! Keys, thresholds and expenditure control as the explorer shows them:
//! each new operation as a sentence in both languages, an entity's keys and
//! a change of them still waiting, and the red flag a treasury change of
//! another entity's keys raises, which stands for good.

use axum::http::StatusCode;
use ledger::crypto::SigningKey;
use ledger::tx::EntityKind;
use ledger::{Amount, Hash, Op, SignedTx};
use testkit::{id, key, NodeFixture};

use super::{body, GENEROUS};
use crate::api::explorer_router;

/// The vendor's name, as its registration wrote it: markup that must show
/// as text.
const VENDOR_NAME: &str = r#"Công ty <b>Sông Hồng</b> & "Con""#;
/// The same name as the page must carry it.
const VENDOR_NAME_HTML: &str = "Công ty &lt;b&gt;Sông Hồng&lt;/b&gt; &amp; &quot;Con&quot;";

/// How many blocks a treasury change of another entity's keys waits in a
/// genesis that does not say.
const DELAY: u64 = genesis::ROTATION_DELAY_DEFAULT;

/// A chain in which every new operation is committed, one block each.
struct Keyed {
    node: NodeFixture,
    register_controller: Hash,
    /// The treasury sets the vendor's keys (block 2): still pending.
    vendor_keys: Hash,
    /// The hospital sets its own keys (block 3): at once.
    own_keys: Hash,
    control_ministry: Hash,
    control_all: Hash,
    remove_ministry: Hash,
    remove_all: Hash,
    /// The treasury sets the ministry's key (block 6), which the ministry
    /// cancels (block 7).
    ministry_keys: Hash,
    cancel: Hash,
}

fn vendor_new_keys() -> Vec<SigningKey> {
    vec![key("V-0001 office"), key("V-0001 director")]
}

fn hospital_keys() -> Vec<SigningKey> {
    vec![key("BVBM 1"), key("BVBM 2"), key("BVBM 3")]
}

fn publics(keys: &[SigningKey]) -> Vec<ledger::PublicKey> {
    keys.iter().map(SigningKey::public_key).collect()
}

/// Commits `txs` as the next block; their hashes, in order.
fn commit(node: &mut NodeFixture, txs: Vec<SignedTx>) -> Vec<Hash> {
    let hashes = txs.iter().map(SignedTx::hash).collect();
    node.commit(txs);
    hashes
}

fn keyed() -> Keyed {
    let genesis = super::health_world(VENDOR_NAME).build();
    let mut node = NodeFixture::new("keys", genesis);
    // 1: an expenditure control office, two of whose keys must sign.
    let register = node.tx(
        "BTC",
        0,
        Op::RegisterEntity {
            id: id("KSC"),
            kind: EntityKind::Controller,
            name: "Kho bạc Nhà nước".into(),
            parent: None,
            keys: publics(&[key("KSC 1"), key("KSC 2")]),
            threshold: 2,
        },
    );
    let register_controller = commit(&mut node, vec![register])[0];
    // 2: the treasury sets two keys for the vendor: they wait.
    let t = node.tx(
        "BTC",
        0,
        Op::SetKeys {
            entity: id("V-0001"),
            keys: publics(&vendor_new_keys()),
            threshold: 2,
        },
    );
    let vendor_keys = commit(&mut node, vec![t])[0];
    // 3: the hospital sets its own three keys, two to sign: at once.
    let t = node.tx(
        "BYT-BVBM",
        0,
        Op::SetKeys {
            entity: id("BYT-BVBM"),
            keys: publics(&hospital_keys()),
            threshold: 2,
        },
    );
    let own_keys = commit(&mut node, vec![t])[0];
    // 4: control rules for the ministry and for all ministries.
    let txs = vec![
        node.tx(
            "BTC",
            0,
            Op::SetControl {
                ministry: Some(id("BYT")),
                amount: Amount(2_000_000_000),
                controller: id("KSC"),
            },
        ),
        node.tx(
            "BTC",
            1,
            Op::SetControl {
                ministry: None,
                amount: Amount(5_000_000_000),
                controller: id("KSC"),
            },
        ),
    ];
    let [control_ministry, control_all] = commit(&mut node, txs)[..] else {
        unreachable!("two transactions")
    };
    // 5: both removed.
    let txs = vec![
        node.tx(
            "BTC",
            0,
            Op::RemoveControl {
                ministry: Some(id("BYT")),
            },
        ),
        node.tx("BTC", 1, Op::RemoveControl { ministry: None }),
    ];
    let [remove_ministry, remove_all] = commit(&mut node, txs)[..] else {
        unreachable!("two transactions")
    };
    // 6: the treasury replaces the ministry's key; 7: the ministry cancels.
    let t = node.tx(
        "BTC",
        0,
        Op::RotateKey {
            entity: id("BYT"),
            public_key: key("BYT new").public_key(),
        },
    );
    let ministry_keys = commit(&mut node, vec![t])[0];
    let t = node.tx("BYT", 0, Op::CancelKeys { entity: id("BYT") });
    let cancel = commit(&mut node, vec![t])[0];
    assert_eq!(node.height(), 7);
    Keyed {
        node,
        register_controller,
        vendor_keys,
        own_keys,
        control_ministry,
        control_all,
        remove_ministry,
        remove_all,
        ministry_keys,
        cancel,
    }
}

impl Keyed {
    async fn page(&self, uri: &str) -> (StatusCode, String) {
        let router = explorer_router(self.node.shared.clone(), GENEROUS);
        let request = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let r = tower::ServiceExt::oneshot(router, request).await.unwrap();
        (r.status(), body(r).await)
    }
}

/// A link to an entity as a page in `lang` writes it.
fn link(lang: &str, id: &str, name_html: &str) -> String {
    format!(r#"<a href="/entities/{id}?lang={lang}" title="{id}"><bdi>{name_html}</bdi></a>"#)
}

/// The keys in the order the ledger keeps them, as hex.
fn sorted_hex(keys: &[SigningKey]) -> Vec<String> {
    let mut hex: Vec<String> = keys.iter().map(|k| k.public_key().to_hex()).collect();
    hex.sort();
    hex
}

#[tokio::test]
async fn each_new_operation_reads_as_a_sentence_in_both_languages() {
    let k = keyed();
    // (transaction, language, its title, its sentence)
    let mut cases: Vec<(Hash, &str, &str, String)> = Vec::new();
    for lang in ["vi", "en"] {
        let btc = link(lang, "BTC", "Bộ Tài chính");
        let byt = link(lang, "BYT", "Bộ Y tế");
        let bvbm = link(lang, "BYT-BVBM", "Bệnh viện Bạch Mai");
        let vendor = link(lang, "V-0001", VENDOR_NAME_HTML);
        let ksc = link(lang, "KSC", "Kho bạc Nhà nước");
        let ksc_id = link(lang, "KSC", "KSC");
        let vi = lang == "vi";
        let amount = |vi_text: &str, en_text: &str| {
            format!(
                r#"<span class="amt">{}</span>"#,
                if vi { vi_text } else { en_text }
            )
        };
        let two = amount("2.000.000.000 ₫", "2,000,000,000 ₫");
        let five = amount("5.000.000.000 ₫", "5,000,000,000 ₫");
        let pick = |v: String, e: String| if vi { v } else { e };
        cases.extend([
            (
                k.register_controller,
                lang,
                if vi { "Đăng ký tổ chức" } else { "Register entity" },
                pick(
                    format!("{btc} đăng ký Cơ quan kiểm soát chi {ksc_id}: <bdi>Kho bạc Nhà nước</bdi>."),
                    format!("{btc} registered Expenditure controller {ksc_id}: <bdi>Kho bạc Nhà nước</bdi>."),
                ),
            ),
            (
                k.vendor_keys,
                lang,
                if vi { "Đặt bộ khóa ký" } else { "Set signing keys" },
                pick(
                    format!("{btc} đặt cho {vendor} bộ 2 khóa ký, cần 2 chữ ký; chỉ có hiệu lực sau thời gian chờ của chuỗi, nếu {vendor} không hủy."),
                    format!("{btc} set 2 signing keys for {vendor}, 2 of which must sign; they take effect only after the chain's waiting period, unless {vendor} cancels."),
                ),
            ),
            (
                k.own_keys,
                lang,
                if vi { "Đặt bộ khóa ký" } else { "Set signing keys" },
                pick(
                    format!("{bvbm} đặt cho {bvbm} bộ 3 khóa ký, cần 2 chữ ký."),
                    format!("{bvbm} set 3 signing keys for {bvbm}, 2 of which must sign."),
                ),
            ),
            (
                k.control_ministry,
                lang,
                if vi { "Đặt quy tắc kiểm soát chi" } else { "Set control rule" },
                pick(
                    format!("{btc} đặt quy tắc: thanh toán và hợp đồng của {byt} từ {two} trở lên cần chữ ký của {ksc}."),
                    format!("{btc} set a control rule: payments and awards of {two} or more by {byt} need {ksc}'s signature."),
                ),
            ),
            (
                k.control_all,
                lang,
                if vi { "Đặt quy tắc kiểm soát chi" } else { "Set control rule" },
                pick(
                    format!("{btc} đặt quy tắc: thanh toán và hợp đồng của mọi bộ (chưa có quy tắc riêng) từ {five} trở lên cần chữ ký của {ksc}."),
                    format!("{btc} set a control rule: payments and awards of {five} or more by any ministry without its own rule need {ksc}'s signature."),
                ),
            ),
            (
                k.remove_ministry,
                lang,
                if vi { "Bỏ quy tắc kiểm soát chi" } else { "Remove control rule" },
                pick(
                    format!("{btc} bỏ quy tắc kiểm soát chi của {byt}."),
                    format!("{btc} removed the control rule of {byt}."),
                ),
            ),
            (
                k.remove_all,
                lang,
                if vi { "Bỏ quy tắc kiểm soát chi" } else { "Remove control rule" },
                pick(
                    format!("{btc} bỏ quy tắc kiểm soát chi chung cho mọi bộ."),
                    format!("{btc} removed the control rule of all ministries."),
                ),
            ),
            (
                k.cancel,
                lang,
                if vi { "Hủy thay khóa" } else { "Cancel key change" },
                pick(
                    format!("{byt} hủy việc thay khóa đang chờ của {byt}."),
                    format!("{byt} cancelled the pending key change of {byt}."),
                ),
            ),
        ]);
    }
    assert_eq!(cases.len(), 16);
    for (hash, lang, title, sentence) in &cases {
        let (status, html) = k.page(&format!("/txs/{hash}?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK, "{hash} {lang}");
        assert!(
            html.contains(&format!("<p>{sentence}</p>")),
            "{lang}: missing\n{sentence}\nin\n{html}"
        );
        assert!(
            html.contains(&format!("<h2>{title}</h2>")),
            "{lang}: {title}"
        );
    }

    // The fields of each: the keys as the operation lists them and the
    // threshold, the rule's ministry (or all of them), amount and
    // controller.
    let (_, html) = k.page(&format!("/txs/{}?lang=en", k.vendor_keys)).await;
    let keys: String = vendor_new_keys()
        .iter()
        .map(|k| {
            format!(
                r#"<span class="hash">{}</span><br>"#,
                k.public_key().to_hex()
            )
        })
        .collect();
    assert!(
        html.contains(&format!("<dt>Signing keys</dt><dd>{keys}</dd>")),
        "{html}"
    );
    assert!(
        html.contains("<dt>Signatures needed</dt><dd>2</dd>"),
        "{html}"
    );
    let (_, html) = k.page(&format!("/txs/{}?lang=en", k.control_all)).await;
    assert!(
        html.contains("<dt>Ministry</dt><dd>all ministries</dd>"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "<dt>Controller</dt><dd>{}</dd>",
        link("en", "KSC", "Kho bạc Nhà nước")
    )));
    let (_, html) = k.page(&format!("/txs/{}?lang=vi", k.remove_ministry)).await;
    assert!(
        html.contains(&format!(
            "<dt>Bộ</dt><dd>{}</dd>",
            link("vi", "BYT", "Bộ Y tế")
        )),
        "{html}"
    );
    // The controller's own page names its kind and both keys.
    let (_, html) = k.page("/entities/KSC?lang=en").await;
    assert!(
        html.contains("<dt>Kind</dt><dd>Expenditure controller</dd>"),
        "{html}"
    );
    assert!(html.contains("<dt>Signatures needed</dt><dd>2</dd>"));
    for h in sorted_hex(&[key("KSC 1"), key("KSC 2")]) {
        assert!(html.contains(&h), "{h}");
    }
}

#[tokio::test]
async fn an_entity_page_shows_its_keys_and_a_pending_change_escaping_what_signers_wrote() {
    let k = keyed();
    let effective = 2 + DELAY;
    let pending = [
        (
            "vi",
            "Khóa ký",
            "Số chữ ký cần",
            "Khóa đang chờ",
            format!(
                r#"Kho bạc đặt 2 khóa mới (cần 2 chữ ký) ở khối <a href="/blocks/2?lang=vi">2</a>; có hiệu lực từ khối {effective} nếu tổ chức không hủy."#
            ),
        ),
        (
            "en",
            "Signing keys",
            "Signatures needed",
            "Pending keys",
            format!(
                r#"The treasury set 2 new keys (2 must sign) at block <a href="/blocks/2?lang=en">2</a>; they take effect at block {effective} unless the entity cancels."#
            ),
        ),
    ];
    for (lang, keys_label, threshold_label, pending_label, sentence) in &pending {
        let (status, html) = k.page(&format!("/entities/V-0001?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK);
        // Its key until then, and the change that waits.
        let current = key("V-0001").public_key().to_hex();
        assert!(
            html.contains(&format!(
                r#"<dt>{keys_label}</dt><dd><span class="hash">{current}</span><br></dd>"#
            )),
            "{lang}: {html}"
        );
        assert!(html.contains(&format!("<dt>{threshold_label}</dt><dd>1</dd>")));
        let new: String = sorted_hex(&vendor_new_keys())
            .iter()
            .map(|h| format!(r#"<span class="hash">{h}</span><br>"#))
            .collect();
        assert!(
            html.contains(&format!(
                "<dt>{pending_label}</dt><dd>{sentence}<br>{new}</dd>"
            )),
            "{lang}: missing\n{sentence}\nin\n{html}"
        );
        // The name the registration wrote is text, isolated, in the
        // heading and wherever it links.
        assert!(
            html.contains(&format!("<h1><bdi>{VENDOR_NAME_HTML}</bdi></h1>")),
            "{lang}: {html}"
        );
        assert!(
            !html.contains("<b>Sông Hồng</b>"),
            "{lang}: markup let through"
        );
    }

    // The hospital changed its own keys: in effect, nothing waits.
    let (_, html) = k.page("/entities/BYT-BVBM?lang=en").await;
    let keys: String = sorted_hex(&hospital_keys())
        .iter()
        .map(|h| format!(r#"<span class="hash">{h}</span><br>"#))
        .collect();
    assert!(
        html.contains(&format!("<dt>Signing keys</dt><dd>{keys}</dd>")),
        "{html}"
    );
    assert!(html.contains("<dt>Signatures needed</dt><dd>2</dd>"));
    assert!(!html.contains("Pending keys"), "{html}");
    // The ministry cancelled the treasury's change: its own key, nothing waits.
    let (_, html) = k.page("/entities/BYT?lang=en").await;
    assert!(html.contains(&key("BYT").public_key().to_hex()));
    assert!(!html.contains(&key("BYT new").public_key().to_hex()));
    assert!(!html.contains("Pending keys"), "{html}");
}

#[tokio::test]
async fn a_treasury_key_change_is_flagged_for_good() {
    let mut k = keyed();
    let flag_id = |h: &Hash| format!("treasury-rotated-key:{h}");
    let vendor_flag = flag_id(&k.vendor_keys);
    let ministry_flag = flag_id(&k.ministry_keys);
    let vendor = link("en", "V-0001", VENDOR_NAME_HTML);
    let still_pending = format!(
        "This change is still pending: it takes effect at block {} unless {vendor} cancels it.",
        2 + DELAY
    );

    let (status, html) = k.page("/flags?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    let ids = |html: &str| -> Vec<String> {
        html.split(r#"<li id="treasury-rotated-key:"#)
            .skip(1)
            .map(|s| format!("treasury-rotated-key:{}", &s[..s.find('"').unwrap()]))
            .collect()
    };
    // The vendor's change and the ministry's (cancelled, but the treasury
    // did set it); the hospital's own change raises nothing.
    let mut expected = vec![vendor_flag.clone(), ministry_flag.clone()];
    expected.sort();
    let mut listed = ids(&html);
    listed.sort();
    assert_eq!(listed, expected, "{html}");
    assert!(!html.contains(&k.own_keys.to_hex()));
    // Only the vendor's change still waits.
    assert_eq!(html.matches("This change is still pending").count(), 1);
    let (_, page) = k.page(&format!("/flags/{vendor_flag}?lang=en")).await;
    assert!(page.contains(&still_pending), "{page}");
    let (_, page) = k.page(&format!("/flags/{ministry_flag}?lang=en")).await;
    assert!(!page.contains("still pending"), "{page}");
    let (_, page) = k.page(&format!("/flags/{vendor_flag}?lang=vi")).await;
    assert!(
        page.contains(&format!(
            "Thay đổi này đang chờ: có hiệu lực từ khối {}, nếu {} không hủy.",
            2 + DELAY,
            link("vi", "V-0001", VENDOR_NAME_HTML)
        )),
        "{page}"
    );

    // Long after, once the change took effect: the new keys sign, the flags
    // still stand, and nothing waits any more.
    while k.node.height() < 2 + DELAY + 50 {
        k.node.commit(Vec::new());
    }
    let (_, html) = k.page("/entities/V-0001?lang=en").await;
    for h in sorted_hex(&vendor_new_keys()) {
        assert!(html.contains(&h), "{h}");
    }
    assert!(!html.contains(&key("V-0001").public_key().to_hex()));
    assert!(!html.contains("Pending keys"));
    let (_, html) = k.page("/flags?lang=en").await;
    let mut listed = ids(&html);
    listed.sort();
    assert_eq!(listed, expected, "{html}");
    assert!(!html.contains("still pending"));
    for id in &expected {
        let (status, page) = k.page(&format!("/flags/{id}?lang=en")).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert!(page.contains("Key replaced by the treasury"), "{id}");
    }
}
