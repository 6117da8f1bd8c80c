//! A protocol upgrade: the treasury's first transaction schedules version 2
//! from [`UPGRADE_HEIGHT`]; validator [`LAGGARD`] runs version 1 and must
//! stop cleanly before that height, as a node with an old build does,
//! while the others run version 2 and go on.

use ledger::{Height, Op};

use super::{Sim, LAGGARD, UPGRADE_HEIGHT};

/// The version the other nodes run.
const NEXT_VERSION: u32 = ledger::block::PROTOCOL_VERSION + 1;

impl Sim {
    /// The protocol version node `i` runs.
    pub(super) fn protocol_version(&self, i: usize) -> u32 {
        if self.scenario.upgrade && i != LAGGARD {
            NEXT_VERSION
        } else {
            ledger::block::PROTOCOL_VERSION
        }
    }

    /// The treasury's transaction of nonce `nonce`, if the scenario needs
    /// one there: the upgrade is its first (nonce 1).
    pub(super) fn upgrade_op(&self, nonce: u64) -> Option<Op> {
        (self.scenario.upgrade && nonce == 1).then_some(Op::ScheduleUpgrade {
            height: Height(UPGRADE_HEIGHT),
            version: NEXT_VERSION,
        })
    }

    /// Stops node `i` for good if it halted for an upgrade it does not run,
    /// as the process exits.
    pub(super) fn stop_if_halted(&mut self, i: usize) {
        let halted = self.nodes[i]
            .core
            .as_ref()
            .is_some_and(|c| c.halted().is_some());
        if halted {
            let height = self.check.height_of(i);
            self.out.halted.insert(i, height);
            self.crash(i);
            self.nodes[i].stopped = true;
        }
    }
}
