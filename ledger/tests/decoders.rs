//! Every decoder answers random or mutated bytes with an error, never a panic,
//! and anything it does accept is canonical: it re-encodes to the same bytes.

use ledger::block::{CommitCertificate, Vote};
use ledger::testkit::TestChain;
use ledger::tx::Op;
use ledger::{Amount, Block, EntityId, LineCode, SignedTx, Year};
use proptest::prelude::*;

fn sample_block() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut chain = TestChain::new(4);
    let appropriate = chain.tx(
        "MOF",
        0,
        Op::Appropriate {
            year: Year::new(2026).unwrap(),
            line: LineCode::new("0402-HEALTH").unwrap(),
            to: EntityId::new("MOF").unwrap(),
            amount: Amount(1),
            legal_ref: "QĐ-1".into(),
        },
    );
    let register = chain.tx(
        "MOF",
        0,
        Op::RegisterEntity {
            id: EntityId::new("MOH").unwrap(),
            kind: ledger::tx::EntityKind::Ministry,
            name: "Bộ Y tế".into(),
            parent: None,
            keys: vec![ledger::testkit::key("MOH").public_key()],
            threshold: 1,
        },
    );
    chain.commit(vec![register]).unwrap();
    let (block, cert, _) = chain.make_block(vec![]).unwrap();
    let vote = cert.precommits[0].clone();
    (
        appropriate.encode(),
        block.encode(),
        cert.encode(),
        ledger::codec::encode(&vote),
    )
}

/// Checks one decoder on `bytes`: no panic, and acceptance implies canonical.
fn check_all(bytes: &[u8]) {
    if let Ok(tx) = SignedTx::decode(bytes) {
        assert_eq!(tx.encode(), bytes);
    }
    if let Ok(b) = Block::decode(bytes) {
        assert_eq!(b.encode(), bytes);
    }
    if let Ok(c) = CommitCertificate::decode(bytes) {
        assert_eq!(c.encode(), bytes);
    }
    if let Ok(v) = Vote::decode(bytes) {
        assert_eq!(ledger::codec::encode(&v), bytes);
    }
}

#[test]
fn samples_decode_and_truncations_do_not() {
    let (tx, block, cert, vote) = sample_block();
    assert!(SignedTx::decode(&tx).is_ok());
    assert!(Block::decode(&block).is_ok());
    assert!(CommitCertificate::decode(&cert).is_ok());
    assert!(Vote::decode(&vote).is_ok());
    for cut in 0..tx.len() {
        assert!(
            SignedTx::decode(&tx[..cut]).is_err(),
            "prefix of {cut} bytes"
        );
    }
    let mut long = tx.clone();
    long.push(0);
    assert_eq!(SignedTx::decode(&long).unwrap_err().code(), "malformed");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_all(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (tx, block, cert, vote) = sample_block();
        let mut bytes = [tx, block, cert, vote][which].clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        check_all(&bytes);
    }
}
