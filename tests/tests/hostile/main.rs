//! Hostile peers and clients against four validators running as processes.
//!
//! Each attack is followed (and, for the HTTP ones, accompanied) by honest
//! transactions that must commit on every validator; commits must go on;
//! and each node's resident memory is read from `/proc/<pid>/status`
//! before and after, its peak growth held under a bound derived from the
//! limits that apply. The figures are printed (`-- --nocapture`).
//!
//! Peers (`peers::hostile_peers_are_refused_and_cut_off`):
//! - gossip messages longer than the nodes' bound on gossip, from a
//!   registered peer whose own bound is larger;
//! - messages within that bound but over their topic's (a vote of 64 KiB,
//!   a transaction batch of 3 MiB): refused, and the peer cut off;
//! - transaction batches and votes with signatures that do not verify:
//!   refused, and the peer cut off;
//! - connections from fresh identities that are not registered: refused,
//!   the peer count unchanged.
//!
//! Clients (`clients::hostile_clients_are_bounded`):
//! - `POST /v1/txs` and `POST /v1/txs/batch` with forged signatures;
//! - one client sending valid transactions past a small mempool:
//!   `mempool_full`, and the mempool never over its bound;
//! - slow readers (pipelined requests, responses never read) and slowloris
//!   connections (a request head sent a byte at a time): other clients are
//!   still served, each client address holds a bounded number of
//!   connections, the listener a bounded total, and both kinds are closed
//!   by the node's timeouts.
//!
//! `HOSTILE_SCALE=<n>` multiplies the size of every flood (default 1).

mod clients;
mod peers;

use std::time::Duration;

use ledger::testkit::id;
use ledger::{Amount, LineCode, Op, SignedTx, Year};
use tests::cluster::{wait_for, Cluster, Memory};
use tests::ops;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);
const VALIDATORS: [usize; 4] = [0, 1, 2, 3];
const MIB: u64 = 1024 * 1024;
/// Memory a node may grow by for reasons of its own while an attack runs
/// (blocks committed, caches, allocator slack).
const SLACK_BYTES: u64 = 96 * MIB;

/// How many times bigger every flood is than in CI.
fn scale() -> usize {
    std::env::var("HOSTILE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

// ---- the network and honest work ----

/// Four validators running, at height 2 or more, with the ministry (BYT)
/// funded so that its honest allocations commit. Full nodes are generated
/// (so registered) but not started: their keys are the hostile peers'.
fn network(full_nodes: usize, configure: impl Fn(&mut node::config::Config)) -> Cluster {
    let mut c = Cluster::new(BIN, 4, full_nodes);
    for i in VALIDATORS {
        c.configure(i, &configure);
        c.start(i);
    }
    for i in VALIDATORS {
        c.wait_height(i, 2, BLOCKS);
    }
    let fund = c.sign_next(0, "BTC", ops::appropriate("BYT", "YTE.TX", 1_000_000_000));
    let hash = c.submit(0, &fund).expect("funding accepted");
    for i in VALIDATORS {
        c.wait_committed(i, &hash, BLOCKS);
    }
    c
}

/// The ministry passing 1 đồng at a time to a hospital: transactions that
/// are valid whatever else happens, with nonces tracked here.
struct Honest {
    nonce: u64,
    committed: usize,
}

impl Honest {
    fn new(c: &Cluster) -> Honest {
        let nonce = c.client(0).next_nonce(&id("BYT")).expect("next nonce");
        Honest {
            nonce,
            committed: 0,
        }
    }

    fn tx(&mut self, c: &Cluster) -> SignedTx {
        let op = Op::Allocate {
            year: Year(2026),
            line: LineCode::new("YTE.TX").unwrap(),
            to: id("BYT-BVBM"),
            amount: Amount(1),
        };
        let tx = c.sign("BYT", self.nonce, op);
        self.nonce += 1;
        tx
    }

    /// Submits one honest transaction to node `to`, again while the node
    /// answers "try again" (`mempool_full`, `busy`); its hash.
    fn submit(&mut self, c: &Cluster, to: usize) -> String {
        let tx = self.tx(c);
        wait_for("an honest transaction to be admitted", BLOCKS, || {
            match c.submit(to, &tx) {
                Ok(hash) => Some(hash),
                Err(e) if e.code() == Some("duplicate") => Some(tx.hash().to_hex()),
                Err(e) if matches!(e.code(), Some("mempool_full" | "busy")) => None,
                Err(e) => panic!("node {to} refused an honest transaction: {e}"),
            }
        })
    }

    /// Waits until every validator has committed `hash`.
    fn committed_everywhere(&mut self, c: &Cluster, hash: &str) {
        for i in VALIDATORS {
            c.wait_committed(i, hash, BLOCKS);
        }
        self.committed += 1;
    }

    /// Submits one to each validator in turn and waits for all to commit
    /// everywhere.
    fn round(&mut self, c: &Cluster) {
        let hashes: Vec<String> = VALIDATORS.iter().map(|&i| self.submit(c, i)).collect();
        for h in hashes {
            self.committed_everywhere(c, &h);
        }
    }
}

fn heights(c: &Cluster) -> Vec<u64> {
    VALIDATORS
        .iter()
        .map(|&i| c.height(i).expect("node answers"))
        .collect()
}

/// Waits until every validator is at least `blocks` past `before`.
fn commits_go_on(c: &Cluster, before: &[u64], blocks: u64) {
    for i in VALIDATORS {
        c.wait_height(i, before[i] + blocks, BLOCKS);
    }
}

fn memory(c: &Cluster) -> Vec<Memory> {
    VALIDATORS
        .iter()
        .map(|&i| c.memory(i).expect("node process running"))
        .collect()
}

/// Prints each node's memory around an attack and checks that its peak
/// during the attack is at most `bound` above where it started.
fn memory_bounded(what: &str, before: &[Memory], after: &[Memory], bound: u64) {
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        let grew = (a.hwm_kib * 1024).saturating_sub(b.rss_kib * 1024);
        println!(
            "{what}: node {i} RSS {:.1} → {:.1} MiB, peak {:.1} MiB (grew ≤ {:.1} MiB, bound {} MiB)",
            b.rss_kib as f64 / 1024.0,
            a.rss_kib as f64 / 1024.0,
            a.hwm_kib as f64 / 1024.0,
            grew as f64 / MIB as f64,
            bound / MIB
        );
        assert!(
            grew <= bound,
            "{what}: node {i} grew by {} MiB, over the {} MiB bound",
            grew / MIB,
            bound / MIB
        );
    }
}

fn labelled(name: &str, listener: &str) -> String {
    format!("{name}{{listener=\"{listener}\"}}")
}

/// A metric that is absent until first counted, as zero.
fn counter(c: &Cluster, i: usize, name: &str) -> f64 {
    let body = c.client(i).download("/metrics").expect("/metrics").body;
    let text = String::from_utf8(body).expect("UTF-8 metrics");
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
