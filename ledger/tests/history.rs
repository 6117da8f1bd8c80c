//! `verify_store` checks the per-entity history too: a rewritten, missing or
//! invented history entry fails verification.

use ledger::store::Store;
use ledger::testkit::{key, TestChain, GENESIS_TIME_MS};
use ledger::tx::{EntityKind, Op};
use ledger::verify::verify_store;
use ledger::{Amount, EntityId, Hash, Height, LineCode, Year};

/// History key layout from docs/store.md: entity ‖ 0x00 ‖ height ‖ index.
fn history_key(entity: &str, height: u64, index: u32) -> Vec<u8> {
    let mut k = entity.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn chain_in(dir: &std::path::Path) -> (TestChain, Store) {
    let mut chain = TestChain::new(4);
    let store = Store::open(dir).unwrap();
    store.init(&chain.genesis, chain.genesis_hash).unwrap();
    let register = chain.tx(
        "MOF",
        0,
        Op::RegisterEntity {
            id: EntityId::new("MOH").unwrap(),
            kind: EntityKind::Ministry,
            name: "Bộ Y tế".into(),
            parent: None,
            keys: vec![key("MOH").public_key()],
            threshold: 1,
        },
    );
    let appropriate = chain.tx(
        "MOF",
        1,
        Op::Appropriate {
            year: Year::new(2026).unwrap(),
            line: LineCode::new("0402-HEALTH").unwrap(),
            to: EntityId::new("MOH").unwrap(),
            amount: Amount(1_000_000),
            legal_ref: "QĐ-7".into(),
        },
    );
    for txs in [vec![register], vec![appropriate]] {
        let (block, cert, outcome) = chain.make_block(txs).unwrap();
        store
            .commit_block(&block, &cert, &outcome, &chain.state)
            .unwrap();
        chain.advance(&block, cert, outcome);
    }
    (chain, store)
}

fn verify(chain: &TestChain, store: &Store) -> Result<(), (Height, String)> {
    verify_store(
        store,
        &chain.genesis,
        chain.genesis_hash,
        GENESIS_TIME_MS,
        |_| {},
    )
    .map(|_| ())
    .map_err(|e| (e.height(), e.to_string()))
}

#[test]
fn an_intact_history_verifies_and_names_both_parties() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, store) = chain_in(dir.path());
    assert_eq!(verify(&chain, &store), Ok(()));
    let moh = store
        .history(&EntityId::new("MOH").unwrap(), None, 10)
        .unwrap();
    assert_eq!(moh.len(), 2, "registered, then appropriated to");
    let mof = store
        .history(&EntityId::new("MOF").unwrap(), None, 10)
        .unwrap();
    assert_eq!(mof.len(), 2);
}

#[test]
fn a_rewritten_history_entry_fails_at_its_height() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, store) = chain_in(dir.path());
    store
        .tamper(
            "history",
            &history_key("MOH", 2, 0),
            &Hash::digest(b"other").0,
        )
        .unwrap();
    let (height, msg) = verify(&chain, &store).unwrap_err();
    assert_eq!(height, Height(2), "{msg}");
    assert!(msg.contains("history of MOH"), "{msg}");
}

#[test]
fn an_invented_history_entry_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, store) = chain_in(dir.path());
    store
        .tamper(
            "history",
            &history_key("V-0042", 1, 0),
            &Hash::digest(b"x").0,
        )
        .unwrap();
    let (height, msg) = verify(&chain, &store).unwrap_err();
    assert_eq!(height, Height(2), "{msg}");
    assert!(
        msg.contains("history holds 5 entries, the chain accounts for 4"),
        "{msg}"
    );
}
