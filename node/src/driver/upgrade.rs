//! Protocol upgrades: a node stops cleanly before the first height whose
//! blocks must carry a protocol version it does not run.
//!
//! The treasury schedules an upgrade with `schedule-upgrade` (height,
//! version); from that height on, every block's header carries the version
//! (`ledger::validity::check_block`). A node whose build runs an older one
//! cannot judge those blocks by the new rules, so rather than decide or
//! accept them under its own rules, and fork from the network, it commits
//! up to the height before, signs nothing at the height, says which
//! version is needed, and exits (the command line's exit code 5). Started
//! again unchanged, it stops again at once; with a build that runs the
//! version, it syncs on from where it stopped.

use std::sync::atomic::{AtomicU32, Ordering};

use ledger::Height;
use tracing::error;

use super::{Core, Io};

static SPOKEN: AtomicU32 = AtomicU32::new(ledger::block::PROTOCOL_VERSION);

/// The newest protocol version this process runs.
pub fn spoken() -> u32 {
    SPOKEN.load(Ordering::SeqCst)
}

/// Makes this process run `version` as well: only the tests' `minhbach-next`
/// binary calls it, to play a build of the next version.
pub fn speak(version: u32) {
    SPOKEN.store(version, Ordering::SeqCst);
}

/// Why a node stopped for an upgrade it does not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Halted(pub String);

impl<I: Io> Core<I> {
    /// Whether this node runs the protocol version of height `h`; if not,
    /// it halts, saying which version is needed.
    pub(crate) fn runs_version_of(&mut self, h: u64) -> bool {
        let needed = self
            .shared
            .state
            .read()
            .expect("state lock")
            .protocol_version_at(Height(h));
        if needed <= self.protocol_version {
            return true;
        }
        #[cfg(feature = "faults")]
        if self.faults.ignore_upgrade {
            return true;
        }
        if self.halted.is_none() {
            let why = format!(
                "blocks from height {h} carry protocol version {needed}, which this node does \
                 not run (it runs version {}); it stopped after committing height {}: install \
                 a minhbach that runs version {needed} and start it again",
                self.protocol_version,
                self.committed_height()
            );
            error!("{why}");
            metrics::gauge!("minhbach_halted").set(1.0);
            self.halted = Some(Halted(why));
        }
        false
    }

    /// Why the node stopped for an upgrade, if it did: the loop then ends.
    pub fn halted(&self) -> Option<&Halted> {
        self.halted.as_ref()
    }
}
