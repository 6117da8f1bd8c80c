//! Refusals judged by what an operation would change: an operation that
//! changes nothing, and validator-set changes that break the set's rules,
//! with the set(H+2) rotation checked on the way.

use ledger::testkit::{id, key, TestChain};
use ledger::tx::Status;
use ledger::{Amount, Op, TxError, ValidatorSet};

use crate::helpers::{
    accept_op, add_validator, amend, cid, reject_op, remove_validator, set_status, validator,
    world, AWARDED,
};

pub(crate) fn no_op() -> Vec<TxError> {
    let mut chain = world();
    // A key rotated to the key already held, by the entity and by the
    // treasury.
    let mut out = Vec::new();
    for signer in ["MOH", "MOF"] {
        let same = Op::RotateKey {
            entity: id("MOH"),
            public_key: key("MOH").public_key(),
        };
        let e = reject_op(&mut chain, signer, same);
        assert_eq!(
            e,
            TxError::NoOp {
                op: "rotate-key",
                reason: "MOH already holds these keys and threshold".into(),
            }
        );
        out.push(e);
    }
    assert_eq!(
        out[0].to_string(),
        "no_op: rotate-key changes nothing: MOH already holds these keys and threshold"
    );
    // A status set to the one held, both ways.
    let e = reject_op(&mut chain, "MOF", set_status("V-2", Status::Active));
    assert_eq!(
        e,
        TxError::NoOp {
            op: "set-status",
            reason: "V-2 is already active".into()
        }
    );
    out.push(e);
    accept_op(&mut chain, "MOF", set_status("V-2", Status::Suspended));
    let e = reject_op(&mut chain, "MOF", set_status("V-2", Status::Suspended));
    assert_eq!(
        e.to_string(),
        "no_op: set-status changes nothing: V-2 is already suspended"
    );
    out.push(e);
    // A contract amended to its own amount, with no document or the one
    // it has.
    let e = reject_op(&mut chain, "MOH.BV", amend("C-17", AWARDED));
    assert_eq!(
        e.to_string(),
        "no_op: amend-contract changes nothing: C-17 is already 8,000,000, with no new document"
    );
    out.push(e);
    let document = |amount: u64, doc: &[u8]| Op::AmendContract {
        contract: cid("C-17"),
        amount: Amount(amount),
        reason: "phụ lục".into(),
        document_hash: Some(ledger::Hash::digest(doc)),
    };
    // The same amount with a new document records the document.
    accept_op(&mut chain, "MOH.BV", document(AWARDED, b"phu luc 2"));
    let c = chain.state.contract(&cid("C-17")).unwrap();
    assert_eq!(c.document_hash, Some(ledger::Hash::digest(b"phu luc 2")));
    let e = reject_op(&mut chain, "MOH.BV", document(AWARDED, b"phu luc 2"));
    assert!(
        matches!(
            e,
            TxError::NoOp {
                op: "amend-contract",
                ..
            }
        ),
        "{e:?}"
    );
    out.push(e);
    // Each refusal left everything as it was: the next real change works.
    accept_op(
        &mut chain,
        "MOH",
        Op::RotateKey {
            entity: id("MOH"),
            public_key: key("MOH-2").public_key(),
        },
    );
    out
}

pub(crate) fn validator_set() -> Vec<TxError> {
    // The last validator cannot go.
    let mut chain = TestChain::new(1);
    let e1 = reject_op(&mut chain, "MOF", remove_validator("validator-0"));
    assert!(
        matches!(&e1, TxError::ValidatorSet { reason } if reason.contains("empty")),
        "{e1:?}"
    );

    // From one validator of power 10, adding power 10 leaves only half
    // the new total carried over; power 4 leaves 10/14 > 2/3.
    let e2 = reject_op(&mut chain, "MOF", add_validator("validator-new", 10));
    let TxError::ValidatorSet { reason } = &e2 else {
        panic!("{e2:?}");
    };
    assert!(
        reason.contains("10") && reason.contains("20"),
        "the reason names the carried and total power: {reason}"
    );
    // Two additions of 4 in one block: each alone would pass, together
    // only 10 of 18 carries over.
    let a = chain.tx("MOF", 0, add_validator("validator-new", 4));
    let b = chain.tx("MOF", 1, add_validator("validator-new-2", 4));
    let (index, e3) = chain.commit(vec![a, b]).unwrap_err();
    assert_eq!(index, 1);
    assert!(matches!(e3, TxError::ValidatorSet { .. }), "{e3:?}");

    // Rotation: the change committed in block H decides from H+2.
    let genesis = ValidatorSet::new(vec![validator("validator-0", 10)]).unwrap();
    let grown = ValidatorSet::new(vec![
        validator("validator-0", 10),
        validator("validator-new", 4),
    ])
    .unwrap();
    assert_eq!(chain.state.validators(), &genesis);
    accept_op(&mut chain, "MOF", add_validator("validator-new", 4));
    let h = chain.state.height().0;
    // After block H: set(H+1) unchanged, set(H+2) grown.
    assert_eq!(chain.state.validators(), &genesis);
    assert_eq!(chain.state.next_validators(), &grown);
    let block = chain.commit(vec![]).unwrap();
    assert_eq!(block.header.height.0, h + 1);
    assert_eq!(block.header.validators_hash, genesis.hash());
    assert_eq!(block.header.next_validators_hash, grown.hash());
    assert_eq!(chain.state.validators(), &grown);
    let block = chain.commit(vec![]).unwrap();
    assert_eq!(block.header.height.0, h + 2);
    assert_eq!(block.header.validators_hash, grown.hash());
    assert_eq!(block.header.next_validators_hash, grown.hash());

    // Removals: from four validators of 10 one may go (30 of 40 carry
    // over), not two at once (20 of 40), and after one has gone, the next
    // removal is checked against set(H+1) = 30: 20 of 30 is not enough.
    let mut chain = TestChain::new(4);
    let a = chain.tx("MOF", 0, remove_validator("validator-0"));
    let b = chain.tx("MOF", 1, remove_validator("validator-1"));
    let (index, e4) = chain.commit(vec![a, b]).unwrap_err();
    assert_eq!(index, 1);
    assert!(matches!(e4, TxError::ValidatorSet { .. }), "{e4:?}");
    accept_op(&mut chain, "MOF", remove_validator("validator-0"));
    let e5 = reject_op(&mut chain, "MOF", remove_validator("validator-1"));
    assert!(
        matches!(&e5, TxError::ValidatorSet { reason } if reason.contains("20") && reason.contains("30")),
        "{e5:?}"
    );
    let three = ValidatorSet::new(
        (1..4)
            .map(|i| validator(&format!("validator-{i}"), 10))
            .collect(),
    )
    .unwrap();
    assert_eq!(chain.state.validators().total_power(), 40);
    assert_eq!(chain.state.next_validators(), &three);
    chain.commit(vec![]).unwrap();
    assert_eq!(chain.state.validators(), &three);
    vec![e1, e2, e3, e4, e5]
}
