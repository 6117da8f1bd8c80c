//! What the state holds: entities, budget figures, contracts, deliveries,
//! validator sets and registered nodes, and the keys and values of the one
//! ordered map they are kept in. The store persists these records and the
//! API and the explorer show them.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

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
    /// Current signing key.
    pub public_key: PublicKey,
    /// Active or suspended.
    pub status: Status,
    /// Last committed nonce (0 before its first transaction).
    pub nonce: u64,
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
}

impl StateKey {
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
}

/// One state write; `None` deletes.
pub type Write = (StateKey, Option<StateValue>);
