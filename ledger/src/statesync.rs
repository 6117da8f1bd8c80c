//! Starting from a snapshot: what a node that joins at height H takes from
//! its peers, and the checks that let it trust none of them.
//!
//! The node holds only the genesis file. It takes, from any peer:
//! 1. an [`SnapshotAnchor`]: a state proof at H (of the treasury's entry,
//!    which every state holds), which carries block H's header and
//!    certificate and every validator-set change from genesis, plus the
//!    history tree's peaks over blocks 1..H−1. [`Anchored::check`] follows
//!    the set changes from the genesis validators to set(H), checks H's
//!    certificate under it, and checks the peaks against the root that
//!    header H carries. From here, the certified header H is the anchor:
//!    its `state_root` and its hash;
//! 2. block H and each set-change block whole, each checked against the
//!    certified header of its height ([`Anchored::check_block`]);
//! 3. the state's chunks, each checked against the certified state root
//!    ([`Anchored::check_chunk`]), until their prefixes cover every key.
//!
//! [`Anchored::finish`] then builds the state of H from the entries and
//! checks its root once more. A peer can delay a node, never mislead it:
//! anything that does not lead to the certified header is refused by name,
//! and the node asks another peer.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use thiserror::Error;

use crate::block::{Block, CommitCertificate, Header};
use crate::merkle::Frontier;
use crate::proof::{ProofError, StateBundle, TrustAnchor};
use crate::state::snapshot::{Chunk, ChunkError};
use crate::state::{State, StateKey, StateValue};
use crate::types::{Hash, Height};
use crate::validators::ValidatorSet;

/// What a peer sends first for a snapshot at height H.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SnapshotAnchor {
    /// A state proof of [`StateKey::Treasury`] at H, as JSON
    /// ([`StateBundle`]).
    pub bundle: Vec<u8>,
    /// The peaks of the history tree over blocks 1..H−1, largest first.
    pub history: Vec<Hash>,
}

/// Why a snapshot, or a piece of one, is refused.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// The anchor's state proof is unreadable or does not verify.
    #[error("the snapshot's anchor: {0}")]
    Anchor(#[from] ProofError),
    /// The anchor proves another key than the treasury's.
    #[error("the snapshot's anchor proves another entry than the treasury's")]
    AnchorKey,
    /// The history's peaks do not give the root header H carries.
    #[error("the snapshot's history of blocks 1..{below} does not give the root block {below} carries ({expected}): it gives {got}")]
    History {
        /// H.
        below: Height,
        /// The root header H carries.
        expected: Hash,
        /// The peaks' root.
        got: Hash,
    },
    /// The history's peaks are not as many as its size has one bits.
    #[error("the snapshot's history of {blocks} blocks carries {peaks} peaks; it has one per one bit of its size")]
    HistoryPeaks {
        /// Blocks before H.
        blocks: u64,
        /// Peaks carried.
        peaks: usize,
    },
    /// A block is not the certified one of its height.
    #[error("block {height} of the snapshot: {why}")]
    Block {
        /// Its height.
        height: Height,
        /// What is wrong.
        why: String,
    },
    /// A chunk does not lead to the certified state root.
    #[error("chunk {prefix} of {depth} bits: {error}")]
    Chunk {
        /// Its prefix's bits.
        depth: u8,
        /// Its prefix.
        prefix: u32,
        /// Why.
        error: ChunkError,
    },
    /// The entries do not make the certified state.
    #[error("the snapshot's state: {0}")]
    State(String),
}

/// A snapshot's certified header, set and history, once its anchor is
/// checked: what every further piece is checked against.
#[derive(Clone, Debug)]
pub struct Anchored {
    /// Block H's header.
    pub header: Header,
    /// Block H's certificate.
    pub cert: CommitCertificate,
    /// set(H), which signed it.
    pub set: ValidatorSet,
    /// Each set change below H: its header, certificate and the set it
    /// starts.
    pub changes: Vec<(Header, CommitCertificate, ValidatorSet)>,
    /// The history tree over blocks 1..=H.
    pub history: Frontier,
}

/// Everything a store needs to start at H, all checked.
#[derive(Clone, Debug)]
pub struct VerifiedSnapshot {
    /// The state after block H.
    pub state: State,
    /// Block H and its certificate.
    pub block: (Block, CommitCertificate),
    /// set(H).
    pub set: ValidatorSet,
    /// The set-change blocks below H, with their certificates and the sets
    /// they start.
    pub changes: Vec<(Block, CommitCertificate, ValidatorSet)>,
    /// The history tree over blocks 1..=H.
    pub history: Frontier,
}

impl Anchored {
    /// Checks `anchor` against the genesis facts.
    pub fn check(trust: &TrustAnchor, anchor: &SnapshotAnchor) -> Result<Anchored, SnapshotError> {
        let bundle = StateBundle::decode(&anchor.bundle)?;
        // The certificate of H under set(H), reached from genesis.
        let (entry, set) = bundle.verify_with_set(trust)?;
        if entry.key != StateKey::Treasury {
            return Err(SnapshotError::AnchorKey);
        }
        let header = bundle.block.header.decode()?;
        let below = header.height.0 - 1;
        let mut history = Frontier::from_parts(below, anchor.history.clone()).ok_or(
            SnapshotError::HistoryPeaks {
                blocks: below,
                peaks: anchor.history.len(),
            },
        )?;
        if history.root() != header.history_root {
            return Err(SnapshotError::History {
                below: header.height,
                expected: header.history_root,
                got: history.root(),
            });
        }
        history.push(crate::history::leaf(&header.hash()));
        let mut changes = Vec::with_capacity(bundle.validator_set_changes.len());
        for change in &bundle.validator_set_changes {
            changes.push((
                change.header.decode()?,
                change.certificate.clone(),
                change.next_validators.clone(),
            ));
        }
        Ok(Anchored {
            header,
            cert: bundle.block.certificate,
            set,
            changes,
            history,
        })
    }

    /// H.
    pub fn height(&self) -> Height {
        self.header.height
    }

    /// The heights whose blocks the snapshot takes whole: each set change,
    /// then H.
    pub fn block_heights(&self) -> Vec<Height> {
        let mut out: Vec<Height> = self.changes.iter().map(|c| c.0.height).collect();
        out.push(self.header.height);
        out
    }

    /// Checks that `block` is the certified block of its height (H or a
    /// set change), body and all.
    pub fn check_block(&self, block: &Block) -> Result<(), SnapshotError> {
        let height = block.header.height;
        let certified = if height == self.header.height {
            &self.header
        } else {
            match self.changes.iter().find(|c| c.0.height == height) {
                Some(c) => &c.0,
                None => {
                    return Err(SnapshotError::Block {
                        height,
                        why: "not a height the snapshot takes".into(),
                    })
                }
            }
        };
        if block.header != *certified {
            return Err(SnapshotError::Block {
                height,
                why: format!(
                    "its hash is {}, the certified one {}",
                    block.hash(),
                    certified.hash()
                ),
            });
        }
        block.check_contents().map_err(|e| SnapshotError::Block {
            height,
            why: e.to_string(),
        })
    }

    /// Checks a chunk against the certified state root; returns the
    /// entries under its prefix.
    pub fn check_chunk(&self, chunk: &Chunk) -> Result<Vec<(StateKey, StateValue)>, SnapshotError> {
        chunk
            .verify(&self.header.state_root)
            .map_err(|error| SnapshotError::Chunk {
                depth: chunk.depth,
                prefix: chunk.prefix,
                error,
            })
    }

    /// The state of H from every entry the chunks gave, with the blocks
    /// [`Anchored::block_heights`] names (each already checked).
    pub fn finish(
        self,
        chain_id: &str,
        entries: Vec<(StateKey, StateValue)>,
        mut blocks: BTreeMap<Height, Block>,
    ) -> Result<VerifiedSnapshot, SnapshotError> {
        let h = self.header.height;
        let state = State::from_entries(chain_id, h, self.header.state_root, entries)
            .map_err(SnapshotError::State)?;
        let mut take = |height: Height| {
            blocks.remove(&height).ok_or(SnapshotError::Block {
                height,
                why: "missing".into(),
            })
        };
        let mut changes = Vec::with_capacity(self.changes.len());
        for (header, cert, next) in self.changes {
            changes.push((take(header.height)?, cert, next));
        }
        Ok(VerifiedSnapshot {
            state,
            block: (take(h)?, self.cert),
            set: self.set,
            changes,
            history: self.history,
        })
    }
}
