//! The mempool at its boundary: admission codes, nonce order, limits, block
//! selection, re-checks after commits and the signature verdict cache. Every
//! reaped list is executed as a block by the ledger.
//!
//! The tests, by what they check:
//! - [`admission`]: what the pool admits and refuses, and the codes;
//! - [`blocks`]: reaping blocks, and re-checks after commits;
//! - [`verdicts`]: the signature verdict cache;
//! - [`traffic`]: random traffic against the pool's own counts;
//! - [`shares`]: each signer's share of a full pool and of a block;
//! - [`fixture`]: the chain they run on, and the helpers they share.

mod admission;
mod blocks;
mod fixture;
mod shares;
mod traffic;
mod verdicts;
