//! Reading a bundle file: other formats and versions, oversized input,
//! trailing bytes and unknown fields, and garbled bytes, each an error and
//! never a panic.

use ledger::proof::{AuditBundle, ProofError, BUNDLE_BYTES_MAX, BUNDLE_FORMAT};
use ledger::PublicKey;

use crate::helpers::{fails, pay_bundle, validator, Fixture};

#[test]
fn another_format_or_version_is_named() {
    let f = Fixture::new();
    let json = pay_bundle(&f).to_json();
    let with = |key: &str, value: serde_json::Value| {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v[key] = value;
        AuditBundle::decode(v.to_string().as_bytes()).unwrap_err()
    };
    assert_eq!(
        with("format", "minhbach-something-else".into()),
        ProofError::WrongFormat {
            format: BUNDLE_FORMAT,
            found: "\"minhbach-something-else\"".into()
        }
    );
    assert_eq!(
        with("version", 2.into()),
        ProofError::UnsupportedVersion {
            format: BUNDLE_FORMAT,
            supported: 1,
            found: "2".into()
        }
    );
    // Built in memory rather than read: the same checks.
    let e = fails(&f, pay_bundle(&f), |b| b.format = "other".into());
    assert_eq!(
        e,
        ProofError::WrongFormat {
            format: BUNDLE_FORMAT,
            found: "\"other\"".into()
        }
    );
}

#[test]
fn oversized_or_trailing_or_unknown_input_is_refused() {
    let f = Fixture::new();
    let text = pay_bundle(&f).to_json();
    let mut padded = text.clone().into_bytes();
    padded.resize(BUNDLE_BYTES_MAX + 1, b' ');
    assert_eq!(
        AuditBundle::decode(&padded),
        Err(ProofError::TooLarge {
            bytes: BUNDLE_BYTES_MAX + 1
        })
    );
    let trailing = format!("{text}\n{{}}");
    assert!(matches!(
        AuditBundle::decode(trailing.as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
    assert!(matches!(
        AuditBundle::decode(b"not json"),
        Err(ProofError::Malformed { .. })
    ));
    // Whitespace after the document is not garbage.
    AuditBundle::decode(format!("{text}\n\n").as_bytes()).unwrap();

    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["block"]["certificate"]["precommits"][0]["note"] = "x".into();
    assert_eq!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::UnknownField {
            path: "block.certificate.precommits[0].note".into()
        })
    );
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["block"]["header"]["view"]["approved_by"] = "x".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::UnknownField { .. })
    ));
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["comment"] = "x".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["version"] = 2.into();
    assert_eq!(
        AuditBundle::decode(json.to_string().as_bytes())
            .unwrap_err()
            .to_string(),
        "bundle format version 2 is not supported; this program reads version 1"
    );
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["tx"]["bytes"] = "zz".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
}

#[test]
fn garbled_bytes_are_errors_not_panics() {
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.bytes.push(0);
    });
    assert!(matches!(e, ProofError::TxUnreadable { .. }), "{e}");
    let e = fails(&f, pay_bundle(&f), |b| b.tx.bytes.clear());
    assert!(matches!(e, ProofError::TxUnreadable { .. }), "{e}");
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.header.bytes.truncate(10);
    });
    assert!(matches!(e, ProofError::HeaderUnreadable { .. }), "{e}");
    let key_bytes: PublicKey = validator(0).consensus_key;
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.precommits[1].validator = key_bytes;
    });
    assert!(matches!(e, ProofError::Certificate { .. }), "{e}");
}
