//! A Byzantine validator inside a real network: validator 3 runs the tests'
//! `minhbach-byzantine` build, which double-signs every prevote and
//! precommit and proposes two different blocks, to two different groups of
//! peers, in every round it leads. Three honest validators and a full node
//! (with the explorer) run `minhbach`.
//!
//! The honest nodes must never fork, must keep committing honest
//! transactions, and must commit the evidence of each double-signed height
//! within two heights of it; the API, the command line and the explorer show
//! it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ledger::EntityId;
use serde_json::Value;
use tests::cluster::{wait_for, Cluster};
use tests::ops::appropriate;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
const BYZANTINE_BIN: &str = env!("CARGO_BIN_EXE_minhbach-byzantine");

/// The Byzantine validator.
const BYZANTINE: usize = 3;
/// The honest validators.
const VALIDATORS: [usize; 3] = [0, 1, 2];
/// The full node, which serves the explorer.
const FULL: usize = 4;
/// Every honest node.
const HONEST: [usize; 4] = [0, 1, 2, FULL];
/// Heights the test runs for: enough for the Byzantine validator to lead
/// several rounds.
const HEIGHTS: u64 = 16;
/// Evidence of an offence at height h must be in a block no later than
/// h + this.
const EVIDENCE_LAG_MAX: u64 = 2;
/// A generous bound for a few blocks on a busy machine.
const BLOCKS: Duration = Duration::from_secs(90);

/// Node `i`'s block at `h`, which it must have.
fn block(c: &Cluster, i: usize, h: u64) -> Value {
    c.client(i)
        .get(&format!("/v1/blocks/{h}"))
        .unwrap_or_else(|e| panic!("node {i} has no block {h}: {e}"))
}

/// A counter on node `i`'s `/metrics`; 0 until it is first counted.
fn counter(c: &Cluster, i: usize, name: &str) -> f64 {
    let body = c.client(i).download("/metrics").expect("/metrics").body;
    String::from_utf8(body)
        .expect("UTF-8 metrics")
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_double_signing_validator_proposing_twins_forks_nobody_and_its_evidence_commits_within_two_heights(
) {
    let mut c = Cluster::new(BIN, 4, 1);
    for i in HONEST {
        c.start(i);
    }
    c.start_as(BYZANTINE, Path::new(BYZANTINE_BIN));
    let byzantine_key = c.validator_key(BYZANTINE).public_key().to_hex();

    // Honest transactions, sent to every honest validator in turn while the
    // Byzantine one is at work.
    c.wait_height(0, 1, BLOCKS);
    let mut sent = Vec::new();
    let first_nonce = c
        .client(0)
        .next_nonce(&EntityId::new("BTC").unwrap())
        .unwrap();
    for (k, amount) in (1..=6u64).map(|k| (k, 1_000_000 * k)) {
        let i = VALIDATORS[k as usize % VALIDATORS.len()];
        let tx = c.sign(
            "BTC",
            first_nonce + k - 1,
            appropriate("BYT", "YTE.TX", amount),
        );
        let hash = c
            .submit(i, &tx)
            .unwrap_or_else(|e| panic!("node {i} refuses an honest transaction: {e}"));
        assert_eq!(hash, tx.hash().to_hex(), "node {i} names another hash");
        sent.push(tx.hash());
    }
    for i in HONEST {
        c.wait_height(i, HEIGHTS, BLOCKS);
    }
    for hash in &sent {
        for i in HONEST {
            c.wait_committed(i, &hash.to_hex(), BLOCKS);
        }
    }

    // The attack happened: the Byzantine validator led rounds and sent twins.
    let log = std::fs::read_to_string(c.node(BYZANTINE).home.join("node.log")).unwrap();
    let twins = log.matches("byzantine: proposing").count();
    assert!(
        twins >= 2,
        "the Byzantine validator proposed twins {twins} times:\n{}",
        c.log_tail(BYZANTINE)
    );

    // Both blocks of a round reached every honest validator, one directly
    // and one relayed, and each noticed the proposer signed two.
    for i in VALIDATORS {
        let seen = counter(&c, i, "minhbach_conflicting_proposals_total");
        assert!(
            seen >= 1.0,
            "validator {i} saw no conflicting proposals:\n{}",
            c.log_tail(i)
        );
    }

    // No honest node forks: the same block at every height.
    let top = HONEST.iter().map(|&i| c.height(i).unwrap()).min().unwrap();
    let mut evidence_in_blocks: Vec<Value> = Vec::new();
    for h in 1..=top {
        let first = block(&c, HONEST[0], h);
        for &i in &HONEST[1..] {
            assert_eq!(
                block(&c, i, h)["hash"],
                first["hash"],
                "node {i} differs from node {} at height {h}",
                HONEST[0]
            );
        }
        evidence_in_blocks.extend(first["evidence"].as_array().unwrap().iter().cloned());
    }

    // Every piece of evidence is against the Byzantine validator, committed
    // within two heights of its offence; every height it double-signed at
    // has evidence.
    assert!(
        !evidence_in_blocks.is_empty(),
        "no evidence committed by height {top}:\n{}",
        c.log_tail(0)
    );
    let mut lag_by_height: BTreeMap<u64, u64> = BTreeMap::new();
    for e in &evidence_in_blocks {
        assert_eq!(e["validator"], byzantine_key.as_str(), "{e}");
        let h = e["height"].as_u64().unwrap();
        let at = e["committed_at"].as_u64().unwrap();
        assert!(h <= at, "evidence committed before its offence: {e}");
        assert!(
            at - h <= EVIDENCE_LAG_MAX,
            "evidence of height {h} committed only at {at}: {e}"
        );
        let lag = lag_by_height.entry(h).or_insert(at - h);
        *lag = (*lag).min(at - h);
    }
    // The heights it signed conflicting votes at (a validator that falls
    // behind catches up by sync and signs nothing for the heights it skips).
    let double_signed: std::collections::BTreeSet<u64> = log
        .lines()
        .filter_map(|l| l.split("byzantine: double-signing").nth(1))
        .filter_map(|l| l.split(" at height ").nth(1))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    assert!(!double_signed.is_empty(), "validator 3 never double-signed");
    // Evidence for every height it double-signed at.
    let missing: Vec<u64> = double_signed
        .iter()
        .copied()
        .filter(|h| h + EVIDENCE_LAG_MAX <= top && !lag_by_height.contains_key(h))
        .collect();
    assert!(
        missing.is_empty(),
        "no evidence for heights {missing:?}, where validator 3 double-signed; evidence for \
         {lag_by_height:?}"
    );
    let first = *lag_by_height.keys().next().unwrap();
    let lags: Vec<u64> = lag_by_height.values().copied().collect();
    eprintln!(
        "byzantine: {twins} rounds with twin proposals; {} pieces of evidence for heights \
         {first}..={}, committed {} to {} heights after the offence; no fork over {top} heights",
        evidence_in_blocks.len(),
        lag_by_height.keys().last().unwrap(),
        lags.iter().min().unwrap(),
        lags.iter().max().unwrap(),
    );

    // The API lists it.
    let listed = c.client(FULL).get("/v1/evidence").unwrap()["evidence"]
        .as_array()
        .unwrap()
        .len();
    assert!(listed >= evidence_in_blocks.len(), "{listed} listed");

    // The command line shows it.
    let out = Command::new(BIN)
        .args(["--node", &c.node(FULL).api_url(), "query", "evidence"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&byzantine_key),
        "`minhbach query evidence` does not name {byzantine_key}:\n{text}"
    );

    // The explorer shows it, by the validator's name.
    let validators = c.client(FULL).get("/v1/validators").unwrap();
    let name = validators["validators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["public_key"] == byzantine_key.as_str())
        .expect("the Byzantine validator is in the set")["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let explorer = format!(
        "http://{}/evidence",
        c.node(FULL)
            .explorer
            .expect("the full node has an explorer")
    );
    let page = wait_for("the explorer's evidence page", BLOCKS, || {
        reqwest::blocking::get(&explorer).ok()?.text().ok()
    });
    assert!(
        page.contains(&name),
        "the explorer's evidence page does not name {name}"
    );

    // As an auditor reads the honest nodes' stores: each honest
    // transaction, by the hash its client computed, exactly once on every
    // one; every chain verifies, the evidence in it included.
    c.audit_stores(&HONEST, &sent);
}
