//! The ledger against the model of `model`, over generated sequences of
//! payments, awards, key changes (the entity's own and the treasury's),
//! cancellations, control rules and controllers' statuses, each signed by a
//! generated choice of keys: the signer's, a controller's, a pending key, a
//! former key, a stranger's. The rotation delay is drawn from 0 to 5.
//!
//! For every transaction the ledger's verdict must be the model's. Of every
//! committed one, the three invariants are checked as such: the signer's
//! current keys that signed reach its threshold; where a rule covers it,
//! the controller is active and its keys that signed reach its threshold;
//! no key that is only pending for the signer signed. After every block the
//! ledger's keys, thresholds, pending changes, nonces and rules must be the
//! model's, and at the end the blocks, replayed through
//! `State::execute_block` (batched signature checks), must give the same
//! roots.

use std::cell::RefCell;
use std::collections::BTreeMap;

use ledger::state::StateKey;
use ledger::testkit::id;
use ledger::tx::Status;
use ledger::{Amount, Hash, SignedTx, State, TxError};
use proptest::prelude::*;

use crate::helpers::{
    allocate, appropriate, award, commit, genesis_chain, pk, register, set_keys, tx_at,
};
use crate::model::{
    Amt, Extra, Model, Plan, Sigs, ACTORS, CONTROLLERS, DEPARTMENTS, G, MOET, MOF, MOH, UNIVERSE,
};

#[derive(Clone, Debug)]
struct Step {
    g: G,
    sigs: Sigs,
    /// 0: in the block so far; 1: starts a block; n > 1: n − 1 empty blocks
    /// first.
    gap: u8,
}

/// The setup: MOF takes three keys of which two sign, registers the
/// universe and funds the ministries; they fund their departments; each
/// department awards the contract it pays on, `C-<id>`, before any rule.
fn setup(delay: u64) -> (State, Model) {
    let mut chain = genesis_chain(Some(delay));
    let mof = ["MOF-1", "MOF-2"];
    let mut txs = vec![tx_at(
        &chain,
        "MOF",
        0,
        &["MOF"],
        set_keys("MOF", UNIVERSE[MOF].3, 2),
    )];
    let mut ops: Vec<_> = UNIVERSE[1..]
        .iter()
        .map(|(who, kind, parent, keys, threshold)| {
            register(who, *kind, parent.map(|p| UNIVERSE[p].0), keys, *threshold)
        })
        .collect();
    ops.push(appropriate("MOH", 1_000_000_000_000));
    ops.push(appropriate("MOET", 1_000_000_000_000));
    let mof_nonce = 1 + ops.len() as u64;
    for (i, op) in ops.into_iter().enumerate() {
        txs.push(tx_at(&chain, "MOF", 1 + i as u64, &mof, op));
    }
    commit(&mut chain, txs);
    let mut txs = Vec::new();
    let mut per_ministry = BTreeMap::new();
    for d in DEPARTMENTS {
        let (who, _, parent, ..) = UNIVERSE[d];
        let m = UNIVERSE[parent.unwrap()].0;
        let n: &mut u64 = per_ministry.entry(m).or_default();
        txs.push(tx_at(&chain, m, *n, &[m], allocate(who, 100_000_000_000)));
        *n += 1;
    }
    commit(&mut chain, txs);
    let txs = DEPARTMENTS
        .iter()
        .map(|d| {
            let (who, _, _, keys, threshold) = UNIVERSE[*d];
            let signing = &keys[..usize::from(threshold)];
            tx_at(
                &chain,
                who,
                0,
                signing,
                award(&format!("C-{who}"), 10_000_000_000),
            )
        })
        .collect();
    commit(&mut chain, txs);
    let model = Model::new(delay, chain.state.height().0, mof_nonce);
    check_state(&chain.state, &model);
    (chain.state, model)
}

thread_local! {
    static SETUPS: RefCell<BTreeMap<u64, (State, Model)>> = const { RefCell::new(BTreeMap::new()) };
}

fn after_setup(delay: u64) -> (State, Model) {
    SETUPS.with(|s| {
        s.borrow_mut()
            .entry(delay)
            .or_insert_with(|| setup(delay))
            .clone()
    })
}

/// The ledger's entities and rules must be the model's, as they stand for
/// the next block.
fn check_state(state: &State, model: &Model) {
    let mut m = model.clone();
    m.begin_block(state.height().0 + 1);
    let pks = |labels: &crate::model::Labels| {
        let mut v: Vec<_> = labels.iter().map(|l| pk(l)).collect();
        v.sort();
        v
    };
    for (i, (who, kind, ..)) in UNIVERSE.iter().enumerate() {
        let e = state.entity(&id(who)).expect("registered");
        let me = &m.ents[i];
        assert_eq!(e.kind, *kind);
        assert_eq!(
            (&e.keys, e.threshold),
            (&pks(&me.keys), me.threshold),
            "{who}"
        );
        let pending = e
            .pending
            .as_ref()
            .map(|p| (p.keys.clone(), p.threshold, p.set_at.0, p.effective.0));
        let expected = me
            .pending
            .as_ref()
            .map(|p| (pks(&p.keys), p.threshold, p.set_at, p.effective));
        assert_eq!(pending, expected, "{who}: pending");
        let status = if me.active {
            Status::Active
        } else {
            Status::Suspended
        };
        assert_eq!((e.status, e.nonce), (status, me.nonce), "{who}");
    }
    for ministry in [None, Some(MOH), Some(MOET)] {
        let key = StateKey::Control(ministry.map(|x| id(UNIVERSE[x].0)));
        let rule = state.entries().find_map(|(k, v)| match v {
            ledger::state::StateValue::Control(r) if *k == key => {
                Some((r.amount, r.controller.clone()))
            }
            _ => None,
        });
        let expected = m
            .rules
            .get(&ministry)
            .map(|(a, c)| (Amount(*a), id(UNIVERSE[*c].0)));
        assert_eq!(rule, expected, "rule of {ministry:?}");
    }
}

/// The ledger's verdict must be the model's; a committed transaction must
/// satisfy the invariants.
fn check(i: usize, plan: &Plan, result: &Result<(), TxError>, model: &Model) {
    let what = || {
        format!(
            "step {i}: {} by {} with {:?}",
            plan.op.name(),
            UNIVERSE[plan.signer].0,
            plan.labels
        )
    };
    assert_eq!(
        result.as_ref().err().map(TxError::code),
        plan.refusal,
        "{}: {result:?}",
        what()
    );
    if result.is_ok() {
        let threshold = model.ents[plan.signer].threshold;
        assert!(
            plan.own >= usize::from(threshold),
            "{}: below the signer's threshold",
            what()
        );
        if let Some((approving, threshold, active)) = plan.approval {
            assert!(
                active && approving >= usize::from(threshold),
                "{}: unapproved",
                what()
            );
        }
        assert!(!plan.pending_signed, "{}: a pending key signed", what());
    }
}

/// Executes one block of `steps`, checking each against the model, then
/// commits it and compares the state with the model.
fn run_block(
    state: &mut State,
    model: &mut Model,
    steps: &[&Step],
    first: usize,
) -> (Vec<SignedTx>, Hash) {
    model.begin_block(state.height().0 + 1);
    let mut exec = state.begin_block();
    let mut txs = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let plan = model.plan(&step.g, &step.sigs);
        let tx = model.sign(&plan);
        let result = exec.apply_tx(&tx, None);
        if txs.is_empty() {
            assert_eq!(state.check_tx(&tx), result, "step {}: check_tx", first + i);
        }
        check(first + i, &plan, &result, model);
        if result.is_ok() {
            model.apply(plan);
            txs.push(tx);
        }
    }
    let outcome = exec.finish();
    let root = outcome.state_root;
    state.commit(outcome);
    check_state(state, model);
    (txs, root)
}

fn run(delay: u64, steps: &[Step]) {
    let (start, mut model) = after_setup(delay);
    let mut state = start.clone();
    let mut groups: Vec<(u8, Vec<&Step>)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if i == 0 || step.gap > 0 {
            groups.push((step.gap.saturating_sub(1), Vec::new()));
        }
        groups.last_mut().unwrap().1.push(step);
    }
    let mut blocks = Vec::new();
    let mut first = 0;
    for (empty, group) in groups {
        for _ in 0..empty {
            blocks.push(run_block(&mut state, &mut model, &[], first));
        }
        blocks.push(run_block(&mut state, &mut model, &group, first));
        first += group.len();
    }
    // The same blocks, executed whole with batched signature checks.
    let mut replay = start;
    for (i, (txs, root)) in blocks.into_iter().enumerate() {
        let outcome = replay
            .execute_block(&txs)
            .unwrap_or_else(|(j, e)| panic!("block {i}: transaction {j} refused: {e}"));
        assert_eq!(outcome.state_root, root, "block {i}");
        replay.commit(outcome);
    }
    assert_eq!(replay, state);
}

fn amt() -> impl Strategy<Value = Amt> {
    prop_oneof![
        2 => Just(Amt::Below),
        2 => Just(Amt::At),
        1 => Just(Amt::Above),
        2 => (1u64..=200).prop_map(Amt::Small),
    ]
}

fn key_choice() -> impl Strategy<Value = ([bool; 5], u8)> {
    (
        prop::array::uniform5(prop::bool::weighted(0.4)),
        prop_oneof![6 => 1u8..=2, 1 => Just(0u8), 1 => 3u8..=6],
    )
}

fn g() -> impl Strategy<Value = G> {
    let dept = || prop::sample::select(DEPARTMENTS.to_vec());
    let others: Vec<usize> = ACTORS.iter().copied().filter(|a| *a != MOF).collect();
    let ministry = prop::sample::select(vec![None, Some(MOH), Some(MOET)]);
    let controller = || prop::sample::select(CONTROLLERS.to_vec());
    prop_oneof![
        5 => (dept(), amt()).prop_map(|(by, amt)| G::Award { by, amt }),
        5 => (dept(), amt()).prop_map(|(by, amt)| G::Pay { by, amt }),
        2 => (prop::sample::select(ACTORS.to_vec()), key_choice())
            .prop_map(|(who, (keys, threshold))| G::SetKeysOwn { who, keys, threshold }),
        4 => (prop::sample::select(others.clone()), key_choice())
            .prop_map(|(who, (keys, threshold))| G::SetKeysByTreasury { who, keys, threshold }),
        2 => (prop::sample::select(others.clone()), any::<bool>())
            .prop_map(|(pick, by_treasury)| G::Cancel { pick, by_treasury }),
        3 => (ministry.clone(), 0usize..3, controller())
            .prop_map(|(ministry, amount, controller)| G::SetControl { ministry, amount, controller }),
        1 => ministry.prop_map(|ministry| G::RemoveControl { ministry }),
        1 => (controller(), prop::bool::weighted(0.6))
            .prop_map(|(controller, active)| G::SetStatus { controller, active }),
    ]
}

fn sigs() -> impl Strategy<Value = Sigs> {
    (
        prop::array::uniform6(prop::bool::weighted(0.8)),
        prop::option::weighted(
            0.3,
            (
                prop::sample::select(CONTROLLERS.to_vec()),
                prop::array::uniform3(prop::bool::weighted(0.8)),
            ),
        ),
        prop_oneof![
            16 => Just(Extra::None),
            1 => Just(Extra::Pending),
            1 => Just(Extra::Former),
            1 => Just(Extra::Stranger),
            1 => Just(Extra::Ministry),
        ],
    )
        .prop_map(|(own, controller, extra)| Sigs {
            own,
            controller,
            extra,
        })
}

fn step() -> impl Strategy<Value = Step> {
    (
        g(),
        sigs(),
        prop_oneof![5 => Just(0u8), 4 => Just(1u8), 1 => 2u8..=5],
    )
        .prop_map(|(g, sigs, gap)| Step { g, sigs, gap })
}

/// Cases: 256, or `APPROVALS_CASES`.
fn cases() -> u32 {
    std::env::var("APPROVALS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn sequences_agree_with_the_model(
        delay in prop::sample::select(vec![0u64, 1, 2, 3, 5]),
        steps in prop::collection::vec(step(), 5..=40),
    ) {
        run(delay, &steps);
    }
}

/// A fixed sequence whose verdicts are written by hand, so that the model
/// is pinned too: a rule on MOH by KBNN, MOH.B's key shared with KBNN, and
/// the treasury's change of KBNN's keys, which waits the delay.
#[test]
fn a_sequence_with_verdicts_written_by_hand() {
    let kbnn = CONTROLLERS[0];
    let [moh_a, moh_b, _] = DEPARTMENTS;
    let alone = Sigs {
        own: [true; 6],
        controller: None,
        extra: Extra::None,
    };
    let approved = Sigs {
        controller: Some((kbnn, [true; 3])),
        ..alone.clone()
    };
    let step = |g: G, sigs: &Sigs, gap: u8| Step {
        g,
        sigs: sigs.clone(),
        gap,
    };
    // KBNN's pool is KB-1, KB-2, KBNN~1, KBNN~2, KBNN~3.
    let new_keys = [false, false, true, true, false];
    let cases = [
        (
            step(
                G::SetControl {
                    ministry: Some(MOH),
                    amount: 1,
                    controller: kbnn,
                },
                &alone,
                1,
            ),
            None,
        ),
        (
            step(
                G::Pay {
                    by: moh_a,
                    amt: Amt::Below,
                },
                &alone,
                1,
            ),
            None,
        ),
        (
            step(
                G::Pay {
                    by: moh_a,
                    amt: Amt::At,
                },
                &alone,
                1,
            ),
            Some("approval_required"),
        ),
        (
            step(
                G::Pay {
                    by: moh_a,
                    amt: Amt::At,
                },
                &approved,
                1,
            ),
            None,
        ),
        // MOH.B signs with B-1 and KB-2; KB-2 is its own, so KBNN has not
        // signed, and with KBNN's keys besides, KBNN has one of two.
        (
            step(
                G::Pay {
                    by: moh_b,
                    amt: Amt::At,
                },
                &alone,
                1,
            ),
            Some("approval_required"),
        ),
        (
            step(
                G::Pay {
                    by: moh_b,
                    amt: Amt::At,
                },
                &approved,
                1,
            ),
            Some("approval_required"),
        ),
        (
            step(
                G::Pay {
                    by: moh_b,
                    amt: Amt::Small(5),
                },
                &alone,
                1,
            ),
            None,
        ),
        (
            step(
                G::SetKeysByTreasury {
                    who: kbnn,
                    keys: new_keys,
                    threshold: 2,
                },
                &alone,
                1,
            ),
            None,
        ),
        // Two blocks on KBNN's old keys still approve ...
        (
            step(
                G::Pay {
                    by: moh_a,
                    amt: Amt::Above,
                },
                &approved,
                2,
            ),
            None,
        ),
        // ... and at the third the new ones do.
        (
            step(
                G::Pay {
                    by: moh_a,
                    amt: Amt::Above,
                },
                &approved,
                1,
            ),
            None,
        ),
        (
            step(
                G::Cancel {
                    pick: kbnn,
                    by_treasury: false,
                },
                &alone,
                1,
            ),
            Some("no_op"),
        ),
    ];
    let (mut state, mut model) = after_setup(3);
    let start = state.height().0;
    for (n, (s, expected)) in cases.iter().enumerate() {
        for _ in 1..s.gap {
            run_block(&mut state, &mut model, &[], n);
        }
        let mut m = model.clone();
        m.begin_block(state.height().0 + 1);
        assert_eq!(m.plan(&s.g, &s.sigs).refusal, *expected, "step {n}");
        run_block(&mut state, &mut model, &[s], n);
    }
    assert_eq!(state.height().0, start + 12);
    let kbnn = state.entity(&id("KBNN")).unwrap();
    let mut keys = vec![pk("KBNN~1"), pk("KBNN~2")];
    keys.sort();
    assert_eq!(
        (&kbnn.keys, kbnn.threshold, &kbnn.pending),
        (&keys, 2, &None)
    );
    let paid = |c: &str| {
        state
            .contract(&ledger::ContractId::new(c).unwrap())
            .unwrap()
            .paid
    };
    // MOH.A: 999, then 1,000, then 1,001 twice; MOH.B: 5.
    assert_eq!(paid("C-MOH.A"), Amount(999 + 1_000 + 2 * 1_001));
    assert_eq!(paid("C-MOH.B"), Amount(5));
}
