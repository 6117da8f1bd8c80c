//! Why a bundle does not prove its transaction: each failure of a bundle
//! as a [`ProofError`], with the values that did not match, and a message
//! that tells an auditor what was changed or is missing.

use thiserror::Error;

use super::{BUNDLE_BYTES_MAX, STATE_BUNDLE_FORMAT};
use crate::block::CertError;
use crate::error::TxError;
use crate::types::{EntityId, Hash, Height};

/// What a document of `format` is called in a message.
fn document(format: &str) -> &'static str {
    match format {
        STATE_BUNDLE_FORMAT => "a state proof",
        _ => "an audit bundle",
    }
}

/// What a document of `format` is, in a message about its version.
fn kind(format: &str) -> &'static str {
    match format {
        STATE_BUNDLE_FORMAT => "state proof",
        _ => "bundle",
    }
}

impl ProofError {
    /// Refuses a document built in memory whose `format` and `version` are
    /// not `expected` and `supported`, as reading it would.
    pub(crate) fn check_format(
        found: (&str, u32),
        expected: &'static str,
        supported: u32,
    ) -> Result<(), ProofError> {
        if found.0 != expected {
            return Err(ProofError::WrongFormat {
                format: expected,
                found: format!("{:?}", found.0),
            });
        }
        if found.1 != supported {
            return Err(ProofError::UnsupportedVersion {
                format: expected,
                supported,
                found: found.1.to_string(),
            });
        }
        Ok(())
    }
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
    /// Not JSON of the document's shape.
    #[error("not {}: {reason}", document(format))]
    Malformed {
        /// The format expected (`minhbach-audit-bundle`, `minhbach-state-proof`).
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The `format` field is missing or different.
    #[error("not {}: format is {found}, expected \"{format}\"", document(format))]
    WrongFormat {
        /// The format expected.
        format: &'static str,
        /// The value found (JSON).
        found: String,
    },
    /// A version this code does not read.
    #[error(
        "{} format version {found} is not supported; this program reads version {supported}",
        kind(format)
    )]
    UnsupportedVersion {
        /// The format.
        format: &'static str,
        /// The version this code reads.
        supported: u32,
        /// The value found (JSON).
        found: String,
    },
    /// A field this format does not have.
    #[error("the bundle has an unknown field {path}")]
    UnknownField {
        /// Where, e.g. `block.header.view.extra`.
        path: String,
    },
    /// A state entry's key or value bytes do not decode.
    #[error("the entry's {what} bytes cannot be read: {reason}")]
    EntryUnreadable {
        /// `key` or `value`.
        what: &'static str,
        /// Why.
        reason: TxError,
    },
    /// A state entry's value is not of the kind its key holds.
    #[error("the entry's value is not the kind of value its key holds")]
    EntryKindMismatch,
    /// A state entry's readable view says something its bytes do not.
    #[error("the entry's {field} shows {shown}, but its proved bytes hold {proved}")]
    EntryViewMismatch {
        /// Where, dotted (`value.spent`).
        field: String,
        /// What the view shows.
        shown: String,
        /// What the bytes hold.
        proved: String,
    },
    /// A state entry's path does not lead to the certified state root.
    #[error("the entry's path in the state map does not hold against the state root of block {height}: {reason}")]
    StatePath {
        /// H.
        height: Height,
        /// Why.
        reason: crate::statemap::ProofError,
    },
    /// The signer's state is proved under a header that is not the one
    /// the transaction's block names as its previous one.
    #[error("the signer's keys are proved after block {given} ({given_hash}), but block {height} follows {prev_hash}")]
    SignerHeader {
        /// H.
        height: Height,
        /// What block H names as its previous block.
        prev_hash: Hash,
        /// The height of the header given.
        given: Height,
        /// Its hash.
        given_hash: Hash,
    },
    /// The signer's state is another key's entry.
    #[error("the bundle proves another entry than the signer {signer}'s")]
    SignerOther {
        /// The transaction's signer.
        signer: EntityId,
    },
    /// The signer's entry is proved absent.
    #[error("the signer {signer} did not exist after block {after}")]
    SignerAbsent {
        /// The transaction's signer.
        signer: EntityId,
        /// H−1.
        after: Height,
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
    /// A witnessed checkpoint below the transaction's block.
    #[error("the witnessed checkpoint at height {checkpoint} is below block {block}, so it cannot hold it")]
    CheckpointBelowBlock {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The transaction's block.
        block: Height,
    },
    /// Witnessed checkpoints out of order, or two of one height.
    #[error("the witnessed checkpoint at height {checkpoint} is out of place: checkpoints must be in increasing height order, one per height, after {after}")]
    CheckpointOutOfOrder {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The previous checkpoint's height.
        after: Height,
    },
    /// A history path for another position than the block's.
    #[error("the history path for the checkpoint at height {checkpoint} is for leaf {leaf_index}, but block {block} is leaf {expected}")]
    HistoryLeafIndex {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The transaction's block.
        block: Height,
        /// The path's leaf index.
        leaf_index: u64,
        /// The block's leaf index, its height minus one.
        expected: u64,
    },
    /// A history path for a tree of another size than the checkpoint's.
    #[error("the history path for the checkpoint at height {checkpoint} is for a history of {tree_size} blocks, not {checkpoint}")]
    HistoryTreeSize {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The path's tree size.
        tree_size: u64,
    },
    /// The history path does not fold to the checkpoint's root.
    #[error("the history path of block {block} does not lead to the history root of the checkpoint at height {checkpoint}: the block is not in the history the witnesses cosigned")]
    HistoryPath {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The transaction's block.
        block: Height,
    },
    /// A witnessed checkpoint that nobody cosigned.
    #[error("the witnessed checkpoint at height {checkpoint} has no cosignatures")]
    NoCosignatures {
        /// The checkpoint's height.
        checkpoint: Height,
    },
    /// A cosignature for another chain.
    #[error("the cosignature of {witness} on the checkpoint at height {checkpoint} is for chain {found:?}, not {chain:?}")]
    CosignatureWrongChain {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The witness named.
        witness: EntityId,
        /// The cosignature's chain id.
        found: String,
        /// The genesis chain id.
        chain: String,
    },
    /// A cosignature of another height or root than its checkpoint's.
    #[error("the cosignature of {witness} on the checkpoint at height {checkpoint} is for {field} {found}, not the checkpoint's {expected}")]
    CosignatureMismatch {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The witness named.
        witness: EntityId,
        /// `height` or `history_root`.
        field: &'static str,
        /// The cosignature's value.
        found: String,
        /// The checkpoint's.
        expected: String,
    },
    /// A cosignature whose signature does not verify under its key.
    #[error("the cosignature of {witness} on the checkpoint at height {checkpoint} does not verify: it was changed or forged")]
    CosignatureSignature {
        /// The checkpoint's height.
        checkpoint: Height,
        /// The witness named.
        witness: EntityId,
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
