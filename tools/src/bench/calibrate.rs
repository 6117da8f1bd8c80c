//! The physical reference of a run: how fast this machine verifies
//! signatures, with the ledger's own functions, and what that allows.
//!
//! Every validator verifies every transaction's signature (SPEC §9), and the
//! validators of a bench share this machine's cores. So no cluster on it
//! can commit more than `cores × (batch verifications per second) ÷
//! validators` transactions per second: that is the *ceiling*, an upper
//! bound that ignores everything else a node does (decoding, executing,
//! storing, gossiping, consensus). A run's committed rate is reported as a
//! share of it.
//!
//! Rates are measured on one thread, on real signed transactions of the
//! bench's load (their signing bytes are computed beforehand, so only the
//! verification is timed), with [`ledger::crypto::verify`] one by one and
//! [`ledger::crypto::verify_batch`] in batches of [`BATCH_SMALL`] and
//! [`BATCH_LARGE`] (the node's own batch limit).

use std::time::{Duration, Instant};

use ledger::crypto::{verify, verify_batch};
use ledger::{PublicKey, Signature, SignedTx};
use serde::Serialize;

/// The smaller batch size measured.
pub const BATCH_SMALL: usize = 64;
/// The larger batch size measured: the most signatures a node checks in
/// one batch.
pub const BATCH_LARGE: usize = node::mempool::VERIFY_BATCH_TXS_MAX;
/// Transactions the rates are measured on.
pub const SAMPLE_TXS: usize = BATCH_LARGE;

const _: () = assert!(BATCH_LARGE.is_multiple_of(BATCH_SMALL) && SAMPLE_TXS >= BATCH_LARGE);

/// What this machine does, measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// Cores available to this process.
    pub cores: usize,
    /// Signatures verified per second, one at a time, on one core.
    pub verify_single_per_s: f64,
    /// Per second on one core, in batches of [`BATCH_SMALL`].
    pub verify_batch_64_per_s: f64,
    /// Per second on one core, in batches of [`BATCH_LARGE`].
    pub verify_batch_1024_per_s: f64,
}

impl Calibration {
    /// The most transactions per second `validators` validators sharing
    /// this machine could verify: cores × the faster batch rate ÷ validators.
    pub fn ceiling_tx_per_s(&self, validators: usize) -> f64 {
        assert!(validators > 0);
        let batch = self.verify_batch_64_per_s.max(self.verify_batch_1024_per_s);
        self.cores as f64 * batch / validators as f64
    }
}

/// One signature to check: key, message, signature.
type Item = (PublicKey, Vec<u8>, Signature);

/// Runs `f` (which verifies some signatures and returns how many) until
/// `per` has passed, after one untimed run; returns signatures per second.
fn rate(per: Duration, mut f: impl FnMut() -> usize) -> f64 {
    f();
    let start = Instant::now();
    let mut verified = 0;
    loop {
        verified += f();
        let elapsed = start.elapsed();
        if elapsed >= per {
            return verified as f64 / elapsed.as_secs_f64();
        }
    }
}

/// Measures the rates on `txs` signed by the keys given, `per` for each.
///
/// Panics if a signature does not verify: the samples are the bench's own
/// transactions, so that would be a bug.
pub fn measure(txs: &[(SignedTx, PublicKey)], per: Duration) -> Calibration {
    assert!(txs.len() >= BATCH_LARGE, "at least {BATCH_LARGE} samples");
    let items: Vec<Item> = txs
        .iter()
        .map(|(tx, key)| {
            let s = tx
                .signatures
                .iter()
                .find(|s| s.key == *key)
                .expect("a bench transaction is signed by its key");
            (*key, tx.body.signing_bytes(), s.signature)
        })
        .collect();
    let refs: Vec<(PublicKey, &[u8], Signature)> = items
        .iter()
        .map(|(k, m, s)| (*k, m.as_slice(), *s))
        .collect();
    let large = &refs[..BATCH_LARGE];
    let single = rate(per, || {
        for (k, m, s) in &refs[..BATCH_SMALL] {
            assert!(verify(k, m, s), "a bench signature verifies");
        }
        BATCH_SMALL
    });
    let batch = |size: usize| {
        rate(per, || {
            for chunk in large.chunks(size) {
                let verdicts = verify_batch(chunk);
                assert!(verdicts.iter().all(|v| *v), "a bench batch verifies");
            }
            large.len()
        })
    };
    Calibration {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        verify_single_per_s: single,
        verify_batch_64_per_s: batch(BATCH_SMALL),
        verify_batch_1024_per_s: batch(BATCH_LARGE),
    }
}
