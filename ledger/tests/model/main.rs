//! The ledger against an independent model, over random operation sequences.
//!
//! Proptest generates sequences of operations over a small universe (the
//! treasury MOF, three ministries, four departments, three vendors, an
//! observer and a signer that never exists; two years, two budget lines, six
//! contract ids, six validator keys, three node peer ids), including many that
//! must fail: wrong signers, keys the signer does not hold, signatures that
//! do not verify, bad nonces, another chain, suspended entities, amounts over
//! what is available or unpaid, zero and huge amounts, bad keys, operations
//! that would change nothing (a key or status set to what it is, an
//! amendment to the same amount), validator changes that break the 2/3
//! carry-over rule.
//!
//! The model is plain bookkeeping written from SPEC §2: which entities exist,
//! the successful appropriations, allocations, returns, contracts and
//! payments, and the validator sets with their set(H+2) rotation. It never
//! reads the ledger's figures. For every transaction the model says whether it
//! must succeed or which codes may refuse it (and for over_budget, with what
//! figures); the ledger must agree. After every block the ledger's entities,
//! budgets, contracts, deliveries, validator sets and nodes must equal the
//! model's, and the invariants of SPEC §2 must hold on the ledger's state.
//!
//! Transactions go one or several to a block. Each is tried in a `BlockExec`
//! on top of the block so far (a refused one changes nothing and is dropped;
//! the first of each block also goes through `State::check_tx`, which must
//! agree), and the block's outcome is committed. Finally the blocks are
//! replayed as real blocks (`TestChain::commit`, so `execute_block` with
//! batched signature checks) on a fresh chain after the setup block: each
//! must be accepted whole with the root the run had after it, and the final
//! entries must be equal.
//!
//! The setup block (registrations, appropriations and allocations to start
//! from) is the same for every case, so it is checked and committed once per
//! thread and validator count and then cloned. Cost: about 30 s for the 10,000
//! cases in the dev profile on two cores; most of it is signing and verifying.

mod bookkeeping;
mod checks;
mod plan;
mod steps;
mod universe;

use std::cell::RefCell;
use std::collections::BTreeMap;

use ledger::state::{StateKey, StateValue};
use ledger::testkit::TestChain;
use ledger::{Amount, CommitCertificate, Hash, SignedTx, State};
use proptest::prelude::*;

use crate::bookkeeping::Model;
use crate::checks::{check_state, check_verdict};
use crate::steps::{step_strategy, Amt, CPick, Env, RegVariant, Step, G};
use crate::universe::{cid, eid, line, year, UNIVERSE};

/// Registers the setup entities and gives MOH and MOET budget to work with,
/// through the same checked path as the random steps.
fn setup_steps() -> Vec<Step> {
    let natural = |g: G| Step {
        g,
        signer: None,
        env: Env::Ok,
        new_block: false,
    };
    let mut steps: Vec<Step> = (1..UNIVERSE.len())
        .filter(|i| UNIVERSE[*i].setup)
        .map(|who| {
            natural(G::Register {
                who,
                variant: RegVariant::Normal,
            })
        })
        .collect();
    for (y, l, to, amount) in [
        (0, 0, 1, 10_000),
        (0, 0, 2, 8_000),
        (1, 1, 1, 6_000),
        (1, 1, 2, 6_000),
    ] {
        steps.push(natural(G::Appropriate {
            y,
            l,
            to,
            amt: Amt::Abs(amount),
        }));
    }
    for (y, l, by, to, amount) in [
        (0, 0, 1, 4, 4_000),
        (0, 0, 1, 5, 3_000),
        (0, 0, 2, 6, 5_000),
        (1, 1, 1, 4, 2_000),
        (1, 1, 2, 6, 3_000),
    ] {
        steps.push(natural(G::Allocate {
            y,
            l,
            by: Some(by),
            to,
            amt: Amt::Abs(amount),
        }));
    }
    steps
}

/// A block of the run: the transactions accepted and the state root after it.
struct Committed {
    txs: Vec<SignedTx>,
    root: Hash,
}

/// Executes one block of `steps` on `state`: each transaction is tried on top
/// of the block so far and kept only if accepted, and the ledger's verdict
/// must be the model's. Then the block is committed and the ledger's state
/// must be the model's.
fn run_block(state: &mut State, model: &mut Model, steps: &[&Step], first: usize) -> Committed {
    let mut txs = Vec::new();
    let mut exec = state.begin_block();
    for (i, step) in steps.iter().enumerate() {
        let plan = model.plan(step);
        let tx = model.sign(&plan, step.env);
        let result = exec.apply_tx(&tx, None);
        if txs.is_empty() {
            // Nothing is pending, so the mempool's check must agree.
            assert_eq!(state.check_tx(&tx), result, "step {}: check_tx", first + i);
        }
        check_verdict(first + i, &plan, &result);
        if result.is_ok() {
            model.apply(plan.signer, plan.effect);
            txs.push(tx);
        }
    }
    let outcome = exec.finish();
    model.end_block();
    let root = outcome.state_root;
    state.commit(outcome);
    check_state(state, model);
    Committed { txs, root }
}

/// A chain after the setup block, with its model.
#[derive(Clone)]
struct AfterSetup {
    state: State,
    last_hash: Hash,
    last_time_ms: u64,
    last_cert: Option<CommitCertificate>,
    history: ledger::merkle::Frontier,
    model: Model,
}

thread_local! {
    /// The setup is the same for every case with the same number of
    /// validators, so it runs once per thread and count.
    static SETUPS: RefCell<BTreeMap<usize, AfterSetup>> = const { RefCell::new(BTreeMap::new()) };
}

/// The chain and model after the setup block. The first time, the setup is
/// checked against the model like any block, and committed as a real block.
fn after_setup(validators: usize) -> (TestChain, Model) {
    let s = SETUPS.with(|setups| {
        setups
            .borrow_mut()
            .entry(validators)
            .or_insert_with(|| {
                let mut state = TestChain::new(validators).state;
                let mut model = Model::new(validators);
                let steps = setup_steps();
                let refs: Vec<&Step> = steps.iter().collect();
                let setup = run_block(&mut state, &mut model, &refs, 0);
                assert_eq!(setup.txs.len(), steps.len(), "the setup is all accepted");
                let mut chain = TestChain::new(validators);
                let block = chain.commit(setup.txs).expect("the setup block commits");
                assert_eq!(block.header.state_root, setup.root);
                assert_eq!(chain.state, state);
                AfterSetup {
                    state,
                    last_hash: chain.last_hash,
                    last_time_ms: chain.last_time_ms,
                    last_cert: chain.last_cert,
                    history: chain.history,
                    model,
                }
            })
            .clone()
    });
    let mut chain = TestChain::new(validators);
    chain.state = s.state;
    chain.last_hash = s.last_hash;
    chain.last_time_ms = s.last_time_ms;
    chain.last_cert = s.last_cert;
    chain.history = s.history;
    (chain, s.model)
}

/// Runs `steps` after the setup block on a chain of `validators` validators,
/// checking against the model as it goes; returns the final state and the
/// blocks committed after the setup.
fn run(validators: usize, steps: &[Step]) -> (State, Vec<Committed>) {
    let (chain, mut model) = after_setup(validators);
    let mut state = chain.state;
    let mut groups: Vec<Vec<&Step>> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if step.new_block || i == 0 {
            groups.push(Vec::new());
        }
        groups.last_mut().unwrap().push(step);
    }
    let mut blocks = Vec::new();
    let mut first = 0;
    for group in groups {
        blocks.push(run_block(&mut state, &mut model, &group, first));
        first += group.len();
    }
    (state, blocks)
}

/// Replays the blocks as real blocks (`TestChain::commit`, which executes
/// them whole through `execute_block` with batched signature checks) on a
/// fresh chain after the setup: each must be accepted whole, with the root
/// the run had after it, and the final entries must be the run's.
fn check_replay(validators: usize, state: &State, blocks: Vec<Committed>) {
    let (mut chain, _) = after_setup(validators);
    for (i, b) in blocks.into_iter().enumerate() {
        let block = chain.commit(b.txs).unwrap_or_else(|(j, e)| {
            panic!("block {i}: tx {j} was accepted on its own but refused in the block: {e}")
        });
        assert_eq!(block.header.state_root, b.root, "block {i}");
    }
    assert_eq!(chain.state.root(), state.root());
    assert_eq!(chain.state.height(), state.height());
    let entries = |s: &State| -> Vec<(StateKey, StateValue)> {
        s.entries().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_eq!(entries(&chain.state), entries(state));
}

fn run_and_replay(validators: usize, steps: &[Step]) {
    let (state, blocks) = run(validators, steps);
    check_replay(validators, &state, blocks);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: model_cases(), ..ProptestConfig::default() })]

    /// Budget operations, entities, keys and statuses, on a one-validator chain.
    #[test]
    fn budget_sequences(steps in prop::collection::vec(step_strategy(false), 5..=40)) {
        run_and_replay(1, &steps);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: model_cases(), ..ProptestConfig::default() })]

    /// Everything, validator and node operations included, on chains of one
    /// to four validators.
    #[test]
    fn sequences_with_validator_and_node_ops(
        validators in 1usize..=4,
        steps in prop::collection::vec(step_strategy(true), 5..=40),
    ) {
        run_and_replay(validators, &steps);
    }
}

/// A fixed sequence that walks a contract through award, amendments, payments
/// and deliveries, so the model's own arithmetic is pinned by hand too.
#[test]
fn a_contract_from_award_to_final_payment() {
    let step = |g: G| Step {
        g,
        signer: None,
        env: Env::Ok,
        new_block: true,
    };
    let steps = vec![
        step(G::Award {
            c: 0,
            y: 0,
            l: 0,
            by: 4,
            vendor: 8,
            amt: Amt::Abs(3_000),
        }),
        step(G::Pay {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(1_000),
        }),
        step(G::Amend {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(999),
        }),
        step(G::Amend {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(2_500),
        }),
        step(G::Pay {
            c: CPick::Id(0),
            by: 4,
            amt: Amt::Abs(1_500),
        }),
        step(G::Deliver {
            c: CPick::Id(0),
            by: 4,
        }),
        step(G::Return {
            y: 0,
            l: 0,
            by: 4,
            amt: Amt::Abs(1_500),
        }),
        step(G::Return {
            y: 0,
            l: 0,
            by: 1,
            amt: Amt::Abs(4_500),
        }),
    ];
    let (st, _) = run(1, &steps);
    let st = &st;
    let f = |e: usize| st.budget(&eid(e), year(0), &line(0));
    // MOH.A: received 4,000, returned 1,500; contract 2,500, all paid.
    assert_eq!(f(4).received, Amount(2_500));
    assert_eq!(f(4).committed, Amount(2_500));
    assert_eq!(f(4).paid, Amount(2_500));
    assert_eq!(f(4).available(), Some(Amount(0)));
    assert_eq!(f(8).received, Amount(2_500));
    // MOH: received 10,000, passed on 7,000 then 1,500 came back; returned 4,500.
    assert_eq!(f(1).received, Amount(5_500));
    assert_eq!(f(1).passed_on, Amount(5_500));
    // MOF: appropriated 18,000, 4,500 came back.
    assert_eq!(f(0).received, Amount(18_000));
    assert_eq!(f(0).passed_on, Amount(13_500));
    let c = st.contract(&cid(0)).unwrap();
    assert_eq!(
        (c.amount, c.paid, c.deliveries),
        (Amount(2_500), Amount(2_500), 1)
    );
}

/// Cases per property: 5,000 in CI (10,000 in all), more with `MODEL_CASES`.
fn model_cases() -> u32 {
    std::env::var("MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}
