//! The RocksDB store at its boundary: what was committed comes back after the
//! store is closed and reopened (blocks, certificates, the transaction index,
//! entity history, metadata and the state), and anything tampered with or
//! garbled is caught by `verify_store` naming the height it is at, as an
//! error, never a panic.
//!
//! Expectations are computed by the test from the transactions it made, not
//! read back from the store's own indexes.

mod backup;
mod helpers;
mod history;
mod migrate;
mod queries;
mod tampering;

use ledger::store::{Store, StoreError, TxLocation};
use ledger::testkit::{id, CHAIN_ID, GENESIS_TIME_MS};
use ledger::verify::verify_store;
use ledger::{Amount, Hash, Height, Op, State};

use crate::helpers::{
    block_txs, contract_amount, line, vendor_of, year, Fixture, DEPARTMENTS, RETURNED,
    RETURN_EVERY, VENDORS,
};

#[test]
fn committed_blocks_read_back_after_reopen() {
    let mut f = Fixture::with_blocks(10);
    f.reopen();
    let store = f.store();

    for (block, cert) in &f.blocks {
        let h = block.header.height;
        assert_eq!(store.block(h).unwrap().as_ref(), Some(block), "block {h}");
        assert_eq!(store.cert(h).unwrap().as_ref(), Some(cert), "cert {h}");
        for (i, tx) in block.txs.iter().enumerate() {
            let want = TxLocation {
                height: h,
                index: i as u32,
            };
            assert_eq!(store.tx_location(&tx.hash()).unwrap(), Some(want));
        }
    }
    assert_eq!(store.block(Height(0)).unwrap(), None);
    assert_eq!(store.block(Height(11)).unwrap(), None);
    assert_eq!(store.cert(Height(11)).unwrap(), None);
    let stranger = f.chain.tx(
        "MOH",
        0,
        Op::SetStatus {
            entity: id("V-1"),
            status: ledger::tx::Status::Suspended,
        },
    );
    assert_eq!(store.tx_location(&stranger.hash()).unwrap(), None);

    let meta = store.meta().unwrap().expect("initialised");
    assert_eq!(meta.chain_id, CHAIN_ID);
    assert_eq!(meta.genesis_hash, f.chain.genesis_hash);
    assert_eq!(meta.height, Height(10));
    assert_eq!(meta.last_block_hash, f.block(10).hash());
    assert_eq!(meta.state_root, f.block(10).header.state_root);

    // Opening again gives back the state the chain reached in memory.
    let state = store.init(&f.chain.genesis, f.chain.genesis_hash).unwrap();
    assert_eq!(state.height(), Height(10));
    assert_eq!(state.root(), f.chain.state.root());
    assert!(state.entries().eq(f.chain.state.entries()));
    assert_eq!(state, f.chain.state);
    assert_eq!(store.state_differs(&f.chain.state).unwrap(), None);
    // Held against the genesis state, the stored entries differ.
    assert!(store.state_differs(&f.chain.genesis).unwrap().is_some());

    // The figures add up to what the test paid out, counted independently.
    for v in VENDORS {
        let paid: u64 = (4..10u64)
            .flat_map(|h| (0..DEPARTMENTS.len()).map(move |d| (h, d)))
            .filter(|&(h, d)| vendor_of(h, d) == v)
            .map(|(h, d)| contract_amount(h, d).0)
            .sum();
        assert_eq!(state.budget(&id(v), year(), &line()).received, Amount(paid));
    }
    let returns = (1..=10)
        .filter(|h: &u64| h.is_multiple_of(RETURN_EVERY) && *h >= 4)
        .count() as u64;
    let figures = state.budget(&id("MOH.BVBM"), year(), &line());
    assert_eq!(
        figures.received,
        Amount(100_000_000_000 - returns * RETURNED.0)
    );

    let report = f.verify().unwrap();
    let txs: usize = f.blocks.iter().map(|(b, _)| b.txs.len()).sum();
    assert_eq!(report.height, Height(10));
    assert_eq!(report.txs, txs as u64);
    assert_eq!(report.last_block_hash, f.block(10).hash());
    assert_eq!(report.state_root, f.chain.state.root());
}

#[test]
fn a_reopened_store_takes_more_blocks() {
    let mut f = Fixture::with_blocks(5);
    f.reopen();
    // Resume as a node does: from the state the store gives back.
    let state = f
        .store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .unwrap();
    f.chain.state = state;
    f.commit_blocks(4);
    f.reopen();
    let report = f.verify().unwrap();
    assert_eq!(report.height, Height(9));
    assert_eq!(report.state_root, f.chain.state.root());
    assert_eq!(f.store().meta().unwrap().unwrap().height, Height(9));
}

#[test]
fn a_refused_write_leaves_the_store_unchanged_and_reopen_resumes_it() {
    let mut f = Fixture::with_blocks(3);
    let before = f.verify().unwrap();
    // A read-only open stands for a disk that refuses writes: the store
    // serves reads, and the write of block 4 fails as a whole.
    drop(f.open.take());
    f.open = Some(Store::open_read_only(f.dir.path()).unwrap());
    assert!(!f.store().is_writable());
    let (block, cert, outcome) = f.chain.make_block(block_txs(&f.chain)).unwrap();
    let refused = f
        .store()
        .commit_block(&block, &cert, &outcome, &f.chain.state);
    assert!(matches!(refused, Err(StoreError::Db(_))), "{refused:?}");
    assert!(f.store().safety_put(b"record", b"x").is_err());
    assert_eq!(f.store().block(Height(4)).unwrap(), None);
    assert_eq!(f.store().safety_get(b"record").unwrap(), None);
    let meta = f.store().meta().unwrap().unwrap();
    assert_eq!(meta.height, Height(3));
    assert_eq!(meta.last_block_hash, f.block(3).hash());
    assert_eq!(f.verify().unwrap(), before);

    // Reopened for writing in place, it takes the same block.
    f.store().reopen().unwrap();
    assert!(f.store().is_writable());
    f.store()
        .commit_block(&block, &cert, &outcome, &f.chain.state)
        .unwrap();
    f.chain.advance(&block, cert.clone(), outcome);
    f.blocks.push((block, cert));
    f.commit_blocks(2);
    // A reopen of a writable store swaps it for a fresh handle as well.
    f.store().reopen().unwrap();
    f.commit_blocks(1);
    f.reopen();
    let report = f.verify().unwrap();
    assert_eq!(report.height, Height(7));
    assert_eq!(report.state_root, f.chain.state.root());
}

#[test]
fn init_refuses_another_genesis() {
    let f = Fixture::with_blocks(4);
    let other_hash = Hash::digest(b"another genesis");
    let err = f.store().init(&f.chain.genesis, other_hash).unwrap_err();
    match err {
        StoreError::OtherChain {
            expected_genesis,
            found_genesis,
            ..
        } => {
            assert_eq!(expected_genesis, other_hash);
            assert_eq!(found_genesis, f.chain.genesis_hash);
        }
        e => panic!("expected OtherChain, got {e}"),
    }
    let entries = f
        .chain
        .genesis
        .entries()
        .map(|(k, v)| (k.clone(), Some(v.clone())));
    let other_chain = State::genesis("minhbach-other", entries.collect());
    assert!(matches!(
        f.store().init(&other_chain, f.chain.genesis_hash),
        Err(StoreError::OtherChain { found, .. }) if found == CHAIN_ID
    ));
    // Refusing changed nothing.
    assert_eq!(f.store().meta().unwrap().unwrap().height, Height(4));
    assert_eq!(
        f.store()
            .init(&f.chain.genesis, f.chain.genesis_hash)
            .unwrap(),
        f.chain.state
    );
    // verify_store refuses another genesis too, at height 0.
    let err = verify_store(
        f.store(),
        &f.chain.genesis,
        other_hash,
        GENESIS_TIME_MS,
        |_| {},
    )
    .unwrap_err();
    assert_eq!(err.height(), Height(0));
}
