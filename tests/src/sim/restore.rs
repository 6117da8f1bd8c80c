//! A validator restored from an old backup: its store is copied once a
//! second while it runs, and after a crash it comes back from the oldest
//! copy kept (2 to 4 seconds old), into a fresh disk, with the signing
//! guard `minhbach restore` writes (or, for the checker's test, without).

use ledger::store::{MemoryDisk, Store};

use super::{Restore, Sim, RESTORED_NODE};

/// Backups kept: the restart uses the oldest.
const BACKUPS_KEPT: usize = 3;

impl Sim {
    /// Copies the store of node `i`, if the scenario restores it.
    pub(super) fn take_backup(&mut self, i: usize) {
        let from_backup = matches!(
            self.scenario.restore,
            Some(Restore::Guarded | Restore::Unguarded)
        );
        if !from_backup || i != RESTORED_NODE {
            return;
        }
        let node = &mut self.nodes[i];
        let Some(shared) = &node.shared else { return };
        let mut bytes = Vec::new();
        shared
            .store
            .write_backup(&[], &mut bytes)
            .expect("a backup of a store in memory");
        node.backups.push_back(bytes);
        if node.backups.len() > BACKUPS_KEPT {
            node.backups.pop_front();
        }
    }

    /// Replaces the store of crashed node `i` with its oldest backup, if
    /// the scenario restores it.
    pub(super) fn restore_backup(&mut self, i: usize) {
        let Some(how) = self.scenario.restore else {
            return;
        };
        if i != RESTORED_NODE {
            return;
        }
        if matches!(how, Restore::FromSnapshot | Restore::FromSnapshotUnguarded) {
            self.start_from_snapshot(i, how == Restore::FromSnapshot);
            return;
        }
        let node = &mut self.nodes[i];
        let Some(bytes) = node.backups.pop_front() else {
            return;
        };
        node.backups.clear();
        node.disk = MemoryDisk::new().expect("memory for a store");
        let store = Store::open_in_memory(&node.disk, &node.name).expect("the store opens");
        store
            .read_backup(bytes.as_slice())
            .expect("the backup restores");
        if how == Restore::Guarded {
            node::backup::settle_restored(&store, true).expect("the guard is written");
        }
        self.out.restores += 1;
    }
}
