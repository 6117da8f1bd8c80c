//! Tampering with a block's certificate: one for another block or height,
//! one without more than 2/3 of the power, one signed from outside the set.

use ledger::block::{CertError, Vote, VoteType};
use ledger::proof::ProofError;
use ledger::testkit::{key, CHAIN_ID};
use ledger::Height;

use crate::helpers::{fails, pay_bundle, validator, Fixture};

#[test]
fn a_certificate_for_another_block_or_height_is_refused() {
    // Block 6's certificate under block 7's header: valid signatures, by
    // the right set, for another block.
    let f = Fixture::new();
    let other = f.store.cert(Height(6)).unwrap().unwrap();
    let e = fails(&f, pay_bundle(&f), |b| b.block.certificate = other);
    assert_eq!(
        e,
        ProofError::BlockHashMismatch {
            height: Height(7),
            header_hash: f.blocks[6].hash(),
            certified: f.blocks[5].hash()
        }
    );
    // Block 7's certificate, saying another height.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.height = Height(8)
    });
    assert_eq!(
        e,
        ProofError::Certificate {
            height: Height(7),
            reason: CertError::WrongTarget {
                what: "height",
                expected: "7".into(),
                got: "8".into()
            }
        }
    );
}

#[test]
fn a_certificate_without_enough_power_is_refused() {
    let f = Fixture::new();
    // set(7) has four members of power 10: three still make more than 2/3.
    let mut bundle = pay_bundle(&f);
    bundle.block.certificate.precommits.pop();
    f.verify(&bundle).unwrap();
    bundle.block.certificate.precommits.pop();
    let e = f.verify(&bundle).unwrap_err();
    assert_eq!(
        e,
        ProofError::Certificate {
            height: Height(7),
            reason: CertError::InsufficientPower {
                power: 20,
                total: 40
            }
        }
    );
    assert_eq!(
        e.to_string(),
        "certificate of block 7: only 20 of 40 voting power signed; more than 2/3 is needed"
    );
    // The same in a change's certificate: set(4) has four members of 10.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes[0]
            .certificate
            .precommits
            .truncate(2);
    });
    assert!(
        e.to_string()
            .starts_with("certificate of block 4: only 20 of 40 voting power signed"),
        "{e}"
    );
}

#[test]
fn a_signature_from_outside_the_set_is_refused() {
    let f = Fixture::new();
    let hash = f.blocks[6].hash();
    let precommit = |label: &str| {
        Vote::sign(
            &key(label),
            CHAIN_ID,
            VoteType::Precommit,
            Height(7),
            0,
            Some(hash),
        )
    };
    // validator-1 was removed in block 5, so it is not in set(7).
    let removed = precommit("validator-1");
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.precommits.push(removed.clone());
    });
    assert_eq!(
        e.to_string(),
        format!(
            "certificate of block 7: signer {} is not a validator of that height",
            validator(1).consensus_key
        )
    );
    // An outsider's signature in place of a member's.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.precommits[0] = precommit("outsider");
    });
    assert!(
        matches!(
            e,
            ProofError::Certificate {
                reason: CertError::UnknownSigner { .. },
                ..
            }
        ),
        "{e}"
    );
    // A member's key with a signature that is not its own.
    let e = fails(&f, pay_bundle(&f), |b| {
        let first = &mut b.block.certificate.precommits[0];
        first.signature = precommit("outsider").signature;
    });
    assert!(
        matches!(
            e,
            ProofError::Certificate {
                reason: CertError::BadSignature { .. },
                ..
            }
        ),
        "{e}"
    );
}
