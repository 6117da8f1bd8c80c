//! Unit tests of the mempool, with its invariants checked after every step.

use super::*;

impl Mempool {
    /// Checks every internal invariant; tests call it after each step.
    pub(crate) fn assert_invariants(&self) {
        let mut count = 0;
        let mut bytes = 0;
        let mut by_futures = BTreeSet::new();
        let mut ready = 0;
        for (id, q) in &self.signers {
            assert!(!q.nonces.is_empty(), "{id}: empty queues are removed");
            assert!(q.ready_end >= q.committed);
            for n in q.committed + 1..=q.ready_end {
                assert!(q.nonces.contains_key(&n), "{id}: run is contiguous");
            }
            assert!(
                !q.nonces.contains_key(&(q.ready_end + 1)),
                "{id}: run is maximal"
            );
            let mut queue_bytes = 0;
            for (&n, slot) in &q.nonces {
                assert!(n > q.committed, "{id}: no stale nonce");
                let p = &self.txs[&slot.hash];
                assert_eq!(&p.tx.body.signer, id);
                assert_eq!(p.tx.body.nonce, n);
                assert_eq!(p.tx.hash(), slot.hash);
                assert_eq!(p.tx.encode().len(), p.bytes);
                assert_eq!(slot.bytes, p.bytes);
                count += 1;
                bytes += p.bytes;
                queue_bytes += p.bytes;
            }
            assert_eq!(q.bytes, queue_bytes, "{id}: queue bytes");
            assert!(q.nonces.len() <= self.limits.txs_per_signer_max);
            assert!(q.bytes <= self.limits.bytes_per_signer_max);
            let futures = q.nonces.keys().filter(|&&n| n > q.ready_end).count();
            assert_eq!(q.futures(), futures);
            ready += q.nonces.keys().filter(|&&n| n <= q.ready_end).count();
            if futures > 0 {
                by_futures.insert((futures, id.clone()));
            }
        }
        assert_eq!(by_futures, self.by_futures, "future index");
        assert_eq!(ready, self.ready_len(), "ready transactions");
        assert_eq!(count, self.txs.len());
        assert_eq!(bytes, self.bytes);
        assert!(self.txs.len() <= self.limits.txs_max);
        assert!(self.bytes <= self.limits.bytes_max);
        assert!(self.verdicts.len() <= self.verdicts.entries_max());
    }
}

/// Random nonces of three signers (gaps, repeats, stale and far-future
/// ones) in a small pool that is often full, so that signers reach their
/// share and future nonces are evicted; reaps, commits and drops, with
/// every invariant checked after each step.
#[test]
fn random_steps_keep_the_invariants() {
    use ledger::testkit::{key, TestChain, CHAIN_ID};
    use ledger::tx::{EntityKind, Op, TxBody};
    use ledger::{Amount, LineCode, Year};

    let treasury = EntityId::new("MOF").unwrap();
    let ministries = [
        EntityId::new("MOH").unwrap(),
        EntityId::new("MOET").unwrap(),
    ];
    let signers = [&treasury, &ministries[0], &ministries[1]];
    let year = Year::new(2026).unwrap();
    let line = LineCode::new("0402-HEALTH").unwrap();
    // The treasury appropriates to a ministry, a ministry gives back. An
    // amount of zero is refused, and so is giving back more than was
    // received, so some transactions fail.
    let tx = |signer: &EntityId, nonce: u64, amount: u64| {
        let op = if *signer == treasury {
            Op::Appropriate {
                year,
                line: line.clone(),
                to: ministries[(amount % 2) as usize].clone(),
                amount: Amount(amount),
                legal_ref: "QĐ-1".into(),
            }
        } else {
            Op::ReturnFunds {
                year,
                line: line.clone(),
                amount: Amount(amount),
            }
        };
        TxBody {
            chain_id: CHAIN_ID.into(),
            signer: signer.clone(),
            nonce,
            op,
        }
        .sign(&key(signer.as_str()))
    };
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut below = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut chain = TestChain::new(1);
    let registrations = ministries
        .iter()
        .zip(1..)
        .map(|(m, nonce)| {
            TxBody {
                chain_id: CHAIN_ID.into(),
                signer: treasury.clone(),
                nonce,
                op: Op::RegisterEntity {
                    id: m.clone(),
                    kind: EntityKind::Ministry,
                    name: format!("Bộ {m}"),
                    parent: None,
                    keys: vec![key(m.as_str()).public_key()],
                    threshold: 1,
                },
            }
            .sign(&key("MOF"))
        })
        .collect();
    chain.commit(registrations).unwrap();
    let (mut admitted, mut committed, mut dropped, mut evicted) = (0, 0, 0, 0);
    // Three signers' windows of future nonces hold more than the pool.
    let mut pool = Mempool::new(MempoolLimits {
        txs_max: 10,
        bytes_max: 10 * 200,
        future_nonces_per_signer_max: 5,
        txs_per_signer_max: 7,
        bytes_per_signer_max: 7 * 200,
        verdicts_max: 25,
    });
    for _ in 0..1200 {
        for _ in 0..1 + below(3) {
            let signer = signers[below(3) as usize];
            let next = chain.state.next_nonce(signer).unwrap();
            let nonce = (next + below(12)).saturating_sub(2);
            admitted += usize::from(
                pool.insert(tx(signer, nonce, below(10)), &chain.state)
                    .is_ok(),
            );
            let gone = pool.take_evicted();
            for (h, e) in &gone {
                assert_eq!(e.code(), "mempool_full");
                assert!(!pool.contains(h));
            }
            evicted += gone.len();
        }
        match below(10) {
            0..=1 => {
                let r = pool.reap(&chain.state, below(5) as usize, 1 << 20);
                for (h, e) in r.rejected {
                    dropped += pool.drop_tx(&h, e).len();
                }
                chain.commit(r.txs.clone()).unwrap();
                committed += r.txs.len();
                dropped += pool.on_commit(&r.txs, &chain.state).len();
            }
            3 => {
                let oldest = pool.iter().map(|(h, t)| (t.body.nonce, *h)).min();
                if let Some((_, h)) = oldest {
                    dropped += pool
                        .drop_tx(&h, TxError::MempoolFull { reason: "t".into() })
                        .len();
                }
            }
            _ => {}
        }
        pool.assert_invariants();
    }
    // The walk reached the interesting cases.
    assert!(
        admitted > 300 && committed > 60 && dropped > 60 && evicted > 10,
        "{admitted} {committed} {dropped} {evicted}"
    );
    assert_eq!(admitted, committed + dropped + evicted + pool.len());
}

#[test]
fn verdict_cache_evicts_oldest_first_and_stays_bounded() {
    let mut cache = VerdictCache::new(2);
    let v = Verdict { valid: true };
    for i in 0..5u8 {
        cache.insert(Hash([i; 32]), v);
        cache.insert(Hash([i; 32]), v); // a repeat does not take a second slot
        assert!(cache.len() <= 2);
    }
    assert_eq!(cache.get(&Hash([2; 32])), None);
    assert_eq!(cache.get(&Hash([3; 32])), Some(v));
    assert_eq!(cache.get(&Hash([4; 32])), Some(v));
    let mut none = VerdictCache::new(0);
    none.insert(Hash([0; 32]), v);
    assert!(none.is_empty());
}
