//! A Minh Bạch node's write side: the peer-to-peer network, the consensus
//! loop, the mempool and the store. Its readers (the HTTP API, the explorer,
//! the exports) are the `gateway` crate, which depends on this one and
//! never the other way round.
//!
//! - [`home::Home`] and [`config::Config`]: where a node's files live and
//!   how it is set up;
//! - [`mempool::Mempool`]: admission, nonce order, block selection and the
//!   signature verdict cache; [`backlog`]: how much clients may add to it,
//!   by the recent commit rate;
//! - [`wire`] (the `wire` crate) and [`net`]: what nodes send each other and
//!   the permissioned libp2p network that carries it;
//! - [`driver::Driver`]: the event loop that runs consensus, builds and
//!   judges blocks, commits them and syncs;
//! - [`monitor`]: what an operator watches (missed signatures, connected
//!   voting power, clock offsets), computed without I/O for the loop's
//!   metrics;
//! - [`shared::Shared`]: what the loop publishes to its readers (the HTTP
//!   API, the explorer and the exports, in the `gateway` crate);
//! - [`run::start`]: all of it from a home folder, with the readers'
//!   listeners started through [`run::Readers`];
//! - [`testnet::generate`]: the homes, genesis and keys of a whole local
//!   network (what `minhbach testnet` and `minhbach devnet` start from).

pub mod awaiting;
pub mod backlog;
pub mod backup;
pub mod config;
pub mod driver;
pub mod home;
pub mod mempool;
pub mod monitor;
pub mod net;
pub mod run;
pub mod shared;
pub mod statesync;
pub mod testnet;
/// What nodes send each other, decoded in its own crate so that it can be
/// fuzzed without the network stack.
pub use wire;
