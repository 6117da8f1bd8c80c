//! Reads: what the chain holds, as each route answers it; pages of blocks
//! and of an entity's history, bounded and leading to the end; health,
//! readiness and metrics.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gateway::api::{BLOCKS_PAGE_DEFAULT, BLOCKS_PAGE_MAX, HISTORY_PAGE};
use ledger::Hash;
use serde_json::{json, Value};
use testkit::{key, CHAIN_ID};

use crate::fixture::{answer, Fixture, On, BOTH, LINE, YEAR};

#[tokio::test]
async fn reads_answer_what_the_chain_holds() {
    let f = Fixture::new(2);
    let height = f.height();
    assert_eq!(height, 6);
    for on in BOTH {
        let status = f.get(on, "/v1/status").await.json();
        assert_eq!(status["chain_id"], CHAIN_ID);
        assert_eq!(status["node_id"], "api-test-node");
        assert_eq!(status["height"], height);
        assert_eq!(status["last_block_hash"], f.node.chain.last_hash.to_hex());
        assert_eq!(status["last_block_time"], "2026-01-01T00:00:06.000Z");
        assert_eq!(status["validators"][0]["name"], "validator-0");
        assert_eq!(status["validators"][0]["power"], 10);
        assert_eq!(status["catching_up"], false);
        assert_eq!(status["mempool_txs"], 0);

        // Newest first; the default page holds them all here.
        let page = f.get(on, "/v1/blocks").await.json();
        let heights: Vec<u64> = page["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["header"]["height"].as_u64().unwrap())
            .collect();
        assert_eq!(heights, vec![6, 5, 4, 3, 2, 1]);
        assert_eq!(page["next"], Value::Null);
        assert_eq!(
            page["blocks"][0]["commit"],
            Value::Null,
            "pages omit certificates"
        );
        let page = f.get(on, "/v1/blocks?before=5&limit=2").await.json();
        assert_eq!(page["blocks"][0]["header"]["height"], 4);
        assert_eq!(page["blocks"][1]["header"]["height"], 3);
        assert_eq!(page["next"], 3);

        let block = f.get(on, "/v1/blocks/3").await.json();
        assert_eq!(block["txs"], json!([f.award_hash.to_hex()]));
        assert_eq!(block["header"]["tx_count"], 1);
        assert_eq!(block["header"]["time"], "2026-01-01T00:00:03.000Z");
        let precommits = block["commit"]["precommits"].as_array().unwrap();
        assert_eq!(precommits.len(), 1);
        assert_eq!(
            precommits[0]["validator"],
            f.node.chain.validator_keys[0].public_key().to_hex()
        );
        assert_eq!(precommits[0]["signature"].as_str().unwrap().len(), 128);
        let latest = f.get(on, "/v1/blocks/latest").await.json();
        assert_eq!(latest["hash"], f.node.chain.last_hash.to_hex());

        let list = f.get(on, "/v1/entities").await.json();
        let ids: Vec<&str> = list["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["MOF", "MOH", "MOH.BVBM", "V-0001"]);
        assert_eq!(list["entities"][2]["parent"], "MOH");
        assert_eq!(list["entities"][1]["parent"], Value::Null);

        let dept = f.get(on, "/v1/entities/MOH.BVBM").await.json();
        assert_eq!(dept["kind"], "department");
        assert_eq!(dept["status"], "active");
        assert_eq!(dept["name"], "Bệnh viện Bạch Mai");
        assert_eq!(dept["keys"], json!([key("MOH.BVBM").public_key().to_hex()]));
        assert_eq!(dept["threshold"], 1);
        assert_eq!(dept["pending_keys"], Value::Null);
        assert!(dept.get("public_key").is_none());
        // The award is nonce 1, block 4 holds 2 and 3, then two payments.
        assert_eq!(dept["next_nonce"], 6);
        assert_eq!(
            dept["budgets"],
            json!([{"year": YEAR, "line": LINE, "received": "4000000000", "passed_on": "0",
                "committed": "3000000000", "paid": "500002000", "available": "1000000000"}])
        );

        let contract = f.get(on, "/v1/contracts/C-1").await.json();
        assert_eq!(contract["department"], "MOH.BVBM");
        assert_eq!(contract["vendor"], "V-0001");
        assert_eq!(contract["amount"], "3000000000");
        assert_eq!(contract["paid"], "500002000");
        assert_eq!(contract["awarded_at"], 3);
        assert_eq!(
            contract["document_hash"],
            Hash::digest(b"hop dong C-1").to_hex()
        );
        assert_eq!(
            contract["deliveries"],
            json!([{"milestone": "Đợt 1", "note": "Đã lắp đặt", "height": 4}])
        );

        let history = f.get(on, "/v1/entities/V-0001/txs").await.json();
        let hashes: Vec<String> = history["txs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["hash"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = f.vendor_history.iter().map(Hash::to_hex).collect();
        assert_eq!(hashes, expected);
        assert_eq!(history["next"], Value::Null);

        let set = f.get(on, "/v1/validators?height=1").await.json();
        assert_eq!(set["height"], 1);
        assert_eq!(set["total_power"], 10);
        let next = f.get(on, "/v1/validators").await.json();
        assert_eq!(next["height"], height + 1);
        assert_eq!(next["validators"], set["validators"]);

        let evidence = f.get(on, "/v1/evidence").await.json();
        assert_eq!(evidence, json!({"evidence": []}));

        let proof = f
            .get(on, &format!("/v1/txs/{}/proof", f.first_pay_hash))
            .await;
        assert_eq!(proof.status, StatusCode::OK);
        assert_eq!(
            proof.header(header::CONTENT_DISPOSITION),
            format!("attachment; filename=\"proof-{}.json\"", f.first_pay_hash)
        );
        let bundle = ledger::proof::AuditBundle::decode(&proof.body).unwrap();
        bundle
            .verify(&f.shared.genesis.trust_anchor())
            .expect("the bundle verifies against the genesis");

        let csv = f.get(on, "/v1/export.csv?year=2026").await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
        assert_eq!(
            csv.header(header::HeaderName::from_static("x-minhbach-height")),
            height.to_string()
        );
        assert_eq!(
            csv.header(header::HeaderName::from_static("x-minhbach-block-hash")),
            f.node.chain.last_hash.to_hex()
        );
        let ocds = f.get(on, "/v1/export/ocds.json").await;
        assert_eq!(ocds.status, StatusCode::OK);
        assert_eq!(ocds.json()["releases"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn pages_are_bounded_and_lead_to_the_end() {
    // 4 blocks of spending and 101 of one payment each: more blocks than a
    // page can hold, and more history than a page for the vendor.
    let f = Fixture::new(101);
    let top = f.height();
    assert_eq!(top, 105);
    for on in BOTH {
        let page = f.get(on, "/v1/blocks").await.json();
        assert_eq!(
            page["blocks"].as_array().unwrap().len() as u64,
            BLOCKS_PAGE_DEFAULT
        );
        let page = f.get(on, "/v1/blocks?limit=100000").await.json();
        let blocks = page["blocks"].as_array().unwrap();
        assert_eq!(blocks.len() as u64, BLOCKS_PAGE_MAX, "capped");
        assert_eq!(blocks[0]["header"]["height"], top);
        assert_eq!(page["next"], top - BLOCKS_PAGE_MAX + 1);
        let page = f.get(on, "/v1/blocks?limit=0").await.json();
        assert_eq!(page["blocks"].as_array().unwrap().len(), 1);
        let page = f
            .get(on, &format!("/v1/blocks?before={}", u64::MAX))
            .await
            .json();
        assert_eq!(page["blocks"][0]["header"]["height"], top);

        // Following `next` visits every block once, newest first.
        let mut seen = Vec::new();
        let mut uri = "/v1/blocks?limit=30".to_owned();
        loop {
            let page = f.get(on, &uri).await.json();
            for b in page["blocks"].as_array().unwrap() {
                seen.push(b["header"]["height"].as_u64().unwrap());
            }
            match page["next"].as_u64() {
                Some(before) => uri = format!("/v1/blocks?limit=30&before={before}"),
                None => break,
            }
        }
        assert_eq!(seen, (1..=top).rev().collect::<Vec<_>>());

        // The vendor's history: a full page, then the rest, then no more.
        let first = f.get(on, "/v1/entities/V-0001/txs").await.json();
        assert_eq!(first["txs"].as_array().unwrap().len(), HISTORY_PAGE);
        let cursor = first["next"].as_str().expect("a next page").to_owned();
        let second = f
            .get(on, &format!("/v1/entities/V-0001/txs?cursor={cursor}"))
            .await
            .json();
        assert_eq!(second["next"], Value::Null);
        let hashes: Vec<String> = first["txs"]
            .as_array()
            .unwrap()
            .iter()
            .chain(second["txs"].as_array().unwrap())
            .map(|t| t["hash"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = f.vendor_history.iter().map(Hash::to_hex).collect();
        assert_eq!(hashes, expected);
    }
    // Exactly a page: no `next` that leads to an empty page.
    let all = f.vendor_history.len();
    assert_eq!(all, 104);
    let first = f.get(On::Api, "/v1/entities/V-0001/txs").await.json();
    let before_last_page = &first["txs"][all - HISTORY_PAGE - 1];
    let cursor = format!(
        "{}.{}",
        before_last_page["height"], before_last_page["index"]
    );
    let page = f
        .get(On::Api, &format!("/v1/entities/V-0001/txs?cursor={cursor}"))
        .await
        .json();
    assert_eq!(page["txs"].as_array().unwrap().len(), HISTORY_PAGE);
    assert_eq!(page["next"], Value::Null);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let f = Fixture::new(0);
    for on in BOTH {
        let a = f.get(on, "/healthz").await;
        assert_eq!((a.status, a.text().as_str()), (StatusCode::OK, "ok\n"));
        let a = f.get(on, "/metrics").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header(header::CONTENT_TYPE), "text/plain; version=0.0.4");
    }
    // Not ready until a peer's height has been heard.
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        a.json(),
        json!({"ready": false, "height": 4, "best_peer_height": 0, "catching_up": false,
            "store_writable": true})
    );
    f.shared.live.write().unwrap().heard_peer = true;
    f.shared.live.write().unwrap().best_peer_height = 4;
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::OK);
    f.document(On::Api).await.check("get", "/readyz", &a);
    f.shared.live.write().unwrap().catching_up = true;
    let a = f.get(On::Explorer, "/readyz").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["catching_up"], true);
    f.shared.live.write().unwrap().catching_up = false;
    // A node whose store cannot be written is not ready, and says why.
    let why = "cannot commit block 5: /data: IO error: No space left on device";
    f.shared.live.write().unwrap().store_error = Some(why.into());
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["store_writable"], false);
    let status = f.get(On::Api, "/v1/status").await;
    f.document(On::Api)
        .await
        .check("get", "/v1/status", &status);
    assert_eq!(status.json()["store_writable"], false);
    assert_eq!(status.json()["store_error"], why);
    f.shared.live.write().unwrap().store_error = None;
    let a = f.get(On::Api, "/readyz").await;
    assert_eq!(a.status, StatusCode::OK);
    let status = f.get(On::Api, "/v1/status").await.json();
    assert_eq!(
        (&status["store_writable"], &status["store_error"]),
        (&json!(true), &Value::Null)
    );
}

#[tokio::test]
async fn the_ocds_extension_is_served_and_listed_with_the_configured_prefix() {
    use gateway::api::ExportLinks;
    use gateway::export::{EXTENSION_JSON, EXTENSION_RELEASE_SCHEMA};
    use tower::ServiceExt;

    let f = Fixture::new(0);
    let shipped = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/export/ocds_extension/");
    for (path, file, text) in [
        (
            "/v1/export/ocds/extension.json",
            "extension.json",
            EXTENSION_JSON,
        ),
        (
            "/v1/export/ocds/release-schema.json",
            "release-schema.json",
            EXTENSION_RELEASE_SCHEMA,
        ),
    ] {
        let on_disk = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
        assert_eq!(on_disk, text, "{file} is served as shipped");
        for on in BOTH {
            let a = f.get(on, path).await;
            assert_eq!(a.status, StatusCode::OK, "{on:?} {path}");
            assert_eq!(a.header(header::CONTENT_TYPE), "application/json");
            assert_eq!(a.body, on_disk.as_bytes(), "{on:?} {path}");
            assert_eq!(a.json(), shipped(text));
        }
    }

    // Without base_url: the request's Host, with the listener's scheme.
    let ocds = |host: Option<&str>| {
        let mut r = Request::get("/v1/export/ocds.json");
        if let Some(h) = host {
            r = r.header(header::HOST, h);
        }
        r.body(Body::empty()).unwrap()
    };
    for on in BOTH {
        let p = f.send(on, ocds(Some("node.example.vn:8081"))).await.json();
        assert_eq!(
            p["extensions"],
            json!(["http://node.example.vn:8081/v1/export/ocds/extension.json"])
        );
        let p = f.send(on, ocds(None)).await.json();
        assert!(p.get("extensions").is_none(), "{on:?}: no Host, no URL");
        let p = f.send(on, ocds(Some("a b/c"))).await.json();
        assert!(
            p.get("extensions").is_none(),
            "{on:?}: a bad Host is not used"
        );
    }

    // With [exports]: base_url wins over Host, and the prefix is used.
    let section = node::config::Config::from_toml(
        "[exports]\nocid_prefix = \"ocds-vn1234\"\nbase_url = \"https://explorer.example.vn/mb/\"\n",
        "config.toml",
    )
    .unwrap()
    .exports;
    for (on, https) in [(On::Api, true), (On::Explorer, false)] {
        let router = f.router_with(on, ExportLinks::new(&section, https));
        let a = answer(router.oneshot(ocds(Some("internal:8080"))).await.unwrap()).await;
        assert_eq!(a.status, StatusCode::OK);
        let p = a.json();
        assert_eq!(
            p["extensions"],
            json!(["https://explorer.example.vn/mb/v1/export/ocds/extension.json"])
        );
        for r in p["releases"].as_array().unwrap() {
            let ocid = r["ocid"].as_str().unwrap();
            assert!(
                ocid.starts_with(&format!("ocds-vn1234-{CHAIN_ID}-")),
                "{ocid}"
            );
        }
    }
    // Without base_url, an HTTPS listener names https.
    let links = ExportLinks::new(&node::config::ExportsSection::default(), true);
    let router = f.router_with(On::Explorer, links);
    let p = answer(router.oneshot(ocds(Some("e.example.vn"))).await.unwrap())
        .await
        .json();
    assert_eq!(
        p["extensions"],
        json!(["https://e.example.vn/v1/export/ocds/extension.json"])
    );
}

#[tokio::test]
async fn a_state_proof_proves_a_budget_line_at_a_height() {
    let f = Fixture::new(2);
    let anchor = f.shared.genesis.trust_anchor();
    for on in BOTH {
        // Block 4 paid 500,000,000; blocks 5 and 6 paid 1,000 each.
        let path = format!("/v1/state-proof?key=line:{YEAR}/{LINE}/MOH.BVBM&height=4");
        let r = f.get(on, &path).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.header(header::CONTENT_DISPOSITION),
            format!("attachment; filename=\"state-line_{YEAR}_{LINE}_MOH.BVBM-4.json\"")
        );
        let v = ledger::proof::StateBundle::decode(&r.body)
            .unwrap()
            .verify(&anchor)
            .unwrap();
        let paid = |v: &ledger::proof::VerifiedEntry| match &v.value {
            Some(ledger::state::StateValue::Budget(b)) => b.paid.0,
            other => panic!("not figures: {other:?}"),
        };
        assert_eq!(v.height.0, 4);
        assert_eq!(paid(&v), 500_000_000);
        let latest = f
            .get(
                on,
                &format!("/v1/state-proof?key=line:{YEAR}/{LINE}/MOH.BVBM"),
            )
            .await;
        let v = ledger::proof::StateBundle::decode(&latest.body)
            .unwrap()
            .verify(&anchor)
            .unwrap();
        assert_eq!(v.height.0, f.height());
        assert_eq!(paid(&v), 500_002_000);

        // An entity, and a contract that was never awarded (absent).
        let r = f.get(on, "/v1/state-proof?key=entity:MOH.BVBM").await;
        let v = ledger::proof::StateBundle::decode(&r.body)
            .unwrap()
            .verify(&anchor)
            .unwrap();
        assert!(
            matches!(v.value, Some(ledger::state::StateValue::Entity(e)) if e.id.as_str() == "MOH.BVBM")
        );
        let r = f.get(on, "/v1/state-proof?key=contract:C-404").await;
        let v = ledger::proof::StateBundle::decode(&r.body)
            .unwrap()
            .verify(&anchor)
            .unwrap();
        assert_eq!(v.value, None);

        for (bad, status) in [
            ("/v1/state-proof?key=budget:MOH", StatusCode::BAD_REQUEST),
            ("/v1/state-proof?key=entity:moh", StatusCode::BAD_REQUEST),
            ("/v1/state-proof", StatusCode::BAD_REQUEST),
            (
                "/v1/state-proof?key=entity:MOH&height=0",
                StatusCode::BAD_REQUEST,
            ),
            (
                "/v1/state-proof?key=entity:MOH&height=99",
                StatusCode::NOT_FOUND,
            ),
        ] {
            let r = f.get(on, bad).await;
            assert_eq!(r.status, status, "{bad}");
            assert!(r.json()["error"]["message"].is_string(), "{bad}");
        }
    }
}
