//! Snapshots in the store: the chunks of the state of a past height, read
//! from the versions of the state map, and a store started from a
//! snapshot, which holds the chain from that height on.
//!
//! A chunk of height H is read from the versions alone: the map's nodes
//! of H along the prefix, then each key hash under the prefix with its
//! last version at or below H, and the key itself from the column of keys
//! by hash. Nothing is copied when a snapshot height passes, and any
//! height whose versions are kept can be served.

use rocksdb::{WriteBatch, DB};

use super::statemap::{put_entry, put_nodes, version_at, versioned, NodesAt};
use super::{
    cf, corrupt, height_key, set_change_key, Store, StoreError, CF_CERTS, CF_META, CF_STATE_AT,
    CF_STATE_KEYS, CF_TREE, CF_VALSETS, META_BASE, META_CHAIN_ID, META_FORMAT, META_GENESIS_HASH,
    META_HEIGHT, META_LAST_HASH, META_STATE_ROOT, META_SUMMARY, META_TREE, STORE_FORMAT,
};
use crate::codec::{self, RECORD_BYTES_MAX};
use crate::history::Subtree;
use crate::state::snapshot::{prefix_path, shares, Chunk, CHUNK_DEPTH_MAX};
use crate::state::{key_hash, State, StateKey, StateValue};
use crate::statemap::tree::{Node, NodePos};
use crate::statemap::{bit, EMPTY};
use crate::statesync::VerifiedSnapshot;
use crate::types::{Hash, Height};
use crate::validators::ValidatorSet;

impl Store {
    /// The height of the snapshot the store started from, 0 for a store
    /// started from genesis. Below it, no block is held but the
    /// validator-set changes.
    pub fn base(&self) -> Result<Height, StoreError> {
        match self.get(CF_META, META_BASE)? {
            None => Ok(Height(0)),
            Some(b) => {
                Ok(Height(u64::from_be_bytes(b[..].try_into().map_err(
                    |_| corrupt(Height(0), "metadata base is not 8 bytes"),
                )?)))
            }
        }
    }

    /// [`StoreError::NotHeld`] for a height below the store's base.
    pub fn check_held(&self, h: Height) -> Result<(), StoreError> {
        let base = self.base()?;
        if h < base {
            return Err(StoreError::NotHeld { height: h, base });
        }
        Ok(())
    }

    /// set(h), from the validator-set changes alone: the set the last
    /// change below `h` started, or `first` (set(1), the genesis file's)
    /// if there is none. What a store that started from a snapshot knows
    /// of the sets of the heights it does not hold.
    pub fn set_from_changes(
        &self,
        h: Height,
        first: &ValidatorSet,
    ) -> Result<ValidatorSet, StoreError> {
        let Some(k) = self.set_change_heights(h)?.pop() else {
            return Ok(first.clone());
        };
        let block = self
            .block(k)?
            .ok_or_else(|| corrupt(k, "a validator-set change's block is missing"))?;
        let next = block.header.next_validators_hash;
        self.validator_set(&next)?
            .ok_or_else(|| corrupt(k, format!("validator set {next} missing")))
    }

    /// The heights of the snapshots served: the newest `keep` multiples of
    /// `interval` among the committed heights the store holds, oldest
    /// first.
    pub fn snapshot_heights(&self, interval: u64, keep: usize) -> Result<Vec<Height>, StoreError> {
        let Some(meta) = self.meta()? else {
            return Ok(Vec::new());
        };
        if interval == 0 {
            return Ok(Vec::new());
        }
        let base = self.base()?.0.max(1);
        let mut out = Vec::new();
        let mut h = meta.height.0 / interval * interval;
        while h >= base && h > 0 && out.len() < keep {
            out.push(Height(h));
            h -= interval;
        }
        out.reverse();
        Ok(out)
    }

    /// The chunk of the state after block `h` for `prefix` of `depth` bits,
    /// or `None` if its entries would take more than `bytes_max` bytes
    /// (ask for the two halves instead). Errors for a height not committed
    /// or not held, or a prefix that does not fit.
    pub fn snapshot_chunk(
        &self,
        h: Height,
        depth: u8,
        prefix: u32,
        bytes_max: usize,
    ) -> Result<Option<Chunk>, StoreError> {
        if depth > CHUNK_DEPTH_MAX || u64::from(prefix) >= 1u64 << depth {
            return Err(corrupt(h, format!("no chunk {prefix} of {depth} bits")));
        }
        match self.meta()? {
            Some(meta) if h <= meta.height => self.check_held(h)?,
            _ => return Err(corrupt(h, "a snapshot above the committed height")),
        }
        let db = self.db();
        let path = prefix_path(depth, prefix);
        let nodes = NodesAt::new(&db, h);
        let mut siblings = Vec::new();
        let mut level = 0usize;
        let mut node = nodes.read(&NodePos::root())?;
        let entries = loop {
            // At the prefix's depth, every entry under it; above it, the
            // map ends at an empty subtree or a leaf, or goes on down.
            if node.is_some() && level == usize::from(depth) {
                match entries_under(&db, &path, level, h, bytes_max)? {
                    Some(entries) => break entries,
                    None => return Ok(None),
                }
            }
            match node {
                None => break Vec::new(),
                Some(Node::Leaf { key, .. }) => {
                    break entry_at(&db, &key, h)?.into_iter().collect()
                }
                Some(Node::Internal { left, right }) => {
                    let (on, off) = if bit(&path, level) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    siblings.push(off);
                    level += 1;
                    if on == EMPTY {
                        break Vec::new();
                    }
                    node = nodes.read(&NodePos::on_path(level, &path))?;
                    if node.is_none() {
                        return Err(corrupt(
                            h,
                            format!("state map node at depth {level} of chunk {prefix} missing"),
                        ));
                    }
                }
            }
        };
        Ok(Some(Chunk {
            depth,
            prefix,
            siblings,
            entries,
        }))
    }

    /// Writes a checked snapshot into this empty store, which then holds
    /// the chain from the snapshot's height H on: block H, its state, the
    /// history tree's peaks, and the blocks and sets of every validator-set
    /// change before it. Returns the state of H.
    pub fn start_from_snapshot(
        &self,
        genesis: &State,
        genesis_hash: Hash,
        snapshot: &VerifiedSnapshot,
    ) -> Result<State, StoreError> {
        if self.meta()?.is_some() {
            return Err(corrupt(
                Height(0),
                "a snapshot goes only into an empty store",
            ));
        }
        let db = self.db();
        let state = &snapshot.state;
        let (block, cert) = &snapshot.block;
        let h = block.header.height;
        let mut batch = WriteBatch::default();
        for (k, v) in state.entries() {
            put_entry(&db, &mut batch, h, k, Some(v), true);
        }
        let nodes: Vec<_> = state.tree().iter().map(|(at, n)| (*at, Some(*n))).collect();
        put_nodes(&db, &mut batch, h, &nodes);
        let sets = [
            genesis.validators(),
            genesis.next_validators(),
            state.validators(),
            state.next_validators(),
            &snapshot.set,
        ];
        for set in sets
            .into_iter()
            .chain(snapshot.changes.iter().map(|c| &c.2))
        {
            batch.put_cf(cf(&db, CF_VALSETS), set.hash().0, codec::encode(set));
        }
        for (b, c) in snapshot
            .changes
            .iter()
            .map(|(b, c, _)| (b, c))
            .chain([(block, cert)])
        {
            let k = b.header.height;
            super::put_block(&db, &mut batch, b);
            batch.put_cf(cf(&db, CF_CERTS), height_key(k), c.encode());
            if b.header.validators_hash != b.header.next_validators_hash {
                batch.put_cf(cf(&db, CF_META), set_change_key(k), []);
            }
        }
        // Block H's transactions, indexed as a committed block's are; its
        // counterparties are looked up in the state after it.
        let hashes = block.tx_hashes();
        super::index_txs(&db, &mut batch, block, &hashes, &Default::default(), state);
        let mut start = 0u64;
        let size = snapshot.history.size();
        let levels = (0..64u8).rev().filter(|l| size >> l & 1 == 1);
        for (level, peak) in levels.zip(snapshot.history.peaks()) {
            let s = Subtree {
                level,
                index: start >> level,
            };
            batch.put_cf(cf(&db, CF_TREE), super::tree::subtree_key(s), peak.0);
            start += 1 << level;
        }
        let meta = cf(&db, CF_META);
        batch.put_cf(meta, META_CHAIN_ID, genesis.chain_id().as_bytes());
        batch.put_cf(meta, META_GENESIS_HASH, genesis_hash.0);
        batch.put_cf(meta, META_HEIGHT, height_key(h));
        batch.put_cf(meta, META_LAST_HASH, block.hash().0);
        batch.put_cf(meta, META_STATE_ROOT, state.root().0);
        batch.put_cf(meta, META_SUMMARY, []);
        batch.put_cf(meta, META_TREE, []);
        batch.put_cf(meta, META_FORMAT, STORE_FORMAT.to_be_bytes());
        batch.put_cf(meta, META_BASE, height_key(h));
        db.write_opt(batch, &Self::synced())?;
        Ok(state.clone())
    }
}

/// The entry whose key hashes to `key_hash`, as of height `h`.
fn entry_at(
    db: &DB,
    key_hash: &Hash,
    h: Height,
) -> Result<Option<(StateKey, StateValue)>, StoreError> {
    let Some(bytes) = version_at(db, CF_STATE_AT, &key_hash.0, h)? else {
        return Ok(None);
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    let value: StateValue = codec::decode::<_, RECORD_BYTES_MAX>(&bytes)
        .map_err(|e| corrupt(h, format!("state value {key_hash}: {e}")))?;
    let key_bytes = db
        .get_cf(cf(db, CF_STATE_KEYS), key_hash.0)?
        .ok_or_else(|| corrupt(h, format!("the key of state entry {key_hash} is missing")))?;
    let key: StateKey = codec::decode::<_, RECORD_BYTES_MAX>(&key_bytes)
        .map_err(|e| corrupt(h, format!("state key {key_hash}: {e}")))?;
    if key_hash_matches(&key, key_hash) && key.accepts(&value) {
        Ok(Some((key, value)))
    } else {
        Err(corrupt(
            h,
            format!("state entry {key_hash} is not its key's"),
        ))
    }
}

fn key_hash_matches(key: &StateKey, hash: &Hash) -> bool {
    key_hash(key) == *hash
}

/// Every entry as of height `h` whose key hash starts with the first
/// `bits` bits of `path`, in key-hash order; `None` once they take more
/// than `bytes_max` bytes. Each key costs two seeks, whatever its number
/// of versions.
fn entries_under(
    db: &DB,
    path: &Hash,
    bits: usize,
    h: Height,
    bytes_max: usize,
) -> Result<Option<Vec<(StateKey, StateValue)>>, StoreError> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut iter = db.raw_iterator_cf(cf(db, CF_STATE_AT));
    iter.seek(path.0);
    loop {
        if !iter.valid() {
            iter.status()?;
            break;
        }
        let Some(k) = iter.key() else { break };
        let Some(kh) = k.get(..32).and_then(|b| b.try_into().ok()).map(Hash) else {
            return Err(corrupt(h, "state version key is short"));
        };
        if !shares(&kh, path, bits) {
            break;
        }
        if let Some(entry) = entry_at(db, &kh, h)? {
            bytes += codec::encode(&entry.0).len() + codec::encode(&entry.1).len();
            if bytes > bytes_max {
                return Ok(None);
            }
            out.push(entry);
        }
        // Past every version of this key: no version is of height u64::MAX.
        iter.seek(versioned(&kh.0, Height(u64::MAX)));
    }
    Ok(Some(out))
}
