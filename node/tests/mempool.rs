//! The mempool at its boundary: admission codes, nonce order, limits, block
//! selection, re-checks after commits and the signature verdict cache. Every
//! reaped list is executed as a block by the ledger.

use ledger::state::Verdict;
use ledger::testkit::{id, key, TestChain, CHAIN_ID};
use ledger::tx::{EntityKind, Op, Status, TxBody};
use ledger::{Amount, ContractId, Hash, LineCode, SignedTx, State, TxError, Year};
use node::mempool::{Mempool, MempoolLimits, FUTURE_NONCES_PER_SIGNER_MAX};

const MOF: &str = "MOF";
const MOH: &str = "MOH";
const DEPT_A: &str = "MOH.BVBM";
const DEPT_B: &str = "MOH.BVCR";
const DEPT_C: &str = "MOH.BVTN";
const VENDOR: &str = "V-0042";
/// What each department receives in the fixture.
const DEPT_BUDGET: u64 = 100;

fn year() -> Year {
    Year::new(2026).unwrap()
}

fn line() -> LineCode {
    LineCode::new("0402-HEALTH").unwrap()
}

fn sign(signer: &str, nonce: u64, op: Op) -> SignedTx {
    TxBody {
        chain_id: CHAIN_ID.into(),
        signer: id(signer),
        nonce,
        op,
    }
    .sign(&key(signer))
}

/// The committed nonce + 1 of `signer`.
fn base(state: &State, signer: &str) -> u64 {
    state.next_nonce(&id(signer)).unwrap()
}

/// A treasury transaction that always executes: appropriate 1 to MOH.
fn appropriate(nonce: u64, legal_ref: &str) -> SignedTx {
    sign(
        MOF,
        nonce,
        Op::Appropriate {
            year: year(),
            line: line(),
            to: id(MOH),
            amount: Amount(1),
            legal_ref: legal_ref.into(),
        },
    )
}

/// `dept` commits `amount` of its budget to a new contract.
fn award(dept: &str, nonce: u64, amount: u64) -> SignedTx {
    sign(
        dept,
        nonce,
        Op::Award {
            contract: ContractId::new(&format!("C-{dept}-{nonce}")).unwrap(),
            year: year(),
            line: line(),
            vendor: id(VENDOR),
            amount: Amount(amount),
            title: "Máy thở".into(),
            document_hash: None,
        },
    )
}

/// A chain with a ministry, three departments holding [`DEPT_BUDGET`] each,
/// and a vendor.
fn chain() -> TestChain {
    let mut chain = TestChain::new(1);
    let register = |n: u64, who: &str, kind: EntityKind, parent: Option<&str>| {
        sign(
            MOF,
            n,
            Op::RegisterEntity {
                id: id(who),
                kind,
                name: format!("Đơn vị {who}"),
                parent: parent.map(id),
                public_key: key(who).public_key(),
            },
        )
    };
    chain
        .commit(vec![
            register(1, MOH, EntityKind::Ministry, None),
            register(2, VENDOR, EntityKind::Vendor, None),
        ])
        .unwrap();
    chain
        .commit(vec![
            register(3, DEPT_A, EntityKind::Department, Some(MOH)),
            register(4, DEPT_B, EntityKind::Department, Some(MOH)),
            register(5, DEPT_C, EntityKind::Department, Some(MOH)),
            sign(
                MOF,
                6,
                Op::Appropriate {
                    year: year(),
                    line: line(),
                    to: id(MOH),
                    amount: Amount(1_000_000),
                    legal_ref: "QĐ-1".into(),
                },
            ),
        ])
        .unwrap();
    let allocations = [DEPT_A, DEPT_B, DEPT_C]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            sign(
                MOH,
                i as u64 + 1,
                Op::Allocate {
                    year: year(),
                    line: line(),
                    to: id(d),
                    amount: Amount(DEPT_BUDGET),
                },
            )
        })
        .collect();
    chain.commit(allocations).unwrap();
    chain
}

fn small_limits() -> MempoolLimits {
    MempoolLimits {
        txs_max: 1000,
        bytes_max: 1 << 20,
        future_nonces_per_signer_max: FUTURE_NONCES_PER_SIGNER_MAX,
        txs_per_signer_max: 1000,
        bytes_per_signer_max: 1 << 20,
        verdicts_max: 1000,
    }
}

fn nonces(txs: &[SignedTx]) -> Vec<(String, u64)> {
    txs.iter()
        .map(|t| (t.body.signer.to_string(), t.body.nonce))
        .collect()
}

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

/// A pool with `limits` admits `txs[..n]` and refuses `txs[n]` with
/// `mempool_full`, naming `limit`.
fn fill_then_refuse(
    limits: MempoolLimits,
    txs: &[SignedTx],
    n: usize,
    state: &State,
    limit: &str,
) -> Mempool {
    let mut pool = Mempool::new(limits);
    for tx in &txs[..n] {
        pool.insert(tx.clone(), state).unwrap();
    }
    let err = pool.insert(txs[n].clone(), state).unwrap_err();
    assert_eq!(err.code(), "mempool_full");
    assert!(err.to_string().contains(limit), "{err}");
    pool
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
    forged.signature.0[0] ^= 1;
    let err = pool.insert(forged, &chain.state).unwrap_err();
    assert_eq!(err.code(), "mempool_full");
    assert_eq!(pool.signatures_verified(), verified + 1);
}

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

#[test]
fn bad_signature_wrong_chain_and_unknown_signer_are_named_in_a_batch() {
    let chain = chain();
    let mut pool = Mempool::new(small_limits());
    let m = base(&chain.state, MOF);
    let a = base(&chain.state, DEPT_A);
    let good = appropriate(m, "ok");
    let mut forged = award(DEPT_A, a, 5);
    forged.signature.0[0] ^= 1;
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
            Err("bad_signature"),
            Err("wrong_chain"),
            Err("unknown_signer"),
        ]
    );
    assert_eq!(
        results[1],
        Err(TxError::BadSignature { signer: id(DEPT_A) })
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

/// A small deterministic generator, so that a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Random submissions (gaps, repeats, stale and far-future nonces, awards
/// that may overspend) interleaved with blocks reaped from the pool and
/// blocks from elsewhere: the pool's counts match its contents, `next_nonce`
/// matches the contents, and every reap executes as a block.
#[test]
fn random_traffic_keeps_the_pool_consistent() {
    let signers = [MOF, DEPT_A, DEPT_B, DEPT_C];
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut chain = chain();
        let mut pool = Mempool::new(MempoolLimits {
            txs_max: 40,
            bytes_max: 40 * 200,
            future_nonces_per_signer_max: 4,
            txs_per_signer_max: 40,
            bytes_per_signer_max: 40 * 200,
            verdicts_max: 30,
        });
        for step in 0..150 {
            let who = signers[rng.below(4) as usize];
            let next = base(&chain.state, who);
            let nonce = (next + rng.below(10)).saturating_sub(2);
            let tx = match who {
                MOF => appropriate(nonce, &format!("r{}", rng.below(3))),
                dept => award(dept, nonce, 1 + rng.below(30)),
            };
            let _ = pool.insert(tx, &chain.state);
            match rng.below(10) {
                0..=1 => {
                    let r = pool.reap(&chain.state, rng.below(6) as usize, 1 << 20);
                    for (h, e) in r.rejected {
                        pool.drop_tx(&h, e);
                    }
                    chain.commit(r.txs.clone()).unwrap_or_else(|(i, e)| {
                        panic!("seed {seed} step {step}: reaped tx {i} fails: {e}")
                    });
                    pool.on_commit(&r.txs, &chain.state);
                }
                2 => {
                    // A block from elsewhere takes a treasury nonce.
                    let n = base(&chain.state, MOF);
                    let block = vec![appropriate(n, "elsewhere")];
                    chain.commit(block.clone()).unwrap();
                    pool.on_commit(&block, &chain.state);
                }
                _ => {}
            }
            let listed: Vec<&SignedTx> = pool.iter().map(|(_, t)| t).collect();
            assert_eq!(listed.len(), pool.len());
            assert!(pool.len() <= 40);
            let bytes: usize = listed.iter().map(|t| t.encode().len()).sum();
            assert_eq!(bytes, pool.bytes());
            assert!(pool.verdict_cache().len() <= 30);
            for s in signers {
                let mut expected = base(&chain.state, s);
                while listed
                    .iter()
                    .any(|t| t.body.signer == id(s) && t.body.nonce == expected)
                {
                    expected += 1;
                }
                assert_eq!(pool.next_nonce(&id(s), &chain.state), Some(expected));
                let committed = base(&chain.state, s) - 1;
                for t in listed.iter().filter(|t| t.body.signer == id(s)) {
                    assert!(t.body.nonce > committed, "seed {seed} step {step}: stale");
                    assert!(
                        t.body.nonce <= expected + 4,
                        "seed {seed} step {step}: window"
                    );
                }
            }
            let r = pool.reap(&chain.state, 100, 1 << 20);
            chain.state.execute_block(&r.txs).unwrap();
        }
    }
}

// ------------------------------------------------------ shares of signers

/// Commits one block of treasury transactions, `op(name)` for each of `names`.
fn treasury_block(chain: &mut TestChain, names: &[String], op: impl Fn(&str) -> Op) {
    let m = base(&chain.state, MOF);
    let txs = names
        .iter()
        .zip(m..)
        .map(|(name, nonce)| sign(MOF, nonce, op(name)))
        .collect();
    chain.commit(txs).unwrap();
}

/// Registers `n` ministries `M-0000`, `M-0001`, … in one block.
fn register_ministries(chain: &mut TestChain, n: usize) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| format!("M-{i:04}")).collect();
    treasury_block(chain, &names, |name| Op::RegisterEntity {
        id: id(name),
        kind: EntityKind::Ministry,
        name: format!("Bộ {name}"),
        parent: None,
        public_key: key(name).public_key(),
    });
    names
}

/// Appropriates `amount` to each of `ministries`, in one block.
fn fund(chain: &mut TestChain, ministries: &[String], amount: u64) {
    treasury_block(chain, ministries, |to| Op::Appropriate {
        year: year(),
        line: line(),
        to: id(to),
        amount: Amount(amount),
        legal_ref: "QĐ-7".into(),
    });
}

/// A ministry gives 1 back to the treasury.
fn give_back(ministry: &str, nonce: u64) -> SignedTx {
    sign(
        ministry,
        nonce,
        Op::ReturnFunds {
            year: year(),
            line: line(),
            amount: Amount(1),
        },
    )
}

/// How many transactions each signer has pooled.
fn holdings(pool: &Mempool) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for (_, tx) in pool.iter() {
        *out.entry(tx.body.signer.to_string()).or_default() += 1;
    }
    out
}

/// Eight hundred signers each send their 64 future nonces (the nonce before
/// them is never sent) to a pool of 1,000: together they offer 51 times what
/// it holds. Every one of them still gets a place, the pool stays full,
/// nobody's ready transaction is evicted, every eviction is reported as
/// `mempool_full`, and a newcomer's transaction is admitted after them.
#[test]
fn signers_filling_their_future_nonces_leave_room_for_a_newcomer() {
    const SIGNERS: usize = 800;
    const TXS_MAX: usize = 1000;
    let mut chain = chain();
    let mut flooders = register_ministries(&mut chain, SIGNERS + 1);
    let newcomer = flooders.pop().unwrap();
    fund(&mut chain, std::slice::from_ref(&newcomer), 1_000);
    let mut pool = Mempool::new(MempoolLimits {
        txs_max: TXS_MAX,
        verdicts_max: 4 * TXS_MAX,
        ..small_limits()
    });
    let ready = appropriate(base(&chain.state, MOF), "ready");
    pool.insert(ready.clone(), &chain.state).unwrap();

    let (mut admitted, mut refused) = (0, 0);
    let mut last_flooder_held = 0;
    for who in &flooders {
        let next = base(&chain.state, who);
        let txs: Vec<SignedTx> = (1..=FUTURE_NONCES_PER_SIGNER_MAX)
            .map(|k| give_back(who, next + k))
            .collect();
        for r in pool.insert_batch(txs, &chain.state) {
            match r {
                Ok(_) => admitted += 1,
                Err(e) => {
                    assert_eq!(e.code(), "mempool_full", "{e}");
                    refused += 1;
                }
            }
        }
        last_flooder_held = holdings(&pool).get(who.as_str()).copied().unwrap_or(0);
    }
    let evicted = pool.take_evicted();
    assert!(pool.take_evicted().is_empty(), "taken once");

    assert_eq!(pool.len(), TXS_MAX);
    assert!(pool.contains(&ready.hash()), "a ready transaction stays");
    assert!(refused > 0);
    // Each admitted transaction is either still pooled or was evicted.
    assert_eq!(admitted, (pool.len() - 1) + evicted.len());
    for (hash, why) in &evicted {
        assert_eq!(why.code(), "mempool_full");
        assert!(why.to_string().contains("evicted"), "{why}");
        assert!(!pool.contains(hash));
    }
    // Every flooder holds a share, and none holds more than one more than
    // the last one to arrive: when it was refused, nobody held more.
    let held = holdings(&pool);
    for who in &flooders {
        let n = held.get(who.as_str()).copied().unwrap_or(0);
        assert!(n >= 1, "{who} holds nothing");
        assert!(n <= last_flooder_held + 1, "{who} holds {n}");
    }
    // Nothing was evicted but future nonces: every pooled flooder nonce is
    // still future, and the ready treasury transaction is there.
    for (hash, tx) in pool.iter() {
        if *hash != ready.hash() {
            assert!(!pool.status(hash).unwrap().ready, "{:?}", tx.body);
        }
    }

    // The newcomer's next transaction gets in, in place of one future nonce.
    let tx = give_back(&newcomer, base(&chain.state, &newcomer));
    assert_eq!(pool.insert(tx.clone(), &chain.state), Ok(tx.hash()));
    assert_eq!(pool.len(), TXS_MAX);
    let evicted = pool.take_evicted();
    assert_eq!(evicted.len(), 1);
    let gone = evicted[0].0;
    assert!(!pool.contains(&gone));
}

/// A full pool makes room only from future nonces, last first, of the
/// signer holding the most of them, and only for a signer that will hold
/// no more than that one keeps; a forged transaction evicts nothing.
#[test]
fn a_full_pool_evicts_future_nonces_of_the_largest_holder_only() {
    let mut chain = chain();
    let ministries = register_ministries(&mut chain, 3);
    fund(&mut chain, &ministries, 1_000);
    let (m1, m2, m3) = (&ministries[0], &ministries[1], &ministries[2]);
    let mut pool = Mempool::new(MempoolLimits {
        txs_max: 10,
        ..small_limits()
    });
    let m = base(&chain.state, MOF);
    // MOF: 4 ready. M1: 6 future (nonce n1 is missing).
    let ready: Vec<SignedTx> = (0..4).map(|k| appropriate(m + k, "r")).collect();
    let n1 = base(&chain.state, m1);
    let futures: Vec<SignedTx> = (1..=6).map(|k| give_back(m1, n1 + k)).collect();
    for tx in ready.iter().chain(&futures) {
        pool.insert(tx.clone(), &chain.state).unwrap();
    }
    assert_eq!(pool.len(), 10);

    // A forged transaction from M2 is refused for its signature, and
    // evicts nothing.
    let n2 = base(&chain.state, m2);
    let mut forged = give_back(m2, n2);
    forged.signature.0[0] ^= 1;
    assert_eq!(
        pool.insert(forged, &chain.state).unwrap_err().code(),
        "bad_signature"
    );
    assert!(pool.take_evicted().is_empty());
    assert_eq!(pool.len(), 10);

    // M2 takes the place of M1's last nonces while it holds fewer: after
    // its k-th admission it holds k, M1 keeps 6 - k, so k = 1, 2, 3.
    for k in 0..3u64 {
        let tx = give_back(m2, n2 + k);
        assert_eq!(pool.insert(tx.clone(), &chain.state), Ok(tx.hash()));
        let evicted = pool.take_evicted();
        let expected = futures[5 - k as usize].hash();
        assert_eq!(
            evicted.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
            vec![expected]
        );
        assert_eq!(evicted[0].1.code(), "mempool_full");
    }
    // Now both hold 3: M2 is refused, and so is a new nonce of M1.
    let e = pool
        .insert(give_back(m2, n2 + 3), &chain.state)
        .unwrap_err();
    assert_eq!(e.code(), "mempool_full");
    assert!(e.to_string().contains("txs_max 10"), "{e}");
    let e = pool
        .insert(give_back(m1, n1 + 7), &chain.state)
        .unwrap_err();
    assert_eq!(e.code(), "mempool_full");
    // M3, with nothing pooled, takes one more of M1's: then M1 keeps 2
    // and M3 would hold 2, so its second is refused.
    let n3 = base(&chain.state, m3);
    pool.insert(give_back(m3, n3), &chain.state).unwrap();
    let evicted = pool.take_evicted();
    assert_eq!(evicted.len(), 1);
    assert_eq!(evicted[0].0, futures[2].hash());
    let e = pool
        .insert(give_back(m3, n3 + 1), &chain.state)
        .unwrap_err();
    assert_eq!(e.code(), "mempool_full");
    assert_eq!(
        holdings(&pool),
        [
            (MOF.to_string(), 4),
            (m1.clone(), 2),
            (m2.clone(), 3),
            (m3.clone(), 1)
        ]
        .into_iter()
        .collect()
    );
    for tx in &ready {
        assert!(pool.contains(&tx.hash()));
    }

    // Ready transactions are never evicted, even for a signer with nothing
    // pooled: they leave with the next blocks.
    let mut pool = Mempool::new(MempoolLimits {
        txs_max: 4,
        ..small_limits()
    });
    for tx in &ready {
        pool.insert(tx.clone(), &chain.state).unwrap();
    }
    let e = pool.insert(give_back(m3, n3), &chain.state).unwrap_err();
    assert_eq!(e.code(), "mempool_full");
    assert!(e.to_string().contains("waits for an earlier nonce"), "{e}");
    assert!(pool.take_evicted().is_empty());
    assert_eq!(pool.len(), 4);
}

/// No signer holds more than its share of the pool, by count or by bytes,
/// even with room left; other signers are unaffected.
#[test]
fn a_signer_holds_at_most_its_share() {
    let mut chain = chain();
    let m = base(&chain.state, MOF);
    let txs: Vec<SignedTx> = (0..6).map(|k| appropriate(m + k, "s")).collect();
    let a = base(&chain.state, DEPT_A);

    let limits = MempoolLimits {
        txs_per_signer_max: 5,
        ..small_limits()
    };
    let mut by_count = fill_then_refuse(limits, &txs, 5, &chain.state, "txs_per_signer_max 5");
    by_count.insert(award(DEPT_A, a, 1), &chain.state).unwrap();
    assert_eq!(by_count.len(), 6);

    let two: usize = txs[..2].iter().map(|t| t.encode().len()).sum();
    let limits = MempoolLimits {
        bytes_per_signer_max: two,
        ..small_limits()
    };
    let limit = format!("bytes_per_signer_max {two}");
    let mut by_bytes = fill_then_refuse(limits, &txs, 2, &chain.state, &limit);
    by_bytes.insert(award(DEPT_A, a, 1), &chain.state).unwrap();
    // Once its transactions commit, the signer has its share again.
    let reaped = by_bytes.reap(&chain.state, 100, 1 << 20);
    chain.commit(reaped.txs.clone()).unwrap();
    assert!(by_bytes.on_commit(&reaped.txs, &chain.state).is_empty());
    by_bytes.insert(txs[2].clone(), &chain.state).unwrap();
}

/// One signer holds 10,000 ready transactions and fifty others two each:
/// a block of 100 takes the others' first transactions before the big
/// signer's second, so the big one gets at most ⌈100 / 51⌉ = 2.
#[test]
fn a_block_takes_every_waiting_signer_before_a_second_of_anyone() {
    const BIG: u64 = 10_000;
    const BLOCK_TXS: usize = 100;
    let mut chain = chain();
    let others = register_ministries(&mut chain, 50);
    fund(&mut chain, &others, 1_000);
    let mut pool = Mempool::new(MempoolLimits {
        txs_max: 20_000,
        txs_per_signer_max: 20_000,
        bytes_max: 64 << 20,
        bytes_per_signer_max: 64 << 20,
        verdicts_max: 20_000,
        ..small_limits()
    });
    let m = base(&chain.state, MOF);
    // The big signer arrives first, so it has the first turn.
    let big: Vec<SignedTx> = (0..BIG)
        .map(|k| appropriate(m + k, &format!("{k}")))
        .collect();
    for r in pool.insert_batch(big, &chain.state) {
        r.unwrap();
    }
    for who in &others {
        let n = base(&chain.state, who);
        for k in 0..2 {
            pool.insert(give_back(who, n + k), &chain.state).unwrap();
        }
    }
    let reaped = pool.reap(&chain.state, BLOCK_TXS, 1 << 30);
    assert_eq!(reaped.txs.len(), BLOCK_TXS);
    assert!(reaped.rejected.is_empty());
    let mut taken: std::collections::BTreeMap<String, usize> = Default::default();
    for tx in &reaped.txs {
        *taken.entry(tx.body.signer.to_string()).or_default() += 1;
    }
    assert!(
        taken[MOF] <= BLOCK_TXS.div_ceil(others.len() + 1),
        "{}",
        taken[MOF]
    );
    for who in &others {
        assert!(taken.get(who.as_str()).copied().unwrap_or(0) >= 1, "{who}");
    }
    chain.commit(reaped.txs).unwrap();
}

/// With more signers waiting than a block holds, those left out of one block
/// go first in the next: a signer that never runs out cannot keep the
/// others out by having arrived first.
#[test]
fn signers_left_out_of_a_block_go_first_in_the_next() {
    let mut chain = chain();
    let ministries = register_ministries(&mut chain, 8);
    fund(&mut chain, &ministries, 1_000);
    let mut pool = Mempool::new(small_limits());
    // The first four arrive first with ten each, the last four with one.
    for (i, who) in ministries.iter().enumerate() {
        let n = base(&chain.state, who);
        let count = if i < 4 { 10 } else { 1 };
        for k in 0..count {
            pool.insert(give_back(who, n + k), &chain.state).unwrap();
        }
    }
    let signers = |txs: &[SignedTx]| -> Vec<String> {
        txs.iter().map(|t| t.body.signer.to_string()).collect()
    };
    let first = pool.reap(&chain.state, 4, 1 << 20);
    assert_eq!(signers(&first.txs), ministries[..4].to_vec());
    chain.commit(first.txs.clone()).unwrap();
    assert!(pool.on_commit(&first.txs, &chain.state).is_empty());

    let second = pool.reap(&chain.state, 4, 1 << 20);
    assert_eq!(signers(&second.txs), ministries[4..].to_vec());
    chain.commit(second.txs.clone()).unwrap();
    assert!(pool.on_commit(&second.txs, &chain.state).is_empty());

    // Then the first four again, in their order.
    let third = pool.reap(&chain.state, 4, 1 << 20);
    assert_eq!(signers(&third.txs), ministries[..4].to_vec());
}
