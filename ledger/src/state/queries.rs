//! Reading the committed state: its chain, height and root, and its
//! entities, budgets, contracts, deliveries, validator sets and nodes, by
//! key or in key order, as the API, the explorer and the mempool ask for
//! them.

use super::{
    BudgetFigures, Contract, Delivery, Entity, NodeRecord, State, StateKey, StateValue, Upgrade,
    ValidatorSlot,
};
use crate::block::GENESIS_PROTOCOL_VERSION;
use crate::types::{ContractId, EntityId, Hash, Height, LineCode, Year};
use crate::validators::ValidatorSet;

impl State {
    /// Whether the vendor acknowledged the `n`-th payment of a contract (0
    /// for the first); `None` if the contract has no such payment.
    pub fn acknowledged(&self, contract: &ContractId, n: u32) -> Option<bool> {
        if n >= self.contract(contract)?.payments {
            return None;
        }
        let (chunk, bit) = super::AckChunk::locate(n);
        Some(
            match self.map.get(&StateKey::Acks(contract.clone(), chunk)) {
                Some(StateValue::Acks(a)) => a.get(bit),
                _ => false,
            },
        )
    }

    /// Chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Last committed height.
    pub fn height(&self) -> Height {
        self.height
    }

    /// State root after the last committed block.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&StateKey, &StateValue)> {
        self.map.iter()
    }

    /// The entry under `key`.
    pub fn value(&self, key: &StateKey) -> Option<&StateValue> {
        self.map.get(key)
    }

    /// How many entries the state holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the state holds no entry.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Whether the state holds an entry under `key`.
    pub fn holds(&self, key: &StateKey) -> bool {
        self.map.contains_key(key)
    }

    /// An entity.
    pub fn entity(&self, id: &EntityId) -> Option<&Entity> {
        match self.map.get(&StateKey::Entity(id.clone())) {
            Some(StateValue::Entity(e)) => Some(e),
            _ => None,
        }
    }

    /// The id of the treasury.
    pub fn treasury(&self) -> Option<&EntityId> {
        match self.map.get(&StateKey::Treasury) {
            Some(StateValue::Treasury(id)) => Some(id),
            _ => None,
        }
    }

    /// All entities, by id.
    pub fn entities(&self) -> impl Iterator<Item = &Entity> {
        // Keys order by their kind first: each kind's entries are one range
        // of the map, read without passing over the others.
        let first = StateKey::Entity(EntityId::from_checked(""));
        self.map.range(first..).map_while(|(_, v)| match v {
            StateValue::Entity(e) => Some(e),
            _ => None,
        })
    }

    /// Figures of (entity, year, line), zero if never touched.
    pub fn budget(&self, entity: &EntityId, year: Year, line: &LineCode) -> BudgetFigures {
        match self
            .map
            .get(&StateKey::Budget(entity.clone(), year, line.clone()))
        {
            Some(StateValue::Budget(b)) => *b,
            _ => BudgetFigures::default(),
        }
    }

    /// Every budget line touched, with its figures.
    pub fn budgets(&self) -> impl Iterator<Item = (&EntityId, Year, &LineCode, &BudgetFigures)> {
        let first = StateKey::Budget(
            EntityId::from_checked(""),
            Year(0),
            LineCode::from_checked(""),
        );
        self.map.range(first..).map_while(|(k, v)| match (k, v) {
            (StateKey::Budget(e, y, l), StateValue::Budget(b)) => Some((e, *y, l, b)),
            _ => None,
        })
    }

    /// A contract.
    pub fn contract(&self, id: &ContractId) -> Option<&Contract> {
        match self.map.get(&StateKey::Contract(id.clone())) {
            Some(StateValue::Contract(c)) => Some(c),
            _ => None,
        }
    }

    /// All contracts, by id.
    pub fn contracts(&self) -> impl Iterator<Item = &Contract> {
        let first = StateKey::Contract(ContractId::from_checked(""));
        self.map.range(first..).map_while(|(_, v)| match v {
            StateValue::Contract(c) => Some(c),
            _ => None,
        })
    }

    /// The deliveries of a contract, in order.
    pub fn deliveries(&self, id: &ContractId) -> Vec<&Delivery> {
        let from = StateKey::Delivery(id.clone(), 0);
        let to = StateKey::Delivery(id.clone(), u32::MAX);
        self.map
            .range(from..=to)
            .filter_map(|(_, v)| match v {
                StateValue::Delivery(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// The last protocol upgrade the treasury scheduled, if any.
    pub fn upgrade(&self) -> Option<&Upgrade> {
        match self.map.get(&StateKey::Upgrade) {
            Some(StateValue::Upgrade(u)) => Some(u),
            _ => None,
        }
    }

    /// The protocol version block `h` must carry: the genesis version
    /// until an upgrade scheduled for `h` or earlier.
    pub fn protocol_version_at(&self, h: Height) -> u32 {
        self.upgrade()
            .map_or(GENESIS_PROTOCOL_VERSION, |u| u.version_at(h))
    }

    /// set(L+1), which decides the next block.
    pub fn validators(&self) -> &ValidatorSet {
        self.validator_slot(ValidatorSlot::Current)
    }

    /// set(L+2).
    pub fn next_validators(&self) -> &ValidatorSet {
        self.validator_slot(ValidatorSlot::Next)
    }

    fn validator_slot(&self, slot: ValidatorSlot) -> &ValidatorSet {
        match self.map.get(&StateKey::Validators(slot)) {
            Some(StateValue::Validators(v)) => v,
            // Genesis always writes both slots; a state without them was not
            // built by this crate.
            _ => panic!("state has no {slot:?} validator set"),
        }
    }

    /// Registered full nodes.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeRecord> {
        self.map.values().filter_map(|v| match v {
            StateValue::Node(n) => Some(n),
            _ => None,
        })
    }

    /// The next nonce `id` must use.
    pub fn next_nonce(&self, id: &EntityId) -> Option<u64> {
        self.entity(id).map(|e| e.nonce + 1)
    }
}
