//! Refusals over money: spending more than a budget line has available, and
//! paying or amending past what a contract allows.

use ledger::testkit::id;
use ledger::{Amount, LineCode, Op, TxError};

use crate::helpers::{
    accept_op, allocate, amend, appropriate, award, cid, line, pay, reject_op, world, year,
    ALLOCATED, AWARDED, PAID,
};

pub(crate) fn over_budget() -> Vec<TxError> {
    let mut chain = world();
    let expect = |entity: &str, requested: u64, available: u64| TxError::OverBudget {
        entity: id(entity),
        year: year(),
        line: line(),
        requested: Amount(requested),
        available: Amount(available),
    };
    let e1 = reject_op(&mut chain, "MOH", allocate("MOH.BV", 2_500_000));
    assert_eq!(e1, expect("MOH", 2_500_000, 1_000_000));
    assert_eq!(
        e1.to_string(),
        "over_budget: MOH needs 2,500,000 on 2026/0402-HEALTH-INFRA but only 1,000,000 is \
         available"
    );
    let e2 = reject_op(&mut chain, "MOH.BV", award("C-18", "V-2", 1_000_001));
    assert_eq!(e2, expect("MOH.BV", 1_000_001, 1_000_000));
    let e3 = reject_op(
        &mut chain,
        "MOH.BV",
        Op::ReturnFunds {
            year: year(),
            line: line(),
            amount: Amount(1_500_000),
        },
    );
    assert_eq!(e3, expect("MOH.BV", 1_500_000, 1_000_000));
    // Raising C-17 by 1,000,001 needs that much available.
    let e4 = reject_op(&mut chain, "MOH.BV", amend("C-17", AWARDED + 1_000_001));
    assert_eq!(e4, expect("MOH.BV", 1_000_001, 1_000_000));
    // Another year or line has nothing: budgets do not leak across lines.
    let other_line = Op::Award {
        contract: cid("C-18"),
        year: year(),
        line: LineCode::new("0501-EDU").unwrap(),
        vendor: id("V-2"),
        amount: Amount(1),
        title: "Bàn ghế".into(),
        document_hash: None,
    };
    let e5 = reject_op(&mut chain, "MOH.BV", other_line);
    assert_eq!(
        e5,
        TxError::OverBudget {
            entity: id("MOH.BV"),
            year: year(),
            line: LineCode::new("0501-EDU").unwrap(),
            requested: Amount(1),
            available: Amount(0),
        }
    );
    // Exactly what is available is accepted.
    accept_op(&mut chain, "MOH.BV", award("C-18", "V-2", 1_000_000));
    let bv = chain.state.budget(&id("MOH.BV"), year(), &line());
    assert_eq!(bv.available(), Some(Amount(0)));
    assert_eq!(bv.committed, Amount(AWARDED + 1_000_000));
    vec![e1, e2, e3, e4, e5]
}

pub(crate) fn over_contract() -> Vec<TxError> {
    let mut chain = world();
    let e1 = reject_op(&mut chain, "MOH.BV", pay("C-17", 5_000_000));
    assert_eq!(
        e1.to_string(),
        "over_contract: pay 5,000,000 exceeds the 3,000,000 still unpaid on contract C-17"
    );
    assert!(
        matches!(&e1, TxError::OverContract { contract, .. } if *contract == cid("C-17")),
        "{e1:?}"
    );
    let e2 = reject_op(&mut chain, "MOH.BV", pay("C-17", 3_000_001));
    assert!(e2.to_string().contains("3,000,001"), "{e2}");
    // Amending below what is paid.
    let e3 = reject_op(&mut chain, "MOH.BV", amend("C-17", 4_000_000));
    assert!(
        matches!(&e3, TxError::OverContract { contract, .. } if *contract == cid("C-17")),
        "{e3:?}"
    );
    let msg = e3.to_string();
    assert!(
        msg.starts_with("over_contract: ")
            && msg.contains("4,000,000")
            && msg.contains("5,000,000"),
        "{msg}"
    );
    let e4 = reject_op(&mut chain, "MOH.BV", amend("C-17", PAID - 1));
    assert!(matches!(e4, TxError::OverContract { .. }), "{e4:?}");
    // The boundaries themselves are accepted: amend down to what is paid,
    // which releases the rest, then nothing more can be paid.
    accept_op(&mut chain, "MOH.BV", amend("C-17", PAID));
    let bv = chain.state.budget(&id("MOH.BV"), year(), &line());
    assert_eq!(bv.committed, Amount(PAID));
    assert_eq!(bv.available(), Some(Amount(ALLOCATED - PAID)));
    let e5 = reject_op(&mut chain, "MOH.BV", pay("C-17", 1));
    assert_eq!(
        e5.to_string(),
        "over_contract: pay 1 exceeds the 0 still unpaid on contract C-17"
    );
    vec![e1, e2, e3, e4, e5]
}

pub(crate) fn year_closed() -> Vec<TxError> {
    let mut chain = world();
    accept_op(&mut chain, "MOF", Op::CloseYear { year: year() });
    let closed_at = chain.state.height();
    let expect = TxError::YearClosed {
        year: year(),
        closed_at,
    };
    let refused = [
        ("MOF", appropriate("MOH", 1)),
        ("MOH", allocate("MOH.BV", 1)),
        ("MOH.BV", award("C-18", "V-2", 1)),
        ("MOH.BV", amend("C-17", AWARDED + 1)),
        ("MOH.BV", pay("C-17", 1)),
        (
            "MOH.BV",
            Op::ReturnFunds {
                year: year(),
                line: line(),
                amount: Amount(1),
            },
        ),
    ];
    let mut out = Vec::new();
    for (signer, op) in refused {
        let e = reject_op(&mut chain, signer, op);
        assert_eq!(e, expect);
        out.push(e);
    }
    assert_eq!(
        out[0].to_string(),
        format!(
            "year_closed: fiscal year 2026 was closed at block {closed_at}; its budget lines are \
             final"
        )
    );
    // Another year, and what moves no money, go on.
    let next = ledger::Year(year().0 + 1);
    accept_op(
        &mut chain,
        "MOF",
        Op::Appropriate {
            year: next,
            line: line(),
            to: id("MOH"),
            amount: Amount(1),
            legal_ref: "NQ-2027".into(),
        },
    );
    accept_op(
        &mut chain,
        "MOH.BV",
        Op::ConfirmDelivery {
            contract: cid("C-17"),
            milestone: "Bàn giao".into(),
            note: String::new(),
        },
    );
    accept_op(
        &mut chain,
        "V-1",
        Op::AcknowledgePayment {
            contract: cid("C-17"),
            payment: 0,
        },
    );
    // Closing it again changes nothing.
    let again = reject_op(&mut chain, "MOF", Op::CloseYear { year: year() });
    assert_eq!(again.code(), "no_op");
    out
}
