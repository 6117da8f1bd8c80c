//! Exports for journalists and auditors (SPEC §7 `export`, §8
//! `/v1/export.csv` and `/v1/export/ocds.json`): the contracts and payments
//! of the chain as one CSV table, or as an OCDS 1.1.5 release package.
//!
//! An export is taken at one committed height L and says so: every CSV row
//! carries `as_of_height` and `as_of_block_hash`, and the OCDS package carries
//! them in its `uri`, its `publicationPolicy` and each release's `minhbach`
//! object, a field of the package's own OCDS extension (`ocds_extension/`). It is built in two steps, so that the node's state lock is held
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
//! Cost: taken whole ([`take`]), step 2 reads and decodes every block up
//! to L, O(blocks + txs) of the whole chain, for any year filter; memory is
//! O(exported contracts and their events). The node streams both formats
//! instead, the first byte at once:
//! - the CSV ([`StateView::write_csv`]) reads the blocks from the view's
//!   first award to L, twice, one transaction at a time, and holds a tally
//!   a contract;
//! - the OCDS package ([`StateView::write_ocds`]) reads only the view's
//!   contracts' own transactions, found through the store's index of each
//!   contract's transactions (the summaries), and holds the contracts of
//!   one block at a time.
//!
//! This module writes nothing and keeps no index of its own.
//!
//! This module does not decide what the numbers are (that is the ledger's
//! state) and does not serve HTTP (that is [`crate::api`]).
//!
//! The export's data and [`take`] live here; the steps and the formats live
//! in its parts:
//! - `collect`: the two steps above, what an export reads from the state
//!   and the blocks, and the check of one against the other;
//! - `table`: the CSV table;
//! - `ocds`: the OCDS release package.

use genesis::Currency;
use ledger::state::Contract;
use ledger::store::{Store, StoreError};
use ledger::{Amount, ContractId, EntityId, Hash, Height, State, Year};
use thiserror::Error;

mod collect;
mod ocds;
mod table;

pub use collect::StateView;
pub use ocds::{
    OcdsOptions, EXTENSION_JSON, EXTENSION_PATH, EXTENSION_RELEASE_SCHEMA,
    EXTENSION_RELEASE_SCHEMA_PATH, LICENSE_URI, OCDS_VERSION, OCID_PREFIX,
};
pub use table::{neutralize_cell, CSV_COLUMNS};

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
    /// Writing the export failed (a streamed export's reader has gone).
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    /// The summaries' index of a contract's transactions could not be read.
    #[error(transparent)]
    Summary(#[from] ledger::summary::SummaryError),
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

impl Export {
    /// The file name a download should get, e.g.
    /// `minhbach-devnet-h120-2026.csv`.
    pub fn file_name(&self, format: Format) -> String {
        file_name(&self.as_of, self.year, format)
    }
}

/// The file name of an export taken at `as_of` of `year`'s contracts (all
/// if `None`) in `format`: `{chain}-h{height}[-{year}].{csv|ocds.json}`.
pub fn file_name(as_of: &AsOf, year: Option<Year>, format: Format) -> String {
    let year = year.map(|y| format!("-{y}")).unwrap_or_default();
    let ext = match format {
        Format::Csv => "csv",
        Format::Ocds => "ocds.json",
    };
    format!("{}-h{}{year}.{ext}", as_of.chain_id, as_of.height.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
