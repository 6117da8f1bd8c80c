//! Entity history read from the store a page at a time: the pages follow
//! the cursor to the end, hold what the test expects for each entity, and
//! are never longer than the limit or the cap.

use ledger::store::{HistoryEntry, Store, HISTORY_PAGE_MAX};
use ledger::testkit::{id, key};
use ledger::tx::EntityKind;
use ledger::{EntityId, Op, SignedTx};

use crate::helpers::Fixture;

fn all_pages(store: &Store, entity: &EntityId, limit: usize) -> Vec<Vec<HistoryEntry>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.history(entity, after, limit).unwrap();
        assert!(
            page.len() <= limit,
            "a page of {} over limit {limit}",
            page.len()
        );
        let Some(last) = page.last() else {
            return pages;
        };
        after = Some(last.location);
        pages.push(page);
        assert!(pages.len() <= 10_000, "the cursor does not advance");
    }
}

#[test]
fn history_pages_follow_the_cursor() {
    let mut f = Fixture::with_blocks(9);
    f.reopen();
    let expected = f.expected_history();
    assert_eq!(
        expected.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "MOET",
            "MOET.DHBK",
            "MOF",
            "MOH",
            "MOH.BVBM",
            "MOH.BVCR",
            "V-1",
            "V-10"
        ]
    );
    for (entity, want) in &expected {
        let entity = id(entity);
        assert_eq!(
            f.store().history(&entity, None, HISTORY_PAGE_MAX).unwrap(),
            *want,
            "history of {entity}"
        );
        for limit in [1, 2, 3, 7] {
            let pages = all_pages(f.store(), &entity, limit);
            let (last, full) = pages.split_last().expect("every entity has history");
            assert!(
                full.iter().all(|p| p.len() == limit),
                "{entity}: short page"
            );
            assert!(!last.is_empty() && last.len() <= limit);
            assert_eq!(pages.concat(), *want, "{entity} in pages of {limit}");
        }
        // A cursor at the last entry gives an empty page.
        let end = want.last().unwrap().location;
        assert_eq!(f.store().history(&entity, Some(end), 5).unwrap(), vec![]);
        assert_eq!(f.store().history(&entity, None, 0).unwrap(), vec![]);
    }
    // The hashes point at the transactions the test made.
    for entry in &expected["V-10"] {
        let block = f.block(entry.location.height.0);
        assert_eq!(
            block.txs[entry.location.index as usize].hash(),
            entry.tx_hash
        );
    }
    assert_eq!(f.store().history(&id("MOH.X"), None, 10).unwrap(), vec![]);
    assert_eq!(f.store().history(&id("V-"), None, 10).unwrap(), vec![]);
}

#[test]
fn history_pages_are_capped() {
    // MOF registers more entities in one block than a page holds.
    let f = Fixture::new();
    let n = HISTORY_PAGE_MAX + 5;
    let txs: Vec<SignedTx> = (0..n)
        .map(|i| {
            let v = format!("V-{i:05}");
            let op = Op::RegisterEntity {
                id: id(&v),
                kind: EntityKind::Vendor,
                name: format!("Nhà cung cấp {i}"),
                parent: None,
                keys: vec![key(&v).public_key()],
                threshold: 1,
            };
            f.chain.tx("MOF", i as u64, op)
        })
        .collect();
    let (block, cert, outcome) = f.chain.make_block(txs).unwrap();
    f.store()
        .commit_block(&block, &cert, &outcome, &f.chain.state)
        .unwrap();
    let mof = id("MOF");
    let first = f.store().history(&mof, None, usize::MAX).unwrap();
    assert_eq!(first.len(), HISTORY_PAGE_MAX);
    let rest = f
        .store()
        .history(&mof, Some(first.last().unwrap().location), usize::MAX)
        .unwrap();
    assert_eq!(rest.len(), 5);
    assert_eq!(rest.last().unwrap().location.index as usize, n - 1);
}
