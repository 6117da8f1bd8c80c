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
