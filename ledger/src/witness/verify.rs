//! Checking checkpoints and fork proofs from the genesis file alone, and
//! whether one checkpoint extends another.

use std::collections::BTreeSet;

use super::{Checkpoint, CheckpointProof, ForkProof, Side, WitnessError, FORK_PAIRS_MAX};
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
    /// The height of the main pair.
    pub height: Height,
    /// Block H of the history the witness had cosigned.
    pub cosigned: Hash,
    /// Block H of the other history.
    pub other: Hash,
    /// The heights of every pair, in increasing order: the earlier pairs',
    /// then H.
    pub heights: Vec<Height>,
    /// The validators whose precommits certify a block of each history
    /// (of any pair): each signed two histories. Sorted by name, each once.
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
        if cp.height.0 == 0 {
            return Err(WitnessError::HeightZero);
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
    /// Checks every checkpoint from the genesis facts; that each pair is of
    /// one height and names two blocks; that the earlier pairs go up in
    /// height below the main pair; and that each earlier checkpoint's
    /// consistency proof links it to the next checkpoint of its side. Names
    /// the validators whose precommits are in a certificate of each side
    /// (see [`ForkProof`] for why each of them signed two histories), each
    /// once, by its record in the validator set a checkpoint it certified
    /// was verified against (the newest such), sorted by name.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<VerifiedFork, WitnessError> {
        if self.format != super::FORK_PROOF_FORMAT || self.version != super::WITNESS_FORMAT_VERSION
        {
            return Err(WitnessError::Malformed {
                what: "fork proof",
                reason: format!("format {:?} version {}", self.format, self.version),
            });
        }
        let count = self.earlier.len() + 1;
        if count > FORK_PAIRS_MAX {
            return Err(WitnessError::TooManyPairs {
                count,
                max: FORK_PAIRS_MAX,
            });
        }
        let main = verify_pair(anchor, &self.cosigned, &self.other)?;
        // Every pair, the lowest first and the main pair last.
        let mut pairs = Vec::with_capacity(count);
        for pair in &self.earlier {
            pairs.push(verify_pair(anchor, &pair.cosigned, &pair.other)?);
        }
        pairs.push(main);
        for (i, pair) in self.earlier.iter().enumerate() {
            let (this, next) = (&pairs[i], &pairs[i + 1]);
            let (height, next_height) = (this.0.checkpoint.height, next.0.checkpoint.height);
            if height >= next_height {
                return Err(WitnessError::PairNotBelow {
                    height,
                    next: next_height,
                });
            }
            let sides = [
                (Side::Cosigned, &this.0, &next.0, &pair.cosigned_link),
                (Side::Other, &this.1, &next.1, &pair.other_link),
            ];
            for (side, this, next, link) in sides {
                if !extends(&this.checkpoint, &next.checkpoint, Some(link)) {
                    return Err(WitnessError::Unlinked {
                        side,
                        height,
                        next: next_height,
                    });
                }
            }
        }
        let a: BTreeSet<PublicKey> = pairs.iter().flat_map(|p| p.0.signers.clone()).collect();
        let b: BTreeSet<PublicKey> = pairs.iter().flat_map(|p| p.1.signers.clone()).collect();
        // Each key by its record in the newest set that holds it.
        let mut signed_both: Vec<Validator> = Vec::new();
        for key in a.intersection(&b) {
            let named = pairs
                .iter()
                .rev()
                .flat_map(|p| [&p.0, &p.1])
                .find_map(|c| c.validators.get(key));
            if let Some(v) = named {
                signed_both.push(v.clone());
            }
        }
        signed_both.sort_by(|x, y| (&x.name, &x.consensus_key).cmp(&(&y.name, &y.consensus_key)));
        let (a, b) = &pairs[count - 1];
        Ok(VerifiedFork {
            height: a.checkpoint.height,
            cosigned: a.checkpoint.block_hash,
            other: b.checkpoint.block_hash,
            heights: pairs.iter().map(|p| p.0.checkpoint.height).collect(),
            signed_both,
        })
    }
}

/// Both checkpoints of a pair, verified from the genesis facts, of one
/// height and with different blocks.
fn verify_pair(
    anchor: &TrustAnchor,
    cosigned: &CheckpointProof,
    other: &CheckpointProof,
) -> Result<(VerifiedCheckpoint, VerifiedCheckpoint), WitnessError> {
    let a = cosigned.verify(anchor)?;
    let b = other.verify(anchor)?;
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
    Ok((a, b))
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
