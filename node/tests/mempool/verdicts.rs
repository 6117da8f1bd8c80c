//! The signature verdict cache: bounded, each signature verified once
//! whether it is admitted, proposed or re-checked, counted per signature,
//! and a verdict that depends on the transaction alone: whether the keys
//! that signed may act for the signer is decided when it executes.

use ledger::state::Verdict;
use ledger::testkit::{id, key};
use ledger::tx::Op;
use ledger::{SignedTx, TxError};
use node::mempool::{Mempool, MempoolLimits};

use crate::fixture::{appropriate, award, base, chain, sign, small_limits, DEPT_A, DEPT_B, MOF};

const VALID: Option<Verdict> = Some(Verdict { valid: true });

#[test]
fn verdicts_are_cached_bounded_and_reused() {
    let chain = chain();
    let m = base(&chain.state, MOF);
    let txs: Vec<SignedTx> = (0..5).map(|k| appropriate(m + k, "v")).collect();

    let mut pool = Mempool::new(MempoolLimits {
        verdicts_max: 2,
        ..small_limits()
    });
    let verdicts = pool.verdicts_for(&txs, &chain.state);
    assert_eq!(verdicts, vec![VALID; 5]);
    assert_eq!(pool.signatures_verified(), 5);
    assert_eq!(pool.verdict_cache().len(), 2);
    // The newest two are cached, the oldest were evicted.
    assert_eq!(pool.verdict(&txs[4].hash()), VALID);
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
    assert_eq!(v, vec![VALID; 2]);
    assert_eq!(pool.signatures_verified(), 2);
    // A duplicate inside one batch is verified once.
    pool.verdicts_for(&[txs[2].clone(), txs[2].clone()], &chain.state);
    assert_eq!(pool.signatures_verified(), 3);
}

/// The keys DEPT_B holds after [`two_of_three`].
fn dept_b_keys() -> [ledger::crypto::SigningKey; 3] {
    [key("B one"), key("B two"), key("B three")]
}

/// DEPT_B replaces its key with three keys, two of which must sign.
fn two_of_three(chain: &mut ledger::testkit::TestChain) {
    let b = base(&chain.state, DEPT_B);
    let keys = dept_b_keys();
    chain
        .commit(vec![sign(
            DEPT_B,
            b,
            Op::SetKeys {
                entity: id(DEPT_B),
                keys: keys.iter().map(|k| k.public_key()).collect(),
                threshold: 2,
            },
        )])
        .unwrap();
}

/// An award by DEPT_B at its next nonce, signed by `signers`.
fn award_by_b(
    chain: &ledger::testkit::TestChain,
    signers: &[&ledger::crypto::SigningKey],
) -> SignedTx {
    let b = base(&chain.state, DEPT_B);
    award(DEPT_B, b, 3).body.sign_all(signers)
}

#[test]
fn every_signature_of_a_transaction_is_counted() {
    let mut chain = chain();
    two_of_three(&mut chain);
    let [one, two, three] = dept_b_keys();
    let pair = award_by_b(&chain, &[&one, &three]);
    let all = award_by_b(&chain, &[&one, &two, &three]);
    assert_eq!((pair.signatures.len(), all.signatures.len()), (2, 3));

    // A proposal: 2 + 3 signatures, then none again from the cache.
    let mut pool = Mempool::new(small_limits());
    let v = pool.verdicts_for(&[pair.clone(), all.clone()], &chain.state);
    assert_eq!(v, vec![VALID; 2]);
    assert_eq!(pool.signatures_verified(), 5);
    pool.verdicts_for(&[all.clone(), pair.clone()], &chain.state);
    assert_eq!(pool.signatures_verified(), 5);

    // Admission one at a time, and as a batch, count the same.
    let mut pool = Mempool::new(small_limits());
    assert_eq!(pool.insert(pair.clone(), &chain.state), Ok(pair.hash()));
    assert_eq!(pool.signatures_verified(), 2);
    let mut pool = Mempool::new(small_limits());
    let results = pool.insert_batch(vec![all.clone(), pair.clone()], &chain.state);
    assert_eq!(results[0], Ok(all.hash()));
    // The same nonce again: refused, but its two signatures were checked.
    assert_eq!(results[1].as_ref().unwrap_err().code(), "duplicate");
    assert_eq!(pool.signatures_verified(), 5);

    // One key short of the threshold: the signature is good, the
    // transaction is not, and the one signature was still checked once.
    let mut pool = Mempool::new(small_limits());
    let alone = award_by_b(&chain, &[&two]);
    assert_eq!(
        pool.insert(alone.clone(), &chain.state),
        Err(TxError::ThresholdNotMet {
            entity: id(DEPT_B),
            threshold: 2,
            signed: 1,
        })
    );
    assert_eq!(pool.verdict(&alone.hash()), VALID);
    assert_eq!(pool.signatures_verified(), 1);

    // One bad signature among good ones makes the verdict invalid.
    let mut forged = all.clone();
    forged.signatures[1].signature.0[0] ^= 1;
    assert_eq!(
        pool.insert(forged.clone(), &chain.state),
        Err(TxError::BadSignature { signer: id(DEPT_B) })
    );
    assert_eq!(pool.verdict(&forged.hash()), Some(Verdict { valid: false }));
    assert_eq!(pool.signatures_verified(), 4);
}

#[test]
fn a_cached_verdict_does_not_let_a_rotated_key_act() {
    let mut chain = chain();
    let mut pool = Mempool::new(small_limits());
    let a = base(&chain.state, DEPT_A);
    let old_key = key(DEPT_A).public_key();
    let new_key = key("new key");
    let signed_by_old_key = award(DEPT_A, a + 1, 1);
    let rotate = sign(
        DEPT_A,
        a,
        Op::RotateKey {
            entity: id(DEPT_A),
            public_key: new_key.public_key(),
        },
    );
    pool.insert(rotate.clone(), &chain.state).unwrap();
    // Not the signer's next transaction: admitted on its valid signature.
    pool.insert(signed_by_old_key.clone(), &chain.state)
        .unwrap();
    assert_eq!(pool.signatures_verified(), 2);
    chain.commit(vec![rotate.clone()]).unwrap();
    let dropped = pool.on_commit(&[rotate], &chain.state);
    let refused = TxError::ForeignSignature {
        key: old_key,
        signer: id(DEPT_A),
        controller: None,
    };
    assert_eq!(dropped, vec![(signed_by_old_key.hash(), refused.clone())]);
    assert_eq!(refused.code(), "foreign_signature");
    // The re-check reused the cached verdict, which still holds: the
    // signature is good, only the key no longer acts for the signer.
    assert_eq!(pool.signatures_verified(), 2);
    assert_eq!(pool.verdict(&signed_by_old_key.hash()), VALID);
    assert!(pool.is_empty());

    // Sent again, it is refused the same way, from the cache.
    assert_eq!(
        pool.insert(signed_by_old_key.clone(), &chain.state),
        Err(refused.clone())
    );
    assert_eq!(pool.signatures_verified(), 2);
    // The ledger refuses it too, with the cached verdict given.
    let verdict = pool.verdict(&signed_by_old_key.hash());
    assert_eq!(
        chain
            .state
            .begin_block()
            .apply_tx(&signed_by_old_key, verdict),
        Err(refused)
    );
    // The same award signed by the new key is admitted.
    let signed_by_new_key = signed_by_old_key.body.clone().sign(&new_key);
    assert_eq!(
        pool.insert(signed_by_new_key.clone(), &chain.state),
        Ok(signed_by_new_key.hash())
    );
    assert_eq!(pool.signatures_verified(), 3);
}
