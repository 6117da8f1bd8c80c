//! A Minh Bạch node. This is the only crate that does I/O.
//!
//! So far it owns the node's home folder ([`home::Home`]): where the genesis
//! file, the keys and the RocksDB store live, and how a store is opened and
//! tied to its genesis. It also owns the mempool ([`mempool::Mempool`]), a
//! synchronous structure the event loop will own: admission, nonce order,
//! block selection, re-checks after commits and the signature verdict cache.
//! Networking, the consensus driver and the HTTP API join it as they are built.
//!
//! [`testnet::generate`] writes the homes, genesis and keys of a whole local
//! network (what `minhbach testnet` and `minhbach devnet` start from).

pub mod config;
pub mod home;
pub mod mempool;
pub mod testnet;
