//! Backups of the store: a consistent copy of every column, with the files
//! of the home that go with it, in the layout of [`crate::backup`].
//!
//! A backup is a logical copy, read at one sequence number of the store: a
//! node that keeps committing meanwhile changes nothing that the backup
//! holds, because every read goes through one RocksDB snapshot. Being
//! logical, it holds no stale versions and no RocksDB file layout, and a
//! restore can check all of it before it writes anything.

use std::io::{Read, Write};

use rocksdb::{IteratorMode, ReadOptions, WriteBatch};

use super::{cf, Store, StoreError, COLUMN_FAMILIES};
use crate::backup::{read_backup, BackupContents, BackupError, BackupWriter};

/// Entries written to the store per batch while restoring.
const RESTORE_BATCH: usize = 4_096;

impl Store {
    /// Writes a backup of every column, after `files` (named from
    /// [`crate::backup::BACKUP_FILES`]), to `out`. Every column is read as
    /// of one moment, so the copy is consistent while the store keeps being
    /// written.
    pub fn write_backup(
        &self,
        files: &[(&str, &[u8])],
        out: impl Write,
    ) -> Result<BackupContents, StoreError> {
        let mut w = BackupWriter::new(out)?;
        for (name, bytes) in files {
            w.file(name, bytes)?;
        }
        let db = self.db();
        // A store open for writing is read at one snapshot; a secondary or
        // read-only view (which RocksDB gives no snapshots) holds still by
        // itself: it sees what was there when it opened.
        let snapshot = self.is_writable().then(|| db.snapshot());
        for column in COLUMN_FAMILIES {
            let mut opts = ReadOptions::default();
            if let Some(snapshot) = &snapshot {
                opts.set_snapshot(snapshot);
            }
            for item in db.iterator_cf_opt(cf(&db, column), opts, IteratorMode::Start) {
                let (key, value) = item?;
                w.entry(column, &key, &value)?;
            }
        }
        Ok(w.finish()?.0)
    }

    /// Writes a copy of the whole store into `dir`, which must not exist,
    /// as it is now: RocksDB's checkpoint, whose table files are hard links
    /// to this store's when `dir` is on the same disk, so the copy costs
    /// almost no time or space. For tools that fill one store and hand it
    /// to several nodes (`minhbach bench --history`); a backup to keep is
    /// [`Store::write_backup`].
    pub fn checkpoint(&self, dir: &std::path::Path) -> Result<(), StoreError> {
        let db = self.db();
        rocksdb::checkpoint::Checkpoint::new(&db)?.create_checkpoint(dir)?;
        Ok(())
    }

    /// Fills this empty store from a backup. Returns the files the backup
    /// carries. The whole backup is checked as it is read, but entries are
    /// written as they come: on an error the store holds part of the
    /// backup, so restore into a folder that is discarded on error (or
    /// check the backup first with [`check_backup`]).
    pub fn read_backup(&self, input: impl Read) -> Result<BackupContents, StoreError> {
        if self.meta()?.is_some() {
            return Err(BackupError::NotEmpty(self.path.display().to_string()).into());
        }
        let db = self.db();
        let mut batch = WriteBatch::default();
        let contents = read_backup::<StoreError>(input, &COLUMN_FAMILIES, |column, key, value| {
            batch.put_cf(cf(&db, column), key, value);
            if batch.len() >= RESTORE_BATCH {
                db.write(std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        db.write_opt(batch, &Self::synced())?;
        self.check_format()?;
        self.meta()?
            .ok_or_else(|| BackupError::NotABackup("it holds no chain".into()))?;
        Ok(contents)
    }
}

/// Reads a whole backup of a store and checks it, writing nothing.
pub fn check_backup(input: impl Read) -> Result<BackupContents, BackupError> {
    read_backup::<BackupError>(input, &COLUMN_FAMILIES, |_, _, _| Ok(()))
}
