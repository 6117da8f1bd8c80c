//! State proofs from a real store: every entry at every height is proved
//! with the value the chain held then, absences are proved too, and every
//! single change to a proof (its value, its view, its path, its header, its
//! chain) fails with an error that names it.
//!
//! Expectations come from a replay of the fixture's blocks on a fresh
//! genesis state and from the figures the test put on chain, not from the
//! store that built the proofs.

use ledger::proof::{ProofError, StateBundle};
use ledger::state::{StateKey, StateValue};
use ledger::statemap::naive;
use ledger::testkit::id;
use ledger::{Amount, Hash, Height, State, Year};

use crate::helpers::{contract, line, Fixture};

fn state_bundle(f: &Fixture, key: &StateKey, h: u64) -> StateBundle {
    StateBundle::build(&f.store, f.chain.genesis_hash, key, Some(Height(h)))
        .unwrap()
        .expect("a committed height")
}

fn budget_key() -> StateKey {
    StateKey::Budget(id("MOH.BVBM"), Year::new(2026).unwrap(), line())
}

/// The states after each block, replayed from genesis.
fn replay(f: &Fixture) -> Vec<State> {
    let mut state = f.chain.genesis.clone();
    let mut out = Vec::new();
    for block in &f.blocks {
        let outcome = state.execute_block(&block.txs).unwrap();
        state.commit(outcome);
        out.push(state.clone());
    }
    out
}

#[test]
fn every_entry_at_every_height_is_proved_with_the_value_it_had() {
    let f = Fixture::new();
    let states = replay(&f);
    let anchor = f.anchor();
    for (b, state) in states.iter().enumerate() {
        let h = b as u64 + 1;
        // The certified root is the map's root of the replayed state, by
        // the definition.
        let root = naive::root(&ledger::state::hashed_entries(state));
        assert_eq!(f.blocks[b].header.state_root, root, "block {h}");
        for (key, value) in state.entries() {
            let v = state_bundle(&f, key, h)
                .verify(&anchor)
                .unwrap_or_else(|e| panic!("{key:?} at {h}: {e}"));
            assert_eq!(v.value.as_ref(), Some(value), "{key:?} at {h}");
            assert_eq!(v.height, Height(h));
            assert_eq!(v.block_hash, f.blocks[b].hash());
            assert_eq!(v.state_root, root);
        }
    }
}

#[test]
fn a_budget_line_is_proved_with_the_figures_put_on_chain() {
    let f = Fixture::new();
    let anchor = f.anchor();
    let figures = |h: u64| match state_bundle(&f, &budget_key(), h).verify(&anchor) {
        Ok(v) => match v.value {
            Some(StateValue::Budget(b)) => Some(b),
            None => None,
            other => panic!("not figures: {other:?}"),
        },
        Err(e) => panic!("height {h}: {e}"),
    };
    // Nothing before the ministry allocated, in block 3.
    assert_eq!(figures(2), None);
    let b = figures(3).unwrap();
    assert_eq!(
        (b.received, b.committed, b.paid),
        (Amount(8_000_000), Amount(0), Amount(0))
    );
    // Block 4 awards 3,000,000 and 1,000,000; blocks 6 to 8 pay 1,000,000,
    // then 2,500,000, then 500,000.
    assert_eq!(figures(4).unwrap().committed, Amount(4_000_000));
    assert_eq!(figures(5).unwrap().paid, Amount(0));
    assert_eq!(figures(6).unwrap().paid, Amount(1_000_000));
    assert_eq!(figures(7).unwrap().paid, Amount(3_500_000));
    let last = figures(8).unwrap();
    assert_eq!(last.paid, Amount(4_000_000));
    assert_eq!(last.available(), Some(Amount(4_000_000)));
    let bundle = state_bundle(&f, &budget_key(), 8);
    assert_eq!(bundle.entry.view["value"]["available"], "4000000");
    assert_eq!(bundle.entry.view["key"]["entity"], "MOH.BVBM");
}

#[test]
fn an_absence_is_proved_and_a_later_presence_too() {
    let f = Fixture::new();
    let anchor = f.anchor();
    let c1 = StateKey::Contract(contract("C-1"));
    // C-1 is awarded in block 4.
    assert_eq!(
        state_bundle(&f, &c1, 3).verify(&anchor).unwrap().value,
        None
    );
    let v = state_bundle(&f, &c1, 4).verify(&anchor).unwrap();
    assert!(matches!(v.value, Some(StateValue::Contract(c)) if c.amount == Amount(3_000_000)));
    let never = StateKey::Contract(contract("C-9"));
    let bundle = state_bundle(&f, &never, 8);
    assert_eq!(bundle.entry.value, None);
    assert_eq!(bundle.verify(&anchor).unwrap().value, None);
}

#[test]
fn heights_not_committed_and_genesis_have_no_proof() {
    let f = Fixture::new();
    let key = budget_key();
    for h in [0, 9, 100] {
        let built = StateBundle::build(&f.store, f.chain.genesis_hash, &key, Some(Height(h)));
        assert!(built.unwrap().is_none(), "height {h}");
    }
    // Without a height: the last committed block.
    let latest = StateBundle::build(&f.store, f.chain.genesis_hash, &key, None)
        .unwrap()
        .unwrap();
    assert_eq!(latest.block.header.view.height, Height(8));
}

#[test]
fn a_proof_round_trips_through_json_and_is_read_strictly() {
    let f = Fixture::new();
    let bundle = state_bundle(&f, &budget_key(), 7);
    let text = bundle.to_json();
    assert_eq!(StateBundle::decode(text.as_bytes()).unwrap(), bundle);
    let mut extra: serde_json::Value = serde_json::from_str(&text).unwrap();
    extra["entry"]["note"] = "trust me".into();
    let err = StateBundle::decode(extra.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string().starts_with("not a state proof") && err.to_string().contains("`note`"),
        "{err}"
    );
    // Inside the readable view too, which is free-form JSON.
    let mut extra: serde_json::Value = serde_json::from_str(&text).unwrap();
    extra["entry"]["view"]["value"]["note"] = "trust me".into();
    let err = StateBundle::decode(extra.to_string().as_bytes())
        .unwrap()
        .verify(&f.anchor())
        .unwrap_err();
    assert!(
        matches!(&err, ProofError::EntryViewMismatch { field, .. } if field == "value.note"),
        "{err}"
    );
    // A transaction's bundle is not a state proof.
    let tx_bundle = f.bundle(7, 1).to_json();
    let err = StateBundle::decode(tx_bundle.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        ProofError::WrongFormat {
            format: ledger::proof::STATE_BUNDLE_FORMAT,
            found: format!("{:?}", ledger::proof::BUNDLE_FORMAT),
        }
    );
    assert!(err.to_string().starts_with("not a state proof"), "{err}");
    let mut later: serde_json::Value = serde_json::from_str(&text).unwrap();
    later["version"] = 2.into();
    let err = StateBundle::decode(later.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("state proof format version 2 is not supported"),
        "{err}"
    );
}

/// Verifies `bundle` after `change`, which must make it fail.
fn tampered(f: &Fixture, change: impl FnOnce(&mut StateBundle)) -> ProofError {
    let mut bundle = state_bundle(f, &budget_key(), 7);
    change(&mut bundle);
    bundle.verify(&f.anchor()).unwrap_err()
}

#[test]
fn a_changed_figure_fails_wherever_it_is_changed() {
    let f = Fixture::new();
    // In the view only: named by its field.
    let err = tampered(&f, |b| b.entry.view["value"]["paid"] = "1".into());
    assert!(
        matches!(&err, ProofError::EntryViewMismatch { field, .. } if field == "value.paid"),
        "{err}"
    );
    // In the value's bytes, with the view made to match: the path fails.
    let err = tampered(&f, |b| {
        let mut figures = match b.verify(&f.anchor()).unwrap().value {
            Some(StateValue::Budget(x)) => x,
            other => panic!("{other:?}"),
        };
        figures.paid = Amount(1);
        let value = StateValue::Budget(figures);
        b.entry.value = Some(ledger::codec::encode(&value));
        b.entry.view = ledger::proof::entry_view(&budget_key(), Some(&value));
    });
    assert!(
        matches!(
            err,
            ProofError::StatePath {
                height: Height(7),
                ..
            }
        ),
        "{err}"
    );
    // Claimed absent.
    let err = tampered(&f, |b| {
        b.entry.value = None;
        b.entry.view = ledger::proof::entry_view(&budget_key(), None);
    });
    assert!(matches!(err, ProofError::StatePath { .. }), "{err}");
    // Bytes that are not a value of this key's kind.
    let err = tampered(&f, |b| {
        let value = StateValue::Treasury(id("MOF"));
        b.entry.value = Some(ledger::codec::encode(&value));
    });
    assert_eq!(err, ProofError::EntryKindMismatch);
    // Trailing bytes after the value.
    let err = tampered(&f, |b| b.entry.value.as_mut().unwrap().push(0));
    assert!(
        matches!(err, ProofError::EntryUnreadable { what: "value", .. }),
        "{err}"
    );
}

#[test]
fn every_byte_of_the_path_matters() {
    let f = Fixture::new();
    let bundle = state_bundle(&f, &budget_key(), 7);
    let siblings = bundle.entry.proof.siblings.len();
    assert!(siblings > 0, "a path under a root with more than one entry");
    for s in 0..siblings {
        for byte in [0, 31] {
            let mut b = bundle.clone();
            b.entry.proof.siblings[s].0[byte] ^= 1;
            let err = b.verify(&f.anchor()).unwrap_err();
            assert!(
                matches!(err, ProofError::StatePath { .. }),
                "sibling {s}: {err}"
            );
        }
    }
    let mut b = bundle.clone();
    b.entry.proof.leaf.as_mut().unwrap().1 .0[5] ^= 1;
    assert!(matches!(
        b.verify(&f.anchor()).unwrap_err(),
        ProofError::StatePath { .. }
    ));
}

#[test]
fn a_proof_of_another_block_chain_or_genesis_fails() {
    let f = Fixture::new();
    // The header's state root changed: the header no longer hashes to its
    // certificate.
    let err = tampered(&f, |b| {
        let mut header = b.block.header.view.clone();
        header.state_root = Hash::digest(b"another state");
        b.block.header = ledger::proof::BundleHeader::new(&header);
    });
    assert!(matches!(err, ProofError::BlockHashMismatch { .. }), "{err}");
    // The path of height 7 under the header of height 8.
    let later = state_bundle(&f, &budget_key(), 8);
    let err = tampered(&f, |b| b.block = later.block.clone());
    assert!(
        matches!(
            err,
            ProofError::StatePath {
                height: Height(8),
                ..
            }
        ),
        "{err}"
    );
    let err = tampered(&f, |b| b.chain_id = "minhbach-other".into());
    assert!(matches!(err, ProofError::WrongChain { .. }), "{err}");
    let err = tampered(&f, |b| b.genesis_hash = Hash::digest(b"other genesis"));
    assert!(matches!(err, ProofError::WrongGenesis { .. }), "{err}");
}
