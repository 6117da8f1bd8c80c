//! The bench's audit reports what it claims to. Stores are written here by
//! hand, block by block, each with a known defect: a transaction one
//! validator never committed, a transaction committed twice (in one block,
//! and at two heights), a block holding more than its header counts, and a
//! validator whose block differs from the others'. The audit must name
//! each, and nothing else.

use std::path::Path;

use ledger::block::{Block, CommitCertificate};
use ledger::state::{BlockOutcome, State};
use ledger::store::Store;
use ledger::testkit::{key, TestChain};
use ledger::tx::EntityKind;
use ledger::{EntityId, Hash, Op, SignedTx};
use node::home::Home;
use tools::bench::audit::{audit, Audit, Found};

/// A block as a validator stores it: with its certificate, its outcome and
/// the state it was executed on.
type Stored = (Block, CommitCertificate, BlockOutcome, State);

/// The treasury registers ministry `M{n}`.
fn register(chain: &TestChain, pending: u64, n: u32) -> SignedTx {
    chain.tx(
        "MOF",
        pending,
        Op::RegisterEntity {
            id: EntityId::new(&format!("M{n}")).unwrap(),
            kind: EntityKind::Ministry,
            name: format!("Ministry {n}"),
            parent: None,
            keys: vec![key(&format!("M{n}")).public_key()],
            threshold: 1,
        },
    )
}

/// Three blocks of two registrations each, as every validator commits
/// them, and the six transactions in order.
fn honest_chain() -> (TestChain, Vec<Stored>, Vec<SignedTx>) {
    let mut chain = TestChain::new(1);
    let mut blocks = Vec::new();
    let mut txs = Vec::new();
    for b in 0..3u32 {
        let pair = vec![register(&chain, 0, 2 * b), register(&chain, 1, 2 * b + 1)];
        txs.extend(pair.iter().cloned());
        let before = chain.state.clone();
        let (block, cert, outcome) = chain.make_block(pair).unwrap();
        chain.advance(&block, cert.clone(), outcome.clone());
        blocks.push((block, cert, outcome, before));
    }
    (chain, blocks, txs)
}

/// A validator's home whose store holds `blocks` on top of `chain`'s
/// genesis; the store is closed again before the audit opens it.
fn home_with(dir: &Path, name: &str, chain: &TestChain, blocks: &[Stored]) -> Home {
    let home = Home::new(dir.join(name));
    std::fs::create_dir_all(home.data_dir()).unwrap();
    let store = Store::open(&home.data_dir()).unwrap();
    store.init(&chain.genesis, chain.genesis_hash).unwrap();
    for (block, cert, outcome, before) in blocks {
        store.commit_block(block, cert, outcome, before).unwrap();
    }
    home
}

fn hashes(txs: &[SignedTx]) -> Vec<Hash> {
    txs.iter().map(SignedTx::hash).collect()
}

fn run(homes: &[Home], txs: &[SignedTx]) -> Audit {
    audit(homes, &hashes(txs)).unwrap()
}

#[test]
fn identical_stores_report_every_transaction_once_at_its_height() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, blocks, txs) = honest_chain();
    let homes = [
        home_with(dir.path(), "v0", &genesis, &blocks),
        home_with(dir.path(), "v1", &genesis, &blocks),
    ];
    let a = run(&homes, &txs);
    assert_eq!(a.heights, vec![3, 3]);
    assert_eq!(a.first_divergence, None);
    assert_eq!(a.block_txs, vec![0, 2, 2, 2]);
    let expected: Vec<Found> = [1, 1, 2, 2, 3, 3].map(Found::Once).to_vec();
    assert_eq!(a.found, expected);
}

#[test]
fn a_transaction_one_validator_lacks_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, blocks, txs) = honest_chain();
    // Validator 1 stopped after block 2: block 3's two are not in its store.
    let homes = [
        home_with(dir.path(), "v0", &genesis, &blocks),
        home_with(dir.path(), "v1", &genesis, &blocks[..2]),
    ];
    let a = run(&homes, &txs);
    assert_eq!(a.heights, vec![3, 2]);
    assert_eq!(a.first_divergence, None, "the common prefix agrees");
    let mut expected: Vec<Found> = [1, 1, 2, 2].map(Found::Once).to_vec();
    expected.extend([Found::Missing, Found::Missing]);
    assert_eq!(a.found, expected);
    // A transaction the load sent that no store holds at all.
    let mut more = txs.clone();
    more.push(register(&TestChain::new(1), 0, 99));
    assert_eq!(run(&homes, &more).found[6], Found::Missing);
}

#[test]
fn a_transaction_stored_twice_is_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, blocks, txs) = honest_chain();
    // Validator 1's block 1 holds transaction 0 twice, and its block 3
    // holds transaction 2 again; each header counts what its block holds.
    // (A store writes what it is given; the audit must not trust that
    // blocks were valid.)
    let mut dup = blocks.clone();
    for (b, tx) in [(0, 0), (2, 2)] {
        dup[b].0.txs.push(txs[tx].clone());
        dup[b].0.header.tx_count += 1;
        dup[b].1.block_hash = dup[b].0.hash();
    }
    let homes = [
        home_with(dir.path(), "v0", &genesis, &blocks),
        home_with(dir.path(), "v1", &genesis, &dup),
    ];
    let a = run(&homes, &txs);
    assert_eq!(a.found[0], Found::Repeated);
    assert_eq!(a.found[2], Found::Repeated);
    for i in [1, 3, 4, 5] {
        assert!(
            matches!(a.found[i], Found::Once(_)),
            "{i}: {:?}",
            a.found[i]
        );
    }
    // Their headers differ from validator 0's from block 1 on.
    assert_eq!(a.first_divergence, Some(1));
}

#[test]
fn a_block_holding_more_transactions_than_its_header_counts_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, blocks, txs) = honest_chain();
    // An extra copy the header does not count: the store refuses to read
    // the block, and the audit fails naming it, rather than count it.
    let mut dup = blocks.clone();
    dup[0].0.txs.push(txs[0].clone());
    let homes = [
        home_with(dir.path(), "v0", &genesis, &blocks),
        home_with(dir.path(), "v1", &genesis, &dup),
    ];
    let err = audit(&homes, &hashes(&txs)).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("corrupt store at height 1")
            && err.contains("the header counts 2 transactions, the store holds 3"),
        "{err}"
    );
}

#[test]
fn a_block_that_differs_names_the_first_height_of_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, blocks, txs) = honest_chain();
    // Validator 2 holds the same block 1, then another block 2 and 3.
    let mut fork = TestChain::new(1);
    let mut other = vec![blocks[0].clone()];
    fork.advance(&blocks[0].0, blocks[0].1.clone(), blocks[0].2.clone());
    for n in [10, 11] {
        let before = fork.state.clone();
        let (block, cert, outcome) = fork.make_block(vec![register(&fork, 0, n)]).unwrap();
        fork.advance(&block, cert.clone(), outcome.clone());
        other.push((block, cert, outcome, before));
    }
    let homes = [
        home_with(dir.path(), "v0", &genesis, &blocks),
        home_with(dir.path(), "v1", &genesis, &blocks),
        home_with(dir.path(), "v2", &genesis, &other),
    ];
    let a = run(&homes, &txs);
    assert_eq!(a.first_divergence, Some(2));
    assert_eq!(a.heights, vec![3, 3, 3]);
}
