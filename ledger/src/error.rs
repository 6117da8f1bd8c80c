//! Rejections. Every way a transaction can be refused is a [`TxError`] variant
//! carrying the values that failed, and maps to one SPEC error code.

use thiserror::Error;

use crate::types::{Amount, ContractId, EntityId, Height, LineCode, PublicKey, Year};

/// Why a transaction was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// The bytes are not a canonical encoding.
    #[error("malformed: {reason}")]
    Malformed {
        /// What is wrong with the bytes.
        reason: String,
    },
    /// The encoding is larger than allowed.
    #[error("too_large: {bytes} bytes exceeds the limit of {bytes_max}")]
    TooLarge {
        /// Size received.
        bytes: usize,
        /// Limit.
        bytes_max: usize,
    },
    /// Signed for another chain.
    #[error("wrong_chain: transaction is for chain {got:?}, this is {expected:?}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The transaction's chain id.
        got: String,
    },
    /// The signature does not verify under the signer's key (ZIP-215).
    #[error("bad_signature: signature does not verify for signer {signer}")]
    BadSignature {
        /// The claimed signer.
        signer: EntityId,
    },
    /// The nonce is not the signer's next nonce.
    #[error("bad_nonce: {signer} must use nonce {expected}, got {got}")]
    BadNonce {
        /// Signer.
        signer: EntityId,
        /// The next nonce.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// A key that is not a canonical point or has small order.
    #[error("bad_key: {key} is {reason}")]
    BadKey {
        /// The refused key.
        key: PublicKey,
        /// Why.
        reason: &'static str,
    },
    /// An argument out of range or of the wrong shape.
    #[error("invalid_argument: {field}: {reason}")]
    InvalidArgument {
        /// Which argument.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A figure would overflow.
    #[error("overflow: {what} would exceed the largest representable amount")]
    Overflow {
        /// Which figure.
        what: String,
    },
    /// The signer is not a registered entity.
    #[error("unknown_signer: no entity {signer}")]
    UnknownSigner {
        /// The claimed signer.
        signer: EntityId,
    },
    /// The signer or a counterparty is suspended.
    #[error("inactive: {entity} is suspended")]
    Inactive {
        /// The suspended entity.
        entity: EntityId,
    },
    /// The signer may not perform this operation.
    #[error("not_authorized: {signer} may not {action}")]
    NotAuthorized {
        /// The signer.
        signer: EntityId,
        /// What it tried.
        action: String,
    },
    /// A referenced entity, validator or node does not exist.
    #[error("unknown_entity: no {what} {id}")]
    UnknownEntity {
        /// Kind of thing looked up.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A referenced contract does not exist.
    #[error("unknown_contract: no contract {contract}")]
    UnknownContract {
        /// The contract id.
        contract: ContractId,
    },
    /// Something with this id or key already exists.
    #[error("duplicate: {what} {id} already exists")]
    Duplicate {
        /// Kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Spending more than is available on a budget line.
    #[error(
        "over_budget: {entity} needs {requested} on {year}/{line} but only {available} is available"
    )]
    OverBudget {
        /// Entity whose line is short.
        entity: EntityId,
        /// Fiscal year.
        year: Year,
        /// Budget line.
        line: LineCode,
        /// Amount asked for.
        requested: Amount,
        /// Amount available.
        available: Amount,
    },
    /// Paying more than a contract's unpaid amount, or amending below what is paid.
    #[error("over_contract: {message}")]
    OverContract {
        /// Contract.
        contract: ContractId,
        /// Explanation with the figures.
        message: String,
    },
    /// A validator-set change that breaks the set rules.
    #[error("validator_set: {reason}")]
    ValidatorSet {
        /// Why.
        reason: String,
    },
    /// An operation that would change nothing but the signer's nonce, such
    /// as rotating to the key already held. Refused so that a signer cannot
    /// fill blocks with records that say nothing.
    #[error("no_op: {op} changes nothing: {reason}")]
    NoOp {
        /// The operation's name (`rotate-key`, ...).
        op: &'static str,
        /// What it would have set, and that it is already so.
        reason: String,
    },
    /// More signatures than a transaction may carry.
    #[error("too_many_signatures: {count} signatures, at most {max} allowed")]
    TooManySignatures {
        /// Signatures carried.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two signatures by one key.
    #[error("duplicate_signature: key {key} signed twice")]
    DuplicateSignature {
        /// The key.
        key: PublicKey,
    },
    /// A signature by a key that neither the signer nor a controller the
    /// transaction needs holds.
    #[error("foreign_signature: key {key} is not a key of {signer}{}", controller.as_ref().map(|c| format!(" or of {c}")).unwrap_or_default())]
    ForeignSignature {
        /// The key.
        key: PublicKey,
        /// The signer.
        signer: EntityId,
        /// The controller the transaction needs, if any.
        controller: Option<EntityId>,
    },
    /// Fewer of the signer's keys signed than its threshold.
    #[error("threshold_not_met: {entity} needs {threshold} of its keys, {signed} signed")]
    ThresholdNotMet {
        /// The entity.
        entity: EntityId,
        /// Its threshold.
        threshold: u8,
        /// Its keys that signed.
        signed: usize,
    },
    /// A key set that is empty, too long, repeats a key, or whose threshold
    /// is 0 or above its number of keys.
    #[error("bad_threshold: {reason}")]
    BadThreshold {
        /// What is wrong.
        reason: String,
    },
    /// A payment or award a control rule covers, without enough of the
    /// controller's signatures.
    #[error(
        "approval_required: the control rule of {} covers {op} of {rule_amount} or more; {amount} needs {controller}'s signature ({threshold} of its keys, {signed} signed)",
        ministry.as_ref().map(|m| m.to_string()).unwrap_or_else(|| "all ministries".into())
    )]
    ApprovalRequired {
        /// The operation (`pay` or `award`).
        op: &'static str,
        /// The rule's ministry; `None` for the rule of all ministries.
        ministry: Option<EntityId>,
        /// The rule's amount.
        rule_amount: Amount,
        /// The amount of this transaction.
        amount: Amount,
        /// The controller.
        controller: EntityId,
        /// The controller's threshold.
        threshold: u8,
        /// The controller's keys that signed.
        signed: usize,
    },
    /// An operation on a fiscal year the treasury has closed.
    #[error("year_closed: fiscal year {year} was closed at block {closed_at}; its budget lines are final")]
    YearClosed {
        /// The year.
        year: Year,
        /// The block that closed it.
        closed_at: Height,
    },
    /// The mempool cannot take more transactions.
    #[error("mempool_full: {reason}")]
    MempoolFull {
        /// Which limit was hit.
        reason: String,
    },
}

impl TxError {
    /// The SPEC error code, as used in the API and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::Malformed { .. } => "malformed",
            TxError::TooLarge { .. } => "too_large",
            TxError::WrongChain { .. } => "wrong_chain",
            TxError::BadSignature { .. } => "bad_signature",
            TxError::BadNonce { .. } => "bad_nonce",
            TxError::BadKey { .. } => "bad_key",
            TxError::InvalidArgument { .. } => "invalid_argument",
            TxError::Overflow { .. } => "overflow",
            TxError::UnknownSigner { .. } => "unknown_signer",
            TxError::Inactive { .. } => "inactive",
            TxError::NotAuthorized { .. } => "not_authorized",
            TxError::UnknownEntity { .. } => "unknown_entity",
            TxError::UnknownContract { .. } => "unknown_contract",
            TxError::Duplicate { .. } => "duplicate",
            TxError::OverBudget { .. } => "over_budget",
            TxError::OverContract { .. } => "over_contract",
            TxError::ValidatorSet { .. } => "validator_set",
            TxError::NoOp { .. } => "no_op",
            TxError::MempoolFull { .. } => "mempool_full",
            TxError::TooManySignatures { .. } => "too_many_signatures",
            TxError::DuplicateSignature { .. } => "duplicate_signature",
            TxError::ForeignSignature { .. } => "foreign_signature",
            TxError::ThresholdNotMet { .. } => "threshold_not_met",
            TxError::BadThreshold { .. } => "bad_threshold",
            TxError::ApprovalRequired { .. } => "approval_required",
            TxError::YearClosed { .. } => "year_closed",
        }
    }
}

/// Every code, in SPEC order.
pub const ERROR_CODES: [&str; 26] = [
    "malformed",
    "too_large",
    "wrong_chain",
    "bad_signature",
    "bad_nonce",
    "bad_key",
    "invalid_argument",
    "overflow",
    "unknown_signer",
    "inactive",
    "not_authorized",
    "unknown_entity",
    "unknown_contract",
    "duplicate",
    "over_budget",
    "over_contract",
    "validator_set",
    "no_op",
    "mempool_full",
    "too_many_signatures",
    "duplicate_signature",
    "foreign_signature",
    "threshold_not_met",
    "bad_threshold",
    "approval_required",
    "year_closed",
];
