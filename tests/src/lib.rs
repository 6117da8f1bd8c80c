//! Multi-process and whole-system tests of Minh Bạch.
//!
//! The tests themselves live in `tests/tests/`; this library holds what they
//! share with the helper binaries they start. Today that is the crash test of
//! the store: `src/bin/store-writer.rs` writes blocks of the deterministic
//! [`workload`] until it is killed with SIGKILL, and `tests/crash.rs` checks
//! after every kill that the store reopens at a committed height and verifies
//! from genesis. Multi-node integration tests and the seeded cluster
//! simulation will join it here.
//!
//! Nothing in this crate is used by a node.

pub mod workload;
