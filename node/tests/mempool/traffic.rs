//! Random traffic: submissions of every kind interleaved with blocks, after
//! which the pool still agrees with its own contents and every reap executes
//! as a block.

use ledger::testkit::id;
use ledger::SignedTx;
use node::mempool::{Mempool, MempoolLimits};

use crate::fixture::{appropriate, award, base, chain, DEPT_A, DEPT_B, DEPT_C, MOF};

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
