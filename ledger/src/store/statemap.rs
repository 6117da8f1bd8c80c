//! The authenticated state map in the store: the latest tree's nodes, read
//! back at start, and every version of every node and of every entry by the
//! height that wrote it, so that an entry and its proof can be read at any
//! committed height.
//!
//! Keys: a node is its depth (2 bytes, big-endian) and path (32 bytes); a
//! version adds the height that wrote it (8 bytes, big-endian), so the
//! version of a node at height H is the last key at or before (node, H). A
//! version with an empty value records that the node or entry is gone.
//!
//! Here too: reading the whole state back at start, and the store's
//! format, checked before anything is read.

use rocksdb::{IteratorMode, WriteBatch, DB};

use super::{
    cf, corrupt, ChainMeta, Store, StoreError, CF_META, CF_STATE, CF_STATE_AT, CF_STATE_KEYS,
    CF_TREE_AT, CF_TREE_NODES, META_FORMAT, META_TREE, STORE_FORMAT,
};
use crate::codec::{self, RECORD_BYTES_MAX};
use crate::state::{BlockOutcome, State, StateKey, StateValue};
use crate::statemap::tree::{self, Node, NodePos, NodeRead};
use crate::statemap::{NodeWrite, Nodes, Proof};
use crate::types::{Hash, Height};

/// A node's key: depth and path.
fn node_key(at: &NodePos) -> [u8; 34] {
    let mut k = [0u8; 34];
    k[..2].copy_from_slice(&at.depth.to_be_bytes());
    k[2..].copy_from_slice(&at.path.0);
    k
}

/// A version's key: what it is a version of, then the height.
pub(super) fn versioned(of: &[u8], h: Height) -> Vec<u8> {
    [of, &h.0.to_be_bytes()[..]].concat()
}

fn node_from(bytes: &[u8], h: Height) -> Result<Node, StoreError> {
    codec::decode::<Node, 128>(bytes).map_err(|e| corrupt(h, format!("state map node: {e}")))
}

/// Writes the tree's node writes of height `h` into `batch`: the latest
/// node at each position, and its version.
pub(super) fn put_nodes(db: &DB, batch: &mut WriteBatch, h: Height, nodes: &[NodeWrite]) {
    for (at, node) in nodes {
        let key = node_key(at);
        match node {
            Some(n) => {
                let bytes = codec::encode(n);
                batch.put_cf(cf(db, CF_TREE_NODES), key, &bytes);
                batch.put_cf(cf(db, CF_TREE_AT), versioned(&key, h), &bytes);
            }
            None => {
                batch.delete_cf(cf(db, CF_TREE_NODES), key);
                batch.put_cf(cf(db, CF_TREE_AT), versioned(&key, h), []);
            }
        }
    }
}

/// Writes entry `key`'s value after height `h` (`None`: removed) into
/// `batch`: the latest value, its version by key hash, and for a `new`
/// key (one the state did not hold) the key by its hash. Each is encoded
/// once.
pub(super) fn put_entry(
    db: &DB,
    batch: &mut WriteBatch,
    h: Height,
    key: &StateKey,
    value: Option<&StateValue>,
    new: bool,
) {
    let key_bytes = codec::encode(key);
    let key_hash = crate::state::key_hash_of_encoding(&key_bytes);
    let version = versioned(&key_hash.0, h);
    match value {
        Some(v) => {
            if new {
                batch.put_cf(cf(db, CF_STATE_KEYS), key_hash.0, &key_bytes);
            }
            let bytes = codec::encode(v);
            batch.put_cf(cf(db, CF_STATE), &key_bytes, &bytes);
            batch.put_cf(cf(db, CF_STATE_AT), version, &bytes);
        }
        None => {
            batch.delete_cf(cf(db, CF_STATE), &key_bytes);
            batch.put_cf(cf(db, CF_STATE_AT), version, []);
        }
    }
}

/// The final value of each key an outcome writes, in key order.
pub(super) fn finals(outcome: &BlockOutcome) -> Vec<(&StateKey, Option<&StateValue>)> {
    let mut last: std::collections::BTreeMap<&StateKey, Option<&StateValue>> = Default::default();
    for (k, v) in &outcome.writes {
        last.insert(k, v.as_ref());
    }
    last.into_iter().collect()
}

/// One entry at a height, with its proof against that height's state root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryProof {
    /// The height.
    pub height: Height,
    /// The entry's value then, `None` if there was none.
    pub value: Option<StateValue>,
    /// The proof of its key's path.
    pub proof: Proof,
}

/// Reads the version of each node at one height, remembering the first
/// failure (the trait cannot return one).
pub(super) struct NodesAt<'a> {
    db: &'a DB,
    height: Height,
    error: std::cell::RefCell<Option<StoreError>>,
}

impl NodesAt<'_> {
    /// The nodes of height `h` in `db`.
    pub(super) fn new(db: &DB, h: Height) -> NodesAt<'_> {
        NodesAt {
            db,
            height: h,
            error: Default::default(),
        }
    }

    pub(super) fn read(&self, at: &NodePos) -> Result<Option<Node>, StoreError> {
        let key = node_key(at);
        match version_at(self.db, CF_TREE_AT, &key, self.height)? {
            Some(bytes) if !bytes.is_empty() => Ok(Some(node_from(&bytes, self.height)?)),
            _ => Ok(None),
        }
    }
}

impl NodeRead for NodesAt<'_> {
    fn node(&self, at: &NodePos) -> Option<Node> {
        self.read(at).unwrap_or_else(|e| {
            self.error.borrow_mut().get_or_insert(e);
            None
        })
    }
}

/// The value of the last version of `of` at or below `h` in `column`.
pub(super) fn version_at(
    db: &DB,
    column: &str,
    of: &[u8],
    h: Height,
) -> Result<Option<Vec<u8>>, StoreError> {
    let mut iter = db.raw_iterator_cf(cf(db, column));
    iter.seek_for_prev(versioned(of, h));
    if !iter.valid() {
        iter.status()?;
        return Ok(None);
    }
    match (iter.key(), iter.value()) {
        (Some(k), Some(v)) if k.len() == of.len() + 8 && k.starts_with(of) => Ok(Some(v.to_vec())),
        _ => Ok(None),
    }
}

impl ChainMeta {
    /// [`StoreError::OtherChain`] unless these are the facts of the chain
    /// that started from `genesis` (hash `genesis_hash`).
    pub(crate) fn check_chain(
        &self,
        genesis: &State,
        genesis_hash: Hash,
    ) -> Result<(), StoreError> {
        if self.chain_id != genesis.chain_id() || self.genesis_hash != genesis_hash {
            return Err(StoreError::OtherChain {
                expected: genesis.chain_id().to_owned(),
                expected_genesis: genesis_hash,
                found: self.chain_id.clone(),
                found_genesis: self.genesis_hash,
            });
        }
        Ok(())
    }
}

impl Store {
    /// The store's format: [`STORE_FORMAT`] for one this version wrote.
    pub fn format(&self) -> Result<u32, StoreError> {
        match self.get(CF_META, META_FORMAT)? {
            Some(b) => {
                Ok(u32::from_be_bytes(b[..].try_into().map_err(|_| {
                    corrupt(Height(0), "metadata format is not 4 bytes")
                })?))
            }
            None if self.get(CF_META, META_TREE)?.is_some() => Ok(1),
            None => Ok(0),
        }
    }

    /// Refuses a store of another format than this version's.
    pub(super) fn check_format(&self) -> Result<(), StoreError> {
        let path = self.path.display().to_string();
        match self.format()? {
            STORE_FORMAT => Ok(()),
            found @ (3 | 4) => Err(StoreError::NeedsMigration { path, found }),
            found if found < STORE_FORMAT => Err(StoreError::OlderFormat { path, found }),
            found => Err(StoreError::NewerFormat { path, found }),
        }
    }

    /// Reads the whole state back.
    pub(super) fn load_state(&self, meta: &ChainMeta) -> Result<State, StoreError> {
        let mut entries = Vec::new();
        self.scan_state(meta.height, |key, value| entries.push((key, value)))?;
        let tree = self.load_tree(meta.height)?;
        let state = State::from_parts(&meta.chain_id, meta.height, meta.state_root, entries, tree)
            .map_err(|why| corrupt(meta.height, why))?;
        // A state without both validator sets or a treasury cannot execute.
        for key in [
            StateKey::Treasury,
            StateKey::Validators(crate::state::ValidatorSlot::Current),
            StateKey::Validators(crate::state::ValidatorSlot::Next),
        ] {
            if !state.holds(&key) {
                return Err(corrupt(meta.height, format!("state has no {key:?}")));
            }
        }
        Ok(state)
    }

    /// Calls `f` on every stored state entry, decoded, in the store's
    /// order; an entry that does not decode, or holds the wrong kind of
    /// value, is corrupt at `h`, the stored height.
    fn scan_state(
        &self,
        h: Height,
        mut f: impl FnMut(StateKey, StateValue),
    ) -> Result<(), StoreError> {
        let db = self.db();
        for item in db.iterator_cf(cf(&db, CF_STATE), IteratorMode::Start) {
            let (k, v) = item?;
            let key: StateKey = codec::decode::<_, RECORD_BYTES_MAX>(&k)
                .map_err(|e| corrupt(h, format!("state key: {e}")))?;
            let value: StateValue = codec::decode::<_, RECORD_BYTES_MAX>(&v)
                .map_err(|e| corrupt(h, format!("state value for {key:?}: {e}")))?;
            if !key.accepts(&value) {
                return Err(corrupt(
                    h,
                    format!("state entry {key:?} holds the wrong kind of value"),
                ));
            }
            f(key, value);
        }
        Ok(())
    }

    /// Holds the stored state against `computed`, the state re-execution
    /// reached: the stored map must check and have the recorded root, and
    /// the stored entries must be `computed`'s, none added or missing.
    /// Returns where they first differ, or `None`. One pass over the
    /// stored entries, none of them held, so that verifying a long
    /// history does not need a second copy of its state.
    pub fn state_differs(&self, computed: &State) -> Result<Option<String>, StoreError> {
        let meta = self
            .meta()?
            .ok_or_else(|| corrupt(Height(0), "store is empty"))?;
        State::check_map(&self.load_tree(meta.height)?, meta.state_root)
            .map_err(|why| corrupt(meta.height, why))?;
        let mut stored = 0usize;
        let mut first = None;
        self.scan_state(meta.height, |key, value| {
            stored += 1;
            if first.is_none() && computed.value(&key) != Some(&value) {
                first = Some(format!("{key:?}"));
            }
        })?;
        if first.is_none() && stored != computed.len() {
            first = Some(format!(
                "its {stored} entries, where re-execution gives {}",
                computed.len()
            ));
        }
        Ok(first)
    }

    /// The latest tree's nodes.
    pub(super) fn load_tree(&self, h: Height) -> Result<Nodes, StoreError> {
        let db = self.db();
        let mut nodes = Vec::new();
        for item in db.iterator_cf(cf(&db, CF_TREE_NODES), IteratorMode::Start) {
            let (k, v) = item?;
            let key: [u8; 34] = k[..]
                .try_into()
                .map_err(|_| corrupt(h, "state map node key is not 34 bytes"))?;
            let at = NodePos {
                depth: u16::from_be_bytes([key[0], key[1]]),
                path: Hash(key[2..].try_into().expect("32 bytes")),
            };
            nodes.push((at, node_from(&v, h)?));
        }
        Ok(Nodes::from_nodes(nodes))
    }

    /// `key`'s entry at committed height `h`, with its proof against the
    /// state root of block `h` (of genesis for 0). `None` if `h` is above
    /// the committed height.
    pub fn entry_proof(&self, key: &StateKey, h: Height) -> Result<Option<EntryProof>, StoreError> {
        match self.meta()? {
            Some(meta) if h <= meta.height => {}
            _ => return Ok(None),
        }
        self.check_held(h)?;
        let db = self.db();
        let key_hash = crate::state::key_hash(key);
        let value = match version_at(&db, CF_STATE_AT, &key_hash.0, h)? {
            Some(bytes) if !bytes.is_empty() => Some(
                codec::decode::<StateValue, RECORD_BYTES_MAX>(&bytes)
                    .map_err(|e| corrupt(h, format!("state value for {key:?}: {e}")))?,
            ),
            _ => None,
        };
        let nodes = NodesAt::new(&db, h);
        let proof = tree::prove(&nodes, &key_hash);
        if let Some(e) = nodes.error.into_inner() {
            return Err(e);
        }
        let proof = proof.map_err(|e| corrupt(h, e.to_string()))?;
        Ok(Some(EntryProof {
            height: h,
            value,
            proof,
        }))
    }
}
