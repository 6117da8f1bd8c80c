//! The path of trust from the genesis file to the block's validator set:
//! block 1 after another genesis, another genesis file, and validator-set
//! changes forged, left out or out of order.

use ledger::block::CertError;
use ledger::proof::{ProofError, TrustAnchor};
use ledger::testkit::{key, CHAIN_ID};
use ledger::{Block, Hash, Height, PeerId, Validator, ValidatorSet};

use crate::helpers::{fails, pay_bundle, validator, Fixture, CHANGES_AT};

#[test]
fn a_first_block_that_does_not_follow_the_genesis_is_refused() {
    let f = Fixture::new();
    let e = fails(&f, f.bundle(1, 0), |b| {
        let mut header = b.block.header.view.clone();
        header.prev_hash = Hash::digest(b"another genesis");
        b.block.header = ledger::proof::BundleHeader::new(&header);
    });
    assert_eq!(
        e,
        ProofError::NotAfterGenesis {
            prev_hash: Hash::digest(b"another genesis"),
            genesis: f.chain.genesis_hash
        }
    );
}

#[test]
fn a_wrong_genesis_file_is_refused() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    let other_hash = TrustAnchor::new(
        CHAIN_ID,
        Hash::digest(b"another genesis"),
        f.chain.genesis.validators().clone(),
    );
    assert!(matches!(
        bundle.verify(&other_hash),
        Err(ProofError::WrongGenesis { .. })
    ));
    let other_chain = TrustAnchor::new(
        "minhbach-other",
        f.chain.genesis_hash,
        f.chain.genesis.validators().clone(),
    );
    assert!(matches!(
        bundle.verify(&other_chain),
        Err(ProofError::WrongChain { .. })
    ));
    // Same chain id and hash but other validators: the genesis hash is only
    // a label, the certificates are what bind the bundle to set(1).
    let others = ValidatorSet::new((10..14).map(validator).collect()).unwrap();
    let other_set = TrustAnchor::new(CHAIN_ID, f.chain.genesis_hash, others.clone());
    match bundle.verify(&other_set) {
        Err(ProofError::ValidatorsHash {
            height, trusted, ..
        }) => {
            assert_eq!(height, Height(CHANGES_AT[0]));
            assert_eq!(trusted, others.hash());
        }
        other => panic!("{other:?}"),
    }
    // Before any change, the block itself is checked against set(1).
    match f.bundle(1, 0).verify(&other_set) {
        Err(ProofError::ValidatorsHash { height, .. }) => assert_eq!(height, Height(1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_forged_or_missing_set_change_is_refused() {
    let f = Fixture::new();
    // A set the header did not commit to, with an outsider in it.
    let forged = ValidatorSet::new(vec![validator(0), validator(2), validator(3), {
        let k = key("outsider").public_key();
        Validator {
            name: "outsider".into(),
            consensus_key: k,
            peer_id: PeerId::from_ed25519(&k).unwrap(),
            power: 10,
        }
    }])
    .unwrap();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes[1].next_validators = forged.clone();
    });
    assert!(
        matches!(e, ProofError::NextSetMismatch { height, .. } if height == Height(6)),
        "{e}"
    );
    // Dropping the last change: block 7 names a set the walk never reached.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes.pop();
    });
    assert!(
        matches!(e, ProofError::ValidatorsHash { height, .. } if height == Height(7)),
        "{e}"
    );
    // Dropping the first: block 6 is checked against set(1).
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes.remove(0);
    });
    assert!(
        matches!(e, ProofError::ValidatorsHash { height, .. } if height == Height(6)),
        "{e}"
    );
    // Swapped: the first listed, block 6, is checked against set(1).
    let e = fails(&f, pay_bundle(&f), |b| b.validator_set_changes.swap(0, 1));
    assert!(
        matches!(e, ProofError::ValidatorsHash { height, .. } if height == Height(6)),
        "{e}"
    );
    // Listed twice.
    let e = fails(&f, pay_bundle(&f), |b| {
        let first = b.validator_set_changes[0].clone();
        b.validator_set_changes.insert(1, first);
    });
    assert!(
        matches!(e, ProofError::ChangeOutOfOrder { height, after, .. }
            if height == Height(4) && after == Height(4)),
        "{e}"
    );
    // A certified block that changes nothing, listed as a change.
    let e = fails(&f, pay_bundle(&f), |b| {
        let set5 = b.validator_set_changes[0].next_validators.clone();
        let still = ledger::proof::SetChange {
            header: ledger::proof::BundleHeader::new(&f.blocks[4].header),
            certificate: f.store.cert(Height(5)).unwrap().unwrap(),
            next_validators: set5,
        };
        b.validator_set_changes.insert(1, still);
    });
    assert_eq!(e, ProofError::NotAChange { height: Height(5) });
    // A change at or after the transaction's block is not part of its proof.
    let late = f.bundle(8, 0).validator_set_changes;
    assert_eq!(late.len(), 2);
    let e = fails(&f, f.bundle(5, 0), |b| {
        b.validator_set_changes = late.clone();
    });
    assert!(
        matches!(e, ProofError::ChangeOutOfOrder { height, target, .. }
            if height == Height(6) && target == Height(5)),
        "{e}"
    );
    // A whole change made up by outsiders: a header that names set(4) and
    // then their own set, with their own certificate.
    let e = fails(&f, pay_bundle(&f), |b| {
        let mut header = b.validator_set_changes[0].header.view.clone();
        header.next_validators_hash = forged.hash();
        let outsiders: Vec<_> = (0..4).map(|i| key(&format!("outsider-{i}"))).collect();
        let block = Block {
            header: header.clone(),
            txs: vec![],
            evidence: vec![],
            last_commit: None,
        };
        let cert = ledger::builder::sign_commit(&block, 0, &outsiders.iter().collect::<Vec<_>>());
        b.validator_set_changes[0] = ledger::proof::SetChange {
            header: ledger::proof::BundleHeader::new(&header),
            certificate: cert,
            next_validators: forged.clone(),
        };
    });
    assert!(
        matches!(
            e,
            ProofError::Certificate {
                height: Height(4),
                reason: CertError::UnknownSigner { .. }
            }
        ),
        "{e}"
    );
}
