//! Refusals of what an operation says: keys that are not usable curve
//! points, arguments out of range or of the wrong shape (fiscal years among
//! them), and figures that would overflow.

use ledger::testkit::{id, TestChain};
use ledger::tx::{EntityKind, Status};
use ledger::{Amount, Op, TxError, Year};

use crate::helpers::{
    accept_op, add_validator, allocate, appropriate, award, line, register, reject_op, set_status,
    validator, world, year, LINE, NON_CANONICAL_KEY, NOT_A_POINT_KEY, SMALL_ORDER_KEY, YEAR,
};

pub(crate) fn bad_key() -> Vec<TxError> {
    let mut chain = world();
    let mut op = register("MOT", EntityKind::Ministry, None);
    if let Op::RegisterEntity { keys, .. } = &mut op {
        *keys = vec![SMALL_ORDER_KEY];
    }
    let e1 = reject_op(&mut chain, "MOF", op);
    assert_eq!(
        e1,
        TxError::BadKey {
            key: SMALL_ORDER_KEY,
            reason: "a point of small order"
        }
    );
    assert_eq!(
        e1.to_string(),
        format!(
            "bad_key: {} is a point of small order",
            "01".to_owned() + &"0".repeat(62)
        )
    );

    // Rotation, by the treasury and by the entity itself.
    for signer in ["MOF", "MOH"] {
        let rotate = Op::RotateKey {
            entity: id("MOH"),
            public_key: NOT_A_POINT_KEY,
        };
        let e = reject_op(&mut chain, signer, rotate);
        assert_eq!(
            e,
            TxError::BadKey {
                key: NOT_A_POINT_KEY,
                reason: "not a curve point"
            }
        );
    }
    let e2 = reject_op(
        &mut chain,
        "MOH",
        Op::RotateKey {
            entity: id("MOH"),
            public_key: SMALL_ORDER_KEY,
        },
    );
    assert!(matches!(e2, TxError::BadKey { key, .. } if key == SMALL_ORDER_KEY));

    let good = validator("validator-new", 1);
    let e3 = reject_op(
        &mut chain,
        "MOF",
        Op::AddValidator {
            name: "validator-new".into(),
            consensus_key: NON_CANONICAL_KEY,
            peer_id: good.peer_id,
            power: 1,
        },
    );
    assert_eq!(
        e3,
        TxError::BadKey {
            key: NON_CANONICAL_KEY,
            reason: "not the canonical encoding of its point"
        }
    );
    vec![e1, e2, e3]
}

pub(crate) fn invalid_argument() -> Vec<TxError> {
    let mut chain = world();
    let e1 = reject_op(&mut chain, "MOF", appropriate("MOH", 0));
    assert!(
        matches!(
            &e1,
            TxError::InvalidArgument {
                field: "amount",
                ..
            }
        ),
        "{e1:?}"
    );
    assert_eq!(
        e1.to_string(),
        "invalid_argument: amount: must be more than zero"
    );
    let e2 = reject_op(
        &mut chain,
        "MOF",
        register("MOF2", EntityKind::Treasury, None),
    );
    assert!(
        matches!(&e2, TxError::InvalidArgument { field: "kind", .. }),
        "{e2:?}"
    );
    // A department whose parent is a department, a vendor with a parent,
    // a department with no parent.
    for op in [
        register("MOH.BV.X", EntityKind::Department, Some("MOH.BV")),
        register("V-3", EntityKind::Vendor, Some("MOH")),
        register("MOH.Y", EntityKind::Department, None),
    ] {
        let e = reject_op(&mut chain, "MOF", op);
        assert!(
            matches!(
                &e,
                TxError::InvalidArgument {
                    field: "parent",
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // Appropriating to a department, awarding to a ministry.
    let e3 = reject_op(&mut chain, "MOF", appropriate("MOH.BV", 1));
    assert!(
        matches!(&e3, TxError::InvalidArgument { field: "to", reason } if reason.contains("MOH.BV")),
        "{e3:?}"
    );
    let e4 = reject_op(&mut chain, "MOH.BV", award("C-2", "MOET", 1));
    assert!(
        matches!(
            &e4,
            TxError::InvalidArgument {
                field: "vendor",
                ..
            }
        ),
        "{e4:?}"
    );
    let e5 = reject_op(&mut chain, "MOF", add_validator("validator-new", 0));
    assert!(
        matches!(&e5, TxError::InvalidArgument { field: "power", .. }),
        "{e5:?}"
    );
    let e6 = reject_op(&mut chain, "MOF", set_status("MOF", Status::Suspended));
    assert!(
        matches!(
            &e6,
            TxError::InvalidArgument {
                field: "entity",
                ..
            }
        ),
        "{e6:?}"
    );
    // Text fields: required, bounded, no control characters.
    let mut op = appropriate("MOH", 1);
    if let Op::Appropriate { legal_ref, .. } = &mut op {
        *legal_ref = "  ".into();
    }
    let e7 = reject_op(&mut chain, "MOF", op);
    assert_eq!(
        e7,
        TxError::InvalidArgument {
            field: "legal_ref",
            reason: "must not be empty".into()
        }
    );
    let mut op = award("C-2", "V-2", 1);
    if let Op::Award { title, .. } = &mut op {
        *title = "Bàn\u{7}ghế".into();
    }
    let e8 = reject_op(&mut chain, "MOH.BV", op);
    assert_eq!(
        e8.to_string(),
        "invalid_argument: title: contains control characters"
    );
    let mut op = register("MOT", EntityKind::Ministry, None);
    if let Op::RegisterEntity { name, .. } = &mut op {
        // 67 × 3 bytes: "ộ" is three bytes in UTF-8.
        *name = "ộ".repeat(67);
    }
    let e9 = reject_op(&mut chain, "MOF", op);
    assert_eq!(
        e9.to_string(),
        "invalid_argument: name: 201 bytes is longer than the 200 allowed"
    );
    let mut out = vec![e1, e2, e3, e4, e5, e6, e7, e8, e9];
    out.extend(years_out_of_range(&mut chain));
    out
}

/// Every operation that names a fiscal year refuses one outside 2000 to
/// 2100, whoever signs it and whatever else it says; the bounds
/// themselves are accepted.
fn years_out_of_range(chain: &mut TestChain) -> Vec<TxError> {
    let with_year = |op: Op, y: u16| -> Op {
        let mut op = op;
        match &mut op {
            Op::Appropriate { year, .. }
            | Op::Allocate { year, .. }
            | Op::ReturnFunds { year, .. }
            | Op::Award { year, .. } => *year = Year(y),
            other => panic!("{other:?} names no year"),
        }
        op
    };
    let give_back = Op::ReturnFunds {
        year: year(),
        line: line(),
        amount: Amount(1),
    };
    let ops = [
        ("MOF", appropriate("MOH", 1)),
        ("MOH", allocate("MOH.BV", 1)),
        ("MOH.BV", give_back),
        ("MOH.BV", award("C-99", "V-1", 1)),
    ];
    let mut out = Vec::new();
    for (signer, op) in ops {
        for y in [0, 1999, 2101, 65535] {
            let e = reject_op(chain, signer, with_year(op.clone(), y));
            assert_eq!(
                e,
                TxError::InvalidArgument {
                    field: "year",
                    reason: format!("{y} is not a fiscal year from 2000 to 2100"),
                },
                "{signer} {}",
                op.name()
            );
            out.push(e);
        }
    }
    assert_eq!(
        out[0].to_string(),
        "invalid_argument: year: 0 is not a fiscal year from 2000 to 2100"
    );
    // The bounds: the treasury appropriates for 2000 and 2100.
    for y in [2000, 2100] {
        accept_op(chain, "MOF", with_year(appropriate("MOH", 1), y));
        let moh = chain.state.budget(&id("MOH"), Year(y), &line());
        assert_eq!(moh.received, Amount(1));
    }
    assert_eq!(Year::new(2101), Err(out[2].clone()));
    out
}

pub(crate) fn overflow() -> Vec<TxError> {
    let mut chain = TestChain::new(1);
    accept_op(
        &mut chain,
        "MOF",
        register("MOH", EntityKind::Ministry, None),
    );
    accept_op(&mut chain, "MOF", appropriate("MOH", u64::MAX));
    let e = reject_op(&mut chain, "MOF", appropriate("MOH", 1));
    assert_eq!(
        e,
        TxError::Overflow {
            what: format!("appropriations on {YEAR}/{LINE}")
        }
    );
    assert_eq!(
        e.to_string(),
        "overflow: appropriations on 2026/0402-HEALTH-INFRA would exceed the largest \
         representable amount"
    );
    // The first appropriation stands, whole.
    let t = chain.state.budget(&id("MOF"), year(), &line());
    assert_eq!(
        (t.received, t.passed_on),
        (Amount(u64::MAX), Amount(u64::MAX))
    );
    vec![e]
}
