//! The RocksDB store at its boundary: what was committed comes back after the
//! store is closed and reopened (blocks, certificates, the transaction index,
//! entity history, metadata and the state), and anything tampered with or
//! garbled is caught by `verify_store` naming the height it is at, as an
//! error, never a panic.
//!
//! Expectations are computed by the test from the transactions it made, not
//! read back from the store's own indexes.

use std::collections::BTreeMap;

use ledger::block::Block;
use ledger::codec;
use ledger::state::{BudgetFigures, StateKey, StateValue};
use ledger::store::{HistoryEntry, Store, StoreError, TxLocation, HISTORY_PAGE_MAX};
use ledger::testkit::{id, key, TestChain, CHAIN_ID, GENESIS_TIME_MS};
use ledger::tx::EntityKind;
use ledger::verify::{verify_store, VerifyError, VerifyReport};
use ledger::{
    Amount, CommitCertificate, ContractId, EntityId, Hash, Height, LineCode, Op, SignedTx, State,
    Year,
};
use tempfile::TempDir;

const MINISTRIES: [&str; 2] = ["MOH", "MOET"];
/// Departments and their ministries. `MOH` is a prefix of two department
/// ids, and `V-1` of `V-10`: history must keep them apart.
const DEPARTMENTS: [(&str, &str); 3] = [
    ("MOH.BVBM", "MOH"),
    ("MOH.BVCR", "MOH"),
    ("MOET.DHBK", "MOET"),
];
const VENDORS: [&str; 2] = ["V-1", "V-10"];
const YEAR: u16 = 2026;
const LINE: &str = "0402-HEALTH-INFRA";
/// Blocks whose height is a multiple of this also return funds.
const RETURN_EVERY: u64 = 3;
const RETURNED: Amount = Amount(500);

fn year() -> Year {
    Year::new(YEAR).unwrap()
}

fn line() -> LineCode {
    LineCode::new(LINE).unwrap()
}

fn contract(h: u64, d: usize) -> ContractId {
    ContractId::new(&format!("C-{h}-{d}")).unwrap()
}

fn contract_amount(h: u64, d: usize) -> Amount {
    Amount(1_000_000 + h * 1_000 + d as u64)
}

fn vendor_of(h: u64, d: usize) -> &'static str {
    VENDORS[(h as usize + d) % VENDORS.len()]
}

/// The transactions of the next block: registrations, then appropriations,
/// then allocations, then each department awards a contract and pays off the
/// one it awarded in the block before.
fn block_txs(chain: &TestChain) -> Vec<SignedTx> {
    let h = chain.state.height().0 + 1;
    let mut out: Vec<SignedTx> = Vec::new();
    let mut push = |signer: &str, op: Op| {
        let pending = out
            .iter()
            .filter(|t| t.body.signer.as_str() == signer)
            .count() as u64;
        out.push(chain.tx(signer, pending, op));
    };
    let register = |i: &str, kind, parent: Option<&str>| Op::RegisterEntity {
        id: id(i),
        kind,
        name: format!("Đơn vị {i}"),
        parent: parent.map(id),
        public_key: key(i).public_key(),
    };
    match h {
        1 => {
            for m in MINISTRIES {
                push("MOF", register(m, EntityKind::Ministry, None));
            }
            for (d, m) in DEPARTMENTS {
                push("MOF", register(d, EntityKind::Department, Some(m)));
            }
            for v in VENDORS {
                push("MOF", register(v, EntityKind::Vendor, None));
            }
        }
        2 => {
            for m in MINISTRIES {
                let op = Op::Appropriate {
                    year: year(),
                    line: line(),
                    to: id(m),
                    amount: Amount(1_000_000_000_000),
                    legal_ref: "QĐ-1234/QĐ-TTg".into(),
                };
                push("MOF", op);
            }
        }
        3 => {
            for (d, m) in DEPARTMENTS {
                let op = Op::Allocate {
                    year: year(),
                    line: line(),
                    to: id(d),
                    amount: Amount(100_000_000_000),
                };
                push(m, op);
            }
        }
        _ => {
            for (d, (dept, _)) in DEPARTMENTS.iter().enumerate() {
                let award = Op::Award {
                    contract: contract(h, d),
                    year: year(),
                    line: line(),
                    vendor: id(vendor_of(h, d)),
                    amount: contract_amount(h, d),
                    title: format!("Gói thầu {h}-{d}"),
                    document_hash: Some(Hash::digest(format!("hợp đồng {h}-{d}").as_bytes())),
                };
                push(dept, award);
                if h >= 5 {
                    let delivered = Op::ConfirmDelivery {
                        contract: contract(h - 1, d),
                        milestone: "Nghiệm thu".into(),
                        note: "Đủ số lượng".into(),
                    };
                    push(dept, delivered);
                    let pay = Op::Pay {
                        contract: contract(h - 1, d),
                        amount: contract_amount(h - 1, d),
                        reference: format!("UNC-{h}-{d}"),
                        document_hash: None,
                    };
                    push(dept, pay);
                }
                if h.is_multiple_of(RETURN_EVERY) {
                    let ret = Op::ReturnFunds {
                        year: year(),
                        line: line(),
                        amount: RETURNED,
                    };
                    push(dept, ret);
                }
            }
        }
    }
    out
}

/// A chain written into a store, with what the test knows it wrote.
struct Fixture {
    /// Always `Some`; an option so that [`Fixture::reopen`] can close it.
    /// Declared before `dir` so that it closes before the directory goes.
    open: Option<Store>,
    dir: TempDir,
    chain: TestChain,
    blocks: Vec<(Block, CommitCertificate)>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let chain = TestChain::new(4);
        let state = store.init(&chain.genesis, chain.genesis_hash).unwrap();
        assert_eq!(state, chain.genesis);
        Fixture {
            open: Some(store),
            dir,
            chain,
            blocks: Vec::new(),
        }
    }

    /// A store holding `n` blocks of the workload.
    fn with_blocks(n: u64) -> Fixture {
        let mut f = Fixture::new();
        f.commit_blocks(n);
        f
    }

    fn commit_blocks(&mut self, n: u64) {
        for _ in 0..n {
            let txs = block_txs(&self.chain);
            let (block, cert, outcome) = self
                .chain
                .make_block(txs)
                .unwrap_or_else(|(i, e)| panic!("workload tx {i} rejected: {e}"));
            self.store()
                .commit_block(&block, &cert, &outcome, &self.chain.state)
                .unwrap();
            self.chain.advance(&block, cert.clone(), outcome);
            self.blocks.push((block, cert));
        }
    }

    fn store(&self) -> &Store {
        self.open.as_ref().expect("the store is open")
    }

    /// Closes the store and opens it again from disk.
    fn reopen(&mut self) {
        drop(self.open.take());
        self.open = Some(Store::open(self.dir.path()).unwrap());
    }

    fn verify(&self) -> Result<VerifyReport, VerifyError> {
        verify_store(
            self.store(),
            &self.chain.genesis,
            self.chain.genesis_hash,
            GENESIS_TIME_MS,
            |_| {},
        )
    }

    fn block(&self, h: u64) -> &Block {
        &self.blocks[h as usize - 1].0
    }

    /// The history the test expects for each entity, from its own knowledge
    /// of who each of its transactions involves.
    fn expected_history(&self) -> BTreeMap<String, Vec<HistoryEntry>> {
        let parent: BTreeMap<&str, &str> = DEPARTMENTS.iter().copied().collect();
        let mut vendor_of_contract: BTreeMap<ContractId, EntityId> = BTreeMap::new();
        let mut out: BTreeMap<String, Vec<HistoryEntry>> = BTreeMap::new();
        for (block, _) in &self.blocks {
            for (i, tx) in block.txs.iter().enumerate() {
                let signer = tx.body.signer.as_str().to_owned();
                let other: Option<String> = match &tx.body.op {
                    Op::RegisterEntity { id, .. } => Some(id.to_string()),
                    Op::Appropriate { to, .. } | Op::Allocate { to, .. } => Some(to.to_string()),
                    Op::Award {
                        contract, vendor, ..
                    } => {
                        vendor_of_contract.insert(contract.clone(), vendor.clone());
                        Some(vendor.to_string())
                    }
                    Op::Pay { contract, .. } | Op::ConfirmDelivery { contract, .. } => {
                        Some(vendor_of_contract[contract].to_string())
                    }
                    Op::ReturnFunds { .. } => Some(parent[signer.as_str()].to_owned()),
                    op => panic!("the workload does not make {}", op.name()),
                };
                let entry = HistoryEntry {
                    location: TxLocation {
                        height: block.header.height,
                        index: i as u32,
                    },
                    tx_hash: tx.hash(),
                };
                out.entry(signer).or_default().push(entry);
                out.entry(other.expect("every op names a counterparty"))
                    .or_default()
                    .push(entry);
            }
        }
        out
    }
}

#[test]
fn committed_blocks_read_back_after_reopen() {
    let mut f = Fixture::with_blocks(10);
    f.reopen();
    let store = f.store();

    for (block, cert) in &f.blocks {
        let h = block.header.height;
        assert_eq!(store.block(h).unwrap().as_ref(), Some(block), "block {h}");
        assert_eq!(store.cert(h).unwrap().as_ref(), Some(cert), "cert {h}");
        for (i, tx) in block.txs.iter().enumerate() {
            let want = TxLocation {
                height: h,
                index: i as u32,
            };
            assert_eq!(store.tx_location(&tx.hash()).unwrap(), Some(want));
        }
    }
    assert_eq!(store.block(Height(0)).unwrap(), None);
    assert_eq!(store.block(Height(11)).unwrap(), None);
    assert_eq!(store.cert(Height(11)).unwrap(), None);
    let stranger = f.chain.tx(
        "MOH",
        0,
        Op::SetStatus {
            entity: id("V-1"),
            status: ledger::tx::Status::Suspended,
        },
    );
    assert_eq!(store.tx_location(&stranger.hash()).unwrap(), None);

    let meta = store.meta().unwrap().expect("initialised");
    assert_eq!(meta.chain_id, CHAIN_ID);
    assert_eq!(meta.genesis_hash, f.chain.genesis_hash);
    assert_eq!(meta.height, Height(10));
    assert_eq!(meta.last_block_hash, f.block(10).hash());
    assert_eq!(meta.state_root, f.block(10).header.state_root);

    // Opening again gives back the state the chain reached in memory.
    let state = store.init(&f.chain.genesis, f.chain.genesis_hash).unwrap();
    assert_eq!(state.height(), Height(10));
    assert_eq!(state.root(), f.chain.state.root());
    assert!(state.entries().eq(f.chain.state.entries()));
    assert_eq!(state, f.chain.state);
    assert_eq!(
        store.state_entries().unwrap(),
        f.chain
            .state
            .entries()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    );

    // The figures add up to what the test paid out, counted independently.
    for v in VENDORS {
        let paid: u64 = (4..10u64)
            .flat_map(|h| (0..DEPARTMENTS.len()).map(move |d| (h, d)))
            .filter(|&(h, d)| vendor_of(h, d) == v)
            .map(|(h, d)| contract_amount(h, d).0)
            .sum();
        assert_eq!(state.budget(&id(v), year(), &line()).received, Amount(paid));
    }
    let returns = (1..=10)
        .filter(|h: &u64| h.is_multiple_of(RETURN_EVERY) && *h >= 4)
        .count() as u64;
    let figures = state.budget(&id("MOH.BVBM"), year(), &line());
    assert_eq!(
        figures.received,
        Amount(100_000_000_000 - returns * RETURNED.0)
    );

    let report = f.verify().unwrap();
    let txs: usize = f.blocks.iter().map(|(b, _)| b.txs.len()).sum();
    assert_eq!(report.height, Height(10));
    assert_eq!(report.txs, txs as u64);
    assert_eq!(report.last_block_hash, f.block(10).hash());
    assert_eq!(report.state_root, f.chain.state.root());
}

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
                public_key: key(&v).public_key(),
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

#[test]
fn a_reopened_store_takes_more_blocks() {
    let mut f = Fixture::with_blocks(5);
    f.reopen();
    // Resume as a node does: from the state the store gives back.
    let state = f
        .store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .unwrap();
    f.chain.state = state;
    f.commit_blocks(4);
    f.reopen();
    let report = f.verify().unwrap();
    assert_eq!(report.height, Height(9));
    assert_eq!(report.state_root, f.chain.state.root());
    assert_eq!(f.store().meta().unwrap().unwrap().height, Height(9));
}

#[test]
fn a_refused_write_leaves_the_store_unchanged_and_reopen_resumes_it() {
    let mut f = Fixture::with_blocks(3);
    let before = f.verify().unwrap();
    // A read-only open stands for a disk that refuses writes: the store
    // serves reads, and the write of block 4 fails as a whole.
    drop(f.open.take());
    f.open = Some(Store::open_read_only(f.dir.path()).unwrap());
    assert!(!f.store().is_writable());
    let (block, cert, outcome) = f.chain.make_block(block_txs(&f.chain)).unwrap();
    let refused = f
        .store()
        .commit_block(&block, &cert, &outcome, &f.chain.state);
    assert!(matches!(refused, Err(StoreError::Db(_))), "{refused:?}");
    assert!(f.store().safety_put(b"record", b"x").is_err());
    assert_eq!(f.store().block(Height(4)).unwrap(), None);
    assert_eq!(f.store().safety_get(b"record").unwrap(), None);
    let meta = f.store().meta().unwrap().unwrap();
    assert_eq!(meta.height, Height(3));
    assert_eq!(meta.last_block_hash, f.block(3).hash());
    assert_eq!(f.verify().unwrap(), before);

    // Reopened for writing in place, it takes the same block.
    f.store().reopen().unwrap();
    assert!(f.store().is_writable());
    f.store()
        .commit_block(&block, &cert, &outcome, &f.chain.state)
        .unwrap();
    f.chain.advance(&block, cert.clone(), outcome);
    f.blocks.push((block, cert));
    f.commit_blocks(2);
    // A reopen of a writable store swaps it for a fresh handle as well.
    f.store().reopen().unwrap();
    f.commit_blocks(1);
    f.reopen();
    let report = f.verify().unwrap();
    assert_eq!(report.height, Height(7));
    assert_eq!(report.state_root, f.chain.state.root());
}

#[test]
fn init_refuses_another_genesis() {
    let f = Fixture::with_blocks(4);
    let other_hash = Hash::digest(b"another genesis");
    let err = f.store().init(&f.chain.genesis, other_hash).unwrap_err();
    match err {
        StoreError::OtherChain {
            expected_genesis,
            found_genesis,
            ..
        } => {
            assert_eq!(expected_genesis, other_hash);
            assert_eq!(found_genesis, f.chain.genesis_hash);
        }
        e => panic!("expected OtherChain, got {e}"),
    }
    let entries = f
        .chain
        .genesis
        .entries()
        .map(|(k, v)| (k.clone(), Some(v.clone())));
    let other_chain = State::genesis("minhbach-other", f.chain.genesis_hash, entries.collect());
    assert!(matches!(
        f.store().init(&other_chain, f.chain.genesis_hash),
        Err(StoreError::OtherChain { found, .. }) if found == CHAIN_ID
    ));
    // Refusing changed nothing.
    assert_eq!(f.store().meta().unwrap().unwrap().height, Height(4));
    assert_eq!(
        f.store()
            .init(&f.chain.genesis, f.chain.genesis_hash)
            .unwrap(),
        f.chain.state
    );
    // verify_store refuses another genesis too, at height 0.
    let err = verify_store(
        f.store(),
        &f.chain.genesis,
        other_hash,
        GENESIS_TIME_MS,
        |_| {},
    )
    .unwrap_err();
    assert_eq!(err.height(), Height(0));
}

// ---------------------------------------------------------------------------
// Tampering. Each case writes the same 6 blocks, changes one stored record
// and expects verification to fail at a given height.

const TAMPER_BLOCKS: u64 = 6;

/// The height and description of a verification failure, and whether it
/// came from an unreadable record (`Corrupt`) rather than a bad one.
fn failure(err: &VerifyError) -> (Height, bool, String) {
    let corrupt = matches!(err, VerifyError::Store(StoreError::Corrupt { .. }));
    assert!(
        corrupt || matches!(err, VerifyError::Bad { .. }),
        "unexpected error kind: {err:?}"
    );
    (err.height(), corrupt, err.to_string())
}

fn tampered(change: impl FnOnce(&Fixture)) -> (Height, bool, String) {
    let mut f = Fixture::with_blocks(TAMPER_BLOCKS);
    assert!(f.verify().is_ok(), "the untampered store verifies");
    change(&f);
    f.reopen();
    let err = f.verify().expect_err("verification must fail");
    failure(&err)
}

fn put_block(f: &Fixture, h: u64, block: &Block) {
    f.store()
        .tamper("blocks", &h.to_be_bytes(), &block.encode())
        .unwrap();
}

fn raise_first_pay(block: &mut Block) {
    for tx in &mut block.txs {
        if let Op::Pay { amount, .. } = &mut tx.body.op {
            amount.0 += 1;
            return;
        }
    }
    panic!("block {} has no payment", block.header.height);
}

#[test]
fn a_changed_payment_is_caught_at_its_block() {
    for h in [5, TAMPER_BLOCKS] {
        let (at, corrupt, what) = tampered(|f| {
            let mut block = f.block(h).clone();
            raise_first_pay(&mut block);
            put_block(f, h, &block);
        });
        assert_eq!((at, corrupt), (Height(h), false), "{what}");
        assert!(what.contains("txs_root"), "{what}");
    }
}

#[test]
fn a_changed_payment_with_a_matching_header_is_caught_at_its_block() {
    // The forger also recomputes the transactions root, so the block is
    // self-consistent; the signature and the certificate still give it away.
    let (at, corrupt, what) = tampered(|f| {
        let mut block = f.block(5).clone();
        raise_first_pay(&mut block);
        block.header.txs_root = ledger::merkle::root_from_leaf_hashes(&block.tx_leaf_hashes());
        assert!(block.check_contents().is_ok());
        put_block(f, 5, &block);
    });
    assert_eq!((at, corrupt), (Height(5), false), "{what}");
}

#[test]
fn a_certificate_without_two_thirds_is_caught_at_its_block() {
    let (at, corrupt, what) = tampered(|f| {
        let mut cert = f.blocks[3].1.clone();
        cert.precommits.truncate(2);
        f.store()
            .tamper("certs", &4u64.to_be_bytes(), &cert.encode())
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
    assert!(
        what.contains("commit certificate") && what.contains("2/3"),
        "{what}"
    );
}

#[test]
fn a_certificate_for_another_block_is_caught() {
    let (at, corrupt, what) = tampered(|f| {
        let cert = f.blocks[2].1.encode();
        f.store()
            .tamper("certs", &4u64.to_be_bytes(), &cert)
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
}

#[test]
fn a_block_moved_to_another_height_is_caught() {
    let (at, corrupt, what) = tampered(|f| put_block(f, 4, f.block(5)));
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
}

#[test]
fn a_changed_state_entry_is_caught_at_the_last_height() {
    let last = Height(TAMPER_BLOCKS);
    let dept = id("MOH.BVBM");
    let key = codec::encode(&StateKey::Budget(dept.clone(), year(), line()));

    let (at, corrupt, what) = tampered(|f| {
        let mut figures: BudgetFigures = f.chain.state.budget(&dept, year(), &line());
        figures.paid.0 += 1;
        let value = codec::encode(&StateValue::Budget(figures));
        f.store().tamper("state", &key, &value).unwrap();
    });
    assert_eq!((at, corrupt), (last, false), "{what}");
    assert!(what.contains("stored state"), "{what}");
}

#[test]
fn an_added_state_entry_is_caught_at_the_last_height() {
    let (at, corrupt, what) = tampered(|f| {
        let key = StateKey::Budget(id("V-99"), year(), line());
        let value = StateValue::Budget(BudgetFigures {
            received: Amount(1_000_000_000),
            ..BudgetFigures::default()
        });
        f.store()
            .tamper("state", &codec::encode(&key), &codec::encode(&value))
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS), false), "{what}");
}

#[test]
fn an_unreadable_state_entry_is_corrupt_at_the_last_height() {
    let dept = id("MOH.BVBM");
    let key = codec::encode(&StateKey::Budget(dept.clone(), year(), line()));
    let wrong_kind = codec::encode(&StateValue::Treasury(dept));
    for value in [vec![0xff; 7], vec![], wrong_kind] {
        let (at, corrupt, what) = tampered(|f| f.store().tamper("state", &key, &value).unwrap());
        assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS), true), "{what}");
    }
}

#[test]
fn garbage_in_a_block_is_corrupt_at_its_height_never_a_panic() {
    let h = 4u64;
    let good = {
        let f = Fixture::with_blocks(h);
        f.block(h).encode()
    };
    let mut trailing = good.clone();
    trailing.push(0);
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 0xff;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("one byte", vec![7]),
        (
            "random",
            (0..300u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("a huge length prefix", vec![0xff; 16]),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("half", good[..good.len() / 2].to_vec()),
        ("a trailing byte", trailing),
        ("a flipped byte", flipped),
    ];
    for (name, bytes) in cases {
        let (at, corrupt, what) = tampered(|f| {
            f.store()
                .tamper("blocks", &h.to_be_bytes(), &bytes)
                .unwrap();
            match f.store().block(Height(h)) {
                Err(StoreError::Corrupt { height, .. }) => assert_eq!(height, Height(h)),
                // A flipped byte can still decode; verification must catch it.
                Ok(Some(b)) => assert_ne!(b, *f.block(h), "{name}: the block is unchanged"),
                other => panic!("{name}: reading the block gave {other:?}"),
            }
        });
        assert_eq!(at, Height(h), "{name}: {what}");
        if name != "a flipped byte" {
            assert!(corrupt, "{name}: {what}");
        }
    }
}

#[test]
fn garbage_in_a_certificate_is_corrupt_at_its_height() {
    let (at, corrupt, what) = tampered(|f| {
        f.store()
            .tamper("certs", &3u64.to_be_bytes(), b"not a certificate")
            .unwrap();
        assert!(matches!(
            f.store().cert(Height(3)),
            Err(StoreError::Corrupt {
                height: Height(3),
                ..
            })
        ));
    });
    assert_eq!((at, corrupt), (Height(3), true), "{what}");
}

#[test]
fn a_wrong_index_entry_is_caught_at_its_block() {
    let (at, corrupt, what) = tampered(|f| {
        let tx = &f.block(4).txs[1];
        let mut wrong = [0u8; 12];
        wrong[..8].copy_from_slice(&4u64.to_be_bytes());
        wrong[8..].copy_from_slice(&0u32.to_be_bytes());
        f.store().tamper("txindex", &tx.hash().0, &wrong).unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), false), "{what}");
}

#[test]
fn an_unreadable_index_entry_is_caught_at_its_block() {
    let (at, corrupt, what) = tampered(|f| {
        let tx = &f.block(4).txs[1];
        f.store().tamper("txindex", &tx.hash().0, b"short").unwrap();
    });
    assert_eq!((at, corrupt), (Height(4), true), "{what}");
}

#[test]
fn metadata_claiming_a_missing_block_is_caught() {
    let (at, corrupt, what) = tampered(|f| {
        f.store()
            .tamper("meta", b"height", &(TAMPER_BLOCKS + 1).to_be_bytes())
            .unwrap();
    });
    assert_eq!((at, corrupt), (Height(TAMPER_BLOCKS + 1), false), "{what}");
    assert!(what.contains("block missing"), "{what}");
}

#[test]
fn an_invented_validator_set_change_in_the_index_is_caught() {
    let (at, _, what) = tampered(|f| {
        assert_eq!(
            f.store().set_change_heights(Height(u64::MAX)).unwrap(),
            vec![]
        );
        let mut key = b"set_change/".to_vec();
        key.extend_from_slice(&2u64.to_be_bytes());
        f.store().tamper("meta", &key, &[]).unwrap();
        assert_eq!(
            f.store().set_change_heights(Height(u64::MAX)).unwrap(),
            vec![Height(2)]
        );
    });
    assert_eq!(at, Height(TAMPER_BLOCKS));
    assert!(what.contains("index of validator-set changes"), "{what}");
}
