//! The plan's properties: valid in any interleaving of signers, sized
//! setups, and the phases a node accepts.

use super::*;
use genesis::{Currency, Genesis};
use ledger::testkit::key;
use ledger::{PeerId, SignedTx, State, Validator};

#[test]
fn mixes_parse_and_bad_ones_say_why() {
    let mix = Mix::parse("pay=80, award=10,allocate=10").unwrap();
    assert_eq!(mix.to_string(), "pay=80,award=10,allocate=10");
    assert_eq!(mix, Mix::default());
    assert_eq!(
        Mix::parse("confirm-delivery=1,pay=0").unwrap().to_string(),
        "confirm-delivery=1"
    );
    let cases = [
        ("", MixError::Empty),
        ("pay", MixError::NotPair("pay".into())),
        ("pay=80,", MixError::NotPair("".into())),
        ("refund=5", MixError::UnknownOp("refund".into())),
        (
            "pay=-1",
            MixError::BadWeight {
                op: "pay",
                weight: "-1".into(),
            },
        ),
        (
            "award=lots",
            MixError::BadWeight {
                op: "award",
                weight: "lots".into(),
            },
        ),
        (
            "pay=2000000",
            MixError::BadWeight {
                op: "pay",
                weight: "2000000".into(),
            },
        ),
        ("pay=1,pay=2", MixError::Repeated("pay")),
        ("pay=0,award=0", MixError::AllZero),
    ];
    for (text, want) in cases {
        assert_eq!(Mix::parse(text), Err(want), "{text:?}");
    }
    // The message names the problem and what to write instead.
    let e = parse_mix("refund=5").unwrap_err();
    assert!(e.contains("refund") && e.contains("pay, award"), "{e}");
}

#[test]
fn ten_thousand_signers_set_up_in_phases_no_node_refuses() {
    let world = World::new(DEPARTMENTS_DEFAULT);
    assert_eq!(world.load_signers(), MINISTRIES_MAX + 10_000);
    let spec = LoadSpec {
        txs: 1_000,
        mix: Mix::default(),
        seed: 3,
        validators: 4,
        year: Year(2026),
    };
    let plan = plan(&world, CHAIN_ID, &spec);
    let mut total = 0;
    for (i, phase) in plan.setup.iter().enumerate() {
        let mut per_signer: BTreeMap<&EntityId, usize> = BTreeMap::new();
        for body in phase {
            *per_signer.entry(&body.signer).or_default() += 1;
        }
        let most = per_signer.values().max().copied().unwrap_or(0);
        assert!(
            most <= 64,
            "setup phase {i} holds {most} transactions of one signer"
        );
        total += phase.len();
    }
    // The treasury to each ministry, each ministry to its 1,250
    // departments (in 20 phases of 64 at most), then each department's
    // contracts.
    assert_eq!(
        total,
        MINISTRIES_MAX + 10_000 + 10_000 * SETUP_CONTRACTS_PER_DEPARTMENT
    );
    // One phase of appropriations, 20 of allocations, one of awards.
    assert_eq!(plan.setup.len(), 1 + 1_250usize.div_ceil(64) + 1);
    let ids: std::collections::BTreeSet<&EntityId> =
        plan.setup.iter().flatten().map(|b| &b.signer).collect();
    assert_eq!(ids.len(), 1 + MINISTRIES_MAX + 10_000);
}

/// The bench's genesis, keys derived from the ids as the feed's tests do.
fn genesis(world: &World) -> Genesis {
    let v = key("validator-0").public_key();
    let g = Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: 1_767_225_600_000,
        currency: Currency::default(),
        entities: world
            .entities()
            .iter()
            .map(|t| t.with_key(key(t.id.as_str()).public_key()))
            .collect(),
        validators: vec![Validator {
            name: "validator-0".into(),
            consensus_key: v,
            peer_id: PeerId::from_ed25519(&v).unwrap(),
            power: 10,
        }],
        nodes: Vec::new(),
        rotation_delay: genesis::ROTATION_DELAY_DEFAULT,
        control: Vec::new(),
    };
    g.check().unwrap();
    g
}

fn commit(state: &mut State, txs: &[SignedTx], what: &str) {
    match state.execute_block(txs) {
        Ok(outcome) => state.commit(outcome),
        Err((i, e)) => panic!(
            "{what}: transaction {i} ({:?}) is refused: {e}",
            txs[i].body
        ),
    }
}

#[test]
fn every_planned_transaction_executes_with_nonces_in_order() {
    const VALIDATORS: usize = 4;
    let world = World::new(21);
    let g = genesis(&world);
    let keys: BTreeMap<EntityId, SigningKey> = g
        .entities
        .iter()
        .map(|e| (e.id.clone(), key(e.id.as_str())))
        .collect();
    let spec = LoadSpec {
        txs: 6_000,
        mix: Mix::parse("pay=60,award=15,allocate=15,confirm-delivery=10").unwrap(),
        seed: 7,
        validators: VALIDATORS,
        year: Year(2026),
    };
    let plan = plan(&world, CHAIN_ID, &spec);
    assert_eq!(plan.load.len(), spec.txs);
    for kind in Kind::ALL {
        assert!(
            plan.load.iter().any(|p| p.body.op.name() == kind.name()),
            "the load has some {}",
            kind.name()
        );
    }

    // Every signer's nonces run 1, 2, 3, … over the setup and the load,
    // and each load signer is always sent to the same validator.
    let mut next: BTreeMap<&EntityId, u64> = BTreeMap::new();
    let mut pinned: BTreeMap<&EntityId, usize> = BTreeMap::new();
    let setup = plan.setup.iter().flatten();
    let load = plan.load.iter().map(|p| &p.body);
    for body in setup.chain(load) {
        let n = next.entry(&body.signer).or_insert(1);
        assert_eq!(body.nonce, *n, "{}'s nonces are sequential", body.signer);
        *n += 1;
    }
    for p in &plan.load {
        let v = *pinned.entry(&p.body.signer).or_insert(p.validator);
        assert_eq!(v, p.validator, "{} stays on one validator", p.body.signer);
        assert!(p.validator < VALIDATORS);
    }
    assert!(pinned.values().any(|v| *v == VALIDATORS - 1));

    // The setup phases commit one block each, on the real ledger.
    let mut state = g.state();
    for (i, phase) in plan.setup.iter().enumerate() {
        let bodies: Vec<&TxBody> = phase.iter().collect();
        let txs: Vec<SignedTx> = sign_all(&bodies, &keys, 2)
            .iter()
            .map(|s| SignedTx::decode(&s.bytes).unwrap())
            .collect();
        commit(&mut state, &txs, &format!("setup phase {i}"));
    }

    // The load commits in blocks where the validators' shares arrive in
    // reverse order, as a proposer that got them late would order them:
    // no load transaction may rely on another signer's.
    let bodies: Vec<&TxBody> = plan.load.iter().map(|p| &p.body).collect();
    let signed = sign_all(&bodies, &keys, 3);
    for (s, p) in signed.iter().zip(&plan.load) {
        let tx = SignedTx::decode(&s.bytes).unwrap();
        assert_eq!(tx.body, p.body);
        assert_eq!(tx.hash(), s.hash);
    }
    let txs: Vec<(usize, SignedTx)> = signed
        .iter()
        .zip(&plan.load)
        .map(|(s, p)| (p.validator, SignedTx::decode(&s.bytes).unwrap()))
        .collect();
    for (b, block) in txs.chunks(499).enumerate() {
        let mut ordered: Vec<SignedTx> = Vec::with_capacity(block.len());
        for v in (0..VALIDATORS).rev() {
            ordered.extend(
                block
                    .iter()
                    .filter(|(pv, _)| *pv == v)
                    .map(|(_, t)| t.clone()),
            );
        }
        commit(&mut state, &ordered, &format!("load block {b}"));
    }
    for p in &plan.load {
        assert_eq!(
            state.entity(&p.body.signer).unwrap().nonce,
            next[&p.body.signer] - 1,
            "every transaction of {} committed",
            p.body.signer
        );
    }
}
