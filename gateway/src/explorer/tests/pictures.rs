//! The pictures on the pages, with their figures checked against what the
//! fixture's transactions add up to.

use axum::http::StatusCode;

use super::fixture;

/// The `data-amount` of every element of `class` with `attr="value"`.
fn amounts(html: &str, class: &str, attr: &str, value: &str) -> Vec<u128> {
    let mut out = Vec::new();
    let needle = format!(r#"{attr}="{value}""#);
    for part in html
        .split('<')
        .filter(|p| p.contains(&format!(r#"class="{class}""#)))
    {
        let tag = part.split('>').next().unwrap_or("");
        if !tag.contains(&needle) {
            continue;
        }
        let amount = tag
            .split(r#"data-amount=""#)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .expect("a band with an amount");
        out.push(amount);
    }
    out
}

#[tokio::test]
async fn the_home_page_draws_where_the_money_went() {
    let f = fixture();
    let (status, html) = f.page("/?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Where the money went in 2026"));
    assert!(html.contains("<svg"), "no picture");
    // 5 tỷ from the treasury to the health ministry, 4.5 tỷ on to Bạch Mai,
    // and 0.5 tỷ + 26 × 1,000 đồng paid to the vendor.
    assert_eq!(amounts(&html, "band", "data-from", "BTC"), [5_000_000_000]);
    assert_eq!(amounts(&html, "band", "data-from", "BYT"), [4_500_000_000]);
    assert_eq!(
        amounts(&html, "band", "data-from", "BYT-BVBM"),
        [500_000_000 + 26 * 1_000]
    );
    // Each band opens its entity.
    assert!(html.contains(r#"href="/entities/BYT?lang=en""#));
}

#[tokio::test]
async fn a_ministry_and_a_department_show_their_flow_and_execution() {
    let f = fixture();
    for (id, from_self) in [("BYT", 4_500_000_000u128), ("BYT-BVBM", 500_026_000)] {
        let (status, html) = f.page(&format!("/entities/{id}?lang=en")).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert!(html.contains("2026 at a glance"), "{id}");
        assert_eq!(amounts(&html, "band", "data-from", id), [from_self], "{id}");
        assert!(
            html.contains(r#"data-series="paid""#),
            "{id}: no execution chart"
        );
    }
}

#[tokio::test]
async fn a_vendors_page_shows_who_paid_it_by_month() {
    let f = fixture();
    let (status, html) = f.page("/entities/V-0001?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    let paid: u128 = amounts(&html, "seg", "data-dept", "BYT-BVBM").iter().sum();
    assert_eq!(paid, 500_000_000 + 26 * 1_000);
}
