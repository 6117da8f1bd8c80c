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
            {"id": "MOF", "kind": "treasury", "name": "Bộ Tài chính", "keys": [key("MOF").public_key().to_hex()]},
            {"id": "MOH", "kind": "ministry", "name": "Bộ Y tế", "keys": [key("MOH").public_key().to_hex()]},
            {"id": "MOH.BVBM", "kind": "department", "name": "Bệnh viện Bạch Mai", "parent": "MOH",
             "keys": [key("MOH.BVBM").public_key().to_hex()]},
            {"id": "V-0042", "kind": "vendor", "name": "Công ty TNHH Thiết bị Y tế Hà Nội",
             "keys": [key("V-0042").public_key().to_hex()]}
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
    v["entities"][1]["keys"] = json!([hex::encode(identity)]);
    let err = parse(&v).unwrap_err();
    assert!(err.to_string().contains("bad_key"), "{err}");
    assert_eq!(field_of(err), "entities[1].keys");
    let mut v = good();
    v["validators"][0]["consensus_key"] = json!(hex::encode(identity));
    assert_eq!(
        field_of(parse(&v).unwrap_err()),
        "validators[0].consensus_key"
    );
    let _ = SigningKey::generate();
}

/// Three keys' hex, for a 2-of-3 treasury.
fn three_keys() -> Value {
    json!(["MOF-1", "MOF-2", "MOF-3"]
        .iter()
        .map(|l| key(l).public_key().to_hex())
        .collect::<Vec<_>>())
}

/// A good genesis with a 2-of-3 treasury, a controller, a control rule on
/// MOH and a rotation delay of 7 blocks.
fn governed() -> Value {
    let mut v = good();
    v["entities"][0]["keys"] = three_keys();
    v["entities"][0]["threshold"] = json!(2);
    v["entities"].as_array_mut().unwrap().push(json!({
        "id": "KBNN", "kind": "controller", "name": "Kho bạc Nhà nước – Kiểm soát chi",
        "keys": [key("KBNN").public_key().to_hex()]
    }));
    v["rotation_delay"] = json!(7);
    v["control"] = json!([{"ministry": "MOH", "amount": "5000000000", "controller": "KBNN"}]);
    v
}

#[test]
fn key_sets_control_rules_and_the_rotation_delay_enter_the_state() {
    let g = parse(&governed()).unwrap();
    let state = g.state();
    let mof = state.entity(&"MOF".parse().unwrap()).unwrap();
    assert_eq!(mof.threshold, 2);
    let mut expected: Vec<_> = ["MOF-1", "MOF-2", "MOF-3"]
        .iter()
        .map(|l| key(l).public_key())
        .collect();
    expected.sort();
    assert_eq!(mof.keys, expected, "kept in key order");
    let rule = state
        .control_rule_for(
            &"MOH.BVBM".parse().unwrap(),
            &ledger::Op::Pay {
                contract: ledger::ContractId::new("C-1").unwrap(),
                amount: ledger::Amount(5_000_000_000),
                reference: "INV".into(),
                document_hash: None,
            },
        )
        .expect("MOH's rule covers its department's payment of 5 tỷ");
    assert_eq!(rule.controller.as_str(), "KBNN");
    // A file without the fields takes one key per entity's threshold 1 and
    // the default delay; the fields change the hash.
    let plain = parse(&good()).unwrap();
    assert_eq!(
        plain
            .state()
            .entity(&"MOF".parse().unwrap())
            .unwrap()
            .threshold,
        1
    );
    assert_eq!(plain.rotation_delay, genesis::ROTATION_DELAY_DEFAULT);
    assert_ne!(plain.hash(), g.hash());
    let again = Genesis::from_json(&g.to_json()).unwrap();
    assert_eq!(again, g);
}

#[test]
fn bad_key_sets_and_control_rules_are_named() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "entities[0].keys",
            Box::new(|v| v["entities"][0]["threshold"] = json!(0)),
        ),
        (
            "entities[0].keys",
            Box::new(|v| v["entities"][0]["threshold"] = json!(4)),
        ),
        (
            "entities[0].keys",
            Box::new(|v| v["entities"][0]["keys"] = json!([])),
        ),
        (
            "entities[0].keys",
            Box::new(|v| {
                let k = v["entities"][0]["keys"][0].clone();
                v["entities"][0]["keys"][1] = k;
            }),
        ),
        (
            "entities[0].keys",
            Box::new(|v| {
                v["entities"][0]["keys"] = json!((0..17)
                    .map(|i| key(&format!("k{i}")).public_key().to_hex())
                    .collect::<Vec<_>>())
            }),
        ),
        (
            "control[0].ministry",
            Box::new(|v| v["control"][0]["ministry"] = json!("MOH.BVBM")),
        ),
        (
            "control[0].controller",
            Box::new(|v| v["control"][0]["controller"] = json!("MOH")),
        ),
        (
            "control[0].amount",
            Box::new(|v| v["control"][0]["amount"] = json!("0")),
        ),
        (
            "control[1].ministry",
            Box::new(|v| {
                let r = v["control"][0].clone();
                v["control"].as_array_mut().unwrap().push(r);
            }),
        ),
    ];
    for (field, edit) in cases {
        let mut v = governed();
        edit(&mut v);
        assert_eq!(field_of(parse(&v).unwrap_err()), field);
    }
    // The rule of all ministries names no ministry and is good.
    let mut v = governed();
    v["control"][0]["ministry"] = Value::Null;
    assert!(parse(&v).is_ok());
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
