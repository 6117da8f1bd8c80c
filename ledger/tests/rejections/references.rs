//! Refusals over what an operation names: entities, contracts, validators
//! and nodes that must exist, and ids, keys and peer ids that must not be
//! taken already.

use ledger::testkit::{id, key};
use ledger::tx::{EntityKind, Status};
use ledger::{Op, PeerId, TxError};

use crate::helpers::{
    accept_op, add_validator, amend, appropriate, award, cid, pay, register, reject_op, set_status,
    world,
};

pub(crate) fn unknown_entity() -> Vec<TxError> {
    let mut chain = world();
    let e1 = reject_op(&mut chain, "MOF", set_status("GHOST", Status::Suspended));
    assert_eq!(
        e1,
        TxError::UnknownEntity {
            what: "entity",
            id: "GHOST".into()
        }
    );
    assert_eq!(e1.to_string(), "unknown_entity: no entity GHOST");
    let e2 = reject_op(
        &mut chain,
        "MOF",
        register("MOT.A", EntityKind::Department, Some("MOT")),
    );
    assert_eq!(
        e2,
        TxError::UnknownEntity {
            what: "entity",
            id: "MOT".into()
        }
    );
    let e3 = reject_op(&mut chain, "MOF", appropriate("MOT", 1));
    assert_eq!(
        e3,
        TxError::UnknownEntity {
            what: "entity",
            id: "MOT".into()
        }
    );
    let e4 = reject_op(&mut chain, "MOH.BV", award("C-2", "V-9", 1));
    assert_eq!(
        e4,
        TxError::UnknownEntity {
            what: "entity",
            id: "V-9".into()
        }
    );
    let ghost = key("validator-ghost").public_key();
    let e5 = reject_op(
        &mut chain,
        "MOF",
        Op::RemoveValidator {
            consensus_key: ghost,
        },
    );
    assert_eq!(
        e5,
        TxError::UnknownEntity {
            what: "validator",
            id: ghost.to_hex()
        }
    );
    let peer = PeerId::from_ed25519(&key("node-1").public_key()).unwrap();
    let e6 = reject_op(
        &mut chain,
        "MOF",
        Op::RemoveNode {
            peer_id: peer.clone(),
        },
    );
    assert_eq!(
        e6,
        TxError::UnknownEntity {
            what: "node",
            id: peer.to_string()
        }
    );
    let e7 = reject_op(
        &mut chain,
        "MOF",
        Op::RegisterNode {
            peer_id: peer,
            operator: id("GHOST"),
        },
    );
    assert_eq!(
        e7,
        TxError::UnknownEntity {
            what: "entity",
            id: "GHOST".into()
        }
    );
    vec![e1, e2, e3, e4, e5, e6, e7]
}

pub(crate) fn unknown_contract() -> Vec<TxError> {
    let mut chain = world();
    let mut out = Vec::new();
    for op in [
        pay("C-404", 1),
        amend("C-404", 1),
        Op::ConfirmDelivery {
            contract: cid("C-404"),
            milestone: "M1".into(),
            note: String::new(),
        },
    ] {
        let e = reject_op(&mut chain, "MOH.BV", op);
        assert_eq!(
            e,
            TxError::UnknownContract {
                contract: cid("C-404")
            }
        );
        out.push(e);
    }
    assert_eq!(out[0].to_string(), "unknown_contract: no contract C-404");
    out
}

pub(crate) fn duplicate() -> Vec<TxError> {
    let mut chain = world();
    let e1 = reject_op(
        &mut chain,
        "MOF",
        register("MOH", EntityKind::Ministry, None),
    );
    assert_eq!(
        e1,
        TxError::Duplicate {
            what: "entity",
            id: "MOH".into()
        }
    );
    assert_eq!(e1.to_string(), "duplicate: entity MOH already exists");
    let e2 = reject_op(&mut chain, "MOH.BV", award("C-17", "V-2", 1));
    assert_eq!(
        e2,
        TxError::Duplicate {
            what: "contract",
            id: "C-17".into()
        }
    );
    let v0 = key("validator-0").public_key();
    let e3 = reject_op(&mut chain, "MOF", add_validator("validator-0", 1));
    assert_eq!(
        e3,
        TxError::Duplicate {
            what: "validator key",
            id: v0.to_hex()
        }
    );
    // A node may not take a validator's peer id, nor another node's.
    let v0_peer = PeerId::from_ed25519(&v0).unwrap();
    let e4 = reject_op(
        &mut chain,
        "MOF",
        Op::RegisterNode {
            peer_id: v0_peer.clone(),
            operator: id("MOH"),
        },
    );
    assert_eq!(
        e4,
        TxError::Duplicate {
            what: "peer id",
            id: v0_peer.to_string()
        }
    );
    let peer = PeerId::from_ed25519(&key("node-1").public_key()).unwrap();
    let node = Op::RegisterNode {
        peer_id: peer.clone(),
        operator: id("MOH"),
    };
    accept_op(&mut chain, "MOF", node.clone());
    let e5 = reject_op(&mut chain, "MOF", node);
    assert_eq!(
        e5,
        TxError::Duplicate {
            what: "peer id",
            id: peer.to_string()
        }
    );
    vec![e1, e2, e3, e4, e5]
}
