//! Checkpoints, witnesses' cosignatures and fork proofs: what lets parties
//! outside the validators detect, and prove, a rewrite of history.
//!
//! A [`Checkpoint`] at height H names the chain, H, block H's hash and the
//! root of the history tree over blocks 1..=H (see [`crate::history`]).
//! Block H's commit certificate proves it: block H's header carries the
//! root over blocks 1..H−1, and the tree's right edge at H−1 (its peaks)
//! extends that root by block H's hash to the checkpoint's. A
//! [`CheckpointProof`] carries all of it, with every validator-set change
//! from genesis, so that a witness checks it from the genesis file alone.
//!
//! A witness (an entity of kind `observer`) cosigns a checkpoint only if it
//! is certified and extends, by a consistency proof, the last one it
//! cosigned. Its [`Cosignature`] signs the chain id, the height and the
//! history root, under the domain tag [`COSIGNATURE_DOMAIN_TAG`], as C2SP's
//! tlog-cosignature does for transparency logs. Two certified checkpoints
//! of one height with different blocks are a [`ForkProof`]: whoever signed
//! both sides signed two histories. Earlier pairs of the same two histories
//! ([`ForkPair`]), each linked by consistency proofs to the next checkpoint
//! of its side, let it name every validator who certified any block of one
//! side and any of the other.
//!
//! Everything here is pure: building from a store is `CheckpointProof::build`
//! (feature `store`), fetching and posting is the CLI's.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::block::{CommitCertificate, Header};
use crate::crypto::SigningKey;
use crate::merkle::ConsistencyProof;
use crate::proof::{BundleHeader, ProofError, SetChange, Strict};
use crate::types::{EntityId, Hash, Height};

#[cfg(feature = "store")]
mod build;
pub mod cosignature;
mod verify;

pub use cosignature::{signing_bytes, Cosignature, COSIGNATURE_DOMAIN_TAG};

#[cfg(feature = "store")]
pub use build::{CosignatureRefused, WitnessView};
pub use verify::{extends, VerifiedCheckpoint, VerifiedFork};

/// The value of a checkpoint proof's `format` field.
pub const CHECKPOINT_FORMAT: &str = "minhbach-checkpoint";
/// The value of a fork proof's `format` field.
pub const FORK_PROOF_FORMAT: &str = "minhbach-fork-proof";
/// The version of both formats this code writes and reads.
pub const WITNESS_FORMAT_VERSION: u32 = 1;
/// Largest checkpoint proof read, in bytes of JSON.
pub const CHECKPOINT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most pairs of checkpoints in a fork proof, its main pair included.
pub const FORK_PAIRS_MAX: usize = 8;
/// Largest fork proof read: a main pair of the largest checkpoint proofs,
/// or up to [`FORK_PAIRS_MAX`] pairs of smaller ones. A witness leaves out
/// the lowest earlier pairs of a proof that would be larger.
pub const FORK_PROOF_BYTES_MAX: usize = 4 * CHECKPOINT_BYTES_MAX;
/// Largest cosignature read, in bytes of JSON.
pub const COSIGNATURE_BYTES_MAX: usize = 4096;

/// The history of a chain up to a height, as a witness cosigns it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    /// The chain id.
    pub chain_id: String,
    /// H; the history holds blocks 1..=H.
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub height: Height,
    /// The hash of block H, the history's last leaf.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub block_hash: Hash,
    /// The RFC 6962 root of the history tree over blocks 1..=H.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub history_root: Hash,
}

/// A checkpoint with what proves it from the genesis file: block H's
/// header and certificate, the history tree's peaks over blocks 1..H−1,
/// and every validator-set change from genesis to H.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointProof {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// Always [`WITNESS_FORMAT_VERSION`].
    pub version: u32,
    /// Hash of the genesis the chain started from.
    pub genesis_hash: Hash,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Block H's header.
    pub header: BundleHeader,
    /// Block H's commit certificate, checked against set(H).
    pub certificate: CommitCertificate,
    /// The roots of the perfect subtrees of the history over blocks
    /// 1..H−1, the largest first, whose root is the header's
    /// `history_root`.
    pub history_peaks: Vec<Hash>,
    /// Each height k below H where set(k+1) differs from set(k).
    pub validator_set_changes: Vec<SetChange>,
}

/// Two certified histories of one chain that part: proof that the
/// validators who certified a block of each signed two histories.
///
/// The main pair is two certified checkpoints of one height H with
/// different blocks: the one the witness had cosigned and the other
/// history's. On its own it names the validators whose precommits are in
/// both certificates; each certificate holds only the precommits of just
/// over 2/3 of the power, so that may be fewer than all who signed both
/// histories.
///
/// `earlier` adds pairs of the same two histories at lower heights, each
/// two certified checkpoints of one height h with different blocks. Each
/// checkpoint comes with the consistency proof that links it to the next
/// checkpoint of its own side (the next pair's, or the main pair's for the
/// last), so the checkpoints of a side are one history: the history of a
/// side at a later height holds that side's block at every earlier pair's
/// height, and that block is not the other side's block there. A validator
/// whose precommit is in the certificate of any checkpoint of one side and
/// of any checkpoint of the other therefore signed two conflicting
/// histories: at the lower of the two heights, one block directly, and
/// another as part of the history the higher block's header commits to
/// (or two blocks, when the heights are one). [`ForkProof::verify`] names
/// them all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkProof {
    /// Always [`FORK_PROOF_FORMAT`].
    pub format: String,
    /// Always [`WITNESS_FORMAT_VERSION`].
    pub version: u32,
    /// The checkpoint the witness had cosigned.
    pub cosigned: CheckpointProof,
    /// The checkpoint of the same height, of another history.
    pub other: CheckpointProof,
    /// Pairs of the same two histories below the main pair's height, in
    /// increasing height; at most [`FORK_PAIRS_MAX`] − 1. Left out when
    /// there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<ForkPair>,
}

/// Two certified checkpoints of one height with different blocks, below a
/// fork proof's main pair, each linked to the next checkpoint of its side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkPair {
    /// The checkpoint of the history the witness cosigned.
    pub cosigned: CheckpointProof,
    /// The consistency proof from `cosigned` to the next checkpoint of the
    /// cosigned side.
    pub cosigned_link: ConsistencyProof,
    /// The checkpoint of the same height, of the other history.
    pub other: CheckpointProof,
    /// The consistency proof from `other` to the next checkpoint of the
    /// other side.
    pub other_link: ConsistencyProof,
}

/// One of the two histories of a fork proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The history the witness cosigned.
    Cosigned,
    /// The other history.
    Other,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Cosigned => "cosigned",
            Side::Other => "other",
        })
    }
}

/// Why a checkpoint, cosignature or fork proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// Over the size allowed.
    #[error("the document is {bytes} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON of the expected shape.
    #[error("not a {what}: {reason}")]
    Malformed {
        /// What was expected.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A header or certificate in it does not check out.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The checkpoint names another chain or genesis than the genesis
    /// file's.
    #[error("it is for chain {found:?}, not {chain:?} of the genesis file")]
    WrongChain {
        /// The document's.
        found: String,
        /// The genesis file's.
        chain: String,
    },
    /// Height 0 has no block, so no history to cosign.
    #[error("a checkpoint at height 0 names no block")]
    HeightZero,
    /// The checkpoint's fields are not the certified header's.
    #[error("the checkpoint's {field} is not the certified block's")]
    CheckpointMismatch {
        /// Which field.
        field: &'static str,
    },
    /// The peaks given do not give the header's history root.
    #[error("the history peaks do not give block {height}'s history root")]
    Peaks {
        /// H.
        height: Height,
    },
    /// A cosignature's signature does not verify.
    #[error("the cosignature of {witness} does not verify")]
    BadSignature {
        /// The witness named.
        witness: EntityId,
    },
    /// The two sides of a fork proof are not of one height.
    #[error("the two checkpoints are at heights {cosigned} and {other}, not one")]
    NotOneHeight {
        /// The cosigned side's.
        cosigned: Height,
        /// The other's.
        other: Height,
    },
    /// The two sides of a fork proof are the same block.
    #[error("both checkpoints are block {0}: no fork")]
    NoFork(Hash),
    /// A fork proof with more pairs than a verifier reads.
    #[error("the fork proof has {count} pairs of checkpoints, more than the {max} allowed")]
    TooManyPairs {
        /// Its pairs, the main one included.
        count: usize,
        /// [`FORK_PAIRS_MAX`].
        max: usize,
    },
    /// An earlier pair is not below the pair after it: earlier pairs go in
    /// increasing height, all below the main pair's.
    #[error(
        "the earlier pair at height {height} is not below the next pair, at height {next}: \
         earlier pairs go in increasing height, below the main pair's"
    )]
    PairNotBelow {
        /// The pair's height.
        height: Height,
        /// The height of the pair after it (the main pair's for the last).
        next: Height,
    },
    /// An earlier pair's consistency proof does not link its checkpoint to
    /// the next one of the same side.
    #[error(
        "on the {side} side, the consistency proof of the checkpoint at height {height} does \
         not link it to the side's checkpoint at height {next}"
    )]
    Unlinked {
        /// Which history.
        side: Side,
        /// The earlier checkpoint's height.
        height: Height,
        /// The next checkpoint's height on that side.
        next: Height,
    },
}

impl WitnessError {
    fn strict(what: &'static str, max: usize, e: Strict) -> WitnessError {
        let malformed = |reason| WitnessError::Malformed { what, reason };
        match e {
            Strict::TooLarge { bytes } => WitnessError::TooLarge { bytes, max },
            Strict::Malformed(reason) => malformed(reason),
            Strict::WrongFormat(found) => malformed(format!("its format is {found}")),
            Strict::UnsupportedVersion(found) => {
                malformed(format!("version {found} is not one this verifier reads"))
            }
            Strict::UnknownField(path) => malformed(format!("it has a field {path} not checked")),
        }
    }
}

impl Cosignature {
    /// `witness`, holding `key`, cosigns `checkpoint` at `time_ms`.
    pub fn sign(
        key: &SigningKey,
        witness: EntityId,
        checkpoint: &Checkpoint,
        time_ms: u64,
    ) -> Cosignature {
        Cosignature {
            witness,
            key: key.public_key(),
            chain_id: checkpoint.chain_id.clone(),
            height: checkpoint.height,
            history_root: checkpoint.history_root,
            time_ms,
            signature: key.sign(&signing_bytes(
                &checkpoint.chain_id,
                checkpoint.height,
                &checkpoint.history_root,
                time_ms,
            )),
        }
    }

    /// Reads a cosignature from JSON (at most [`COSIGNATURE_BYTES_MAX`]
    /// bytes, no unknown fields).
    pub fn decode(bytes: &[u8]) -> Result<Cosignature, WitnessError> {
        crate::proof::decode_strict(bytes, COSIGNATURE_BYTES_MAX, None)
            .map_err(|e| WitnessError::strict("cosignature", COSIGNATURE_BYTES_MAX, e))
    }
}

impl CheckpointProof {
    /// Reads a checkpoint proof from JSON.
    pub fn decode(bytes: &[u8]) -> Result<CheckpointProof, WitnessError> {
        crate::proof::decode_strict(
            bytes,
            CHECKPOINT_BYTES_MAX,
            Some((CHECKPOINT_FORMAT, WITNESS_FORMAT_VERSION)),
        )
        .map_err(|e| WitnessError::strict("checkpoint", CHECKPOINT_BYTES_MAX, e))
    }

    /// Block H's header, from its bytes, after checking that its view says
    /// the same.
    pub fn header(&self) -> Result<Header, WitnessError> {
        Ok(self.header.decode()?)
    }
}

impl ForkProof {
    /// A fork proof from the checkpoint a witness cosigned and another of
    /// the same height.
    pub fn new(cosigned: CheckpointProof, other: CheckpointProof) -> ForkProof {
        ForkProof {
            format: FORK_PROOF_FORMAT.into(),
            version: WITNESS_FORMAT_VERSION,
            cosigned,
            other,
            earlier: Vec::new(),
        }
    }

    /// The same proof with `earlier` as its earlier pairs (in increasing
    /// height).
    pub fn with_earlier(mut self, earlier: Vec<ForkPair>) -> ForkProof {
        self.earlier = earlier;
        self
    }

    /// The proof as pretty JSON, the file format.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a fork proof serialises")
    }

    /// Reads a fork proof from JSON.
    pub fn decode(bytes: &[u8]) -> Result<ForkProof, WitnessError> {
        crate::proof::decode_strict(
            bytes,
            FORK_PROOF_BYTES_MAX,
            Some((FORK_PROOF_FORMAT, WITNESS_FORMAT_VERSION)),
        )
        .map_err(|e| WitnessError::strict("fork proof", FORK_PROOF_BYTES_MAX, e))
    }
}
