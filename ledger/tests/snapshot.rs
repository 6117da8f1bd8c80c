//! Snapshot chunks (`ledger::state::snapshot`): at every depth, the chunks
//! of a state verify against its root and together hold exactly its
//! entries, each under its own prefix; and no changed chunk, nor any chunk
//! of another state, passes.

use std::collections::BTreeMap;

use ledger::state::snapshot::{Chunk, ChunkError};
use ledger::state::{key_hash, StateKey, StateValue};
use ledger::testkit::{id, TestChain};
use ledger::tx::EntityKind;
use ledger::{Hash, Op};

/// A chain whose state has a few dozen entries, and its root.
fn state_after_blocks() -> TestChain {
    let mut chain = TestChain::new(4);
    for batch in 0..3 {
        let txs = (0..8)
            .map(|i| {
                let name = format!("V-{batch}-{i}");
                chain.tx(
                    "MOF",
                    i,
                    Op::RegisterEntity {
                        id: id(&name),
                        kind: EntityKind::Vendor,
                        name: format!("Vendor {name}"),
                        parent: None,
                        keys: vec![ledger::testkit::key(&name).public_key()],
                        threshold: 1,
                    },
                )
            })
            .collect();
        chain.commit(txs).expect("the registrations apply");
    }
    chain
}

/// The first `depth` bits of `h`, as a chunk names them.
fn prefix_of(h: &Hash, depth: u8) -> u32 {
    let mut p = 0u32;
    for i in 0..usize::from(depth) {
        p = (p << 1) | u32::from(h.0[i / 8] >> (7 - i % 8) & 1);
    }
    p
}

#[test]
fn the_chunks_of_a_state_hold_exactly_its_entries_at_every_depth() {
    let chain = state_after_blocks();
    let state = &chain.state;
    let root = state.root();
    let all: BTreeMap<StateKey, StateValue> = state
        .entries()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(all.len() >= 24, "{} entries", all.len());
    for depth in [0u8, 1, 3, 6, 9] {
        let mut got = BTreeMap::new();
        for prefix in 0..1u32 << depth {
            let chunk = Chunk::build(state, depth, prefix);
            let bytes = chunk.encode();
            assert_eq!(Chunk::decode(&bytes).unwrap(), chunk);
            let entries = chunk.verify(&root).unwrap_or_else(|e| {
                panic!("depth {depth}, prefix {prefix}: {e}");
            });
            for (k, v) in entries {
                assert_eq!(prefix_of(&key_hash(&k), depth), prefix, "{k:?}");
                assert!(got.insert(k, v).is_none(), "an entry in two chunks");
            }
        }
        assert_eq!(got, all, "depth {depth}: the chunks hold the whole state");
    }
}

#[test]
fn no_changed_chunk_and_no_other_states_chunk_passes() {
    let mut chain = state_after_blocks();
    let root = chain.state.root();
    let chunk = Chunk::build(&chain.state, 3, 5);
    let bytes = chunk.encode();
    // Every single changed byte: refused when read, or when checked.
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= flip;
            if let Ok(c) = Chunk::decode(&bad) {
                assert!(c.verify(&root).is_err(), "byte {i} ^ {flip:#x} passed");
            }
        }
    }
    // Trailing bytes are refused.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Chunk::decode(&longer).is_err());
    // An entry left out, another prefix, more siblings than bits.
    let mut fewer = Chunk::build(&chain.state, 0, 0);
    fewer.entries.remove(3);
    assert!(matches!(
        fewer.verify(&root),
        Err(ChunkError::WrongRoot { .. })
    ));
    let moved = Chunk {
        prefix: chunk.prefix ^ 1,
        ..chunk.clone()
    };
    assert!(moved.verify(&root).is_err());
    let deep = Chunk {
        depth: 17,
        ..chunk.clone()
    };
    assert!(matches!(deep.verify(&root), Err(ChunkError::Prefix { .. })));
    // A later state's root refuses this state's chunks.
    chain.commit(Vec::new()).unwrap();
    let other = Hash::digest(b"another root");
    assert!(matches!(
        chunk.verify(&other),
        Err(ChunkError::WrongRoot { .. })
    ));
}
