//! The incremental tree against the definition ([`naive`]): same roots, same
//! proofs, the same nodes whatever order the entries came in; proofs that
//! verify, and fail once anything in them changes.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::grouped::GroupedNodes;
use super::tree::{self, Node, NodePos};
use super::*;

fn h(b: &[u8]) -> Hash {
    Hash::digest(b)
}

/// Keys drawn from a small space, so that changes hit present keys often;
/// some share long prefixes (a key hash with its last bit flipped).
fn key(n: u8) -> Hash {
    let mut k = h(&[n / 2]);
    if n % 2 == 1 {
        k.0[31] ^= 1;
    }
    k
}

fn apply_all(store: &mut BTreeMap<NodePos, Node>, writes: BTreeMap<NodePos, Option<Node>>) {
    for (at, node) in writes {
        match node {
            Some(n) => store.insert(at, n),
            None => store.remove(&at),
        };
    }
}

/// The tree holding `entries`, built in one update from nothing.
fn built(entries: &BTreeMap<Hash, Hash>) -> (Hash, BTreeMap<NodePos, Node>) {
    let mut store = BTreeMap::new();
    let changes = entries.iter().map(|(k, v)| (*k, Some(*v))).collect();
    let u = tree::update(&store, &changes).unwrap();
    apply_all(&mut store, u.writes);
    (u.root, store)
}

type Batch = Vec<(u8, Option<u8>)>;

fn batches() -> impl Strategy<Value = Vec<Batch>> {
    prop::collection::vec(
        prop::collection::vec(
            (any::<u8>(), prop::option::weighted(0.7, any::<u8>())),
            0..24,
        ),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn updates_agree_with_the_definition(batches in batches()) {
        let mut model: BTreeMap<Hash, Hash> = BTreeMap::new();
        let mut store: BTreeMap<NodePos, Node> = BTreeMap::new();
        let mut grouped = GroupedNodes::new();
        for batch in batches {
            let mut changes = BTreeMap::new();
            for (k, v) in batch {
                let v = v.map(|v| h(&[v, 0xaa]));
                changes.insert(key(k), v);
                match v {
                    Some(v) => model.insert(key(k), v),
                    None => model.remove(&key(k)),
                };
            }
            let u = tree::update(&store, &changes).unwrap();
            // The same update, reading the nodes from their groups.
            let g = tree::update(&grouped, &changes).unwrap();
            prop_assert_eq!(g.root, u.root);
            prop_assert_eq!(&g.writes, &u.writes);
            grouped.apply(g.writes);
            apply_all(&mut store, u.writes);
            prop_assert_eq!(u.root, naive::root(&model));
            prop_assert_eq!(grouped.len(), store.len());
            for (at, node) in &store {
                prop_assert_eq!(tree::NodeRead::node(&grouped, at), Some(*node));
            }
            // The same nodes as a tree built from the entries at once.
            let (root, fresh) = built(&model);
            prop_assert_eq!(root, u.root);
            prop_assert_eq!(&fresh, &store);
            // Every sixteenth key, present or absent, and the ones just changed.
            let probed: Vec<Hash> = (0..=255u8)
                .step_by(16)
                .map(key)
                .chain(changes.keys().copied())
                .collect();
            for k in probed {
                let p = tree::prove(&store, &k).unwrap();
                prop_assert_eq!(&p, &naive::prove(&model, &k));
                prop_assert_eq!(p.verify(&u.root, &k, model.get(&k)), Ok(()));
                if let Some(v) = model.get(&k) {
                    prop_assert!(p.verify(&u.root, &k, None).is_err());
                    prop_assert!(p.verify(&u.root, &k, Some(&h(v.0.as_slice()))).is_err());
                } else {
                    prop_assert!(p.verify(&u.root, &k, Some(&h(b"x"))).is_err());
                }
            }
        }
    }

    #[test]
    fn a_changed_byte_fails_every_proof(
        entries in prop::collection::btree_map(any::<u8>(), any::<u8>(), 1..40),
        which in any::<u8>(),
        at in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        let model: BTreeMap<Hash, Hash> =
            entries.iter().map(|(k, v)| (key(*k), h(&[*v]))).collect();
        let root = naive::root(&model);
        let k = key(which);
        let proof = naive::prove(&model, &k);
        let value = model.get(&k);
        prop_assert_eq!(proof.verify(&root, &k, value), Ok(()));
        let mut bytes = crate::codec::encode(&proof);
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        if let Ok(forged) = crate::codec::decode::<Proof, 65536>(&bytes) {
            prop_assert!(forged.verify(&root, &k, value).is_err(), "byte {} of {:?}", i, forged);
        }
        let mut other_root = root;
        other_root.0[i % 32] ^= flip;
        prop_assert!(proof.verify(&other_root, &k, value).is_err());
    }
}

#[test]
fn an_empty_map_and_a_single_entry_have_the_roots_of_the_definition() {
    let store: BTreeMap<NodePos, Node> = BTreeMap::new();
    assert_eq!(tree::update(&store, &BTreeMap::new()).unwrap().root, EMPTY);
    let p = tree::prove(&store, &key(1)).unwrap();
    assert_eq!(p.verify(&EMPTY, &key(1), None), Ok(()));
    let one = BTreeMap::from([(key(1), h(b"v"))]);
    let (root, nodes) = built(&one);
    assert_eq!(root, leaf_hash(&key(1), &h(b"v")));
    assert_eq!(
        nodes.into_iter().collect::<Vec<_>>(),
        [(
            NodePos::root(),
            Node::Leaf {
                key: key(1),
                value: h(b"v")
            }
        )]
    );
}

#[test]
fn two_keys_sharing_255_bits_sit_at_the_bottom_of_a_full_path() {
    let (a, b) = (key(4), key(5));
    assert_eq!(common_prefix(&a, &b), 255);
    let entries = BTreeMap::from([(a, h(b"a")), (b, h(b"b"))]);
    let (root, nodes) = built(&entries);
    // An internal node at each depth 0 to 255, then the two leaves.
    assert_eq!(nodes.len(), 258);
    let mut expected = internal_hash(&leaf_hash(&a, &h(b"a")), &leaf_hash(&b, &h(b"b")));
    if bit(&a, 255) {
        expected = internal_hash(&leaf_hash(&b, &h(b"b")), &leaf_hash(&a, &h(b"a")));
    }
    for d in (0..255).rev() {
        expected = if bit(&a, d) {
            internal_hash(&EMPTY, &expected)
        } else {
            internal_hash(&expected, &EMPTY)
        };
    }
    assert_eq!(root, expected);
    let p = tree::prove(&nodes, &a).unwrap();
    assert_eq!(p.siblings.len(), 256);
    assert_eq!(p.verify(&root, &a, Some(&h(b"a"))), Ok(()));
    // Removing one lifts the other to the root, and nothing else is left.
    let u = tree::update(&nodes, &BTreeMap::from([(a, None)])).unwrap();
    assert_eq!(u.root, leaf_hash(&b, &h(b"b")));
    let mut left = nodes.clone();
    apply_all(&mut left, u.writes);
    assert_eq!(left.len(), 1);
}

#[test]
fn a_proof_deeper_than_a_key_is_refused() {
    let p = Proof {
        leaf: None,
        siblings: vec![EMPTY; DEPTH_MAX + 1],
    };
    assert_eq!(
        p.verify(&EMPTY, &key(0), None),
        Err(ProofError::TooDeep(DEPTH_MAX + 1))
    );
}

#[test]
fn a_missing_node_is_named_not_guessed() {
    let entries: BTreeMap<Hash, Hash> = (0..8).map(|n| (key(n * 2), h(&[n]))).collect();
    let (_, mut nodes) = built(&entries);
    let root = nodes[&NodePos::root()];
    nodes.retain(|at, _| at.depth == 0);
    assert!(matches!(root, Node::Internal { .. }));
    let e = tree::prove(&nodes, &key(0)).unwrap_err();
    assert_eq!(e.0.depth, 1);
    assert!(tree::update(&nodes, &BTreeMap::from([(key(0), None)])).is_err());
}

#[test]
fn a_whole_tree_checks_and_a_broken_one_names_where() {
    let entries: BTreeMap<Hash, Hash> = (0..40).map(|n| (key(n * 3), h(&[n]))).collect();
    let (_, nodes) = built(&entries);
    let whole = Nodes::from_nodes(nodes.clone());
    assert_eq!(whole.check(), Ok(entries.len()));
    assert_eq!(Nodes::new().check(), Ok(0));
    // Each node left out, in turn: its parent names a child that is not
    // there (or, for the root, the rest stand alone).
    for at in nodes.keys() {
        let mut less = nodes.clone();
        less.remove(at);
        assert!(Nodes::from_nodes(less).check().is_err(), "without {at:?}");
    }
    // A node changed where it sits.
    for (at, node) in &nodes {
        let mut changed = nodes.clone();
        let other = match node {
            Node::Leaf { key, value } => Node::Leaf {
                key: *key,
                value: Hash::digest(&value.0),
            },
            Node::Internal { left, right } => Node::Internal {
                left: *right,
                right: *left,
            },
        };
        changed.insert(*at, other);
        if at.depth == 0 {
            continue; // a changed root is a whole tree of another root
        }
        assert_eq!(Nodes::from_nodes(changed).check(), Err(*at), "at {at:?}");
    }
    // A stray node no parent names.
    let mut stray = nodes.clone();
    let far = NodePos::on_path(200, &key(1));
    stray.insert(
        far,
        Node::Leaf {
            key: key(1),
            value: h(b"x"),
        },
    );
    assert_eq!(Nodes::from_nodes(stray).check(), Err(NodePos::root()));
}
