//! Operations as tests write them: ids and codes as text, amounts as whole
//! minor units, and the fields a test rarely cares about filled in.

use super::id;
use crate::tx::Op;
use crate::types::{Amount, ContractId, Hash, LineCode, Year};

/// A contract id written in a test; panics if it is not a valid one.
pub fn cid(s: &str) -> ContractId {
    ContractId::new(s).expect("a valid contract id")
}

/// A budget line code written in a test; panics if it is not a valid one.
pub fn line(s: &str) -> LineCode {
    LineCode::new(s).expect("a valid budget line code")
}

/// The treasury appropriates `amount` on `line` of `year` to ministry `to`.
pub fn appropriate(year: u16, line_code: &str, to: &str, amount: u64) -> Op {
    Op::Appropriate {
        year: Year(year),
        line: line(line_code),
        to: id(to),
        amount: Amount(amount),
        legal_ref: format!("Nghị quyết 01/{year}/QH15"),
    }
}

/// A ministry allocates `amount` of its `line` of `year` to department `to`.
pub fn allocate(year: u16, line_code: &str, to: &str, amount: u64) -> Op {
    Op::Allocate {
        year: Year(year),
        line: line(line_code),
        to: id(to),
        amount: Amount(amount),
    }
}

/// A department awards `contract` to `vendor` for `amount`, titled `title`,
/// with no document.
pub fn award(
    contract: &str,
    year: u16,
    line_code: &str,
    vendor: &str,
    amount: u64,
    title: &str,
) -> Op {
    Op::Award {
        contract: cid(contract),
        year: Year(year),
        line: line(line_code),
        vendor: id(vendor),
        amount: Amount(amount),
        title: title.into(),
        document_hash: None,
    }
}

/// The same award with the hash of its signed document.
pub fn award_with_document(op: Op, document: &[u8]) -> Op {
    match op {
        Op::Award {
            contract,
            year,
            line,
            vendor,
            amount,
            title,
            ..
        } => Op::Award {
            contract,
            year,
            line,
            vendor,
            amount,
            title,
            document_hash: Some(Hash::digest(document)),
        },
        other => panic!("not an award: {other:?}"),
    }
}

/// A payment of `amount` on `contract` with `reference`, with no document.
pub fn pay(contract: &str, amount: u64, reference: &str) -> Op {
    Op::Pay {
        contract: cid(contract),
        amount: Amount(amount),
        reference: reference.into(),
        document_hash: None,
    }
}

/// A delivery of `milestone` on `contract`, noted `note`.
pub fn deliver(contract: &str, milestone: &str, note: &str) -> Op {
    Op::ConfirmDelivery {
        contract: cid(contract),
        milestone: milestone.into(),
        note: note.into(),
    }
}
