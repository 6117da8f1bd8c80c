//! The demo feed's planning, checked against the real ledger: its actions,
//! signed and submitted the way a node admits them (a signer's next
//! transaction is checked against the committed state; later ones wait),
//! committed in blocks whose signers are deliberately reordered, must all
//! execute, and its deliberate mistakes must be refused with the expected
//! code on submission. What the feed says must be committed first is
//! committed first, and nothing more (see [`feed_chain`]): a hidden
//! dependency between two signers shows up as a failed block.

mod feed_chain;

use feed_chain::{budgets, run, story_state, Chain, Tally};
use genesis::story;
use ledger::{EntityId, Op, Year};
use tools::demo::{Expect, Feed, BAD_EVERY_ACTIONS};

const FIRST_YEAR: u16 = 2026;

#[test]
fn the_feed_tells_the_whole_story_and_every_action_executes_on_the_ledger() {
    let genesis = story_state();
    let mut feed = Feed::new(genesis.0.clone(), Year(FIRST_YEAR), 7);
    let mut chain = Chain::new(genesis);
    let mut tally = Tally::default();
    run(&mut feed, &mut chain, 3_000, &mut tally);

    assert_eq!(feed.skipped(), 0, "{tally:?}");
    for op in [
        "appropriate",
        "allocate",
        "award",
        "pay",
        "confirm-delivery",
        "amend-contract",
        "acknowledge-payment",
    ] {
        assert!(
            tally.ops.get(op).copied().unwrap_or(0) > 0,
            "no {op}: {tally:?}"
        );
    }
    assert_eq!(tally.ops["appropriate"], story::LINES.len() as u64);
    // Each contract is paid in installments and delivered.
    assert!(
        tally.ops["pay"] >= 2 * tally.ops["award"] - 2 * 12,
        "{tally:?}"
    );
    // About one action in BAD_EVERY_ACTIONS is a mistake, of both kinds.
    let refused: u64 = tally.refused.values().sum();
    let expected = tally.actions / BAD_EVERY_ACTIONS;
    assert!(
        refused >= expected / 2 && refused <= expected * 2,
        "{refused} mistakes in {} actions",
        tally.actions
    );
    assert!(tally.refused["over_budget"] > 0 && tally.refused["over_contract"] > 0);
    // Barriers are rare: the feed is not a lockstep.
    assert!(tally.barriers * 10 < tally.actions, "{tally:?}");

    // The feed's model is exactly the chain's budgets.
    assert_eq!(budgets(feed.model()), budgets(&chain.state));
    for c in chain.state.contracts() {
        assert!(c.paid <= c.amount, "{c:?}");
        assert!(c.id.as_str().starts_with(&format!("HD-{}-", c.department)));
    }
    let bvbm = EntityId::new("BYT-BVBM").unwrap();
    assert!(
        chain.state.entity(&bvbm).unwrap().nonce > 0,
        "Bạch Mai acted"
    );
}

#[test]
fn a_fiscal_year_ends_with_returns_and_the_next_one_begins() {
    let genesis = story_state();
    let mut feed = Feed::new(genesis.0.clone(), Year(FIRST_YEAR), 11);
    let mut chain = Chain::new(genesis);
    let mut tally = Tally::default();
    let mut actions = 0;
    while feed.year() == Year(FIRST_YEAR) {
        assert!(actions < 20_000, "the first year never ends: {tally:?}");
        run(&mut feed, &mut chain, 100, &mut tally);
        actions += 100;
    }
    run(&mut feed, &mut chain, 200, &mut tally);
    assert_eq!(feed.skipped(), 0);
    assert!(tally.ops["return-funds"] > 0, "{tally:?}");
    let next = Year(FIRST_YEAR + 1);
    let btc = EntityId::new(story::TREASURY).unwrap();
    let line = ledger::LineCode::new(story::LINES[0].code).unwrap();
    assert!(chain.state.budget(&btc, next, &line).received.0 > 0);
    // What the treasury gave in the first year, net of returns, is what the
    // ministries and departments kept: nothing is left unspent on the lines.
    for l in story::LINES {
        let line = ledger::LineCode::new(l.code).unwrap();
        let m = EntityId::new(l.ministry).unwrap();
        let b = chain.state.budget(&m, Year(FIRST_YEAR), &line);
        assert_eq!(b.available().unwrap().0, 0, "{} kept budget", l.code);
    }
    eprintln!("first year took {actions} actions: {tally:?}");
}

#[test]
fn a_feed_resumes_from_a_chain_that_ran_before() {
    let genesis = story_state();
    let mut first = Feed::new(genesis.0.clone(), Year(FIRST_YEAR), 3);
    let mut chain = Chain::new(genesis);
    let mut tally = Tally::default();
    run(&mut first, &mut chain, 700, &mut tally);
    assert_eq!(first.skipped(), 0);

    // A new feed on the committed state, as after a restart: it carries on
    // the contracts in progress and never reuses a contract id.
    let mut resumed = Feed::new(chain.state.clone(), Year(2030), 4);
    assert_eq!(
        resumed.year(),
        Year(FIRST_YEAR),
        "books on the chain's year"
    );
    let contracts_before = chain.state.contracts().count();
    run(&mut resumed, &mut chain, 700, &mut tally);
    assert_eq!(resumed.skipped(), 0);
    assert!(chain.state.contracts().count() > contracts_before);
}

#[test]
fn a_refused_action_is_left_out_of_the_story_and_the_feed_goes_on() {
    let genesis = story_state();
    let mut feed = Feed::new(genesis.0.clone(), Year(FIRST_YEAR), 5);
    let mut chain = Chain::new(genesis);
    let mut tally = Tally::default();
    let mut dropped: Vec<&'static str> = Vec::new();
    for i in 0..1_500 {
        let p = feed.next().expect("the story goes on");
        let drop = i > 100
            && p.expect == Expect::Accepted
            && match &p.op {
                Op::Award { .. } => !dropped.contains(&"award"),
                Op::Allocate { .. } => !dropped.contains(&"allocate"),
                Op::Pay { .. } => !dropped.contains(&"pay"),
                _ => false,
            };
        if drop {
            // As if the node refused it on submission.
            dropped.push(p.op.name());
            feed.refused_unexpectedly(&p);
            continue;
        }
        chain.submit(&p, &mut tally);
    }
    chain.finish();
    assert!(
        dropped.contains(&"award") && dropped.contains(&"pay"),
        "{dropped:?}"
    );
    assert_eq!(feed.skipped(), 0);
}
