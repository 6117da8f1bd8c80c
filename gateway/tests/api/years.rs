//! `GET /v1/years/{year}`: a fiscal year's figures per ministry and
//! department, open and then closed by the treasury, on both listeners,
//! each answer validated against the listener's document.

use axum::http::StatusCode;
use ledger::tx::EntityKind;
use ledger::{Op, Year};
use serde_json::{json, Value};
use testkit::{id, key, ops};

use crate::fixture::{Fixture, On, BOTH, LINE, YEAR};

/// The fixture's chain (two small payments after the first), plus a second
/// ministry, `BGD`, whose one department's id sorts before it: `ADEPT`.
fn two_ministries() -> Fixture {
    let mut f = Fixture::new(2);
    let register = |nonce: u64, entity: &str, kind, name: &str, parent: Option<&str>| {
        f.node.tx(
            "MOF",
            nonce,
            Op::RegisterEntity {
                id: id(entity),
                kind,
                name: name.into(),
                parent: parent.map(id),
                keys: vec![key(entity).public_key()],
                threshold: 1,
            },
        )
    };
    let txs = vec![
        register(0, "BGD", EntityKind::Ministry, "Bộ Giáo dục", None),
        register(1, "ADEPT", EntityKind::Department, "Trường A", Some("BGD")),
    ];
    f.node.commit(txs);
    let t = f
        .node
        .tx("MOF", 0, ops::appropriate(YEAR, LINE, "BGD", 700_000_000));
    f.node.commit(vec![t]);
    let t = f
        .node
        .tx("BGD", 0, ops::allocate(YEAR, LINE, "ADEPT", 200_000_000));
    f.node.commit(vec![t]);
    f
}

/// One row as the API must write it.
fn row(
    entity: &str,
    kind: &str,
    name: &str,
    parent: Option<&str>,
    [received, passed_on, committed, paid]: [u64; 4],
    lapsed: bool,
) -> Value {
    let unspent = received - passed_on - paid;
    json!({
        "id": entity,
        "kind": kind,
        "name": name,
        "parent": parent,
        "received": received.to_string(),
        "passed_on": passed_on.to_string(),
        "committed": committed.to_string(),
        "paid": paid.to_string(),
        "unspent": unspent.to_string(),
        "lapsed": lapsed.then(|| unspent.to_string()),
    })
}

/// The four rows of 2026: each ministry by id, its departments after it.
fn rows(lapsed: bool) -> Value {
    // Bạch Mai paid 500,000,000 then two payments of 1,000.
    let paid = 500_000_000 + 2 * 1_000;
    json!([
        row(
            "BGD",
            "ministry",
            "Bộ Giáo dục",
            None,
            [700_000_000, 200_000_000, 0, 0],
            lapsed
        ),
        row(
            "ADEPT",
            "department",
            "Trường A",
            Some("BGD"),
            [200_000_000, 0, 0, 0],
            lapsed
        ),
        row(
            "MOH",
            "ministry",
            "Bộ Y tế",
            None,
            [5_000_000_000, 4_000_000_000, 0, 0],
            lapsed
        ),
        row(
            "MOH.BVBM",
            "department",
            "Bệnh viện Bạch Mai",
            Some("MOH"),
            [4_000_000_000, 0, 3_000_000_000, paid],
            lapsed
        ),
    ])
}

#[tokio::test]
async fn a_year_lists_each_ministry_then_its_departments_and_lapses_once_closed() {
    let mut f = two_ministries();
    let open_at = f.height();
    for on in BOTH {
        let doc = f.document(on).await;
        let a = f.get(on, "/v1/years/2026").await;
        assert_eq!(a.status, StatusCode::OK, "{on:?}: {}", a.text());
        doc.check("get", "/v1/years/{year}", &a);
        assert_eq!(
            a.json(),
            json!({
                "year": 2026,
                "height": open_at,
                "closed": false,
                "closed_at": null,
                "entities": rows(false),
            }),
            "{on:?}"
        );
    }

    // The treasury closes 2026: the same figures, final, and what was not
    // spent has lapsed.
    let close = f.node.tx("MOF", 0, Op::CloseYear { year: Year(YEAR) });
    f.node.commit(vec![close]);
    let closed_at = f.height();
    for on in BOTH {
        let doc = f.document(on).await;
        let a = f.get(on, "/v1/years/2026").await;
        doc.check("get", "/v1/years/{year}", &a);
        assert_eq!(
            a.json(),
            json!({
                "year": 2026,
                "height": closed_at,
                "closed": true,
                "closed_at": closed_at,
                "entities": rows(true),
            }),
            "{on:?}"
        );
    }
    // Money no longer moves on it: a payment on a 2026 contract is refused.
    let pay = f.next_payment(0, 1_000, "AFTER-CLOSE");
    let a = f.post("application/octet-stream", pay.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert_eq!(a.error_code(), "year_closed");
    let a = f.get(On::Api, "/v1/years/2026").await;
    assert_eq!(a.json()["entities"], rows(true), "nothing moved");
}

#[tokio::test]
async fn a_year_without_figures_is_empty_and_a_bad_year_is_400() {
    let f = Fixture::new(0);
    for on in BOTH {
        let doc = f.document(on).await;
        for year in ["2030", "2000", "2100"] {
            let a = f.get(on, &format!("/v1/years/{year}")).await;
            assert_eq!(a.status, StatusCode::OK, "{on:?} {year}: {}", a.text());
            doc.check("get", "/v1/years/{year}", &a);
            let v = a.json();
            assert_eq!(v["year"], year.parse::<u64>().unwrap());
            assert_eq!(v["closed"], false);
            assert_eq!(v["closed_at"], Value::Null);
            assert_eq!(v["entities"], json!([]), "{on:?} {year}");
        }
        for year in ["1999", "2101", "x", "-2026", "20260", "2026.0", "%20"] {
            let a = f.get(on, &format!("/v1/years/{year}")).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{on:?} {year}");
            assert_eq!(a.error_code(), "invalid_argument", "{on:?} {year}");
            doc.check("get", "/v1/years/{year}", &a);
        }
    }
    // Read-only on the API too.
    let a = f.post_to("/v1/years/2026", "application/json", "{}").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.error_code(), "method_not_allowed");
}
