//! Operations as tests write them: [`ledger::testkit::ops`], here for the
//! tests that build on this crate.

pub use ledger::testkit::ops::*;
