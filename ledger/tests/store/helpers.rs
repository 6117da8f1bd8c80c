//! The workload every test writes: ministries, departments and vendors
//! that appropriate, allocate, award, pay and return funds block after
//! block, and a store holding it, with what the test knows it wrote.

use std::collections::BTreeMap;

use ledger::block::Block;
use ledger::store::{HistoryEntry, Store, TxLocation};
use ledger::testkit::{id, key, TestChain, GENESIS_TIME_MS};
use ledger::tx::EntityKind;
use ledger::verify::{verify_store, VerifyError, VerifyReport};
use ledger::{Amount, CommitCertificate, ContractId, EntityId, Hash, LineCode, Op, SignedTx, Year};
use tempfile::TempDir;

pub(crate) const MINISTRIES: [&str; 2] = ["MOH", "MOET"];
/// Departments and their ministries. `MOH` is a prefix of two department
/// ids, and `V-1` of `V-10`: history must keep them apart.
pub(crate) const DEPARTMENTS: [(&str, &str); 3] = [
    ("MOH.BVBM", "MOH"),
    ("MOH.BVCR", "MOH"),
    ("MOET.DHBK", "MOET"),
];
pub(crate) const VENDORS: [&str; 2] = ["V-1", "V-10"];
pub(crate) const YEAR: u16 = 2026;
pub(crate) const LINE: &str = "0402-HEALTH-INFRA";
/// Blocks whose height is a multiple of this also return funds.
pub(crate) const RETURN_EVERY: u64 = 3;
pub(crate) const RETURNED: Amount = Amount(500);

pub(crate) fn year() -> Year {
    Year::new(YEAR).unwrap()
}

pub(crate) fn line() -> LineCode {
    LineCode::new(LINE).unwrap()
}

pub(crate) fn contract(h: u64, d: usize) -> ContractId {
    ContractId::new(&format!("C-{h}-{d}")).unwrap()
}

pub(crate) fn contract_amount(h: u64, d: usize) -> Amount {
    Amount(1_000_000 + h * 1_000 + d as u64)
}

pub(crate) fn vendor_of(h: u64, d: usize) -> &'static str {
    VENDORS[(h as usize + d) % VENDORS.len()]
}

/// The transactions of the next block: registrations, then appropriations,
/// then allocations, then each department awards a contract and pays off the
/// one it awarded in the block before.
pub(crate) fn block_txs(chain: &TestChain) -> Vec<SignedTx> {
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
        keys: vec![key(i).public_key()],
        threshold: 1,
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
pub(crate) struct Fixture {
    /// Always `Some`; an option so that [`Fixture::reopen`] can close it.
    /// Declared before `dir` so that it closes before the directory goes.
    pub(crate) open: Option<Store>,
    pub(crate) dir: TempDir,
    pub(crate) chain: TestChain,
    pub(crate) blocks: Vec<(Block, CommitCertificate)>,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
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
    pub(crate) fn with_blocks(n: u64) -> Fixture {
        let mut f = Fixture::new();
        f.commit_blocks(n);
        f
    }

    pub(crate) fn commit_blocks(&mut self, n: u64) {
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

    pub(crate) fn store(&self) -> &Store {
        self.open.as_ref().expect("the store is open")
    }

    /// Closes the store and opens it again from disk.
    pub(crate) fn reopen(&mut self) {
        drop(self.open.take());
        self.open = Some(Store::open(self.dir.path()).unwrap());
    }

    pub(crate) fn verify(&self) -> Result<VerifyReport, VerifyError> {
        verify_store(
            self.store(),
            &self.chain.genesis,
            self.chain.genesis_hash,
            GENESIS_TIME_MS,
            |_| {},
        )
    }

    pub(crate) fn block(&self, h: u64) -> &Block {
        &self.blocks[h as usize - 1].0
    }

    /// The history the test expects for each entity, from its own knowledge
    /// of who each of its transactions involves.
    pub(crate) fn expected_history(&self) -> BTreeMap<String, Vec<HistoryEntry>> {
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
