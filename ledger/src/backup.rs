//! The backup file: a node's store and home files in one checkable
//! stream (docs/byte-layouts.md, "Backup"). This module is the layout
//! alone, with no RocksDB, so that its reader can be fuzzed; the store
//! writes and reads backups with it (`store::Store::write_backup`).
//!
//! ```text
//! "MBBACKUP" ‖ version u32 BE
//! records, each a tag byte:
//!   1 file:   name_len u8 ‖ name ‖ len u32 BE ‖ bytes
//!   2 entry:  column_len u8 ‖ column ‖ key_len u32 BE ‖ key ‖ value_len u32 BE ‖ value
//!   0 end:    files u32 BE ‖ entries u64 BE ‖ SHA-256 of every byte before it
//! ```
//!
//! Files come before entries, and nothing may follow the end record.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::codec::BLOCK_BYTES_MAX;
use crate::types::Hash;

/// The first bytes of every backup.
pub const BACKUP_MAGIC: &[u8; 8] = b"MBBACKUP";
/// The backup layout this version writes and reads.
pub const BACKUP_VERSION: u32 = 1;
/// The files of a home a backup may carry.
pub const BACKUP_FILES: [&str; 4] = ["config.toml", "genesis.json", "node_key", "validator_key"];
/// The largest file a backup may carry.
pub const BACKUP_FILE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// The largest key of a stored entry.
pub const BACKUP_KEY_BYTES_MAX: usize = 64 * 1024;
/// The largest value of a stored entry: a block.
pub const BACKUP_VALUE_BYTES_MAX: usize = BLOCK_BYTES_MAX;

const TAG_END: u8 = 0;
const TAG_FILE: u8 = 1;
const TAG_ENTRY: u8 = 2;

/// Why a backup could not be written or read.
#[derive(Debug, Error)]
pub enum BackupError {
    /// Reading or writing the backup file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not a backup, or not one this version reads.
    #[error("not a Minh Bạch backup: {0}")]
    NotABackup(String),
    /// The file is a backup but is damaged or cut short.
    #[error("the backup is damaged at byte {offset}: {reason}; nothing was restored")]
    Malformed {
        /// Where reading stopped.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The store to restore into already holds a chain.
    #[error("the store at {0} is not empty; a backup is restored only into an empty store")]
    NotEmpty(String),
}

/// What a backup holds besides its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupContents {
    /// The home's files, by name.
    pub files: Vec<(String, Vec<u8>)>,
    /// Store entries.
    pub entries: u64,
}

impl BackupContents {
    /// The file named `name`, if the backup carries it.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

/// Writes a backup: files first, then entries, then [`BackupWriter::finish`].
pub struct BackupWriter<W> {
    out: W,
    digest: Sha256,
    files: Vec<(String, Vec<u8>)>,
    entries: u64,
}

impl<W: Write> BackupWriter<W> {
    /// Starts a backup on `out`.
    pub fn new(out: W) -> Result<BackupWriter<W>, BackupError> {
        let mut w = BackupWriter {
            out,
            digest: Sha256::new(),
            files: Vec::new(),
            entries: 0,
        };
        w.put(BACKUP_MAGIC)?;
        w.put(&BACKUP_VERSION.to_be_bytes())?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.digest.update(bytes);
        self.out.write_all(bytes)
    }
    fn put_len(&mut self, n: usize, max: usize, what: &str) -> Result<(), BackupError> {
        if n > max {
            return Err(BackupError::NotABackup(format!(
                "{what} of {n} bytes, over {max}"
            )));
        }
        Ok(self.put(&(n as u32).to_be_bytes())?)
    }
    fn put_name(&mut self, name: &str) -> Result<(), BackupError> {
        self.put(&[name.len() as u8])?;
        Ok(self.put(name.as_bytes())?)
    }

    /// Adds a home file, named from [`BACKUP_FILES`], once.
    pub fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), BackupError> {
        if !BACKUP_FILES.contains(&name) || self.files.iter().any(|(n, _)| n == name) {
            return Err(BackupError::NotABackup(format!(
                "{name} is not a file a backup carries, or is given twice"
            )));
        }
        self.put(&[TAG_FILE])?;
        self.put_name(name)?;
        self.put_len(bytes.len(), BACKUP_FILE_BYTES_MAX, name)?;
        self.put(bytes)?;
        self.files.push((name.to_owned(), bytes.to_vec()));
        Ok(())
    }

    /// Adds a store entry of `column` (a name under 256 bytes).
    pub fn entry(&mut self, column: &str, key: &[u8], value: &[u8]) -> Result<(), BackupError> {
        if column.is_empty() || column.len() > usize::from(u8::MAX) {
            return Err(BackupError::NotABackup(format!(
                "a column named {column:?}"
            )));
        }
        self.put(&[TAG_ENTRY])?;
        self.put_name(column)?;
        self.put_len(key.len(), BACKUP_KEY_BYTES_MAX, "a key")?;
        self.put(key)?;
        self.put_len(value.len(), BACKUP_VALUE_BYTES_MAX, "a value")?;
        self.put(value)?;
        self.entries += 1;
        Ok(())
    }

    /// Writes the end record; returns what was written and the output.
    pub fn finish(mut self) -> Result<(BackupContents, W), BackupError> {
        self.put(&[TAG_END])?;
        self.put(&(self.files.len() as u32).to_be_bytes())?;
        self.put(&self.entries.to_be_bytes())?;
        let digest = self.digest.finalize();
        self.out.write_all(&digest)?;
        self.out.flush()?;
        let contents = BackupContents {
            files: self.files,
            entries: self.entries,
        };
        Ok((contents, self.out))
    }
}

/// Reads bytes and hashes them, counting where it is.
struct Reader<R> {
    input: R,
    digest: Sha256,
    offset: u64,
}

impl<R: Read> Reader<R> {
    fn malformed(&self, reason: impl Into<String>) -> BackupError {
        BackupError::Malformed {
            offset: self.offset,
            reason: reason.into(),
        }
    }
    fn fill(&mut self, buf: &mut [u8], hashed: bool) -> Result<(), BackupError> {
        self.input.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.malformed("it ends before its end record (cut short)")
            } else {
                BackupError::Io(e)
            }
        })?;
        if hashed {
            self.digest.update(&*buf);
        }
        self.offset += buf.len() as u64;
        Ok(())
    }
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, BackupError> {
        let mut buf = vec![0; n];
        self.fill(&mut buf, true)?;
        Ok(buf)
    }
    fn array<const N: usize>(&mut self, hashed: bool) -> Result<[u8; N], BackupError> {
        let mut buf = [0; N];
        self.fill(&mut buf, hashed)?;
        Ok(buf)
    }
    fn len(&mut self, max: usize, what: &str) -> Result<usize, BackupError> {
        let n = u32::from_be_bytes(self.array(true)?) as usize;
        if n > max {
            return Err(self.malformed(format!("{what} of {n} bytes, over {max}")));
        }
        Ok(n)
    }
    fn name(&mut self, allowed: &[&'static str], what: &str) -> Result<&'static str, BackupError> {
        let [len] = self.array(true)?;
        let name = self.bytes(len as usize)?;
        allowed
            .iter()
            .find(|n| n.as_bytes() == name.as_slice())
            .copied()
            .ok_or_else(|| {
                self.malformed(format!(
                    "unknown {what} {:?}",
                    String::from_utf8_lossy(&name)
                ))
            })
    }
}

/// Reads a backup, handing each entry (of one of `columns`) to `entry`,
/// and checks its end record and that nothing follows it. An error may
/// come after some entries were handed over.
pub fn read_backup<E: From<BackupError>>(
    input: impl Read,
    columns: &[&'static str],
    mut entry: impl FnMut(&'static str, &[u8], &[u8]) -> Result<(), E>,
) -> Result<BackupContents, E> {
    let mut r = Reader {
        input,
        digest: Sha256::new(),
        offset: 0,
    };
    let magic: [u8; 8] = r.array(true).map_err(|_| not_a_backup())?;
    if &magic != BACKUP_MAGIC {
        return Err(not_a_backup().into());
    }
    let version = u32::from_be_bytes(r.array(true)?);
    if version != BACKUP_VERSION {
        return Err(BackupError::NotABackup(format!(
            "backup version {version}; this version reads version {BACKUP_VERSION}"
        ))
        .into());
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut entries = 0u64;
    loop {
        let [tag] = r.array(true)?;
        match tag {
            TAG_FILE => {
                let name = r.name(&BACKUP_FILES, "file")?;
                if files.iter().any(|(n, _)| n == name) {
                    return Err(r.malformed(format!("{name} appears twice")).into());
                }
                if entries > 0 {
                    return Err(r
                        .malformed(format!("{name} comes after the store's entries"))
                        .into());
                }
                let len = r.len(BACKUP_FILE_BYTES_MAX, "a file")?;
                files.push((name.to_owned(), r.bytes(len)?));
            }
            TAG_ENTRY => {
                let column = r.name(columns, "column")?;
                let len = r.len(BACKUP_KEY_BYTES_MAX, "a key")?;
                let key = r.bytes(len)?;
                let len = r.len(BACKUP_VALUE_BYTES_MAX, "a value")?;
                let value = r.bytes(len)?;
                entry(column, &key, &value)?;
                entries += 1;
            }
            TAG_END => break,
            other => return Err(r.malformed(format!("unknown record tag {other}")).into()),
        }
    }
    let counted_files = u32::from_be_bytes(r.array(true)?) as usize;
    let counted_entries = u64::from_be_bytes(r.array(true)?);
    let expected = Hash(r.digest.clone().finalize().into());
    let found = Hash(r.array(false)?);
    if found != expected {
        return Err(r
            .malformed(format!(
                "its digest is {found}, but its bytes hash to {expected}"
            ))
            .into());
    }
    if counted_files != files.len() || counted_entries != entries {
        return Err(r
            .malformed(format!(
                "its end record counts {counted_files} files and {counted_entries} entries, \
             but it holds {} and {entries}",
                files.len()
            ))
            .into());
    }
    let mut rest = [0u8; 1];
    if r.input.read(&mut rest).map_err(BackupError::from)? != 0 {
        return Err(r.malformed("bytes follow its end record").into());
    }
    Ok(BackupContents { files, entries })
}

fn not_a_backup() -> BackupError {
    BackupError::NotABackup("it does not start with the backup magic \"MBBACKUP\"".into())
}
