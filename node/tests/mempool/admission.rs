//! Admission: each transaction once, nonces in order with at most 64 ahead
//! per signer, a full pool that refuses and names its limit before checking
//! signatures, and the codes that name what is wrong with a submission.

use ledger::testkit::{id, key, CHAIN_ID};
use ledger::tx::{Op, TxBody};
use ledger::{Amount, Hash, SignedTx, TxError};
use node::mempool::{Mempool, MempoolLimits};

use crate::fixture::{
    appropriate, award, base, chain, fill_then_refuse, line, nonces, sign, small_limits, year,
    DEPT_A, DEPT_B, MOF,
};

#[test]
fn a_transaction_is_admitted_once_and_its_nonce_slot_is_taken() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let n = base(&chain.state, MOF);
    let tx = appropriate(n, "QĐ-2");
    assert_eq!(pool.insert(tx.clone(), &chain.state), Ok(tx.hash()));
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.bytes(), tx.encode().len());

    let again = pool.insert(tx.clone(), &chain.state);
    assert_eq!(
        again,
        Err(TxError::Duplicate {
            what: "transaction",
            id: tx.hash().to_hex()
        })
    );
    let in_batch = pool.insert_batch(vec![tx.clone()], &chain.state);
    assert_eq!(in_batch[0].as_ref().unwrap_err().code(), "duplicate");

    // Another transaction for the same signer and nonce.
    let rival = appropriate(n, "QĐ-3");
    let err = pool.insert(rival.clone(), &chain.state).unwrap_err();
    assert_eq!(err.code(), "duplicate");
    assert!(
        err.to_string().contains(&format!("MOF with nonce {n}")),
        "{err}"
    );
    assert!(!pool.contains(&rival.hash()));

    // A nonce already committed.
    let old = appropriate(n - 1, "QĐ-4");
    assert_eq!(
        pool.insert(old, &chain.state),
        Err(TxError::BadNonce {
            signer: id(MOF),
            expected: n + 1,
            got: n - 1
        })
    );
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.bytes(), tx.encode().len());
    let status = pool.status(&tx.hash()).unwrap();
    assert_eq!((status.nonce, status.ready), (n, true));
    assert_eq!(pool.status(&rival.hash()), None);
}

#[test]
fn nonces_wait_for_their_gap_and_reap_in_order() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let n = base(&chain.state, MOF);
    let signer = id(MOF);
    assert_eq!(pool.next_nonce(&signer, &chain.state), Some(n));

    let first = appropriate(n, "a");
    let third = appropriate(n + 2, "c");
    let second = appropriate(n + 1, "b");
    pool.insert(first, &chain.state).unwrap();
    assert_eq!(pool.next_nonce(&signer, &chain.state), Some(n + 1));
    pool.insert(third.clone(), &chain.state).unwrap();
    assert_eq!(pool.next_nonce(&signer, &chain.state), Some(n + 1));
    assert!(!pool.status(&third.hash()).unwrap().ready);
    let reaped = pool.reap(&chain.state, 100, 1 << 20);
    assert_eq!(nonces(&reaped.txs), vec![(MOF.into(), n)]);

    pool.insert(second, &chain.state).unwrap();
    assert_eq!(pool.next_nonce(&signer, &chain.state), Some(n + 3));
    assert!(pool.status(&third.hash()).unwrap().ready);
    let reaped = pool.reap(&chain.state, 100, 1 << 20);
    assert_eq!(
        nonces(&reaped.txs),
        vec![(MOF.into(), n), (MOF.into(), n + 1), (MOF.into(), n + 2)]
    );
    assert!(reaped.rejected.is_empty());
    chain.state.execute_block(&reaped.txs).unwrap();

    assert_eq!(pool.next_nonce(&id("NOBODY"), &chain.state), None);
}

#[test]
fn a_signer_holds_at_most_64_future_nonces() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let n = base(&chain.state, MOF);
    // Nonce n is missing, so n+1 ..= n+64 are all future.
    for k in 1..=64 {
        pool.insert(appropriate(n + k, "f"), &chain.state)
            .unwrap_or_else(|e| panic!("future nonce {k}: {e}"));
    }
    let err = pool
        .insert(appropriate(n + 65, "f"), &chain.state)
        .unwrap_err();
    assert_eq!(err.code(), "mempool_full");
    assert!(
        err.to_string().contains("future_nonces_per_signer_max"),
        "{err}"
    );
    assert_eq!(pool.len(), 64);
    // Other signers are not affected.
    let other = base(&chain.state, DEPT_A);
    pool.insert(award(DEPT_A, other, 1), &chain.state).unwrap();

    // Filling the gap makes all 65 ready, and the window moves on.
    pool.insert(appropriate(n, "f"), &chain.state).unwrap();
    assert_eq!(pool.next_nonce(&id(MOF), &chain.state), Some(n + 65));
    pool.insert(appropriate(n + 65, "f"), &chain.state).unwrap();
    pool.insert(appropriate(n + 66 + 64, "f"), &chain.state)
        .unwrap();
    let err = pool
        .insert(appropriate(n + 66 + 65, "f"), &chain.state)
        .unwrap_err();
    assert_eq!(err.code(), "mempool_full");
}

#[test]
fn a_full_mempool_refuses_and_names_the_limit() {
    let chain = chain();
    let n = base(&chain.state, MOF);
    let txs: Vec<SignedTx> = (0..4).map(|k| appropriate(n + k, "QĐ-9")).collect();

    let limits = MempoolLimits {
        txs_max: 3,
        ..small_limits()
    };
    let mut by_count = fill_then_refuse(limits, &txs, 3, &chain.state, "txs_max 3");
    // A duplicate is still named as one.
    let dup = by_count.insert(txs[0].clone(), &chain.state).unwrap_err();
    assert_eq!(dup.code(), "duplicate");
    assert_eq!(by_count.len(), 3);

    let two: usize = txs[..2].iter().map(|t| t.encode().len()).sum();
    let limits = MempoolLimits {
        bytes_max: two + 1,
        ..small_limits()
    };
    let limit = format!("bytes_max {}", two + 1);
    let by_bytes = fill_then_refuse(limits, &txs, 2, &chain.state, &limit);
    assert_eq!((by_bytes.len(), by_bytes.bytes()), (2, two));
}

#[test]
fn a_full_mempool_refuses_before_checking_signatures() {
    let chain = chain();
    let n = base(&chain.state, MOF);
    let txs: Vec<SignedTx> = (0..12).map(|k| appropriate(n + k, "QĐ-9")).collect();
    let mut pool = Mempool::new(MempoolLimits {
        txs_max: 4,
        ..small_limits()
    });
    let first = pool.insert_batch(txs[..3].to_vec(), &chain.state);
    assert!(first.iter().all(Result::is_ok), "{first:?}");
    let verified = pool.signatures_verified();
    assert_eq!(verified, 3);

    // Room for one: of a batch of nine, only one signature is checked.
    let second = pool.insert_batch(txs[3..].to_vec(), &chain.state);
    assert!(second[0].is_ok(), "{:?}", second[0]);
    for r in &second[1..] {
        assert_eq!(r.as_ref().unwrap_err().code(), "mempool_full", "{r:?}");
    }
    assert_eq!(pool.signatures_verified(), verified + 1);
    assert_eq!(pool.len(), 4);

    // Full: a forged transaction is refused as such, unchecked.
    let mut forged = appropriate(n + 20, "QĐ-9");
    forged.signatures[0].signature.0[0] ^= 1;
    let err = pool.insert(forged, &chain.state).unwrap_err();
    assert_eq!(err.code(), "mempool_full");
    assert_eq!(pool.signatures_verified(), verified + 1);
}

#[test]
fn bad_and_foreign_signatures_wrong_chain_and_unknown_signer_are_named_in_a_batch() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let m = base(&chain.state, MOF);
    let a = base(&chain.state, DEPT_A);
    let good = appropriate(m, "ok");
    let mut forged = award(DEPT_A, a, 5);
    forged.signatures[0].signature.0[0] ^= 1;
    let wrong_key = TxBody {
        chain_id: CHAIN_ID.into(),
        signer: id(DEPT_B),
        nonce: 1,
        op: Op::ReturnFunds {
            year: year(),
            line: line(),
            amount: Amount(1),
        },
    }
    .sign(&key(DEPT_A));
    let other_chain = TxBody {
        chain_id: "another-chain".into(),
        ..appropriate(m + 1, "x").body
    }
    .sign(&key(MOF));
    let stranger = sign(
        "NOBODY",
        1,
        Op::ReturnFunds {
            year: year(),
            line: line(),
            amount: Amount(1),
        },
    );
    let results = pool.insert_batch(
        vec![
            good.clone(),
            forged.clone(),
            wrong_key,
            other_chain,
            stranger,
        ],
        &chain.state,
    );
    let codes: Vec<Result<Hash, &str>> = results
        .iter()
        .map(|r| r.as_ref().map(|h| *h).map_err(|e| e.code()))
        .collect();
    assert_eq!(
        codes,
        vec![
            Ok(good.hash()),
            Err("bad_signature"),
            Err("foreign_signature"),
            Err("wrong_chain"),
            Err("unknown_signer"),
        ]
    );
    assert_eq!(
        results[1],
        Err(TxError::BadSignature { signer: id(DEPT_A) })
    );
    // A good signature by a key that is not the signer's.
    assert_eq!(
        results[2],
        Err(TxError::ForeignSignature {
            key: key(DEPT_A).public_key(),
            signer: id(DEPT_B),
            controller: None,
        })
    );
    // Only the three with a known signer on this chain were verified.
    assert_eq!(pool.signatures_verified(), 3);
    assert_eq!(pool.verdict(&forged.hash()).map(|v| v.valid), Some(false));
    // Sent again, the forgery is refused from the cache.
    assert_eq!(
        pool.insert(forged, &chain.state).unwrap_err().code(),
        "bad_signature"
    );
    assert_eq!(pool.signatures_verified(), 3);
    assert_eq!(pool.len(), 1);
}

#[test]
fn no_one_but_the_signer_takes_its_future_nonces() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let n = base(&chain.state, MOF);
    // Two nonces ahead, signed by a key MOF does not hold: a valid
    // signature, refused before it can take the slot.
    let real = appropriate(n + 2, "QĐ-9");
    let squatter = TxBody {
        chain_id: CHAIN_ID.into(),
        signer: id(MOF),
        nonce: n + 2,
        op: real.body.op.clone(),
    }
    .sign(&key("not MOF"));
    assert!(squatter.verify_signatures());
    let err = pool.insert(squatter.clone(), &chain.state).unwrap_err();
    assert_eq!(err.code(), "foreign_signature", "{err}");
    let batch = pool.insert_batch(vec![squatter], &chain.state);
    assert_eq!(batch[0].as_ref().unwrap_err().code(), "foreign_signature");
    assert!(pool.is_empty());
    // MOF's own transaction at that nonce is admitted.
    assert_eq!(pool.insert(real.clone(), &chain.state), Ok(real.hash()));
}
