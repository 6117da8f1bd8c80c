//! Serving snapshots of the state to nodes that start from one: the
//! heights offered, each one's anchor, and its chunks, all read from the
//! store's versions when a peer asks (see `ledger::store`'s snapshots).
//! Only the heights offered are served, so a peer cannot make this node
//! read the state of any height it likes.

use ledger::proof::StateBundle;
use ledger::state::StateKey;
use ledger::statesync::SnapshotAnchor;
use ledger::store::StoreError;
use ledger::Height;
use tracing::warn;

use super::{Core, Io};
use crate::wire::{self, ChunkAnswer, SyncResponse};

impl<I: Io> Core<I> {
    /// The heights of the snapshots this node serves, oldest first.
    fn snapshots_offered(&self) -> Vec<Height> {
        let s = &self.config.snapshots;
        self.store
            .store()
            .snapshot_heights(s.interval, s.keep.min(wire::SNAPSHOTS_OFFERED_MAX))
            .unwrap_or_else(|e| {
                warn!("snapshots: cannot list them: {e}");
                Vec::new()
            })
    }

    pub(crate) fn answer_snapshots(&self) -> SyncResponse {
        SyncResponse::Snapshots(self.snapshots_offered())
    }

    pub(crate) fn answer_snapshot_anchor(&self, height: Height) -> SyncResponse {
        if !self.snapshots_offered().contains(&height) {
            return SyncResponse::SnapshotAnchor(None);
        }
        let anchor = (|| -> Result<Option<SnapshotAnchor>, StoreError> {
            let store = self.store.store();
            let genesis_hash = self.shared.genesis.hash();
            let Some(bundle) =
                StateBundle::build(store, genesis_hash, &StateKey::Treasury, Some(height))?
            else {
                return Ok(None);
            };
            let history = store.history_frontier(Height(height.0 - 1))?;
            Ok(Some(SnapshotAnchor {
                bundle: bundle.to_json().into_bytes(),
                history: history.peaks().to_vec(),
            }))
        })();
        SyncResponse::SnapshotAnchor(anchor.unwrap_or_else(|e| {
            warn!(height = height.0, "snapshots: cannot build an anchor: {e}");
            None
        }))
    }

    pub(crate) fn answer_snapshot_chunk(
        &self,
        height: Height,
        depth: u8,
        prefix: u32,
    ) -> SyncResponse {
        if !self.snapshots_offered().contains(&height) {
            return SyncResponse::SnapshotChunk(ChunkAnswer::NotServed);
        }
        let chunk =
            self.store
                .store()
                .snapshot_chunk(height, depth, prefix, wire::SNAPSHOT_CHUNK_BYTES);
        SyncResponse::SnapshotChunk(match chunk {
            Ok(Some(chunk)) => ChunkAnswer::Chunk(chunk),
            Ok(None) => ChunkAnswer::TooLarge,
            Err(e) => {
                warn!(
                    height = height.0,
                    depth, prefix, "snapshots: cannot read a chunk: {e}"
                );
                ChunkAnswer::NotServed
            }
        })
    }
}
