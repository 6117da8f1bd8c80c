//! What the explorer keeps between requests: the home page of each height,
//! and the search index of names and titles, which must find what a pass
//! over the state finds and keep up with the blocks.

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use ledger::tx::EntityKind;
use ledger::Op;
use testkit::ops::{self, cid};
use testkit::{id, key};
use tower::ServiceExt;

use super::{body, fixture, Fixture, LINE, YEAR};

#[tokio::test]
async fn the_home_page_is_rendered_once_a_height_and_the_next_is_ready_soon_after_a_block() {
    let mut f = fixture();
    let router = f.router();
    let home = |router: &Router| {
        let request = Request::get("/").body(Body::empty()).unwrap();
        let router = router.clone();
        async move { body(router.oneshot(request).await.unwrap()).await }
    };
    let at_7 = home(&router).await;
    assert!(at_7.contains("href=\"/blocks/7\""), "{at_7}");
    assert_eq!(home(&router).await, at_7, "kept for its height");

    f._node.commit(Vec::new());
    // The first reader after the block gets the page of block 7 at once;
    // the page of block 8 follows.
    assert_eq!(home(&router).await, at_7);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = home(&router).await;
        if page.contains("href=\"/blocks/8\"") {
            break;
        }
        assert_eq!(page, at_7, "the old page until the new one is ready");
        assert!(
            std::time::Instant::now() < deadline,
            "the page of block 8 never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Another language is another page, rendered at once for its first
    // reader.
    let request = Request::get("/?lang=en").body(Body::empty()).unwrap();
    let english = body(router.clone().oneshot(request).await.unwrap()).await;
    assert!(english.contains("href=\"/blocks/8?lang=en\""), "{english}");
}

#[tokio::test]
async fn the_search_index_finds_what_a_pass_over_the_state_finds_and_keeps_up_with_blocks() {
    use crate::explorer::search::{Matcher, SearchIndex, Target};

    let mut f = fixture();
    let index = SearchIndex::default();
    let found = |index: &SearchIndex, f: &Fixture, q: &str| -> (Vec<Target>, Vec<Target>) {
        index.catch_up(&f.shared.store, &f.shared.state).unwrap();
        let m = Matcher::new(q).unwrap();
        let state = f.shared.state.read().unwrap();
        let mut by_index = Vec::new();
        index.candidates(q, |t| {
            let text = match t {
                Target::Entity(id) => state.entity(id).map(|e| (e.name.clone(), id.to_string())),
                Target::Contract(id) => state
                    .contract(id)
                    .map(|c| (c.title.clone(), id.to_string())),
            };
            if text.is_some_and(|(name, id)| m.matches(&name) || m.matches(&id)) {
                by_index.push(t.clone());
            }
            true
        });
        let mut by_pass: Vec<Target> = state
            .entities()
            .filter(|e| m.matches(&e.name) || m.matches(e.id.as_str()))
            .map(|e| Target::Entity(e.id.clone()))
            .chain(
                state
                    .contracts()
                    .filter(|c| m.matches(&c.title) || m.matches(c.id.as_str()))
                    .map(|c| Target::Contract(c.id.clone())),
            )
            .collect();
        by_pass.sort_by_key(|t| format!("{t:?}"));
        by_index.sort_by_key(|t| format!("{t:?}"));
        (by_index, by_pass)
    };
    let queries = [
        "bạch mai",
        "bach",
        "bách",
        "BỘ",
        "y te",
        "máy thở",
        "may tho",
        "c-",
        "v-0001",
        "ễ",
        "nothing like it",
    ];
    for q in queries {
        let (by_index, by_pass) = found(&index, &f, q);
        assert_eq!(by_index, by_pass, "{q}");
    }
    assert!(!found(&index, &f, "bach").0.is_empty());

    // A block registering an entity and awarding a contract: the index
    // catches up from the block.
    let txs = vec![
        f._node.tx(
            "BTC",
            0,
            Op::RegisterEntity {
                id: id("BYT-BVK"),
                kind: EntityKind::Department,
                name: "Bệnh viện K".into(),
                parent: Some(id("BYT")),
                keys: vec![key("BYT-BVK").public_key()],
                threshold: 1,
            },
        ),
        f._node.tx(
            "BYT-BVBM",
            0,
            ops::award("C-3", YEAR, LINE, "V-0001", 1_000_000, "Máy siêu âm"),
        ),
    ];
    f._node.commit(txs);
    for q in queries.iter().chain(&["bệnh viện k", "sieu am", "c-3"]) {
        let (by_index, by_pass) = found(&index, &f, q);
        assert_eq!(by_index, by_pass, "{q}");
    }
    assert_eq!(
        found(&index, &f, "sieu am").0,
        [Target::Contract(cid("C-3"))]
    );
}
