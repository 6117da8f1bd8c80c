//! Audit bundles at their boundary: a bundle built from a real store
//! verifies against the genesis facts alone, and every single-field tamper
//! (in the readable views, in the signed bytes, in the Merkle path, in a
//! header, in a certificate, in the validator-set changes, in a witnessed
//! checkpoint, or a wrong genesis) fails with a message that names what was
//! changed.
//!
//! Expectations come from the chain the test made (where it put each
//! transaction and each validator-set change, the hashes of the blocks it
//! built), not from the bundle.

mod certificates;
mod headers;
mod helpers;
mod input;
mod signer;
mod snapshot;
mod state;
mod transaction;
mod trust;
mod witness;
mod witnessed;

use ledger::proof::AuditBundle;
use ledger::{Hash, Height};

use crate::helpers::{pay_bundle, Fixture, CHANGES_AT, PAY_AT};

#[test]
fn a_bundle_verifies_and_says_where_the_transaction_is() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    let v = f.verify(&bundle).unwrap();
    let (h, i) = PAY_AT;
    let block = &f.blocks[h as usize - 1];
    assert_eq!(v.tx, *f.tx(h, i));
    assert_eq!(v.hash, f.tx(h, i).hash());
    assert_eq!(v.height, Height(h));
    assert_eq!(v.index, i as u32);
    assert_eq!(v.block_hash, block.hash());
    assert_eq!(v.time_ms, block.header.time_ms);
    assert_eq!(v.set_changes, CHANGES_AT.len());
    // set(7) is validators 0, 2, 3 and 4, and all of them signed.
    assert_eq!((v.signed_power, v.total_power), (40, 40));
    let heights: Vec<u64> = bundle
        .validator_set_changes
        .iter()
        .map(|c| c.header.view.height.0)
        .collect();
    assert_eq!(heights, CHANGES_AT);
    assert_eq!(bundle.tx.bytes, f.tx(h, i).encode());
    assert_eq!(bundle.block.inclusion.tree_size, 3);
    assert_eq!(bundle.tx.view["op"]["amount"], "2000000");
    assert_eq!(bundle.tx.view["op"]["type"], "pay");
}

#[test]
fn every_committed_transaction_has_a_bundle_that_verifies() {
    let f = Fixture::new();
    for (b, block) in f.blocks.iter().enumerate() {
        let h = b as u64 + 1;
        for i in 0..block.txs.len() {
            let bundle = f.bundle(h, i);
            let v = f
                .verify(&bundle)
                .unwrap_or_else(|e| panic!("block {h} tx {i}: {e}"));
            let walked = CHANGES_AT.iter().filter(|k| **k < h).count();
            assert_eq!(v.set_changes, walked, "block {h}");
            assert_eq!(v.block_hash, block.hash());
        }
    }
    let unknown = Hash::digest(b"never committed");
    assert!(AuditBundle::build(&f.store, f.chain.genesis_hash, &unknown)
        .unwrap()
        .is_none());
}

#[test]
fn a_bundle_round_trips_through_json() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    let text = bundle.to_json();
    let back = AuditBundle::decode(text.as_bytes()).unwrap();
    assert_eq!(back, bundle);
    f.verify(&back).unwrap();
    // Amounts are strings and hashes hex in the file.
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["tx"]["view"]["op"]["amount"], "2000000");
    assert_eq!(json["tx"]["hash"], f.tx(PAY_AT.0, PAY_AT.1).hash().to_hex());
    assert_eq!(json["format"], "minhbach-audit-bundle");
    assert_eq!(json["version"], 1);
}
