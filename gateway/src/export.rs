//! Exports for journalists and auditors (SPEC §7 `export`, §8
//! `/v1/export.csv` and `/v1/export/ocds.json`): the contracts and payments
//! of the chain as one CSV table, or as an OCDS 1.1.5 release package.
//!
//! An export is taken at one committed height L and says so: every CSV row
//! carries `as_of_height` and `as_of_block_hash`, and the OCDS package carries
//! them in its `uri`, its `publicationPolicy` and a `minhbach` extension
//! object. It is built in two steps, so that the node's state lock is held
//! only for the first:
//!
//! 1. [`StateView::capture`] copies from the [`State`] after block L what the
//!    export needs: the contracts (of one fiscal year, or all), with the names
//!    of their department, ministry and vendor.
//! 2. [`StateView::collect`] walks the store's blocks 1..=L, which never change
//!    once committed, and picks up the `award`, `amend-contract`, `pay` and
//!    `confirm-delivery` operations of those contracts with their heights,
//!    times and transaction hashes. It then checks them against the state:
//!    the payments add up to each contract's `paid`, the last amount is its
//!    `amount`, the deliveries are as many as it counts.
//!
//! Cost: step 2 reads and decodes every block up to L, O(blocks + txs) of the
//! whole chain, for any year filter; memory is O(exported contracts and their
//! events). This module writes nothing and keeps no index of its own.
//!
//! This module does not decide what the numbers are (that is the ledger's
//! state) and does not serve HTTP (that is [`crate::api`]).

use std::collections::BTreeMap;

use genesis::Currency;
use ledger::state::Contract;
use ledger::store::{Store, StoreError};
use ledger::{Amount, ContractId, EntityId, Hash, Height, Op, State, Year};
use serde_json::{json, Value};
use thiserror::Error;

use node::shared::Shared;

use crate::time::rfc3339;

/// Prefix of every OCDS `ocid` this chain publishes. OCDS asks publishers to
/// register a prefix `ocds-xxxxxx`; until one is registered, `mb0000` marks
/// Minh Bạch. The chain id follows it, so two chains never share an ocid.
pub const OCID_PREFIX: &str = "ocds-mb0000";

/// The OCDS schema version the package follows (1.1.5 is a patch of 1.1).
pub const OCDS_VERSION: &str = "1.1";

/// The licence of the published data: Creative Commons Attribution 4.0.
pub const LICENSE_URI: &str = "https://creativecommons.org/licenses/by/4.0/";

/// The columns of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 21] = [
    "as_of_height",
    "as_of_block_hash",
    "record_type",
    "height",
    "time",
    "tx_hash",
    "contract_id",
    "title",
    "department_id",
    "department_name",
    "ministry_id",
    "ministry_name",
    "vendor_id",
    "vendor_name",
    "year",
    "line",
    "amount",
    "paid",
    "deliveries",
    "reference",
    "document_hash",
];

/// Why an export could not be made.
#[derive(Debug, Error)]
pub enum ExportError {
    /// The store could not be read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A block at or below the export's height is not in the store.
    #[error("block {height} is missing from the store")]
    MissingBlock {
        /// Its height.
        height: Height,
    },
    /// The blocks and the state disagree about a contract; the store needs
    /// `minhbach verify chain`.
    #[error(
        "contract {contract}: the blocks up to height {height} disagree with the state: {what}"
    )]
    Inconsistent {
        /// The contract.
        contract: ContractId,
        /// The export's height.
        height: Height,
        /// What disagrees.
        what: String,
    },
    /// An OCDS package needs at least one release, and there is no contract.
    #[error("{}", no_contracts_message(*.year, *.height))]
    NoContracts {
        /// The year filter.
        year: Option<Year>,
        /// The export's height.
        height: Height,
    },
    /// Writing the CSV failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}

fn no_contracts_message(year: Option<Year>, height: Height) -> String {
    let scope = match year {
        Some(y) => format!("in fiscal year {y}"),
        None => "at all".to_owned(),
    };
    format!(
        "no contract was awarded {scope} as of height {height}; \
         an OCDS release package needs at least one release"
    )
}

/// Chain facts an export needs that the state does not hold.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The chain's currency (code and decimals).
    pub currency: Currency,
    /// Genesis time, the time of an export at height 0.
    pub genesis_time_ms: u64,
}

impl Settings {
    /// The settings of a chain from its genesis.
    pub fn from_genesis(genesis: &genesis::Genesis) -> Settings {
        Settings {
            currency: genesis.currency.clone(),
            genesis_time_ms: genesis.genesis_time_ms,
        }
    }
}

/// The committed block an export was taken at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsOf {
    /// The chain id.
    pub chain_id: String,
    /// The height L.
    pub height: Height,
    /// The hash of block L (the genesis hash at height 0).
    pub block_hash: Hash,
    /// The time of block L (the genesis time at height 0), ms since the epoch.
    pub time_ms: u64,
}

/// An entity as an export names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// Its id.
    pub id: EntityId,
    /// Its display name, as written on chain.
    pub name: String,
}

/// Where and when an operation was committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
    /// Block time, ms since the epoch.
    pub time_ms: u64,
    /// Transaction hash.
    pub tx_hash: Hash,
}

/// The `award` of a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwardEvent {
    /// Where it was committed.
    pub at: Committed,
    /// The amount awarded, before any amendment.
    pub amount: Amount,
    /// SHA-256 of the contract document.
    pub document_hash: Option<Hash>,
}

/// An `amend-contract`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmendmentEvent {
    /// Where it was committed.
    pub at: Committed,
    /// The amount before.
    pub previous: Amount,
    /// The new amount.
    pub amount: Amount,
    /// Why.
    pub reason: String,
    /// SHA-256 of the amendment.
    pub document_hash: Option<Hash>,
}

/// A `pay`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentEvent {
    /// Where it was committed.
    pub at: Committed,
    /// Amount paid.
    pub amount: Amount,
    /// Invoice or payment order reference.
    pub reference: String,
    /// SHA-256 of the invoice.
    pub document_hash: Option<Hash>,
}

/// A `confirm-delivery`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// Where it was committed.
    pub at: Committed,
    /// Milestone name.
    pub milestone: String,
    /// Free note.
    pub note: String,
}

/// One contract with everything committed about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractExport {
    /// The contract as the state holds it after block L (current amount,
    /// paid, latest document hash).
    pub contract: Contract,
    /// The awarding department.
    pub department: Party,
    /// The department's ministry.
    pub ministry: Option<Party>,
    /// The vendor.
    pub vendor: Party,
    /// The award.
    pub award: AwardEvent,
    /// Amendments, oldest first.
    pub amendments: Vec<AmendmentEvent>,
    /// Payments, oldest first.
    pub payments: Vec<PaymentEvent>,
    /// Deliveries, oldest first.
    pub deliveries: Vec<DeliveryEvent>,
}

impl ContractExport {
    /// The most recent commit that touched the contract.
    fn last_change(&self) -> Committed {
        let mut last = self.award.at;
        let later = self
            .amendments
            .iter()
            .map(|a| a.at)
            .chain(self.payments.iter().map(|p| p.at))
            .chain(self.deliveries.iter().map(|d| d.at));
        for at in later {
            if (at.height, at.index) > (last.height, last.index) {
                last = at;
            }
        }
        last
    }
}

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

/// Takes an export of `state` (the state after block L) and `store`.
/// `store` may already hold later blocks; only blocks up to L are read.
pub fn take(
    state: &State,
    store: &Store,
    settings: &Settings,
    year: Option<Year>,
) -> Result<Export, ExportError> {
    StateView::capture(state, year).collect(store, settings)
}

/// Takes an export of a running node, holding its state lock only while the
/// contracts are copied. Blocking: it reads the store.
pub fn take_from(shared: &Shared, year: Option<Year>) -> Result<Export, ExportError> {
    let view = StateView::capture(&shared.state.read().expect("state lock"), year);
    view.collect(&shared.store, &Settings::from_genesis(&shared.genesis))
}

/// What the export is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One CSV table of contracts and payments.
    Csv,
    /// An OCDS 1.1.5 release package.
    Ocds,
}

/// Contracts and payments at one height, ready to be written.
#[derive(Clone, Debug)]
pub struct Export {
    /// Where it was taken.
    pub as_of: AsOf,
    /// The fiscal year filter.
    pub year: Option<Year>,
    /// The chain's currency.
    pub currency: Currency,
    /// The treasury, which publishes the package.
    pub publisher: Option<Party>,
    /// The contracts, in award order.
    pub contracts: Vec<ContractExport>,
}

fn hash_or_empty(h: Option<Hash>) -> String {
    h.map(|h| h.to_hex()).unwrap_or_default()
}

impl Export {
    /// The file name a download should get, e.g.
    /// `minhbach-devnet-h120-2026.csv`.
    pub fn file_name(&self, format: Format) -> String {
        let year = self.year.map(|y| format!("-{y}")).unwrap_or_default();
        let ext = match format {
            Format::Csv => "csv",
            Format::Ocds => "ocds.json",
        };
        format!(
            "{}-h{}{year}.{ext}",
            self.as_of.chain_id, self.as_of.height.0
        )
    }

    /// The CSV table (see docs/exports.md): a header of
    /// [`CSV_COLUMNS`], one `snapshot` row, one `contract` row per contract
    /// in award order, then one `payment` row per payment in chain order.
    pub fn to_csv(&self) -> Result<Vec<u8>, ExportError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(CSV_COLUMNS)?;
        let as_of_height = self.as_of.height.0.to_string();
        let as_of_hash = self.as_of.block_hash.to_hex();
        let mut row = |cells: [String; 19]| -> Result<(), ExportError> {
            let record = [as_of_height.clone(), as_of_hash.clone()]
                .into_iter()
                .chain(cells);
            w.write_record(record)?;
            Ok(())
        };
        let empty = String::new;
        row([
            "snapshot".into(),
            as_of_height.clone(),
            rfc3339(self.as_of.time_ms),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            self.year.map(|y| y.to_string()).unwrap_or_default(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
        ])?;
        for c in &self.contracts {
            let k = &c.contract;
            let (ministry_id, ministry_name) = ministry_cells(c);
            row([
                "contract".into(),
                c.award.at.height.0.to_string(),
                rfc3339(c.award.at.time_ms),
                c.award.at.tx_hash.to_hex(),
                k.id.to_string(),
                k.title.clone(),
                c.department.id.to_string(),
                c.department.name.clone(),
                ministry_id,
                ministry_name,
                c.vendor.id.to_string(),
                c.vendor.name.clone(),
                k.year.to_string(),
                k.line.to_string(),
                k.amount.0.to_string(),
                k.paid.0.to_string(),
                k.deliveries.to_string(),
                empty(),
                hash_or_empty(k.document_hash),
            ])?;
        }
        let mut payments: Vec<(&ContractExport, &PaymentEvent)> = self
            .contracts
            .iter()
            .flat_map(|c| c.payments.iter().map(move |p| (c, p)))
            .collect();
        payments.sort_by_key(|(_, p)| (p.at.height, p.at.index));
        for (c, p) in payments {
            let k = &c.contract;
            let (ministry_id, ministry_name) = ministry_cells(c);
            row([
                "payment".into(),
                p.at.height.0.to_string(),
                rfc3339(p.at.time_ms),
                p.at.tx_hash.to_hex(),
                k.id.to_string(),
                k.title.clone(),
                c.department.id.to_string(),
                c.department.name.clone(),
                ministry_id,
                ministry_name,
                c.vendor.id.to_string(),
                c.vendor.name.clone(),
                k.year.to_string(),
                k.line.to_string(),
                p.amount.0.to_string(),
                empty(),
                empty(),
                p.reference.clone(),
                hash_or_empty(p.document_hash),
            ])?;
        }
        w.flush().map_err(csv::Error::from)?;
        w.into_inner()
            .map_err(|e| ExportError::Csv(csv::Error::from(e.into_error())))
    }

    /// The OCDS 1.1.5 release package: one release per contract (see
    /// docs/exports.md for the mapping). Fails with
    /// [`ExportError::NoContracts`] when there is no contract, as a package
    /// needs at least one release.
    pub fn to_ocds(&self) -> Result<Value, ExportError> {
        if self.contracts.is_empty() {
            return Err(ExportError::NoContracts {
                year: self.year,
                height: self.as_of.height,
            });
        }
        let a = &self.as_of;
        let year = self.year.map(|y| format!(":{y}")).unwrap_or_default();
        let publisher = self
            .publisher
            .as_ref()
            .map_or_else(|| a.chain_id.clone(), |p| p.name.clone());
        Ok(json!({
            "uri": format!("urn:minhbach:{}:ocds:{}:{}{year}", a.chain_id, a.height.0, a.block_hash),
            "version": OCDS_VERSION,
            "publishedDate": rfc3339(a.time_ms),
            "publisher": {"name": publisher},
            "license": LICENSE_URI,
            "publicationPolicy": self.publication_policy(),
            "minhbach": {
                "chainId": a.chain_id,
                "height": a.height.0,
                "blockHash": a.block_hash,
                "blockTime": rfc3339(a.time_ms),
                "fiscalYear": self.year.map(|y| y.0),
            },
            "releases": self.contracts.iter().map(|c| self.release(c)).collect::<Vec<_>>(),
        }))
    }

    /// The publication policy, as a `data:` URI since the schema asks for a
    /// URI: where the package comes from and the height it was taken at.
    fn publication_policy(&self) -> String {
        let a = &self.as_of;
        let text = format!(
            "Trích xuất theo yêu cầu từ sổ cái Minh Bạch (chuỗi {chain}) tại khối {h}, \
             mã băm {hash}. Mỗi hợp đồng là một bản phát hành; số tiền tính bằng đơn vị nhỏ nhất \
             của {cur}. Generated on demand from the Minh Bạch ledger (chain {chain}) at block \
             {h}, hash {hash}. One release per contract; check it with `minhbach verify chain`.",
            chain = a.chain_id,
            h = a.height.0,
            hash = a.block_hash,
            cur = self.currency.code,
        );
        format!("data:text/plain;charset=utf-8,{}", percent_encode(&text))
    }

    /// An OCDS `Value`: the amount in major units, as a JSON number.
    fn value(&self, amount: Amount) -> Value {
        let decimals = self.currency.decimals;
        // OCDS amounts are JSON numbers. With no minor unit (VND) the integer
        // is exact; with decimals, an f64 is exact up to 2^53 minor units.
        let number = if decimals == 0 {
            json!(amount.0)
        } else {
            json!(amount.0 as f64 / 10f64.powi(i32::from(decimals)))
        };
        json!({"amount": number, "currency": self.currency.code})
    }

    fn ocid(&self, id: &ContractId) -> String {
        format!("{OCID_PREFIX}-{}-{id}", self.as_of.chain_id)
    }

    fn release(&self, c: &ContractExport) -> Value {
        let k = &c.contract;
        let last = c.last_change();
        let mut tag = vec!["award", "contract"];
        if !c.amendments.is_empty() {
            tag.push("contractAmendment");
        }
        if !c.payments.is_empty() || !c.deliveries.is_empty() {
            tag.push("implementation");
        }
        let reference = |p: &Party| json!({"id": p.id, "name": p.name});
        let award_id = format!("{}-award", k.id);
        let transactions: Vec<Value> = c
            .payments
            .iter()
            .map(|p| {
                without_nulls(json!({
                    "id": p.at.tx_hash,
                    "date": rfc3339(p.at.time_ms),
                    "value": self.value(p.amount),
                    "payer": reference(&c.department),
                    "payee": reference(&c.vendor),
                    "reference": p.reference,
                    "documentHash": p.document_hash,
                    "blockHeight": p.at.height.0,
                }))
            })
            .collect();
        let milestones: Vec<Value> = c
            .deliveries
            .iter()
            .enumerate()
            .map(|(n, d)| {
                json!({
                    "id": format!("{}-delivery-{}", k.id, n + 1),
                    "title": d.milestone,
                    "description": d.note,
                    "type": "delivery",
                    "status": "met",
                    "dateMet": rfc3339(d.at.time_ms),
                    "txHash": d.at.tx_hash,
                    "blockHeight": d.at.height.0,
                })
            })
            .collect();
        let amendments: Vec<Value> = c
            .amendments
            .iter()
            .map(|m| {
                without_nulls(json!({
                    "id": m.at.tx_hash,
                    "date": rfc3339(m.at.time_ms),
                    "rationale": m.reason,
                    "description": format!(
                        "Giá trị hợp đồng thay đổi từ {} thành {} {}",
                        m.previous.0, m.amount.0, self.currency.code
                    ),
                    "documentHash": m.document_hash,
                    "blockHeight": m.at.height.0,
                }))
            })
            .collect();
        let documents: Vec<Value> = c
            .award
            .document_hash
            .iter()
            .map(|h| {
                json!({
                    "id": format!("sha256:{h}"),
                    "documentType": "contractSigned",
                    "description": "SHA-256 của văn bản hợp đồng; văn bản không lưu trên sổ cái",
                    "datePublished": rfc3339(c.award.at.time_ms),
                })
            })
            .collect();
        let mut contract = json!({
            "id": k.id,
            "awardID": award_id,
            "title": k.title,
            "status": "active",
            "value": self.value(k.amount),
            "dateSigned": rfc3339(c.award.at.time_ms),
        });
        // OCDS discourages empty lists: leave out what did not happen.
        let mut implementation = serde_json::Map::new();
        for (field, list) in [("transactions", transactions), ("milestones", milestones)] {
            if !list.is_empty() {
                implementation.insert(field.into(), Value::Array(list));
            }
        }
        if !implementation.is_empty() {
            contract["implementation"] = Value::Object(implementation);
        }
        if !amendments.is_empty() {
            contract["amendments"] = Value::Array(amendments);
        }
        if !documents.is_empty() {
            contract["documents"] = Value::Array(documents);
        }
        json!({
            "ocid": self.ocid(&k.id),
            "id": format!("{}-h{}", k.id, last.height.0),
            "date": rfc3339(last.time_ms),
            "tag": tag,
            "initiationType": "tender",
            "language": "vi",
            "parties": self.parties(c),
            "buyer": reference(&c.department),
            "planning": {
                "budget": {
                    "id": format!("{}/{}", k.year, k.line),
                    "description": format!(
                        "Dòng ngân sách {} năm {} của {}",
                        k.line, k.year, c.department.name
                    ),
                    "amount": self.value(k.amount),
                    "project": k.line,
                },
            },
            "awards": [{
                "id": award_id,
                "title": k.title,
                "status": "active",
                "date": rfc3339(c.award.at.time_ms),
                "value": self.value(c.award.amount),
                "suppliers": [reference(&c.vendor)],
            }],
            "contracts": [contract],
        })
    }

    /// The parties with their OCDS roles: the department buys and pays, the
    /// vendor supplies and is paid, the ministry and the treasury fund.
    fn parties(&self, c: &ContractExport) -> Vec<Value> {
        let mut roles: Vec<(&Party, Vec<&str>)> = vec![
            (&c.department, vec!["buyer", "payer"]),
            (&c.vendor, vec!["supplier", "payee"]),
        ];
        for funder in [c.ministry.as_ref(), self.publisher.as_ref()]
            .into_iter()
            .flatten()
        {
            match roles.iter_mut().find(|(p, _)| p.id == funder.id) {
                Some((_, r)) => r.push("funder"),
                None => roles.push((funder, vec!["funder"])),
            }
        }
        roles
            .into_iter()
            .map(|(p, r)| json!({"id": p.id, "name": p.name, "roles": r}))
            .collect()
    }
}

fn ministry_cells(c: &ContractExport) -> (String, String) {
    c.ministry
        .as_ref()
        .map(|m| (m.id.to_string(), m.name.clone()))
        .unwrap_or_default()
}

/// `v` without its fields that are null.
fn without_nulls(mut v: Value) -> Value {
    if let Value::Object(fields) = &mut v {
        fields.retain(|_, f| !f.is_null());
    }
    v
}

/// Percent-encodes every byte but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(percent_encode("a b/ạ"), "a%20b%2F%E1%BA%A1");
    }

    #[test]
    fn file_names_carry_the_chain_height_and_year() {
        let export = Export {
            as_of: AsOf {
                chain_id: "minhbach-devnet".into(),
                height: Height(120),
                block_hash: Hash::digest(b"block"),
                time_ms: 0,
            },
            year: Some(Year(2026)),
            currency: Currency::default(),
            publisher: None,
            contracts: Vec::new(),
        };
        assert_eq!(
            export.file_name(Format::Csv),
            "minhbach-devnet-h120-2026.csv"
        );
        let all = Export {
            year: None,
            ..export
        };
        assert_eq!(
            all.file_name(Format::Ocds),
            "minhbach-devnet-h120.ocds.json"
        );
        assert!(matches!(
            all.to_ocds(),
            Err(ExportError::NoContracts {
                year: None,
                height: Height(120)
            })
        ));
    }
}
