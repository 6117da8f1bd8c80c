//! Whose history each transaction belongs to: the signer and every
//! counterparty it names or touches, as the store indexes it.

use std::collections::HashMap;

use crate::state::{BlockOutcome, State, StateKey, StateValue};
use crate::tx::Op;
use crate::types::{ContractId, EntityId};

/// The vendor of every contract a block writes, read once per block so that
/// finding each transaction's counterparty does not scan the writes again.
pub(crate) fn written_vendors(outcome: &BlockOutcome) -> HashMap<ContractId, EntityId> {
    outcome
        .writes
        .iter()
        .filter_map(|(k, v)| match (k, v) {
            (StateKey::Contract(id), Some(StateValue::Contract(c))) => {
                Some((id.clone(), c.vendor.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The entities whose history a transaction belongs to: the signer and every
/// counterparty it names or touches. `vendors` is [`written_vendors`] of the
/// block; other contracts are looked up in `before`.
pub(crate) fn involved(
    signer: &EntityId,
    op: &Op,
    vendors: &HashMap<ContractId, EntityId>,
    before: &State,
) -> Vec<EntityId> {
    let contract_vendor = |id: &ContractId| -> Option<EntityId> {
        vendors
            .get(id)
            .cloned()
            .or_else(|| before.contract(id).map(|c| c.vendor.clone()))
    };
    let mut out = vec![signer.clone()];
    let other = match op {
        Op::RegisterEntity { id, .. } => Some(id.clone()),
        Op::SetStatus { entity, .. }
        | Op::RotateKey { entity, .. }
        | Op::SetKeys { entity, .. }
        | Op::CancelKeys { entity } => Some(entity.clone()),
        Op::SetControl { controller, .. } => Some(controller.clone()),
        Op::Appropriate { to, .. } | Op::Allocate { to, .. } => Some(to.clone()),
        Op::ReturnFunds { .. } => before
            .entity(signer)
            .and_then(|e| e.parent.clone())
            .or_else(|| before.treasury().cloned()),
        Op::Award { vendor, .. } => Some(vendor.clone()),
        Op::AmendContract { contract, .. }
        | Op::Pay { contract, .. }
        | Op::ConfirmDelivery { contract, .. } => contract_vendor(contract),
        Op::RegisterNode { operator, .. } => Some(operator.clone()),
        Op::AcknowledgePayment { contract, .. } => {
            before.contract(contract).map(|c| c.department.clone())
        }
        Op::AddValidator { .. }
        | Op::RemoveValidator { .. }
        | Op::RemoveNode { .. }
        | Op::RemoveControl { .. }
        | Op::CloseYear { .. }
        | Op::ScheduleUpgrade { .. } => None,
    };
    if let Some(o) = other {
        if o != *signer {
            out.push(o);
        }
    }
    out
}
