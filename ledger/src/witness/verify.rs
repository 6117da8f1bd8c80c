//! Checking checkpoints and fork proofs from the genesis file alone, and
//! whether one checkpoint extends another.

use super::{Checkpoint, CheckpointProof, ForkProof, WitnessError};
use crate::history;
use crate::merkle::{ConsistencyProof, Frontier};
use crate::proof::{check_certified, trace_sets, TrustAnchor};
use crate::types::{Hash, Height, PublicKey};
use crate::validators::{Validator, ValidatorSet};

/// What a valid checkpoint proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// set(H), reached from genesis, which certified block H.
    pub validators: ValidatorSet,
    /// The keys whose precommits are in block H's certificate.
    pub signers: Vec<PublicKey>,
}

/// What a valid fork proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedFork {
    /// The height of both checkpoints.
    pub height: Height,
    /// Block H of the history the witness had cosigned.
    pub cosigned: Hash,
    /// Block H of the other history.
    pub other: Hash,
    /// The validators whose precommits certify both blocks: each signed
    /// two histories.
    pub signed_both: Vec<Validator>,
}

impl CheckpointProof {
    /// Checks the checkpoint from the genesis facts: block H's certificate
    /// against set(H) traced from set(1), the checkpoint's fields against
    /// the certified header, and its history root as the header's root
    /// extended by block H.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<VerifiedCheckpoint, WitnessError> {
        let cp = &self.checkpoint;
        if self.format != super::CHECKPOINT_FORMAT || self.version != super::WITNESS_FORMAT_VERSION
        {
            return Err(WitnessError::Malformed {
                what: "checkpoint",
                reason: format!("format {:?} version {}", self.format, self.version),
            });
        }
        if cp.chain_id != anchor.chain_id() || self.genesis_hash != anchor.genesis_hash() {
            return Err(WitnessError::WrongChain {
                found: cp.chain_id.clone(),
                chain: anchor.chain_id().to_owned(),
            });
        }
        let header = self.header()?;
        let mismatch = |field| Err(WitnessError::CheckpointMismatch { field });
        if header.height != cp.height {
            return mismatch("height");
        }
        if header.hash() != cp.block_hash {
            return mismatch("block_hash");
        }
        let set = trace_sets(anchor, &self.validator_set_changes, header.height)?;
        check_certified(anchor, &header, &self.certificate, &set)?;
        let before = cp.height.0 - 1;
        let Some(mut frontier) = Frontier::from_parts(before, self.history_peaks.clone()) else {
            return Err(WitnessError::Peaks { height: cp.height });
        };
        if frontier.root() != header.history_root {
            return Err(WitnessError::Peaks { height: cp.height });
        }
        frontier.push(history::leaf(&cp.block_hash));
        if frontier.root() != cp.history_root {
            return mismatch("history_root");
        }
        Ok(VerifiedCheckpoint {
            checkpoint: cp.clone(),
            signers: self
                .certificate
                .precommits
                .iter()
                .map(|v| v.validator)
                .collect(),
            validators: set,
        })
    }
}

impl ForkProof {
    /// Checks both checkpoints from the genesis facts, that they are of one
    /// height and name different blocks, and names the validators who
    /// certified both.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<VerifiedFork, WitnessError> {
        if self.format != super::FORK_PROOF_FORMAT || self.version != super::WITNESS_FORMAT_VERSION
        {
            return Err(WitnessError::Malformed {
                what: "fork proof",
                reason: format!("format {:?} version {}", self.format, self.version),
            });
        }
        let a = self.cosigned.verify(anchor)?;
        let b = self.other.verify(anchor)?;
        let (ha, hb) = (a.checkpoint.height, b.checkpoint.height);
        if ha != hb {
            return Err(WitnessError::NotOneHeight {
                cosigned: ha,
                other: hb,
            });
        }
        if a.checkpoint.block_hash == b.checkpoint.block_hash {
            return Err(WitnessError::NoFork(a.checkpoint.block_hash));
        }
        let mut signed_both: Vec<Validator> = a
            .validators
            .validators()
            .iter()
            .filter(|v| {
                a.signers.contains(&v.consensus_key) && b.signers.contains(&v.consensus_key)
            })
            .cloned()
            .collect();
        signed_both.sort_by(|x, y| x.name.cmp(&y.name));
        Ok(VerifiedFork {
            height: ha,
            cosigned: a.checkpoint.block_hash,
            other: b.checkpoint.block_hash,
            signed_both,
        })
    }
}

/// Whether `new` extends `old`: the same chain, not lower, the same
/// checkpoint at the same height, and otherwise a consistency proof for
/// exactly their heights that links their roots.
pub fn extends(old: &Checkpoint, new: &Checkpoint, proof: Option<&ConsistencyProof>) -> bool {
    if old.chain_id != new.chain_id || new.height < old.height {
        return false;
    }
    if new.height == old.height {
        return new == old;
    }
    proof.is_some_and(|p| {
        p.verify_bound(
            &old.history_root,
            old.height.0,
            &new.history_root,
            new.height.0,
        )
    })
}
