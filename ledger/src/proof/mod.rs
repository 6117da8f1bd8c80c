//! Audit bundles: one committed transaction together with everything an
//! auditor needs to check, with no network and without trusting any node,
//! that it is in a block that this chain's validators certified.
//!
//! An [`AuditBundle`] is a versioned JSON document. It holds the signed
//! transaction (its canonical bytes and a readable view of them), its Merkle
//! path into the block's transactions root, the block header (bytes and
//! view), the block's commit certificate, and every validator-set change from
//! genesis to that block. [`AuditBundle::verify`] starts from set(1), which
//! it takes from the genesis file (a [`TrustAnchor`]), follows the changes
//! one certified header at a time up to set(H), and checks the block's
//! certificate against set(H) and the transaction's path against the
//! certified header.
//!
//! What a valid bundle proves: validators holding more than 2/3 of the power
//! of set(H), itself reached from genesis through certified changes, signed
//! a block at height H whose transactions include exactly these bytes, at
//! this position; and, for a block after the first, which keys the signer
//! held when block H began (its entity after block H−1, proved against the
//! state root of the header that block H names as its previous one). What
//! it does not prove: that the transaction was valid under the ledger's
//! rules (the validators checked that when they executed it), or that no
//! fork exists: a bundle cannot show that no set change was left out after
//! the last one it lists, so validators removed since, if they held more
//! than 2/3 of an earlier set, could sign a block for a height they no
//! longer decide. Comparing the block hash with an honest node rules it out.
//!
//! Witnesses narrow that last gap without trusting the validators. A bundle
//! may carry checkpoints at or above its block that witnesses (entities of
//! kind `observer`) cosigned, each with the block's path into that history
//! ([`WitnessedCheckpoint`]). Validators could sign another history; a
//! witness who cosigned a checkpoint at or after the block was shown a
//! history with this block in it. The verifier counts the witnesses its
//! anchor trusts, by id and key ([`VerifiedTx::witnesses`]); it cannot know
//! witnesses registered after genesis, and a witness may collude.
//!
//! This module builds bundles from a `Store` (feature `store`) and verifies
//! them; it does not fetch or write files.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::block::{CommitCertificate, Header};
use crate::codec;
use crate::merkle::InclusionProof;
use crate::state::State;
use crate::tx::SignedTx;
use crate::types::{EntityId, Hash, Height, PublicKey};
use crate::validators::ValidatorSet;
use crate::witness::cosignature::Cosignature;

#[cfg(feature = "store")]
mod build;
mod error;
mod json;
mod sets;
mod state;
mod verify;
mod views;
mod witnessed;

pub use error::ProofError;
pub(crate) use json::{decode_strict, Strict};
#[cfg(feature = "store")]
pub(crate) use sets::set_changes;
pub(crate) use sets::{check_certified, signed_power, trace_sets};
pub use state::{
    entry_view, key_view, value_view, BundleEntry, StateBlock, StateBundle, VerifiedEntry,
};

/// The value of a bundle's `format` field.
pub const BUNDLE_FORMAT: &str = "minhbach-audit-bundle";
/// The bundle format version this code writes and reads.
pub const BUNDLE_VERSION: u32 = 1;
/// The value of a state proof's `format` field.
pub const STATE_BUNDLE_FORMAT: &str = "minhbach-state-proof";
/// The state proof format version this code writes and reads.
pub const STATE_BUNDLE_VERSION: u32 = 1;
/// Largest bundle [`AuditBundle::decode`] reads, in bytes of JSON.
pub const BUNDLE_BYTES_MAX: usize = 16 * 1024 * 1024;

// A bundle holds at least one transaction, which must fit.
const _: () = assert!(codec::TX_BYTES_MAX * 2 < BUNDLE_BYTES_MAX);

/// What a verifier trusts: the chain id, the genesis hash and set(1), all
/// taken from the genesis file (see `genesis::Genesis::trust_anchor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchor {
    chain_id: String,
    genesis_hash: Hash,
    validators: ValidatorSet,
    witnesses: Vec<(EntityId, PublicKey)>,
}

impl TrustAnchor {
    /// An anchor from the genesis facts: chain id, genesis hash and set(1).
    pub fn new(chain_id: impl Into<String>, genesis_hash: Hash, validators: ValidatorSet) -> Self {
        TrustAnchor {
            chain_id: chain_id.into(),
            genesis_hash,
            validators,
            witnesses: Vec::new(),
        }
    }

    /// The anchor that also trusts these witnesses (id and key): the
    /// observers of the genesis file, whose cosignatures an offline
    /// verifier counts.
    pub fn with_witnesses(mut self, witnesses: Vec<(EntityId, PublicKey)>) -> TrustAnchor {
        self.witnesses = witnesses;
        self
    }

    /// The witnesses trusted, by id, with their keys.
    pub fn witnesses(&self) -> &[(EntityId, PublicKey)] {
        &self.witnesses
    }

    /// The anchor of a genesis state (height 0) whose genesis hashes to
    /// `genesis_hash`.
    pub fn from_genesis_state(state: &State, genesis_hash: Hash) -> TrustAnchor {
        assert_eq!(state.height(), Height(0), "a genesis state is at height 0");
        let witnesses = state
            .entities()
            .filter(|e| {
                e.kind == crate::tx::EntityKind::Observer && e.status == crate::tx::Status::Active
            })
            .flat_map(|e| e.keys.iter().map(|k| (e.id.clone(), *k)))
            .collect();
        TrustAnchor::new(state.chain_id(), genesis_hash, state.validators().clone())
            .with_witnesses(witnesses)
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The genesis hash.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }

    /// set(1).
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }
}

/// An audit bundle (format version [`BUNDLE_VERSION`]).
///
/// Hashes, keys and signatures are hex; amounts are strings. The readable
/// views (`tx.view`, `header.view`) are only there for people: verification
/// refuses a bundle whose views differ from the bytes in any field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditBundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Always [`BUNDLE_VERSION`].
    pub version: u32,
    /// The chain id.
    pub chain_id: String,
    /// Hash of the genesis the chain started from.
    pub genesis_hash: Hash,
    /// The transaction.
    pub tx: BundleTx,
    /// The block that holds it.
    pub block: BundleBlock,
    /// Each height k below the block's where set(k+1) differs from set(k),
    /// in increasing order.
    pub validator_set_changes: Vec<SetChange>,
    /// The checkpoints at or above the block that witnesses cosigned, in
    /// increasing height, each with the block's path into that history.
    /// Left out when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<WitnessedCheckpoint>,
    /// The signer's entity (its keys and threshold) after block H−1,
    /// proved against that block's state root. Left out for a transaction
    /// of block 1, and in bundles from before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<SignerState>,
}

/// The signer's entity after the block before the transaction's: its entry
/// in the state map and block H−1's header, which block H's header names by
/// hash, so block H's certificate covers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerState {
    /// The entity's entry, with its path to header H−1's state root.
    pub entry: BundleEntry,
    /// Block H−1's header.
    pub header: BundleHeader,
}

/// The keys the signer held when its transaction's block began, as a
/// bundle proves them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerKeys {
    /// H−1: the keys are the state's after this block.
    pub after: Height,
    /// The entity's keys then.
    pub keys: Vec<PublicKey>,
    /// How many of them must sign.
    pub threshold: u8,
    /// How many of the transaction's signatures are by one of them.
    pub signed_by_held: usize,
}

/// A history that witnesses cosigned and that holds the bundle's block:
/// the checkpoint at height N ≥ H, block H's path into it, and the
/// cosignatures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessedCheckpoint {
    /// N: the history holds blocks 1..=N.
    pub height: Height,
    /// The RFC 6962 root of the history tree over blocks 1..=N.
    pub history_root: Hash,
    /// The path of block H (leaf H−1, hashed as `history::leaf` of the
    /// block hash) to `history_root`, for a tree of N leaves.
    pub inclusion: InclusionProof,
    /// The cosignatures of (chain id, N, `history_root`), by witness.
    pub cosignatures: Vec<Cosignature>,
}

/// The transaction in a bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleTx {
    /// SHA-256 of `bytes`.
    pub hash: Hash,
    /// The canonical encoding of the signed transaction (hex). This is what
    /// the Merkle path and the hash are computed over.
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
    /// The same transaction for people: `{chain_id, signer, nonce, op,
    /// signature}`, as [`tx_view`] renders it.
    pub view: Value,
}

/// A header in a bundle: its canonical bytes, which hash to the block hash,
/// and the same header for people.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleHeader {
    /// The canonical encoding (hex).
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
    /// The decoded header.
    pub view: Header,
}

/// The block of the transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleBlock {
    /// The header.
    pub header: BundleHeader,
    /// The transaction's position in the block.
    pub index: u32,
    /// Its Merkle path to the header's `txs_root`, for a tree of `tx_count`.
    pub inclusion: InclusionProof,
    /// The block's commit certificate, checked against set(H).
    pub certificate: CommitCertificate,
}

/// A validator-set change: block k, certified by set(k), whose header names
/// set(k+1), and set(k+1) in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetChange {
    /// The header of block k.
    pub header: BundleHeader,
    /// Block k's certificate.
    pub certificate: CommitCertificate,
    /// set(k+1); hashes to the header's `next_validators_hash`.
    pub next_validators: ValidatorSet,
}

/// What a valid bundle established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx {
    /// The transaction hash.
    pub hash: Hash,
    /// The transaction, decoded from its signed bytes.
    pub tx: SignedTx,
    /// The block's height.
    pub height: Height,
    /// The position in the block.
    pub index: u32,
    /// How many transactions the block holds.
    pub tx_count: u32,
    /// The block hash.
    pub block_hash: Hash,
    /// The block time, ms since the epoch.
    pub time_ms: u64,
    /// The voting power that signed the block's certificate.
    pub signed_power: u64,
    /// The total power of set(H).
    pub total_power: u64,
    /// How many validator-set changes were followed from genesis.
    pub set_changes: usize,
    /// The witnesses of the trust anchor (matched by id and key) who
    /// cosigned a checkpoint holding the block, each once, by id.
    pub witnesses: Vec<EntityId>,
    /// Who else validly cosigned a checkpoint holding the block, with a
    /// key the anchor does not trust as theirs: not counted. By id.
    pub uncounted_witnesses: Vec<EntityId>,
    /// The signer's keys when the block began, if the bundle proves them.
    pub signer_keys: Option<SignerKeys>,
}

/// The readable view of a signed transaction, as it appears in a bundle.
pub fn tx_view(tx: &SignedTx) -> Value {
    serde_json::json!({
        "chain_id": tx.body.chain_id,
        "signer": tx.body.signer,
        "nonce": tx.body.nonce,
        "op": tx.body.op,
        "signatures": tx.signatures,
    })
}

impl BundleHeader {
    /// The bytes and view of `header`.
    pub fn new(header: &Header) -> BundleHeader {
        BundleHeader {
            bytes: codec::encode(header),
            view: header.clone(),
        }
    }
}

/// Serde for byte strings as lower-case hex.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text).map_err(|e| serde::de::Error::custom(format!("not hex: {e}")))
    }
}
