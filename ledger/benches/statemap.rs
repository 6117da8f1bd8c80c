//! What the authenticated state map costs a block: updating a tree of N
//! entries by the changes of one block (new entries and changed ones, at
//! random keys, so no path is shared by accident), with the nodes in a
//! hash map in memory, and proving one key.
//!
//! Run with `cargo bench -p ledger --bench statemap`. Building the trees
//! takes a few seconds before the measurements start.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ledger::statemap::grouped::GroupedNodes;
use ledger::statemap::tree::{self, Node, NodePos};
use ledger::Hash;

fn key(i: u64) -> Hash {
    Hash::digest(&i.to_le_bytes())
}

fn value(i: u64, round: u64) -> Hash {
    Hash::digest(&[i.to_le_bytes(), round.to_le_bytes()].concat())
}

/// A tree of `n` entries, its nodes in a hash map, one entry per node.
fn tree_of(n: u64) -> HashMap<NodePos, Node> {
    let mut store = HashMap::new();
    let u = tree::update(&store, &entries(n)).expect("an empty tree has every node");
    for (at, node) in u.writes {
        if let Some(node) = node {
            store.insert(at, node);
        }
    }
    store
}

/// The same tree, its nodes in groups of four levels.
fn grouped_tree_of(n: u64) -> GroupedNodes {
    let mut store = GroupedNodes::new();
    let u = tree::update(&store, &entries(n)).expect("an empty tree has every node");
    store.apply(u.writes);
    store
}

fn entries(n: u64) -> BTreeMap<Hash, Option<Hash>> {
    (0..n).map(|i| (key(i), Some(value(i, 0)))).collect()
}

/// A block's changes: `k` keys, half already present (changed), half new.
fn block(n: u64, k: u64, round: u64) -> BTreeMap<Hash, Option<Hash>> {
    (0..k)
        .map(|j| {
            let i = if j % 2 == 0 {
                (j * 7919 + round * 104_729) % n
            } else {
                n + round * k + j
            };
            (key(i), Some(value(i, round)))
        })
        .collect()
}

fn update(c: &mut Criterion) {
    let mut g = c.benchmark_group("statemap/update");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    for n in [100_000u64, 1_000_000] {
        let store = tree_of(n);
        let grouped = grouped_tree_of(n);
        for k in [3_000u64, 30_000] {
            g.throughput(Throughput::Elements(k));
            for (layout, nodes) in [
                ("", &store as &dyn tree::NodeRead),
                (", grouped", &grouped as &dyn tree::NodeRead),
            ] {
                let mut round = 0;
                g.bench_function(format!("{n} entries, {k} changes{layout}"), |b| {
                    b.iter_batched(
                        || {
                            round += 1;
                            block(n, k, round)
                        },
                        |changes| tree::update(nodes, &changes).expect("every node is there"),
                        BatchSize::LargeInput,
                    )
                });
            }
        }
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{n} entries, prove one key"), |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                tree::prove(&store, &key(i % n)).expect("every node is there")
            })
        });
    }
    g.finish();
}

// In a private module: the function the macro makes cannot carry a doc
// comment, and `missing_docs` only asks for docs on reachable items.
mod group {
    use super::*;

    criterion_group!(statemap, update);
}
criterion_main!(group::statemap);
