//! The signature verdict cache: bounded, each signature verified once
//! whether it is admitted, proposed or re-checked, and a verdict never
//! reused for a key that has since been rotated.

use ledger::state::Verdict;
use ledger::testkit::{id, key};
use ledger::tx::Op;
use ledger::{SignedTx, TxError};
use node::mempool::{Mempool, MempoolLimits};

use crate::fixture::{appropriate, award, base, chain, sign, small_limits, DEPT_A, MOF};

#[test]
fn verdicts_are_cached_bounded_and_reused() {
    let chain = chain();
    let m = base(&chain.state, MOF);
    let txs: Vec<SignedTx> = (0..5).map(|k| appropriate(m + k, "v")).collect();
    let mof_key = key(MOF).public_key();

    let mut pool = Mempool::new(MempoolLimits {
        verdicts_max: 2,
        ..small_limits()
    });
    let verdicts = pool.verdicts_for(&txs, &chain.state);
    let valid = Some(Verdict {
        key: mof_key,
        valid: true,
    });
    assert_eq!(verdicts, vec![valid; 5]);
    assert_eq!(pool.signatures_verified(), 5);
    assert_eq!(pool.verdict_cache().len(), 2);
    // The newest two are cached, the oldest were evicted.
    assert_eq!(pool.verdict(&txs[4].hash()), valid);
    assert_eq!(pool.verdict(&txs[0].hash()), None);
    pool.verdicts_for(&txs[3..], &chain.state);
    assert_eq!(pool.signatures_verified(), 5);
    pool.verdicts_for(&txs[..1], &chain.state);
    assert_eq!(pool.signatures_verified(), 6);
    assert_eq!(pool.verdict_cache().len(), 2);

    // With room, admitting, proposing and re-checking verify each once.
    let mut pool = Mempool::new(small_limits());
    pool.insert(txs[0].clone(), &chain.state).unwrap();
    assert_eq!(pool.signatures_verified(), 1);
    pool.insert(txs[0].clone(), &chain.state).unwrap_err();
    pool.verdicts_for(&txs[..1], &chain.state);
    assert!(pool.on_commit(&[], &chain.state).is_empty());
    assert_eq!(pool.signatures_verified(), 1);
    // A proposal with one known and one new transaction verifies only the new one.
    let v = pool.verdicts_for(&txs[..2], &chain.state);
    assert_eq!(v, vec![valid; 2]);
    assert_eq!(pool.signatures_verified(), 2);
    // A duplicate inside one batch is verified once.
    pool.verdicts_for(&[txs[2].clone(), txs[2].clone()], &chain.state);
    assert_eq!(pool.signatures_verified(), 3);
}

#[test]
fn a_verdict_for_an_old_key_is_not_reused() {
    let mut chain = chain();
    let mut pool = Mempool::new(small_limits());
    let a = base(&chain.state, DEPT_A);
    let signed_by_old_key = award(DEPT_A, a + 1, 1);
    let rotate = sign(
        DEPT_A,
        a,
        Op::RotateKey {
            entity: id(DEPT_A),
            public_key: key("new key").public_key(),
        },
    );
    pool.insert(rotate.clone(), &chain.state).unwrap();
    pool.insert(signed_by_old_key.clone(), &chain.state)
        .unwrap();
    assert_eq!(pool.signatures_verified(), 2);
    chain.commit(vec![rotate.clone()]).unwrap();
    let dropped = pool.on_commit(&[rotate], &chain.state);
    assert_eq!(
        dropped,
        vec![(
            signed_by_old_key.hash(),
            TxError::BadSignature { signer: id(DEPT_A) }
        )]
    );
    assert_eq!(pool.signatures_verified(), 3);
    assert!(pool.is_empty());
}
