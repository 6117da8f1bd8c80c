//! The vendor's word: `acknowledge-payment` by the contract's vendor, once
//! per payment. A payment adds nothing to the state; an acknowledgement sets
//! one bit of the contract's chunk of [`ACKS_PER_CHUNK`] payments, so the
//! cases cross a chunk's end.

use ledger::state::{StateKey, StateValue, ACKS_PER_CHUNK};
use ledger::testkit::TestChain;
use ledger::{Op, TxError};

use crate::helpers::{accept, award, cid, commit, pay, refuse_op, tx_at, world, RULE};

fn ack(contract: &str, payment: u32) -> Op {
    Op::AcknowledgePayment {
        contract: cid(contract),
        payment,
    }
}

/// The world with contract C-1 of MOH.YT to V-1, paid `payments` times.
fn paid(payments: u32) -> TestChain {
    let mut chain = world(0);
    accept(&mut chain, "MOH.YT", &["MOH.YT"], award("C-1", RULE - 1));
    let txs = (0..payments)
        .map(|n| tx_at(&chain, "MOH.YT", u64::from(n), &["MOH.YT"], pay("C-1", 1)))
        .collect();
    commit(&mut chain, txs);
    assert_eq!(
        chain.state.contract(&cid("C-1")).unwrap().payments,
        payments
    );
    chain
}

/// The acknowledgement chunks the state holds, by contract and chunk.
fn chunks(chain: &TestChain) -> Vec<(String, u32)> {
    chain
        .state
        .entries()
        .filter_map(|(k, v)| match (k, v) {
            (StateKey::Acks(c, n), StateValue::Acks(_)) => Some((c.to_string(), *n)),
            _ => None,
        })
        .collect()
}

#[test]
fn payments_add_nothing_to_the_state_until_acknowledged() {
    let before = world(0);
    let chain = paid(3);
    assert!(chunks(&chain).is_empty());
    // The award's contract and the two budget lines are all that changed.
    assert_eq!(
        chain.state.entries().count(),
        before.state.entries().count() + 2
    );
    for n in 0..3 {
        assert_eq!(chain.state.acknowledged(&cid("C-1"), n), Some(false));
    }
    assert_eq!(chain.state.acknowledged(&cid("C-1"), 3), None);
    assert_eq!(chain.state.acknowledged(&cid("C-9"), 0), None);
}

#[test]
fn each_payment_is_acknowledged_once_by_its_vendor_only() {
    let n = ACKS_PER_CHUNK + 2;
    let mut chain = paid(n);
    let last = n - 1;
    for p in [0, ACKS_PER_CHUNK - 1, ACKS_PER_CHUNK, last] {
        accept(&mut chain, "V-1", &["V-1"], ack("C-1", p));
    }
    for p in 0..n {
        let expected = [0, ACKS_PER_CHUNK - 1, ACKS_PER_CHUNK, last].contains(&p);
        assert_eq!(
            chain.state.acknowledged(&cid("C-1"), p),
            Some(expected),
            "{p}"
        );
    }
    assert_eq!(
        chunks(&chain),
        [("C-1".to_string(), 0), ("C-1".to_string(), 1)]
    );
    // Twice is no_op; a payment past the last, or on no contract, unknown.
    for p in [0, ACKS_PER_CHUNK] {
        let e = refuse_op(&mut chain, "V-1", &["V-1"], ack("C-1", p));
        assert_eq!(e.code(), "no_op", "{e}");
    }
    let e = refuse_op(&mut chain, "V-1", &["V-1"], ack("C-1", n));
    assert!(
        matches!(
            &e,
            TxError::UnknownEntity {
                what: "payment",
                ..
            }
        ),
        "{e}"
    );
    let e = refuse_op(&mut chain, "V-1", &["V-1"], ack("C-9", 0));
    assert_eq!(e.code(), "unknown_contract", "{e}");
    // The department that paid cannot say the vendor received it.
    let e = refuse_op(&mut chain, "MOH.YT", &["MOH.YT"], ack("C-1", 1));
    assert_eq!(e.code(), "not_authorized", "{e}");
    assert_eq!(chain.state.acknowledged(&cid("C-1"), 1), Some(false));
}
