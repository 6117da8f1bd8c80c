//! Witnesses' cosignatures in the store: the latest one each witness
//! posted to this node, kept outside consensus (see [`crate::witness`]).

use rocksdb::IteratorMode;

use super::{cf, corrupt, Store, StoreError, CF_COSIGN};
use crate::codec::{self, RECORD_BYTES_MAX};
use crate::types::{EntityId, Height};
use crate::witness::Cosignature;

impl Store {
    /// Keeps `c` as its witness's latest cosignature.
    pub(crate) fn put_cosignature(&self, c: &Cosignature) -> Result<(), StoreError> {
        let db = self.db();
        db.put_cf_opt(
            cf(&db, CF_COSIGN),
            c.witness.as_str().as_bytes(),
            codec::encode(c),
            &Self::synced(),
        )?;
        Ok(())
    }

    /// The latest cosignature of `witness` held here.
    pub fn cosignature(&self, witness: &EntityId) -> Result<Option<Cosignature>, StoreError> {
        self.get(CF_COSIGN, witness.as_str().as_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// The latest cosignature of every witness held here, by witness id.
    pub fn cosignatures(&self) -> Result<Vec<Cosignature>, StoreError> {
        let db = self.db();
        let mut out = Vec::new();
        for item in db.iterator_cf(cf(&db, CF_COSIGN), IteratorMode::Start) {
            let (_, v) = item?;
            out.push(decode(&v)?);
        }
        Ok(out)
    }
}

fn decode(bytes: &[u8]) -> Result<Cosignature, StoreError> {
    codec::decode::<Cosignature, RECORD_BYTES_MAX>(bytes)
        .map_err(|e| corrupt(Height(0), format!("cosignature: {e}")))
}
