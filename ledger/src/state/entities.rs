//! Registering entities and their status. Their keys are changed in
//! `approvals`.

use super::{
    check_key_set, entity_put, required_text, treasury_only, unknown_entity, BlockExec, Changes,
    Entity, EntityId, EntityKind, PublicKey, Status, TxError, NAME_BYTES_MAX,
};

impl BlockExec<'_> {
    /// `register-entity`: the treasury registers a ministry, a department
    /// (under its ministry), a vendor, an observer or a controller, with its
    /// keys and threshold.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn register_entity(
        &self,
        s: &Entity,
        id: &EntityId,
        kind: &EntityKind,
        name: &str,
        parent: &Option<EntityId>,
        keys: &[PublicKey],
        threshold: u8,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        treasury_only(s, "register-entity")?;
        if *kind == EntityKind::Treasury {
            return Err(TxError::InvalidArgument {
                field: "kind",
                reason: "there is exactly one treasury, created in genesis".into(),
            });
        }
        if self.entity_ref(id).is_some() {
            return Err(TxError::Duplicate {
                what: "entity",
                id: id.to_string(),
            });
        }
        required_text("name", name, NAME_BYTES_MAX)?;
        let keys = check_key_set(keys, threshold)?;
        match (kind, parent) {
            (EntityKind::Department, None) => {
                return Err(TxError::InvalidArgument {
                    field: "parent",
                    reason: "a department needs its ministry as parent".into(),
                })
            }
            (EntityKind::Department, Some(p)) => {
                let parent = self.entity_ref(p).ok_or_else(|| unknown_entity(p))?;
                if parent.kind != EntityKind::Ministry {
                    return Err(TxError::InvalidArgument {
                        field: "parent",
                        reason: format!("{p} is a {}, not a ministry", parent.kind.as_str()),
                    });
                }
            }
            (_, Some(_)) => {
                return Err(TxError::InvalidArgument {
                    field: "parent",
                    reason: format!("only departments have a parent, not a {}", kind.as_str()),
                })
            }
            (_, None) => {}
        }
        ch.push(entity_put(Entity {
            id: id.clone(),
            kind: *kind,
            name: name.to_owned(),
            parent: parent.clone(),
            keys,
            threshold,
            pending: None,
            status: Status::Active,
            nonce: 0,
        }));
        Ok(ch)
    }

    /// `set-status`: the treasury suspends or reactivates an entity (never itself).
    pub(super) fn set_status(
        &self,
        s: &Entity,
        entity: &EntityId,
        status: &Status,
    ) -> Result<Changes, TxError> {
        let mut ch = Changes::new();
        treasury_only(s, "set-status")?;
        let mut e = self.entity(entity).ok_or_else(|| unknown_entity(entity))?;
        if e.kind == EntityKind::Treasury {
            return Err(TxError::InvalidArgument {
                field: "entity",
                reason: "the treasury cannot be suspended".into(),
            });
        }
        if e.status == *status {
            return Err(TxError::NoOp {
                op: "set-status",
                reason: format!("{entity} is already {}", status.as_str()),
            });
        }
        e.status = *status;
        ch.push(entity_put(e));
        Ok(ch)
    }
}
