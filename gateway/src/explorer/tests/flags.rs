//! The red flags' own pages and their CSV: stable ids, one page each, and
//! a table a spreadsheet reads back as written.

use axum::http::{header, StatusCode};

use super::{body, fixture, header_of};

#[tokio::test]
async fn each_flag_has_a_page_under_its_stable_id() {
    let f = fixture();
    let (status, html) = f.page("/flags?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    let rotation = format!("treasury-rotated-key:{}", f.rotate_hash.to_hex());
    for id in ["under-threshold:BYT-BVBM:V-0001", rotation.as_str()] {
        let href = format!(r#"href="/flags/{id}?lang=en""#);
        assert!(html.contains(&href), "{href} missing");
        let (status, page) = f.page(&format!("/flags/{id}?lang=en")).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert!(page.contains(id), "{id}");
    }
    let (status, page) = f.page("/flags/amended-upward:C-9?lang=en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("does not stand"));
}

#[tokio::test]
async fn the_flags_download_as_a_csv_table_read_back_as_written() {
    let f = fixture();
    let r = f.get("/flags.csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header_of(&r, header::CONTENT_TYPE).starts_with("text/csv"));
    let text = body(r).await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers[..3], ["id", "kind", "height"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(
        kinds,
        ["under-threshold", "treasury-rotated-key", "amended-upward"],
        "{text}"
    );
    let under = &rows[0];
    assert_eq!(&under[0], "under-threshold:BYT-BVBM:V-0001");
    assert_eq!(&under[4], "BYT-BVBM");
    assert_eq!(&under[5], "V-0001");
    assert_eq!(&under[7], "C-1 C-2");
    assert_eq!(&under[8], (1_950_000_000u64 + 1_960_000_000).to_string());
    let rotation = &rows[1];
    assert_eq!(&rotation[6], "V-0001");
    assert_eq!(&rotation[10], f.rotate_hash.to_hex());
    // Every row's page exists.
    for r in &rows {
        let (status, _) = f.page(&r[11]).await;
        assert_eq!(status, StatusCode::OK, "{}", &r[11]);
    }
}

#[tokio::test]
async fn the_flags_come_a_hundred_to_a_page() {
    use ledger::tx::EntityKind;
    use ledger::Op;
    use testkit::{id, key, GenesisBuilder, NodeFixture, CHAIN_ID};

    let genesis = GenesisBuilder::new(CHAIN_ID)
        .entity("BTC", EntityKind::Treasury, "Bộ Tài chính", None)
        .entity("V-0001", EntityKind::Vendor, "Công ty Sông Hồng", None)
        .build();
    let mut b = NodeFixture::new("flags-pages", genesis);
    // 150 key rotations by the treasury: a flag each.
    let txs = (0..150)
        .map(|i| {
            let op = Op::RotateKey {
                entity: id("V-0001"),
                public_key: key(&format!("V-0001 key {i}")).public_key(),
            };
            b.tx("BTC", i, op)
        })
        .collect();
    b.commit(txs);
    let router = crate::api::explorer_router(b.shared.clone(), super::GENEROUS);
    let get = |uri: &'static str| {
        let router = router.clone();
        async move {
            let request = axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            let r = tower::ServiceExt::oneshot(router, request).await.unwrap();
            (r.status(), body(r).await)
        }
    };
    let count = |html: &str| html.matches(r#"<li id="treasury-rotated-key:"#).count();
    let (status, first) = get("/flags?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&first), 100);
    assert!(
        first.contains(r#"href="/flags?page=2&amp;lang=en""#),
        "no next page"
    );
    let (status, second) = get("/flags?page=2&lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&second), 50);
    assert!(!second.contains("page=3"), "a page too many");
    let (status, _) = get("/flags?page=3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Every flag once over the two pages.
    let ids = |html: &str| -> Vec<String> {
        html.split(r#"<li id=""#)
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_owned())
            .collect()
    };
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 150);
}

#[tokio::test]
async fn a_contract_lists_its_newest_flags_and_counts_the_others() {
    use crate::explorer::spending::CONTRACT_FLAGS_MAX;
    use ledger::{Amount, Op};
    use testkit::ops::{self, cid};
    use testkit::NodeFixture;

    const AMENDMENTS: u64 = CONTRACT_FLAGS_MAX as u64 + 5;
    let genesis = super::health_world("Công ty Sông Hồng").build();
    let mut b = NodeFixture::new("contract-flags", genesis);
    let (year, line) = (super::YEAR, super::LINE);
    let t = b.tx("BTC", 0, ops::appropriate(year, line, "BYT", 5_000_000));
    b.commit(vec![t]);
    let t = b.tx("BYT", 0, ops::allocate(year, line, "BYT-BVBM", 4_000_000));
    b.commit(vec![t]);
    let award = ops::award("C-1", year, line, "V-0001", 1_000_000, "Máy thở");
    let t = b.tx("BYT-BVBM", 0, award);
    b.commit(vec![t]);
    // Each amendment upward is a flag of its own: one a block, so that
    // each is newer than the one before.
    let mut amendments = Vec::new();
    for n in 1..=AMENDMENTS {
        let op = Op::AmendContract {
            contract: cid("C-1"),
            amount: Amount(1_000_000 + n * 1_000),
            reason: format!("Lần {n}"),
            document_hash: None,
        };
        let t = b.tx("BYT-BVBM", 0, op);
        amendments.push(t.hash());
        b.commit(vec![t]);
    }
    let router = crate::api::explorer_router(b.shared.clone(), super::GENEROUS);
    let request = axum::http::Request::get("/contracts/C-1?lang=en")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = tower::ServiceExt::oneshot(router, request).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = body(r).await;
    let listed: Vec<&str> = html
        .split(r#"<li id="amended-upward:"#)
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    // The newest first, as many as a page shows, and the count of all.
    let newest: Vec<String> = amendments
        .iter()
        .rev()
        .take(CONTRACT_FLAGS_MAX)
        .map(|h| h.to_hex())
        .collect();
    assert_eq!(listed, newest);
    assert!(
        html.contains(&format!("The newest {CONTRACT_FLAGS_MAX} of {AMENDMENTS}")),
        "no count of the others"
    );
}
