//! `minhbach backup` and `minhbach restore`: a node's home in one file, and
//! back, without ever letting a validator sign twice.
//!
//! A backup is taken from a running node: the store is read through a
//! RocksDB secondary instance, which takes no lock and sees the store as it
//! was when it opened (see [`ledger::store::Store::write_backup`]). It carries `config.toml` and
//! `genesis.json`, and the keys only when asked.
//!
//! Restoring is where double-signing could come from. The backup's safety
//! record is as old as the backup, and the validator signed after it. So
//! `restore`:
//! - checks the whole file before it writes anything, then fills a new
//!   folder beside `data/` and swaps it in only when it is complete; a
//!   `data/` already there is kept, renamed, never deleted;
//! - keeps the newer of the two safety records, the backup's or the one
//!   already in the home, compared by (height, round, step);
//! - writes a signing guard ([`crate::driver::guard`]): above the kept
//!   record when the home had one, and otherwise waiting until the node has
//!   caught up with the network's latest height, and sitting out the two
//!   heights after it.

use std::fs;
use std::io::{BufReader, BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use consensus::{SafetyRecord, SignStep};
use ledger::store::{check_backup, BackupContents, BackupError, Store, StoreError};
use ledger::{Hash, Height, PublicKey, Signature};
use thiserror::Error;

use crate::driver::{SignGuard, SAFETY_RECORD_KEY, VALID_BLOCK_KEY};
use crate::home::Home;

/// The files of a home a backup carries without `--with-keys`.
const PLAIN_FILES: [&str; 2] = ["config.toml", "genesis.json"];
/// The key files, carried only with `--with-keys`.
const KEY_FILES: [&str; 2] = ["node_key", "validator_key"];

/// The safety record as the node stores it.
type Record = SafetyRecord<Hash, PublicKey, Signature>;
/// A record as stored: read, its bytes, and the block of its valid value if
/// one was written with it.
#[derive(Clone)]
struct Stored {
    record: Record,
    bytes: Vec<u8>,
    valid_block: Option<Vec<u8>>,
}

/// Why a backup or a restore did not happen.
#[derive(Debug, Error)]
pub enum RestoreError {
    /// The backup file is bad.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// What was asked cannot be done; nothing was written.
    #[error("{0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a backup holds, as `backup` and `restore` report it.
#[derive(Clone, Debug)]
pub struct BackupReport {
    /// The chain.
    pub chain_id: String,
    /// The last committed height in the backup.
    pub height: Height,
    /// Store entries.
    pub entries: u64,
    /// The home's files it carries.
    pub files: Vec<String>,
    /// The backup file's size.
    pub bytes: u64,
}

/// Writes a backup of the node at `home` to `out` (mode 0600; refuses to
/// overwrite). The node may be running.
pub fn backup(home: &Home, out: &Path, with_keys: bool) -> Result<BackupReport, RestoreError> {
    let data = home.data_dir();
    if !data.is_dir() {
        return Err(RestoreError::Refused(format!(
            "{} has no store (no data/ folder); there is nothing to back up",
            home.root().display()
        )));
    }
    if out.exists() {
        return Err(RestoreError::Refused(format!(
            "{} already exists; a backup never overwrites a file",
            out.display()
        )));
    }
    let mut names: Vec<&str> = PLAIN_FILES.to_vec();
    if with_keys {
        names.extend(KEY_FILES);
    }
    let mut files = Vec::new();
    for name in names {
        let path = home.root().join(name);
        match fs::read(&path) {
            Ok(bytes) => files.push((name, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
    }
    let scratch = scratch_dir(out, "secondary");
    fs::create_dir_all(&scratch).map_err(io(&scratch))?;
    let written = write_backup_file(&data, &scratch, &files, out);
    let _ = fs::remove_dir_all(&scratch);
    let (contents, meta) = written.inspect_err(|_| {
        let _ = fs::remove_file(partial(out));
    })?;
    let checked = match files.iter().find(|(n, _)| *n == "genesis.json") {
        Some((_, bytes)) => check_genesis(bytes, meta.genesis_hash, out),
        None => Ok(()),
    };
    let placed = checked.and_then(|()| place(&partial(out), out));
    let _ = fs::remove_file(partial(out));
    placed?;
    let bytes = fs::metadata(out).map_err(io(out))?.len();
    Ok(BackupReport {
        chain_id: meta.chain_id,
        height: meta.height,
        entries: contents.entries,
        files: contents.files.into_iter().map(|(n, _)| n).collect(),
        bytes,
    })
}

/// Puts the finished backup at `out` without replacing a file that appeared
/// there meanwhile: a hard link fails if `out` exists; where the file system
/// has no hard links, a rename after one more look.
fn place(finished: &Path, out: &Path) -> Result<(), RestoreError> {
    match fs::hard_link(finished, out) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(RestoreError::Refused(format!(
                "{} already exists; a backup never overwrites a file",
                out.display()
            )))
        }
        Err(_) if !out.exists() => fs::rename(finished, out).map_err(io(out)),
        Err(e) => Err(io(out)(e)),
    }
}

fn write_backup_file(
    data: &Path,
    scratch: &Path,
    files: &[(&str, Vec<u8>)],
    out: &Path,
) -> Result<(BackupContents, ledger::store::ChainMeta), RestoreError> {
    let store = Store::open_secondary(data, scratch)?;
    let meta = store
        .meta()?
        .ok_or_else(|| RestoreError::Refused(format!("{} holds no chain yet", data.display())))?;
    let tmp = partial(out);
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    let mut w = BufWriter::new(file);
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let contents = store.write_backup(&borrowed, &mut w)?;
    let file = w.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io(&tmp))?;
    Ok((contents, meta))
}

fn partial(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn scratch_dir(beside: &Path, what: &str) -> PathBuf {
    let mut name = beside.as_os_str().to_owned();
    name.push(format!(".{what}-{}", std::process::id()));
    PathBuf::from(name)
}

fn check_genesis(bytes: &[u8], expected: Hash, what: &Path) -> Result<(), RestoreError> {
    let genesis = genesis::Genesis::from_json_bytes(bytes).map_err(|e| {
        RestoreError::Refused(format!(
            "{}: its genesis.json is invalid: {e}",
            what.display()
        ))
    })?;
    if genesis.hash() != expected {
        return Err(RestoreError::Refused(format!(
            "{}: genesis.json has hash {}, but the store holds the chain of genesis {expected}",
            what.display(),
            genesis.hash()
        )));
    }
    Ok(())
}

/// What `restore` did about signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signing {
    /// The store holds no safety record: a full node, or a validator that
    /// never signed.
    NoRecord,
    /// The home's own record was newer than the backup's and was kept; the
    /// node signs nothing below `from`.
    KeptHomeRecord {
        /// The kept record's height.
        record_height: Height,
        /// The guard's floor.
        from: Height,
    },
    /// The backup's record was restored; the node signs nothing until it
    /// has caught up with the network, and then sits out two more heights.
    AwaitingNetwork {
        /// The restored record's height.
        record_height: Height,
    },
}

/// What `restore` did.
#[derive(Clone, Debug)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup: BackupReport,
    /// Where the store that was in the home went, if there was one.
    pub replaced: Option<PathBuf>,
    /// The home's files written from the backup.
    pub written: Vec<String>,
    /// The home's files kept although the backup carries another version.
    pub kept: Vec<String>,
    /// The guard on signing.
    pub signing: Signing,
}

/// Restores the backup `file` into `home`: an empty or missing folder, or
/// the home of a stopped node (its store is kept beside, renamed).
pub fn restore(file: &Path, home: &Home) -> Result<RestoreReport, RestoreError> {
    let open = |path: &Path| fs::File::open(path).map(BufReader::new).map_err(io(path));
    // Everything is checked before anything is written.
    let contents = check_backup(open(file)?)?;
    let made_home = !home.root().exists();
    fs::create_dir_all(home.root()).map_err(io(home.root()))?;
    let data = home.data_dir();
    let existing = if data.exists() {
        Some(read_existing(&data)?)
    } else {
        None
    };
    let fresh = scratch_dir(&data, "restoring");
    if fresh.exists() {
        fs::remove_dir_all(&fresh).map_err(io(&fresh))?;
    }
    let filled = fill(file, &fresh, &contents, existing.as_ref(), home);
    let (meta, signing) = match filled {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_dir_all(&fresh);
            if made_home {
                // Empty again: a refused restore leaves nothing behind.
                let _ = fs::remove_dir(home.root());
            }
            return Err(e);
        }
    };
    let replaced = if existing.is_some() {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = home.root().join(format!("data.replaced-{secs}"));
        fs::rename(&data, &aside).map_err(io(&data))?;
        Some(aside)
    } else {
        None
    };
    fs::rename(&fresh, &data).map_err(io(&data))?;
    sync_dir(home.root())?;
    let (written, kept) = write_files(home, &contents)?;
    let bytes = fs::metadata(file).map_err(io(file))?.len();
    Ok(RestoreReport {
        backup: BackupReport {
            chain_id: meta.chain_id,
            height: meta.height,
            entries: contents.entries,
            files: contents.files.iter().map(|(n, _)| n.clone()).collect(),
            bytes,
        },
        replaced,
        written,
        kept,
        signing,
    })
}

/// What the home's own store says about signing.
struct Existing {
    /// Its chain, if it holds one: (chain id, genesis hash).
    chain: Option<(String, Hash)>,
    record: Option<Stored>,
    guard: Option<SignGuard>,
}

fn read_existing(data: &Path) -> Result<Existing, RestoreError> {
    let store = Store::open(data).map_err(|e| {
        RestoreError::Refused(format!(
            "{} cannot be opened ({e}); stop the node before restoring into its home",
            data.display()
        ))
    })?;
    let chain = store.meta()?.map(|m| (m.chain_id, m.genesis_hash));
    let record = read_record(&store)?;
    let guard = SignGuard::load(&store)?;
    Ok(Existing {
        chain,
        record,
        guard,
    })
}

fn read_record(store: &Store) -> Result<Option<Stored>, RestoreError> {
    let Some(bytes) = store.safety_get(SAFETY_RECORD_KEY)? else {
        return Ok(None);
    };
    let record: Record = serde_json::from_slice(&bytes).map_err(|e| {
        RestoreError::Refused(format!(
            "the safety record in {} cannot be read: {e}",
            store.path().display()
        ))
    })?;
    Ok(Some(Stored {
        record,
        bytes,
        valid_block: store.safety_get(VALID_BLOCK_KEY)?,
    }))
}

/// Where a record stands: its height, then the last (round, step) signed.
fn position(record: &Record) -> (Height, Option<(u32, SignStep)>) {
    (
        Height(record.height().0),
        record.last_signed().map(|s| (s.round().0, s.step())),
    )
}

/// Fills `fresh` from the backup and settles the safety record and guard.
fn fill(
    file: &Path,
    fresh: &Path,
    contents: &BackupContents,
    existing: Option<&Existing>,
    home: &Home,
) -> Result<(ledger::store::ChainMeta, Signing), RestoreError> {
    let store = Store::open(fresh)?;
    let reader = fs::File::open(file).map(BufReader::new).map_err(io(file))?;
    store.read_backup(reader)?;
    let meta = store
        .meta()?
        .ok_or_else(|| RestoreError::Refused("the backup holds no chain".into()))?;
    if let Some(bytes) = contents.file("genesis.json") {
        check_genesis(bytes, meta.genesis_hash, file)?;
    }
    if let Ok(bytes) = fs::read(home.genesis_path()) {
        check_genesis(&bytes, meta.genesis_hash, &home.genesis_path())?;
    }
    if let Some(existing) = existing {
        if let Some((chain_id, genesis)) = existing
            .chain
            .as_ref()
            .filter(|(id, g)| *id != meta.chain_id || *g != meta.genesis_hash)
        {
            return Err(RestoreError::Refused(format!(
                "the home's store holds chain {chain_id:?} (genesis {genesis}), the backup \
                 chain {:?} (genesis {}); restore a backup of this home's chain",
                meta.chain_id, meta.genesis_hash
            )));
        }
    }
    let validator = home.validator_key_path().exists() || contents.file("validator_key").is_some();
    let signing = settle(&store, meta.height, existing, validator)?;
    Ok((meta, signing))
}

/// Settles signing in a store filled from a backup into an empty home, as
/// `restore` does: the simulator restores into memory with it.
pub fn settle_restored(store: &Store, validator: bool) -> Result<Signing, RestoreError> {
    let meta = store
        .meta()?
        .ok_or_else(|| RestoreError::Refused("the store holds no chain".into()))?;
    settle(store, meta.height, None, validator)
}

/// Keeps the newer safety record, the backup's or the home's own
/// (`existing`), and writes the signing guard that goes with it.
fn settle(
    store: &Store,
    height: Height,
    existing: Option<&Existing>,
    validator: bool,
) -> Result<Signing, RestoreError> {
    let restored = read_record(store)?;
    let home_record = existing.and_then(|e| e.record.clone());
    let home_guard = existing.and_then(|e| e.guard);
    let floor_before = home_guard.map_or(0, |g| g.floor);
    let newer_home_record = home_record.filter(|home| {
        restored
            .as_ref()
            .is_none_or(|backup| position(&home.record) >= position(&backup.record))
    });
    let (guard, signing) = if let Some(home) = newer_home_record {
        let record_height = Height(home.record.height().0);
        if record_height.0 <= height.0 + 1 {
            store.safety_put(SAFETY_RECORD_KEY, &home.bytes)?;
            if let Some(block) = &home.valid_block {
                store.safety_put(VALID_BLOCK_KEY, block)?;
            }
        }
        // The kept record's height is refused from here on too: whatever the
        // validator signed there, it cannot re-send it safely from a store
        // that may not reach that height yet. A home restored before and not
        // yet caught up goes on waiting: its record is not known to be its
        // last signature either.
        let guard = SignGuard {
            floor: floor_before.max(record_height.0 + 1),
            awaiting_network: home_guard.is_some_and(|g| g.awaiting_network),
        };
        let signing = if guard.awaiting_network {
            Signing::AwaitingNetwork { record_height }
        } else {
            Signing::KeptHomeRecord {
                record_height,
                from: Height(guard.floor),
            }
        };
        (guard, signing)
    } else if restored.is_some() || validator {
        // The backup's record, or none from a validator that may have
        // signed since: either way older than what it signed.
        let record_height = restored.as_ref().map_or(0, |r| r.record.height().0);
        let guard = SignGuard {
            floor: floor_before.max(record_height + 1),
            awaiting_network: true,
        };
        let signing = Signing::AwaitingNetwork {
            record_height: Height(record_height),
        };
        (guard, signing)
    } else {
        return Ok(Signing::NoRecord);
    };
    guard.save(store)?;
    Ok(signing)
}

/// Writes the backup's files that the home lacks; keys with mode 0600.
/// Returns the files written and those kept because the home has its own.
fn write_files(
    home: &Home,
    contents: &BackupContents,
) -> Result<(Vec<String>, Vec<String>), RestoreError> {
    let (mut written, mut kept) = (Vec::new(), Vec::new());
    for (name, bytes) in &contents.files {
        let path = home.root().join(name);
        match fs::read(&path) {
            Ok(ours) if ours == *bytes => continue,
            Ok(_) => {
                kept.push(name.clone());
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
        let mode = if KEY_FILES.contains(&name.as_str()) {
            0o600
        } else {
            0o644
        };
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(bytes).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        written.push(name.clone());
    }
    sync_dir(home.root())?;
    Ok((written, kept))
}

fn sync_dir(dir: &Path) -> Result<(), RestoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}
