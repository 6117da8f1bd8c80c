//! The Atom feeds, read back with a real feed parser, and every link they
//! carry followed.

use axum::http::{header, StatusCode};

use super::{body, fixture, header_of, Fixture};

/// The feed at `uri`, parsed, after checking it is served as Atom.
async fn feed(f: &Fixture, uri: &str) -> feed_rs::model::Feed {
    let r = f.get(uri).await;
    assert_eq!(r.status(), StatusCode::OK, "{uri}");
    assert!(header_of(&r, header::CONTENT_TYPE).starts_with("application/atom+xml"));
    let text = body(r).await;
    let parsed = feed_rs::parser::parse(text.as_bytes()).expect("a valid feed");
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    parsed
}

/// Every entry's links answer 200.
async fn links_resolve(f: &Fixture, feed: &feed_rs::model::Feed) {
    for e in &feed.entries {
        for l in &e.links {
            let (status, _) = f.page(&l.href).await;
            assert_eq!(status, StatusCode::OK, "{}", l.href);
        }
    }
}

fn categories(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.categories[0].term.clone())
        .collect()
}

#[tokio::test]
async fn a_department_feed_carries_its_payments_awards_amendments_and_flags() {
    let f = fixture();
    let feed = feed(&f, "/entities/BYT-BVBM/feed.atom?lang=en").await;
    assert_eq!(feed.title.as_ref().unwrap().content, "Bệnh viện Bạch Mai");
    let kinds = categories(&feed);
    // 27 payments, 2 awards, 1 amendment and 2 flags, newest first, at most
    // 50 entries.
    assert_eq!(kinds.len(), 32, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "payment").count(), 27);
    assert_eq!(kinds.iter().filter(|k| *k == "award").count(), 2);
    assert_eq!(kinds.iter().filter(|k| *k == "amendment").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "flag").count(), 2);
    let first_pay = feed
        .entries
        .iter()
        .find(|e| e.id.ends_with(&format!("txs/{}", f.pay_hash.to_hex())))
        .expect("the first payment");
    let hrefs: Vec<&str> = first_pay.links.iter().map(|l| l.href.as_str()).collect();
    assert!(hrefs.contains(&format!("/txs/{}?lang=en", f.pay_hash.to_hex()).as_str()));
    assert!(hrefs.contains(&format!("/v1/txs/{}/proof", f.pay_hash.to_hex()).as_str()));
    let mut times: Vec<_> = feed.entries.iter().map(|e| e.updated).collect();
    let sorted = {
        let mut s = times.clone();
        s.sort_by(|a, b| b.cmp(a));
        s
    };
    assert_eq!(times, sorted, "newest first");
    times.dedup();
    links_resolve(&f, &feed).await;
}

#[tokio::test]
async fn a_ministry_feed_takes_in_its_departments_spending() {
    let f = fixture();
    let feed = feed(&f, "/entities/BYT/feed.atom").await;
    let kinds = categories(&feed);
    assert!(kinds.iter().any(|k| k == "payment"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "award"), "{kinds:?}");
    let (status, _) = f.page("/entities/NOBODY/feed.atom").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_contract_feed_and_the_flags_feed_link_pages_that_exist() {
    let f = fixture();
    let c = feed(&f, "/contracts/C-2/feed.atom").await;
    let kinds = categories(&c);
    // Its amendment (block 4) and the flag it raised, then its award
    // (block 3) and the flag of the two awards under the threshold.
    assert_eq!(kinds, ["amendment", "flag", "award", "flag"], "{kinds:?}");
    links_resolve(&f, &c).await;
    let flags = feed(&f, "/flags/feed.atom").await;
    assert_eq!(flags.entries.len(), 3);
    assert!(flags
        .entries
        .iter()
        .any(|e| e.id.ends_with("flags/under-threshold:BYT-BVBM:V-0001")));
    links_resolve(&f, &flags).await;
}

#[tokio::test]
async fn a_feed_asked_for_by_host_links_with_absolute_urls() {
    let f = fixture();
    let request = axum::http::Request::get("/flags/feed.atom")
        .header(header::HOST, "explorer.example.vn")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = f.send(f.router(), request).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = body(r).await;
    let parsed = feed_rs::parser::parse(text.as_bytes()).expect("a valid feed");
    for e in &parsed.entries {
        for l in &e.links {
            assert!(
                l.href.starts_with("http://explorer.example.vn/flags/"),
                "{}",
                l.href
            );
        }
    }
    assert!(!parsed.entries.is_empty());
}
