//! The JSON bodies the API answers with, one struct per answer. Each is
//! `Serialize` for the wire and `ToSchema` for `/v1/openapi.json`, so the
//! document is derived from the very types the handlers return and the two
//! cannot drift.
//!
//! Conventions (docs/api.md): amounts are strings of whole
//! minor units, hashes and keys lowercase hex, times RFC 3339 in UTC with
//! milliseconds. A field that is always sent but may be empty is `required`
//! and nullable; a field sent only in some states says so and is optional.
//! Every object refuses properties it does not document
//! (`additionalProperties: false`), which the tests check against real
//! answers.

use ledger::merkle::ConsistencyProof;
use ledger::state::{BudgetFigures, Contract, Delivery, Entity};
use ledger::store::HistoryEntry;
use ledger::tx::{EntityKind, Status as EntityStatus};
use ledger::witness::Cosignature;
use ledger::{
    Amount, Block, CommitCertificate, ContractId, EntityId, Evidence, Hash, Height, LineCode, Op,
    PeerId, PublicKey, Signature, Validator, VoteType, Year,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::rfc3339;

pub use crate::error::{error_codes, ErrorBody, ErrorCode, ErrorDetail, API_ERROR_CODES};

mod awaiting;
mod years;

pub use self::awaiting::{
    AwaitingDetail, AwaitingKept, AwaitingList, AwaitingOffered, AwaitingSubmitted, AwaitingView,
    KeptStatus, SubmittedStatus, WaitsForView,
};
pub use self::years::{YearEntityView, YearView};

/// A validator: who it is and how much it weighs.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorView {
    /// Display name.
    pub name: String,
    /// Its consensus key.
    pub public_key: PublicKey,
    /// Its node's libp2p peer id.
    pub peer_id: PeerId,
    /// Voting power.
    pub power: u64,
}

impl From<&Validator> for ValidatorView {
    fn from(v: &Validator) -> ValidatorView {
        ValidatorView {
            name: v.name.clone(),
            public_key: v.consensus_key,
            peer_id: v.peer_id.clone(),
            power: v.power,
        }
    }
}

/// `GET /v1/status`: the node and the tip of its chain.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeStatus {
    /// The chain id from genesis.
    pub chain_id: String,
    /// The node's libp2p peer id.
    pub node_id: String,
    /// The node's name from its config.
    pub name: String,
    /// The last committed height; 0 before block 1.
    pub height: u64,
    /// The consensus round at the height in progress.
    pub round: u32,
    /// Hash of the last committed block (the genesis hash at height 0).
    pub last_block_hash: Hash,
    /// Time of the last committed block (genesis time at height 0).
    #[schema(format = DateTime)]
    pub last_block_time: String,
    /// The validators deciding the next height.
    pub validators: Vec<ValidatorView>,
    /// Connected peers.
    pub peers: usize,
    /// Whether a peer is known to be more than one block ahead.
    pub catching_up: bool,
    /// Transactions waiting in this node's mempool.
    pub mempool_txs: usize,
    /// For a node that started from a snapshot (`node start --state-sync`),
    /// the snapshot's height: it holds blocks, transactions and state from
    /// there on, and answers `not_held` below. Absent on a node that holds
    /// the whole chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds_from: Option<u64>,
    /// Whether the node can write its store. While it cannot (a full disk,
    /// a read-only folder), it serves reads but neither votes nor commits,
    /// and tries the store again every few seconds.
    pub store_writable: bool,
    /// Why the store cannot be written: the folder and the system's error.
    pub store_error: Option<String>,
}

/// `GET /readyz`: whether the node is caught up.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Readiness {
    /// Caught up: it has compared heights with a peer and none is ahead.
    pub ready: bool,
    /// The last committed height.
    pub height: u64,
    /// The best height a peer reported.
    pub best_peer_height: u64,
    /// Whether a peer is more than one block ahead.
    pub catching_up: bool,
    /// Whether the node can write its store; a node that cannot is not
    /// ready.
    pub store_writable: bool,
}

/// A block header's fields.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderView {
    /// The protocol version whose rules made the block.
    pub version: u32,
    /// Chain id.
    pub chain_id: String,
    /// Height.
    pub height: u64,
    /// The proposer's time.
    #[schema(format = DateTime)]
    pub time: String,
    /// Hash of the previous block (the genesis hash for block 1).
    pub prev_hash: Hash,
    /// Transactions in the block.
    pub tx_count: u32,
    /// RFC 6962 Merkle root of the encoded transactions.
    pub txs_root: Hash,
    /// State root after the block.
    pub state_root: Hash,
    /// Hash of the previous block's commit certificate.
    pub last_commit_hash: Hash,
    /// Hash of the block's evidence list.
    pub evidence_hash: Hash,
    /// Hash of the validator set deciding this height.
    pub validators_hash: Hash,
    /// Hash of the validator set deciding the next height.
    pub next_validators_hash: Hash,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
}

/// One precommit of a commit certificate.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrecommitView {
    /// The validator's consensus key.
    pub validator: PublicKey,
    /// Its signature over the precommit.
    pub signature: Signature,
}

/// The precommits that committed a block.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitView {
    /// The round the block was decided in.
    pub round: u32,
    /// More than 2/3 of the set's power.
    pub precommits: Vec<PrecommitView>,
}

impl From<&CommitCertificate> for CommitView {
    fn from(c: &CommitCertificate) -> CommitView {
        CommitView {
            round: c.round,
            precommits: c
                .precommits
                .iter()
                .map(|v| PrecommitView {
                    validator: v.validator,
                    signature: v.signature,
                })
                .collect(),
        }
    }
}

/// Two conflicting votes by one validator, committed as evidence.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceView {
    /// Height of the block that committed the evidence.
    pub committed_at: u64,
    /// Height of the two votes.
    pub height: u64,
    /// Round of the two votes.
    pub round: u32,
    /// The validator that signed both.
    pub validator: PublicKey,
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// The two block hashes voted for (null: a vote for nil).
    #[schema(min_items = 2, max_items = 2)]
    pub values: Vec<Option<Hash>>,
}

impl EvidenceView {
    /// `e` as committed in block `committed_at`.
    pub fn new(committed_at: Height, e: &Evidence) -> EvidenceView {
        EvidenceView {
            committed_at: committed_at.0,
            height: e.a.height.0,
            round: e.a.round,
            validator: e.a.validator,
            vote_type: e.a.vote_type,
            values: vec![e.a.block_hash, e.b.block_hash],
        }
    }
}

/// `GET /v1/blocks/{height}`: a block with its transactions' hashes.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockView {
    /// The block hash (SHA-256 of the encoded header).
    pub hash: Hash,
    /// The header.
    pub header: HeaderView,
    /// The transactions' hashes, in block order.
    pub txs: Vec<Hash>,
    /// Evidence committed in this block.
    pub evidence: Vec<EvidenceView>,
    /// The block's own commit certificate; null in `/v1/blocks` pages and
    /// for a block whose certificate this node does not hold.
    #[schema(required = true)]
    pub commit: Option<CommitView>,
}

impl BlockView {
    /// `block`, with its certificate if given.
    pub fn new(block: &Block, cert: Option<&CommitCertificate>) -> BlockView {
        let h = &block.header;
        BlockView {
            hash: block.hash(),
            header: HeaderView {
                version: h.version,
                chain_id: h.chain_id.clone(),
                height: h.height.0,
                time: rfc3339(h.time_ms),
                prev_hash: h.prev_hash,
                tx_count: h.tx_count,
                txs_root: h.txs_root,
                state_root: h.state_root,
                last_commit_hash: h.last_commit_hash,
                evidence_hash: h.evidence_hash,
                validators_hash: h.validators_hash,
                next_validators_hash: h.next_validators_hash,
                proposer: h.proposer,
            },
            txs: block.tx_hashes(),
            evidence: block
                .evidence
                .iter()
                .map(|e| EvidenceView::new(h.height, e))
                .collect(),
            commit: cert.map(CommitView::from),
        }
    }
}

/// `GET /v1/blocks`: a page of blocks, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlocksPage {
    /// Blocks in decreasing height, without their certificates.
    pub blocks: Vec<BlockView>,
    /// The `before` of the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next: Option<u64>,
}

/// Where a transaction stands on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// In this node's mempool.
    Pending,
    /// In a committed block.
    Committed,
    /// Refused, at admission or when re-checked; see `error`.
    Rejected,
}

/// `GET /v1/txs/{hash}`: a transaction and where it stands.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxView {
    /// The transaction hash.
    pub hash: Hash,
    /// Pending, committed or rejected.
    pub status: TxStatus,
    /// The block's height once committed; null otherwise.
    #[schema(required = true)]
    pub height: Option<u64>,
    /// The position in that block once committed; null otherwise.
    #[schema(required = true)]
    pub index: Option<u32>,
    /// The signing entity (absent when rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<EntityId>,
    /// The signer's nonce (absent when rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    /// The operation, `type` first (absent when rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// The block's hash (only when committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<Hash>,
    /// The block's time (only when committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub time: Option<String>,
    /// Why it was refused (only when rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// `POST /v1/txs` as JSON: the signed transaction's bytes in base64.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxSubmission {
    /// Standard base64 (with padding) of the encoded signed transaction.
    #[schema(format = Byte)]
    pub tx: String,
}

/// `POST /v1/txs` accepted: the transaction is in the mempool.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submitted {
    /// The transaction hash, to poll `/v1/txs/{hash}` with.
    pub hash: Hash,
}

/// `POST /v1/txs/batch`: signed transactions in base64, admitted in order.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxBatchSubmission {
    /// Standard base64 (with padding) of each encoded signed transaction.
    pub txs: Vec<String>,
}

/// One transaction's answer in a batch: its hash, or why it was refused.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    /// Admitted to the mempool.
    Admitted {
        /// The transaction hash.
        hash: Hash,
    },
    /// Refused, with the code and message `POST /v1/txs` would give.
    Refused {
        /// Why.
        error: ErrorDetail,
    },
}

/// `POST /v1/txs/batch` answered: one result per transaction, in order.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSubmitted {
    /// One result per transaction sent, in the same order.
    pub results: Vec<BatchItem>,
    /// How many were admitted.
    pub admitted: usize,
}

/// An entity in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitySummary {
    /// Id.
    pub id: EntityId,
    /// Kind.
    pub kind: EntityKind,
    /// Display name, as registered.
    pub name: String,
    /// A department's ministry; null otherwise.
    #[schema(required = true)]
    pub parent: Option<EntityId>,
    /// Active or suspended.
    pub status: EntityStatus,
}

impl From<&Entity> for EntitySummary {
    fn from(e: &Entity) -> EntitySummary {
        EntitySummary {
            id: e.id.clone(),
            kind: e.kind,
            name: e.name.clone(),
            parent: e.parent.clone(),
            status: e.status,
        }
    }
}

/// `GET /v1/flags`: the red flags standing at a height.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagList {
    /// The height they stand at: the last committed one.
    pub height: u64,
    /// The flags, grouped by kind, each group in chain order.
    pub flags: Vec<FlagView>,
}

/// One red flag: a pattern worth a question, not a finding.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagView {
    /// Its stable id, the same at every height it stands, e.g.
    /// `under-threshold:BYT-BVBM:V-0001`.
    pub id: String,
    /// `paid-without-delivery`, `under-threshold`, `vendor-share`,
    /// `treasury-rotated-key` or `amended-upward`.
    pub kind: String,
    /// The height of the last transaction it rests on; null for a vendor's
    /// share, a standing sum.
    #[schema(required = true)]
    pub height: Option<u64>,
    /// Its page on the explorer.
    pub page: String,
}

/// `GET /v1/entities`: every entity, by id.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityList {
    /// The entities, ordered by id.
    pub entities: Vec<EntitySummary>,
}

/// An entity's four figures on one budget line of one year.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetLineView {
    /// Fiscal year.
    pub year: Year,
    /// Budget line.
    pub line: LineCode,
    /// Received (the treasury: appropriated by law), net of returns.
    pub received: Amount,
    /// Passed on to ministries or departments, net of returns.
    pub passed_on: Amount,
    /// Committed to contracts.
    pub committed: Amount,
    /// Paid to vendors.
    pub paid: Amount,
    /// received − passed on − committed (never null while the ledger's
    /// invariants hold).
    #[schema(required = true)]
    pub available: Option<Amount>,
}

impl BudgetLineView {
    /// One line's figures.
    pub fn new(year: Year, line: &LineCode, f: &BudgetFigures) -> BudgetLineView {
        BudgetLineView {
            year,
            line: line.clone(),
            received: f.received,
            passed_on: f.passed_on,
            committed: f.committed,
            paid: f.paid,
            available: f.available(),
        }
    }
}

/// `GET /v1/entities/{id}`: an entity, its next nonce and its budget lines.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityView {
    /// Id.
    pub id: EntityId,
    /// Kind.
    pub kind: EntityKind,
    /// Display name, as registered.
    pub name: String,
    /// A department's ministry; null otherwise.
    #[schema(required = true)]
    pub parent: Option<EntityId>,
    /// Its current signing keys, ordered.
    pub keys: Vec<PublicKey>,
    /// How many of `keys` must sign a transaction of this entity.
    pub threshold: u8,
    /// Keys the treasury set for it that are not yet in effect; null if
    /// none are pending.
    #[schema(required = true)]
    pub pending_keys: Option<PendingKeysView>,
    /// Active or suspended.
    pub status: EntityStatus,
    /// The nonce its next transaction must carry, counting those pending
    /// in this node's mempool.
    pub next_nonce: u64,
    /// Its figures per (year, line).
    pub budgets: Vec<BudgetLineView>,
}

/// A change of an entity's keys by the treasury, waiting for its height. The
/// entity can cancel it (`cancel-keys`) until then.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingKeysView {
    /// The new keys.
    pub keys: Vec<PublicKey>,
    /// The new threshold.
    pub threshold: u8,
    /// The block that set them.
    pub set_at: u64,
    /// The first block in which they sign for the entity.
    pub effective: u64,
}

impl From<&ledger::state::PendingKeys> for PendingKeysView {
    fn from(p: &ledger::state::PendingKeys) -> PendingKeysView {
        PendingKeysView {
            keys: p.keys.clone(),
            threshold: p.threshold,
            set_at: p.set_at.0,
            effective: p.effective.0,
        }
    }
}

/// A transaction in an entity's history.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntryView {
    /// The transaction hash.
    pub hash: Hash,
    /// Its block.
    pub height: u64,
    /// Its position in the block.
    pub index: u32,
}

impl From<&HistoryEntry> for HistoryEntryView {
    fn from(e: &HistoryEntry) -> HistoryEntryView {
        HistoryEntryView {
            hash: e.tx_hash,
            height: e.location.height.0,
            index: e.location.index,
        }
    }
}

/// `GET /v1/entities/{id}/txs`: a page of the transactions that involve an
/// entity, in chain order (oldest first).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryPage {
    /// The transactions, oldest first.
    pub txs: Vec<HistoryEntryView>,
    /// The `cursor` of the next (newer) page; null on the last page. An
    /// opaque string.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// A delivery recorded on a contract.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryView {
    /// Milestone name.
    pub milestone: String,
    /// Free note.
    pub note: String,
    /// Height it was recorded at.
    pub height: u64,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> DeliveryView {
        DeliveryView {
            milestone: d.milestone.clone(),
            note: d.note.clone(),
            height: d.height.0,
        }
    }
}

/// `GET /v1/contracts/{id}`: a contract, what was paid and what delivered.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractView {
    /// Id.
    pub id: ContractId,
    /// The awarding department.
    pub department: EntityId,
    /// The vendor.
    pub vendor: EntityId,
    /// Fiscal year.
    pub year: Year,
    /// Budget line.
    pub line: LineCode,
    /// Current amount, after amendments.
    pub amount: Amount,
    /// Paid so far.
    pub paid: Amount,
    /// What is bought.
    pub title: String,
    /// SHA-256 of the latest contract document; null if none was given.
    #[schema(required = true)]
    pub document_hash: Option<Hash>,
    /// Height of the award.
    pub awarded_at: u64,
    /// Deliveries, oldest first.
    pub deliveries: Vec<DeliveryView>,
}

impl ContractView {
    /// `c` with its deliveries.
    pub fn new(c: &Contract, deliveries: &[&Delivery]) -> ContractView {
        ContractView {
            id: c.id.clone(),
            department: c.department.clone(),
            vendor: c.vendor.clone(),
            year: c.year,
            line: c.line.clone(),
            amount: c.amount,
            paid: c.paid,
            title: c.title.clone(),
            document_hash: c.document_hash,
            awarded_at: c.awarded_at.0,
            deliveries: deliveries.iter().map(|d| DeliveryView::from(*d)).collect(),
        }
    }
}

/// `GET /v1/validators`: the set deciding a height.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorsAt {
    /// The height this set decides.
    pub height: u64,
    /// The set's total voting power.
    pub total_power: u64,
    /// The validators, ordered by consensus key.
    pub validators: Vec<ValidatorView>,
}

/// `GET /v1/evidence`: all committed evidence of equivocation.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceList {
    /// Oldest first.
    pub evidence: Vec<EvidenceView>,
}

/// `GET /v1/consistency`: the RFC 6962 proof that the history over blocks
/// 1..=`old_size` is a prefix of the history over blocks 1..=`new_size`;
/// the JSON of `ledger::merkle::ConsistencyProof`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyView {
    /// M: the older history holds blocks 1..=M.
    pub old_size: u64,
    /// N: the newer history holds blocks 1..=N.
    pub new_size: u64,
    /// RFC 6962 PROOF(M, D[N]): empty when M = N.
    pub path: Vec<Hash>,
}

impl From<ConsistencyProof> for ConsistencyView {
    fn from(p: ConsistencyProof) -> ConsistencyView {
        ConsistencyView {
            old_size: p.old_size,
            new_size: p.new_size,
            path: p.path,
        }
    }
}

/// The latest cosignature of a witness that this node holds.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosignedAt {
    /// The height of the checkpoint it cosigned: the witness vouches for
    /// blocks 1 to this height.
    pub height: u64,
    /// When the witness cosigned, in ms since the epoch, by its own clock.
    pub time_ms: u64,
}

/// A witness: an entity of kind `observer`, which cosigns checkpoints.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessView {
    /// Id.
    pub id: EntityId,
    /// Display name, as registered.
    pub name: String,
    /// The keys its cosignatures may be signed with.
    pub keys: Vec<PublicKey>,
    /// Active or suspended; a suspended witness's cosignatures are refused.
    pub status: EntityStatus,
    /// Its latest cosignature held by this node; null if it has posted
    /// none here.
    #[schema(required = true)]
    pub latest_cosignature: Option<CosignedAt>,
}

/// `GET /v1/witnesses`: every witness in the committed state.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessList {
    /// The height of the state they are read from.
    pub height: u64,
    /// The witnesses, by id.
    pub witnesses: Vec<WitnessView>,
}

/// `GET /v1/cosignatures`: the latest cosignature of each witness that
/// this node holds.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosignatureList {
    /// One per witness, by witness id.
    pub cosignatures: Vec<Cosignature>,
}

/// `POST /v1/cosignatures` accepted: this node now holds it as the
/// witness's latest.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosignatureKept {
    /// The witness.
    pub witness: EntityId,
    /// The height it cosigned.
    pub height: u64,
}
