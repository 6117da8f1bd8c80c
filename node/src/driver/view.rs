//! The committed chain as the one rule of block validity sees it: a
//! [`ChainView`] over the core's store, its committed state and its
//! evidence pool, used to judge both proposals and pieces of evidence.

use ledger::merkle::Frontier;
use ledger::store::StoreError;
use ledger::validity::{ChainView, Offence};
use ledger::{Hash, Height, State, ValidatorSet};

use super::{Core, Io};

/// The committed chain as the rule of block validity sees it: the state
/// read under its lock, the last block, the store for older validator
/// sets, and the offences already committed.
pub(crate) struct View<'a, I: Io> {
    core: &'a Core<I>,
    state: &'a State,
}

impl<'a, I: Io> View<'a, I> {
    /// The view of `core`, with `state` read under its lock.
    pub(crate) fn new(core: &'a Core<I>, state: &'a State) -> View<'a, I> {
        View { core, state }
    }
}

impl<I: Io> ChainView for View<'_, I> {
    fn state(&self) -> &State {
        self.state
    }
    fn last_hash(&self) -> Hash {
        self.core.last_hash
    }
    fn last_time_ms(&self) -> u64 {
        self.core.last_time_ms
    }
    fn history(&self) -> &Frontier {
        &self.core.history
    }
    fn prev_set(&self) -> Option<&ValidatorSet> {
        self.core.prev_set.as_ref()
    }
    fn set_at(&self, h: Height) -> Result<Option<ValidatorSet>, String> {
        let store = &self.core.store;
        let block = match store.block(h) {
            Ok(Some(block)) => block,
            Ok(None) => return Ok(None),
            // Below the snapshot a store started from, the set is the one
            // the last set change before `h` started, which the store holds.
            Err(StoreError::NotHeld { .. }) => {
                return store
                    .store()
                    .set_from_changes(h, &self.core.shared.genesis.validator_set())
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
            Err(e) => return Err(e.to_string()),
        };
        store
            .validator_set(&block.header.validators_hash)
            .map_err(|e| e.to_string())
    }
    fn offence_committed(&self, offence: &Offence) -> Result<bool, String> {
        Ok(self.core.evidence.committed(offence))
    }
}
