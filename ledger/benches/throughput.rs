//! Ledger throughput in transactions per second, on realistic spending
//! transactions signed by many departments:
//!
//! - `signatures`: checking 256 transaction signatures one at a time, in
//!   batches of 64, and in one batch of 256 (ZIP-215 with `ed25519-zebra`);
//! - `execute`: executing a block of 1,000 awards and payments spread over
//!   200 departments, with the block's batch signature check and without it;
//! - `commit`: writing blocks of 1,000 transactions to RocksDB with
//!   `Store::commit_block`, synced, in a directory on the target's disk.
//!
//! Run with `cargo bench -p ledger --bench throughput`. Measurement times are
//! kept short so that the whole run takes about three minutes.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ledger::store::Store;
use ledger::testkit::{id, key, TestChain};
use ledger::tx::{verify_tx_batch, EntityKind};
use ledger::{Amount, ContractId, LineCode, Op, SignedTx, Year};

const MINISTRIES: usize = 10;
const DEPARTMENTS_PER_MINISTRY: usize = 20;
const DEPARTMENTS: usize = MINISTRIES * DEPARTMENTS_PER_MINISTRY;
const VENDORS: usize = 100;
/// Contracts each department awards per block.
const AWARDS_PER_DEPARTMENT: usize = 3;
/// Contracts of the block before that each department pays off per block.
const PAYS_PER_DEPARTMENT: usize = 2;
/// Transactions in a spending block.
const BLOCK_TXS: usize = DEPARTMENTS * (AWARDS_PER_DEPARTMENT + PAYS_PER_DEPARTMENT);
const _: () = assert!(BLOCK_TXS == 1000);
const _: () = assert!(PAYS_PER_DEPARTMENT <= AWARDS_PER_DEPARTMENT);
/// Signatures checked per measured iteration.
const SIGNATURES: usize = 256;

fn ministry(m: usize) -> String {
    format!("M{m:02}")
}

fn department(d: usize) -> String {
    format!(
        "M{:02}.D{:02}",
        d / DEPARTMENTS_PER_MINISTRY,
        d % DEPARTMENTS_PER_MINISTRY
    )
}

fn vendor(v: usize) -> String {
    format!("V-{v:04}")
}

fn year() -> Year {
    Year::new(2026).expect("valid year")
}

fn line() -> LineCode {
    LineCode::new("0402-HEALTH-INFRA").expect("valid line")
}

fn contract(h: u64, d: usize, j: usize) -> ContractId {
    ContractId::new(&format!("C-{h}-{d}-{j}")).expect("valid contract id")
}

fn contract_amount(h: u64, d: usize, j: usize) -> Amount {
    Amount(1_000_000 + (h * 7_919 + d as u64 * 131 + j as u64 * 17) % 500_000)
}

/// Signs `ops` for `chain`'s next block, counting each signer's pending
/// nonces.
fn sign_all(chain: &TestChain, ops: Vec<(String, Op)>) -> Vec<SignedTx> {
    let mut pending: std::collections::BTreeMap<String, u64> = Default::default();
    ops.into_iter()
        .map(|(signer, op)| {
            let n = pending.entry(signer.clone()).or_default();
            let tx = chain.tx(&signer, *n, op);
            *n += 1;
            tx
        })
        .collect()
}

fn commit(chain: &mut TestChain, store: Option<&Store>, ops: Vec<(String, Op)>) {
    let txs = sign_all(chain, ops);
    let (block, cert, outcome) = chain
        .make_block(txs)
        .unwrap_or_else(|(i, e)| panic!("setup transaction {i} rejected: {e}"));
    if let Some(store) = store {
        store
            .commit_block(&block, &cert, &outcome, &chain.state)
            .expect("commit");
    }
    chain.advance(&block, cert, outcome);
}

/// A chain where the treasury has appropriated to 10 ministries, each has
/// allocated to its 20 departments, 100 vendors are registered, and the last
/// block awarded the contracts the next spending block pays.
fn funded_chain(store: Option<&Store>) -> TestChain {
    let mut chain = TestChain::new(4);
    if let Some(store) = store {
        store
            .init(&chain.genesis, chain.genesis_hash)
            .expect("init");
    }
    let mof = || "MOF".to_owned();
    let register = |i: String, kind, parent: Option<String>| Op::RegisterEntity {
        id: id(&i),
        kind,
        name: format!("Đơn vị {i}"),
        parent: parent.as_deref().map(id),
        keys: vec![key(&i).public_key()],
        threshold: 1,
    };
    let mut ops = Vec::new();
    for m in 0..MINISTRIES {
        ops.push((mof(), register(ministry(m), EntityKind::Ministry, None)));
    }
    for d in 0..DEPARTMENTS {
        let parent = Some(ministry(d / DEPARTMENTS_PER_MINISTRY));
        ops.push((
            mof(),
            register(department(d), EntityKind::Department, parent),
        ));
    }
    for v in 0..VENDORS {
        ops.push((mof(), register(vendor(v), EntityKind::Vendor, None)));
    }
    commit(&mut chain, store, ops);

    let ops = (0..MINISTRIES)
        .map(|m| {
            let op = Op::Appropriate {
                year: year(),
                line: line(),
                to: id(&ministry(m)),
                amount: Amount(1_000_000_000_000_000),
                legal_ref: format!("NQ-{m}/2025/QH15"),
            };
            (mof(), op)
        })
        .collect();
    commit(&mut chain, store, ops);

    let ops = (0..DEPARTMENTS)
        .map(|d| {
            let op = Op::Allocate {
                year: year(),
                line: line(),
                to: id(&department(d)),
                amount: Amount(10_000_000_000_000),
            };
            (ministry(d / DEPARTMENTS_PER_MINISTRY), op)
        })
        .collect();
    commit(&mut chain, store, ops);

    let ops = spending_ops(&chain, false);
    commit(&mut chain, store, ops);
    chain
}

/// The next spending block: every department awards three contracts and, if
/// `pay`, pays off two of those it awarded in the block before.
fn spending_ops(chain: &TestChain, pay: bool) -> Vec<(String, Op)> {
    let h = chain.state.height().0 + 1;
    let mut ops = Vec::with_capacity(BLOCK_TXS);
    for d in 0..DEPARTMENTS {
        for j in 0..AWARDS_PER_DEPARTMENT {
            let op = Op::Award {
                contract: contract(h, d, j),
                year: year(),
                line: line(),
                vendor: id(&vendor((d * 7 + j + h as usize) % VENDORS)),
                amount: contract_amount(h, d, j),
                title: format!("Gói thầu {h}-{d}-{j}: thiết bị y tế"),
                document_hash: Some(ledger::Hash::digest(format!("{h}-{d}-{j}").as_bytes())),
            };
            ops.push((department(d), op));
        }
        if pay {
            for j in 0..PAYS_PER_DEPARTMENT {
                let op = Op::Pay {
                    contract: contract(h - 1, d, j),
                    amount: contract_amount(h - 1, d, j),
                    reference: format!("UNC-{h}-{d}-{j}"),
                    document_hash: None,
                };
                ops.push((department(d), op));
            }
        }
    }
    ops
}

fn spending_block(chain: &TestChain) -> Vec<SignedTx> {
    let txs = sign_all(chain, spending_ops(chain, true));
    assert_eq!(txs.len(), BLOCK_TXS);
    txs
}

fn signatures(c: &mut Criterion) {
    let chain = funded_chain(None);
    // Payments and awards from all 200 departments, as they arrive in a block.
    let txs = spending_block(&chain);
    let picked: Vec<&SignedTx> = txs
        .iter()
        .step_by(BLOCK_TXS / SIGNATURES)
        .take(SIGNATURES)
        .collect();
    assert_eq!(picked.len(), SIGNATURES);
    // Each carries one signature, by its signer's key.
    for tx in &picked {
        assert_eq!(tx.signatures.len(), 1);
        assert_eq!(
            tx.signatures[0].key,
            key(tx.body.signer.as_str()).public_key()
        );
    }
    let mut g = c.benchmark_group("signatures");
    g.throughput(Throughput::Elements(SIGNATURES as u64));
    g.bench_function("single", |b| {
        b.iter(|| {
            for tx in &picked {
                assert!(std::hint::black_box(tx).verify_signatures());
            }
        })
    });
    for batch in [64, 256] {
        g.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| {
                for chunk in picked.chunks(batch) {
                    let verdicts = verify_tx_batch(std::hint::black_box(chunk));
                    assert!(verdicts.iter().all(|ok| *ok));
                }
            })
        });
    }
    g.finish();
}

fn execute(c: &mut Criterion) {
    let chain = funded_chain(None);
    let txs = spending_block(&chain);
    let mut g = c.benchmark_group("execute");
    g.throughput(Throughput::Elements(BLOCK_TXS as u64));
    // What a validator does with a proposal: batch-check the signatures,
    // then execute every transaction.
    g.bench_function("block_1000_with_signatures", |b| {
        b.iter(|| {
            let outcome = chain.state.execute_block(&txs).expect("valid block");
            std::hint::black_box(outcome.state_root)
        })
    });
    // Execution alone, with the signature verdicts already known (cached).
    let verdicts = chain.state.batch_verdicts(&txs);
    g.bench_function("block_1000_verdicts_cached", |b| {
        b.iter_batched(
            || verdicts.clone(),
            |verdicts| {
                let mut exec = chain.state.begin_block();
                for (tx, verdict) in txs.iter().zip(verdicts) {
                    exec.apply_tx(tx, verdict).expect("valid transaction");
                }
                std::hint::black_box(exec.finish().state_root)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn commit_blocks(c: &mut Criterion) {
    // On the target's disk rather than /tmp, which may be a tmpfs where a
    // sync costs nothing.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    let mut chain = funded_chain(Some(&store));
    let mut g = c.benchmark_group("commit");
    g.throughput(Throughput::Elements(BLOCK_TXS as u64));
    // Only the commit is timed, but each iteration also signs and executes a
    // block, so this group takes about three times its measurement time.
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("block_1000_synced", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                // Signing and executing the block are not measured here.
                let txs = spending_block(&chain);
                let (block, cert, outcome) = chain.make_block(txs).expect("valid block");
                let start = Instant::now();
                store
                    .commit_block(&block, &cert, &outcome, &chain.state)
                    .expect("commit");
                spent += start.elapsed();
                chain.advance(&block, cert, outcome);
            }
            spent
        })
    });
    g.finish();
}

// In a private module: the function the macro makes cannot carry a doc
// comment, and `missing_docs` only asks for docs on reachable items.
mod group {
    use super::*;

    criterion_group! {
        name = throughput;
        config = Criterion::default()
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        targets = signatures, execute, commit_blocks
    }
}
criterion_main!(group::throughput);
