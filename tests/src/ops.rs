//! Operations the network tests sign, on the devnet story's entities and
//! budget lines, in fiscal year 2026.

use ledger::{Amount, LineCode, Op, Year};

pub use ledger::testkit::id;

/// The treasury appropriates `amount` on `line` to ministry `to`.
pub fn appropriate(to: &str, line: &str, amount: u64) -> Op {
    Op::Appropriate {
        year: Year(2026),
        line: LineCode::new(line).expect("a valid line code"),
        to: id(to),
        amount: Amount(amount),
        legal_ref: "Nghị quyết 01/2026/QH15".into(),
    }
}

/// A ministry allocates `amount` on `line` to department `to`.
pub fn allocate(to: &str, line: &str, amount: u64) -> Op {
    Op::Allocate {
        year: Year(2026),
        line: LineCode::new(line).expect("a valid line code"),
        to: id(to),
        amount: Amount(amount),
    }
}
