//! Checkpoints from a node's store, and the cosignatures a node accepts
//! (feature `store`).

use super::{Checkpoint, CheckpointProof, Cosignature, CHECKPOINT_FORMAT, WITNESS_FORMAT_VERSION};
use crate::proof::{set_changes, BundleHeader};
use crate::state::{Entity, State};
use crate::store::{Store, StoreError};
use crate::tx::{EntityKind, Status};
use crate::types::{EntityId, Hash, Height};

/// Why a node refuses a cosignature. Nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureRefused {
    /// For another chain.
    #[error("the cosignature is for chain {found:?}, this node's is {chain:?}")]
    WrongChain {
        /// The cosignature's.
        found: String,
        /// This node's.
        chain: String,
    },
    /// No such entity.
    #[error("{0} is not a registered entity")]
    UnknownWitness(EntityId),
    /// Not of kind `observer`.
    #[error("{0} is not a witness: only entities of kind observer are")]
    NotAWitness(EntityId),
    /// Suspended.
    #[error("witness {0} is suspended")]
    Suspended(EntityId),
    /// Signed with another key than the witness's current one.
    #[error("the key is not the current key of witness {0}")]
    WrongKey(EntityId),
    /// The signature does not verify.
    #[error("the signature of witness {0} does not verify")]
    BadSignature(EntityId),
    /// For a height this node has not committed.
    #[error("height {height} is not committed here (this node is at {ours})")]
    NotReached {
        /// The cosignature's.
        height: Height,
        /// This node's.
        ours: Height,
    },
    /// For height 0, which has no history.
    #[error("height 0 has no history to cosign")]
    HeightZero,
    /// The root is not this node's history at that height.
    #[error("the history root {found} is not this chain's at height {height}")]
    OtherHistory {
        /// The height.
        height: Height,
        /// The cosignature's root.
        found: Hash,
    },
    /// Not newer than the witness's cosignature held here.
    #[error("witness {witness} has already cosigned height {held}")]
    NotNewer {
        /// The witness.
        witness: EntityId,
        /// The height of the cosignature held.
        held: Height,
    },
}

impl CheckpointProof {
    /// The checkpoint at height `h` with its proof, or `None` if block `h`
    /// is not committed (or `h` is 0).
    pub fn build(store: &Store, h: Height) -> Result<Option<CheckpointProof>, StoreError> {
        let Some(meta) = store.meta()? else {
            return Ok(None);
        };
        if h.0 == 0 || h > meta.height {
            return Ok(None);
        }
        let corrupt = |what: &str| StoreError::Corrupt {
            height: h,
            what: what.into(),
        };
        let block = store.block(h)?.ok_or_else(|| corrupt("block missing"))?;
        let certificate = store
            .cert(h)?
            .ok_or_else(|| corrupt("certificate missing"))?;
        let peaks = store.history_frontier(Height(h.0 - 1))?.peaks().to_vec();
        Ok(Some(CheckpointProof {
            format: CHECKPOINT_FORMAT.into(),
            version: WITNESS_FORMAT_VERSION,
            genesis_hash: meta.genesis_hash,
            checkpoint: Checkpoint {
                chain_id: meta.chain_id,
                height: h,
                block_hash: block.hash(),
                history_root: store.history_root(h)?,
            },
            header: BundleHeader::new(&block.header),
            certificate,
            history_peaks: peaks,
            validator_set_changes: set_changes(store, h)?,
        }))
    }
}

/// What a node's committed state says about a cosignature's witness: read
/// under the state's lock, so that checking a cosignature and writing it
/// need not hold that lock (commits wait for it).
#[derive(Clone, Debug)]
pub struct WitnessView {
    chain_id: String,
    height: Height,
    witness: Option<Entity>,
}

impl WitnessView {
    /// The chain id, the height and the entity `id` of `state`.
    pub fn of(state: &State, id: &EntityId) -> WitnessView {
        WitnessView {
            chain_id: state.chain_id().to_owned(),
            height: state.height(),
            witness: state.entity(id).cloned(),
        }
    }
}

impl Store {
    /// [`Store::admit_cosignature_with`] the view of `state`.
    pub fn admit_cosignature(
        &self,
        c: &Cosignature,
        state: &State,
    ) -> Result<Result<(), CosignatureRefused>, StoreError> {
        self.admit_cosignature_with(c, &WitnessView::of(state, &c.witness))
    }

    /// Checks `c` against `view` (the node's committed state: the witness
    /// must be an active observer holding the key that signed) and against
    /// this node's history, and keeps it as the witness's latest if it is
    /// newer than the one held. The cheap checks come first, the signature
    /// and the history's root last. Cosignatures are not part of
    /// consensus: each node keeps those posted to it.
    pub fn admit_cosignature_with(
        &self,
        c: &Cosignature,
        view: &WitnessView,
    ) -> Result<Result<(), CosignatureRefused>, StoreError> {
        Ok(match self.check_cosignature(c, view)? {
            Err(e) => Err(e),
            Ok(()) => {
                let _one_at_a_time = self.cosigning.lock().expect("cosigning lock");
                if let Some(held) = self.cosignature(&c.witness)? {
                    if held.height >= c.height {
                        return Ok(Err(CosignatureRefused::NotNewer {
                            witness: c.witness.clone(),
                            held: held.height,
                        }));
                    }
                }
                self.put_cosignature(c)?;
                Ok(())
            }
        })
    }

    fn check_cosignature(
        &self,
        c: &Cosignature,
        view: &WitnessView,
    ) -> Result<Result<(), CosignatureRefused>, StoreError> {
        let id = &c.witness;
        if c.chain_id != view.chain_id {
            return Ok(Err(CosignatureRefused::WrongChain {
                found: c.chain_id.clone(),
                chain: view.chain_id.clone(),
            }));
        }
        let Some(entity) = view.witness.as_ref().filter(|e| e.id == *id) else {
            return Ok(Err(CosignatureRefused::UnknownWitness(id.clone())));
        };
        if entity.kind != EntityKind::Observer {
            return Ok(Err(CosignatureRefused::NotAWitness(id.clone())));
        }
        if entity.status != Status::Active {
            return Ok(Err(CosignatureRefused::Suspended(id.clone())));
        }
        if !entity.holds(&c.key) {
            return Ok(Err(CosignatureRefused::WrongKey(id.clone())));
        }
        if c.height.0 == 0 {
            return Ok(Err(CosignatureRefused::HeightZero));
        }
        let ours = view.height;
        if c.height > ours {
            return Ok(Err(CosignatureRefused::NotReached {
                height: c.height,
                ours,
            }));
        }
        if !c.verify() {
            return Ok(Err(CosignatureRefused::BadSignature(id.clone())));
        }
        if self.history_root(c.height)? != c.history_root {
            return Ok(Err(CosignatureRefused::OtherHistory {
                height: c.height,
                found: c.history_root,
            }));
        }
        Ok(Ok(()))
    }
}
