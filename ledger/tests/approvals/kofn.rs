//! k-of-n entities: MOH.BV holds three keys, two of which must sign. One
//! signature is not enough and changes nothing; any two sign, and so do all
//! three. A transaction's signatures are also checked for form: at most
//! sixteen, ordered by key, each key once, each one valid.

use ledger::codec;
use ledger::state::Verdict;
use ledger::testkit::id;
use ledger::tx::{verify_tx_batch, EntityKind, TxSignature, SIGNATURES_MAX};
use ledger::{Amount, SignedTx, TxError};

use crate::helpers::{
    accept, allocate, award, cid, commit, foreign, line, pk, pks, refuse, refuse_op, register,
    short, sk, tx, tx_at, world, year, ALLOCATED, BV, KBNN,
};

#[test]
fn one_signature_of_two_of_three_is_not_enough_and_changes_nothing() {
    let mut chain = world(0);
    for one in BV {
        let e = refuse_op(&mut chain, "MOH.BV", &[one], award("C-1", 1_000));
        assert_eq!(e, short("MOH.BV", 2, 1), "{one}");
        assert_eq!(
            e.to_string(),
            "threshold_not_met: MOH.BV needs 2 of its keys, 1 signed"
        );
    }
    assert!(chain.state.contract(&cid("C-1")).is_none());
    assert_eq!(chain.state.next_nonce(&id("MOH.BV")), Some(1));
}

#[test]
fn any_two_of_three_sign_and_so_do_all_three() {
    let mut chain = world(0);
    let sets: [&[&str]; 4] = [
        &["BV-1", "BV-2"],
        &["BV-1", "BV-3"],
        &["BV-3", "BV-2"],
        &["BV-1", "BV-2", "BV-3"],
    ];
    for (i, labels) in sets.into_iter().enumerate() {
        accept(
            &mut chain,
            "MOH.BV",
            labels,
            award(&format!("C-{i}"), 1_000),
        );
        let c = chain.state.contract(&cid(&format!("C-{i}"))).unwrap();
        assert_eq!(c.amount, Amount(1_000));
        assert_eq!(c.department, id("MOH.BV"));
    }
    assert_eq!(chain.state.next_nonce(&id("MOH.BV")), Some(5));
    let b = chain.state.budget(&id("MOH.BV"), year(), &line());
    assert_eq!(b.committed, Amount(4_000));
    assert_eq!(b.available(), Some(Amount(ALLOCATED - 4_000)));
}

#[test]
fn a_key_the_signer_does_not_hold_is_foreign_even_among_enough_of_its_own() {
    let mut chain = world(0);
    // Another department's key, the ministry's, the treasury's, a
    // controller's (no rule asks for one), a key nobody holds.
    for other in ["MOH.YT", "MOH", "MOF", "KB-1", "NOBODY"] {
        let e = refuse_op(
            &mut chain,
            "MOH.BV",
            &["BV-1", "BV-2", other],
            award("C-1", 1_000),
        );
        assert_eq!(e, foreign(other, "MOH.BV", None), "{other}");
        // With too few of its own keys, the foreign key is still what is
        // named.
        let e = refuse_op(&mut chain, "MOH.BV", &["BV-1", other], award("C-1", 1_000));
        assert_eq!(e, foreign(other, "MOH.BV", None), "{other}");
    }
    assert_eq!(
        foreign("NOBODY", "MOH.BV", None).to_string(),
        format!(
            "foreign_signature: key {} is not a key of MOH.BV",
            pk("NOBODY").to_hex()
        )
    );
    // A key of MOH.BV signing for MOH.YT is just as foreign.
    let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT", "BV-1"], award("C-2", 1));
    assert_eq!(e, foreign("BV-1", "MOH.YT", None));
}

/// The bytes of `tx` with its signature list written by hand: the body as
/// encoded, the count, then each (key, signature).
fn hand_built_bytes(tx: &SignedTx, signatures: &[TxSignature]) -> Vec<u8> {
    let body = codec::encode(&tx.body);
    let mut bytes = body.clone();
    assert!(signatures.len() < 251, "a one-byte count");
    bytes.push(signatures.len() as u8);
    for s in signatures {
        bytes.extend(s.key.0);
        bytes.extend(s.signature.0);
    }
    // The layout is the canonical one: written for the list as it is, the
    // bytes are the transaction's own encoding.
    let mut own = body;
    own.push(tx.signatures.len() as u8);
    for s in &tx.signatures {
        own.extend(s.key.0);
        own.extend(s.signature.0);
    }
    assert_eq!(
        own,
        tx.encode(),
        "the encoding is body, count, (key, signature)..."
    );
    bytes
}

#[test]
fn the_same_key_twice_is_a_duplicate_signature() {
    let mut chain = world(0);
    let good = tx(&chain, "MOH.BV", &["BV-1", "BV-2"], award("C-1", 1_000));
    let [s1, s2] = [good.signatures[0], good.signatures[1]];
    // Signing twice with one key keeps one signature.
    let twice = tx(&chain, "MOH.BV", &["BV-1", "BV-1"], award("C-1", 1_000));
    assert_eq!(twice.signatures.len(), 1);

    // Built by hand: the first signature twice, and one key twice around
    // another (still ordered, but repeated).
    for (signatures, key) in [
        (vec![s1, s1], s1.key),
        (vec![s1, s1, s2], s1.key),
        (vec![s1, s2, s2], s2.key),
    ] {
        let expected = TxError::DuplicateSignature { key };
        let bad = SignedTx {
            body: good.body.clone(),
            signatures: signatures.clone(),
        };
        assert_eq!(bad.check_form(), Err(expected.clone()));
        let bytes = hand_built_bytes(&good, &signatures);
        assert_eq!(SignedTx::decode(&bytes), Err(expected.clone()));
        assert_eq!(refuse(&mut chain, bad), expected);
    }
    // The two distinct signatures commit.
    commit(&mut chain, vec![good]);
    assert!(chain.state.contract(&cid("C-1")).is_some());
}

#[test]
fn seventeen_signatures_are_too_many_sixteen_are_not() {
    let mut chain = world(0);
    let labels: Vec<String> = (0..16).map(|i| format!("MOH.LON-{i}")).collect();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let txs = vec![tx(
        &chain,
        "MOF",
        &["MOF"],
        register("MOH.LON", EntityKind::Department, Some("MOH"), &refs, 16),
    )];
    commit(&mut chain, txs);
    accept(&mut chain, "MOH", &["MOH"], allocate("MOH.LON", 10_000));
    assert_eq!(SIGNATURES_MAX, 16);

    // Fifteen of sixteen are short of its threshold.
    let e = refuse_op(&mut chain, "MOH.LON", &refs[1..], award("C-1", 1));
    assert_eq!(e, short("MOH.LON", 16, 15));
    // Its sixteen and one more are seventeen: refused before anything else,
    // as bytes and as a transaction.
    let mut seventeen = refs.clone();
    seventeen.push("NOBODY");
    let t = tx(&chain, "MOH.LON", &seventeen, award("C-1", 1));
    assert_eq!(t.signatures.len(), 17);
    let expected = TxError::TooManySignatures { count: 17, max: 16 };
    assert_eq!(SignedTx::decode(&t.encode()), Err(expected.clone()));
    assert_eq!(refuse(&mut chain, t), expected);
    // All sixteen commit.
    accept(&mut chain, "MOH.LON", &refs, award("C-1", 1));
    assert!(chain.state.contract(&cid("C-1")).is_some());
}

#[test]
fn signatures_out_of_key_order_are_malformed_and_none_at_all_too() {
    let mut chain = world(0);
    let good = tx(&chain, "MOH.BV", &["BV-2", "BV-1"], award("C-1", 1_000));
    // Signed in any order, the signatures are kept in key order.
    assert!(good.signatures[0].key < good.signatures[1].key);
    assert_eq!(
        good.signatures.iter().map(|s| s.key).collect::<Vec<_>>(),
        pks(&["BV-1", "BV-2"])
    );
    let mut swapped = good.clone();
    swapped.signatures.reverse();
    let e = SignedTx::decode(&swapped.encode()).unwrap_err();
    assert!(
        matches!(&e, TxError::Malformed { reason } if reason.contains("ordered")),
        "{e:?}"
    );
    assert_eq!(refuse(&mut chain, swapped), e);

    let mut none = good.clone();
    none.signatures.clear();
    let e = SignedTx::decode(&none.encode()).unwrap_err();
    assert!(matches!(e, TxError::Malformed { .. }), "{e:?}");
    assert_eq!(refuse(&mut chain, none), e);
    commit(&mut chain, vec![good]);
}

#[test]
fn a_bad_signature_among_enough_good_ones_refuses_the_transaction() {
    let mut chain = world(0);
    let mut bad = tx(&chain, "MOH.BV", &BV, award("C-1", 1_000));
    // BV-3's signature over another contract, in place of its own.
    let other = tx(&chain, "MOH.BV", &BV, award("C-2", 1_000));
    let at = bad
        .signatures
        .iter()
        .position(|s| s.key == pk("BV-3"))
        .unwrap();
    bad.signatures[at].signature = other.signatures[at].signature;
    assert!(!bad.verify_signatures());
    assert!(other.verify_signatures());

    // Checked alone (check_tx) and in a batch (execute_block), the same
    // refusal; the two good signatures do not carry it.
    let expected = TxError::BadSignature {
        signer: id("MOH.BV"),
    };
    assert_eq!(refuse(&mut chain, bad.clone()), expected);

    // Among good transactions of one block, the batch names the bad one.
    let good_a = tx(&chain, "MOH.YT", &["MOH.YT"], award("C-3", 1));
    let good_b = tx_at(&chain, "MOH.YT", 1, &["MOH.YT"], award("C-4", 1));
    assert_eq!(
        verify_tx_batch(&[&good_a, &bad, &good_b]),
        vec![true, false, true]
    );
    // Shared out over the cores, each its verdict in its place, as each
    // transaction checked alone gives it.
    let many = [&good_a, &bad, &good_b, &bad, &good_a, &good_b, &bad].map(|t| t.clone());
    let alone: Vec<_> = many
        .iter()
        .map(|t| {
            Some(Verdict {
                valid: t.verify_signatures(),
            })
        })
        .collect();
    assert_eq!(alone.iter().flatten().filter(|v| !v.valid).count(), 3);
    assert_eq!(ledger::state::verdicts_on_every_core(&many), alone);
    let block = [good_a.clone(), bad, good_b.clone()];
    assert_eq!(
        chain.state.batch_verdicts(&block),
        vec![
            Some(Verdict { valid: true }),
            Some(Verdict { valid: false }),
            Some(Verdict { valid: true })
        ]
    );
    let before = chain.state.clone();
    let (i, e) = chain.commit(block.to_vec()).unwrap_err();
    assert_eq!((i, e), (1, expected));
    assert_eq!(chain.state, before);
    commit(&mut chain, vec![good_a, other]);
}

#[test]
fn a_verdict_says_only_whether_the_signatures_verify() {
    // A batch verdict of "valid" does not let a foreign key act: who may
    // sign is decided in execution.
    let chain = world(0);
    let t = tx(&chain, "MOH.BV", &["BV-1", "KB-1"], award("C-1", 1));
    assert_eq!(
        chain.state.batch_verdicts(std::slice::from_ref(&t)),
        vec![Some(Verdict { valid: true })]
    );
    let e = chain
        .state
        .execute_block_with(
            std::slice::from_ref(&t),
            vec![Some(Verdict { valid: true })],
        )
        .unwrap_err();
    assert_eq!(e, (0, foreign("KB-1", "MOH.BV", None)));
    // Nor does a controller's pair of keys stand in for the signer's.
    let t = tx(&chain, "MOH.BV", &KBNN, award("C-1", 1));
    let e = chain.state.execute_block(&[t]).unwrap_err();
    assert_eq!(e, (0, foreign(KBNN[0], "MOH.BV", None)));
    // An unknown signer's signatures are not checked at all.
    let mut stranger = tx(&chain, "MOH.BV", &["BV-1", "BV-2"], award("C-1", 1));
    stranger.body.signer = id("NOBODY");
    assert_eq!(chain.state.batch_verdicts(&[stranger]), vec![None]);
    // Signatures in a transaction are by the keys they name.
    let t = tx(&chain, "MOH.BV", &["BV-3"], award("C-1", 1));
    assert_eq!(t.signatures[0].key, sk("BV-3").public_key());
    assert!(t.verify_signatures());
}
