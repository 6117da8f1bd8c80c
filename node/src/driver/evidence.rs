//! Evidence of equivocation: the pool of verified pieces not yet committed,
//! and the offences already committed, so that none is committed twice.
//!
//! The pool keeps at most [`EVIDENCE_PER_VALIDATOR_MAX`] pieces against any
//! one validator, so a validator that equivocates at every step cannot
//! crowd out the evidence against another; a proposer takes pieces from
//! each validator in turn. The committed offences are read once at start
//! (a store that cannot be read stops the start) and kept in memory, so a
//! proposal's evidence is checked without reading the store.

use std::collections::{BTreeMap, HashSet};

use ledger::validity::{self, CheckError, Offence};
use ledger::{Evidence, PublicKey};
use tracing::{debug, warn};

use super::view::View;
use super::{ChainStore, Core, Io};

/// Most pieces of pending evidence kept against one validator: a
/// validator that double-signs every prevote and precommit leaves two or
/// more offences a height, and a block carries up to 16, so this is room
/// for many heights of it.
pub const EVIDENCE_PER_VALIDATOR_MAX: usize = 64;
/// Most validators with pending evidence; a set larger than this is not
/// expected to have so many equivocating at once.
pub const EVIDENCE_VALIDATORS_MAX: usize = 128;
/// Most pieces of pending evidence kept in all.
pub const EVIDENCE_POOL_MAX: usize = EVIDENCE_PER_VALIDATOR_MAX * EVIDENCE_VALIDATORS_MAX;

/// Pending and committed evidence.
#[derive(Default)]
pub struct EvidencePool {
    pending: BTreeMap<PublicKey, Vec<Evidence>>,
    committed: HashSet<Offence>,
}

impl EvidencePool {
    /// The committed offences of `store`; an error if they cannot be read.
    pub fn load(store: &dyn ChainStore) -> anyhow::Result<EvidencePool> {
        let committed = store
            .evidence()
            .map_err(|e| anyhow::anyhow!("the committed evidence cannot be read: {e}"))?
            .iter()
            .map(|(_, e)| e.offence())
            .collect();
        Ok(EvidencePool {
            pending: BTreeMap::new(),
            committed,
        })
    }

    /// Whether a committed block carries `offence`.
    pub fn committed(&self, offence: &Offence) -> bool {
        self.committed.contains(offence)
    }

    /// Pieces pending.
    pub fn pooled(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }

    /// Adds a verified piece, unless its offence is committed or pending, or
    /// its validator's share is full.
    pub fn add(&mut self, ev: Evidence) -> bool {
        let offence = ev.offence();
        if self.committed.contains(&offence) {
            return false;
        }
        if !self.pending.contains_key(&offence.validator)
            && self.pending.len() >= EVIDENCE_VALIDATORS_MAX
        {
            return false;
        }
        let pieces = self.pending.entry(offence.validator).or_default();
        if pieces.len() >= EVIDENCE_PER_VALIDATOR_MAX
            || pieces.iter().any(|e| e.offence() == offence)
        {
            return false;
        }
        pieces.push(ev);
        true
    }

    /// Notes the evidence a committed block carries.
    pub fn on_commit(&mut self, evidence: &[Evidence]) {
        for ev in evidence {
            self.committed.insert(ev.offence());
        }
        let committed = &self.committed;
        self.pending.retain(|_, pieces| {
            pieces.retain(|e| !committed.contains(&e.offence()));
            !pieces.is_empty()
        });
    }

    /// Up to `max` pieces, one validator's at a time in turn.
    fn pick(&self, max: usize) -> Vec<Evidence> {
        let mut out = Vec::new();
        for i in 0..EVIDENCE_PER_VALIDATOR_MAX {
            for pieces in self.pending.values() {
                if out.len() == max {
                    return out;
                }
                if let Some(e) = pieces.get(i) {
                    out.push(e.clone());
                }
            }
        }
        out
    }

    fn retain(&mut self, mut keep: impl FnMut(&Evidence) -> bool) {
        self.pending.retain(|_, pieces| {
            pieces.retain(&mut keep);
            !pieces.is_empty()
        });
    }
}

impl<I: Io> Core<I> {
    /// Checks a piece of evidence for the block after the committed one;
    /// `Ok(Err)` is a verdict, `Err` a read that failed here.
    pub(crate) fn check_evidence(
        &self,
        ev: &Evidence,
    ) -> Result<Result<(), validity::EvidenceRefusal>, CheckError> {
        let state = self.shared.state.read().expect("state lock");
        validity::check_evidence(&View::new(self, &state), ev)
    }

    pub(crate) fn add_evidence(&mut self, ev: Evidence) {
        self.evidence.add(ev);
    }

    /// The evidence for this validator's next block: pieces that still
    /// pass the rule the others will judge the block by (a piece they
    /// refuse would make every block of this validator invalid), one
    /// validator's at a time.
    pub(crate) fn pick_evidence(&mut self) -> Vec<Evidence> {
        let mut refused = HashSet::new();
        let mut unavailable = false;
        let pieces: Vec<Evidence> = self.evidence.pick(usize::MAX);
        for e in &pieces {
            match self.check_evidence(e) {
                Ok(Ok(())) => {}
                Ok(Err(why)) => {
                    warn!("dropping pooled evidence: {why}");
                    refused.insert(e.offence());
                }
                Err(why) => {
                    debug!("pooled evidence cannot be checked now: {why}");
                    unavailable = true;
                }
            }
        }
        self.evidence.retain(|e| !refused.contains(&e.offence()));
        if unavailable {
            // Proposed when it can be checked.
            return Vec::new();
        }
        self.evidence.pick(ledger::block::BLOCK_EVIDENCE_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::crypto::SigningKey;
    use ledger::{Height, Vote, VoteType};

    fn piece(key: &SigningKey, round: u32) -> Evidence {
        let vote = |value: u8| {
            Vote::sign(
                key,
                "c",
                VoteType::Prevote,
                Height(3),
                round,
                Some(ledger::Hash([value; 32])),
            )
        };
        Evidence {
            a: vote(1),
            b: vote(2),
        }
    }

    #[test]
    fn one_validator_cannot_crowd_out_evidence_against_another() {
        let loud = SigningKey::from_seed([1; 32]);
        let quiet = SigningKey::from_seed([2; 32]);
        let mut pool = EvidencePool::default();
        let added = (0..1_000).filter(|r| pool.add(piece(&loud, *r))).count();
        assert_eq!(added, EVIDENCE_PER_VALIDATOR_MAX);
        assert!(pool.add(piece(&quiet, 0)), "room is left for another");
        // The proposer takes from each in turn.
        let picked = pool.pick(2);
        let signers: HashSet<PublicKey> = picked.iter().map(|e| e.a.validator).collect();
        assert_eq!(signers.len(), 2);
    }

    #[test]
    fn an_offence_counts_once_and_not_after_it_is_committed() {
        let key = SigningKey::from_seed([3; 32]);
        let mut pool = EvidencePool::default();
        let e = piece(&key, 0);
        let swapped = Evidence {
            a: e.b.clone(),
            b: e.a.clone(),
        };
        assert!(pool.add(e.clone()));
        assert!(!pool.add(swapped), "the same offence in the other order");
        pool.on_commit(std::slice::from_ref(&e));
        assert_eq!(pool.pooled(), 0);
        assert!(pool.committed(&e.offence()));
        assert!(!pool.add(e));
    }
}
