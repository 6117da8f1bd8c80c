//! What an export reads, in its two steps: the contracts and the names of
//! their parties, copied from the state under its lock; then the `award`,
//! `amend-contract`, `pay` and `confirm-delivery` operations of those
//! contracts, found in the committed blocks and checked against the state.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;

use ledger::state::Contract;
use ledger::store::Store;
use ledger::{Amount, ContractId, EntityId, Height, Op, State, Year};

use super::ocds::{OcdsOptions, OcdsWriter};
use super::table::{CsvRows, Parties};
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
    department: Arc<Party>,
    ministry: Option<Arc<Party>>,
    vendor: Arc<Party>,
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

/// The parties of the contracts captured, each looked up and named once:
/// a capture holds the state lock, and a year may hold a million
/// contracts of a few thousand parties.
struct Names<'s> {
    state: &'s State,
    /// A party, and for a department its ministry.
    known: HashMap<&'s EntityId, (Arc<Party>, Option<Arc<Party>>)>,
}

impl<'s> Names<'s> {
    fn get(&mut self, id: &'s EntityId) -> (Arc<Party>, Option<Arc<Party>>) {
        let state = self.state;
        if let Some(found) = self.known.get(id) {
            return found.clone();
        }
        let parent = state.entity(id).and_then(|e| e.parent.as_ref());
        let named = (
            Arc::new(party(state, id)),
            parent.map(|m| Arc::new(party(state, m))),
        );
        self.known.insert(id, named.clone());
        named
    }
}

impl StateView {
    /// Copies the contracts of fiscal year `year` (every year if `None`) and
    /// the names of their parties from `state`.
    pub fn capture(state: &State, year: Option<Year>) -> StateView {
        let mut names = Names {
            state,
            known: HashMap::new(),
        };
        let contracts = state
            .contracts()
            .filter(|c| year.is_none_or(|y| c.year == y))
            .map(|c| {
                let (department, ministry) = names.get(&c.department);
                let pending = Pending {
                    contract: c.clone(),
                    department,
                    ministry,
                    vendor: names.get(&c.vendor).0,
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

    /// The fiscal year it holds the contracts of (every year if `None`).
    pub fn year(&self) -> Option<Year> {
        self.year
    }

    /// Whether it holds no contract.
    pub fn is_empty(&self) -> bool {
        self.contracts.is_empty()
    }

    /// Walks the blocks of `store` up to L (the view's height) for the
    /// operations on the view's contracts and checks them against the state.
    pub fn collect(self, store: &Store, settings: &Settings) -> Result<Export, ExportError> {
        let as_of = self.as_of(store, settings)?;
        let mut events: BTreeMap<ContractId, Events> = BTreeMap::new();
        self.walk(store, |contract, at, op| {
            events.entry(contract.clone()).or_default().push(at, op);
            Ok(())
        })?;
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

    /// The block the view was taken at: its height, hash and time.
    pub fn as_of(&self, store: &Store, settings: &Settings) -> Result<AsOf, ExportError> {
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

/// Holds what the blocks gave for contract `c` against the state after
/// block `height`: awarded at `award_height`, payments adding up to `paid`
/// (`None` if they overflow), the amount after every amendment, and the
/// deliveries.
fn check_totals(
    c: &Contract,
    height: Height,
    award_height: Option<Height>,
    paid: Option<Amount>,
    amount: Amount,
    deliveries: usize,
) -> Result<(), ExportError> {
    let bad = |what: String| ExportError::Inconsistent {
        contract: c.id.clone(),
        height,
        what,
    };
    let award_height = award_height.ok_or_else(|| bad("no award in the blocks".into()))?;
    if award_height != c.awarded_at {
        return Err(bad(format!(
            "awarded at height {award_height} in the blocks, {} in the state",
            c.awarded_at
        )));
    }
    let paid = paid.ok_or_else(|| bad("the payments overflow".into()))?;
    if paid != c.paid {
        return Err(bad(format!(
            "payments add up to {paid}, the state says {} paid",
            c.paid
        )));
    }
    if amount != c.amount {
        return Err(bad(format!(
            "the blocks give amount {amount}, the state {}",
            c.amount
        )));
    }
    if deliveries != c.deliveries as usize {
        return Err(bad(format!(
            "{deliveries} deliveries in the blocks, {} in the state",
            c.deliveries
        )));
    }
    Ok(())
}

/// What the streamed CSV counts of a contract as it goes, to check at the
/// end.
struct Tally {
    award_height: Option<Height>,
    paid: Option<Amount>,
    amount: Amount,
    deliveries: usize,
}

impl StateView {
    /// Writes the CSV table of [`Export::to_csv`], byte for byte, to `out`
    /// as it reads: the header and the `snapshot` row at once, then the
    /// `contract` rows as one pass over the blocks meets the awards (which
    /// is award order), then the `payment` rows as a second pass meets
    /// them. Only blocks from the first award of the view's contracts to
    /// its height are read, each block's transactions one by one, and
    /// memory holds the view and a tally a contract, never the rows. The
    /// blocks are checked against the state as [`StateView::collect`]
    /// does, but at the end: on a disagreement `out` already holds part of
    /// the table, and the error says so.
    pub fn write_csv<W: Write>(
        self,
        store: &Store,
        settings: &Settings,
        out: W,
    ) -> Result<W, ExportError> {
        let as_of = self.as_of(store, settings)?;
        let mut csv = CsvRows::start(out, &as_of, self.year)?;
        csv.flush()?;
        let mut tallies: HashMap<&ContractId, Tally> = self
            .contracts
            .keys()
            .map(|id| {
                let tally = Tally {
                    award_height: None,
                    paid: Some(Amount::ZERO),
                    amount: Amount::ZERO,
                    deliveries: 0,
                };
                (id, tally)
            })
            .collect();
        for pass in [Pass::Awards, Pass::Rest] {
            self.walk(store, |id, at, op| {
                let (Some(p), Some(tally)) = (self.contracts.get(id), tallies.get_mut(id)) else {
                    return Ok(());
                };
                match (op, pass) {
                    (Op::Award { amount, .. }, Pass::Awards) => {
                        csv.contract(&p.contract, p.parties(), &at)?;
                        tally.award_height = Some(at.height);
                        tally.amount = *amount;
                    }
                    (Op::AmendContract { amount, .. }, Pass::Rest) => tally.amount = *amount,
                    (Op::ConfirmDelivery { .. }, Pass::Rest) => tally.deliveries += 1,
                    (
                        Op::Pay {
                            amount,
                            reference,
                            document_hash,
                            ..
                        },
                        Pass::Rest,
                    ) => {
                        let payment = PaymentEvent {
                            at,
                            amount: *amount,
                            reference: reference.clone(),
                            document_hash: *document_hash,
                        };
                        csv.payment(&p.contract, p.parties(), &payment)?;
                        tally.paid = tally.paid.and_then(|sum| sum.checked_add(*amount));
                    }
                    _ => {}
                }
                Ok(())
            })?;
        }
        for (id, p) in &self.contracts {
            let t = &tallies[id];
            check_totals(
                &p.contract,
                self.height,
                t.award_height,
                t.paid,
                t.amount,
                t.deliveries,
            )?;
        }
        csv.finish()
    }
}

impl StateView {
    /// Writes the OCDS package of [`Export::write_ocds`], byte for byte, to
    /// `out` as it reads: the package's fields before `releases` at once,
    /// then each contract's release as soon as its transactions are read,
    /// in award order. The transactions of each contract are found through
    /// the store's index of them (the summaries), read one by one and
    /// checked against the state as [`StateView::collect`] does; blocks
    /// are never read whole, and memory holds the view and the contracts
    /// awarded in one block. A store without complete summaries is read
    /// block by block and the package written when taken whole. On a
    /// disagreement `out` already holds part of the package, and the error
    /// says so.
    pub fn write_ocds<W: Write>(
        mut self,
        store: &Store,
        settings: &Settings,
        options: &OcdsOptions,
        out: W,
    ) -> Result<W, ExportError> {
        if !store.summaries_complete()? {
            return self.collect(store, settings)?.write_ocds(options, out);
        }
        let publication = Export {
            as_of: self.as_of(store, settings)?,
            year: self.year,
            currency: settings.currency.clone(),
            publisher: self.treasury.clone(),
            contracts: Vec::new(),
        };
        if self.contracts.is_empty() {
            return publication.write_ocds(options, out);
        }
        let mut by_award: BTreeMap<Height, Vec<ContractId>> = BTreeMap::new();
        for (id, p) in &self.contracts {
            by_award
                .entry(p.contract.awarded_at)
                .or_default()
                .push(id.clone());
        }
        let mut times = BlockTimes::default();
        let mut w = OcdsWriter::start(out, &publication, options)?;
        for ids in by_award.into_values() {
            let mut awarded = Vec::with_capacity(ids.len());
            for id in ids {
                let Some(pending) = self.contracts.remove(&id) else {
                    continue;
                };
                let events = self.indexed_events(store, &id, &mut times)?;
                awarded.push(events.check(pending, self.height)?);
            }
            awarded.sort_by_key(|c| (c.award.at.height, c.award.at.index));
            for c in &awarded {
                w.release(c)?;
            }
        }
        w.finish()
    }

    /// The operations on contract `id` up to the view's height, read
    /// through the store's index of its transactions.
    fn indexed_events(
        &self,
        store: &Store,
        id: &ContractId,
        times: &mut BlockTimes,
    ) -> Result<Events, ExportError> {
        let mut events = Events::default();
        for (height, index, tx_hash) in ledger::summary::read::contract_txs(store, id)? {
            if height > self.height {
                break;
            }
            let tx = store
                .tx_at(height, index)?
                .ok_or(ExportError::MissingBlock { height })?;
            if contract_of(&tx.body.op) != Some(id) {
                return Err(ExportError::Inconsistent {
                    contract: id.clone(),
                    height: self.height,
                    what: format!(
                        "the index names transaction {index} of block {height}, \
                         which is not about this contract"
                    ),
                });
            }
            let at = Committed {
                height,
                index,
                time_ms: times.get(store, height)?,
                tx_hash,
            };
            events.push(at, &tx.body.op);
        }
        Ok(events)
    }
}

/// Block times already read, so that a contract's transactions in one
/// block read its header once. Forgotten whole past
/// [`BlockTimes::HELD_MAX`] entries, so that memory stays bounded on a
/// long chain.
#[derive(Default)]
struct BlockTimes(HashMap<Height, u64>);

impl BlockTimes {
    const HELD_MAX: usize = 1 << 16;

    fn get(&mut self, store: &Store, height: Height) -> Result<u64, ExportError> {
        if let Some(&t) = self.0.get(&height) {
            return Ok(t);
        }
        let header = store
            .header(height)?
            .ok_or(ExportError::MissingBlock { height })?;
        if self.0.len() >= Self::HELD_MAX {
            self.0.clear();
        }
        self.0.insert(height, header.time_ms);
        Ok(header.time_ms)
    }
}

impl StateView {
    /// Calls `f` on each operation on one of the view's contracts, in
    /// chain order, reading the blocks from the first contract's award to
    /// the view's height (none if the view holds no contract).
    fn walk(
        &self,
        store: &Store,
        mut f: impl FnMut(&ContractId, Committed, &Op) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let first = self.contracts.values().map(|p| p.contract.awarded_at);
        let from = first.min().map_or(self.height.0 + 1, |h| h.0.max(1));
        for h in from..=self.height.0 {
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
                f(contract, at, &tx.body.op)?;
            }
        }
        Ok(())
    }
}

/// The two passes of [`StateView::write_csv`].
#[derive(Clone, Copy)]
enum Pass {
    /// The awards, for the `contract` rows.
    Awards,
    /// Amendments, deliveries and payments, for the `payment` rows and the
    /// check.
    Rest,
}

impl Pending {
    fn parties(&self) -> Parties<'_> {
        Parties {
            department: &self.department,
            ministry: self.ministry.as_deref(),
            vendor: &self.vendor,
        }
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
        let paid = self
            .payments
            .iter()
            .try_fold(Amount::ZERO, |sum, p| sum.checked_add(p.amount));
        check_totals(
            c,
            height,
            Some(award.at.height),
            paid,
            self.amount,
            self.deliveries.len(),
        )?;
        Ok(ContractExport {
            contract: pending.contract,
            department: Party::clone(&pending.department),
            ministry: pending.ministry.as_deref().cloned(),
            vendor: Party::clone(&pending.vendor),
            award,
            amendments: self.amendments,
            payments: self.payments,
            deliveries: self.deliveries,
        })
    }
}
