//! `[snapshots]`: the snapshots of the state this node serves to nodes
//! that start from one (`minhbach node start --state-sync`). A snapshot
//! is read from the versions the store keeps anyway, so serving one costs
//! no copy and no disk: only the reads when a peer asks.

use serde::{Deserialize, Serialize};

/// Default of `[snapshots] interval`.
pub const SNAPSHOT_INTERVAL_DEFAULT: u64 = 1_000;
/// Default of `[snapshots] keep`.
pub const SNAPSHOTS_KEPT_DEFAULT: usize = 3;
/// Most snapshots offered at once.
pub const SNAPSHOTS_KEPT_MAX: usize = 16;

/// `[snapshots]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotsSection {
    /// Snapshots are of the heights that are multiples of this; 0 serves
    /// none.
    pub interval: u64,
    /// How many of the newest such heights are offered.
    pub keep: usize,
}

impl Default for SnapshotsSection {
    fn default() -> Self {
        SnapshotsSection {
            interval: SNAPSHOT_INTERVAL_DEFAULT,
            keep: SNAPSHOTS_KEPT_DEFAULT,
        }
    }
}

impl SnapshotsSection {
    /// The field at fault and why, if a value is out of range.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.keep == 0 || self.keep > SNAPSHOTS_KEPT_MAX {
            return Err((
                "snapshots.keep",
                format!("must be between 1 and {SNAPSHOTS_KEPT_MAX}"),
            ));
        }
        Ok(())
    }
}
