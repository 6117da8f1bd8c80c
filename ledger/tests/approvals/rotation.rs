//! Time-locked rotations. The treasury's change of another entity's keys,
//! set in block S on a chain whose genesis fixes rotation delay D, waits:
//! the old keys sign in blocks S to S+D−1 and the new ones are foreign
//! there; from block S+D on the new keys sign and the old are foreign. Until
//! then the change is pending on the entity, which may cancel it. An
//! entity's own change, and any change on a chain without a delay, is
//! immediate.

use ledger::state::{PendingKeys, StateKey};
use ledger::testkit::{id, TestChain};
use ledger::tx::EntityKind;
use ledger::{Height, Op, TxError};

use crate::helpers::{
    accept, award, cancel_keys, commit, entity, foreign, genesis_chain, pk, pks, refuse, refuse_op,
    register, set_keys, tx, tx_at, world, BV,
};

const D: u64 = 3;

/// The next height, the one the next block will have.
fn next(chain: &TestChain) -> u64 {
    chain.state.height().0 + 1
}

/// In the next block: `labels`, none of them `who`'s, do not sign for it;
/// the first of them in key order is named foreign, and nothing changes.
fn refused_now(chain: &mut TestChain, who: &str, labels: &[&str], contract: &str) {
    let e = refuse_op(chain, who, labels, award(contract, 1));
    let first = labels.iter().min_by_key(|l| pk(l)).unwrap();
    assert_eq!(e, foreign(first, who, None), "block {}", next(chain));
}

/// In the next block: `labels` sign for `who`.
fn signs_now(chain: &mut TestChain, who: &str, labels: &[&str], contract: &str) {
    accept(chain, who, labels, award(contract, 1));
}

/// Whether the state still indexes a key change of `who` as due.
fn indexed_due(chain: &TestChain, who: &str) -> Vec<Height> {
    chain
        .state
        .entries()
        .filter_map(|(k, _)| match k {
            StateKey::KeysDue(h, e) if *e == id(who) => Some(*h),
            _ => None,
        })
        .collect()
}

#[test]
fn a_treasury_rotation_waits_the_delay() {
    let mut chain = world(D);
    let s = next(&chain);
    // Block S: the treasury sets MOH.YT's key; after it in the same block
    // the old key still signs.
    let set = tx(&chain, "MOF", &["MOF"], set_keys("MOH.YT", &["YT-NEW"], 1));
    let old = tx(&chain, "MOH.YT", &["MOH.YT"], award("C-S", 1));
    commit(&mut chain, vec![set, old]);
    let yt = entity(&chain, "MOH.YT");
    assert_eq!(yt.keys, pks(&["MOH.YT"]));
    assert_eq!(
        yt.pending,
        Some(PendingKeys {
            keys: pks(&["YT-NEW"]),
            threshold: 1,
            set_at: Height(s),
            effective: Height(s + D),
        })
    );
    assert_eq!(indexed_due(&chain, "MOH.YT"), vec![Height(s + D)]);
    // Blocks S+1 .. S+D−1: the new key is foreign, the old one signs, and
    // the change is still pending.
    for h in s + 1..s + D {
        assert_eq!(next(&chain), h);
        assert!(entity(&chain, "MOH.YT").pending.is_some(), "block {h}");
        refused_now(&mut chain, "MOH.YT", &["YT-NEW"], &format!("C-{h}"));
        signs_now(&mut chain, "MOH.YT", &["MOH.YT"], &format!("C-{h}"));
    }
    // Block S+D: the new key signs and the old one is foreign.
    assert_eq!(next(&chain), s + D);
    let yt = entity(&chain, "MOH.YT");
    assert_eq!(
        (yt.keys, yt.threshold, yt.pending),
        (pks(&["YT-NEW"]), 1, None)
    );
    assert!(indexed_due(&chain, "MOH.YT").is_empty());
    refused_now(&mut chain, "MOH.YT", &["MOH.YT"], "C-D");
    signs_now(&mut chain, "MOH.YT", &["YT-NEW"], "C-D");
    refused_now(&mut chain, "MOH.YT", &["MOH.YT"], "C-D1");
}

#[test]
fn the_delay_runs_in_blocks_whatever_they_hold() {
    let mut chain = world(D);
    // MOH.BV (two of three) is given one key of its own by the treasury.
    let s = next(&chain);
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.BV", &["BV-NEW"], 1),
    );
    for _ in s + 1..s + D - 1 {
        commit(&mut chain, vec![]);
    }
    // Block S+D−1, the last before: still two of the old three.
    assert_eq!(next(&chain), s + D - 1);
    refused_now(&mut chain, "MOH.BV", &["BV-NEW"], "C-1");
    let e = refuse_op(&mut chain, "MOH.BV", &["BV-1"], award("C-1", 1));
    assert_eq!(e, crate::helpers::short("MOH.BV", 2, 1));
    commit(&mut chain, vec![]);
    // Block S+D: the new key alone.
    assert_eq!(next(&chain), s + D);
    refused_now(&mut chain, "MOH.BV", &["BV-1", "BV-2"], "C-1");
    signs_now(&mut chain, "MOH.BV", &["BV-NEW"], "C-1");
}

#[test]
fn the_entity_cancels_a_pending_change_even_in_the_last_block_before_it() {
    let mut chain = world(D);
    let s = next(&chain);
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.YT", &["YT-NEW"], 1),
    );
    for _ in s + 1..s + D - 1 {
        commit(&mut chain, vec![]);
    }
    // Block S+D−1: MOH.YT, with its old key, cancels.
    assert_eq!(next(&chain), s + D - 1);
    accept(&mut chain, "MOH.YT", &["MOH.YT"], cancel_keys("MOH.YT"));
    let yt = entity(&chain, "MOH.YT");
    assert_eq!((yt.keys, yt.pending), (pks(&["MOH.YT"]), None));
    assert!(indexed_due(&chain, "MOH.YT").is_empty());
    // The change never takes effect.
    for h in s + D..s + 2 * D + 1 {
        assert_eq!(next(&chain), h);
        refused_now(&mut chain, "MOH.YT", &["YT-NEW"], &format!("C-{h}"));
        signs_now(&mut chain, "MOH.YT", &["MOH.YT"], &format!("C-{h}"));
    }
    // Nothing is left to cancel.
    let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT"], cancel_keys("MOH.YT"));
    assert!(
        matches!(&e, TxError::NoOp { op: "cancel-keys", reason } if reason.contains("MOH.YT")),
        "{e:?}"
    );
}

#[test]
fn the_treasury_may_withdraw_its_own_pending_change() {
    let mut chain = world(D);
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.YT", &["YT-NEW"], 1),
    );
    accept(&mut chain, "MOF", &["MOF"], cancel_keys("MOH.YT"));
    assert_eq!(entity(&chain, "MOH.YT").pending, None);
    for _ in 0..D {
        commit(&mut chain, vec![]);
    }
    refused_now(&mut chain, "MOH.YT", &["YT-NEW"], "C-1");
    signs_now(&mut chain, "MOH.YT", &["MOH.YT"], "C-1");
}

#[test]
fn an_entity_own_rotation_takes_effect_at_once() {
    let mut chain = world(D);
    // MOH.YT's own rotation, then its old key, in one block: refused at the
    // second transaction.
    let rotate = Op::RotateKey {
        entity: id("MOH.YT"),
        public_key: pk("YT-2"),
    };
    let own = tx(&chain, "MOH.YT", &["MOH.YT"], rotate);
    let old = tx_at(&chain, "MOH.YT", 1, &["MOH.YT"], award("C-1", 1));
    let (i, e) = chain.state.execute_block(&[own.clone(), old]).unwrap_err();
    assert_eq!((i, e), (1, foreign("MOH.YT", "MOH.YT", None)));
    let new = tx_at(&chain, "MOH.YT", 1, &["YT-2"], award("C-1", 1));
    commit(&mut chain, vec![own, new]);
    let yt = entity(&chain, "MOH.YT");
    assert_eq!((yt.keys, yt.pending), (pks(&["YT-2"]), None));

    // The treasury's own keys too.
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOF", &["MOF-1", "MOF-2"], 2),
    );
    assert_eq!(entity(&chain, "MOF").pending, None);
    let e = refuse_op(&mut chain, "MOF", &["MOF"], set_keys("MOH.YT", &["X"], 1));
    assert_eq!(e, foreign("MOF", "MOF", None));
    accept(
        &mut chain,
        "MOF",
        &["MOF-1", "MOF-2"],
        set_keys("MOH.YT", &["X"], 1),
    );
    // ... while its change of MOH.YT's keys waits.
    assert!(entity(&chain, "MOH.YT").pending.is_some());
}

#[test]
fn a_second_treasury_change_replaces_the_pending_one() {
    let mut chain = world(D);
    let s = next(&chain);
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.YT", &["YT-A"], 1),
    );
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.YT", &["YT-B"], 1),
    );
    let pending = entity(&chain, "MOH.YT").pending.unwrap();
    assert_eq!(
        pending,
        PendingKeys {
            keys: pks(&["YT-B"]),
            threshold: 1,
            set_at: Height(s + 1),
            effective: Height(s + 1 + D),
        }
    );
    assert_eq!(indexed_due(&chain, "MOH.YT"), vec![Height(s + 1 + D)]);
    // The same change again changes nothing.
    let e = refuse_op(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.YT", &["YT-B"], 1),
    );
    assert!(matches!(e, TxError::NoOp { .. }), "{e:?}");
    while next(&chain) < s + D {
        commit(&mut chain, vec![]);
    }
    // Block S+D, when the first would have taken effect: neither new key.
    refused_now(&mut chain, "MOH.YT", &["YT-A"], "C-1");
    refused_now(&mut chain, "MOH.YT", &["YT-B"], "C-1");
    signs_now(&mut chain, "MOH.YT", &["MOH.YT"], "C-1");
    // Block S+1+D: the second, only.
    assert_eq!(next(&chain), s + 1 + D);
    refused_now(&mut chain, "MOH.YT", &["YT-A"], "C-2");
    refused_now(&mut chain, "MOH.YT", &["MOH.YT"], "C-2");
    signs_now(&mut chain, "MOH.YT", &["YT-B"], "C-2");
    assert!(indexed_due(&chain, "MOH.YT").is_empty());
}

#[test]
fn two_changes_in_one_block_leave_the_second() {
    let mut chain = world(D);
    let s = next(&chain);
    let a = tx_at(&chain, "MOF", 0, &["MOF"], set_keys("MOH.BV", &["A-1"], 1));
    let b = tx_at(
        &chain,
        "MOF",
        1,
        &["MOF"],
        set_keys("MOH.BV", &["B-1", "B-2"], 2),
    );
    commit(&mut chain, vec![a, b]);
    assert_eq!(indexed_due(&chain, "MOH.BV"), vec![Height(s + D)]);
    while next(&chain) < s + D {
        commit(&mut chain, vec![]);
    }
    let bv = entity(&chain, "MOH.BV");
    assert_eq!((bv.keys, bv.threshold), (pks(&["B-1", "B-2"]), 2));
    refused_now(&mut chain, "MOH.BV", &["A-1"], "C-1");
    refused_now(&mut chain, "MOH.BV", &BV[..2], "C-1");
    signs_now(&mut chain, "MOH.BV", &["B-1", "B-2"], "C-1");
}

#[test]
fn with_a_delay_of_one_the_change_signs_from_the_next_block() {
    let mut chain = world(1);
    let set = tx(&chain, "MOF", &["MOF"], set_keys("MOH.YT", &["YT-NEW"], 1));
    let old = tx(&chain, "MOH.YT", &["MOH.YT"], award("C-0", 1));
    commit(&mut chain, vec![set, old]);
    assert_eq!(entity(&chain, "MOH.YT").pending, None);
    refused_now(&mut chain, "MOH.YT", &["MOH.YT"], "C-1");
    signs_now(&mut chain, "MOH.YT", &["YT-NEW"], "C-1");
}

#[test]
fn without_a_delay_the_treasury_rotation_is_immediate() {
    // A genesis with delay 0, and a state without chain parameters at all
    // (`TestChain::new`): the treasury's change is in force for the next
    // transaction of the same block.
    let mut chains = vec![world(0), genesis_chain(None)];
    let register_yt = register("MOH.YT", EntityKind::Observer, None, &["MOH.YT"], 1);
    accept(&mut chains[1], "MOF", &["MOF"], register_yt);
    for chain in &mut chains {
        let set = tx(chain, "MOF", &["MOF"], set_keys("MOH.YT", &["YT-NEW"], 1));
        let cancel_old = tx(chain, "MOH.YT", &["MOH.YT"], cancel_keys("MOH.YT"));
        let (i, e) = chain
            .state
            .execute_block(&[set.clone(), cancel_old])
            .unwrap_err();
        assert_eq!((i, e), (1, foreign("MOH.YT", "MOH.YT", None)));
        commit(chain, vec![set]);
        let yt = entity(chain, "MOH.YT");
        assert_eq!((yt.keys, yt.pending), (pks(&["YT-NEW"]), None));
        let e = refuse_op(chain, "MOH.YT", &["YT-NEW"], cancel_keys("MOH.YT"));
        assert!(matches!(e, TxError::NoOp { .. }), "{e:?}");
    }
    let plain = TestChain::new(1);
    assert!(!plain.state.entries().any(|(k, _)| *k == StateKey::Params));
}

#[test]
fn a_pending_change_does_not_sign_even_beside_the_old_keys() {
    let mut chain = world(D);
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_keys("MOH.BV", &["BV-NEW"], 1),
    );
    // Two old keys suffice; the pending key beside them is foreign.
    let t = tx(
        &chain,
        "MOH.BV",
        &["BV-1", "BV-2", "BV-NEW"],
        award("C-1", 1),
    );
    assert_eq!(refuse(&mut chain, t), foreign("BV-NEW", "MOH.BV", None));
    accept(&mut chain, "MOH.BV", &["BV-1", "BV-2"], award("C-1", 1));
}
