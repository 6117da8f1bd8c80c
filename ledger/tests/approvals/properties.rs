//! The three invariants of approvals, each over generated cases on the
//! world of `helpers`:
//!
//! - a k-of-n signer acts only with at least k of its keys and no key that
//!   is not its own (whatever k, n, which keys sign and what the operation);
//! - a `pay` or `award` at or above a control rule's amount commits only
//!   with the controller's threshold, and below it only without the
//!   controller's keys;
//! - a key the treasury set for another entity never signs before the block
//!   its delay ends at, nor after the change was cancelled, and from then on
//!   the old key no longer signs.

use ledger::testkit::{id, TestChain};
use ledger::tx::EntityKind;
use ledger::{Amount, Op, TxError};
use proptest::prelude::*;

use crate::helpers::{
    award, cancel_keys, cid, commit, entity, line, pay, pks, register, set_control, set_keys, tx,
    tx_at, world, year,
};

/// What a generated operation is.
#[derive(Clone, Copy, Debug)]
enum Act {
    Award,
    Return,
    SetKeys,
    Deliver,
}

/// `refuse` of `helpers`, without its panics' messages: the code, and the
/// state must be as it was.
fn outcome(chain: &mut TestChain, t: ledger::SignedTx) -> Result<(), TxError> {
    let before = chain.state.clone();
    let checked = chain.state.check_tx(&t);
    match chain.commit(vec![t]) {
        Ok(_) => {
            assert_eq!(checked, Ok(()), "check_tx refused what a block accepted");
            Ok(())
        }
        Err((_, e)) => {
            assert_eq!(checked, Err(e.clone()), "check_tx and the block disagree");
            assert_eq!(
                chain.state, before,
                "a refused transaction changed the state"
            );
            Err(e)
        }
    }
}

fn code(r: &Result<(), TxError>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// No operation takes effect without its signer's threshold.
    #[test]
    fn a_k_of_n_signer_acts_only_with_k_of_its_keys(
        (n, k) in (1usize..=6).prop_flat_map(|n| (Just(n), 1..=n)),
        signing in prop::array::uniform6(any::<bool>()),
        extra in prop_oneof![4 => Just(None), 1 => prop::sample::select(vec!["NOBODY", "MOH", "KB-1", "MOH.YT"]).prop_map(Some)],
        act in prop::sample::select(vec![Act::Award, Act::Return, Act::SetKeys, Act::Deliver]),
    ) {
        let mut chain = world(3);
        let labels: Vec<String> = (0..n).map(|i| format!("MOH.K-{i}")).collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let txs = vec![
            tx(&chain, "MOF", &["MOF"], register("MOH.K", EntityKind::Department, Some("MOH"), &refs, k as u8)),
        ];
        commit(&mut chain, txs);
        let txs = vec![tx(&chain, "MOH", &["MOH"], crate::helpers::allocate("MOH.K", 10_000))];
        commit(&mut chain, txs);
        // A contract to deliver on, signed by all its keys.
        let t = tx(&chain, "MOH.K", &refs, award("C-K", 100));
        commit(&mut chain, vec![t]);

        let mut signers: Vec<&str> = refs.iter().zip(signing).filter(|(_, s)| *s).map(|(l, _)| *l).collect();
        let own = signers.len();
        signers.extend(extra);
        let op = match act {
            Act::Award => award("C-NEW", 1_000),
            Act::Return => Op::ReturnFunds { year: year(), line: line(), amount: Amount(1_000) },
            Act::SetKeys => set_keys("MOH.K", &["MOH.K-NEW"], 1),
            Act::Deliver => Op::ConfirmDelivery { contract: cid("C-K"), milestone: "M".into(), note: String::new() },
        };
        let before = entity(&chain, "MOH.K");
        let t = tx(&chain, "MOH.K", &signers, op);
        let r = outcome(&mut chain, t);
        // Written from the rules: no signature is malformed; a key not its
        // own is foreign; fewer than k of its own is short; else it acts.
        let expected = if signers.is_empty() {
            "malformed"
        } else if extra.is_some() {
            "foreign_signature"
        } else if own < k {
            "threshold_not_met"
        } else {
            "ok"
        };
        prop_assert_eq!(code(&r), expected, "{} of {} keys, {} signed, extra {:?}", k, n, own, extra);
        let after = entity(&chain, "MOH.K");
        if r.is_ok() {
            prop_assert!(own >= k);
            prop_assert_eq!(after.nonce, before.nonce + 1);
            match act {
                Act::Award => prop_assert!(chain.state.contract(&cid("C-NEW")).is_some()),
                Act::Return => prop_assert_eq!(
                    chain.state.budget(&id("MOH.K"), year(), &line()).received,
                    Amount(9_000)
                ),
                Act::SetKeys => prop_assert_eq!(after.keys, pks(&["MOH.K-NEW"])),
                Act::Deliver => prop_assert_eq!(chain.state.deliveries(&cid("C-K")).len(), 1),
            }
        } else {
            prop_assert_eq!(after, before);
        }
    }

    /// No `pay` or `award` at or above a rule's amount commits without the
    /// controller's threshold.
    #[test]
    fn controlled_spending_commits_only_with_the_controller_threshold(
        rule in 1u64..=10_000,
        (n, m) in (1usize..=4).prop_flat_map(|n| (Just(n), 1..=n)),
        approving in prop::array::uniform4(any::<bool>()),
        delta in prop_oneof![3 => -2i64..=2, 1 => -10_000i64..=10_000],
        is_pay in any::<bool>(),
        all_ministries in any::<bool>(),
    ) {
        let mut chain = world(0);
        let labels: Vec<String> = (0..n).map(|i| format!("KC-{i}")).collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let scope = if all_ministries { None } else { Some("MOH") };
        let txs = vec![
            tx_at(&chain, "MOF", 0, &["MOF"], register("KC", EntityKind::Controller, None, &refs, m as u8)),
            tx_at(&chain, "MOF", 1, &["MOF"], set_control(scope, rule, "KC")),
        ];
        commit(&mut chain, txs);
        // A contract of MOH.YT above any rule, awarded with all KC's keys.
        let mut all = vec!["MOH.YT"];
        all.extend(&refs);
        let t = tx(&chain, "MOH.YT", &all, award("C-P", 100_000));
        commit(&mut chain, vec![t]);

        let amount = rule.saturating_add_signed(delta).max(1);
        let mut signers = vec!["MOH.YT"];
        signers.extend(refs.iter().zip(approving).filter(|(_, s)| *s).map(|(l, _)| *l));
        let approvals = signers.len() - 1;
        let op = if is_pay { pay("C-P", amount) } else { award("C-NEW", amount) };
        let t = tx(&chain, "MOH.YT", &signers, op);
        let r = outcome(&mut chain, t);
        let covered = amount >= rule;
        let expected = match (covered, approvals) {
            (true, a) if a >= m => "ok",
            (true, _) => "approval_required",
            (false, 0) => "ok",
            (false, _) => "foreign_signature",
        };
        prop_assert_eq!(code(&r), expected, "rule {}, amount {}, {} of {} approving", rule, amount, approvals, m);
        if let Err(TxError::ApprovalRequired { signed, threshold, rule_amount, .. }) = &r {
            prop_assert_eq!((*signed, usize::from(*threshold), *rule_amount), (approvals, m, Amount(rule)));
        }
        if r.is_ok() && covered {
            prop_assert!(approvals >= m);
        }
    }

    /// A pending rotation never signs before its delay.
    #[test]
    fn a_pending_rotation_never_signs_before_its_delay(
        delay in 0u64..=6,
        lead in 0u64..=2,
        cancel_after in prop::option::weighted(0.3, 1u64..=6),
    ) {
        let mut chain = world(delay);
        for _ in 0..lead {
            commit(&mut chain, vec![]);
        }
        let s = chain.state.height().0 + 1;
        // Block S: the treasury's change, then (without a delay) the new
        // key at once.
        let set = tx(&chain, "MOF", &["MOF"], set_keys("MOH.YT", &["YT-NEW"], 1));
        if delay == 0 {
            let now = tx(&chain, "MOH.YT", &["YT-NEW"], award("C-S", 1));
            commit(&mut chain, vec![set, now]);
        } else {
            commit(&mut chain, vec![set]);
        }
        // A cancellation counts only while the change is pending.
        let cancelled_at = cancel_after.map(|c| s + c).filter(|c| *c < s + delay);
        for h in s + 1..=s + delay + 2 {
            prop_assert_eq!(chain.state.height().0 + 1, h);
            let in_force = cancelled_at.is_none() && h >= s + delay;
            let new = tx(&chain, "MOH.YT", &["YT-NEW"], award(&format!("C-{h}"), 1));
            let old = tx(&chain, "MOH.YT", &["MOH.YT"], award(&format!("C-{h}"), 1));
            let (new_r, old_r) = (chain.state.check_tx(&new), chain.state.check_tx(&old));
            prop_assert_eq!(new_r.is_ok(), in_force, "block {}: the new key", h);
            prop_assert_eq!(old_r.is_ok(), !in_force, "block {}: the old key", h);
            let refused = if in_force { old_r } else { new_r };
            prop_assert!(matches!(refused, Err(TxError::ForeignSignature { .. })), "{:?}", refused);
            let pending = entity(&chain, "MOH.YT").pending;
            prop_assert_eq!(pending.is_some(), cancelled_at.is_none_or(|c| h <= c) && h < s + delay);
            let next = if cancelled_at == Some(h) {
                tx(&chain, "MOH.YT", &["MOH.YT"], cancel_keys("MOH.YT"))
            } else if in_force {
                new
            } else {
                old
            };
            commit(&mut chain, vec![next]);
        }
    }
}
