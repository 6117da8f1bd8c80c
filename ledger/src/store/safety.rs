//! The consensus safety column: the record a validator writes, synced,
//! before it signs, kept apart from the blocks.

use rocksdb::WriteBatch;

use super::{cf, Store, StoreError, CF_SAFETY};

impl Store {
    /// Reads a value from the consensus safety column.
    pub fn safety_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(CF_SAFETY, key)
    }

    /// Writes a value to the consensus safety column, synced before returning.
    pub fn safety_put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.safety_put_all(&[(key, value)])
    }

    /// Writes values to the consensus safety column in one synced batch:
    /// all are written or none.
    pub fn safety_put_all(&self, entries: &[(&[u8], &[u8])]) -> Result<(), StoreError> {
        let db = self.db();
        let mut batch = WriteBatch::default();
        for (key, value) in entries {
            batch.put_cf(cf(&db, CF_SAFETY), key, value);
        }
        db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}
