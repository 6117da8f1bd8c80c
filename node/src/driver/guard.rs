//! The signing guard of a validator restored from a backup.
//!
//! A backup holds the safety record as it was when the backup was taken.
//! The validator went on signing after that, so the restored record is
//! older than its signatures: trusting it could mean signing a second,
//! different vote at a height the validator already voted at, which is
//! equivocation, and evidence against it. `minhbach restore` therefore
//! writes a guard beside the record, and the node signs nothing below the
//! guard's height.
//!
//! When `restore` knows the newest record (the home still had one), the
//! guard's height is simply above it. When it does not (an empty home), the
//! guard waits for the network: the node follows and syncs without signing
//! until, over a few rounds of asking, it has heard the heights of other
//! validators holding more than a third of the set's power, and has caught
//! up with the highest height its peers claim, L. The old validator signed
//! at most at the height after its last commit C. That commit carried the
//! precommits of validators holding more than two thirds of the power, each
//! of which had committed C − 1; without the old validator they still hold
//! more than two thirds less its share, so any other third includes one of
//! them, and L ≥ C − 1. The old validator therefore signed nothing above
//! L + 2, and the node signs from L + 3. A peer that claims more than it
//! can serve is distrusted by block sync, so a lie delays the guard but
//! does not hold it forever. A validator that cannot hear a third of the
//! others cannot help them decide anyway; it waits.
//!
//! No rule can help when every validator goes back to an old backup at
//! once: then the heights after the newest backup were signed by keys
//! whose records are all gone. Backups protect against losing one node.

use ledger::store::{Store, StoreError};
use libp2p::PeerId;
use tracing::{info, warn};

use super::{Core, Io};

/// The safety-column key of the guard.
pub const SIGN_GUARD_KEY: &[u8] = b"sign_guard";
/// Heights after the network's latest that a restored validator sits out:
/// the one it may have been deciding and the one after (module header).
pub const SIT_OUT: u64 = 2;
/// Status rounds (ticks) a guard waiting for the network lets pass before
/// it believes it has heard every peer's height.
pub const GUARD_STATUS_TICKS: u32 = 3;

/// Where a restored validator may sign from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignGuard {
    /// Nothing is signed below this height.
    pub floor: u64,
    /// Nothing is signed at all until the network's latest height is seen;
    /// then the floor rises to that height + 3.
    pub awaiting_network: bool,
}

impl SignGuard {
    /// The stored form: floor u64 BE ‖ awaiting u8 (0 or 1).
    pub fn encode(&self) -> [u8; 9] {
        let mut out = [0; 9];
        out[..8].copy_from_slice(&self.floor.to_be_bytes());
        out[8] = u8::from(self.awaiting_network);
        out
    }

    /// Reads the stored form back, refusing anything else.
    pub fn decode(bytes: &[u8]) -> Result<SignGuard, String> {
        let bytes: [u8; 9] = bytes
            .try_into()
            .map_err(|_| format!("a signing guard is 9 bytes, not {}", bytes.len()))?;
        let awaiting_network = match bytes[8] {
            0 => false,
            1 => true,
            b => return Err(format!("a signing guard's flag is 0 or 1, not {b}")),
        };
        let [f0, f1, f2, f3, f4, f5, f6, f7, _] = bytes;
        let floor = u64::from_be_bytes([f0, f1, f2, f3, f4, f5, f6, f7]);
        Ok(SignGuard {
            floor,
            awaiting_network,
        })
    }

    /// The lowest height this guard lets the node sign at now.
    pub fn signs_from(&self) -> u64 {
        if self.awaiting_network {
            u64::MAX
        } else {
            self.floor
        }
    }

    /// Reads the guard of a store, if it has one; one that cannot be read
    /// is a corrupt store.
    pub fn load(store: &Store) -> Result<Option<SignGuard>, StoreError> {
        store
            .safety_get(SIGN_GUARD_KEY)?
            .map(|b| {
                SignGuard::decode(&b).map_err(|e| StoreError::Corrupt {
                    height: ledger::Height(0),
                    what: format!("the signing guard cannot be read: {e}"),
                })
            })
            .transpose()
    }

    /// Writes the guard, synced.
    pub fn save(&self, store: &Store) -> Result<(), StoreError> {
        store.safety_put(SIGN_GUARD_KEY, &self.encode())
    }
}

impl<I: Io> Core<I> {
    /// Holds signatures back as the stored guard says; called once at start.
    pub(crate) fn apply_sign_guard(&mut self, guard: Option<SignGuard>) {
        let Some(guard) = guard else { return };
        self.guard = Some(guard);
        self.machine
            .sign_from(consensus::Height(guard.signs_from()));
        if guard.awaiting_network {
            warn!(
                "restored from a backup: signing nothing until this node has caught up \
                 with the network's latest height"
            );
        } else if guard.floor > self.height() {
            info!(
                from = guard.floor,
                "restored from a backup: signing from height {}", guard.floor
            );
        }
        metrics::gauge!("minhbach_signing_held").set(self.signing_held());
    }

    /// 1 while the guard holds this validator's signatures back at the
    /// height in progress, else 0.
    fn signing_held(&self) -> f64 {
        match self.guard {
            Some(g) if g.signs_from() > self.height() => 1.0,
            _ => 0.0,
        }
    }

    /// Lifts a guard waiting for the network once this node has caught up
    /// with the highest height its trusted peers claim, after
    /// [`GUARD_STATUS_TICKS`] rounds of asking them and once it has heard
    /// other validators holding more than a third of the power.
    pub(crate) fn check_sign_guard(&mut self) {
        metrics::gauge!("minhbach_signing_held").set(self.signing_held());
        let Some(guard) = self.guard.filter(|g| g.awaiting_network) else {
            return;
        };
        self.guard_ticks = self.guard_ticks.saturating_add(1);
        if self.guard_ticks < GUARD_STATUS_TICKS {
            return;
        }
        let Some(latest) = self.network_latest() else {
            return; // not heard enough of the set yet, or still behind
        };
        let lifted = SignGuard {
            floor: guard.floor.max(latest + SIT_OUT + 1),
            awaiting_network: false,
        };
        if let Err(e) = lifted.save(self.store.store()) {
            warn!(error = %e, "the signing guard could not be written; trying again");
            return;
        }
        self.guard = Some(lifted);
        self.machine.sign_from(consensus::Height(lifted.floor));
        info!(
            network = latest,
            from = lifted.floor,
            "caught up with the network after a restore: signing from height {}",
            lifted.floor
        );
    }

    /// The network's latest committed height as this node can tell: the
    /// highest its trusted peers claim, once they include other validators
    /// of the current set holding more than a third of its power and this
    /// node has caught up with it. The validators that precommitted the old
    /// validator's last commit hold more than two thirds with it, so any
    /// third of the others includes one of them (module header).
    fn network_latest(&self) -> Option<u64> {
        let ours = self.committed_height();
        let connected = &self.connected;
        let claims: Vec<(PeerId, u64)> = self
            .sync
            .claims(self.io.now(), |p| connected.contains(p))
            .map(|(p, h)| (*p, h))
            .collect();
        let me = self.key.as_ref().map(|k| k.public_key());
        let (heard, others, total) = {
            let state = self.shared.state.read().expect("state lock");
            let set = state.validators();
            let (mut heard, mut others) = (0u64, 0u64);
            for v in set
                .validators()
                .iter()
                .filter(|v| Some(v.consensus_key) != me)
            {
                others += v.power;
                let peer = PeerId::from_bytes(v.peer_id.as_bytes()).ok();
                if claims.iter().any(|(p, _)| Some(*p) == peer) {
                    heard += v.power;
                }
            }
            (heard, others, set.total_power())
        };
        // Alone in the set, there is nobody to hear: its own height is the
        // network's.
        if others > 0 && u128::from(heard) * 3 <= u128::from(total) {
            return None;
        }
        let best = claims.iter().map(|(_, h)| *h).max().unwrap_or(ours);
        (best <= ours).then_some(ours)
    }
}

#[cfg(test)]
mod tests {
    use super::SignGuard;

    #[test]
    fn the_stored_form_reads_back_and_nothing_else_does() {
        for guard in [
            SignGuard {
                floor: 0,
                awaiting_network: true,
            },
            SignGuard {
                floor: 1_234_567,
                awaiting_network: false,
            },
        ] {
            assert_eq!(SignGuard::decode(&guard.encode()), Ok(guard));
        }
        let mut bytes = SignGuard {
            floor: 9,
            awaiting_network: false,
        }
        .encode()
        .to_vec();
        bytes[8] = 2;
        assert!(SignGuard::decode(&bytes).is_err());
        assert!(SignGuard::decode(&bytes[..8]).is_err());
        bytes[8] = 0;
        bytes.push(0);
        assert!(SignGuard::decode(&bytes).is_err());
        let waiting = SignGuard {
            floor: 5,
            awaiting_network: true,
        };
        assert_eq!(waiting.signs_from(), u64::MAX);
    }
}
