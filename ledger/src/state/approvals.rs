//! Who may act for an entity: its keys and threshold, the treasury's changes
//! of another entity's keys (which wait the chain's rotation delay, so that
//! the entity sees them coming and can cancel them), and the expenditure
//! control rules under which a large `pay` or `award` also needs a
//! controller's signatures.

use super::{
    entity_put, not_authorized, positive, treasury_only, unknown_entity, Approval, BlockExec,
    Changes, Entity, EntityId, EntityKind, StateKey, StateValue, Status, TxError,
};
use crate::state::records::{ChainParams, ControlRule, PendingKeys};
use crate::tx::{Op, SignedTx, KEYS_MAX};
use crate::types::{Amount, Height, PublicKey};

/// Checks a key set: 1 to [`KEYS_MAX`] distinct good keys and a threshold
/// from 1 to their number. Returns the keys in order, as the state keeps
/// them.
pub fn check_key_set(keys: &[PublicKey], threshold: u8) -> Result<Vec<PublicKey>, TxError> {
    if keys.is_empty() || keys.len() > KEYS_MAX {
        return Err(TxError::BadThreshold {
            reason: format!("{} keys given; an entity holds 1 to {KEYS_MAX}", keys.len()),
        });
    }
    if threshold == 0 || usize::from(threshold) > keys.len() {
        return Err(TxError::BadThreshold {
            reason: format!(
                "threshold {threshold} with {} keys; it must be 1 to the number of keys",
                keys.len()
            ),
        });
    }
    let mut sorted = keys.to_vec();
    sorted.sort();
    for pair in sorted.windows(2) {
        if pair[0] == pair[1] {
            return Err(TxError::BadThreshold {
                reason: format!("key {} is listed twice", pair[0]),
            });
        }
    }
    for key in &sorted {
        crate::crypto::check_key(key)?;
    }
    Ok(sorted)
}

impl BlockExec<'_> {
    /// The operation a control rule covers, and the amount it is judged
    /// by: a payment's or an award's amount, and the new amount of an
    /// amendment that raises a contract (so that a contract awarded just
    /// under the rule cannot be amended past it alone).
    fn controlled_amount(&self, op: &Op) -> Option<(&'static str, Amount)> {
        match op {
            Op::Pay { amount, .. } => Some(("pay", *amount)),
            Op::Award { amount, .. } => Some(("award", *amount)),
            Op::AmendContract {
                contract, amount, ..
            } => {
                let c = self.contract(contract).ok()?;
                (*amount > c.amount).then_some(("amend-contract", *amount))
            }
            _ => None,
        }
    }
}

impl BlockExec<'_> {
    /// The chain's parameters. A state built without them has no delay.
    pub(super) fn params(&self) -> ChainParams {
        match self.get(&StateKey::Params) {
            Some(StateValue::Params(p)) => *p,
            _ => ChainParams { rotation_delay: 0 },
        }
    }

    /// Whether a control rule may be in force (false: surely none), so that
    /// a chain without rules pays nothing more.
    fn any_control_rule(&self) -> bool {
        self.controls_maybe
    }

    /// The control rule that covers `ministry`: its own, else the rule of all
    /// ministries.
    fn control_rule(&self, ministry: &EntityId) -> Option<ControlRule> {
        [Some(ministry.clone()), None].into_iter().find_map(|m| {
            match self.get(&StateKey::Control(m)) {
                Some(StateValue::Control(rule)) => Some(rule.clone()),
                _ => None,
            }
        })
    }

    /// The rule, operation and amount that make `op` by `signer` need a
    /// controller, if any.
    fn control_for(&self, signer: &Entity, op: &Op) -> Option<(ControlRule, &'static str, Amount)> {
        // Only departments spend; anyone else is refused by the operation.
        if signer.kind != EntityKind::Department || !self.any_control_rule() {
            return None;
        }
        let (name, amount) = self.controlled_amount(op)?;
        let rule = self.control_rule(signer.parent.as_ref()?)?;
        (amount >= rule.amount).then_some((rule, name, amount))
    }

    /// Refuses `tx` unless its signatures act for `signer`: every key is the
    /// signer's or (where a control rule covers the operation) the
    /// controller's, the signer's keys reach its threshold, and the
    /// controller's keys reach the controller's. A key both hold counts for
    /// the signer only, so one key never approves its own spending.
    pub(super) fn authorize(
        &self,
        signer: &Entity,
        tx: &SignedTx,
        approval: Approval,
    ) -> Result<(), TxError> {
        let control = self.control_for(signer, &tx.body.op);
        let controller = match &control {
            Some((rule, ..)) => Some(
                self.entity(&rule.controller)
                    .ok_or_else(|| unknown_entity(&rule.controller))?,
            ),
            None => None,
        };
        let (mut own, mut approving) = (0usize, 0usize);
        for key in tx.signing_keys() {
            if signer.holds(key) {
                own += 1;
            } else if controller.as_ref().is_some_and(|c| c.holds(key)) {
                approving += 1;
            } else {
                return Err(TxError::ForeignSignature {
                    key: *key,
                    signer: signer.id.clone(),
                    controller: controller.as_ref().map(|c| c.id.clone()),
                });
            }
        }
        if approval == Approval::KeysOnly {
            return Ok(());
        }
        if own < usize::from(signer.threshold) {
            return Err(TxError::ThresholdNotMet {
                entity: signer.id.clone(),
                threshold: signer.threshold,
                signed: own,
            });
        }
        if let (Some((rule, op, amount)), Some(c)) = (control, controller) {
            if c.status != Status::Active {
                return Err(TxError::Inactive { entity: c.id });
            }
            if approving < usize::from(c.threshold) {
                return Err(TxError::ApprovalRequired {
                    op,
                    ministry: rule.ministry,
                    rule_amount: rule.amount,
                    amount,
                    controller: c.id,
                    threshold: c.threshold,
                    signed: approving,
                });
            }
        }
        Ok(())
    }

    /// `set-keys` (and `rotate-key`, with one key; `op` names which): the
    /// entity replaces its own keys at once; the treasury's change of
    /// another entity's keys waits the chain's rotation delay, replacing any
    /// change already pending. The entity's own change leaves a pending one
    /// in place: a treasury restoring an entity whose key was stolen must
    /// not be undone by the thief's rotation; the entity cancels it
    /// explicitly.
    pub(super) fn set_keys(
        &self,
        op: &'static str,
        s: &Entity,
        entity: &EntityId,
        keys: &[PublicKey],
        threshold: u8,
    ) -> Result<Changes, TxError> {
        let by_treasury = *entity != s.id;
        if by_treasury && s.kind != EntityKind::Treasury {
            return Err(not_authorized(&s.id, format!("set the keys of {entity}")));
        }
        let mut e = self.entity(entity).ok_or_else(|| unknown_entity(entity))?;
        let keys = check_key_set(keys, threshold)?;
        let delay = self.params().rotation_delay;
        let mut ch = Changes::new();
        if !by_treasury || delay == 0 {
            if e.keys == keys && e.threshold == threshold {
                return Err(TxError::NoOp {
                    op,
                    reason: format!("{entity} already holds these keys and threshold"),
                });
            }
            e.keys = keys;
            e.threshold = threshold;
            ch.push(entity_put(e));
            return Ok(ch);
        }
        if e.pending
            .as_ref()
            .is_some_and(|p| p.keys == keys && p.threshold == threshold)
        {
            return Err(TxError::NoOp {
                op,
                reason: format!("these keys are already pending for {entity}"),
            });
        }
        if let Some(old) = e.pending.take() {
            ch.push((StateKey::KeysDue(old.effective, entity.clone()), None));
        }
        let effective = Height(self.height.0.saturating_add(delay));
        e.pending = Some(PendingKeys {
            keys,
            threshold,
            set_at: self.height,
            effective,
        });
        ch.push((
            StateKey::KeysDue(effective, entity.clone()),
            Some(StateValue::KeysDue),
        ));
        ch.push(entity_put(e));
        Ok(ch)
    }

    /// `cancel-keys`: the entity (or the treasury) drops the change of its
    /// keys still pending.
    pub(super) fn cancel_keys(&self, s: &Entity, entity: &EntityId) -> Result<Changes, TxError> {
        if *entity != s.id && s.kind != EntityKind::Treasury {
            return Err(not_authorized(
                &s.id,
                format!("cancel a key change of {entity}"),
            ));
        }
        let mut e = self.entity(entity).ok_or_else(|| unknown_entity(entity))?;
        let Some(pending) = e.pending.take() else {
            return Err(TxError::NoOp {
                op: "cancel-keys",
                reason: format!("{entity} has no pending key change"),
            });
        };
        Ok(vec![
            (StateKey::KeysDue(pending.effective, entity.clone()), None),
            entity_put(e),
        ])
    }

    /// Gives effect to the key changes due at the next height: from it on,
    /// the entity signs with the new keys.
    pub(super) fn apply_due_keys(&mut self) {
        let due = self.height.next();
        for key in self.keys_in(
            StateKey::KeysDue(due, EntityId::from_checked("")),
            StateKey::KeysDue(due.next(), EntityId::from_checked("")),
        ) {
            let StateKey::KeysDue(_, id) = &key else {
                unreachable!("the range holds KeysDue keys only")
            };
            // The index entry goes whatever it names: a state read back
            // with an entry its entity does not match changes nothing else.
            let due_change = self.entity(id).and_then(|e| {
                e.pending
                    .clone()
                    .filter(|p| p.effective == due)
                    .map(|p| (e, p))
            });
            if let Some((mut e, p)) = due_change {
                e.pending = None;
                e.keys = p.keys;
                e.threshold = p.threshold;
                let (k, v) = entity_put(e);
                self.put(k, v);
            }
            self.put(key, None);
        }
    }

    /// `set-control`: the treasury sets the control rule of a ministry, or of
    /// all ministries.
    pub(super) fn set_control(
        &self,
        s: &Entity,
        ministry: &Option<EntityId>,
        amount: Amount,
        controller: &EntityId,
    ) -> Result<Changes, TxError> {
        treasury_only(s, "set-control")?;
        positive(amount)?;
        if let Some(m) = ministry {
            let e = self.entity_ref(m).ok_or_else(|| unknown_entity(m))?;
            if e.kind != EntityKind::Ministry {
                return Err(TxError::InvalidArgument {
                    field: "ministry",
                    reason: format!("{m} is a {}, not a ministry", e.kind.as_str()),
                });
            }
        }
        let c = self
            .entity(controller)
            .ok_or_else(|| unknown_entity(controller))?;
        if c.kind != EntityKind::Controller {
            return Err(TxError::InvalidArgument {
                field: "controller",
                reason: format!("{controller} is a {}, not a controller", c.kind.as_str()),
            });
        }
        if c.status != Status::Active {
            return Err(TxError::Inactive { entity: c.id });
        }
        let rule = ControlRule {
            ministry: ministry.clone(),
            amount,
            controller: controller.clone(),
        };
        let key = StateKey::Control(ministry.clone());
        if matches!(self.get(&key), Some(StateValue::Control(r)) if *r == rule) {
            return Err(TxError::NoOp {
                op: "set-control",
                reason: "this rule is already in force".into(),
            });
        }
        Ok(vec![(key, Some(StateValue::Control(rule)))])
    }

    /// `remove-control`: the treasury removes a control rule.
    pub(super) fn remove_control(
        &self,
        s: &Entity,
        ministry: &Option<EntityId>,
    ) -> Result<Changes, TxError> {
        treasury_only(s, "remove-control")?;
        let key = StateKey::Control(ministry.clone());
        if self.get(&key).is_none() {
            return Err(TxError::NoOp {
                op: "remove-control",
                reason: format!(
                    "there is no control rule for {}",
                    ministry
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| "all ministries".into())
                ),
            });
        }
        Ok(vec![(key, None)])
    }
}

impl super::State {
    /// The control rule under which `op` by `signer` also needs a
    /// controller's signatures, if any: what a client asks before it
    /// collects signatures.
    pub fn control_rule_for(&self, signer: &EntityId, op: &Op) -> Option<ControlRule> {
        let e = self.entity(signer)?;
        self.begin_block().control_for(e, op).map(|(rule, ..)| rule)
    }
}
