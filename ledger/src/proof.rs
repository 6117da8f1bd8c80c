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
//! this position. What it does not prove: which key the signer held at that
//! height (that needs the state, which the bundle does not carry; the
//! validators checked the signature when they executed the block), that the
//! transaction was valid under the ledger's rules (the same), or that no
//! fork exists: a bundle cannot show that no set change was left out after
//! the last one it lists, so validators removed since, if they held more
//! than 2/3 of an earlier set, could sign a block for a height they no
//! longer decide. Comparing the block hash with an honest node rules it out.
//!
//! This module builds bundles from a `Store` (feature `store`) and verifies
//! them; it does not fetch or write files.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::block::{CertError, CommitCertificate, Header};
use crate::codec::{self, RECORD_BYTES_MAX};
use crate::error::TxError;
use crate::merkle::{self, InclusionProof};
use crate::state::State;
#[cfg(feature = "store")]
use crate::store::{Store, StoreError};
use crate::tx::SignedTx;
use crate::types::{Amount, Hash, Height};
use crate::validators::ValidatorSet;

/// The value of a bundle's `format` field.
pub const BUNDLE_FORMAT: &str = "minhbach-audit-bundle";
/// The bundle format version this code writes and reads.
pub const BUNDLE_VERSION: u32 = 1;
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
}

impl TrustAnchor {
    /// An anchor from the genesis facts: chain id, genesis hash and set(1).
    pub fn new(chain_id: impl Into<String>, genesis_hash: Hash, validators: ValidatorSet) -> Self {
        TrustAnchor {
            chain_id: chain_id.into(),
            genesis_hash,
            validators,
        }
    }

    /// The anchor of a genesis state (height 0) whose genesis hashes to
    /// `genesis_hash`.
    pub fn from_genesis_state(state: &State, genesis_hash: Hash) -> TrustAnchor {
        assert_eq!(state.height(), Height(0), "a genesis state is at height 0");
        TrustAnchor::new(state.chain_id(), genesis_hash, state.validators().clone())
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
}

/// Why a bundle does not prove its transaction, in an auditor's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// Larger than [`BUNDLE_BYTES_MAX`].
    #[error("the bundle is {bytes} bytes, more than the {BUNDLE_BYTES_MAX} allowed")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// Not JSON of the bundle's shape.
    #[error("not an audit bundle: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The `format` field is missing or different.
    #[error("not an audit bundle: format is {found}, expected \"{BUNDLE_FORMAT}\"")]
    WrongFormat {
        /// The value found (JSON).
        found: String,
    },
    /// A version this code does not read.
    #[error("bundle format version {found} is not supported; this program reads version {BUNDLE_VERSION}")]
    UnsupportedVersion {
        /// The value found (JSON).
        found: String,
    },
    /// A field this format does not have.
    #[error("the bundle has an unknown field {path}")]
    UnknownField {
        /// Where, e.g. `block.header.view.extra`.
        path: String,
    },
    /// The bundle is for another chain than the genesis file's.
    #[error("the bundle is for chain {bundle:?}, but the genesis file is for chain {genesis:?}")]
    WrongChain {
        /// The bundle's chain id.
        bundle: String,
        /// The genesis file's.
        genesis: String,
    },
    /// The bundle names another genesis than the file given.
    #[error("the bundle was made for genesis {bundle}, but the genesis file given hashes to {genesis}: is it the right genesis file?")]
    WrongGenesis {
        /// The genesis hash in the bundle.
        bundle: Hash,
        /// The genesis file's hash.
        genesis: Hash,
    },
    /// The transaction bytes do not decode.
    #[error("the transaction's signed bytes cannot be read: {reason}")]
    TxUnreadable {
        /// Why.
        reason: TxError,
    },
    /// The readable view says something the signed bytes do not.
    #[error("the transaction's {field} {shown} does not match its signed bytes ({signed})")]
    TxViewMismatch {
        /// The field, in words (`amount`, `vendor`, `operation`).
        field: String,
        /// What the view shows.
        shown: String,
        /// What the signed bytes hold.
        signed: String,
    },
    /// The readable view has a field the signed bytes do not.
    #[error(
        "the transaction's view shows a field {field} ({shown}) that its signed bytes do not have"
    )]
    TxViewExtra {
        /// The field's name.
        field: String,
        /// What the view shows.
        shown: String,
    },
    /// The stated hash is not the hash of the bytes.
    #[error("the transaction hash {stated} is not the hash of its signed bytes ({actual})")]
    TxHash {
        /// The hash the bundle states.
        stated: Hash,
        /// SHA-256 of the bytes.
        actual: Hash,
    },
    /// The transaction is signed for another chain.
    #[error("the transaction is signed for chain {tx_chain:?}, not {chain:?}")]
    TxWrongChain {
        /// The transaction's chain id.
        tx_chain: String,
        /// The genesis chain id.
        chain: String,
    },
    /// Header bytes that do not decode.
    #[error("a block header's bytes cannot be read: {reason}")]
    HeaderUnreadable {
        /// Why.
        reason: TxError,
    },
    /// A header's readable view differs from its bytes.
    #[error("block {height}: header field {field} was changed: the block hash no longer matches its certificate")]
    HeaderChanged {
        /// The height in the header's bytes.
        height: Height,
        /// The field that differs.
        field: String,
    },
    /// A header's bytes (and view) were changed together.
    #[error("block {height}: the header hashes to {header_hash}, but its certificate is for block {certified}: the header was changed")]
    BlockHashMismatch {
        /// The height.
        height: Height,
        /// Hash of the header given.
        header_hash: Hash,
        /// The block the certificate commits.
        certified: Hash,
    },
    /// A header of another chain.
    #[error("block {height} is of chain {found:?}, not {chain:?}")]
    HeaderWrongChain {
        /// The height.
        height: Height,
        /// Its chain id.
        found: String,
        /// The genesis chain id.
        chain: String,
    },
    /// Block 1 does not follow the genesis.
    #[error("block 1 does not follow this genesis: its previous hash is {prev_hash}, the genesis hash is {genesis}")]
    NotAfterGenesis {
        /// Block 1's previous hash.
        prev_hash: Hash,
        /// The genesis hash.
        genesis: Hash,
    },
    /// Changes out of order, or not below the transaction's block.
    #[error("the validator-set change at block {height} is out of place: changes must be in increasing order, after block {after} and before block {target}")]
    ChangeOutOfOrder {
        /// The change's height.
        height: Height,
        /// The previous change's height (0 for none).
        after: Height,
        /// The transaction's block.
        target: Height,
    },
    /// A header names another set than the one reached from genesis.
    #[error("block {height} was decided by validator set {named}, but the set reached from genesis for that height is {trusted}: a validator-set change is missing or forged")]
    ValidatorsHash {
        /// The height.
        height: Height,
        /// The header's `validators_hash`.
        named: Hash,
        /// Hash of the set reached from genesis.
        trusted: Hash,
    },
    /// A change's set is not the one its header committed to.
    #[error("the validator set given for block {next} hashes to {given}, but block {height} committed to {committed}: the set change was forged")]
    NextSetMismatch {
        /// Block k.
        height: Height,
        /// k + 1.
        next: Height,
        /// Hash of the set in the bundle.
        given: Hash,
        /// Block k's `next_validators_hash`.
        committed: Hash,
    },
    /// A listed change where the set does not change.
    #[error(
        "block {height} is listed as a validator-set change, but its header keeps the same set"
    )]
    NotAChange {
        /// The height.
        height: Height,
    },
    /// A certificate that does not hold under the set of its height.
    #[error("certificate of block {height}: {}", cert_words(.reason))]
    Certificate {
        /// The height.
        height: Height,
        /// What failed.
        reason: CertError,
    },
    /// The index and the Merkle path's leaf index differ.
    #[error("the transaction is said to be at index {index}, but its Merkle path is for index {leaf_index}")]
    LeafIndex {
        /// The bundle's index.
        index: u32,
        /// The path's.
        leaf_index: u64,
    },
    /// The path is for a tree of another size than the block's.
    #[error("the Merkle path is for a block of {tree_size} transactions, but block {height} has {tx_count}")]
    TreeSize {
        /// The height.
        height: Height,
        /// The path's tree size.
        tree_size: u64,
        /// The header's `tx_count`.
        tx_count: u32,
    },
    /// The path does not fold to the header's root.
    #[error("Merkle path does not lead to the transactions root of block {height}")]
    MerklePath {
        /// The height.
        height: Height,
    },
}

/// A certificate failure in an auditor's words.
fn cert_words(e: &CertError) -> String {
    match e {
        CertError::InsufficientPower { power, total } => {
            format!("only {power} of {total} voting power signed; more than 2/3 is needed")
        }
        CertError::UnknownSigner { validator } => {
            format!("signer {validator} is not a validator of that height")
        }
        CertError::BadSignature { validator } => {
            format!("the signature of {validator} does not verify")
        }
        CertError::DuplicateSigner { validator } => format!("{validator} signed twice"),
        CertError::NilVote { index } => format!("vote {index} is for no block (nil)"),
        CertError::ForeignVote { index } => {
            format!("vote {index} is not a precommit for this block's height, round and hash")
        }
        CertError::WrongTarget {
            what,
            expected,
            got,
        } => format!("it is for {what} {got}, not {expected}"),
    }
}

/// The readable view of a signed transaction, as it appears in a bundle.
pub fn tx_view(tx: &SignedTx) -> Value {
    serde_json::json!({
        "chain_id": tx.body.chain_id,
        "signer": tx.body.signer,
        "nonce": tx.body.nonce,
        "op": tx.body.op,
        "signature": tx.signature,
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

    /// The header from its bytes, after checking that the view says the same.
    fn decode(&self) -> Result<Header, ProofError> {
        let header: Header = codec::decode::<Header, RECORD_BYTES_MAX>(&self.bytes)
            .map_err(|reason| ProofError::HeaderUnreadable { reason })?;
        if header != self.view {
            let (shown, signed) = (to_value(&self.view), to_value(&header));
            let mut path = Vec::new();
            first_difference(&shown, &signed, &mut path);
            return Err(ProofError::HeaderChanged {
                height: header.height,
                field: path.join("."),
            });
        }
        Ok(header)
    }
}

impl AuditBundle {
    /// The bundle of the committed transaction `tx_hash`, or `None` if the
    /// store has no such committed transaction.
    ///
    /// Cost: the validator-set changes (a change at k is a header whose
    /// `validators_hash` differs from its `next_validators_hash`) come from
    /// the store's index of them, so building reads one block per change
    /// plus the transaction's own block.
    #[cfg(feature = "store")]
    pub fn build(
        store: &Store,
        genesis_hash: Hash,
        tx_hash: &Hash,
    ) -> Result<Option<AuditBundle>, StoreError> {
        let corrupt = |height: Height, what: String| StoreError::Corrupt { height, what };
        let Some(meta) = store.meta()? else {
            return Ok(None);
        };
        if meta.genesis_hash != genesis_hash {
            return Err(StoreError::OtherChain {
                expected: meta.chain_id.clone(),
                expected_genesis: genesis_hash,
                found: meta.chain_id,
                found_genesis: meta.genesis_hash,
            });
        }
        let Some(loc) = store.tx_location(tx_hash)? else {
            return Ok(None);
        };
        let h = loc.height;
        let block = store
            .block(h)?
            .ok_or_else(|| corrupt(h, format!("indexed block of {tx_hash} missing")))?;
        let certificate = store
            .cert(h)?
            .ok_or_else(|| corrupt(h, "certificate missing".into()))?;
        let index = loc.index as usize;
        let tx = block
            .txs
            .get(index)
            .ok_or_else(|| corrupt(h, format!("index of {tx_hash} points past the block")))?;
        if tx.hash() != *tx_hash {
            return Err(corrupt(h, format!("index of {tx_hash} points at another")));
        }
        let inclusion = InclusionProof::generate(&block.tx_leaf_hashes(), index)
            .expect("the index is inside the block");
        let mut changes = Vec::new();
        for k in store.set_change_heights(h)? {
            let b = store
                .block(k)?
                .ok_or_else(|| corrupt(k, "block missing".into()))?;
            let header = b.header;
            if header.validators_hash == header.next_validators_hash {
                return Err(corrupt(
                    k,
                    "indexed as a validator-set change, but is not one".into(),
                ));
            }
            let certificate = store
                .cert(k)?
                .ok_or_else(|| corrupt(k, "certificate missing".into()))?;
            let next_validators = store
                .validator_set(&header.next_validators_hash)?
                .ok_or_else(|| {
                    corrupt(
                        k,
                        format!("validator set {} missing", header.next_validators_hash),
                    )
                })?;
            changes.push(SetChange {
                header: BundleHeader::new(&header),
                certificate,
                next_validators,
            });
        }
        Ok(Some(AuditBundle {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            chain_id: meta.chain_id,
            genesis_hash,
            tx: BundleTx {
                hash: *tx_hash,
                bytes: tx.encode(),
                view: tx_view(tx),
            },
            block: BundleBlock {
                header: BundleHeader::new(&block.header),
                index: loc.index,
                inclusion,
                certificate,
            },
            validator_set_changes: changes,
        }))
    }

    /// The bundle as pretty JSON, the file format.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a bundle serialises")
    }

    /// Reads a bundle from JSON, refusing input over [`BUNDLE_BYTES_MAX`],
    /// anything after the document, other formats and versions, and fields
    /// the format does not have, at any depth.
    pub fn decode(bytes: &[u8]) -> Result<AuditBundle, ProofError> {
        if bytes.len() > BUNDLE_BYTES_MAX {
            return Err(ProofError::TooLarge { bytes: bytes.len() });
        }
        let malformed = |e: serde_json::Error| ProofError::Malformed {
            reason: e.to_string(),
        };
        let input: Value = serde_json::from_slice(bytes).map_err(malformed)?;
        // Format and version first, so that a later version is named as such
        // rather than as a list of unknown fields.
        let found = |key| input.get(key).map_or("missing".into(), Value::to_string);
        if input.get("format").and_then(Value::as_str) != Some(BUNDLE_FORMAT) {
            return Err(ProofError::WrongFormat {
                found: found("format"),
            });
        }
        if input.get("version").and_then(Value::as_u64) != Some(u64::from(BUNDLE_VERSION)) {
            return Err(ProofError::UnsupportedVersion {
                found: found("version"),
            });
        }
        let bundle = AuditBundle::deserialize(&input).map_err(malformed)?;
        // Nested ledger types ignore fields they do not know; a bundle must
        // not carry anything its verifier does not check.
        if let Some(path) = unknown_field(&input, &to_value(&bundle), String::new()) {
            return Err(ProofError::UnknownField { path });
        }
        Ok(bundle)
    }

    /// Checks the bundle against the genesis facts, with no network: see the
    /// module documentation for what a valid bundle proves.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<VerifiedTx, ProofError> {
        self.check_chain(anchor)?;
        let tx = self.check_tx()?;
        if tx.body.chain_id != anchor.chain_id {
            return Err(ProofError::TxWrongChain {
                tx_chain: tx.body.chain_id,
                chain: anchor.chain_id.clone(),
            });
        }
        let target = self.block.header.decode()?;
        let mut trusted = anchor.validators.clone();
        let mut last_change = Height(0);
        for change in &self.validator_set_changes {
            let header = change.header.decode()?;
            if header.height <= last_change || header.height >= target.height {
                return Err(ProofError::ChangeOutOfOrder {
                    height: header.height,
                    after: last_change,
                    target: target.height,
                });
            }
            check_certified(anchor, &header, &change.certificate, &trusted)?;
            let given = change.next_validators.hash();
            if given != header.next_validators_hash {
                return Err(ProofError::NextSetMismatch {
                    height: header.height,
                    next: header.height.next(),
                    given,
                    committed: header.next_validators_hash,
                });
            }
            if header.next_validators_hash == header.validators_hash {
                return Err(ProofError::NotAChange {
                    height: header.height,
                });
            }
            trusted = change.next_validators.clone();
            last_change = header.height;
        }
        check_certified(anchor, &target, &self.block.certificate, &trusted)?;
        self.check_inclusion(&target)?;
        let signed_power = self
            .block
            .certificate
            .precommits
            .iter()
            .map(|v| trusted.power_of(&v.validator))
            .sum();
        Ok(VerifiedTx {
            hash: self.tx.hash,
            tx,
            height: target.height,
            index: self.block.index,
            tx_count: target.tx_count,
            block_hash: target.hash(),
            time_ms: target.time_ms,
            signed_power,
            total_power: trusted.total_power(),
            set_changes: self.validator_set_changes.len(),
        })
    }

    fn check_chain(&self, anchor: &TrustAnchor) -> Result<(), ProofError> {
        if self.format != BUNDLE_FORMAT {
            return Err(ProofError::WrongFormat {
                found: format!("{:?}", self.format),
            });
        }
        if self.version != BUNDLE_VERSION {
            return Err(ProofError::UnsupportedVersion {
                found: self.version.to_string(),
            });
        }
        if self.chain_id != anchor.chain_id {
            return Err(ProofError::WrongChain {
                bundle: self.chain_id.clone(),
                genesis: anchor.chain_id.clone(),
            });
        }
        if self.genesis_hash != anchor.genesis_hash {
            return Err(ProofError::WrongGenesis {
                bundle: self.genesis_hash,
                genesis: anchor.genesis_hash,
            });
        }
        Ok(())
    }

    /// The transaction from its bytes, after checking that the view says
    /// the same and that the stated hash is theirs.
    fn check_tx(&self) -> Result<SignedTx, ProofError> {
        let tx = SignedTx::decode(&self.tx.bytes)
            .map_err(|reason| ProofError::TxUnreadable { reason })?;
        let signed = tx_view(&tx);
        if let Some(e) = view_mismatch(&self.tx.view, &signed) {
            return Err(e);
        }
        let actual = tx.hash();
        if actual != self.tx.hash {
            return Err(ProofError::TxHash {
                stated: self.tx.hash,
                actual,
            });
        }
        Ok(tx)
    }

    fn check_inclusion(&self, header: &Header) -> Result<(), ProofError> {
        let proof = &self.block.inclusion;
        if proof.leaf_index != u64::from(self.block.index) {
            return Err(ProofError::LeafIndex {
                index: self.block.index,
                leaf_index: proof.leaf_index,
            });
        }
        if proof.tree_size != u64::from(header.tx_count) {
            return Err(ProofError::TreeSize {
                height: header.height,
                tree_size: proof.tree_size,
                tx_count: header.tx_count,
            });
        }
        let leaf = merkle::leaf_hash(&self.tx.bytes);
        if !proof.verify_bound(&leaf, &header.txs_root, u64::from(header.tx_count)) {
            return Err(ProofError::MerklePath {
                height: header.height,
            });
        }
        Ok(())
    }
}

/// Checks that `header` is of this chain, names `set` as set(H), and that
/// `cert` commits it under `set`.
fn check_certified(
    anchor: &TrustAnchor,
    header: &Header,
    cert: &CommitCertificate,
    set: &ValidatorSet,
) -> Result<(), ProofError> {
    let height = header.height;
    if header.chain_id != anchor.chain_id {
        return Err(ProofError::HeaderWrongChain {
            height,
            found: header.chain_id.clone(),
            chain: anchor.chain_id.clone(),
        });
    }
    if height == Height(1) && header.prev_hash != anchor.genesis_hash {
        return Err(ProofError::NotAfterGenesis {
            prev_hash: header.prev_hash,
            genesis: anchor.genesis_hash,
        });
    }
    let trusted = set.hash();
    if header.validators_hash != trusted {
        return Err(ProofError::ValidatorsHash {
            height,
            named: header.validators_hash,
            trusted,
        });
    }
    let header_hash = header.hash();
    if cert.block_hash != header_hash {
        return Err(ProofError::BlockHashMismatch {
            height,
            header_hash,
            certified: cert.block_hash,
        });
    }
    cert.verify(&anchor.chain_id, height, &header_hash, set)
        .map_err(|reason| ProofError::Certificate { height, reason })
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("ledger types serialise to JSON")
}

/// The first place where `shown` and `signed` differ: fills `path` with the
/// keys leading there and returns the two values (`None` where absent).
fn first_difference<'a>(
    shown: &'a Value,
    signed: &'a Value,
    path: &mut Vec<String>,
) -> Option<(Option<&'a Value>, Option<&'a Value>)> {
    match (shown, signed) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, b_value) in b {
                path.push(key.clone());
                let Some(a_value) = a.get(key) else {
                    return Some((None, Some(b_value)));
                };
                if let Some(d) = first_difference(a_value, b_value, path) {
                    return Some(d);
                }
                path.pop();
            }
            let extra = a.iter().find(|(key, _)| !b.contains_key(*key))?;
            path.push(extra.0.clone());
            Some((Some(extra.1), None))
        }
        (a, b) if a == b => None,
        (a, b) => Some((Some(a), Some(b))),
    }
}

/// The error for a transaction view that differs from the signed bytes.
fn view_mismatch(shown: &Value, signed: &Value) -> Option<ProofError> {
    // The operation's type first: with another type, every field differs.
    let (shown_type, signed_type) = (&shown["op"]["type"], &signed["op"]["type"]);
    let (mut path, values) = if shown_type != signed_type {
        (
            vec!["op".to_owned(), "type".to_owned()],
            (Some(shown_type), Some(signed_type)),
        )
    } else {
        let mut path = Vec::new();
        let values = first_difference(shown, signed, &mut path)?;
        (path, values)
    };
    let key = path.pop().unwrap_or_default();
    let show = |v: Option<&Value>| -> String {
        let amount = |s: &str| {
            s.parse::<u64>()
                .ok()
                .filter(|_| key == "amount")
                .map(|n| Amount(n).to_string())
        };
        match v {
            None => "(absent)".into(),
            Some(Value::Null) => "(none)".into(),
            Some(Value::String(s)) => amount(s).unwrap_or_else(|| s.clone()),
            Some(Value::Number(n)) => amount(&n.to_string()).unwrap_or_else(|| n.to_string()),
            Some(other) => other.to_string(),
        }
    };
    if values.1.is_none() {
        return Some(ProofError::TxViewExtra {
            shown: show(values.0),
            field: key,
        });
    }
    Some(ProofError::TxViewMismatch {
        field: field_words(&key),
        shown: show(values.0),
        signed: show(values.1),
    })
}

/// A view field's name in words.
fn field_words(key: &str) -> String {
    match key {
        "type" => "operation".into(),
        "to" => "recipient".into(),
        "legal_ref" => "legal reference".into(),
        "" => "view".into(),
        other => other.replace('_', " "),
    }
}

/// The first key of `input` that `known` (the same document as parsed and
/// written back) does not have, as a dotted path.
fn unknown_field(input: &Value, known: &Value, at: String) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match (input, known) {
        (Value::Object(a), Value::Object(b)) => {
            a.iter().find_map(|(key, value)| match b.get(key) {
                None => Some(join(key)),
                Some(k) => unknown_field(value, k, join(key)),
            })
        }
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (value, k))| unknown_field(value, k, format!("{at}[{i}]"))),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_names_the_field_and_both_values() {
        let signed = json!({"signer": "MOH", "op": {"type": "pay", "amount": "3000000"}});
        let shown = json!({"signer": "MOH", "op": {"type": "pay", "amount": "5000000"}});
        assert_eq!(
            view_mismatch(&shown, &signed).unwrap().to_string(),
            "the transaction's amount 5,000,000 does not match its signed bytes (3,000,000)"
        );
        let shown = json!({"signer": "MOH", "op": {"type": "award", "amount": "5000000"}});
        assert_eq!(
            view_mismatch(&shown, &signed).unwrap().to_string(),
            "the transaction's operation award does not match its signed bytes (pay)"
        );
        let shown = json!({"signer": "MOH", "op": {"type": "pay", "amount": "3000000", "x": 1}});
        assert_eq!(
            view_mismatch(&shown, &signed).unwrap().to_string(),
            "the transaction's view shows a field x (1) that its signed bytes do not have"
        );
        assert!(view_mismatch(&signed, &signed).is_none());
    }

    #[test]
    fn unknown_fields_are_found_at_any_depth() {
        let known = json!({"a": {"b": [{"c": 1}]}});
        assert_eq!(unknown_field(&known, &known, String::new()), None);
        let input = json!({"a": {"b": [{"c": 1, "d": 2}]}});
        assert_eq!(
            unknown_field(&input, &known, String::new()).as_deref(),
            Some("a.b[0].d")
        );
    }
}
