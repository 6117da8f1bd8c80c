//! Checking an audit bundle that witnesses stand behind, on a chain of
//! 1,024 blocks: the transaction in block 500, and three witnesses whose
//! latest cosignatures are of three different heights (1,000, 1,010 and
//! 1,020), so that the bundle carries three checkpoints, each with its own
//! history path of ten hashes: the largest bundle three witnesses make.
//!
//! - `verify`: `AuditBundle::verify` of the bundle, with and without its
//!   witnesses;
//! - `decode_and_verify`: the same from the bundle's JSON, as
//!   `minhbach verify proof` reads it;
//! - `witness_step`: what a witness computes for each new checkpoint, from
//!   the checkpoint's JSON and the consistency proof's: decode, verify from
//!   the genesis facts, check that it extends the last checkpoint cosigned
//!   (1,000 to 1,020), and sign (its durable write is the CLI's, and not
//!   measured here).
//!
//! Prints the bundle's size in bytes of JSON before measuring. Run with
//! `cargo bench -p ledger --bench audit_bundle`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ledger::merkle::ConsistencyProof;
use ledger::proof::{AuditBundle, TrustAnchor};
use ledger::store::Store;
use ledger::testkit::{id, key, TestChain};
use ledger::tx::EntityKind;
use ledger::witness::{extends, CheckpointProof, Cosignature};
use ledger::{Amount, Height, LineCode, Op, Year};

/// Blocks in the chain.
const BLOCKS: u64 = 1024;
/// The block of the transaction the bundle proves.
const TX_AT: u64 = 500;
/// Each witness and the height of its latest cosignature.
const WITNESSES: [(&str, u64); 3] = [("KTNN", 1000), ("TTXVN", 1010), ("BAO-ND", 1020)];

/// What the benches read: the bundle of the appropriation in block
/// [`TX_AT`], the anchor of a verifier that trusts the three witnesses,
/// and a witness's inputs (the last checkpoint it cosigned, the JSON of
/// the new one and of the consistency proof between them).
struct Inputs {
    bundle: AuditBundle,
    anchor: TrustAnchor,
    last: ledger::witness::Checkpoint,
    new_json: Vec<u8>,
    link_json: Vec<u8>,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    let mut chain = TestChain::new(4);
    store
        .init(&chain.genesis, chain.genesis_hash)
        .expect("init store");
    let mut proved = None;
    for h in 1..=BLOCKS {
        let txs = match h {
            1 => WITNESSES
                .iter()
                .map(|(w, _)| (*w, EntityKind::Observer))
                .chain([("MOH", EntityKind::Ministry)])
                .enumerate()
                .map(|(i, (who, kind))| {
                    let op = Op::RegisterEntity {
                        id: id(who),
                        kind,
                        name: format!("Đơn vị {who}"),
                        parent: None,
                        keys: vec![key(who).public_key()],
                        threshold: 1,
                    };
                    chain.tx("MOF", i as u64, op)
                })
                .collect(),
            TX_AT => {
                let tx = chain.tx(
                    "MOF",
                    0,
                    Op::Appropriate {
                        year: Year::new(2026).expect("valid year"),
                        line: LineCode::new("0402-HEALTH-INFRA").expect("valid line"),
                        to: id("MOH"),
                        amount: Amount(10_000_000),
                        legal_ref: "QĐ-1234/QĐ-TTg".into(),
                    },
                );
                proved = Some(tx.hash());
                vec![tx]
            }
            _ => Vec::new(),
        };
        let (block, cert, outcome) = chain.make_block(txs).expect("valid block");
        store
            .commit_block(&block, &cert, &outcome, &chain.state)
            .expect("commit");
        chain.advance(&block, cert, outcome);
    }
    for (w, n) in WITNESSES {
        let checkpoint = CheckpointProof::build(&store, Height(n))
            .expect("read store")
            .expect("committed")
            .checkpoint;
        let c = Cosignature::sign(&key(w), id(w), &checkpoint, 1_800_000_000_000);
        store
            .admit_cosignature(&c, &chain.state)
            .expect("read store")
            .expect("admitted");
    }
    let tx = proved.expect("block TX_AT was made");
    let bundle = AuditBundle::build(&store, chain.genesis_hash, &tx)
        .expect("read store")
        .expect("committed");
    let anchor = TrustAnchor::from_genesis_state(&chain.genesis, chain.genesis_hash)
        .with_witnesses(
            WITNESSES
                .iter()
                .map(|(w, _)| (id(w), key(w).public_key()))
                .collect(),
        );
    let at = |h| {
        CheckpointProof::build(&store, Height(h))
            .expect("read store")
            .expect("committed")
    };
    let link = store
        .history_consistency(Height(1000), Height(1020))
        .expect("read store")
        .expect("in order");
    Inputs {
        bundle,
        anchor,
        last: at(1000).checkpoint,
        new_json: serde_json::to_vec(&at(1020)).expect("serialises"),
        link_json: serde_json::to_vec(&link).expect("serialises"),
    }
}

fn verify(c: &mut Criterion) {
    let Inputs {
        bundle,
        anchor,
        last,
        new_json,
        link_json,
    } = inputs();
    let verified = bundle.verify(&anchor).expect("the bundle verifies");
    assert_eq!(verified.witnesses.len(), WITNESSES.len());
    let mut bare = bundle.clone();
    bare.witnesses.clear();
    let json = bundle.to_json();
    let paths: Vec<usize> = bundle
        .witnesses
        .iter()
        .map(|w| w.inclusion.path.len())
        .collect();
    eprintln!(
        "audit bundle, block {TX_AT} of {BLOCKS}: {} bytes of JSON with {} witnessed \
         checkpoints (history paths of {paths:?} hashes), {} bytes without",
        json.len(),
        bundle.witnesses.len(),
        bare.to_json().len(),
    );

    let mut g = c.benchmark_group("verify");
    g.bench_function("three_witnesses", |b| b.iter(|| bundle.verify(&anchor)));
    g.bench_function("no_witnesses", |b| b.iter(|| bare.verify(&anchor)));
    g.finish();

    let mut g = c.benchmark_group("decode_and_verify");
    g.bench_function("three_witnesses", |b| {
        b.iter(|| AuditBundle::decode(json.as_bytes()).and_then(|x| x.verify(&anchor)))
    });
    g.finish();

    let witness = key("KTNN");
    let step = || {
        let new = CheckpointProof::decode(&new_json)
            .and_then(|p| p.verify(&anchor))
            .expect("the checkpoint verifies")
            .checkpoint;
        let link: ConsistencyProof = serde_json::from_slice(&link_json).expect("a proof");
        assert!(extends(&last, &new, Some(&link)));
        Cosignature::sign(&witness, id("KTNN"), &new, 1_800_000_000_000)
    };
    eprintln!(
        "checkpoint at 1,020: {} bytes of JSON; consistency proof from 1,000: {} bytes",
        new_json.len(),
        link_json.len()
    );
    assert!(step().verify());
    let mut g = c.benchmark_group("witness_step");
    g.bench_function("verify_extend_sign", |b| b.iter(step));
    g.finish();
}

// In a private module: the function the macro makes cannot carry a doc
// comment, and `missing_docs` only asks for docs on reachable items.
mod group {
    use super::*;

    criterion_group! {
        name = audit_bundle;
        config = Criterion::default()
            .sample_size(50)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        targets = verify
    }
}
criterion_main!(group::audit_bundle);
