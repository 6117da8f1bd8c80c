//! An entity's signing keys as `/v1/entities/{id}` shows them: its keys in
//! order, its threshold, and a change of keys by the treasury that waits
//! for its height (`pending_keys`), or null when none waits; each answer
//! validated against the listener's document, which describes
//! `PendingKeysView`.

use axum::http::StatusCode;
use ledger::crypto::SigningKey;
use ledger::Op;
use serde_json::{json, Value};
use testkit::{id, key};

use crate::fixture::{Fixture, On, BOTH};

/// Keys as the API writes them: lowercase hex, in key order.
fn hex_sorted(keys: &[SigningKey]) -> Value {
    let mut hex: Vec<String> = keys.iter().map(|k| k.public_key().to_hex()).collect();
    hex.sort();
    json!(hex)
}

/// What breaks an answer, and how.
type Stray = (&'static str, fn(&mut Value));

fn vendor_keys() -> Vec<SigningKey> {
    vec![key("V-0001 office"), key("V-0001 director")]
}

#[tokio::test]
async fn an_entity_shows_its_keys_threshold_and_a_pending_change() {
    let mut f = Fixture::new(0);
    // The treasury sets two keys for the vendor, both to sign: it waits
    // the chain's rotation delay.
    let new = vendor_keys();
    let set_keys = f.node.tx(
        "MOF",
        0,
        Op::SetKeys {
            entity: id("V-0001"),
            keys: new.iter().map(SigningKey::public_key).collect(),
            threshold: 2,
        },
    );
    f.node.commit(vec![set_keys]);
    let set_at = f.height();
    let expected_pending = json!({
        "keys": hex_sorted(&new),
        "threshold": 2,
        "set_at": set_at,
        "effective": set_at + genesis::ROTATION_DELAY_DEFAULT,
    });
    for on in BOTH {
        let doc = f.document(on).await;
        let a = f.get(on, "/v1/entities/V-0001").await;
        assert_eq!(a.status, StatusCode::OK, "{on:?}: {}", a.text());
        doc.check("get", "/v1/entities/{id}", &a);
        let vendor = a.json();
        // Until then the vendor's own key still signs.
        assert_eq!(vendor["keys"], json!([key("V-0001").public_key().to_hex()]));
        assert_eq!(vendor["threshold"], 1);
        assert_eq!(vendor["pending_keys"], expected_pending, "{on:?}");

        // An entity with no change waiting shows null.
        let a = f.get(on, "/v1/entities/MOH.BVBM").await;
        doc.check("get", "/v1/entities/{id}", &a);
        assert_eq!(a.json()["pending_keys"], Value::Null, "{on:?}");
    }

    // The hospital replaces its own key with three, two to sign: at once,
    // nothing pending.
    let own = vec![key("BVBM 1"), key("BVBM 2"), key("BVBM 3")];
    let set_own = f.node.tx(
        "MOH.BVBM",
        0,
        Op::SetKeys {
            entity: id("MOH.BVBM"),
            keys: own.iter().map(SigningKey::public_key).collect(),
            threshold: 2,
        },
    );
    f.node.commit(vec![set_own]);
    let a = f.get(On::Api, "/v1/entities/MOH.BVBM").await;
    f.document(On::Api)
        .await
        .check("get", "/v1/entities/{id}", &a);
    let dept = a.json();
    assert_eq!(dept["keys"], hex_sorted(&own));
    assert_eq!(dept["threshold"], 2);
    assert_eq!(dept["pending_keys"], Value::Null);

    // The vendor cancels the change: nothing pending, its key unchanged.
    let cancel = f.node.tx(
        "V-0001",
        0,
        Op::CancelKeys {
            entity: id("V-0001"),
        },
    );
    f.node.commit(vec![cancel]);
    let vendor = f.get(On::Explorer, "/v1/entities/V-0001").await.json();
    assert_eq!(vendor["pending_keys"], Value::Null);
    assert_eq!(vendor["keys"], json!([key("V-0001").public_key().to_hex()]));
}

#[tokio::test]
async fn the_document_describes_keys_and_a_pending_change() {
    let mut f = Fixture::new(0);
    let new = vendor_keys();
    let set_keys = f.node.tx(
        "MOF",
        0,
        Op::SetKeys {
            entity: id("V-0001"),
            keys: new.iter().map(SigningKey::public_key).collect(),
            threshold: 1,
        },
    );
    f.node.commit(vec![set_keys]);
    for on in BOTH {
        let doc = f.document(on).await;
        let schemas = &doc.0["components"]["schemas"];
        let pending = &schemas["PendingKeysView"];
        assert_eq!(pending["type"], "object", "{on:?}: {pending:#}");
        assert_eq!(
            pending["required"],
            json!(["keys", "threshold", "set_at", "effective"]),
            "{on:?}"
        );
        assert_eq!(pending["additionalProperties"], false);
        let entity = &schemas["EntityView"];
        for field in ["keys", "threshold", "pending_keys"] {
            assert!(entity["properties"][field].is_object(), "{on:?} {field}");
            assert!(
                entity["required"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(field)),
                "{on:?}: {field} is required"
            );
        }
        assert!(entity["properties"]["public_key"].is_null(), "{on:?}");
        assert!(
            entity["properties"]["pending_keys"]
                .to_string()
                .contains("#/components/schemas/PendingKeysView"),
            "{on:?}: {:#}",
            entity["properties"]["pending_keys"]
        );
    }

    // Answers that stray from the schema fail it: the check bites.
    let doc = f.document(On::Api).await;
    let schema = doc.schema("get", "/v1/entities/{id}", StatusCode::OK);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let vendor = f.get(On::Api, "/v1/entities/V-0001").await.json();
    assert!(validator.is_valid(&vendor), "{vendor:#}");
    let strays: [Stray; 6] = [
        ("an undocumented field in the change", |v| {
            v["pending_keys"]["extra"] = json!(1)
        }),
        ("a change without its height", |v| {
            v["pending_keys"]
                .as_object_mut()
                .unwrap()
                .remove("effective");
        }),
        ("a key that is not hex", |v| {
            v["pending_keys"]["keys"][0] = json!("not a key")
        }),
        ("the old single key", |v| {
            v["public_key"] = v["keys"][0].clone();
        }),
        ("no threshold", |v| {
            v.as_object_mut().unwrap().remove("threshold");
        }),
        ("no pending_keys at all", |v| {
            v.as_object_mut().unwrap().remove("pending_keys");
        }),
    ];
    for (what, stray) in strays {
        let mut broken = vendor.clone();
        stray(&mut broken);
        assert!(!validator.is_valid(&broken), "{what}: {broken:#}");
    }
}
