//! The RocksDB store: blocks, commit certificates, the transaction index,
//! per-entity history, the state, evidence, validator sets and metadata.
//!
//! Each committed block is one synced `WriteBatch`: after a crash the store
//! holds either all of a block or none of it, and reopens at its last
//! committed height. Anything unreadable is reported as [`StoreError::Corrupt`]
//! naming the height, never a panic.
//!
//! A write that fails (the disk is full, the folder is read-only) leaves the
//! store at its last committed height, and RocksDB then refuses every later
//! write. [`Store::reopen`] recovers once the fault is cleared: it swaps in
//! a read-only view of the same folder, so that reads go on meanwhile, closes
//! the failed database and opens it again for writing. A store whose folder
//! cannot be opened for writing at all can still be opened read-only with
//! [`Store::open_read_only`] and reopened for writing later the same way.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};
use thiserror::Error;

use crate::block::{Block, CommitCertificate, Evidence};
use crate::codec::{self, RECORD_BYTES_MAX};
use crate::state::{BlockOutcome, State, StateValue};
use crate::types::{EntityId, Hash, Height};
use crate::validators::ValidatorSet;

mod backup;
mod blocks;
mod cosign;
mod involved;
mod migrate;
mod safety;
mod snapshot;
mod statemap;
mod summary;
mod tree;

pub use crate::backup::{BackupContents, BackupError, BACKUP_FILES, BACKUP_MAGIC, BACKUP_VERSION};
pub use backup::check_backup;
pub(crate) use involved::{involved, written_vendors};
pub use migrate::Migration;
pub use statemap::EntryProof;

const CF_BLOCKS: &str = "blocks";
const CF_CERTS: &str = "certs";
const CF_TXINDEX: &str = "txindex";
const CF_HISTORY: &str = "history";
const CF_STATE: &str = "state";
const CF_META: &str = "meta";
const CF_EVIDENCE: &str = "evidence";
const CF_VALSETS: &str = "valsets";
const CF_SAFETY: &str = "safety";
/// Readers' summaries of the whole history (see [`crate::summary`]).
const CF_SUMMARY: &str = "summary";
/// The history tree's complete subtrees (see [`crate::history`]).
const CF_TREE: &str = "history_tree";
/// Witnesses' latest cosignatures, outside consensus.
const CF_COSIGN: &str = "cosignatures";
/// The state map's latest nodes (see [`crate::statemap`]).
const CF_TREE_NODES: &str = "statemap";
/// Every version of the state map's nodes, by the height that wrote it.
const CF_TREE_AT: &str = "statemap_at";
/// Every version of the state entries, by key hash and height.
const CF_STATE_AT: &str = "state_at";
/// Every state key ever written, by its hash: what a version in
/// [`CF_STATE_AT`] is a version of (format 4 and on).
const CF_STATE_KEYS: &str = "state_keys";
use blocks::{put_block, CF_TXS};
const COLUMN_FAMILIES: [&str; 17] = [
    CF_BLOCKS,
    CF_TXS,
    CF_CERTS,
    CF_TXINDEX,
    CF_HISTORY,
    CF_STATE,
    CF_META,
    CF_EVIDENCE,
    CF_VALSETS,
    CF_SAFETY,
    CF_SUMMARY,
    CF_TREE,
    CF_COSIGN,
    CF_TREE_NODES,
    CF_TREE_AT,
    CF_STATE_AT,
    CF_STATE_KEYS,
];

const META_CHAIN_ID: &[u8] = b"chain_id";
const META_GENESIS_HASH: &[u8] = b"genesis_hash";
const META_HEIGHT: &[u8] = b"height";
const META_LAST_HASH: &[u8] = b"last_block_hash";
const META_STATE_ROOT: &[u8] = b"state_root";
/// Present once the summaries cover every committed block.
const META_SUMMARY: &[u8] = b"summary";
/// Present in a store whose blocks carry a history root (format 1 and on).
const META_TREE: &[u8] = b"history_tree";
/// The store's format, 4 bytes big-endian; absent before format 2.
const META_FORMAT: &[u8] = b"format";
/// In a store started from a snapshot, the snapshot's height (8 bytes,
/// big-endian): no block below it is held but the validator-set changes.
const META_BASE: &[u8] = b"base";

/// The store format this version writes and reads ([`format_name`]).
pub const STORE_FORMAT: u32 = 5;

/// What each store format brought, for messages.
fn format_name(format: u32) -> &'static str {
    match format {
        0 => "blocks without a history root",
        1 => "state roots chaining each block's writes",
        2 => "headers without a protocol version",
        3 => "state versions without their keys",
        4 => "blocks stored whole",
        _ => "transactions stored one by one",
    }
}
/// Prefix of the meta keys that index the blocks after which the validator
/// set changes (`next_validators_hash` differs from `validators_hash`).
const META_SET_CHANGE: &[u8] = b"set_change/";

pub(super) fn set_change_key(h: Height) -> Vec<u8> {
    [META_SET_CHANGE, &height_key(h)[..]].concat()
}

/// Most history entries returned by one [`Store::history`] call.
pub const HISTORY_PAGE_MAX: usize = 1000;

/// What went wrong reading or writing the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("database: {0}")]
    Db(#[from] rocksdb::Error),
    /// Stored data cannot be read back.
    #[error("corrupt store at height {height}: {what}")]
    Corrupt {
        /// The height concerned (0 for metadata and state).
        height: Height,
        /// What is wrong.
        what: String,
    },
    /// The store belongs to another chain.
    #[error("store holds chain {found:?} with genesis {found_genesis}, expected {expected:?} with genesis {expected_genesis}")]
    OtherChain {
        /// Expected chain id.
        expected: String,
        /// Expected genesis hash.
        expected_genesis: Hash,
        /// Found chain id.
        found: String,
        /// Found genesis hash.
        found_genesis: Hash,
    },
    /// The store was written by an earlier version, whose chain this one
    /// cannot continue: its blocks were made under other rules.
    #[error("the store at {path} holds a chain of store format {found} ({}), which this version (format {STORE_FORMAT}) cannot continue: its blocks were made under other rules; start a new chain from a new genesis in an empty data folder", format_name(*found))]
    OlderFormat {
        /// The store's folder.
        path: String,
        /// Its format.
        found: u32,
    },
    /// A backup could not be read or written.
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// The store was written by an earlier version, and `minhbach migrate`
    /// brings it to this version's format.
    #[error("the store at {path} has format {found} ({}), older than this version's (format {STORE_FORMAT}): stop the node and run `minhbach migrate --home DIR` on its home, then start it again", format_name(*found))]
    NeedsMigration {
        /// The store's folder.
        path: String,
        /// Its format.
        found: u32,
    },
    /// A height below the snapshot a store started from.
    #[error("height {height} is not held here: this node started from a snapshot of height {base} and holds the chain from there on; ask a node that holds the whole chain")]
    NotHeld {
        /// The height asked for.
        height: Height,
        /// The snapshot's height.
        base: Height,
    },
    /// The store was written by a newer version.
    #[error("the store at {path} has format {found}, newer than this version reads (format {STORE_FORMAT}): run the version of minhbach that wrote it, or a later one")]
    NewerFormat {
        /// The store's folder.
        path: String,
        /// Its format.
        found: u32,
    },
}

fn corrupt(height: Height, what: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        height,
        what: what.into(),
    }
}

/// Where a committed transaction sits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TxLocation {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
}

/// One entry of an entity's history.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HistoryEntry {
    /// Where the transaction is.
    pub location: TxLocation,
    /// Its hash.
    pub tx_hash: Hash,
}

/// The node's database.
pub struct Store {
    path: PathBuf,
    handle: RwLock<Handle>,
    /// The memory a simulated store lives in, instead of the disk.
    memory: Option<MemoryDisk>,
    /// Held while a cosignature is checked against the one held and
    /// written, so that two posts of one witness cannot both pass.
    pub(crate) cosigning: std::sync::Mutex<()>,
}

/// Memory that stores keep their data in across a close and an open, as a
/// disk would, for simulated nodes that crash and start again.
#[derive(Clone)]
pub struct MemoryDisk(rocksdb::Env);

impl MemoryDisk {
    /// Empty memory.
    pub fn new() -> Result<MemoryDisk, StoreError> {
        Ok(MemoryDisk(rocksdb::Env::mem_env()?))
    }
}

/// The open database, shared by readers while a [`Store::reopen`] swaps it.
struct Handle {
    db: Arc<DB>,
    /// False for a read-only view.
    writable: bool,
}

/// How long [`Store::reopen`] waits for readers of the failed database to
/// finish before it opens the folder again anyway (the open then fails, and
/// the next reopen tries again).
const REOPEN_READERS_WAIT: Duration = Duration::from_secs(2);

fn db_options(memory: Option<&MemoryDisk>) -> Options {
    let mut opts = Options::default();
    if let Some(m) = memory {
        opts.set_env(&m.0);
    }
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    opts
}

fn open_writable(path: &Path, memory: Option<&MemoryDisk>) -> Result<DB, rocksdb::Error> {
    let cfs = COLUMN_FAMILIES
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
    DB::open_cf_descriptors(&db_options(memory), path, cfs)
}

fn open_read_only(path: &Path, memory: Option<&MemoryDisk>) -> Result<DB, rocksdb::Error> {
    DB::open_cf_for_read_only(&db_options(memory), path, COLUMN_FAMILIES, false)
}

fn cf<'a>(db: &'a DB, name: &str) -> &'a rocksdb::ColumnFamily {
    db.cf_handle(name)
        .expect("column families are created on open")
}

fn height_key(h: Height) -> [u8; 8] {
    h.0.to_be_bytes()
}

fn history_key(entity: &EntityId, h: Height, index: u32) -> Vec<u8> {
    // Entity ids never contain 0x00, so the separator keeps prefixes apart.
    let mut k = Vec::with_capacity(entity.as_str().len() + 13);
    k.extend_from_slice(entity.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(&h.0.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn location_bytes(loc: TxLocation) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..8].copy_from_slice(&loc.height.0.to_be_bytes());
    b[8..].copy_from_slice(&loc.index.to_be_bytes());
    b
}

fn location_from(bytes: &[u8]) -> Option<TxLocation> {
    let b: [u8; 12] = bytes.try_into().ok()?;
    Some(TxLocation {
        height: Height(u64::from_be_bytes(b[..8].try_into().ok()?)),
        index: u32::from_be_bytes(b[8..].try_into().ok()?),
    })
}

fn hash_from(bytes: &[u8]) -> Option<Hash> {
    Some(Hash(bytes.try_into().ok()?))
}

/// The genesis facts a store is tied to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainMeta {
    /// Chain id.
    pub chain_id: String,
    /// Genesis hash.
    pub genesis_hash: Hash,
    /// Last committed height.
    pub height: Height,
    /// Hash of the last committed block (the genesis hash at height 0).
    pub last_block_hash: Hash,
    /// State root after the last committed block.
    pub state_root: Hash,
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = open_writable(path, None)?;
        Ok(Store::with(path, db, true, None))
    }

    /// Opens (or creates) the store named `name` in `memory`; what it holds
    /// stays there when it is dropped, for the next open.
    pub fn open_in_memory(memory: &MemoryDisk, name: &str) -> Result<Store, StoreError> {
        let path = Path::new("/memory").join(name);
        let db = open_writable(&path, Some(memory))?;
        Ok(Store::with(&path, db, true, Some(memory.clone())))
    }

    /// Opens an existing store at `path` for reading only: it writes nothing
    /// to the folder, so it works on a full or read-only disk. Every write
    /// fails until [`Store::reopen`] succeeds.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let db = open_read_only(path, None)?;
        Ok(Store::with(path, db, false, None))
    }

    /// Opens the store at `path` as a RocksDB secondary instance, with
    /// `scratch` (an empty folder of its own) for its logs: it reads what
    /// the node that may be running there has written, at the moment of
    /// opening, without taking the node's lock. Every write fails. This is
    /// how a backup is taken from a running node.
    pub fn open_secondary(path: &Path, scratch: &Path) -> Result<Store, StoreError> {
        let mut opts = db_options(None);
        opts.create_if_missing(false);
        // The node may delete table files a secondary still reads once it
        // compacts: a secondary must hold every file open from the start.
        opts.set_max_open_files(-1);
        let db = DB::open_cf_as_secondary(&opts, path, scratch, COLUMN_FAMILIES)?;
        Ok(Store::with(path, db, false, None))
    }

    fn with(path: &Path, db: DB, writable: bool, memory: Option<MemoryDisk>) -> Store {
        Store {
            path: path.to_owned(),
            handle: RwLock::new(Handle {
                db: Arc::new(db),
                writable,
            }),
            memory,
            cosigning: std::sync::Mutex::new(()),
        }
    }

    /// The store's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the store is open for writing (a write may still fail).
    pub fn is_writable(&self) -> bool {
        self.handle.read().expect("store handle lock").writable
    }

    /// Opens the store's folder again for writing, after a write failed or
    /// on a store opened read-only. Reads go on throughout from a read-only
    /// view of the same folder; if the folder still cannot be written, that
    /// view stays and the error is returned, and this can be called again.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut handle = self.handle.write().expect("store handle lock");
        if handle.writable {
            // RocksDB allows one writer per folder: the failed database must
            // be closed before the folder opens again, and readers use a
            // read-only view meanwhile.
            let view = Arc::new(open_read_only(&self.path, self.memory.as_ref())?);
            let mut failed = std::mem::replace(&mut handle.db, view);
            handle.writable = false;
            let deadline = Instant::now() + REOPEN_READERS_WAIT;
            loop {
                match Arc::try_unwrap(failed) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    // The last reader closes it.
                    Err(_) if Instant::now() >= deadline => break,
                    Err(shared) => {
                        failed = shared;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
        }
        let db = open_writable(&self.path, self.memory.as_ref())?;
        handle.db = Arc::new(db);
        handle.writable = true;
        Ok(())
    }

    fn db(&self) -> Arc<DB> {
        self.handle.read().expect("store handle lock").db.clone()
    }

    fn get(&self, name: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.db();
        Ok(db.get_cf(cf(&db, name), key)?)
    }

    fn synced() -> WriteOptions {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        wo
    }

    /// Writes the genesis state into an empty store, or checks that a store
    /// already initialised belongs to the same genesis. Returns the state the
    /// store is at.
    pub fn init(&self, genesis: &State, genesis_hash: Hash) -> Result<State, StoreError> {
        let db = self.db();
        if let Some(meta) = self.meta()? {
            meta.check_chain(genesis, genesis_hash)?;
            self.check_format()?;
            let state = self.load_state(&meta)?;
            if meta.height > Height(0) && self.get(CF_META, META_SUMMARY)?.is_none() {
                self.rebuild_summary(genesis, genesis_hash, meta.height)?;
            }
            return Ok(state);
        }
        let mut batch = WriteBatch::default();
        for (k, v) in genesis.entries() {
            statemap::put_entry(&db, &mut batch, Height(0), k, Some(v), true);
        }
        let nodes: Vec<_> = genesis
            .tree()
            .iter()
            .map(|(at, n)| (*at, Some(*n)))
            .collect();
        statemap::put_nodes(&db, &mut batch, Height(0), &nodes);
        for set in [genesis.validators(), genesis.next_validators()] {
            batch.put_cf(cf(&db, CF_VALSETS), set.hash().0, codec::encode(set));
        }
        let meta = cf(&db, CF_META);
        batch.put_cf(meta, META_CHAIN_ID, genesis.chain_id().as_bytes());
        batch.put_cf(meta, META_GENESIS_HASH, genesis_hash.0);
        batch.put_cf(meta, META_HEIGHT, height_key(Height(0)));
        batch.put_cf(meta, META_LAST_HASH, genesis_hash.0);
        batch.put_cf(meta, META_STATE_ROOT, genesis.root().0);
        batch.put_cf(meta, META_SUMMARY, []);
        batch.put_cf(meta, META_TREE, []);
        batch.put_cf(meta, META_FORMAT, STORE_FORMAT.to_be_bytes());
        db.write_opt(batch, &Self::synced())?;
        Ok(genesis.clone())
    }

    /// The chain facts, or `None` for an empty store.
    pub fn meta(&self) -> Result<Option<ChainMeta>, StoreError> {
        let Some(chain_id) = self.get(CF_META, META_CHAIN_ID)? else {
            return Ok(None);
        };
        let zero = Height(0);
        let field = |key: &[u8]| -> Result<Vec<u8>, StoreError> {
            self.get(CF_META, key)?.ok_or_else(|| {
                corrupt(
                    zero,
                    format!("metadata {} missing", String::from_utf8_lossy(key)),
                )
            })
        };
        let hash = |key: &[u8]| -> Result<Hash, StoreError> {
            hash_from(&field(key)?).ok_or_else(|| corrupt(zero, "metadata hash is not 32 bytes"))
        };
        let height_bytes: [u8; 8] = field(META_HEIGHT)?
            .try_into()
            .map_err(|_| corrupt(zero, "metadata height is not 8 bytes"))?;
        Ok(Some(ChainMeta {
            chain_id: String::from_utf8(chain_id)
                .map_err(|_| corrupt(zero, "chain id is not UTF-8"))?,
            genesis_hash: hash(META_GENESIS_HASH)?,
            height: Height(u64::from_be_bytes(height_bytes)),
            last_block_hash: hash(META_LAST_HASH)?,
            state_root: hash(META_STATE_ROOT)?,
        }))
    }

    /// Commits block H with its certificate and execution outcome, in one
    /// synced batch. `before` is the state the block was executed on.
    pub fn commit_block(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        outcome: &BlockOutcome,
        before: &State,
    ) -> Result<(), StoreError> {
        let db = self.db();
        let h = block.header.height;
        assert_eq!(h, before.height().next(), "blocks are committed in order");
        assert_eq!(outcome.height, h, "the outcome is for this block");
        assert_eq!(
            cert.block_hash,
            block.hash(),
            "the certificate is for this block"
        );
        let mut batch = WriteBatch::default();
        put_block(&db, &mut batch, block);
        batch.put_cf(cf(&db, CF_CERTS), height_key(h), cert.encode());
        let hashes = block.tx_hashes();
        index_txs(
            &db,
            &mut batch,
            block,
            &hashes,
            &written_vendors(outcome),
            before,
        );
        for ev in &block.evidence {
            batch.put_cf(cf(&db, CF_EVIDENCE), evidence_key(h, ev), codec::encode(ev));
        }
        self.summarise(&mut batch, block, &hashes, before)?;
        self.grow_history(&mut batch, before.height().0, &block.hash())?;
        // A key written several times in the block (a signer's nonce, a
        // busy contract) is stored once, with its last value.
        for (k, v) in statemap::finals(outcome) {
            if let Some(StateValue::Validators(set)) = v {
                batch.put_cf(cf(&db, CF_VALSETS), set.hash().0, codec::encode(set));
            }
            statemap::put_entry(&db, &mut batch, h, k, v, !before.holds(k));
        }
        statemap::put_nodes(&db, &mut batch, h, &outcome.tree_writes);
        let meta = cf(&db, CF_META);
        batch.put_cf(meta, META_HEIGHT, height_key(h));
        if block.header.validators_hash != block.header.next_validators_hash {
            batch.put_cf(meta, set_change_key(h), []);
        }
        batch.put_cf(meta, META_LAST_HASH, block.hash().0);
        batch.put_cf(meta, META_STATE_ROOT, outcome.state_root.0);
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// The heights below `below` of the blocks after which the validator
    /// set changes, ascending, from an index written with each block, so
    /// that finding them does not read the chain.
    pub fn set_change_heights(&self, below: Height) -> Result<Vec<Height>, StoreError> {
        let db = self.db();
        let mut out = Vec::new();
        let iter = db.iterator_cf(
            cf(&db, CF_META),
            IteratorMode::From(META_SET_CHANGE, Direction::Forward),
        );
        for item in iter {
            let (k, _) = item?;
            let Some(rest) = k.strip_prefix(META_SET_CHANGE) else {
                break;
            };
            let bytes: [u8; 8] = rest
                .try_into()
                .map_err(|_| corrupt(Height(0), "validator-set change index key"))?;
            let h = Height(u64::from_be_bytes(bytes));
            if h >= below {
                break;
            }
            out.push(h);
        }
        Ok(out)
    }

    /// The commit certificate of block `h`, or [`StoreError::NotHeld`] as
    /// for [`Store::block`].
    pub fn cert(&self, h: Height) -> Result<Option<CommitCertificate>, StoreError> {
        self.held(h, CF_CERTS)?
            .map(|b| {
                CommitCertificate::decode(&b).map_err(|e| corrupt(h, format!("certificate: {e}")))
            })
            .transpose()
    }

    /// What `column` holds for height `h`; for an absent height below the
    /// store's base, [`StoreError::NotHeld`].
    fn held(&self, h: Height, column: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.get(column, &height_key(h))? {
            Some(bytes) => Ok(Some(bytes)),
            None => {
                self.check_held(h)?;
                Ok(None)
            }
        }
    }

    /// Where a committed transaction is.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.get(CF_TXINDEX, &hash.0)?
            .map(|b| {
                location_from(&b)
                    .ok_or_else(|| corrupt(Height(0), format!("tx index entry of {hash}")))
            })
            .transpose()
    }

    /// A validator set by its hash, as committed in headers.
    pub fn validator_set(&self, hash: &Hash) -> Result<Option<ValidatorSet>, StoreError> {
        self.get(CF_VALSETS, &hash.0)?
            .map(|b| {
                codec::decode::<ValidatorSet, RECORD_BYTES_MAX>(&b)
                    .map_err(|e| corrupt(Height(0), format!("validator set {hash}: {e}")))
            })
            .transpose()
    }

    /// Up to `limit` history entries of `entity`, oldest first, strictly after
    /// `after` (a location from a previous page).
    pub fn history(
        &self,
        entity: &EntityId,
        after: Option<TxLocation>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let start = match after {
            Some(loc) => {
                let mut k = history_key(entity, loc.height, loc.index);
                k.push(0); // just past `after`
                k
            }
            None => [entity.as_str().as_bytes(), &[0]].concat(),
        };
        self.history_from(entity, &start, Direction::Forward, limit)
    }

    /// Up to `limit` (at most [`HISTORY_PAGE_MAX`]) of `entity`'s history
    /// entries, from the key `start` on in `direction`.
    fn history_from(
        &self,
        entity: &EntityId,
        start: &[u8],
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let limit = limit.min(HISTORY_PAGE_MAX);
        let prefix = [entity.as_str().as_bytes(), &[0]].concat();
        let mut out = Vec::new();
        let db = self.db();
        let iter = db.iterator_cf(cf(&db, CF_HISTORY), IteratorMode::From(start, direction));
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            let loc = location_from(&k[prefix.len()..])
                .ok_or_else(|| corrupt(Height(0), format!("history key of {entity}")))?;
            let tx_hash = hash_from(&v).ok_or_else(|| corrupt(loc.height, "history entry"))?;
            out.push(HistoryEntry {
                location: loc,
                tx_hash,
            });
        }
        Ok(out)
    }

    /// The newest `limit` entries of `entity`'s history (at most
    /// [`HISTORY_PAGE_MAX`]), newest first.
    pub fn history_newest(
        &self,
        entity: &EntityId,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        // Just past every key of the entity: its id ends with a zero byte.
        let end = [entity.as_str().as_bytes(), &[1]].concat();
        self.history_from(entity, &end, Direction::Reverse, limit)
    }

    /// The transaction recorded in `entity`'s history at `location`.
    pub fn history_entry(
        &self,
        entity: &EntityId,
        location: TxLocation,
    ) -> Result<Option<Hash>, StoreError> {
        self.get(
            CF_HISTORY,
            &history_key(entity, location.height, location.index),
        )?
        .map(|v| hash_from(&v).ok_or_else(|| corrupt(location.height, "history entry")))
        .transpose()
    }

    /// Number of history entries of all entities.
    pub fn history_len(&self) -> Result<u64, StoreError> {
        let mut n = 0;
        let db = self.db();
        for item in db.iterator_cf(cf(&db, CF_HISTORY), IteratorMode::Start) {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// All committed evidence, oldest first.
    pub fn evidence(&self) -> Result<Vec<(Height, Evidence)>, StoreError> {
        let mut out = Vec::new();
        let db = self.db();
        for item in db.iterator_cf(cf(&db, CF_EVIDENCE), IteratorMode::Start) {
            let (k, v) = item?;
            let h = Height(u64::from_be_bytes(
                k.get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| corrupt(Height(0), "evidence key"))?,
            ));
            let ev = codec::decode::<Evidence, RECORD_BYTES_MAX>(&v)
                .map_err(|e| corrupt(h, format!("evidence: {e}")))?;
            out.push((h, ev));
        }
        Ok(out)
    }

    /// Overwrites a raw entry. Only for tests that tamper with a store to see
    /// verification fail.
    #[doc(hidden)]
    #[cfg(feature = "testkit")]
    pub fn tamper(&self, name: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let db = self.db();
        db.put_cf(cf(&db, name), key, value)?;
        Ok(())
    }

    /// Deletes a raw entry. Only for tests that tamper with a store to see
    /// verification fail.
    #[doc(hidden)]
    #[cfg(feature = "testkit")]
    pub fn tamper_remove(&self, name: &str, key: &[u8]) -> Result<(), StoreError> {
        let db = self.db();
        db.delete_cf(cf(&db, name), key)?;
        Ok(())
    }
}

/// Writes the transaction index and the entities' history entries of
/// `block`, whose transactions hash to `hashes`, into `batch`; the
/// counterparties are found in `vendors` and `before` as [`involved`] does.
fn index_txs(
    db: &DB,
    batch: &mut WriteBatch,
    block: &Block,
    hashes: &[Hash],
    vendors: &std::collections::HashMap<crate::types::ContractId, EntityId>,
    before: &State,
) {
    let h = block.header.height;
    for (i, (tx, &hash)) in block.txs.iter().zip(hashes).enumerate() {
        let loc = TxLocation {
            height: h,
            index: i as u32,
        };
        batch.put_cf(cf(db, CF_TXINDEX), hash.0, location_bytes(loc));
        for entity in involved(&tx.body.signer, &tx.body.op, vendors, before) {
            batch.put_cf(
                cf(db, CF_HISTORY),
                history_key(&entity, h, loc.index),
                hash.0,
            );
        }
    }
}

fn evidence_key(h: Height, ev: &Evidence) -> Vec<u8> {
    let mut k = height_key(h).to_vec();
    k.extend_from_slice(&Hash::digest(&codec::encode(ev)).0);
    k
}
