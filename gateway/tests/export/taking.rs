//! Taking an export: the height it is taken at, even with the store ahead
//! of the state or at genesis, and blocks that disagree with the state.

use gateway::export::{self, ExportError};
use ledger::codec;
use ledger::{Height, Op, State};

use crate::fixture::{of_type, parse_csv, pay, Fixture};

#[test]
fn an_export_stops_at_the_state_height_even_when_the_store_is_ahead() {
    let mut f = Fixture::standard();
    let state_at_8: State = f.chain.state.clone();
    let hash_8 = f.last_hash();
    f.block_with(vec![pay("C-2027-001", "MOH.BVBM", 7_000, 7)]);
    let export = export::take(&state_at_8, &f.store, &Fixture::settings(), None).unwrap();
    assert_eq!(export.as_of.height, Height(8));
    assert_eq!(export.as_of.block_hash, hash_8);
    let (_, rows) = parse_csv(&export.to_csv().unwrap());
    assert_eq!(of_type(&rows, "payment").len(), 6, "block 9 is not in it");
    assert!(rows.iter().all(|r| r["amount"] != "7000"));
}

#[test]
fn an_export_at_genesis_names_the_genesis_hash() {
    let f = Fixture::new();
    let export = f.export(None);
    assert_eq!(export.as_of.height, Height(0));
    assert_eq!(export.as_of.block_hash, f.chain.genesis_hash);
    let (_, rows) = parse_csv(&export.to_csv().unwrap());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["as_of_height"], "0");
    assert_eq!(rows[0]["time"], "2026-01-01T00:00:00.000Z");
}

#[test]
fn blocks_that_disagree_with_the_state_are_an_error() {
    let f = Fixture::standard();
    // Raise the first payment of block 5 in the stored block only.
    let mut block = f.blocks[4].clone();
    let tx = block
        .txs
        .iter_mut()
        .find(|t| matches!(t.body.op, Op::Pay { .. }))
        .unwrap();
    if let Op::Pay { amount, .. } = &mut tx.body.op {
        amount.0 += 1;
    }
    f.store
        .tamper("blocks", &5u64.to_be_bytes(), &block.encode())
        .unwrap();
    let err = export::take(&f.chain.state, &f.store, &Fixture::settings(), None).unwrap_err();
    match &err {
        ExportError::Inconsistent { contract, .. } => assert_eq!(contract.as_str(), "C-2026-001"),
        e => panic!("expected Inconsistent, got {e}"),
    }
    assert!(err.to_string().contains("payments add up to"), "{err}");
    // A missing block is named.
    f.store
        .tamper("blocks", &6u64.to_be_bytes(), &codec::encode(&0u8))
        .unwrap();
    assert!(export::take(&f.chain.state, &f.store, &Fixture::settings(), None).is_err());
}
