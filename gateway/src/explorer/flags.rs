//! Red flags: patterns in the ledger's own data that deserve a journalist's
//! question. They are raised from the ledger's summaries of the whole
//! history ([`ledger::summary`]), so none ages out, and each keeps a stable
//! id. This module reads them once per committed height and keeps them.

use std::sync::{Arc, Mutex};

use ledger::store::Store;
pub use ledger::summary::flags::*;
use ledger::summary::read;
use ledger::{Height, State};

/// The flags of the last height asked for.
#[derive(Default)]
pub struct FlagCache(Mutex<Option<(Height, Arc<Vec<Flag>>)>>);

impl FlagCache {
    /// The flags standing at `state`'s height, read from the summaries
    /// once per height.
    pub fn get(
        &self,
        store: &Store,
        state: &State,
        params: &FlagParams,
    ) -> Result<Arc<Vec<Flag>>, ledger::summary::SummaryError> {
        let now = state.height();
        let mut cache = self.0.lock().expect("flag cache lock");
        if let Some((h, flags)) = cache.as_ref() {
            if *h == now {
                return Ok(flags.clone());
            }
        }
        let flags = Arc::new(read::flags(store, state, now, params)?);
        *cache = Some((now, flags.clone()));
        Ok(flags)
    }
}
