//! Starting from a snapshot: a store that takes the state of height H in
//! chunks from another, checked against the anchor alone, then commits the
//! blocks after H, holds what the other holds from H on, serves the same
//! state proofs, and says plainly that it holds nothing below H. Every
//! piece a peer could get wrong is refused by name.

use std::collections::BTreeMap;

use ledger::proof::{ProofError, StateBundle, TrustAnchor};
use ledger::state::snapshot::{Chunk, ChunkError};
use ledger::state::StateKey;
use ledger::statesync::{Anchored, SnapshotAnchor, SnapshotError, VerifiedSnapshot};
use ledger::store::{Store, StoreError};
use ledger::testkit::id;
use ledger::{Block, Hash, Height, State};

use crate::helpers::{Fixture, CHANGES_AT};

const ROOMY: usize = 1 << 24;

/// The anchor `src` serves for height `h`, as a node answers a peer.
fn anchor_of(f: &Fixture, h: u64) -> SnapshotAnchor {
    let bundle = StateBundle::build(
        &f.store,
        f.chain.genesis_hash,
        &StateKey::Treasury,
        Some(Height(h)),
    )
    .unwrap()
    .expect("a committed height");
    let history = f.store.history_frontier(Height(h - 1)).unwrap();
    SnapshotAnchor {
        bundle: bundle.to_json().into_bytes(),
        history: history.peaks().to_vec(),
    }
}

/// The state after block `h`, replayed from genesis by the test.
fn replayed(f: &Fixture, h: u64) -> State {
    let mut state = f.chain.genesis.clone();
    for block in &f.blocks[..h as usize] {
        let outcome = state.execute_block(&block.txs).unwrap();
        state.commit(outcome);
    }
    state
}

/// The chunk `f`'s store serves for `prefix` of `depth` bits at `h`.
fn served(f: &Fixture, h: Height, depth: u8, prefix: u32) -> Chunk {
    f.store
        .snapshot_chunk(h, depth, prefix, ROOMY)
        .unwrap()
        .unwrap()
}

/// Everything a node takes to start at `h`, chunks of `depth` bits.
fn snapshot(f: &Fixture, h: u64, depth: u8) -> VerifiedSnapshot {
    let anchored = Anchored::check(&f.anchor(), &anchor_of(f, h)).unwrap();
    let mut blocks = BTreeMap::new();
    for k in anchored.block_heights() {
        let block = f.store.block(k).unwrap().unwrap();
        anchored.check_block(&block).unwrap();
        blocks.insert(k, block);
    }
    let mut entries = Vec::new();
    for prefix in 0..1u32 << depth {
        let chunk = served(f, Height(h), depth, prefix);
        entries.extend(anchored.check_chunk(&chunk).unwrap());
    }
    anchored.finish(&f.chain.chain_id, entries, blocks).unwrap()
}

#[test]
fn chunks_served_from_the_store_are_the_state_of_their_height() {
    let f = Fixture::new();
    for h in [1u64, 5, 8] {
        let state = replayed(&f, h);
        for depth in [0u8, 1, 3, 6] {
            for prefix in 0..1u32 << depth {
                assert_eq!(
                    served(&f, Height(h), depth, prefix),
                    Chunk::build(&state, depth, prefix),
                    "{h} {depth} {prefix}"
                );
            }
        }
    }
    // Too many bytes: the node asks for halves instead.
    assert_eq!(f.store.snapshot_chunk(Height(8), 0, 0, 100).unwrap(), None);
    assert!(f.store.snapshot_chunk(Height(9), 0, 0, ROOMY).is_err());
    assert!(f.store.snapshot_chunk(Height(8), 2, 4, ROOMY).is_err());
    // The snapshots served: the newest multiples of the interval.
    assert_eq!(
        f.store.snapshot_heights(3, 2).unwrap(),
        vec![Height(3), Height(6)]
    );
    assert_eq!(f.store.snapshot_heights(10, 2).unwrap(), vec![]);
}

#[test]
fn a_store_started_from_a_snapshot_holds_the_chain_from_there_and_proves_the_same() {
    let f = Fixture::new();
    for (h, depth) in [(7u64, 2u8), (5, 4), (3, 0)] {
        let snap = snapshot(&f, h, depth);
        assert_eq!(snap.state, replayed(&f, h));
        assert_eq!(
            snap.changes
                .iter()
                .map(|c| c.0.header.height.0)
                .collect::<Vec<_>>(),
            CHANGES_AT
                .iter()
                .copied()
                .filter(|k| *k < h)
                .collect::<Vec<_>>()
        );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut state = store
            .start_from_snapshot(&f.chain.genesis, f.chain.genesis_hash, &snap)
            .unwrap();
        for block in &f.blocks[h as usize..] {
            let cert = f.store.cert(block.header.height).unwrap().unwrap();
            let outcome = state.execute_block(&block.txs).unwrap();
            store.commit_block(block, &cert, &outcome, &state).unwrap();
            state.commit(outcome);
        }
        // Opened again, it is the same chain at the same height.
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let state = store.init(&f.chain.genesis, f.chain.genesis_hash).unwrap();
        assert_eq!(state, f.chain.state);
        assert_eq!(store.base().unwrap(), Height(h));
        assert_eq!(store.meta().unwrap(), f.store.meta().unwrap());
        assert_eq!(
            store.history_root(Height(8)).unwrap(),
            f.store.history_root(Height(8)).unwrap()
        );

        // The same state proofs, at H and after.
        let keys = [
            StateKey::Treasury,
            StateKey::Entity(id("MOH.BVBM")),
            StateKey::Entity(id("V-0042")),
            StateKey::Entity(id("NOBODY")),
        ];
        for at in h..=8 {
            for key in &keys {
                let theirs =
                    StateBundle::build(&f.store, f.chain.genesis_hash, key, Some(Height(at)))
                        .unwrap()
                        .unwrap();
                let ours = StateBundle::build(&store, f.chain.genesis_hash, key, Some(Height(at)))
                    .unwrap()
                    .unwrap();
                assert_eq!(ours, theirs, "{key:?} at {at}");
                ours.verify(&f.anchor()).unwrap();
            }
        }
        // Below H: nothing, said so by name, but for the set changes a
        // proof needs.
        for below in 1..h {
            let held = CHANGES_AT.contains(&below);
            match store.block(Height(below)) {
                Ok(Some(_)) => assert!(held, "block {below} is a set change"),
                Err(StoreError::NotHeld { height, base }) => {
                    assert!(!held);
                    assert_eq!((height, base), (Height(below), Height(h)));
                }
                other => panic!("block {below}: {other:?}"),
            }
            // The set of a height below H comes from the set changes.
            let set = f
                .store
                .validator_set(&f.blocks[below as usize - 1].header.validators_hash)
                .unwrap()
                .unwrap();
            let first = f.chain.genesis.validators();
            assert_eq!(store.set_from_changes(Height(below), first).unwrap(), set);
            let refused = store.entry_proof(&StateKey::Treasury, Height(below));
            assert!(
                matches!(refused, Err(StoreError::NotHeld { .. })),
                "{refused:?}"
            );
            let text = refused.unwrap_err().to_string();
            assert!(text.contains("not held here"), "{text}");
        }
        // The snapshot's own heights are served from it on.
        assert_eq!(
            store.snapshot_heights(1, 100).unwrap().first(),
            Some(&Height(h))
        );
    }
}

#[test]
fn every_piece_a_peer_gets_wrong_is_refused_by_name() {
    let f = Fixture::new();
    let h = 7;
    let anchored = Anchored::check(&f.anchor(), &anchor_of(&f, h)).unwrap();

    // An anchor of another chain's genesis.
    let stranger = TrustAnchor::new(
        &f.chain.chain_id,
        Hash::digest(b"another genesis"),
        f.chain.genesis.validators().clone(),
    );
    let refused = Anchored::check(&stranger, &anchor_of(&f, h));
    assert!(
        matches!(
            refused,
            Err(SnapshotError::Anchor(ProofError::WrongGenesis { .. }))
        ),
        "{refused:?}"
    );
    // An anchor proving another key.
    let mut other = anchor_of(&f, h);
    other.bundle = StateBundle::build(
        &f.store,
        f.chain.genesis_hash,
        &StateKey::Entity(id("MOH")),
        Some(Height(h)),
    )
    .unwrap()
    .unwrap()
    .to_json()
    .into_bytes();
    assert!(matches!(
        Anchored::check(&f.anchor(), &other),
        Err(SnapshotError::AnchorKey)
    ));
    // A history that does not lead to header H's root.
    let mut history = anchor_of(&f, h);
    history.history[0].0[0] ^= 1;
    assert!(matches!(
        Anchored::check(&f.anchor(), &history),
        Err(SnapshotError::History { .. })
    ));
    history.history.pop();
    let refused = Anchored::check(&f.anchor(), &history);
    assert!(
        matches!(
            refused,
            Err(SnapshotError::HistoryPeaks {
                blocks: 6,
                peaks: 1
            })
        ),
        "{refused:?}"
    );
    // A garbled anchor.
    let mut garbled = anchor_of(&f, h);
    garbled.bundle.truncate(100);
    assert!(matches!(
        Anchored::check(&f.anchor(), &garbled),
        Err(SnapshotError::Anchor(_))
    ));

    // A block with one transaction dropped, a block of another height.
    let mut block: Block = f.store.block(Height(h)).unwrap().unwrap();
    block.txs.pop();
    assert!(matches!(
        anchored.check_block(&block),
        Err(SnapshotError::Block { .. })
    ));
    let other_height = f.store.block(Height(2)).unwrap().unwrap();
    assert!(matches!(
        anchored.check_block(&other_height),
        Err(SnapshotError::Block { .. })
    ));

    // A chunk of another height, and one with an entry changed.
    let stale = served(&f, Height(h - 1), 0, 0);
    assert!(matches!(
        anchored.check_chunk(&stale),
        Err(SnapshotError::Chunk {
            error: ChunkError::WrongRoot { .. },
            ..
        })
    ));
    // Entries left out: the state of H cannot be made.
    let half = served(&f, Height(h), 1, 0);
    let entries = anchored.check_chunk(&half).unwrap();
    let blocks = anchored
        .block_heights()
        .into_iter()
        .map(|k| (k, f.store.block(k).unwrap().unwrap()))
        .collect();
    assert!(matches!(
        anchored.clone().finish(&f.chain.chain_id, entries, blocks),
        Err(SnapshotError::State(_))
    ));
    // A block missing.
    let whole = served(&f, Height(h), 0, 0);
    let entries = anchored.check_chunk(&whole).unwrap();
    assert!(matches!(
        anchored.finish(&f.chain.chain_id, entries, BTreeMap::new()),
        Err(SnapshotError::Block { .. })
    ));

    // A snapshot goes only into an empty store.
    let snap = snapshot(&f, h, 1);
    assert!(f
        .store
        .start_from_snapshot(&f.chain.genesis, f.chain.genesis_hash, &snap)
        .is_err());
    assert_eq!(f.store.meta().unwrap().unwrap().height, Height(8));
}
