//! What an export reads, in its two steps: the contracts and the names of
//! their parties, copied from the state under its lock; then the `award`,
//! `amend-contract`, `pay` and `confirm-delivery` operations of those
//! contracts, found in the committed blocks and checked against the state.

use std::collections::BTreeMap;

use ledger::state::Contract;
use ledger::store::Store;
use ledger::{Amount, ContractId, EntityId, Height, Op, State, Year};

use super::{
    AmendmentEvent, AsOf, AwardEvent, Committed, ContractExport, DeliveryEvent, Export,
    ExportError, Party, PaymentEvent, Settings,
};

/// What an export reads from the state. Taking it is quick; hold the state
/// lock for [`StateView::capture`] only.
#[derive(Clone, Debug)]
pub struct StateView {
    chain_id: String,
    height: Height,
    year: Option<Year>,
    treasury: Option<Party>,
    contracts: BTreeMap<ContractId, Pending>,
}

#[derive(Clone, Debug)]
struct Pending {
    contract: Contract,
    department: Party,
    ministry: Option<Party>,
    vendor: Party,
}

fn party(state: &State, id: &EntityId) -> Party {
    Party {
        id: id.clone(),
        // Entities are never removed, so a contract's parties are always
        // there; the id stands in should a damaged state lack one.
        name: state
            .entity(id)
            .map_or_else(|| id.to_string(), |e| e.name.clone()),
    }
}

impl StateView {
    /// Copies the contracts of fiscal year `year` (every year if `None`) and
    /// the names of their parties from `state`.
    pub fn capture(state: &State, year: Option<Year>) -> StateView {
        let contracts = state
            .contracts()
            .filter(|c| year.is_none_or(|y| c.year == y))
            .map(|c| {
                let department = party(state, &c.department);
                let ministry = state
                    .entity(&c.department)
                    .and_then(|d| d.parent.as_ref())
                    .map(|m| party(state, m));
                let pending = Pending {
                    contract: c.clone(),
                    department,
                    ministry,
                    vendor: party(state, &c.vendor),
                };
                (c.id.clone(), pending)
            })
            .collect();
        StateView {
            chain_id: state.chain_id().to_owned(),
            height: state.height(),
            year,
            treasury: state.treasury().map(|t| party(state, t)),
            contracts,
        }
    }

    /// The height the view was taken at.
    pub fn height(&self) -> Height {
        self.height
    }

    /// Walks blocks 1..=L of `store` (L = the view's height) for the
    /// operations on the view's contracts and checks them against the state.
    pub fn collect(self, store: &Store, settings: &Settings) -> Result<Export, ExportError> {
        let as_of = self.as_of(store, settings)?;
        let mut events: BTreeMap<ContractId, Events> = BTreeMap::new();
        // Nothing to look for: skip the walk.
        let top = if self.contracts.is_empty() {
            0
        } else {
            self.height.0
        };
        for h in 1..=top {
            let height = Height(h);
            let block = store
                .block(height)?
                .ok_or(ExportError::MissingBlock { height })?;
            for (i, tx) in block.txs.iter().enumerate() {
                let Some(contract) = contract_of(&tx.body.op) else {
                    continue;
                };
                if !self.contracts.contains_key(contract) {
                    continue;
                }
                let at = Committed {
                    height,
                    index: i as u32,
                    time_ms: block.header.time_ms,
                    tx_hash: tx.hash(),
                };
                events
                    .entry(contract.clone())
                    .or_default()
                    .push(at, &tx.body.op);
            }
        }
        let mut contracts = Vec::with_capacity(self.contracts.len());
        for (id, pending) in self.contracts {
            let found = events.remove(&id).unwrap_or_default();
            contracts.push(found.check(pending, self.height)?);
        }
        contracts.sort_by_key(|c| (c.award.at.height, c.award.at.index));
        Ok(Export {
            as_of,
            year: self.year,
            currency: settings.currency.clone(),
            publisher: self.treasury,
            contracts,
        })
    }

    fn as_of(&self, store: &Store, settings: &Settings) -> Result<AsOf, ExportError> {
        let (block_hash, time_ms) = if self.height.0 == 0 {
            let meta = store.meta()?.ok_or(ExportError::MissingBlock {
                height: self.height,
            })?;
            (meta.genesis_hash, settings.genesis_time_ms)
        } else {
            let block = store.block(self.height)?.ok_or(ExportError::MissingBlock {
                height: self.height,
            })?;
            (block.hash(), block.header.time_ms)
        };
        Ok(AsOf {
            chain_id: self.chain_id.clone(),
            height: self.height,
            block_hash,
            time_ms,
        })
    }
}

fn contract_of(op: &Op) -> Option<&ContractId> {
    match op {
        Op::Award { contract, .. }
        | Op::AmendContract { contract, .. }
        | Op::Pay { contract, .. }
        | Op::ConfirmDelivery { contract, .. } => Some(contract),
        _ => None,
    }
}

/// The operations found for one contract, in chain order.
#[derive(Default)]
struct Events {
    award: Option<AwardEvent>,
    amendments: Vec<AmendmentEvent>,
    payments: Vec<PaymentEvent>,
    deliveries: Vec<DeliveryEvent>,
    /// The amount after the operations so far.
    amount: Amount,
}

impl Events {
    fn push(&mut self, at: Committed, op: &Op) {
        match op {
            Op::Award {
                amount,
                document_hash,
                ..
            } => {
                self.award = Some(AwardEvent {
                    at,
                    amount: *amount,
                    document_hash: *document_hash,
                });
                self.amount = *amount;
            }
            Op::AmendContract {
                amount,
                reason,
                document_hash,
                ..
            } => {
                self.amendments.push(AmendmentEvent {
                    at,
                    previous: self.amount,
                    amount: *amount,
                    reason: reason.clone(),
                    document_hash: *document_hash,
                });
                self.amount = *amount;
            }
            Op::Pay {
                amount,
                reference,
                document_hash,
                ..
            } => self.payments.push(PaymentEvent {
                at,
                amount: *amount,
                reference: reference.clone(),
                document_hash: *document_hash,
            }),
            Op::ConfirmDelivery {
                milestone, note, ..
            } => self.deliveries.push(DeliveryEvent {
                at,
                milestone: milestone.clone(),
                note: note.clone(),
            }),
            _ => {}
        }
    }

    /// Checks the events against the contract in the state.
    fn check(self, pending: Pending, height: Height) -> Result<ContractExport, ExportError> {
        let c = &pending.contract;
        let bad = |what: String| ExportError::Inconsistent {
            contract: c.id.clone(),
            height,
            what,
        };
        let award = self
            .award
            .ok_or_else(|| bad("no award in the blocks".into()))?;
        if award.at.height != c.awarded_at {
            return Err(bad(format!(
                "awarded at height {} in the blocks, {} in the state",
                award.at.height, c.awarded_at
            )));
        }
        let paid = self
            .payments
            .iter()
            .try_fold(Amount::ZERO, |sum, p| sum.checked_add(p.amount))
            .ok_or_else(|| bad("the payments overflow".into()))?;
        if paid != c.paid {
            return Err(bad(format!(
                "payments add up to {paid}, the state says {} paid",
                c.paid
            )));
        }
        if self.amount != c.amount {
            return Err(bad(format!(
                "the blocks give amount {}, the state {}",
                self.amount, c.amount
            )));
        }
        if self.deliveries.len() != c.deliveries as usize {
            return Err(bad(format!(
                "{} deliveries in the blocks, {} in the state",
                self.deliveries.len(),
                c.deliveries
            )));
        }
        Ok(ContractExport {
            contract: pending.contract,
            department: pending.department,
            ministry: pending.ministry,
            vendor: pending.vendor,
            award,
            amendments: self.amendments,
            payments: self.payments,
            deliveries: self.deliveries,
        })
    }
}
