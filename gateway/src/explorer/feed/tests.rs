use axum::body::to_bytes;
use feed_rs::model;

use super::*;

/// 2026-03-01T08:00:00Z.
const T0: u64 = 1_772_352_000_000;

fn entry(n: u64, title: &str, category: &str) -> Entry {
    let hash = format!("{n:064x}");
    Entry {
        id: format!("tag:minhbach.invalid,2026:minhbach-test/tx/{hash}"),
        title: title.into(),
        updated_ms: T0 + n * 1_000,
        page_href: format!("/txs/{hash}"),
        bundle_href: Some(format!("/v1/txs/{hash}/proof")),
        author: Some("Bệnh viện Bạch Mai".into()),
        summary: format!("Thanh toán {n}"),
        category: category.into(),
    }
}

fn feed(base: Option<&str>, entries: Vec<Entry>) -> Feed {
    Feed {
        id: "tag:minhbach.invalid,2026:minhbach-test/entities/BYT-BVBM".into(),
        title: "Bệnh viện Bạch Mai — chi tiêu".into(),
        author: "Minh Bạch (minhbach-test)".into(),
        base: base.map(str::to_owned),
        self_href: "/entities/BYT-BVBM/feed.atom".into(),
        alternate_href: "/entities/BYT-BVBM".into(),
        updated_ms: T0 + 5_000,
        entries,
    }
}

/// Parses `xml` with feed-rs, after checking that every character is one
/// XML 1.0 allows (feed-rs itself is lenient about that).
fn parse(xml: &str) -> model::Feed {
    for c in xml.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}';
        assert!(allowed, "{c:?} is not allowed in XML 1.0:\n{xml}");
        assert!(
            !c.is_control() || matches!(c, '\t' | '\n'),
            "{c:?} in\n{xml}"
        );
    }
    feed_rs::parser::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{xml}"))
}

fn link<'a>(links: &'a [model::Link], rel: &str) -> &'a model::Link {
    links
        .iter()
        .find(|l| l.rel.as_deref() == Some(rel))
        .unwrap_or_else(|| panic!("no rel={rel} link in {links:?}"))
}

#[test]
fn a_feed_reads_back_with_its_ids_titles_links_times_and_categories() {
    let entries = vec![
        entry(3, "Thanh toán hợp đồng C-17: Máy thở — đợt 2", "payment"),
        entry(2, "Sửa đổi hợp đồng C-17", "amendment"),
        entry(1, "Trao hợp đồng C-17 cho Công ty Sông Hồng", "award"),
        entry(0, "Cờ đỏ: chia nhỏ hợp đồng", "flag"),
    ];
    let f = feed(Some("https://explorer.example.vn/"), entries.clone());
    let xml = atom(&f);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns="));
    assert!(
        xml.contains("xml:base=\"https://explorer.example.vn/\""),
        "{xml}"
    );
    let parsed = parse(&xml);

    assert_eq!(parsed.feed_type, model::FeedType::Atom);
    assert_eq!(parsed.id, f.id);
    assert_eq!(parsed.title.unwrap().content, f.title);
    assert_eq!(
        parsed.updated.unwrap().timestamp_millis() as u64,
        f.updated_ms
    );
    assert_eq!(parsed.authors[0].name.as_deref(), Some(f.author.as_str()));
    assert!(
        xml.contains("<updated>2026-03-01T08:00:05.000Z</updated>"),
        "{xml}"
    );
    let own = link(&parsed.links, "self");
    assert_eq!(
        own.href,
        "https://explorer.example.vn/entities/BYT-BVBM/feed.atom"
    );
    assert_eq!(own.media_type.as_deref(), Some("application/atom+xml"));
    let page = link(&parsed.links, "alternate");
    assert_eq!(page.href, "https://explorer.example.vn/entities/BYT-BVBM");
    assert_eq!(page.media_type.as_deref(), Some("text/html"));

    assert_eq!(parsed.entries.len(), entries.len());
    for (got, want) in parsed.entries.iter().zip(&entries) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.title.as_ref().unwrap().content, want.title);
        assert_eq!(
            got.updated.unwrap().timestamp_millis() as u64,
            want.updated_ms
        );
        assert_eq!(got.summary.as_ref().unwrap().content, want.summary);
        assert_eq!(got.authors[0].name.as_deref(), Some("Bệnh viện Bạch Mai"));
        let terms: Vec<&str> = got.categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, [want.category.as_str()]);
        let page = link(&got.links, "alternate");
        assert_eq!(
            page.href,
            format!("https://explorer.example.vn{}", want.page_href)
        );
        assert_eq!(page.media_type.as_deref(), Some("text/html"));
        let bundle = link(&got.links, "related");
        assert_eq!(
            bundle.href,
            format!(
                "https://explorer.example.vn{}",
                want.bundle_href.as_deref().unwrap()
            )
        );
        assert_eq!(bundle.media_type.as_deref(), Some("application/json"));
    }
}

#[test]
fn markup_in_titles_is_text_and_control_characters_are_dropped() {
    let mut hostile = entry(1, "<script>alert('x')</script> & \"Công ty\" <b>", "award");
    hostile.summary = "a < b && c > d; ' \" ]]> <!-- -->".into();
    hostile.author = Some("V-0001 \"<Sông Hồng>\" & co".into());
    hostile.category = "award\" onload=\"x".into();
    let mut controls = entry(2, "Máy\u{1}thở\u{8}\u{1b}[31m đỏ\u{7f}\u{85}", "payment");
    controls.summary = "tab\there\r\nnew line\u{0}".into();
    controls.page_href = "/txs/a\"b<c>&d".into();
    let mut f = feed(None, vec![hostile.clone(), controls]);
    f.title = "Feed & <title> 'quoted'\u{FFFE}\u{FFFF}".into();
    let xml = atom(&f);
    assert!(!xml.contains("<script>"), "{xml}");
    assert!(!xml.contains("<b>"), "{xml}");
    let parsed = parse(&xml);

    assert_eq!(parsed.title.unwrap().content, "Feed & <title> 'quoted'");
    let [first, second] = &parsed.entries[..] else {
        panic!("{:?}", parsed.entries)
    };
    assert_eq!(first.title.as_ref().unwrap().content, hostile.title);
    assert_eq!(first.summary.as_ref().unwrap().content, hostile.summary);
    assert_eq!(first.authors[0].name, hostile.author);
    assert_eq!(first.categories[0].term, hostile.category);
    assert_eq!(second.title.as_ref().unwrap().content, "Máythở[31m đỏ");
    assert_eq!(
        second.summary.as_ref().unwrap().content,
        "tab\there\r\nnew line"
    );
    assert_eq!(link(&second.links, "alternate").href, "/txs/a\"b<c>&d");
}

#[test]
fn without_a_base_paths_stay_paths_and_absolute_urls_stay_as_given() {
    let mut e = entry(1, "Thanh toán", "payment");
    e.page_href = "https://other.example.vn/txs/1".into();
    e.bundle_href = None;
    let f = feed(None, vec![e]);
    let xml = atom(&f);
    assert!(!xml.contains("xml:base"), "{xml}");
    let parsed = parse(&xml);
    assert_eq!(
        link(&parsed.links, "self").href,
        "/entities/BYT-BVBM/feed.atom"
    );
    let entry = &parsed.entries[0];
    assert_eq!(
        link(&entry.links, "alternate").href,
        "https://other.example.vn/txs/1"
    );
    assert!(entry
        .links
        .iter()
        .all(|l| l.rel.as_deref() != Some("related")));

    // A base with a path of its own keeps it; a protocol-relative href is
    // not a path.
    assert_eq!(
        absolute(Some("https://h.example/mb"), "/txs/1"),
        "https://h.example/mb/txs/1"
    );
    assert_eq!(
        absolute(Some("https://h.example"), "//evil.example/x"),
        "//evil.example/x"
    );
}

#[test]
fn an_empty_feed_is_still_a_valid_feed() {
    let f = feed(Some("http://127.0.0.1:8081"), vec![]);
    let parsed = parse(&atom(&f));
    assert_eq!(parsed.id, f.id);
    assert!(parsed.entries.is_empty());
    assert_eq!(
        parsed.updated.unwrap().timestamp_millis() as u64,
        f.updated_ms
    );
    assert_eq!(
        link(&parsed.links, "alternate").href,
        "http://127.0.0.1:8081/entities/BYT-BVBM"
    );
}

#[tokio::test]
async fn the_response_says_atom_in_utf8() {
    let f = feed(None, vec![entry(1, "Máy thở", "payment")]);
    let response = response(&f);
    assert_eq!(response.status(), axum::http::StatusCode::OK);
    assert_eq!(
        response.headers()[CONTENT_TYPE_HEADER],
        "application/atom+xml; charset=utf-8"
    );
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert_eq!(std::str::from_utf8(&body).unwrap(), atom(&f));
}

#[test]
fn text_of_control_characters_alone_is_empty_text() {
    let mut e = entry(1, "\u{1}\u{1b}\u{7f}", "payment");
    e.summary = String::new();
    let parsed = parse(&atom(&feed(None, vec![e])));
    let entry = &parsed.entries[0];
    assert_eq!(entry.title.as_ref().unwrap().content, "");
    assert_eq!(entry.categories[0].term, "payment");
}
