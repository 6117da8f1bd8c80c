//! Transactions awaiting signatures: what `POST /v1/awaiting` answers, and
//! the entries of `GET /v1/awaiting` and `GET /v1/awaiting/{id}`.

use ledger::{EntityId, Hash, Op, PublicKey};
use node::awaiting::Awaiting;
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorDetail;
use crate::approvals::{waits_for, WaitsFor};

/// `POST /v1/awaiting` accepted: the transaction waits for more signatures
/// (`status` is `awaiting`), or with them it was admitted to the mempool
/// (`submitted`).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AwaitingOffered {
    /// It still needs signatures.
    Awaiting(AwaitingKept),
    /// Its signatures sufficed.
    Submitted(AwaitingSubmitted),
}

/// `POST /v1/awaiting`: the transaction still needs signatures; this node
/// keeps it under `id`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwaitingKept {
    /// `awaiting`.
    pub status: KeptStatus,
    /// SHA-256 of the bytes every signer signs: `GET /v1/awaiting/{id}`.
    pub id: Hash,
    /// What it still needs: `threshold_not_met` or `approval_required`,
    /// with the message naming whose keys and how many.
    pub needs: ErrorDetail,
    /// The keys that have signed so far, ordered.
    pub signatures: Vec<PublicKey>,
}

/// The status of a transaction kept while it gathers signatures.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeptStatus {
    /// Kept, waiting for signatures.
    Awaiting,
}

/// `POST /v1/awaiting`: its signatures sufficed, and it was admitted to the
/// mempool; poll `/v1/txs/{hash}`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwaitingSubmitted {
    /// `submitted`.
    pub status: SubmittedStatus,
    /// The transaction hash.
    pub hash: Hash,
}

/// The status of a transaction whose signatures sufficed.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmittedStatus {
    /// Admitted to the mempool.
    Submitted,
}

/// Whose keys a transaction awaiting signatures still needs.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitsForView {
    /// The signer itself (`needs.code` is `threshold_not_met`), or the
    /// controller a control rule names (`approval_required`).
    pub entity: EntityId,
    /// How many of its keys must sign.
    pub threshold: u8,
    /// How many of its keys have signed.
    pub signed: u64,
}

impl From<WaitsFor> for WaitsForView {
    fn from(w: WaitsFor) -> WaitsForView {
        WaitsForView {
            entity: w.entity,
            threshold: w.threshold,
            signed: w.signed as u64,
        }
    }
}

/// A transaction awaiting signatures.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwaitingView {
    /// SHA-256 of the bytes every signer signs.
    pub id: Hash,
    /// The signing entity.
    pub signer: EntityId,
    /// Its nonce: the signer's next. Once that nonce is used, by this
    /// transaction or another, the entry is gone.
    pub nonce: u64,
    /// The operation, `type` first.
    pub op: Op,
    /// What it still needs: `threshold_not_met` or `approval_required`,
    /// with the message naming whose keys and how many.
    pub needs: ErrorDetail,
    /// The same, for programs; null for any other code.
    #[schema(required = true)]
    pub waits_for: Option<WaitsForView>,
    /// The keys that have signed so far, ordered.
    pub signatures: Vec<PublicKey>,
    /// The height of the state it was first offered against.
    pub since: u64,
}

impl From<&Awaiting> for AwaitingView {
    fn from(a: &Awaiting) -> AwaitingView {
        AwaitingView {
            id: a.id,
            signer: a.tx.body.signer.clone(),
            nonce: a.tx.body.nonce,
            op: a.tx.body.op.clone(),
            needs: ErrorDetail::from(&a.needs),
            waits_for: waits_for(&a.needs).map(Into::into),
            signatures: a.tx.signing_keys().copied().collect(),
            since: a.since.0,
        }
    }
}

/// `GET /v1/awaiting`: the transactions this node holds while they gather
/// signatures.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwaitingList {
    /// The height of the state they are current on: the last committed one.
    pub height: u64,
    /// Oldest first (by `since`, then `id`); at most 1024.
    pub awaiting: Vec<AwaitingView>,
}

/// `GET /v1/awaiting/{id}`: one transaction awaiting signatures, with what
/// a co-signer needs to check it and sign it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwaitingDetail {
    /// SHA-256 of `signing_bytes`.
    pub id: Hash,
    /// The signing entity.
    pub signer: EntityId,
    /// Its nonce: the signer's next.
    pub nonce: u64,
    /// The operation, `type` first.
    pub op: Op,
    /// What it still needs: `threshold_not_met` or `approval_required`.
    pub needs: ErrorDetail,
    /// The same, for programs; null for any other code.
    #[schema(required = true)]
    pub waits_for: Option<WaitsForView>,
    /// The keys that have signed so far, ordered.
    pub signatures: Vec<PublicKey>,
    /// The height of the state it was first offered against.
    pub since: u64,
    /// The signed transaction with the signatures gathered so far: its
    /// canonical encoding, in lowercase hex. Decode it, add a signature and
    /// post it (raw, or as base64 JSON) to `POST /v1/awaiting`.
    #[schema(pattern = "^([0-9a-f]{2})+$")]
    pub tx: String,
    /// The bytes every signer signs (the domain tag, the chain id and the
    /// body), in lowercase hex; `id` is their SHA-256.
    #[schema(pattern = "^([0-9a-f]{2})+$")]
    pub signing_bytes: String,
}

impl From<&Awaiting> for AwaitingDetail {
    fn from(a: &Awaiting) -> AwaitingDetail {
        let v = AwaitingView::from(a);
        AwaitingDetail {
            id: v.id,
            signer: v.signer,
            nonce: v.nonce,
            op: v.op,
            needs: v.needs,
            waits_for: v.waits_for,
            signatures: v.signatures,
            since: v.since,
            tx: hex::encode(a.tx.encode()),
            signing_bytes: hex::encode(a.tx.body.signing_bytes()),
        }
    }
}
