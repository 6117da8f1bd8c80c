//! Transactions: the operations of SPEC §2, the signed envelope, its signing
//! bytes and its hash.
//!
//! A transaction is `{chain_id, signer, nonce, op}` plus an ed25519 signature
//! over the domain tag [`TX_DOMAIN_TAG`], the chain id and the canonical
//! encoding of the body. The hash is SHA-256 of the encoded signed transaction.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec::{self, TX_BYTES_MAX};
use crate::crypto::{self, SigningKey};
use crate::error::TxError;
use crate::types::{
    Amount, ContractId, EntityId, Hash, LineCode, PeerId, PublicKey, Signature, Year,
};

/// Domain tag that starts the signed bytes of every transaction.
pub const TX_DOMAIN_TAG: &str = "minhbach/tx/v1";

/// What an entity is.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EntityKind {
    /// The finance ministry; exactly one, created in genesis.
    Treasury,
    /// A ministry, which receives appropriations.
    Ministry,
    /// A spending department of a ministry.
    Department,
    /// An organisation paid under contracts.
    Vendor,
    /// An auditor's office or a newsroom that runs a node.
    Observer,
}

impl EntityKind {
    /// The lower-case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Treasury => "treasury",
            EntityKind::Ministry => "ministry",
            EntityKind::Department => "department",
            EntityKind::Vendor => "vendor",
            EntityKind::Observer => "observer",
        }
    }
}

/// Whether an entity may act.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EntityStatus))]
pub enum Status {
    /// May sign and receive.
    Active,
    /// Signs nothing and receives nothing.
    Suspended,
}

impl Status {
    /// The lower-case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
        }
    }
}

/// An operation, signed by the acting entity (SPEC §2).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    /// Treasury adds an entity.
    RegisterEntity {
        /// New id.
        id: EntityId,
        /// Its kind; never treasury.
        kind: EntityKind,
        /// Display name (UTF-8).
        name: String,
        /// The ministry of a department; absent otherwise.
        parent: Option<EntityId>,
        /// Its signing key.
        public_key: PublicKey,
    },
    /// Treasury suspends or reactivates an entity.
    SetStatus {
        /// Target.
        entity: EntityId,
        /// New status.
        status: Status,
    },
    /// Treasury, or the entity itself, replaces the entity's key.
    RotateKey {
        /// Target.
        entity: EntityId,
        /// New key.
        public_key: PublicKey,
    },
    /// Treasury gives a ministry budget under a legal reference.
    Appropriate {
        /// Fiscal year.
        year: Year,
        /// Budget line.
        line: LineCode,
        /// Receiving ministry.
        to: EntityId,
        /// Amount.
        amount: Amount,
        /// The decision that grants it.
        legal_ref: String,
    },
    /// A ministry passes budget to one of its departments.
    Allocate {
        /// Fiscal year.
        year: Year,
        /// Budget line.
        line: LineCode,
        /// Receiving department.
        to: EntityId,
        /// Amount.
        amount: Amount,
    },
    /// A department or ministry gives unspent budget back to its parent.
    ReturnFunds {
        /// Fiscal year.
        year: Year,
        /// Budget line.
        line: LineCode,
        /// Amount.
        amount: Amount,
    },
    /// A department commits budget to a contract with a vendor.
    Award {
        /// New contract id.
        contract: ContractId,
        /// Fiscal year.
        year: Year,
        /// Budget line.
        line: LineCode,
        /// The vendor.
        vendor: EntityId,
        /// Contract amount.
        amount: Amount,
        /// What is bought.
        title: String,
        /// SHA-256 of the contract document.
        document_hash: Option<Hash>,
    },
    /// The awarding department changes the contract amount.
    AmendContract {
        /// Contract.
        contract: ContractId,
        /// New amount.
        amount: Amount,
        /// Why.
        reason: String,
        /// SHA-256 of the amendment.
        document_hash: Option<Hash>,
    },
    /// The awarding department pays the contract's vendor.
    Pay {
        /// Contract.
        contract: ContractId,
        /// Amount paid.
        amount: Amount,
        /// Invoice or payment order reference.
        reference: String,
        /// SHA-256 of the invoice.
        document_hash: Option<Hash>,
    },
    /// The awarding department records a delivery.
    ConfirmDelivery {
        /// Contract.
        contract: ContractId,
        /// Milestone name.
        milestone: String,
        /// Free note.
        note: String,
    },
    /// Treasury adds a validator.
    AddValidator {
        /// Display name.
        name: String,
        /// Consensus key.
        consensus_key: PublicKey,
        /// libp2p peer id of its node.
        peer_id: PeerId,
        /// Voting power.
        power: u64,
    },
    /// Treasury removes a validator.
    RemoveValidator {
        /// Its consensus key.
        consensus_key: PublicKey,
    },
    /// Treasury lets a full node of an entity connect.
    RegisterNode {
        /// The node's peer id.
        peer_id: PeerId,
        /// The entity that runs it.
        operator: EntityId,
    },
    /// Treasury revokes a full node.
    RemoveNode {
        /// The node's peer id.
        peer_id: PeerId,
    },
}

impl Op {
    /// The operation's name as in SPEC §2 (`pay`, `register-entity`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Op::RegisterEntity { .. } => "register-entity",
            Op::SetStatus { .. } => "set-status",
            Op::RotateKey { .. } => "rotate-key",
            Op::Appropriate { .. } => "appropriate",
            Op::Allocate { .. } => "allocate",
            Op::ReturnFunds { .. } => "return-funds",
            Op::Award { .. } => "award",
            Op::AmendContract { .. } => "amend-contract",
            Op::Pay { .. } => "pay",
            Op::ConfirmDelivery { .. } => "confirm-delivery",
            Op::AddValidator { .. } => "add-validator",
            Op::RemoveValidator { .. } => "remove-validator",
            Op::RegisterNode { .. } => "register-node",
            Op::RemoveNode { .. } => "remove-node",
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct TxBody {
    /// The chain this is meant for.
    pub chain_id: String,
    /// The acting entity.
    pub signer: EntityId,
    /// The signer's last committed nonce + 1.
    pub nonce: u64,
    /// What to do.
    pub op: Op,
}

impl TxBody {
    /// The bytes the signer signs: tag, chain id, body.
    pub fn signing_bytes(&self) -> Vec<u8> {
        codec::encode(&(TX_DOMAIN_TAG, self.chain_id.as_str(), self))
    }

    /// Signs the body.
    pub fn sign(self, key: &SigningKey) -> SignedTx {
        let signature = key.sign(&self.signing_bytes());
        SignedTx {
            body: self,
            signature,
        }
    }
}

/// A transaction with its signature.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct SignedTx {
    /// What was signed.
    pub body: TxBody,
    /// ed25519 signature over [`TxBody::signing_bytes`].
    pub signature: Signature,
}

impl SignedTx {
    /// Decodes canonical bytes, refusing anything over 64 KiB, trailing bytes
    /// and non-canonical encodings.
    pub fn decode(bytes: &[u8]) -> Result<SignedTx, TxError> {
        codec::decode::<SignedTx, TX_BYTES_MAX>(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// SHA-256 of the encoding.
    pub fn hash(&self) -> Hash {
        Hash::digest(&self.encode())
    }

    /// Checks the signature under `key` (ZIP-215).
    pub fn verify_signature(&self, key: &PublicKey) -> bool {
        crypto::verify(key, &self.body.signing_bytes(), &self.signature)
    }
}

/// Checks many transactions' signatures at once against the keys given,
/// returning a verdict for each. Bad transactions are named even when the
/// batch fails.
pub fn verify_tx_batch(txs: &[(&SignedTx, PublicKey)]) -> Vec<bool> {
    let messages: Vec<Vec<u8>> = txs.iter().map(|(tx, _)| tx.body.signing_bytes()).collect();
    let items: Vec<(PublicKey, &[u8], Signature)> = txs
        .iter()
        .zip(&messages)
        .map(|((tx, key), m)| (*key, m.as_slice(), tx.signature))
        .collect();
    crypto::verify_batch(&items)
}
