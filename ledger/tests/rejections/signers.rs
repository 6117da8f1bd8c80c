//! Refusals over who signs: a signer that is not registered, an entity that
//! is suspended, and a signer that may not perform the operation.

use ledger::testkit::{id, key, CHAIN_ID};
use ledger::tx::{EntityKind, Status};
use ledger::{Amount, Op, TxError};

use crate::helpers::{
    accept_op, add_validator, allocate, appropriate, award, cid, line, pay, register, reject,
    reject_op, set_status, signed, world, year,
};

pub(crate) fn unknown_signer() -> Vec<TxError> {
    let mut chain = world();
    let tx = signed(CHAIN_ID, "NOBODY", 1, "NOBODY", appropriate("MOH", 1));
    let e = reject(&mut chain, tx);
    assert_eq!(
        e,
        TxError::UnknownSigner {
            signer: id("NOBODY")
        }
    );
    assert_eq!(e.to_string(), "unknown_signer: no entity NOBODY");
    vec![e]
}

pub(crate) fn inactive() -> Vec<TxError> {
    let mut chain = world();
    accept_op(&mut chain, "MOF", set_status("MOH.BV", Status::Suspended));
    // A suspended signer signs nothing, not even a delivery note.
    let delivery = Op::ConfirmDelivery {
        contract: cid("C-17"),
        milestone: "M1".into(),
        note: String::new(),
    };
    let e1 = reject_op(&mut chain, "MOH.BV", delivery.clone());
    assert_eq!(
        e1,
        TxError::Inactive {
            entity: id("MOH.BV")
        }
    );
    assert_eq!(e1.to_string(), "inactive: MOH.BV is suspended");
    // Nor can it receive an allocation.
    let e2 = reject_op(&mut chain, "MOH", allocate("MOH.BV", 1));
    assert_eq!(
        e2,
        TxError::Inactive {
            entity: id("MOH.BV")
        }
    );
    accept_op(&mut chain, "MOF", set_status("MOH.BV", Status::Active));
    accept_op(&mut chain, "MOH.BV", delivery);

    // A suspended vendor can be neither awarded nor paid.
    accept_op(&mut chain, "MOF", set_status("V-1", Status::Suspended));
    let e3 = reject_op(&mut chain, "MOH.BV", award("C-18", "V-1", 1));
    assert_eq!(e3, TxError::Inactive { entity: id("V-1") });
    let e4 = reject_op(&mut chain, "MOH.BV", pay("C-17", 1));
    assert_eq!(e4, TxError::Inactive { entity: id("V-1") });
    // A suspended ministry receives no appropriation.
    accept_op(&mut chain, "MOF", set_status("MOET", Status::Suspended));
    let e5 = reject_op(&mut chain, "MOF", appropriate("MOET", 1));
    assert_eq!(e5, TxError::Inactive { entity: id("MOET") });
    vec![e1, e2, e3, e4, e5]
}

pub(crate) fn not_authorized() -> Vec<TxError> {
    let mut chain = world();
    let e1 = reject_op(
        &mut chain,
        "MOH",
        register("MOT", EntityKind::Ministry, None),
    );
    assert_eq!(
        e1,
        TxError::NotAuthorized {
            signer: id("MOH"),
            action: "register-entity".into()
        }
    );
    assert_eq!(
        e1.to_string(),
        "not_authorized: MOH may not register-entity"
    );
    // MOH allocating to MOET's department.
    let e2 = reject_op(&mut chain, "MOH", allocate("MOET.DH", 1));
    assert!(
        matches!(&e2, TxError::NotAuthorized { signer, action } if *signer == id("MOH") && action.contains("MOET.DH")),
        "{e2:?}"
    );
    // Another department paying on MOH.BV's contract.
    let e3 = reject_op(&mut chain, "MOET.DH", pay("C-17", 1));
    assert!(
        matches!(&e3, TxError::NotAuthorized { signer, action } if *signer == id("MOET.DH") && action.contains("C-17")),
        "{e3:?}"
    );
    // A ministry awarding; a vendor returning funds; one entity rotating
    // another's key; a department adding a validator.
    let e4 = reject_op(&mut chain, "MOH", award("C-2", "V-1", 1));
    assert!(matches!(e4, TxError::NotAuthorized { .. }), "{e4:?}");
    let e5 = reject_op(
        &mut chain,
        "V-1",
        Op::ReturnFunds {
            year: year(),
            line: line(),
            amount: Amount(1),
        },
    );
    assert!(matches!(e5, TxError::NotAuthorized { .. }), "{e5:?}");
    let e6 = reject_op(
        &mut chain,
        "MOH",
        Op::RotateKey {
            entity: id("MOET"),
            public_key: key("X").public_key(),
        },
    );
    assert!(matches!(e6, TxError::NotAuthorized { .. }), "{e6:?}");
    let e7 = reject_op(&mut chain, "MOH.BV", add_validator("validator-new", 1));
    assert!(matches!(e7, TxError::NotAuthorized { .. }), "{e7:?}");
    vec![e1, e2, e3, e4, e5, e6, e7]
}
