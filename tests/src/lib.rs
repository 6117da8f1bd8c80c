//! Multi-process and whole-system tests of Minh Bạch.
//!
//! The tests themselves live in `tests/tests/`; this library holds what they
//! share with the helper binaries they start:
//! - [`cluster`]: a local network of real `minhbach node start` processes
//!   on 127.0.0.1, with temporary homes, deadlines on every wait, and every
//!   process killed when the test ends;
//! - [`faultnet`]: a TCP proxy on every link between a cluster's nodes, to
//!   cut, heal and delay their connections;
//! - [`html`]: reads the explorer's pages as a reader does, each figure with
//!   its label or in its row;
//! - [`ops`]: the operations the network tests sign;
//! - [`ports`]: blocks of ports reserved across test processes (from
//!   `testkit`, where the command-line tests take them too);
//! - [`peer`]: a libp2p peer played inside a test with a node's key, that
//!   publishes whatever gossip the test hands it;
//! - [`sim`]: the seeded simulator, which runs each node's real consensus
//!   loop over a simulated network, clock and store, with insiders that
//!   misbehave, and checks agreement, validity, liveness and bounds;
//! - [`story`]: the appropriation-to-payment story the explorer tests tell;
//! - [`workload`]: the deterministic blocks that `src/bin/store-writer.rs`
//!   writes until it is killed, for the store's crash test.
//!
//! `src/bin/minhbach-under-test.rs` is the `minhbach` command line itself,
//! and `src/bin/minhbach-byzantine.rs` the same with a Byzantine validator
//! (the `byzantine` feature of `node`), both built in this
//! package so that tests can start them by path.
//!
//! Nothing in this crate is used by a node.

pub mod cluster;
pub mod faultnet;
pub mod html;
pub mod ops;
pub mod peer;
pub use testkit::ports;
pub mod sim;
pub mod story;
pub mod workload;
