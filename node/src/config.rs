//! `HOME/config.toml`: the node's addresses, peers, limits, consensus timing
//! and log format. The format and its checks are [`wire::config`], which
//! parses without the network stack so that it can be fuzzed; this module
//! re-exports it and ties its defaults to the node's own bounds.

pub use wire::config::*;

// The defaults a config file falls back on are the mempool's own.
const _: () = assert!(MEMPOOL_TXS_DEFAULT == crate::mempool::MEMPOOL_TXS_MAX);
const _: () = assert!(MEMPOOL_BYTES_DEFAULT == crate::mempool::MEMPOOL_BYTES_MAX);
