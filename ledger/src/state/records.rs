//! What the state holds: entities, budget figures, contracts, deliveries,
//! validator sets and registered nodes, and the keys and values of the one
//! ordered map they are kept in. The store persists these records and the
//! API and the explorer show them.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::error::TxError;
use crate::tx::{EntityKind, Status};
use crate::types::{Amount, ContractId, EntityId, Hash, Height, LineCode, PeerId, PublicKey, Year};
use crate::validators::ValidatorSet;

/// An entity on chain.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Entity {
    /// Id.
    pub id: EntityId,
    /// Kind.
    pub kind: EntityKind,
    /// Display name.
    pub name: String,
    /// A department's ministry.
    pub parent: Option<EntityId>,
    /// Current signing keys, ordered and distinct (1 to [`crate::tx::KEYS_MAX`]).
    pub keys: Vec<PublicKey>,
    /// How many of `keys` must sign for the entity.
    pub threshold: u8,
    /// A change of keys by the treasury, waiting for its height.
    pub pending: Option<PendingKeys>,
    /// Active or suspended.
    pub status: Status,
    /// Last committed nonce (0 before its first transaction).
    pub nonce: u64,
}

impl Entity {
    /// True if `key` is one of the entity's current keys.
    pub fn holds(&self, key: &PublicKey) -> bool {
        self.keys.binary_search(key).is_ok()
    }
}

/// Keys the treasury set for another entity, taking effect at `effective`
/// unless the entity cancels them first.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct PendingKeys {
    /// The new keys, ordered and distinct.
    pub keys: Vec<PublicKey>,
    /// The new threshold.
    pub threshold: u8,
    /// The height of the block that set them.
    pub set_at: Height,
    /// The first height at which they sign for the entity.
    pub effective: Height,
}

/// The chain's parameters, fixed in genesis.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ChainParams {
    /// Blocks between the treasury setting another entity's keys and those
    /// keys taking effect.
    pub rotation_delay: u64,
}

/// The protocol version blocks carry, as the treasury scheduled it
/// (`schedule-upgrade`): `version` from `height` on, `previous` before.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Upgrade {
    /// The first height of the new version.
    pub height: Height,
    /// The new version.
    pub version: u32,
    /// The version in force when it was scheduled.
    pub previous: u32,
}

impl Upgrade {
    /// The version block `h` carries.
    pub fn version_at(&self, h: Height) -> u32 {
        if h >= self.height {
            self.version
        } else {
            self.previous
        }
    }
}

/// An expenditure control rule: a `pay` or `award` of at least `amount` by a
/// department of `ministry` (or of any ministry, for the rule without one)
/// also needs `controller`'s signatures, to its threshold.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ControlRule {
    /// The ministry it covers; `None` for all ministries without a rule of
    /// their own.
    pub ministry: Option<EntityId>,
    /// The smallest amount it covers.
    pub amount: Amount,
    /// The controller entity (kind `controller`).
    pub controller: EntityId,
}

/// The four figures kept for each (entity, year, line). For a vendor only
/// `received` is used: what it was paid.
///
/// Returns are netted: a department returning funds lowers its `received`
/// and its ministry's `passed_on`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Encode, Decode, Serialize, Deserialize)]
pub struct BudgetFigures {
    /// Budget received (for the treasury: appropriated by law).
    pub received: Amount,
    /// Budget passed on to children (for the treasury: appropriated to ministries).
    pub passed_on: Amount,
    /// Committed to contracts.
    pub committed: Amount,
    /// Paid to vendors.
    pub paid: Amount,
}

impl BudgetFigures {
    /// received − passed on − committed, or `None` if that is negative, which
    /// execution never allows.
    pub fn available(&self) -> Option<Amount> {
        self.received
            .checked_sub(self.passed_on)?
            .checked_sub(self.committed)
    }
}

/// A contract between a department and a vendor.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Contract {
    /// Id.
    pub id: ContractId,
    /// Awarding department.
    pub department: EntityId,
    /// Vendor.
    pub vendor: EntityId,
    /// Fiscal year.
    pub year: Year,
    /// Budget line.
    pub line: LineCode,
    /// Current amount.
    pub amount: Amount,
    /// Paid so far.
    pub paid: Amount,
    /// What is bought.
    pub title: String,
    /// SHA-256 of the latest contract document.
    pub document_hash: Option<Hash>,
    /// Number of recorded deliveries.
    pub deliveries: u32,
    /// Number of payments made.
    pub payments: u32,
    /// Height of the award.
    pub awarded_at: Height,
}

/// A recorded delivery.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Delivery {
    /// Milestone name.
    pub milestone: String,
    /// Free note.
    pub note: String,
    /// Height it was recorded at.
    pub height: Height,
}

/// Payments a contract's vendor acknowledged, [`ACKS_PER_CHUNK`] to a
/// record: bit `n % ACKS_PER_CHUNK` (least significant first in each byte)
/// of chunk `n / ACKS_PER_CHUNK` is set once payment `n` is acknowledged.
/// The record exists only once one of its payments is, so a payment itself
/// adds nothing to the state: its amount and height are in its block, and
/// the summaries index the unacknowledged ones.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct AckChunk(pub Box<[u8; ACKS_PER_CHUNK as usize / 8]>);

/// Payments one [`AckChunk`] covers.
pub const ACKS_PER_CHUNK: u32 = 1024;

impl AckChunk {
    /// No payment acknowledged.
    pub fn empty() -> AckChunk {
        AckChunk(Box::new([0; ACKS_PER_CHUNK as usize / 8]))
    }

    /// The chunk holding payment `n`, and its bit there.
    pub fn locate(n: u32) -> (u32, usize) {
        (n / ACKS_PER_CHUNK, (n % ACKS_PER_CHUNK) as usize)
    }

    /// Whether the payment at `bit` is acknowledged.
    pub fn get(&self, bit: usize) -> bool {
        self.0[bit / 8] & (1 << (bit % 8)) != 0
    }

    /// Marks the payment at `bit` acknowledged.
    pub fn set(&mut self, bit: usize) {
        self.0[bit / 8] |= 1 << (bit % 8);
    }
}

/// A full node allowed to connect.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its peer id.
    pub peer_id: PeerId,
    /// The entity that runs it.
    pub operator: EntityId,
}

/// Which validator set a [`StateKey::Validators`] entry holds, relative to the
/// last committed height L.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Encode, Decode)]
pub enum ValidatorSlot {
    /// set(L+1): decides the next block.
    Current,
    /// set(L+2): fixed by the changes committed up to block L.
    Next,
}

/// A key in the state map. The derived order is the iteration order.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Encode, Decode)]
pub enum StateKey {
    /// The id of the treasury.
    Treasury,
    /// An entity.
    Entity(EntityId),
    /// Figures of (entity, year, line).
    Budget(EntityId, Year, LineCode),
    /// A contract.
    Contract(ContractId),
    /// The n-th delivery of a contract.
    Delivery(ContractId, u32),
    /// A validator set.
    Validators(ValidatorSlot),
    /// A registered full node.
    Node(PeerId),
    /// The chain's parameters.
    Params,
    /// Index of pending key changes: the entity whose [`PendingKeys`] take
    /// effect at this height.
    KeysDue(Height, EntityId),
    /// The control rule of a ministry, or (`None`) of all ministries.
    /// (Execution finds whether any rule exists by the range from
    /// `Control(None)` to the first `Acks` key: keep them adjacent.)
    Control(Option<EntityId>),
    /// Which of a contract's payments its vendor acknowledged, by chunk of
    /// [`ACKS_PER_CHUNK`] payments (0 for the first).
    Acks(ContractId, u32),
    /// A closed fiscal year.
    YearClosed(Year),
    /// The last protocol upgrade scheduled.
    Upgrade,
}

impl StateKey {
    /// The key an auditor names in text: `entity:ID`, `line:YEAR/LINE/ENTITY`
    /// (a budget line's figures) or `contract:ID`, as `GET /v1/state-proof`
    /// and `minhbach proof state` take them.
    pub fn parse_ref(s: &str) -> Result<StateKey, TxError> {
        let bad = |reason: String| TxError::InvalidArgument {
            field: "key",
            reason,
        };
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            bad(format!(
                "{s:?} is not entity:ID, line:YEAR/LINE/ENTITY or contract:ID"
            ))
        })?;
        match kind {
            "entity" => Ok(StateKey::Entity(EntityId::new(rest)?)),
            "contract" => Ok(StateKey::Contract(ContractId::new(rest)?)),
            "line" => {
                let parts: Vec<&str> = rest.split('/').collect();
                let [year, line, entity] = parts[..] else {
                    return Err(bad(format!("{rest:?} is not YEAR/LINE/ENTITY")));
                };
                let year: u16 = year
                    .parse()
                    .map_err(|_| bad(format!("{year:?} is not a year")))?;
                Ok(StateKey::Budget(
                    EntityId::new(entity)?,
                    Year::new(year)?,
                    LineCode::new(line)?,
                ))
            }
            other => Err(bad(format!(
                "{other:?} is not a kind of key: entity, line or contract"
            ))),
        }
    }

    /// The text [`StateKey::parse_ref`] reads, for the keys it reads.
    pub fn to_ref(&self) -> Option<String> {
        match self {
            StateKey::Entity(id) => Some(format!("entity:{id}")),
            StateKey::Contract(id) => Some(format!("contract:{id}")),
            StateKey::Budget(entity, year, line) => Some(format!("line:{year}/{line}/{entity}")),
            _ => None,
        }
    }

    /// True if `value` is the kind of value this key holds.
    pub fn accepts(&self, value: &StateValue) -> bool {
        matches!(
            (self, value),
            (StateKey::Treasury, StateValue::Treasury(_))
                | (StateKey::Entity(_), StateValue::Entity(_))
                | (StateKey::Budget(..), StateValue::Budget(_))
                | (StateKey::Contract(_), StateValue::Contract(_))
                | (StateKey::Delivery(..), StateValue::Delivery(_))
                | (StateKey::Validators(_), StateValue::Validators(_))
                | (StateKey::Node(_), StateValue::Node(_))
                | (StateKey::Params, StateValue::Params(_))
                | (StateKey::KeysDue(..), StateValue::KeysDue)
                | (StateKey::Control(_), StateValue::Control(_))
                | (StateKey::Acks(..), StateValue::Acks(_))
                | (StateKey::YearClosed(_), StateValue::YearClosed(_))
                | (StateKey::Upgrade, StateValue::Upgrade(_))
        )
    }
}

/// A value in the state map.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum StateValue {
    /// For [`StateKey::Treasury`].
    Treasury(EntityId),
    /// For [`StateKey::Entity`].
    Entity(Entity),
    /// For [`StateKey::Budget`].
    Budget(BudgetFigures),
    /// For [`StateKey::Contract`].
    Contract(Contract),
    /// For [`StateKey::Delivery`].
    Delivery(Delivery),
    /// For [`StateKey::Validators`].
    Validators(ValidatorSet),
    /// For [`StateKey::Node`].
    Node(NodeRecord),
    /// For [`StateKey::Params`].
    Params(ChainParams),
    /// For [`StateKey::KeysDue`]: the entry itself is the record.
    KeysDue,
    /// For [`StateKey::Control`].
    Control(ControlRule),
    /// For [`StateKey::Acks`].
    Acks(AckChunk),
    /// For [`StateKey::YearClosed`]: the height of the block that closed it.
    YearClosed(Height),
    /// For [`StateKey::Upgrade`].
    Upgrade(Upgrade),
}

/// One state write; `None` deletes.
pub type Write = (StateKey, Option<StateValue>);
