//! The Minh Bạch ledger: the public-spending domain, signed transactions,
//! blocks, Merkle proofs and the RocksDB store.
//!
//! This crate owns what a block means: which transactions are valid, how they
//! change the state, how blocks and certificates are hashed and checked, and
//! how they are kept on disk. It does no networking and knows nothing of how
//! validators agree on a block; that is `consensus` and `node`.
//!
//! The feature `store` (on by default) adds the RocksDB store (`store`),
//! the offline re-verification of a whole store (`verify`) and
//! `proof::AuditBundle::build`. Without it nothing links RocksDB, which is
//! how the `wire` crate's decoders are fuzzed.

pub mod backup;
pub mod block;
pub mod builder;
pub mod checked;
pub mod codec;
pub mod crypto;
pub mod error;
pub mod history;
pub mod merkle;
pub mod proof;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod state;
pub mod statemap;
pub mod statesync;
#[cfg(feature = "store")]
pub mod store;
pub mod summary;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod tx;
pub mod types;
pub mod validators;
pub mod validity;
#[cfg(feature = "store")]
pub mod verify;
pub mod witness;

pub use block::{Block, CommitCertificate, Evidence, Header, Vote, VoteType};
pub use error::TxError;
pub use state::{BlockExec, BlockOutcome, State};
pub use tx::{Op, SignedTx, TxBody};
pub use types::{
    Amount, ContractId, EntityId, Hash, Height, LineCode, PeerId, PublicKey, Signature, Year,
};
pub use validators::{Validator, ValidatorSet};
