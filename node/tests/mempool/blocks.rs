//! Blocks: what a block reaped from the pool takes, fairly and within its
//! bounds, what a failing transaction drops, and what a committed block
//! removes from the pool and re-checks.

use ledger::testkit::id;
use ledger::tx::{Op, Status};
use ledger::{Amount, TxError};
use node::mempool::Mempool;

use crate::fixture::{
    appropriate, award, base, chain, line, nonces, sign, small_limits, year, DEPT_A, DEPT_B,
    DEPT_BUDGET, DEPT_C, MOF,
};

#[test]
fn a_failing_transaction_drops_its_signers_later_nonces_only() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let a = base(&chain.state, DEPT_A);
    let b = base(&chain.state, DEPT_B);
    // A: 60 then 60 of its 100: the second cannot execute after the first.
    let a1 = award(DEPT_A, a, 60);
    let a2 = award(DEPT_A, a + 1, 60);
    let a3 = award(DEPT_A, a + 2, 1);
    let b1 = award(DEPT_B, b, 10);
    let b2 = award(DEPT_B, b + 1, 10);
    for tx in [&a1, &a2, &a3, &b1, &b2] {
        pool.insert(tx.clone(), &chain.state).unwrap();
    }

    let reaped = pool.reap(&chain.state, 100, 1 << 20);
    // Turns: A, B, A (fails), B.
    assert_eq!(
        nonces(&reaped.txs),
        vec![
            (DEPT_A.into(), a),
            (DEPT_B.into(), b),
            (DEPT_B.into(), b + 1)
        ]
    );
    let over = TxError::OverBudget {
        entity: id(DEPT_A),
        year: year(),
        line: line(),
        requested: Amount(60),
        available: Amount(40),
    };
    assert_eq!(reaped.rejected, vec![(a2.hash(), over.clone())]);
    chain.state.execute_block(&reaped.txs).unwrap();

    let dropped = pool.drop_tx(&a2.hash(), over.clone());
    assert_eq!(
        dropped,
        vec![
            (a2.hash(), over),
            (
                a3.hash(),
                TxError::BadNonce {
                    signer: id(DEPT_A),
                    expected: a + 1,
                    got: a + 2
                }
            ),
        ]
    );
    assert_eq!(pool.len(), 3);
    // The next transaction of a signer is executed on admission.
    let c = base(&chain.state, DEPT_C);
    assert_eq!(
        pool.insert(award(DEPT_C, c, DEPT_BUDGET + 1), &chain.state),
        Err(TxError::OverBudget {
            entity: id(DEPT_C),
            year: year(),
            line: line(),
            requested: Amount(DEPT_BUDGET + 1),
            available: Amount(DEPT_BUDGET),
        })
    );
    assert_eq!(pool.len(), 3);
    for kept in [&a1, &b1, &b2] {
        assert!(pool.contains(&kept.hash()));
    }
    assert_eq!(pool.next_nonce(&id(DEPT_A), &chain.state), Some(a + 1));
    assert!(pool
        .drop_tx(&a2.hash(), TxError::MempoolFull { reason: "x".into() })
        .is_empty());
}

#[test]
fn on_commit_removes_committed_and_stale_and_rechecks() {
    let mut chain = chain();
    let mut pool = Mempool::new(small_limits());
    let m = base(&chain.state, MOF);
    let a = base(&chain.state, DEPT_A);
    let b = base(&chain.state, DEPT_B);
    let c = base(&chain.state, DEPT_C);
    let a1 = award(DEPT_A, a, 60);
    let a2 = award(DEPT_A, a + 1, 60); // over budget once a1 commits
    let b1 = award(DEPT_B, b, 10);
    let b2 = award(DEPT_B, b + 1, 10);
    let c1 = award(DEPT_C, c, 10);
    let ours = appropriate(m, "ours"); // loses its nonce to `theirs`
    for tx in [&a1, &a2, &b1, &b2, &c1, &ours] {
        pool.insert(tx.clone(), &chain.state).unwrap();
    }
    let pooled_before = pool.signatures_verified();

    // Another proposer's block: a1, and the treasury suspends B with the
    // nonce our pooled treasury transaction has.
    let theirs = sign(
        MOF,
        m,
        Op::SetStatus {
            entity: id(DEPT_B),
            status: Status::Suspended,
        },
    );
    let block = vec![a1.clone(), theirs];
    chain.commit(block.clone()).unwrap();
    let mut dropped = pool.on_commit(&block, &chain.state);
    dropped.sort_by_key(|(h, _)| *h);

    let mut expected = vec![
        (
            ours.hash(),
            TxError::BadNonce {
                signer: id(MOF),
                expected: m + 1,
                got: m,
            },
        ),
        (
            a2.hash(),
            TxError::OverBudget {
                entity: id(DEPT_A),
                year: year(),
                line: line(),
                requested: Amount(60),
                available: Amount(40),
            },
        ),
        (b1.hash(), TxError::Inactive { entity: id(DEPT_B) }),
        (
            b2.hash(),
            TxError::BadNonce {
                signer: id(DEPT_B),
                expected: b,
                got: b + 1,
            },
        ),
    ];
    expected.sort_by_key(|(h, _)| *h);
    assert_eq!(dropped, expected);
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&c1.hash()));
    assert_eq!(pool.bytes(), c1.encode().len());
    // Re-checking used the cached verdicts.
    assert_eq!(pool.signatures_verified(), pooled_before);
    let reaped = pool.reap(&chain.state, 100, 1 << 20);
    assert_eq!(reaped.txs, vec![c1]);
    chain.state.execute_block(&reaped.txs).unwrap();
}

#[test]
fn on_commit_of_our_own_block_empties_the_pool() {
    let mut chain = chain();
    let mut pool = Mempool::new(small_limits());
    let m = base(&chain.state, MOF);
    for k in 0..5 {
        pool.insert(appropriate(m + k, "own"), &chain.state)
            .unwrap();
    }
    pool.insert(appropriate(m + 7, "future"), &chain.state)
        .unwrap();
    let reaped = pool.reap(&chain.state, 3, 1 << 20);
    chain.commit(reaped.txs.clone()).unwrap();
    assert!(pool.on_commit(&reaped.txs, &chain.state).is_empty());
    assert_eq!(pool.len(), 3);
    assert_eq!(pool.next_nonce(&id(MOF), &chain.state), Some(m + 5));
    let reaped = pool.reap(&chain.state, 100, 1 << 20);
    assert_eq!(
        nonces(&reaped.txs),
        vec![(MOF.into(), m + 3), (MOF.into(), m + 4)]
    );
}

#[test]
fn reap_is_fair_bounded_and_executes_as_a_block() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let m = base(&chain.state, MOF);
    let a = base(&chain.state, DEPT_A);
    let b = base(&chain.state, DEPT_B);
    // Arrival order: MOF, A, B.
    let txs = vec![
        appropriate(m, "1"),
        appropriate(m + 1, "2"),
        award(DEPT_A, a, 1),
        appropriate(m + 2, "3"),
        award(DEPT_B, b, 1),
        award(DEPT_A, a + 1, 1),
    ];
    for r in pool.insert_batch(txs.clone(), &chain.state) {
        r.unwrap();
    }
    let all = vec![
        (MOF.to_string(), m),
        (DEPT_A.into(), a),
        (DEPT_B.into(), b),
        (MOF.into(), m + 1),
        (DEPT_A.into(), a + 1),
        (MOF.into(), m + 2),
    ];
    let reaped = pool.reap(&chain.state, 100, 1 << 20);
    assert_eq!(nonces(&reaped.txs), all);
    assert_eq!(
        reaped.bytes,
        txs.iter().map(|t| t.encode().len()).sum::<usize>()
    );
    chain.state.execute_block(&reaped.txs).unwrap();
    // Deterministic.
    assert_eq!(pool.reap(&chain.state, 100, 1 << 20).txs, reaped.txs);

    for txs_max in 0..=6 {
        let r = pool.reap(&chain.state, txs_max, 1 << 20);
        assert_eq!(nonces(&r.txs), all[..txs_max].to_vec());
        chain.state.execute_block(&r.txs).unwrap();
    }
    let three: usize = reaped.txs[..3].iter().map(|t| t.encode().len()).sum();
    let r = pool.reap(&chain.state, 100, three);
    assert_eq!(nonces(&r.txs), all[..3].to_vec());
    assert_eq!(r.bytes, three);
    let r = pool.reap(&chain.state, 100, three - 1);
    assert!(r.bytes < three);
    assert_eq!(
        r.bytes,
        r.txs.iter().map(|t| t.encode().len()).sum::<usize>()
    );
    chain.state.execute_block(&r.txs).unwrap();
}
