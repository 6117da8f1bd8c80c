//! The genesis file: a good one parses, every broken rule is explained, the
//! hash is deterministic, and random bytes give an error, never a panic.

use genesis::{Genesis, GenesisError};
use ledger::crypto::SigningKey;
use ledger::testkit::key;
use ledger::PeerId;
use proptest::prelude::*;
use serde_json::{json, Value};

fn good() -> Value {
    let v = key("validator-0").public_key();
    json!({
        "chain_id": "minhbach-test",
        "genesis_time": "2026-01-01T00:00:00Z",
        "currency": {"code": "VND", "decimals": 0},
        "entities": [
            {"id": "MOF", "kind": "treasury", "name": "Bộ Tài chính", "public_key": key("MOF").public_key().to_hex()},
            {"id": "MOH", "kind": "ministry", "name": "Bộ Y tế", "public_key": key("MOH").public_key().to_hex()},
            {"id": "MOH.BVBM", "kind": "department", "name": "Bệnh viện Bạch Mai", "parent": "MOH",
             "public_key": key("MOH.BVBM").public_key().to_hex()},
            {"id": "V-0042", "kind": "vendor", "name": "Công ty TNHH Thiết bị Y tế Hà Nội",
             "public_key": key("V-0042").public_key().to_hex()}
        ],
        "validators": [
            {"name": "validator-0", "consensus_key": v.to_hex(),
             "peer_id": PeerId::from_ed25519(&v).unwrap().to_string(), "power": 10}
        ],
        "nodes": [
            {"peer_id": PeerId::from_ed25519(&key("node").public_key()).unwrap().to_string(), "operator": "MOF"}
        ]
    })
}

/// A change to a good genesis that breaks one rule.
type Edit = Box<dyn Fn(&mut Value)>;

fn parse(v: &Value) -> Result<Genesis, GenesisError> {
    Genesis::from_json(&v.to_string())
}

fn field_of(err: GenesisError) -> String {
    match err {
        GenesisError::Invalid { field, .. } => field,
        other => panic!("expected an invalid field, got {other}"),
    }
}

#[test]
fn a_good_genesis_parses_and_builds_its_state() {
    let g = parse(&good()).unwrap();
    assert_eq!(g.genesis_time_ms, 1_767_225_600_000);
    assert_eq!(g.treasury().as_str(), "MOF");
    let state = g.state();
    assert_eq!(state.entities().count(), 4);
    assert_eq!(
        state.entity(&"MOH".parse().unwrap()).unwrap().name,
        "Bộ Y tế"
    );
    assert_eq!(state.validators().total_power(), 10);
    assert_eq!(state.nodes().count(), 1);
    // Round trip through the file format keeps the hash.
    let again = Genesis::from_json(&g.to_json()).unwrap();
    assert_eq!(again, g);
    assert_eq!(again.hash(), g.hash());
}

#[test]
fn the_hash_ignores_spacing_and_key_order_but_not_content() {
    let g = parse(&good()).unwrap();
    let pretty = serde_json::to_string_pretty(&good()).unwrap();
    assert_eq!(Genesis::from_json(&pretty).unwrap().hash(), g.hash());
    let mut other = good();
    other["entities"][1]["name"] = json!("Bộ Y tế ");
    assert_ne!(parse(&other).unwrap().hash(), g.hash());
    let mut later = good();
    later["genesis_time"] = json!("2026-01-01T00:00:01Z");
    assert_ne!(parse(&later).unwrap().hash(), g.hash());
}

#[test]
fn every_broken_rule_is_named() {
    let cases: Vec<(&str, Edit)> = vec![
        ("chain_id", Box::new(|v| v["chain_id"] = json!("Minh Bach"))),
        (
            "genesis_time",
            Box::new(|v| v["genesis_time"] = json!("yesterday")),
        ),
        (
            "currency.code",
            Box::new(|v| v["currency"]["code"] = json!("dong")),
        ),
        (
            "entities[1].id",
            Box::new(|v| v["entities"][1]["id"] = json!("MOF")),
        ),
        (
            "entities[2].parent",
            Box::new(|v| v["entities"][2]["parent"] = json!("V-0042")),
        ),
        (
            "entities[2].parent",
            Box::new(|v| v["entities"][2]["parent"] = Value::Null),
        ),
        (
            "entities[3].parent",
            Box::new(|v| v["entities"][3]["parent"] = json!("MOH")),
        ),
        (
            "entities",
            Box::new(|v| v["entities"][3]["kind"] = json!("treasury")),
        ),
        (
            "entities",
            Box::new(|v| v["entities"][0]["kind"] = json!("ministry")),
        ),
        (
            "entities[1].name",
            Box::new(|v| v["entities"][1]["name"] = json!(" ")),
        ),
        ("validators", Box::new(|v| v["validators"] = json!([]))),
        (
            "validators",
            Box::new(|v| v["validators"][0]["power"] = json!(0)),
        ),
        (
            "nodes[0].operator",
            Box::new(|v| v["nodes"][0]["operator"] = json!("NOBODY")),
        ),
        (
            "nodes[0].peer_id",
            Box::new(|v| {
                let p = v["validators"][0]["peer_id"].clone();
                v["nodes"][0]["peer_id"] = p;
            }),
        ),
    ];
    for (field, edit) in cases {
        let mut v = good();
        edit(&mut v);
        assert_eq!(field_of(parse(&v).unwrap_err()), field);
    }
}

#[test]
fn bad_keys_are_refused_in_genesis() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut v = good();
    v["entities"][1]["public_key"] = json!(hex::encode(identity));
    let err = parse(&v).unwrap_err();
    assert!(err.to_string().contains("bad_key"), "{err}");
    assert_eq!(field_of(err), "entities[1].public_key");
    let mut v = good();
    v["validators"][0]["consensus_key"] = json!(hex::encode(identity));
    assert_eq!(
        field_of(parse(&v).unwrap_err()),
        "validators[0].consensus_key"
    );
    let _ = SigningKey::generate();
}

#[test]
fn unknown_fields_and_bad_json_are_errors() {
    let mut v = good();
    v["extra"] = json!(1);
    assert!(matches!(parse(&v), Err(GenesisError::Json(_))));
    assert!(matches!(
        Genesis::from_json("{"),
        Err(GenesisError::Json(_))
    ));
    let mut v = good();
    v["entities"][1]["id"] = json!("bộ");
    assert!(matches!(parse(&v), Err(GenesisError::Json(_))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Genesis::from_json_bytes(&bytes);
    }

    #[test]
    fn mutated_files_never_panic(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = good().to_string().into_bytes();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        bytes.truncate(cut.index(bytes.len() + 1).max(i));
        if let Ok(g) = Genesis::from_json_bytes(&bytes) {
            prop_assert!(g.check().is_ok());
        }
    }
}
