//! Refusals of the transaction itself, whatever its operation: bytes that
//! are not its canonical encoding, too many bytes, another chain, a
//! signature that does not verify, a nonce that is not the signer's next.
//! The refusals of who signed (keys, thresholds, approvals) are in `keys`.

use ledger::codec::TX_BYTES_MAX;
use ledger::testkit::{id, key, CHAIN_ID};
use ledger::{Op, SignedTx, TxError};

use crate::helpers::{allocate, appropriate, award, reject, signed, valid_bytes, world};

pub(crate) fn malformed() -> Vec<TxError> {
    let bytes = valid_bytes();
    assert!(SignedTx::decode(&bytes).is_ok(), "the fixture must decode");

    let mut trailing = bytes.clone();
    trailing.push(0);
    let e1 = SignedTx::decode(&trailing).unwrap_err();
    assert!(
        matches!(&e1, TxError::Malformed { reason } if reason.contains("1 trailing byte")),
        "{e1:?}"
    );

    let truncated = &bytes[..bytes.len() - 1];
    let e2 = SignedTx::decode(truncated).unwrap_err();
    assert!(matches!(e2, TxError::Malformed { .. }), "{e2:?}");

    // The signer id "MOF" written in lower case breaks the id pattern.
    let mut bad_id = bytes.clone();
    let at = bad_id
        .windows(3)
        .position(|w| w == b"MOF")
        .expect("the signer id is in the bytes");
    bad_id[at..at + 3].copy_from_slice(b"mof");
    let e3 = SignedTx::decode(&bad_id).unwrap_err();
    assert!(
        matches!(&e3, TxError::Malformed { reason } if reason.contains("\"mof\"")),
        "{e3:?}"
    );
    assert_eq!(
        e3.to_string(),
        "malformed: invalid_argument: entity id: \"mof\" does not match \
         [A-Z0-9][A-Z0-9._-]{1,63}"
    );

    // The nonce 1 written as a 3-byte varint (marker 251, then u16 LE):
    // the same value, but not the canonical encoding.
    let body_prefix = {
        let mut p = bincode_string(CHAIN_ID);
        p.extend(bincode_string("MOF"));
        p
    };
    assert_eq!(&bytes[..body_prefix.len()], &body_prefix[..]);
    assert_eq!(bytes[body_prefix.len()], 1, "nonce 1 is one byte");
    let mut wide = bytes[..body_prefix.len()].to_vec();
    wide.extend([251, 1, 0]);
    wide.extend(&bytes[body_prefix.len() + 1..]);
    let e4 = SignedTx::decode(&wide).unwrap_err();
    assert!(matches!(e4, TxError::Malformed { .. }), "{e4:?}");

    assert!(e1.to_string().starts_with("malformed: "));
    vec![e1, e2, e3, e4]
}

/// bincode's encoding of a short string: a one-byte length, then UTF-8.
fn bincode_string(s: &str) -> Vec<u8> {
    assert!(s.len() < 251);
    let mut v = vec![s.len() as u8];
    v.extend(s.as_bytes());
    v
}

pub(crate) fn too_large() -> Vec<TxError> {
    // A well-formed award whose title alone is over the limit.
    let mut op = award("C-99", "V-1", 1);
    if let Op::Award { title, .. } = &mut op {
        *title = "x".repeat(TX_BYTES_MAX);
    }
    let bytes = signed(CHAIN_ID, "MOH.BV", 3, "MOH.BV", op).encode();
    assert!(bytes.len() > 64 * 1024);
    let e1 = SignedTx::decode(&bytes).unwrap_err();
    assert_eq!(
        e1,
        TxError::TooLarge {
            bytes: bytes.len(),
            bytes_max: 65_536
        }
    );
    let e2 = SignedTx::decode(&vec![0u8; 65_537]).unwrap_err();
    assert_eq!(
        e2,
        TxError::TooLarge {
            bytes: 65_537,
            bytes_max: 65_536
        }
    );
    assert_eq!(
        e2.to_string(),
        "too_large: 65537 bytes exceeds the limit of 65536"
    );
    vec![e1, e2]
}

pub(crate) fn wrong_chain() -> Vec<TxError> {
    let mut chain = world();
    let tx = signed("other-chain", "MOF", 2, "MOF", appropriate("MOH", 1));
    let e = reject(&mut chain, tx);
    assert_eq!(
        e,
        TxError::WrongChain {
            expected: CHAIN_ID.into(),
            got: "other-chain".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "wrong_chain: transaction is for chain \"other-chain\", this is \"minhbach-test\""
    );
    vec![e]
}

pub(crate) fn bad_signature() -> Vec<TxError> {
    let mut chain = world();
    // MOF's key, but its signature is over another transaction.
    let mut tx = chain.tx("MOF", 0, appropriate("MOH", 1));
    tx.signatures[0].signature = chain.tx("MOF", 1, appropriate("MOH", 1)).signatures[0].signature;
    assert_eq!(tx.signatures[0].key, key("MOF").public_key());
    let e1 = reject(&mut chain, tx);
    assert_eq!(e1, TxError::BadSignature { signer: id("MOF") });

    // Signed correctly, then the amount changed.
    let mut tx = chain.tx("MOF", 0, appropriate("MOH", 1));
    tx.body.op = appropriate("MOH", 1_000_000_000);
    let e2 = reject(&mut chain, tx);
    assert_eq!(e2, TxError::BadSignature { signer: id("MOF") });

    // A signature that names MOH's key but was made by MOF's: the named key
    // is MOH's own, the signature is not.
    let next = chain.state.next_nonce(&id("MOH")).unwrap();
    let mut tx = signed(CHAIN_ID, "MOH", next, "MOF", allocate("MOH.BV", 1));
    tx.signatures[0].key = key("MOH").public_key();
    let e3 = reject(&mut chain, tx);
    assert_eq!(e3, TxError::BadSignature { signer: id("MOH") });
    // Made and named by MOH's key, it is accepted.
    let good = signed(CHAIN_ID, "MOH", next, "MOH", allocate("MOH.BV", 1));
    chain.commit(vec![good]).unwrap();

    assert_eq!(
        e1.to_string(),
        "bad_signature: signature does not verify for signer MOF"
    );
    vec![e1, e2, e3]
}

pub(crate) fn bad_nonce() -> Vec<TxError> {
    let mut chain = world();
    // MOF committed 7 transactions in the fixture.
    assert_eq!(chain.state.next_nonce(&id("MOF")), Some(8));
    let ahead = signed(CHAIN_ID, "MOF", 10, "MOF", appropriate("MOH", 1));
    let e1 = reject(&mut chain, ahead);
    assert_eq!(
        e1,
        TxError::BadNonce {
            signer: id("MOF"),
            expected: 8,
            got: 10
        }
    );
    assert_eq!(e1.to_string(), "bad_nonce: MOF must use nonce 8, got 10");

    // A replay of a committed transaction.
    let tx = chain.tx("MOF", 0, appropriate("MOH", 1));
    chain.commit(vec![tx.clone()]).unwrap();
    let e2 = reject(&mut chain, tx);
    assert_eq!(
        e2,
        TxError::BadNonce {
            signer: id("MOF"),
            expected: 9,
            got: 8
        }
    );

    // The same nonce twice in one block: the second is refused, at index 1.
    let a = chain.tx("MOF", 0, appropriate("MOH", 1));
    let b = chain.tx("MOF", 0, appropriate("MOH", 2));
    let (index, e3) = chain.commit(vec![a, b]).unwrap_err();
    assert_eq!(index, 1);
    assert_eq!(
        e3,
        TxError::BadNonce {
            signer: id("MOF"),
            expected: 10,
            got: 9
        }
    );
    vec![e1, e2, e3]
}
