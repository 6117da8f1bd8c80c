//! Tampering with a block header: a field changed in its bytes or in its
//! readable view, and a header of another chain.

use ledger::proof::ProofError;
use ledger::testkit::CHAIN_ID;
use ledger::{Hash, Height};

use crate::helpers::{fails, pay_bundle, validator, Fixture, CHANGES_AT};

#[test]
fn a_changed_header_field_is_caught() {
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.header.view.state_root = Hash::digest(b"another state");
    });
    assert_eq!(
        e.to_string(),
        "block 7: header field state_root was changed: the block hash no longer matches its certificate"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.header.view.time_ms += 86_400_000;
    });
    assert_eq!(
        e,
        ProofError::HeaderChanged {
            height: Height(7),
            field: "time_ms".into()
        }
    );
    // Bytes and view changed together: the certificate is for another block.
    let e = fails(&f, pay_bundle(&f), |b| {
        let mut header = b.block.header.view.clone();
        header.state_root = Hash::digest(b"another state");
        b.block.header = ledger::proof::BundleHeader::new(&header);
    });
    match e {
        ProofError::BlockHashMismatch {
            height, certified, ..
        } => {
            assert_eq!(height, Height(7));
            assert_eq!(certified, f.blocks[6].hash());
        }
        e => panic!("{e}"),
    }
    // The same in a validator-set change's header.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes[1].header.view.time_ms += 1;
    });
    assert_eq!(
        e,
        ProofError::HeaderChanged {
            height: Height(CHANGES_AT[1]),
            field: "time_ms".into()
        }
    );
}

#[test]
fn every_header_field_changed_in_the_readable_view_is_named() {
    // One case per field of the header, each changed alone in the view a
    // reader sees; the error names that field (and the height in the
    // signed bytes, not the one shown).
    let f = Fixture::new();
    let other = Hash::digest(b"something else");
    type Change = Box<dyn Fn(&mut ledger::Header)>;
    let cases: Vec<(&str, Change)> = vec![
        ("version", Box::new(|h| h.version += 1)),
        (
            "chain_id",
            Box::new(|h| h.chain_id = "another-chain".into()),
        ),
        ("height", Box::new(|h| h.height = Height(h.height.0 + 1))),
        ("time_ms", Box::new(|h| h.time_ms += 1)),
        ("prev_hash", Box::new(move |h| h.prev_hash = other)),
        ("history_root", Box::new(move |h| h.history_root = other)),
        ("tx_count", Box::new(|h| h.tx_count += 1)),
        ("txs_root", Box::new(move |h| h.txs_root = other)),
        ("state_root", Box::new(move |h| h.state_root = other)),
        (
            "last_commit_hash",
            Box::new(move |h| h.last_commit_hash = other),
        ),
        ("evidence_hash", Box::new(move |h| h.evidence_hash = other)),
        (
            "validators_hash",
            Box::new(move |h| h.validators_hash = other),
        ),
        (
            "next_validators_hash",
            Box::new(move |h| h.next_validators_hash = other),
        ),
        (
            "proposer",
            Box::new(|h| h.proposer = validator(3).consensus_key),
        ),
    ];
    let header = serde_json::to_value(&f.blocks[6].header).unwrap();
    let fields: Vec<&str> = header
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut named: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    named.sort();
    let mut all = fields.clone();
    all.sort();
    assert_eq!(named, all, "one case per header field");
    for (field, change) in &cases {
        let e = fails(&f, pay_bundle(&f), |b| change(&mut b.block.header.view));
        assert_eq!(
            e,
            ProofError::HeaderChanged {
                height: Height(7),
                field: (*field).into()
            },
            "changing {field}"
        );
    }
}

#[test]
fn a_header_of_another_chain_is_refused() {
    // Bytes and view agree, and say another chain.
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        let mut header = b.block.header.view.clone();
        header.chain_id = "another-chain".into();
        b.block.header = ledger::proof::BundleHeader::new(&header);
    });
    assert_eq!(
        e,
        ProofError::HeaderWrongChain {
            height: Height(7),
            found: "another-chain".into(),
            chain: CHAIN_ID.into()
        }
    );
}
