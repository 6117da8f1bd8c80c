//! Operations the network tests sign, on the devnet story's entities and
//! budget lines, in fiscal year 2026: [`testkit::ops`] with the year fixed.

use ledger::Op;

pub use testkit::id;

/// The fiscal year of every operation here.
pub const YEAR: u16 = 2026;

/// The treasury appropriates `amount` on `line` to ministry `to`.
pub fn appropriate(to: &str, line: &str, amount: u64) -> Op {
    testkit::ops::appropriate(YEAR, line, to, amount)
}

/// A ministry allocates `amount` on `line` to department `to`.
pub fn allocate(to: &str, line: &str, amount: u64) -> Op {
    testkit::ops::allocate(YEAR, line, to, amount)
}
