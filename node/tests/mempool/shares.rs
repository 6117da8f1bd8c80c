//! Shares of signers: many signers filling a pool each keep a place, a full
//! pool evicts only the largest holder's future nonces, no signer holds more
//! than its share, and a block takes every waiting signer before a second
//! transaction of anyone.

use ledger::testkit::{id, key, TestChain};
use ledger::tx::{EntityKind, Op};
use ledger::{Amount, SignedTx};
use node::mempool::{Mempool, MempoolLimits, FUTURE_NONCES_PER_SIGNER_MAX};

use crate::fixture::{
    appropriate, award, base, chain, fill_then_refuse, line, sign, small_limits, year, DEPT_A, MOF,
};

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
        keys: vec![key(name).public_key()],
        threshold: 1,
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
    forged.signatures[0].signature.0[0] ^= 1;
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
