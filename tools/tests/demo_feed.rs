//! The demo feed's planning, checked against the real ledger: its actions,
//! signed and submitted the way a node admits them (a signer's next
//! transaction is checked against the committed state; later ones wait),
//! committed in blocks whose signers are deliberately reordered, must all
//! execute, and its deliberate mistakes must be refused with the expected
//! code on submission. What [`Needs`] says must be committed first is
//! committed first, and nothing more: a hidden dependency between two
//! signers shows up as a failed block.

use std::collections::BTreeMap;

use genesis::story;
use ledger::testkit::key;
use ledger::tx::TxBody;
use ledger::{EntityId, Op, SignedTx, State, Year};
use tools::demo::{Expect, Feed, Needs, Planned, BAD_EVERY_ACTIONS};

const FIRST_YEAR: u16 = 2026;
/// Transactions per block in the simulated chain: many, so that what an
/// action needs is committed only because [`Needs`] said so, not because a
/// block happened to close in between.
const BLOCK_TXS: usize = 37;

fn story_state() -> State {
    let g = story::test_genesis();
    g.check().unwrap();
    g.state()
}

/// A chain that admits and commits like a node, with the entities' keys.
struct Chain {
    state: State,
    pending: Vec<(SignedTx, String)>,
}

#[derive(Default, Debug)]
struct Tally {
    ops: BTreeMap<&'static str, u64>,
    refused: BTreeMap<&'static str, u64>,
    barriers: u64,
    actions: u64,
}

impl Chain {
    fn new(state: State) -> Chain {
        Chain {
            state,
            pending: Vec::new(),
        }
    }

    fn pending_of(&self, signer: &EntityId) -> u64 {
        self.pending
            .iter()
            .filter(|(tx, _)| tx.body.signer == *signer)
            .count() as u64
    }

    fn sign(&self, p: &Planned) -> SignedTx {
        let nonce = self.state.next_nonce(&p.signer).unwrap() + self.pending_of(&p.signer);
        TxBody {
            chain_id: self.state.chain_id().into(),
            signer: p.signer.clone(),
            nonce,
            op: p.op.clone(),
        }
        .sign(&key(p.signer.as_str()))
    }

    /// Commits everything pending as one block, signers in the reverse order
    /// of their first transaction (each signer's own order kept), so that an
    /// action that silently relied on another signer's pending one fails.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut signers: Vec<EntityId> = Vec::new();
        for (tx, _) in &self.pending {
            if !signers.contains(&tx.body.signer) {
                signers.push(tx.body.signer.clone());
            }
        }
        signers.reverse();
        let mut block: Vec<(SignedTx, String)> = Vec::new();
        for s in &signers {
            block.extend(
                self.pending
                    .iter()
                    .filter(|(tx, _)| tx.body.signer == *s)
                    .cloned(),
            );
        }
        self.pending.clear();
        let txs: Vec<SignedTx> = block.iter().map(|(tx, _)| tx.clone()).collect();
        match self.state.execute_block(&txs) {
            Ok(outcome) => self.state.commit(outcome),
            Err((i, e)) => panic!("block refused {:?}: {e}", block[i].1),
        }
    }

    /// Submits a planned action as a node would admit it.
    fn submit(&mut self, p: &Planned, tally: &mut Tally) {
        match p.needs {
            Needs::AllCommitted => {
                tally.barriers += 1;
                self.flush();
            }
            Needs::SignerIdle if self.pending_of(&p.signer) > 0 => self.flush(),
            _ => {}
        }
        let tx = self.sign(p);
        let next_of_signer = self.pending_of(&p.signer) == 0;
        match p.expect {
            Expect::Accepted => {
                if next_of_signer {
                    if let Err(e) = self.state.check_tx(&tx) {
                        panic!("refused on submission {:?}: {e}", p.summary);
                    }
                }
                *tally.ops.entry(p.op.name()).or_default() += 1;
                self.pending.push((tx, p.summary.clone()));
                if self.pending.len() >= BLOCK_TXS {
                    self.flush();
                }
            }
            Expect::Refused(code) => {
                assert!(
                    next_of_signer,
                    "a mistake must be its signer's next transaction: {}",
                    p.summary
                );
                match self.state.check_tx(&tx) {
                    Err(e) => assert_eq!(e.code(), code, "{}: {e}", p.summary),
                    Ok(()) => panic!("mistake accepted: {}", p.summary),
                }
                *tally.refused.entry(code).or_default() += 1;
            }
        }
        tally.actions += 1;
    }
}

fn run(feed: &mut Feed, chain: &mut Chain, actions: u64, tally: &mut Tally) {
    for _ in 0..actions {
        let p = feed.next().expect("the story goes on");
        chain.submit(&p, tally);
    }
    chain.flush();
}

fn budgets(s: &State) -> Vec<String> {
    s.budgets()
        .map(|(e, y, l, b)| format!("{e} {y} {l} {b:?}"))
        .collect()
}

#[test]
fn the_feed_tells_the_whole_story_and_every_action_executes_on_the_ledger() {
    let genesis = story_state();
    let mut feed = Feed::new(genesis.clone(), Year(FIRST_YEAR), 7);
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
    let mut feed = Feed::new(genesis.clone(), Year(FIRST_YEAR), 11);
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
    let mut chain = Chain::new(genesis.clone());
    let mut tally = Tally::default();
    let mut first = Feed::new(genesis, Year(FIRST_YEAR), 3);
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
    let mut feed = Feed::new(genesis.clone(), Year(FIRST_YEAR), 5);
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
    chain.flush();
    assert!(
        dropped.contains(&"award") && dropped.contains(&"pay"),
        "{dropped:?}"
    );
    assert_eq!(feed.skipped(), 0);
}
