//! A transaction's bundle proves the keys its signer held when the block
//! began: the signer's entity after the block before, proved against the
//! state root of the header the block names as its previous one.

use ledger::proof::{BundleEntry, BundleHeader, ProofError};
use ledger::state::StateKey;
use ledger::testkit::{id, key};
use ledger::Height;

use crate::helpers::{pay_bundle, Fixture, PAY_AT};

#[test]
fn a_bundle_proves_the_keys_the_signer_held_when_its_block_began() {
    let f = Fixture::new();
    let v = f.verify(&pay_bundle(&f)).unwrap();
    let k = v.signer_keys.expect("block 7 has a block before it");
    assert_eq!(k.after, Height(PAY_AT.0 - 1));
    assert_eq!(k.keys, vec![key("MOH.BVBM").public_key()]);
    assert_eq!(k.threshold, 1);
    assert_eq!(k.signed_by_held, 1);
    // Block 1's transactions: the state before is the genesis's, which no
    // header carries.
    let first = f.bundle(1, 0);
    assert!(first.signer.is_none());
    assert_eq!(f.verify(&first).unwrap().signer_keys, None);
}

#[test]
fn a_signer_proof_from_elsewhere_fails() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    let signer = bundle.signer.clone().unwrap();

    // The header of another block than the one before.
    let mut b = bundle.clone();
    b.signer.as_mut().unwrap().header = BundleHeader::new(&f.blocks[4].header);
    let err = f.verify(&b).unwrap_err();
    assert!(matches!(err, ProofError::SignerHeader { .. }), "{err}");

    // Another entity's entry, validly proved.
    let ministry = StateKey::Entity(id("MOH"));
    let other = f.store.entry_proof(&ministry, Height(6)).unwrap().unwrap();
    let mut b = bundle.clone();
    b.signer.as_mut().unwrap().entry =
        BundleEntry::new(&ministry, other.value.as_ref(), other.proof);
    let err = f.verify(&b).unwrap_err();
    assert!(matches!(err, ProofError::SignerOther { .. }), "{err}");

    // The signer's entry with another key put in, view and bytes alike.
    let mut entity = match &other.value {
        Some(ledger::state::StateValue::Entity(e)) => e.clone(),
        v => panic!("{v:?}"),
    };
    entity.id = id("MOH.BVBM");
    let forged = ledger::state::StateValue::Entity(entity);
    let mut b = bundle.clone();
    b.signer.as_mut().unwrap().entry = BundleEntry::new(
        &StateKey::Entity(id("MOH.BVBM")),
        Some(&forged),
        signer.entry.proof.clone(),
    );
    let err = f.verify(&b).unwrap_err();
    assert!(
        matches!(
            err,
            ProofError::StatePath {
                height: Height(6),
                ..
            }
        ),
        "{err}"
    );

    // A key changed in the view only.
    let mut b = bundle.clone();
    b.signer.as_mut().unwrap().entry.view["value"]["threshold"] = 2.into();
    let err = f.verify(&b).unwrap_err();
    assert!(
        matches!(&err, ProofError::EntryViewMismatch { field, .. } if field == "value.threshold"),
        "{err}"
    );
}
