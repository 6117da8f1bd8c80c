//! The network: validators and registered nodes.

use super::{
    check_carry_over, overflow, required_text, treasury_only, unknown_entity, BlockExec, Changes,
    Entity, EntityId, Height, NodeRecord, PeerId, PublicKey, StateKey, StateValue, TxError,
    Upgrade, Validator, ValidatorSet, NAME_BYTES_MAX,
};
use crate::block::GENESIS_PROTOCOL_VERSION;

impl BlockExec<'_> {
    /// `add-validator`: the treasury adds a validator; the set it gives takes effect later.
    pub(super) fn add_validator(
        &self,
        s: &Entity,
        name: &str,
        consensus_key: &PublicKey,
        peer_id: &PeerId,
        power: &u64,
    ) -> Result<ValidatorSet, TxError> {
        treasury_only(s, "add-validator")?;
        required_text("name", name, NAME_BYTES_MAX)?;
        crate::crypto::check_key(consensus_key)?;
        if *power == 0 {
            return Err(TxError::InvalidArgument {
                field: "power",
                reason: "must be more than zero".into(),
            });
        }
        let working = self.working_set();
        if working.get(consensus_key).is_some() {
            return Err(TxError::Duplicate {
                what: "validator key",
                id: consensus_key.to_hex(),
            });
        }
        self.peer_id_free(peer_id)?;
        if working.total_power().checked_add(*power).is_none() {
            return Err(overflow("total voting power"));
        }
        let new = working.with_added(Validator {
            name: name.to_owned(),
            consensus_key: *consensus_key,
            peer_id: peer_id.clone(),
            power: *power,
        })?;
        check_carry_over(self.next_set(), &new)?;
        Ok(new)
    }

    /// `remove-validator`: the treasury removes a validator; the set it gives takes effect later.
    pub(super) fn remove_validator(
        &self,
        s: &Entity,
        consensus_key: &PublicKey,
    ) -> Result<ValidatorSet, TxError> {
        treasury_only(s, "remove-validator")?;
        let new = self.working_set().with_removed(consensus_key)?;
        check_carry_over(self.next_set(), &new)?;
        Ok(new)
    }

    /// `register-node`: the treasury lets a full node (by its peer id) join the network for an operator.
    pub(super) fn register_node(
        &self,
        s: &Entity,
        peer_id: &PeerId,
        operator: &EntityId,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        treasury_only(s, "register-node")?;
        self.entity(operator)
            .ok_or_else(|| unknown_entity(operator))?;
        self.peer_id_free(peer_id)?;
        ch.push((
            StateKey::Node(peer_id.clone()),
            Some(StateValue::Node(NodeRecord {
                peer_id: peer_id.clone(),
                operator: operator.clone(),
            })),
        ));
        Ok(ch)
    }

    /// `schedule-upgrade`: the treasury sets the protocol version blocks
    /// carry from `height` on. It replaces an upgrade not yet in force;
    /// nodes that do not speak the version stop before `height`.
    pub(super) fn schedule_upgrade(
        &self,
        s: &Entity,
        height: &Height,
        version: &u32,
    ) -> Result<Changes, TxError> {
        treasury_only(s, "schedule-upgrade")?;
        if *height <= self.height {
            return Err(TxError::InvalidArgument {
                field: "height",
                reason: format!("must be after this block's height, {}", self.height),
            });
        }
        let in_force = match self.get(&StateKey::Upgrade) {
            Some(StateValue::Upgrade(u)) => u.version_at(self.height),
            _ => GENESIS_PROTOCOL_VERSION,
        };
        if *version <= in_force {
            return Err(TxError::InvalidArgument {
                field: "version",
                reason: format!("must be more than the version in force, {in_force}"),
            });
        }
        Ok(vec![(
            StateKey::Upgrade,
            Some(StateValue::Upgrade(Upgrade {
                height: *height,
                version: *version,
                previous: in_force,
            })),
        )])
    }

    /// `remove-node`: the treasury takes a registered node off the network.
    pub(super) fn remove_node(&self, s: &Entity, peer_id: &PeerId) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        treasury_only(s, "remove-node")?;
        if self.get(&StateKey::Node(peer_id.clone())).is_none() {
            return Err(TxError::UnknownEntity {
                what: "node",
                id: peer_id.to_string(),
            });
        }
        ch.push((StateKey::Node(peer_id.clone()), None));
        Ok(ch)
    }

    /// Refuses a peer id already used by a validator or a registered node.
    fn peer_id_free(&self, peer_id: &PeerId) -> Result<(), TxError> {
        let taken = self.get(&StateKey::Node(peer_id.clone())).is_some()
            || [self.base.validators(), self.next_set(), self.working_set()]
                .iter()
                .any(|set| set.validators().iter().any(|v| v.peer_id == *peer_id));
        if taken {
            return Err(TxError::Duplicate {
                what: "peer id",
                id: peer_id.to_string(),
            });
        }
        Ok(())
    }
}
