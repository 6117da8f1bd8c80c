//! A validator that comes back from a crash with an empty disk, started
//! from a snapshot that a running peer serves, as `minhbach node start
//! --state-sync` starts it: the anchor checked from the genesis file, the
//! set-change blocks and the chunks against it, with the signing guard
//! that state sync writes for a validator. Only the transport is the
//! simulator's: the checks and the store are the node's own.

use std::collections::BTreeMap;

use ledger::proof::{StateBundle, TrustAnchor};
use ledger::state::StateKey;
use ledger::statesync::{Anchored, SnapshotAnchor, VerifiedSnapshot};
use ledger::store::{MemoryDisk, Store};
use ledger::Height;

use super::Sim;

/// Snapshots every this many heights.
pub const SNAPSHOT_INTERVAL: u64 = 4;
/// Chunks of this many prefix bits.
const CHUNK_DEPTH: u8 = 3;

impl Sim {
    /// Replaces the disk of crashed node `i` with a store started from the
    /// newest snapshot that the running node furthest ahead serves, with
    /// the signing guard if `guarded`; false if none serves one yet.
    pub(super) fn start_from_snapshot(&mut self, i: usize, guarded: bool) -> bool {
        let peer = (0..self.nodes.len())
            .filter(|&j| j != i)
            .filter_map(|j| Some((j, self.nodes[j].shared.as_ref()?.store.meta().ok()??)))
            .max_by_key(|(_, meta)| meta.height)
            .map(|(j, _)| j);
        let Some(peer) = peer else { return false };
        let shared = self.nodes[peer].shared.clone().expect("a running node");
        let Some(&height) = shared
            .store
            .snapshot_heights(SNAPSHOT_INTERVAL, 3)
            .expect("snapshot heights")
            .last()
        else {
            return false;
        };
        let trust = TrustAnchor::from_genesis_state(&self.genesis_state, self.genesis.hash());
        let snapshot = match take(&shared.store, &trust, height, self.genesis_state.chain_id()) {
            Ok(s) => s,
            Err(e) => {
                self.violation(format!(
                    "node {i}: the snapshot of {height} from node {peer}: {e}"
                ));
                return false;
            }
        };
        let node = &mut self.nodes[i];
        node.disk = MemoryDisk::new().expect("memory for a store");
        node.backups.clear();
        let store = Store::open_in_memory(&node.disk, &node.name).expect("the store opens");
        store
            .start_from_snapshot(&self.genesis_state, self.genesis.hash(), &snapshot)
            .expect("the store starts from the snapshot");
        if guarded {
            node::backup::settle_restored(&store, true).expect("the guard is written");
        }
        self.out.restores += 1;
        true
    }
}

/// The snapshot of `height` from `store`, through every check a node
/// makes of what its peers send.
fn take(
    store: &Store,
    trust: &TrustAnchor,
    height: Height,
    chain_id: &str,
) -> Result<VerifiedSnapshot, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let bundle = StateBundle::build(
        store,
        trust.genesis_hash(),
        &StateKey::Treasury,
        Some(height),
    )
    .map_err(|x| e(&x))?
    .ok_or(format!("no state proof at {height}"))?;
    let history = store
        .history_frontier(Height(height.0 - 1))
        .map_err(|x| e(&x))?;
    let anchor = SnapshotAnchor {
        bundle: bundle.to_json().into_bytes(),
        history: history.peaks().to_vec(),
    };
    let anchored = Anchored::check(trust, &anchor).map_err(|x| e(&x))?;
    let mut blocks = BTreeMap::new();
    for k in anchored.block_heights() {
        let block = store
            .block(k)
            .map_err(|x| e(&x))?
            .ok_or(format!("block {k} missing"))?;
        anchored.check_block(&block).map_err(|x| e(&x))?;
        blocks.insert(k, block);
    }
    let mut entries = Vec::new();
    for prefix in 0..1u32 << CHUNK_DEPTH {
        let chunk = store
            .snapshot_chunk(height, CHUNK_DEPTH, prefix, usize::MAX)
            .map_err(|x| e(&x))?
            .ok_or(format!("chunk {prefix} too large"))?;
        entries.extend(anchored.check_chunk(&chunk).map_err(|x| e(&x))?);
    }
    anchored
        .finish(chain_id, entries, blocks)
        .map_err(|x| e(&x))
}
