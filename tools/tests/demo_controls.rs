//! The demo feed on a chain governed as the devnet's is (the treasury's
//! decisions signed by 2 of its 3 officials; payments and awards of 50 tỷ or
//! more co-signed by the expenditure controller, KBNN), replayed against
//! the ledger as a node admits it ([`feed_chain`]): about half the
//! controlled payments gather their signatures on the node, the controller
//! signing seconds later while the payment holds its department's next
//! nonce; vendors acknowledge their payments once committed, except about
//! one in ten; and a department paying 50 tỷ or more without the controller
//! is refused with `approval_required`.

mod feed_chain;

use std::collections::BTreeSet;
use std::time::Duration;

use feed_chain::{controlled_state, run, story_state, Chain, Tally};
use genesis::story;
use ledger::{Amount, EntityId, Op, Year};
use tools::demo::acks::never_acknowledged;
use tools::demo::{
    Expect, Feed, Needs, Planned, COSIGN_AFTER_MS_MAX, COSIGN_AFTER_MS_MIN, UNACKNOWLEDGED_ONE_IN,
};

const FIRST_YEAR: u16 = 2026;

fn controlled_pay(p: &Planned) -> bool {
    matches!(p.op, Op::Pay { .. }) && p.expect == Expect::Accepted && p.controller.is_some()
}

/// Runs `actions` of a feed with `seed` on the devnet-like chain, keeping
/// every planned action.
fn replay(seed: u64, actions: u64) -> (Feed, Chain, Tally, Vec<Planned>) {
    let genesis = controlled_state();
    let mut feed = Feed::new(genesis.0.clone(), Year(FIRST_YEAR), seed);
    let mut chain = Chain::new(genesis);
    let mut tally = Tally::default();
    let mut planned = Vec::new();
    for _ in 0..actions {
        let p = feed.next().expect("the story goes on");
        chain.submit(&p, &mut tally);
        planned.push(p);
    }
    chain.finish();
    assert_eq!(feed.skipped(), 0, "{tally:?}");
    eprintln!("seed {seed}: {tally:?}");
    (feed, chain, tally, planned)
}

#[test]
fn about_half_the_controlled_payments_gather_their_signatures_on_the_node() {
    let (_, chain, tally, planned) = replay(21, 3_000);
    let kbnn = EntityId::new(story::CONTROLLER).unwrap();
    let controlled: Vec<&Planned> = planned.iter().filter(|p| controlled_pay(p)).collect();
    let gathering: Vec<&Planned> = controlled
        .iter()
        .copied()
        .filter(|p| p.cosign_after.is_some())
        .collect();
    assert!(
        controlled.len() >= 10,
        "{} controlled payments",
        controlled.len()
    );
    let share = gathering.len() * 100 / controlled.len();
    assert!(
        (25..=75).contains(&share),
        "{} of {} controlled payments gather signatures",
        gathering.len(),
        controlled.len()
    );
    assert_eq!(tally.awaited, gathering.len() as u64);
    for p in &controlled {
        assert_eq!(p.controller.as_ref(), Some(&kbnn), "{}", p.summary);
        let Op::Pay { amount, .. } = &p.op else {
            unreachable!()
        };
        assert!(amount.0 >= story::CONTROL_FROM_VND, "{}", p.summary);
    }
    let (min, max) = (
        Duration::from_millis(COSIGN_AFTER_MS_MIN),
        Duration::from_millis(COSIGN_AFTER_MS_MAX),
    );
    let mut waits = BTreeSet::new();
    for p in &gathering {
        let wait = p.cosign_after.unwrap();
        assert!(wait >= min && wait <= max, "{wait:?}: {}", p.summary);
        waits.insert(wait);
        // Left with the node, it must be the department's next transaction.
        assert!(p.needs >= Needs::SignerIdle, "{}", p.summary);
    }
    assert!(waits.len() > 1, "the waits vary: {waits:?}");
    // Nothing else is planned to gather signatures, and payments under the
    // rule's amount have no controller.
    for p in &planned {
        if p.cosign_after.is_some() {
            assert!(controlled_pay(p), "{}", p.summary);
        }
        if let Op::Pay { amount, .. } = &p.op {
            if amount.0 < story::CONTROL_FROM_VND {
                assert_eq!(p.controller, None, "{}", p.summary);
            }
        }
    }
    // A department with a payment gathering signatures is left alone for
    // about as long: rarely does its next action have to wait for it.
    assert!(
        tally.held_by_gathering * 5 <= tally.awaited,
        "{} actions held up by {} gathering payments",
        tally.held_by_gathering,
        tally.awaited
    );
    // Every payment went through: the chain holds them all.
    let paid: u64 = chain.state.contracts().map(|c| u64::from(c.payments)).sum();
    assert_eq!(paid, tally.ops["pay"], "{tally:?}");
    // The treasury's 2 of 3 signed its appropriations.
    assert_eq!(tally.ops["appropriate"], story::LINES.len() as u64);
}

#[test]
fn paying_without_the_controller_is_a_mistake_the_ledger_refuses() {
    let (_, _, tally, planned) = replay(22, 3_000);
    let unapproved: Vec<&Planned> = planned
        .iter()
        .filter(|p| p.expect == Expect::Refused("approval_required"))
        .collect();
    assert!(!unapproved.is_empty(), "{tally:?}");
    assert_eq!(tally.refused["approval_required"], unapproved.len() as u64);
    for p in unapproved {
        let Op::Pay { amount, .. } = &p.op else {
            panic!("not a payment: {}", p.summary);
        };
        assert!(amount.0 >= story::CONTROL_FROM_VND, "{}", p.summary);
        assert_eq!(p.controller, None, "signed without KBNN: {}", p.summary);
        assert_eq!(p.cosign_after, None);
        assert!(p.summary.contains("without"), "{}", p.summary);
    }
    // The other mistakes are still made.
    assert!(tally.refused["over_budget"] > 0 && tally.refused["over_contract"] > 0);
}

#[test]
fn vendors_acknowledge_their_payments_but_about_one_in_ten() {
    let (_, chain, tally, planned) = replay(23, 3_000);
    let chain_id = chain.state.chain_id().to_owned();
    let acks: Vec<&Planned> = planned
        .iter()
        .filter(|p| matches!(p.op, Op::AcknowledgePayment { .. }))
        .collect();
    assert!(!acks.is_empty(), "{tally:?}");
    for a in &acks {
        let Op::AcknowledgePayment { contract, payment } = &a.op else {
            unreachable!()
        };
        let c = chain.state.contract(contract).unwrap();
        assert_eq!(a.signer, c.vendor, "{}", a.summary);
        assert!(!never_acknowledged(&chain_id, contract, *payment));
        // It follows the payment's own action.
        let pay = &planned[a.after.expect("an acknowledgement follows its payment") as usize];
        assert!(matches!(&pay.op, Op::Pay { contract: paid, .. } if paid == contract));
        assert!(pay.seq < a.seq);
    }
    // On the chain: every payment acknowledged, except those never to be
    // and the latest, whose acknowledgement had not come yet.
    let recent: BTreeSet<u64> = planned.iter().rev().take(200).map(|p| p.seq).collect();
    let (mut never, mut total, mut late) = (0, 0, 0);
    for c in chain.state.contracts() {
        for n in 0..c.payments {
            total += 1;
            let skip = never_acknowledged(&chain_id, &c.id, n);
            never += u64::from(skip);
            match chain.state.acknowledged(&c.id, n).unwrap() {
                true => assert!(!skip, "{} {n} acknowledged", c.id),
                false if skip => {}
                false => late += 1,
            }
        }
    }
    let pays_lately = planned
        .iter()
        .filter(|p| recent.contains(&p.seq) && matches!(p.op, Op::Pay { .. }))
        .count();
    assert!(late <= pays_lately, "{late} unacknowledged of {total}");
    let expected = total / UNACKNOWLEDGED_ONE_IN;
    assert!(
        never >= expected / 3 && never <= expected * 3 + 2,
        "{never} never acknowledged of {total}"
    );
    assert_eq!(tally.ops["acknowledge-payment"], acks.len() as u64);
}

#[test]
fn a_resumed_feed_acknowledges_what_the_last_one_left_and_nothing_else() {
    let genesis = story_state();
    let mut first = Feed::new(genesis.0.clone(), Year(FIRST_YEAR), 24);
    let mut chain = Chain::new(genesis);
    let mut tally = Tally::default();
    // Stop right after some payments, before their acknowledgements.
    let mut n = 0;
    loop {
        let p = first.next().unwrap();
        let pay = matches!(p.op, Op::Pay { .. });
        chain.submit(&p, &mut tally);
        n += 1;
        if pay && n > 300 {
            break;
        }
    }
    chain.finish();
    let chain_id = chain.state.chain_id().to_owned();
    let open = |s: &ledger::State| -> BTreeSet<(String, u32)> {
        let mut out = BTreeSet::new();
        for c in s.contracts() {
            for n in 0..c.payments {
                if s.acknowledged(&c.id, n) == Some(false)
                    && !never_acknowledged(&chain_id, &c.id, n)
                {
                    out.insert((c.id.to_string(), n));
                }
            }
        }
        out
    };
    let left = open(&chain.state);
    assert!(
        !left.is_empty(),
        "the last payment awaits its acknowledgement"
    );
    let mut resumed = Feed::new(chain.state.clone(), Year(FIRST_YEAR), 25);
    let mut acked = BTreeSet::new();
    for _ in 0..100 {
        let p = resumed.next().unwrap();
        if let Op::AcknowledgePayment { contract, payment } = &p.op {
            acked.insert((contract.to_string(), *payment));
        }
        chain.submit(&p, &mut tally);
    }
    chain.finish();
    assert_eq!(resumed.skipped(), 0);
    assert!(left.is_subset(&acked), "{left:?} not in {acked:?}");
}

#[test]
fn without_a_control_rule_nothing_needs_the_controller() {
    let genesis = story_state();
    let mut feed = Feed::new(genesis.0.clone(), Year(FIRST_YEAR), 26);
    let mut chain = Chain::new(genesis);
    let mut tally = Tally::default();
    run(&mut feed, &mut chain, 1_000, &mut tally);
    assert_eq!(tally.awaited + tally.cosigned_at_once, 0, "{tally:?}");
    assert!(!tally.refused.contains_key("approval_required"));
    let big = chain
        .state
        .contracts()
        .any(|c| c.amount >= Amount(story::CONTROL_FROM_VND));
    assert!(big, "contracts of 50 tỷ or more are made all the same");
}
