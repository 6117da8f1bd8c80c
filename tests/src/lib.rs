//! Multi-process and whole-system tests of Minh Bạch.
//!
//! The tests themselves live in `tests/tests/`; this library holds what they
//! share with the helper binaries they start:
//! - [`cluster`]: a local network of real `minhbach node start` processes
//!   on 127.0.0.1, with temporary homes, deadlines on every wait, and every
//!   process killed when the test ends;
//! - [`peer`]: a libp2p peer played inside a test with a node's key, that
//!   publishes whatever gossip the test hands it;
//! - [`workload`]: the deterministic blocks that `src/bin/store-writer.rs`
//!   writes until it is killed, for the store's crash test.
//!
//! `src/bin/minhbach.rs` is the `minhbach` command line itself, built in this
//! package so that tests can start it by path.
//!
//! Nothing in this crate is used by a node.

pub mod cluster;
pub mod peer;
pub mod workload;
