//! The one test kit of the crates above `ledger`: what a test needs to make
//! a chain, a node's shared state and a story of spending, written once.
//! No shipped crate depends on it (`cargo tree -e normal -p cli` does not
//! list it); `ledger`'s own fixtures (`ledger::testkit`, behind its
//! `testkit` feature) are re-exported here so that a test has one place to
//! import from.
//!
//! - ids, keys and chains: [`id`], [`key`], [`TestChain`], [`CHAIN_ID`],
//!   [`GENESIS_TIME_MS`]; genesis files: [`GenesisBuilder`] and
//!   [`story_genesis`] (the devnet's public sector);
//! - [`ops`]: one builder per operation a test writes often;
//! - [`NodeFixture`]: a chain committed into a real store in a temporary
//!   folder, with the node's [`node::shared::Shared`] over it, as the API,
//!   the explorer and the exports read it;
//! - [`Scenario`]: stories as data, signer by signer, such as
//!   [`Scenario::payment`], told in process by a [`NodeFixture`] or over
//!   HTTP by a network of real nodes;
//! - [`tls`]: a test CA and the certificates it signs, for HTTPS tests;
//! - [`ports`]: blocks of ports held across test processes for networks of
//!   real nodes.

mod fixture;
mod genesis_builder;
pub mod ops;
pub mod ports;
mod scenario;
pub mod tls;

pub use fixture::NodeFixture;
pub use genesis::story::test_genesis as story_genesis;
pub use genesis_builder::GenesisBuilder;
pub use ledger::testkit::{id, key, TestChain, CHAIN_ID, GENESIS_TIME_MS};
pub use scenario::{Scenario, Step};

/// Consensus timings for test networks: short, so a lost round costs
/// little.
pub fn fast_consensus(config: &mut node::config::Config) {
    let c = &mut config.consensus;
    c.timeout_propose_ms = 1_500;
    c.timeout_prevote_ms = 500;
    c.timeout_precommit_ms = 500;
    c.timeout_delta_ms = 250;
    c.rebroadcast_ms = 1_000;
    c.block_interval_ms = 200;
}
