//! Tampering: each case writes the same 6 blocks, changes one stored record
//! (a block, a certificate, a state entry, an index entry, the metadata) and
//! expects verification to fail at a given height, naming it, as an error
//! and never a panic.

use ledger::block::Block;
use ledger::codec;
use ledger::state::{BudgetFigures, StateKey, StateValue};
use ledger::store::StoreError;
use ledger::testkit::id;
use ledger::verify::VerifyError;
use ledger::{Amount, Height, Op};

use crate::helpers::{line, year, Fixture};

const TAMPER_BLOCKS: u64 = 6;

/// The height and description of a verification failure, and whether it
/// came from an unreadable record (`Corrupt`) rather than a bad one.
fn failure(err: &VerifyError) -> (Height, bool, String) {
    let corrupt = matches!(err, VerifyError::Store(StoreError::Corrupt { .. }));
    assert!(
        corrupt || matches!(err, VerifyError::Bad { .. }),
        "unexpected error kind: {err:?}"
    );
    (err.height(), corrupt, err.to_string())
}

fn tampered(change: impl FnOnce(&Fixture)) -> (Height, bool, String) {
    let mut f = Fixture::with_blocks(TAMPER_BLOCKS);
    assert!(f.verify().is_ok(), "the untampered store verifies");
    change(&f);
    f.reopen();
    let err = f.verify().expect_err("verification must fail");
    failure(&err)
}

fn put_block(f: &Fixture, h: u64, block: &Block) {
    f.store()
        .tamper("blocks", &h.to_be_bytes(), &block.encode())
        .unwrap();
}

fn raise_first_pay(block: &mut Block) {
    for tx in &mut block.txs {
        if let Op::Pay { amount, .. } = &mut tx.body.op {
            amount.0 += 1;
            return;
        }
    }
    panic!("block {} has no payment", block.header.height);
}

#[test]
fn a_changed_payment_is_caught_at_its_block() {
    for h in [5, TAMPER_BLOCKS] {
        let (at, corrupt, what) = tampered(|f| {
            let mut block = f.block(h).clone();
            raise_first_pay(&mut block);
            put_block(f, h, &block);
        });
        assert_eq!((at, corrupt), (Height(h), false), "{what}");
        assert!(what.contains("txs_root"), "{what}");
    }
}

#[test]
fn a_changed_payment_with_a_matching_header_is_caught_at_its_block() {
    // The forger also recomputes the transactions root, so the block is
    // self-consistent; the signature and the certificate still give it away.
    let (at, corrupt, what) = tampered(|f| {
        let mut block = f.block(5).clone();
        raise_first_pay(&mut block);
        block.header.txs_root = ledger::merkle::root_from_leaf_hashes(&block.tx_leaf_hashes());
        assert!(block.check_contents().is_ok());
        put_block(f, 5, &block);
    });
    assert_eq!((at, corrupt), (Height(5), false), "{what}");
}

#[test]
fn a_certificate_without_two_thirds_is_caught_at_its_block() {
    let (at, corrupt, what) = tampered(|f| {
        let mut cert = f.blocks[3].1.clone();
        cert.precommits.truncate(2);
        f.store()
            .tamper("certs", &4u64.to_be_bytes(), &cert.encode())
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
    assert!(
        what.contains("commit certificate") && what.contains("2/3"),
        "{what}"
    );
}

#[test]
fn a_certificate_for_another_block_is_caught() {
    let (at, corrupt, what) = tampered(|f| {
        let cert = f.blocks[2].1.encode();
        f.store()
            .tamper("certs", &4u64.to_be_bytes(), &cert)
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
}

#[test]
fn a_block_moved_to_another_height_is_caught() {
    let (at, corrupt, what) = tampered(|f| put_block(f, 4, f.block(5)));
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
}

#[test]
fn a_changed_state_entry_is_caught_at_the_last_height() {
    let last = Height(TAMPER_BLOCKS);
    let dept = id("MOH.BVBM");
    let key = codec::encode(&StateKey::Budget(dept.clone(), year(), line()));

    let (at, corrupt, what) = tampered(|f| {
        let mut figures: BudgetFigures = f.chain.state.budget(&dept, year(), &line());
        figures.paid.0 += 1;
        let value = codec::encode(&StateValue::Budget(figures));
        f.store().tamper("state", &key, &value).unwrap();
    });
    assert_eq!((at, corrupt), (last, false), "{what}");
    assert!(what.contains("stored state"), "{what}");
}

#[test]
fn an_added_state_entry_is_caught_at_the_last_height() {
    let (at, corrupt, what) = tampered(|f| {
        let key = StateKey::Budget(id("V-99"), year(), line());
        let value = StateValue::Budget(BudgetFigures {
            received: Amount(1_000_000_000),
            ..BudgetFigures::default()
        });
        f.store()
            .tamper("state", &codec::encode(&key), &codec::encode(&value))
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS), false), "{what}");
}

#[test]
fn a_removed_state_entry_is_caught_at_the_last_height() {
    let dept = id("MOH.BVBM");
    let key = codec::encode(&StateKey::Budget(dept, year(), line()));
    let (at, corrupt, what) = tampered(|f| f.store().tamper_remove("state", &key).unwrap());
    assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS), false), "{what}");
    assert!(what.contains("stored state differs"), "{what}");
}

#[test]
fn an_unreadable_state_entry_is_corrupt_at_the_last_height() {
    let dept = id("MOH.BVBM");
    let key = codec::encode(&StateKey::Budget(dept.clone(), year(), line()));
    let wrong_kind = codec::encode(&StateValue::Treasury(dept));
    for value in [vec![0xff; 7], vec![], wrong_kind] {
        let (at, corrupt, what) = tampered(|f| f.store().tamper("state", &key, &value).unwrap());
        assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS), true), "{what}");
    }
}

#[test]
fn garbage_in_a_block_is_corrupt_at_its_height_never_a_panic() {
    let h = 4u64;
    let good = {
        let f = Fixture::with_blocks(h);
        f.block(h).encode()
    };
    let mut trailing = good.clone();
    trailing.push(0);
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 0xff;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("one byte", vec![7]),
        (
            "random",
            (0..300u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("a huge length prefix", vec![0xff; 16]),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("half", good[..good.len() / 2].to_vec()),
        ("a trailing byte", trailing),
        ("a flipped byte", flipped),
    ];
    for (name, bytes) in cases {
        let (at, corrupt, what) = tampered(|f| {
            f.store()
                .tamper("blocks", &h.to_be_bytes(), &bytes)
                .unwrap();
            match f.store().block(Height(h)) {
                Err(StoreError::Corrupt { height, .. }) => assert_eq!(height, Height(h)),
                // A flipped byte can still decode; verification must catch it.
                Ok(Some(b)) => assert_ne!(b, *f.block(h), "{name}: the block is unchanged"),
                other => panic!("{name}: reading the block gave {other:?}"),
            }
        });
        assert_eq!(at, Height(h), "{name}: {what}");
        if name != "a flipped byte" {
            assert!(corrupt, "{name}: {what}");
        }
    }
}

#[test]
fn garbage_in_a_certificate_is_corrupt_at_its_height() {
    let (at, corrupt, what) = tampered(|f| {
        f.store()
            .tamper("certs", &3u64.to_be_bytes(), b"not a certificate")
            .unwrap();
        assert!(matches!(
            f.store().cert(Height(3)),
            Err(StoreError::Corrupt {
                height: Height(3),
                ..
            })
        ));
    });
    assert_eq!((at, corrupt), (Height(3), true), "{what}");
}

#[test]
fn a_wrong_index_entry_is_caught_at_its_block() {
    let (at, corrupt, what) = tampered(|f| {
        let tx = &f.block(4).txs[1];
        let mut wrong = [0u8; 12];
        wrong[..8].copy_from_slice(&4u64.to_be_bytes());
        wrong[8..].copy_from_slice(&0u32.to_be_bytes());
        f.store().tamper("txindex", &tx.hash().0, &wrong).unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
}

#[test]
fn an_unreadable_index_entry_is_caught_at_its_block() {
    let (at, corrupt, what) = tampered(|f| {
        let tx = &f.block(4).txs[1];
        f.store().tamper("txindex", &tx.hash().0, b"short").unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), true), "{what}");
}

#[test]
fn metadata_claiming_a_missing_block_is_caught() {
    let (at, corrupt, what) = tampered(|f| {
        f.store()
            .tamper("meta", b"height", &(TAMPER_BLOCKS + 1).to_be_bytes())
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS + 1), false), "{what}");
    assert!(what.contains("block missing"), "{what}");
}

#[test]
fn an_invented_validator_set_change_in_the_index_is_caught() {
    let (at, _, what) = tampered(|f| {
        assert_eq!(
            f.store().set_change_heights(Height(u64::MAX)).unwrap(),
            vec![]
        );
        let mut key = b"set_change/".to_vec();
        key.extend_from_slice(&2u64.to_be_bytes());
        f.store().tamper("meta", &key, &[]).unwrap();
        assert_eq!(
            f.store().set_change_heights(Height(u64::MAX)).unwrap(),
            vec![Height(2)]
        );
    });
    assert_eq!(at, Height(TAMPER_BLOCKS));
    assert!(what.contains("index of validator-set changes"), "{what}");
}

#[test]
fn a_broken_state_map_is_corrupt_on_open_never_a_panic() {
    use ledger::statemap::tree::{Node, NodePos, NodeRead};
    use ledger::statemap::EMPTY;
    // A node under the root rewritten where it sits: its parent's hash no
    // longer matches, so no path through it could be trusted by execution.
    let mut f = Fixture::with_blocks(TAMPER_BLOCKS);
    let tree = f.chain.state.tree();
    let Some(Node::Internal { left, .. }) = tree.node(&NodePos::root()) else {
        panic!("the root of a tree of several entries is internal");
    };
    assert_ne!(left, EMPTY, "the workload's keys fall on both sides");
    let child = NodePos::on_path(1, &EMPTY);
    let mut key = child.depth.to_be_bytes().to_vec();
    key.extend_from_slice(&child.path.0);
    let forged = Node::Leaf {
        key: ledger::Hash::digest(b"not the child"),
        value: ledger::Hash::digest(b"any value"),
    };
    f.store()
        .tamper("statemap", &key, &codec::encode(&forged))
        .unwrap();
    f.reopen();
    let err = f
        .store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .expect_err("a broken tree is refused");
    assert!(
        matches!(&err, StoreError::Corrupt { what, .. } if what.contains("state map is broken at depth 1")),
        "{err}"
    );
    // Verification, which holds the stored entries against re-execution
    // without loading the state, checks the stored map too.
    let (at, corrupt, what) = failure(&f.verify().expect_err("a broken tree fails verification"));
    assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS), true), "{what}");
    assert!(what.contains("state map is broken at depth 1"), "{what}");
}
