//! Transactions: the operations of SPEC §2, the signed envelope, its signing
//! bytes and its hash.
//!
//! A transaction is `{chain_id, signer, nonce, op}` plus one to
//! [`SIGNATURES_MAX`] ed25519 signatures, each naming its key, over the domain
//! tag [`TX_DOMAIN_TAG`], the chain id and the canonical encoding of the body.
//! The signatures are ordered by key, so a transaction has one encoding; the
//! hash is SHA-256 of the encoded signed transaction.
//!
//! Whether each signature is valid for the key it names is a pure check
//! ([`SignedTx::verify_signatures`]); whether those keys are enough to act as
//! the signer (its threshold, and a controller's where a control rule asks
//! for one) is decided in execution, against the state.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec::{self, TX_BYTES_MAX};
use crate::crypto::{self, SigningKey};
use crate::error::TxError;
use crate::types::{
    Amount, ContractId, EntityId, Hash, Height, LineCode, PeerId, PublicKey, Signature, Year,
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
    /// An expenditure control office (the State Treasury's): co-signs the
    /// payments and awards a control rule names it for.
    Controller,
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
            EntityKind::Controller => "controller",
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
        /// Its signing keys: 1 to [`KEYS_MAX`], distinct.
        keys: Vec<PublicKey>,
        /// How many of `keys` must sign: 1 to `keys.len()`.
        threshold: u8,
    },
    /// Treasury suspends or reactivates an entity.
    SetStatus {
        /// Target.
        entity: EntityId,
        /// New status.
        status: Status,
    },
    /// Treasury, or the entity itself, replaces the entity's keys with one
    /// key (threshold 1): `set-keys` with a single key.
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
    /// Treasury, or the entity itself, replaces the entity's keys and
    /// threshold. Signed by the entity (under its current threshold) it takes
    /// effect at once; signed by the treasury for another entity it waits the
    /// chain's rotation delay.
    SetKeys {
        /// Target.
        entity: EntityId,
        /// New keys: 1 to [`KEYS_MAX`], distinct.
        keys: Vec<PublicKey>,
        /// How many of them must sign.
        threshold: u8,
    },
    /// The entity (or the treasury) withdraws a pending change of the
    /// entity's keys before it takes effect.
    CancelKeys {
        /// The entity whose pending keys are dropped.
        entity: EntityId,
    },
    /// Treasury sets the expenditure control rule of one ministry, or of all
    /// ministries without one of their own.
    SetControl {
        /// The ministry; absent for the rule of all ministries.
        ministry: Option<EntityId>,
        /// `pay` and `award` of this amount or more need the controller.
        amount: Amount,
        /// The controller entity (kind `controller`).
        controller: EntityId,
    },
    /// Treasury removes a control rule.
    RemoveControl {
        /// The ministry; absent for the rule of all ministries.
        ministry: Option<EntityId>,
    },
    /// Treasury closes a fiscal year: its budget lines are final, and no
    /// appropriation, allocation, return, award, amendment or payment
    /// touches them again.
    CloseYear {
        /// The year.
        year: Year,
    },
    /// A contract's vendor acknowledges that it received one of the
    /// contract's payments.
    AcknowledgePayment {
        /// Contract.
        contract: ContractId,
        /// Which payment: 0 for the contract's first.
        payment: u32,
    },
    /// Treasury schedules a protocol upgrade: blocks from `height` on carry
    /// `version`, and nodes that do not speak it stop before that height.
    ScheduleUpgrade {
        /// The first height of the new version.
        height: Height,
        /// The protocol version.
        version: u32,
    },
}

impl Op {
    /// The operation's name as in SPEC §2 (`pay`, `register-entity`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Op::RegisterEntity { .. } => "register-entity",
            Op::SetStatus { .. } => "set-status",
            Op::RotateKey { .. } => "rotate-key",
            Op::SetKeys { .. } => "set-keys",
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
            Op::CancelKeys { .. } => "cancel-keys",
            Op::SetControl { .. } => "set-control",
            Op::RemoveControl { .. } => "remove-control",
            Op::CloseYear { .. } => "close-year",
            Op::AcknowledgePayment { .. } => "acknowledge-payment",
            Op::ScheduleUpgrade { .. } => "schedule-upgrade",
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
    /// The bytes every signer signs: tag, chain id, body.
    pub fn signing_bytes(&self) -> Vec<u8> {
        codec::encode(&(TX_DOMAIN_TAG, self.chain_id.as_str(), self))
    }

    /// Signs the body with one key.
    pub fn sign(self, key: &SigningKey) -> SignedTx {
        self.sign_all(&[key])
    }

    /// Signs the body with each of `keys`.
    pub fn sign_all(self, keys: &[&SigningKey]) -> SignedTx {
        let mut tx = SignedTx {
            body: self,
            signatures: Vec::new(),
        };
        for key in keys {
            tx.add_signature(key);
        }
        tx
    }
}

/// The most keys an entity holds, and the most signatures a transaction
/// carries.
pub const KEYS_MAX: usize = 16;
/// The most signatures a transaction carries.
pub const SIGNATURES_MAX: usize = KEYS_MAX;

/// One signature of a transaction and the key that made it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize)]
pub struct TxSignature {
    /// The signing key.
    pub key: PublicKey,
    /// ed25519 signature over [`TxBody::signing_bytes`].
    pub signature: Signature,
}

/// A transaction with its signatures.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct SignedTx {
    /// What was signed.
    pub body: TxBody,
    /// The signatures, ordered by key, at most one per key.
    pub signatures: Vec<TxSignature>,
}

impl SignedTx {
    /// Decodes canonical bytes, refusing anything over 64 KiB, trailing bytes,
    /// non-canonical encodings and a signature list out of form (see
    /// [`SignedTx::check_form`]).
    pub fn decode(bytes: &[u8]) -> Result<SignedTx, TxError> {
        let tx = codec::decode::<SignedTx, TX_BYTES_MAX>(bytes)?;
        tx.check_form()?;
        Ok(tx)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// SHA-256 of the encoding.
    pub fn hash(&self) -> Hash {
        codec::digest(self)
    }

    /// Adds `key`'s signature in its place by key, replacing one that key
    /// made before.
    pub fn add_signature(&mut self, key: &SigningKey) {
        let signed = TxSignature {
            key: key.public_key(),
            signature: key.sign(&self.body.signing_bytes()),
        };
        self.put_signature(signed);
    }

    /// Puts `signed` in its place by key, replacing the one its key made
    /// before. The caller vouches that it is over this transaction's bytes.
    pub fn put_signature(&mut self, signed: TxSignature) {
        match self.signatures.binary_search_by(|s| s.key.cmp(&signed.key)) {
            Ok(at) => self.signatures[at] = signed,
            Err(at) => self.signatures.insert(at, signed),
        }
    }

    /// The keys that signed, in order.
    pub fn signing_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.signatures.iter().map(|s| &s.key)
    }

    /// Refuses a signature list that is empty (`malformed`), longer than
    /// [`SIGNATURES_MAX`] (`too_many_signatures`), names one key twice
    /// (`duplicate_signature`) or is not ordered by key (`malformed`).
    pub fn check_form(&self) -> Result<(), TxError> {
        if self.signatures.is_empty() {
            return Err(TxError::Malformed {
                reason: "the transaction carries no signature".into(),
            });
        }
        if self.signatures.len() > SIGNATURES_MAX {
            return Err(TxError::TooManySignatures {
                count: self.signatures.len(),
                max: SIGNATURES_MAX,
            });
        }
        for pair in self.signatures.windows(2) {
            if pair[0].key == pair[1].key {
                return Err(TxError::DuplicateSignature { key: pair[0].key });
            }
        }
        for pair in self.signatures.windows(2) {
            if pair[0].key > pair[1].key {
                return Err(TxError::Malformed {
                    reason: "signatures must be ordered by key".into(),
                });
            }
        }
        Ok(())
    }

    /// True if every signature verifies under the key it names (ZIP-215).
    /// Says nothing about whether those keys may act for the signer.
    pub fn verify_signatures(&self) -> bool {
        let message = self.body.signing_bytes();
        self.signatures
            .iter()
            .all(|s| crypto::verify(&s.key, &message, &s.signature))
    }
}

/// Checks many transactions' signatures at once, every signature of every
/// transaction in one ZIP-215 batch, returning a verdict for each
/// transaction: true if all its signatures verify under the keys they name.
/// Bad transactions are named even when the batch fails.
pub fn verify_tx_batch(txs: &[&SignedTx]) -> Vec<bool> {
    let messages: Vec<Vec<u8>> = txs.iter().map(|tx| tx.body.signing_bytes()).collect();
    let mut items: Vec<(PublicKey, &[u8], Signature)> = Vec::with_capacity(txs.len());
    let mut owner: Vec<usize> = Vec::with_capacity(txs.len());
    for (i, (tx, m)) in txs.iter().zip(&messages).enumerate() {
        for s in &tx.signatures {
            items.push((s.key, m.as_slice(), s.signature));
            owner.push(i);
        }
    }
    let mut out: Vec<bool> = txs.iter().map(|tx| !tx.signatures.is_empty()).collect();
    for (i, valid) in owner.into_iter().zip(crypto::verify_batch(&items)) {
        out[i] &= valid;
    }
    out
}
