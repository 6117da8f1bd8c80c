//! Taking an export: the height it is taken at, even with the store ahead
//! of the state or at genesis, and blocks that disagree with the state.

use gateway::export::{self, ExportError, OcdsOptions};
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

/// The OCDS package of `f`'s store at `state`, streamed as the node
/// serves it.
fn streamed_ocds(
    f: &Fixture,
    state: &State,
    year: Option<u16>,
    options: &OcdsOptions,
) -> Result<Vec<u8>, ExportError> {
    let year = year.map(|y| ledger::Year::new(y).unwrap());
    export::StateView::capture(state, year).write_ocds(
        &f.store,
        &Fixture::settings(),
        options,
        Vec::new(),
    )
}

/// Checks that the streamed exports of `state`, for every year filter,
/// equal the ones taken whole by decoding every block: the OCDS package
/// against serde_json's own pretty printing of it, the CSV byte for byte.
/// Returns the number of releases seen.
fn streamed_equal_taken(f: &Fixture, state: &State, years: &[Option<u16>], what: &str) -> usize {
    let served = OcdsOptions::served_at("ocds-abc123", Some("https://ngansach.example.vn"));
    let mut releases = 0;
    for &year in years {
        let taken = export::take(
            state,
            &f.store,
            &Fixture::settings(),
            year.map(|y| ledger::Year::new(y).unwrap()),
        )
        .unwrap();
        let csv = streamed(f, state, year).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            String::from_utf8(taken.to_csv().unwrap()).unwrap(),
            "{what}: CSV of year {year:?}"
        );
        for options in [OcdsOptions::default(), served.clone()] {
            let got = streamed_ocds(f, state, year, &options);
            let Ok(package) = taken.to_ocds_with(&options) else {
                assert!(
                    matches!(got, Err(ExportError::NoContracts { .. })),
                    "{what}: year {year:?} has no contract"
                );
                continue;
            };
            let pretty = serde_json::to_string_pretty(&package).unwrap();
            let whole = taken.write_ocds(&options, Vec::new()).unwrap();
            assert_eq!(
                String::from_utf8(whole).unwrap(),
                pretty,
                "{what}: {year:?}"
            );
            let got = String::from_utf8(got.unwrap()).unwrap();
            assert_eq!(got, pretty, "{what}: OCDS of year {year:?}");
            releases += package["releases"].as_array().unwrap().len();
        }
    }
    releases
}

#[test]
fn a_streamed_ocds_package_equals_the_buffered_one_byte_for_byte() {
    let mut f = Fixture::standard();
    assert!(
        f.store.summaries_complete().unwrap(),
        "the package is streamed from the index"
    );
    let state_at_8: State = f.chain.state.clone();
    f.block_with(vec![pay("C-2027-001", "MOH.BVBM", 7_000, 7)]);
    let years = [None, Some(2026), Some(2027), Some(2030)];
    // 3 contracts in all, 2 of 2026 and 1 of 2027, with both options.
    assert_eq!(streamed_equal_taken(&f, &state_at_8, &years, "at 8"), 12);
    assert_eq!(streamed_equal_taken(&f, &f.chain.state, &years, "at 9"), 12);
    // Without the index, the blocks are read instead: the same bytes.
    f.store.forget_summaries().unwrap();
    assert!(!f.store.summaries_complete().unwrap());
    assert_eq!(
        streamed_equal_taken(&f, &f.chain.state, &years, "no index"),
        12
    );
    let genesis = Fixture::new();
    assert!(matches!(
        streamed_ocds(
            &genesis,
            &genesis.chain.state,
            None,
            &OcdsOptions::default()
        ),
        Err(ExportError::NoContracts { .. })
    ));
}

#[test]
fn on_random_chains_the_streamed_exports_agree_with_a_full_decode() {
    for seed in 1..=4 {
        let mut f = Fixture::funded();
        f.random_blocks(seed, 12);
        let middle: State = f.chain.state.clone();
        let awarded_by_middle = f.awards.len();
        f.random_blocks(seed + 1_000, 12);
        let years = [None, Some(2026), Some(2027)];
        let what = format!("seed {seed}");
        // Every contract once with no year filter and once in its year,
        // with each of the two options.
        let at_middle = streamed_equal_taken(&f, &middle, &years, &what);
        assert_eq!(at_middle, awarded_by_middle * 4, "{what}");
        let at_end = streamed_equal_taken(&f, &f.chain.state, &years, &what);
        assert_eq!(at_end, f.awards.len() * 4, "{what}");
        assert!(f.payments.len() > 10, "{what}: payments to export");
    }
}

#[test]
fn a_streamed_ocds_package_checks_each_contract_against_the_state() {
    let f = Fixture::standard();
    // Raise the first payment of block 5 where a transaction is read alone.
    let (index, mut tx) = f.blocks[4]
        .txs
        .iter()
        .cloned()
        .enumerate()
        .find(|(_, t)| matches!(t.body.op, Op::Pay { .. }))
        .unwrap();
    if let Op::Pay { amount, .. } = &mut tx.body.op {
        amount.0 += 1;
    }
    let key = [5u64.to_be_bytes().as_slice(), &(index as u32).to_be_bytes()].concat();
    f.store.tamper("txs", &key, &tx.encode()).unwrap();
    let err = streamed_ocds(&f, &f.chain.state, None, &OcdsOptions::default()).unwrap_err();
    match &err {
        ExportError::Inconsistent { contract, .. } => assert_eq!(contract.as_str(), "C-2026-001"),
        e => panic!("expected Inconsistent, got {e}"),
    }
    assert!(err.to_string().contains("payments add up to"), "{err}");
    // A transaction the index names that is not about the contract.
    let other = f.blocks[0].txs[0].clone();
    f.store.tamper("txs", &key, &other.encode()).unwrap();
    let err = streamed_ocds(&f, &f.chain.state, None, &OcdsOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not about this contract"), "{err}");
}
