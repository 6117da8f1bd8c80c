//! Expenditure control. With a rule on MOH of [`RULE`] by controller KBNN
//! (two of two keys), a `pay` or `award` of less by a department of MOH
//! needs the department alone; of [`RULE`] or more it also needs KBNN's
//! threshold. Keys of neither are foreign; so is a controller's key where no
//! rule asks for it. A ministry's own rule comes before the rule of all
//! ministries.

use ledger::testkit::{id, TestChain};
use ledger::tx::{EntityKind, Status};
use ledger::{Amount, Op, TxError};

use crate::helpers::{
    accept, accept_usual, allocate, award, cid, commit, foreign, line, pay, refuse_op, register,
    rule_of, set_control, set_status, short, tx_at, world, year, KBNN, RULE,
};

/// The world with MOH's rule, and contract C-BIG of MOH.YT (ten times the
/// rule's amount, awarded with KBNN's approval) to pay on.
fn controlled() -> TestChain {
    let mut chain = world(0);
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        set_control(Some("MOH"), RULE, "KBNN"),
    );
    assert_eq!(
        rule_of(&chain, Some("MOH")),
        Some((Amount(RULE), id("KBNN")))
    );
    accept(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KB-1", "KB-2"],
        award("C-BIG", 10 * RULE),
    );
    chain
}

/// The `approval_required` refusal under MOH's rule.
fn needs_kbnn(op: &'static str, amount: u64, signed: usize) -> TxError {
    TxError::ApprovalRequired {
        op,
        ministry: Some(id("MOH")),
        rule_amount: Amount(RULE),
        amount: Amount(amount),
        controller: id("KBNN"),
        threshold: 2,
        signed,
    }
}

#[test]
fn an_award_below_the_rule_needs_the_department_alone() {
    let mut chain = controlled();
    accept(&mut chain, "MOH.YT", &["MOH.YT"], award("C-1", RULE - 1));
    assert_eq!(
        chain.state.contract(&cid("C-1")).unwrap().amount,
        Amount(RULE - 1)
    );
}

#[test]
fn an_award_at_or_above_the_rule_needs_the_controller_threshold() {
    let mut chain = controlled();
    for amount in [RULE, RULE + 1, 5 * RULE] {
        let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT"], award("C-1", amount));
        assert_eq!(e, needs_kbnn("award", amount, 0));
        for one in KBNN {
            let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT", one], award("C-1", amount));
            assert_eq!(e, needs_kbnn("award", amount, 1));
        }
    }
    assert_eq!(
        needs_kbnn("award", RULE, 1).to_string(),
        "approval_required: the control rule of MOH covers award of 1,000,000 or more; \
         1,000,000 needs KBNN's signature (2 of its keys, 1 signed)"
    );
    let committed = chain.state.budget(&id("MOH.YT"), year(), &line()).committed;
    accept(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KB-1", "KB-2"],
        award("C-1", RULE),
    );
    let after = chain.state.budget(&id("MOH.YT"), year(), &line()).committed;
    assert_eq!(after, committed.checked_add(Amount(RULE)).unwrap());
}

#[test]
fn a_payment_at_or_above_the_rule_needs_the_controller_threshold() {
    let mut chain = controlled();
    accept(&mut chain, "MOH.YT", &["MOH.YT"], pay("C-BIG", RULE - 1));
    let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT"], pay("C-BIG", RULE));
    assert_eq!(e, needs_kbnn("pay", RULE, 0));
    let e = refuse_op(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KB-2"],
        pay("C-BIG", RULE),
    );
    assert_eq!(e, needs_kbnn("pay", RULE, 1));
    accept(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KB-1", "KB-2"],
        pay("C-BIG", RULE),
    );
    let c = chain.state.contract(&cid("C-BIG")).unwrap();
    assert_eq!(c.paid, Amount(2 * RULE - 1));
    let v = chain.state.budget(&id("V-1"), year(), &line());
    assert_eq!(v.received, Amount(2 * RULE - 1));
}

#[test]
fn the_controller_signing_does_not_stand_in_for_the_department() {
    let mut chain = controlled();
    // Only KBNN's keys: MOH.YT has not signed.
    let e = refuse_op(&mut chain, "MOH.YT", &KBNN, pay("C-BIG", RULE));
    assert_eq!(e, short("MOH.YT", 1, 0));
    // MOH.BV, two of three, with KBNN but only one of its own keys.
    let e = refuse_op(
        &mut chain,
        "MOH.BV",
        &["BV-1", "KB-1", "KB-2"],
        award("C-2", RULE),
    );
    assert_eq!(e, short("MOH.BV", 2, 1));
    let e = refuse_op(
        &mut chain,
        "MOH.BV",
        &["BV-1", "BV-3", "KB-1"],
        award("C-2", RULE),
    );
    assert_eq!(e, needs_kbnn("award", RULE, 1));
    accept(
        &mut chain,
        "MOH.BV",
        &["BV-1", "BV-3", "KB-1", "KB-2"],
        award("C-2", RULE),
    );
}

#[test]
fn a_key_of_neither_is_foreign_and_names_the_controller() {
    let mut chain = controlled();
    // A stranger, the other controller, the ministry.
    for other in ["NOBODY", "KBTW", "MOH"] {
        let labels = ["MOH.YT", "KB-1", "KB-2", other];
        let e = refuse_op(&mut chain, "MOH.YT", &labels, pay("C-BIG", RULE));
        assert_eq!(e, foreign(other, "MOH.YT", Some("KBNN")), "{other}");
    }
    assert!(foreign("NOBODY", "MOH.YT", Some("KBNN"))
        .to_string()
        .ends_with(" is not a key of MOH.YT or of KBNN"));
}

#[test]
fn a_controller_cosigning_what_no_rule_covers_is_foreign() {
    let mut chain = controlled();
    // Below the rule's amount.
    let e = refuse_op(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KB-1"],
        pay("C-BIG", RULE - 1),
    );
    assert_eq!(e, foreign("KB-1", "MOH.YT", None));
    // A ministry without a rule (and no rule of all ministries).
    let big = 2 * RULE;
    let labels = ["MOET.DH", "KB-1", "KB-2"];
    let e = refuse_op(&mut chain, "MOET.DH", &labels, award("C-DH", big));
    assert_eq!(e, foreign("KB-1", "MOET.DH", None));
    accept(&mut chain, "MOET.DH", &["MOET.DH"], award("C-DH", big));
    // An operation no rule is about.
    let e = refuse_op(
        &mut chain,
        "MOH",
        &["MOH", "KB-1", "KB-2"],
        allocate("MOH.YT", big),
    );
    assert_eq!(e, foreign("KB-1", "MOH", None));
    let delivery = Op::ConfirmDelivery {
        contract: cid("C-BIG"),
        milestone: "Đợt 1".into(),
        note: String::new(),
    };
    let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT", "KB-1", "KB-2"], delivery);
    assert_eq!(e, foreign("KB-1", "MOH.YT", None));
}

#[test]
fn a_ministry_rule_comes_before_the_rule_of_all_ministries() {
    let mut chain = controlled();
    accept(&mut chain, "MOF", &["MOF"], set_control(None, 100, "KBTW"));
    assert_eq!(rule_of(&chain, None), Some((Amount(100), id("KBTW"))));
    // MOH.YT under MOH's own rule: 500 is below it, KBTW has no say.
    accept(&mut chain, "MOH.YT", &["MOH.YT"], pay("C-BIG", 500));
    let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT", "KBTW"], pay("C-BIG", 500));
    assert_eq!(e, foreign("KBTW", "MOH.YT", None));
    let e = refuse_op(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KBTW"],
        pay("C-BIG", RULE),
    );
    assert_eq!(e, foreign("KBTW", "MOH.YT", Some("KBNN")));
    // MOET.DH under the rule of all ministries.
    accept(&mut chain, "MOET.DH", &["MOET.DH"], award("C-DH", 99));
    let e = refuse_op(&mut chain, "MOET.DH", &["MOET.DH"], award("C-DH2", 500));
    assert_eq!(
        e,
        TxError::ApprovalRequired {
            op: "award",
            ministry: None,
            rule_amount: Amount(100),
            amount: Amount(500),
            controller: id("KBTW"),
            threshold: 1,
            signed: 0,
        }
    );
    assert!(e.to_string().starts_with(
        "approval_required: the control rule of all ministries covers award of 100 or more; "
    ));
    accept(
        &mut chain,
        "MOET.DH",
        &["MOET.DH", "KBTW"],
        award("C-DH2", 500),
    );
    // Without MOH's own rule, MOH falls under the rule of all ministries.
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        Op::RemoveControl {
            ministry: Some(id("MOH")),
        },
    );
    assert_eq!(rule_of(&chain, Some("MOH")), None);
    let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT"], pay("C-BIG", 500));
    assert!(
        matches!(&e, TxError::ApprovalRequired { ministry: None, controller, .. } if *controller == id("KBTW")),
        "{e:?}"
    );
    accept(&mut chain, "MOH.YT", &["MOH.YT", "KBTW"], pay("C-BIG", 500));
}

#[test]
fn set_control_is_the_treasury_s_and_names_a_ministry_and_a_controller() {
    let mut chain = controlled();
    let refused = |chain: &mut TestChain, signer: &str, labels: &[&str], op: Op| {
        let before = rule_of(chain, Some("MOH"));
        let e = refuse_op(chain, signer, labels, op);
        assert_eq!(rule_of(chain, Some("MOH")), before);
        e
    };
    // Not the treasury: the ministry itself, the controller itself.
    for (signer, labels) in [("MOH", vec!["MOH"]), ("KBNN", KBNN.to_vec())] {
        let e = refused(
            &mut chain,
            signer,
            &labels,
            set_control(Some("MOH"), 1, "KBNN"),
        );
        assert_eq!(
            e,
            TxError::NotAuthorized {
                signer: id(signer),
                action: "set-control".into()
            }
        );
        let e = refused(
            &mut chain,
            signer,
            &labels,
            Op::RemoveControl {
                ministry: Some(id("MOH")),
            },
        );
        assert!(matches!(e, TxError::NotAuthorized { .. }), "{e:?}");
    }
    let mof = ["MOF"];
    let invalid = |e: &TxError, which: &str| matches!(e, TxError::InvalidArgument { field, .. } if *field == which);
    // Not a ministry: a department, a vendor.
    for m in ["MOH.YT", "V-1"] {
        let e = refused(&mut chain, "MOF", &mof, set_control(Some(m), RULE, "KBNN"));
        assert!(invalid(&e, "ministry"), "{m}: {e:?}");
    }
    // Not a controller: a ministry, the treasury.
    for c in ["MOH", "MOF"] {
        let e = refused(&mut chain, "MOF", &mof, set_control(Some("MOH"), RULE, c));
        assert!(invalid(&e, "controller"), "{c}: {e:?}");
    }
    // Amount 0.
    let e = refused(&mut chain, "MOF", &mof, set_control(Some("MOH"), 0, "KBNN"));
    assert!(invalid(&e, "amount"), "{e:?}");
    // Unknown ministry or controller.
    for op in [
        set_control(Some("MOT"), RULE, "KBNN"),
        set_control(Some("MOH"), RULE, "NOBODY"),
    ] {
        let e = refused(&mut chain, "MOF", &mof, op);
        assert!(matches!(e, TxError::UnknownEntity { .. }), "{e:?}");
    }
    // The rule already in force.
    let e = refused(
        &mut chain,
        "MOF",
        &mof,
        set_control(Some("MOH"), RULE, "KBNN"),
    );
    assert!(
        matches!(
            e,
            TxError::NoOp {
                op: "set-control",
                ..
            }
        ),
        "{e:?}"
    );
    // A new amount or controller replaces it.
    accept(
        &mut chain,
        "MOF",
        &mof,
        set_control(Some("MOH"), 2 * RULE, "KBTW"),
    );
    assert_eq!(
        rule_of(&chain, Some("MOH")),
        Some((Amount(2 * RULE), id("KBTW")))
    );
    accept(
        &mut chain,
        "MOH.YT",
        &["MOH.YT"],
        pay("C-BIG", 2 * RULE - 1),
    );
    let e = refuse_op(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KB-1", "KB-2"],
        pay("C-BIG", 2 * RULE),
    );
    assert_eq!(e, foreign("KB-1", "MOH.YT", Some("KBTW")));
    accept(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KBTW"],
        pay("C-BIG", 2 * RULE),
    );
}

#[test]
fn remove_control_of_a_missing_rule_changes_nothing() {
    let mut chain = controlled();
    let e = refuse_op(
        &mut chain,
        "MOF",
        &["MOF"],
        Op::RemoveControl { ministry: None },
    );
    assert!(
        matches!(&e, TxError::NoOp { op: "remove-control", reason } if reason.contains("all ministries")),
        "{e:?}"
    );
    let e = refuse_op(
        &mut chain,
        "MOF",
        &["MOF"],
        Op::RemoveControl {
            ministry: Some(id("MOET")),
        },
    );
    assert!(matches!(e, TxError::NoOp { .. }), "{e:?}");
    accept(
        &mut chain,
        "MOF",
        &["MOF"],
        Op::RemoveControl {
            ministry: Some(id("MOH")),
        },
    );
    // Without the rule MOH.YT pays any amount alone, and KBNN's keys are
    // foreign to it.
    accept(&mut chain, "MOH.YT", &["MOH.YT"], pay("C-BIG", 3 * RULE));
    let e = refuse_op(
        &mut chain,
        "MOH.YT",
        &["MOH.YT", "KB-1", "KB-2"],
        pay("C-BIG", RULE),
    );
    assert_eq!(e, foreign("KB-1", "MOH.YT", None));
    let e = refuse_op(
        &mut chain,
        "MOF",
        &["MOF"],
        Op::RemoveControl {
            ministry: Some(id("MOH")),
        },
    );
    assert!(matches!(e, TxError::NoOp { .. }), "{e:?}");
}

#[test]
fn a_suspended_controller_approves_nothing() {
    let mut chain = controlled();
    accept_usual(&mut chain, "MOF", set_status("KBNN", Status::Suspended));
    let all = ["MOH.YT", "KB-1", "KB-2"];
    let e = refuse_op(&mut chain, "MOH.YT", &all, pay("C-BIG", RULE));
    assert_eq!(e, TxError::Inactive { entity: id("KBNN") });
    // What the rule does not cover goes on.
    accept(&mut chain, "MOH.YT", &["MOH.YT"], pay("C-BIG", RULE - 1));
    // A rule cannot name a suspended controller.
    let e = refuse_op(&mut chain, "MOF", &["MOF"], set_control(None, RULE, "KBNN"));
    assert_eq!(e, TxError::Inactive { entity: id("KBNN") });
    accept_usual(&mut chain, "MOF", set_status("KBNN", Status::Active));
    accept(&mut chain, "MOH.YT", &all, pay("C-BIG", RULE));
}

#[test]
fn a_key_both_hold_counts_for_the_signer_only() {
    // MOET.CHUNG holds KBTW's only key and one of its own; KBTW controls all
    // ministries from 100.
    let mut chain = world(0);
    let register_chung = register(
        "MOET.CHUNG",
        EntityKind::Department,
        Some("MOET"),
        &["KBTW", "CHUNG"],
        1,
    );
    let txs = vec![
        tx_at(&chain, "MOF", 0, &["MOF"], register_chung),
        tx_at(&chain, "MOF", 1, &["MOF"], set_control(None, 100, "KBTW")),
        tx_at(&chain, "MOET", 0, &["MOET"], allocate("MOET.CHUNG", 10_000)),
    ];
    commit(&mut chain, txs);
    // Its key KBTW signs for it below the rule ...
    accept(&mut chain, "MOET.CHUNG", &["KBTW"], award("C-1", 99));
    // ... but never approves its own spending, alone or beside its other key.
    for labels in [vec!["KBTW"], vec!["KBTW", "CHUNG"]] {
        let e = refuse_op(&mut chain, "MOET.CHUNG", &labels, award("C-2", 100));
        assert!(
            matches!(
                e,
                TxError::ApprovalRequired {
                    signed: 0,
                    threshold: 1,
                    ..
                }
            ),
            "{labels:?}: {e:?}"
        );
    }
    assert!(chain.state.contract(&cid("C-2")).is_none());
}
