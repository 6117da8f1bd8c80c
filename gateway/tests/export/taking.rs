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

/// Raises the first payment of block 5 in the stored block only.
fn raise_a_payment_of_block_5(f: &Fixture) {
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
}

#[test]
fn blocks_that_disagree_with_the_state_are_an_error() {
    let f = Fixture::standard();
    raise_a_payment_of_block_5(&f);
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

/// The CSV of `f`'s state, streamed.
fn streamed(f: &Fixture, state: &State, year: Option<u16>) -> Result<Vec<u8>, ExportError> {
    let year = year.map(|y| ledger::Year::new(y).unwrap());
    export::StateView::capture(state, year).write_csv(&f.store, &Fixture::settings(), Vec::new())
}

#[test]
fn a_streamed_csv_equals_the_buffered_one_byte_for_byte() {
    let mut f = Fixture::standard();
    let state_at_8: State = f.chain.state.clone();
    f.block_with(vec![pay("C-2027-001", "MOH.BVBM", 7_000, 7)]);
    for (state, year) in [
        (&state_at_8, None),
        (&state_at_8, Some(2026)),
        (&state_at_8, Some(2027)),
        (&f.chain.state, None),
        (&f.chain.state, Some(2027)),
        (&f.chain.state, Some(2030)),
    ] {
        let buffered = export::take(
            state,
            &f.store,
            &Fixture::settings(),
            year.map(|y| ledger::Year::new(y).unwrap()),
        )
        .unwrap()
        .to_csv()
        .unwrap();
        let streamed = streamed(&f, state, year).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(buffered.clone()).unwrap(),
            "height {}, year {year:?}",
            state.height()
        );
        // Not an empty table on both sides: the contracts and payments are
        // there.
        let (_, rows) = parse_csv(&buffered);
        if year.is_none() {
            assert!(!of_type(&rows, "payment").is_empty());
        }
    }
    let genesis = Fixture::new();
    assert_eq!(
        streamed(&genesis, &genesis.chain.state, None).unwrap(),
        genesis.export(None).to_csv().unwrap()
    );
}

#[test]
fn a_streamed_csv_checks_the_blocks_against_the_state_at_its_end() {
    let f = Fixture::standard();
    raise_a_payment_of_block_5(&f);
    let err = streamed(&f, &f.chain.state, None).unwrap_err();
    match &err {
        ExportError::Inconsistent { contract, .. } => assert_eq!(contract.as_str(), "C-2026-001"),
        e => panic!("expected Inconsistent, got {e}"),
    }
    assert!(err.to_string().contains("payments add up to"), "{err}");
}
