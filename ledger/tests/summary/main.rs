//! The readers' summaries: what each block adds up to, read back from a
//! real store and from the pure model alike, checked against figures worked
//! out by hand; the red flags raised from them over the whole history; and
//! the rebuild of a store written before summaries were kept.

mod flags;
mod sums;

use std::collections::BTreeMap;

use ledger::store::Store;
use ledger::summary::{self, FlagParams, SummaryRead};
use ledger::testkit::{id, key, TestChain};
use ledger::tx::EntityKind;
use ledger::{Amount, ContractId, Hash, Height, LineCode, Op, SignedTx, Year};

pub(crate) const YEAR: Year = Year(2026);

pub(crate) fn cid(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

pub(crate) fn line() -> LineCode {
    LineCode::new("0402-HEALTH").unwrap()
}

/// A chain with ministry MOH (1,000 tỷ appropriated), departments MOH.A and
/// MOH.B (100 tỷ each), vendors V-1 to V-3; every block is committed to a
/// store and applied to the model map.
pub(crate) struct World {
    pub(crate) chain: TestChain,
    pub(crate) store: Store,
    pub(crate) model: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Each committed transaction's hash, by height and position.
    pub(crate) hashes: BTreeMap<(Height, u32), Hash>,
    _dir: tempfile::TempDir,
}

impl World {
    pub(crate) fn new() -> World {
        World::with_interval(1_000)
    }

    /// Blocks `interval_ms` apart.
    pub(crate) fn with_interval(interval_ms: u64) -> World {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = TestChain::new(1);
        chain.block_interval_ms = interval_ms;
        let store = Store::open(dir.path()).unwrap();
        store.init(&chain.genesis, chain.genesis_hash).unwrap();
        let mut w = World {
            chain,
            store,
            model: BTreeMap::new(),
            hashes: BTreeMap::new(),
            _dir: dir,
        };
        let mut register = Vec::new();
        let entities = [
            ("MOH", EntityKind::Ministry, None),
            ("MOH.A", EntityKind::Department, Some("MOH")),
            ("MOH.B", EntityKind::Department, Some("MOH")),
            ("V-1", EntityKind::Vendor, None),
            ("V-2", EntityKind::Vendor, None),
            ("V-3", EntityKind::Vendor, None),
        ];
        for (i, (e, kind, parent)) in entities.into_iter().enumerate() {
            let op = Op::RegisterEntity {
                id: id(e),
                kind,
                name: format!("Tổ chức {e}"),
                parent: parent.map(id),
                keys: vec![key(e).public_key()],
                threshold: 1,
            };
            register.push(w.chain.tx("MOF", i as u64, op));
        }
        w.block(register);
        let op = Op::Appropriate {
            year: YEAR,
            line: line(),
            to: id("MOH"),
            amount: Amount(1_000_000_000_000),
            legal_ref: "NQ-1".into(),
        };
        let t = w.chain.tx("MOF", 0, op);
        w.block(vec![t]);
        let allocs = ["MOH.A", "MOH.B"]
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let op = Op::Allocate {
                    year: YEAR,
                    line: line(),
                    to: id(d),
                    amount: Amount(100_000_000_000),
                };
                w.chain.tx("MOH", i as u64, op)
            })
            .collect();
        w.block(allocs);
        w
    }

    /// Commits one block to the store and the model.
    pub(crate) fn block(&mut self, txs: Vec<SignedTx>) -> Height {
        let (block, cert, outcome) = self.chain.make_block(txs).expect("the block executes");
        let changes = summary::changes(
            &block,
            &self.chain.state,
            &self.model,
            &FlagParams::default(),
        )
        .unwrap();
        summary::apply(&mut self.model, changes);
        self.store
            .commit_block(&block, &cert, &outcome, &self.chain.state)
            .unwrap();
        let h = block.header.height;
        for (i, tx) in block.txs.iter().enumerate() {
            self.hashes.insert((h, i as u32), tx.hash());
        }
        self.chain.advance(&block, cert, outcome);
        h
    }

    /// One transaction in its own block.
    pub(crate) fn one(&mut self, signer: &str, op: Op) -> Height {
        let tx = self.chain.tx(signer, 0, op);
        self.block(vec![tx])
    }

    pub(crate) fn award(
        &mut self,
        dept: &str,
        contract: &str,
        vendor: &str,
        amount: u64,
    ) -> Height {
        self.one(dept, award(contract, vendor, amount))
    }

    pub(crate) fn pay(&mut self, dept: &str, contract: &str, amount: u64) -> Height {
        self.one(dept, pay(contract, amount))
    }

    pub(crate) fn deliver(&mut self, dept: &str, contract: &str) -> Height {
        self.one(dept, deliver(contract))
    }

    pub(crate) fn amend(&mut self, dept: &str, contract: &str, amount: u64) -> Height {
        let op = Op::AmendContract {
            contract: cid(contract),
            amount: Amount(amount),
            reason: "Phát sinh".into(),
            document_hash: None,
        };
        self.one(dept, op)
    }

    /// Both readers: the store and the model.
    pub(crate) fn readers(&self) -> [&dyn SummaryRead; 2] {
        [&self.store, &self.model]
    }
}

pub(crate) fn award(contract: &str, vendor: &str, amount: u64) -> Op {
    Op::Award {
        contract: cid(contract),
        year: YEAR,
        line: line(),
        vendor: id(vendor),
        amount: Amount(amount),
        title: "Máy thở".into(),
        document_hash: None,
    }
}

pub(crate) fn pay(contract: &str, amount: u64) -> Op {
    Op::Pay {
        contract: cid(contract),
        amount: Amount(amount),
        reference: "HD-1".into(),
        document_hash: None,
    }
}

pub(crate) fn deliver(contract: &str) -> Op {
    Op::ConfirmDelivery {
        contract: cid(contract),
        milestone: "Đợt 1".into(),
        note: "Đã nhận".into(),
    }
}
