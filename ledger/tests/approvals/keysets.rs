//! Key sets as `register-entity` and `set-keys` take them: one to sixteen
//! distinct keys and a threshold from one to their number, else
//! `bad_threshold`. Changing an entity's keys is itself an act of the
//! entity, under its current threshold.

use ledger::state::check_key_set;
use ledger::testkit::id;
use ledger::tx::{EntityKind, KEYS_MAX};
use ledger::{Op, TxError};

use crate::helpers::{
    accept, award, commit, entity, foreign, pk, pks, refuse_op, register, set_keys, short, tx,
    tx_at, world, BV,
};

/// Key sets out of form, each with the words its refusal names.
fn bad_sets() -> Vec<(Vec<String>, u8, &'static str)> {
    let labels = |n: usize| (0..n).map(|i| format!("NEW-{i}")).collect::<Vec<_>>();
    vec![
        (labels(1), 0, "threshold 0"),
        (labels(3), 0, "threshold 0"),
        (labels(3), 4, "threshold 4"),
        (labels(16), 17, "threshold 17"),
        (labels(17), 1, "17 keys"),
        (labels(0), 1, "0 keys"),
        (
            vec!["NEW-0".into(), "NEW-1".into(), "NEW-0".into()],
            2,
            "twice",
        ),
        (vec!["NEW-0".into(), "NEW-0".into()], 1, "twice"),
    ]
}

fn refs(labels: &[String]) -> Vec<&str> {
    labels.iter().map(String::as_str).collect()
}

fn is_bad_threshold(e: &TxError, words: &str) -> bool {
    matches!(e, TxError::BadThreshold { reason } if reason.contains(words))
}

#[test]
fn register_entity_refuses_key_sets_out_of_form() {
    let mut chain = world(0);
    for (labels, threshold, words) in bad_sets() {
        let op = register("MOT", EntityKind::Ministry, None, &refs(&labels), threshold);
        let e = refuse_op(&mut chain, "MOF", &["MOF"], op);
        assert!(
            is_bad_threshold(&e, words),
            "{} keys, threshold {threshold}: {e:?}",
            labels.len()
        );
        assert!(e.to_string().starts_with("bad_threshold: "), "{e}");
        assert!(chain.state.entity(&id("MOT")).is_none());
    }
    assert_eq!(KEYS_MAX, 16);
}

#[test]
fn register_entity_keeps_the_keys_in_order_and_the_threshold() {
    let mut chain = world(0);
    let labels = ["MOT-C", "MOT-A", "MOT-B"];
    let op = register("MOT", EntityKind::Ministry, None, &labels, 3);
    accept(&mut chain, "MOF", &["MOF"], op);
    let e = entity(&chain, "MOT");
    assert_eq!(e.keys, pks(&labels));
    assert!(e.keys.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(e.threshold, 3);
    assert_eq!(e.pending, None);
    assert!(e.holds(&pk("MOT-B")));
    assert!(!e.holds(&pk("MOT")));
    // Three of three: two are short.
    let op = crate::helpers::appropriate("MOH", 1);
    let e = refuse_op(&mut chain, "MOT", &["MOT-A", "MOT-C"], op);
    // (MOT may not appropriate, but its keys are judged first.)
    assert_eq!(e, short("MOT", 3, 2));

    // Sixteen keys, all to sign, is a key set; so is one of sixteen.
    let sixteen: Vec<String> = (0..16).map(|i| format!("AUDIT-{i}")).collect();
    for (who, threshold) in [("AUDIT", 16), ("AUDIT.2", 1)] {
        let op = register(who, EntityKind::Observer, None, &refs(&sixteen), threshold);
        accept(&mut chain, "MOF", &["MOF"], op);
        let e = entity(&chain, who);
        assert_eq!((e.keys.len(), e.threshold), (16, threshold));
    }
}

#[test]
fn check_key_set_agrees_with_execution() {
    for (labels, threshold, words) in bad_sets() {
        let keys: Vec<_> = labels.iter().map(|l| pk(l)).collect();
        let e = check_key_set(&keys, threshold).unwrap_err();
        assert!(is_bad_threshold(&e, words), "{e:?}");
    }
    let keys = vec![pk("Z"), pk("A"), pk("M")];
    assert_eq!(check_key_set(&keys, 2), Ok(pks(&["Z", "A", "M"])));
}

#[test]
fn set_keys_refuses_key_sets_out_of_form_by_the_entity_and_by_the_treasury() {
    // With a delay, so that the treasury's change would only be pending: it
    // is refused all the same.
    let mut chain = world(3);
    for (labels, threshold, words) in bad_sets() {
        for (signer, signing) in [("MOH.YT", vec!["MOH.YT"]), ("MOF", vec!["MOF"])] {
            let op = set_keys("MOH.YT", &refs(&labels), threshold);
            let e = refuse_op(&mut chain, signer, &signing, op);
            assert!(is_bad_threshold(&e, words), "{signer}: {e:?}");
        }
    }
    let yt = entity(&chain, "MOH.YT");
    assert_eq!(
        (yt.keys, yt.threshold, yt.pending),
        (pks(&["MOH.YT"]), 1, None)
    );
}

#[test]
fn set_keys_needs_the_current_threshold_and_takes_effect_at_once() {
    let mut chain = world(3);
    let new = ["NEW-1", "NEW-2"];
    // One of MOH.BV's keys is not enough to change them.
    let e = refuse_op(&mut chain, "MOH.BV", &["BV-1"], set_keys("MOH.BV", &new, 2));
    assert_eq!(e, short("MOH.BV", 2, 1));
    // Nor is one of its keys and one of the keys it would take.
    let e = refuse_op(
        &mut chain,
        "MOH.BV",
        &["BV-1", "NEW-1"],
        set_keys("MOH.BV", &new, 2),
    );
    assert_eq!(e, foreign("NEW-1", "MOH.BV", None));
    // Two of them change the keys, at once, delay or not.
    accept(
        &mut chain,
        "MOH.BV",
        &["BV-1", "BV-3"],
        set_keys("MOH.BV", &new, 2),
    );
    let bv = entity(&chain, "MOH.BV");
    assert_eq!((bv.keys, bv.threshold, bv.pending), (pks(&new), 2, None));
    // From the next transaction on, the old keys are foreign and the new
    // ones must reach the threshold.
    let e = refuse_op(&mut chain, "MOH.BV", &["BV-1", "BV-2"], award("C-1", 1));
    assert_eq!(e, foreign("BV-1", "MOH.BV", None));
    let e = refuse_op(&mut chain, "MOH.BV", &["NEW-2"], award("C-1", 1));
    assert_eq!(e, short("MOH.BV", 2, 1));
    accept(&mut chain, "MOH.BV", &new, award("C-1", 1));
}

#[test]
fn a_raised_threshold_holds_for_the_next_transaction_in_the_same_block() {
    let mut chain = world(0);
    let raise = tx(
        &chain,
        "MOH.BV",
        &["BV-1", "BV-2"],
        set_keys("MOH.BV", &BV, 3),
    );
    let two = tx_at(&chain, "MOH.BV", 1, &["BV-1", "BV-2"], award("C-1", 1));
    let (i, e) = chain
        .state
        .execute_block(&[raise.clone(), two])
        .unwrap_err();
    assert_eq!((i, e), (1, short("MOH.BV", 3, 2)));
    let three = tx_at(&chain, "MOH.BV", 1, &BV, award("C-1", 1));
    commit(&mut chain, vec![raise, three]);
    assert_eq!(entity(&chain, "MOH.BV").threshold, 3);
    // And lowered again, to one of three, by all three.
    accept(&mut chain, "MOH.BV", &BV, set_keys("MOH.BV", &BV, 1));
    accept(&mut chain, "MOH.BV", &["BV-2"], award("C-2", 1));
}

#[test]
fn rotate_key_by_a_k_of_n_entity_needs_its_threshold() {
    let mut chain = world(0);
    let rotate = Op::RotateKey {
        entity: id("MOH.BV"),
        public_key: pk("BV-NEW"),
    };
    let e = refuse_op(&mut chain, "MOH.BV", &["BV-2"], rotate.clone());
    assert_eq!(e, short("MOH.BV", 2, 1));
    accept(&mut chain, "MOH.BV", &["BV-2", "BV-3"], rotate);
    let bv = entity(&chain, "MOH.BV");
    assert_eq!((bv.keys, bv.threshold), (pks(&["BV-NEW"]), 1));
    accept(&mut chain, "MOH.BV", &["BV-NEW"], award("C-1", 1));
}

#[test]
fn set_keys_to_what_is_held_changes_nothing() {
    let mut chain = world(0);
    let e = refuse_op(
        &mut chain,
        "MOH.BV",
        &["BV-1", "BV-2"],
        set_keys("MOH.BV", &BV, 2),
    );
    assert!(matches!(&e, TxError::NoOp { op: "set-keys", .. }), "{e:?}");
    // The same keys in another order are the same key set.
    let reordered = ["BV-3", "BV-1", "BV-2"];
    let e = refuse_op(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.BV", &reordered, 2),
    );
    assert!(matches!(e, TxError::NoOp { .. }), "{e:?}");
    // Another threshold is a change.
    accept(
        &mut chain,
        "MOH.BV",
        &["BV-1", "BV-2"],
        set_keys("MOH.BV", &BV, 3),
    );
}

#[test]
fn only_the_entity_and_the_treasury_change_its_keys() {
    let mut chain = world(3);
    let cases = [
        ("MOH", vec!["MOH"]),
        ("MOH.BV", vec!["BV-1", "BV-2"]),
        ("KBNN", vec!["KB-1", "KB-2"]),
    ];
    for (signer, labels) in cases {
        let e = refuse_op(&mut chain, signer, &labels, set_keys("MOH.YT", &["X"], 1));
        assert!(
            matches!(&e, TxError::NotAuthorized { signer: s, .. } if *s == id(signer)),
            "{signer}: {e:?}"
        );
        let e = refuse_op(
            &mut chain,
            signer,
            &labels,
            crate::helpers::cancel_keys("MOH.YT"),
        );
        assert!(
            matches!(e, TxError::NotAuthorized { .. }),
            "{signer}: {e:?}"
        );
    }
    let e = refuse_op(&mut chain, "MOF", &["MOF"], set_keys("NOBODY", &["X"], 1));
    assert!(matches!(e, TxError::UnknownEntity { .. }), "{e:?}");
}
