//! Tampering with the transaction: its readable view, its signed bytes, its
//! Merkle path and index, or its chain.

use ledger::proof::ProofError;
use ledger::testkit::CHAIN_ID;
use ledger::{Hash, Height};

use crate::helpers::{edit_bytes, fails, pay_bundle, set_amount, Fixture, PAY_AT};

#[test]
fn an_amount_changed_in_the_readable_view_is_caught() {
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["op"]["amount"] = "5000000".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's amount 5,000,000 does not match its signed bytes (2,000,000)"
    );
}

#[test]
fn an_amount_changed_in_the_signed_bytes_is_caught() {
    let f = Fixture::new();
    // Bytes alone: the view still shows what was signed.
    let e = fails(&f, pay_bundle(&f), |b| {
        edit_bytes(b, |tx| set_amount(tx, 5_000_000));
    });
    assert_eq!(
        e.to_string(),
        "the transaction's amount 2,000,000 does not match its signed bytes (5,000,000)"
    );
    // Bytes and view together: the hash is no longer theirs.
    let e = fails(&f, pay_bundle(&f), |b| {
        let tx = edit_bytes(b, |tx| set_amount(tx, 5_000_000));
        b.tx.view = ledger::proof::tx_view(&tx);
    });
    assert!(matches!(e, ProofError::TxHash { .. }), "{e}");
    // Bytes, view and hash together: the transaction is not in the block.
    let e = fails(&f, pay_bundle(&f), |b| {
        let tx = edit_bytes(b, |tx| set_amount(tx, 5_000_000));
        b.tx.view = ledger::proof::tx_view(&tx);
        b.tx.hash = tx.hash();
    });
    assert_eq!(
        e,
        ProofError::MerklePath {
            height: Height(PAY_AT.0)
        }
    );
    assert_eq!(
        e.to_string(),
        "Merkle path does not lead to the transactions root of block 7"
    );
}

#[test]
fn a_changed_vendor_or_contract_is_caught() {
    let f = Fixture::new();
    // The award of C-1 to V-0042, block 4.
    let e = fails(&f, f.bundle(4, 0), |b| {
        b.tx.view["op"]["vendor"] = "V-0043".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's vendor V-0043 does not match its signed bytes (V-0042)"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["op"]["contract"] = "C-2".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's contract C-2 does not match its signed bytes (C-1)"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["signer"] = "MOH".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's signer MOH does not match its signed bytes (MOH.BVBM)"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["op"]["note"] = "added".into();
    });
    assert!(matches!(e, ProofError::TxViewExtra { .. }), "{e}");
}

#[test]
fn a_changed_merkle_sibling_or_index_is_caught() {
    let f = Fixture::new();
    for i in 0..pay_bundle(&f).block.inclusion.path.len() {
        let e = fails(&f, pay_bundle(&f), |b| {
            b.block.inclusion.path[i] = Hash::digest(b"another sibling");
        });
        assert_eq!(
            e,
            ProofError::MerklePath {
                height: Height(PAY_AT.0)
            },
            "sibling {i}"
        );
    }
    let e = fails(&f, pay_bundle(&f), |b| b.block.index = 0);
    assert!(matches!(e, ProofError::LeafIndex { index: 0, .. }), "{e}");
    // Index and path's index moved together: the path is for another leaf.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.index = 0;
        b.block.inclusion.leaf_index = 0;
    });
    assert!(matches!(e, ProofError::MerklePath { .. }), "{e}");
    let e = fails(&f, pay_bundle(&f), |b| b.block.inclusion.tree_size = 4);
    assert!(
        matches!(
            e,
            ProofError::TreeSize {
                tree_size: 4,
                tx_count: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_transaction_of_another_chain_is_refused() {
    // Bytes, hash and readable view all agree, and say another chain.
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        let tx = edit_bytes(b, |tx| tx.body.chain_id = "another-chain".into());
        b.tx.hash = tx.hash();
        b.tx.view = ledger::proof::tx_view(&tx);
    });
    assert_eq!(
        e,
        ProofError::TxWrongChain {
            tx_chain: "another-chain".into(),
            chain: CHAIN_ID.into()
        }
    );
}
