//! A Minh Bạch node: the one crate that serves (the peer-to-peer network,
//! the consensus loop, the HTTP listeners); the other crates read and write
//! files at most, or, like the command line, act as its clients.
//!
//! - [`home::Home`] and [`config::Config`]: where a node's files live and
//!   how it is set up;
//! - [`mempool::Mempool`]: admission, nonce order, block selection and the
//!   signature verdict cache;
//! - [`wire`] (the `wire` crate) and [`net`]: what nodes send each other and
//!   the permissioned libp2p network that carries it;
//! - [`driver::Driver`]: the event loop that runs consensus, builds and
//!   judges blocks, commits them and syncs;
//! - [`api`]: the HTTP API and the explorer's read-only listener;
//! - [`http`]: serving those listeners with connection bounds and timeouts;
//! - [`export`]: contracts and payments as CSV or an OCDS release package;
//! - [`explorer`]: the explorer's HTML pages, red flags and hardening;
//! - [`run::start`]: all of it from a home folder;
//! - [`testnet::generate`]: the homes, genesis and keys of a whole local
//!   network (what `minhbach testnet` and `minhbach devnet` start from).

pub mod api;
pub mod config;
pub mod driver;
pub mod explorer;
pub mod export;
pub mod home;
pub mod http;
pub mod mempool;
pub mod net;
pub mod run;
pub mod shared;
pub mod testnet;
/// What nodes send each other, decoded in its own crate so that it can be
/// fuzzed without the network stack.
pub use wire;
