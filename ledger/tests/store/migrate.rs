//! `minhbach migrate`: a store of the format before this one (no state
//! keys by hash) is refused at open with the command that fixes it, and
//! the migration brings it to this format with nothing else changed: the
//! snapshots it serves then are the ones a store of this format serves.

use ledger::block::Block;
use ledger::store::{Migration, StoreError, STORE_FORMAT};
use ledger::tx::SignedTx;
use ledger::{Hash, Height};

use crate::helpers::Fixture;

/// Reopens the store of `f`, now of format `found`, and checks it is
/// refused with the command that migrates it.
fn refused_until_migrated(f: &mut Fixture, found: u32) {
    f.reopen();
    let refused = f
        .store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::NeedsMigration { found: f, .. } if f == found),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("minhbach migrate"),
        "{refused}"
    );
}

#[test]
fn a_store_of_the_format_before_is_migrated_and_then_serves_the_same_snapshots() {
    let mut f = Fixture::with_blocks(9);
    let chunks = |f: &Fixture| -> Vec<_> {
        [Height(3), Height(9)]
            .into_iter()
            .flat_map(|h| (0..4).map(move |p| (h, p)))
            .map(|(h, p)| f.store().snapshot_chunk(h, 2, p, 1 << 24).unwrap())
            .collect()
    };
    let before = chunks(&f);
    assert!(before.iter().all(Option::is_some));

    f.store().downgrade_to_format_3().unwrap();
    refused_until_migrated(&mut f, 3);
    // Without the keys, the state of a past height cannot be read back.
    assert!(f.store().snapshot_chunk(Height(3), 0, 0, 1 << 24).is_err());

    let other = f.store().migrate(
        &f.chain.genesis,
        Hash::digest(b"another genesis"),
        |_, _| {},
    );
    assert!(
        matches!(other, Err(StoreError::OtherChain { .. })),
        "{other:?}"
    );
    assert_eq!(f.store().format().unwrap(), 3, "a refusal writes nothing");

    let mut seen = Vec::new();
    let done = f
        .store()
        .migrate(&f.chain.genesis, f.chain.genesis_hash, |h, top| {
            seen.push((h, top))
        })
        .unwrap();
    assert_eq!(
        (done.from, done.to, done.blocks, done.split),
        (3, STORE_FORMAT, 9, 9)
    );
    // Every key the test's state holds, at least, was written again.
    assert!(
        done.keys >= f.chain.state.entries().count() as u64,
        "{done:?}"
    );
    assert_eq!(seen.last(), Some(&(Height(9), Height(9))));
    assert_eq!(f.store().format().unwrap(), STORE_FORMAT);
    assert_eq!(chunks(&f), before);
    f.reopen();
    let state = f
        .store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .unwrap();
    assert_eq!(state, f.chain.state);
    f.verify().unwrap();

    // Once is enough: a second run finds nothing to do.
    let again = f
        .store()
        .migrate(&f.chain.genesis, f.chain.genesis_hash, |_, _| {})
        .unwrap();
    assert_eq!(
        again,
        Migration {
            from: STORE_FORMAT,
            to: STORE_FORMAT,
            blocks: 0,
            keys: 0,
            split: 0,
        }
    );
}

/// Every block of the fixture, and each of its transactions read alone.
fn blocks_and_txs(f: &Fixture, top: u64) -> Vec<(Block, Vec<Option<SignedTx>>)> {
    (1..=top)
        .map(|h| {
            let block = f.store().block(Height(h)).unwrap().unwrap();
            let alone = (0..=block.txs.len() as u32)
                .map(|i| f.store().tx_at(Height(h), i).unwrap())
                .collect();
            (block, alone)
        })
        .collect()
}

#[test]
fn blocks_stored_whole_are_read_the_same_and_migrated_to_transactions_one_by_one() {
    let mut f = Fixture::with_blocks(6);
    let before = blocks_and_txs(&f, 6);
    for (h, (block, alone)) in before.iter().enumerate() {
        assert_eq!(block, f.block(h as u64 + 1), "the block as committed");
        let mut expected: Vec<Option<SignedTx>> = block.txs.iter().cloned().map(Some).collect();
        expected.push(None);
        assert_eq!(
            alone, &expected,
            "each transaction alone, and none past the last"
        );
    }
    let with_txs = before.iter().filter(|(b, _)| !b.txs.is_empty()).count() as u64;
    assert!(with_txs > 0);

    f.store().downgrade_to_format_4().unwrap();
    refused_until_migrated(&mut f, 4);
    // Blocks stored whole read the same, whole or a transaction at a time.
    assert_eq!(blocks_and_txs(&f, 6), before);

    let done = f
        .store()
        .migrate(&f.chain.genesis, f.chain.genesis_hash, |_, _| {})
        .unwrap();
    assert_eq!(
        done,
        Migration {
            from: 4,
            to: STORE_FORMAT,
            blocks: 0,
            keys: 0,
            split: with_txs,
        }
    );
    f.reopen();
    f.store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .unwrap();
    assert_eq!(blocks_and_txs(&f, 6), before);
    for h in 1..=6 {
        assert_eq!(
            f.store().header(Height(h)).unwrap().as_ref(),
            Some(&before[h as usize - 1].0.header)
        );
    }
    f.verify().unwrap();
}

#[test]
fn a_transaction_stored_alone_that_is_missing_or_garbled_is_named_with_its_block() {
    let f = Fixture::with_blocks(4);
    let (h, block) = (1..=4u64)
        .map(|h| (h, f.store().block(Height(h)).unwrap().unwrap()))
        .find(|(_, b)| b.txs.len() >= 2)
        .expect("a block with two transactions");
    let key = |i: u32| [&h.to_be_bytes()[..], &i.to_be_bytes()[..]].concat();
    f.store().tamper("txs", &key(1), b"garbled").unwrap();
    let err = f.store().block(Height(h)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { height, what } if height.0 == h && what.contains("transaction 1")),
        "{err}"
    );
    assert!(f.store().tx_at(Height(h), 1).is_err());
    assert_eq!(
        f.store().tx_at(Height(h), 0).unwrap().as_ref(),
        Some(&block.txs[0])
    );
    // One more than the header counts.
    let last = block.txs.len() as u32;
    f.store()
        .tamper("txs", &key(1), &block.txs[1].encode())
        .unwrap();
    f.store()
        .tamper("txs", &key(last), &block.txs[0].encode())
        .unwrap();
    let err = f.store().block(Height(h)).unwrap_err();
    assert!(err.to_string().contains("the header counts"), "{err}");
    // A count beyond what a block may hold is named, not allocated.
    let mut rest = block.clone();
    rest.txs.clear();
    rest.header.tx_count = u32::MAX;
    f.store()
        .tamper("blocks", &h.to_be_bytes(), &rest.encode())
        .unwrap();
    let err = f.store().block(Height(h)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { height, what } if height.0 == h && what.contains("more than a block may hold")),
        "{err}"
    );
}
