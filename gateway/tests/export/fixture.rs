//! The chain the export tests read: two ministries, their departments and
//! two vendors, with awards, payments, amendments and deliveries over two
//! fiscal years, written into a real store; what the test submitted is
//! recorded from the operations themselves. Also the reading of a CSV
//! export into rows.

use std::collections::BTreeMap;

use gateway::export::{self, Settings};
use genesis::Currency;
use ledger::block::Block;
use ledger::store::Store;
use ledger::testkit::{id, key, TestChain, GENESIS_TIME_MS};
use ledger::tx::EntityKind;
use ledger::{Amount, ContractId, Hash, LineCode, Op, SignedTx, Year};
use tempfile::TempDir;

pub(crate) const HEALTH: &str = "0402-HEALTH-INFRA";
const SCHOOLS: &str = "0501-EDU-EQUIP";

/// (id, kind, name, parent)
pub(crate) const ENTITIES: [(&str, EntityKind, &str, Option<&str>); 6] = [
    ("MOH", EntityKind::Ministry, "Bộ Y tế", None),
    ("MOET", EntityKind::Ministry, "Bộ Giáo dục và Đào tạo", None),
    (
        "MOH.BVBM",
        EntityKind::Department,
        "Bệnh viện Bạch Mai",
        Some("MOH"),
    ),
    (
        "MOET.DHBK",
        EntityKind::Department,
        "Trường Đại học Bách khoa Hà Nội",
        Some("MOET"),
    ),
    (
        "V-0001",
        EntityKind::Vendor,
        "Công ty TNHH Thiết bị Y tế Sông Hồng",
        None,
    ),
    (
        "V-0002",
        EntityKind::Vendor,
        "Công ty Cổ phần Xây dựng Công trình Đông Đô",
        None,
    ),
];

fn cid(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

pub(crate) fn line(s: &str) -> LineCode {
    LineCode::new(s).unwrap()
}

/// The display name the test registered for `entity`.
pub(crate) fn name(entity: &str) -> &'static str {
    ENTITIES
        .iter()
        .find(|e| e.0 == entity)
        .map_or("Bộ Tài chính", |e| e.2)
}

/// A payment the test submitted.
#[derive(Clone, Debug)]
pub(crate) struct Paid {
    pub(crate) contract: String,
    pub(crate) amount: u64,
    pub(crate) reference: String,
    pub(crate) tx_hash: Hash,
    pub(crate) height: u64,
}

/// An award the test submitted.
#[derive(Clone, Debug)]
pub(crate) struct Awarded {
    pub(crate) department: String,
    pub(crate) vendor: String,
    pub(crate) year: u16,
    pub(crate) line: String,
    pub(crate) amount: u64,
    pub(crate) tx_hash: Hash,
    pub(crate) height: u64,
}

/// A chain written into a store, and what the test submitted to it,
/// recorded from the operations themselves.
pub(crate) struct Fixture {
    pub(crate) chain: TestChain,
    pub(crate) store: Store,
    _dir: TempDir,
    pub(crate) blocks: Vec<Block>,
    /// Contract id → its award.
    pub(crate) awards: BTreeMap<String, Awarded>,
    /// Payments in chain order.
    pub(crate) payments: Vec<Paid>,
    /// Contract id → (tx hash, new amount, reason), oldest first.
    pub(crate) amendments: BTreeMap<String, Vec<(Hash, u64, String)>>,
    /// Contract id → (tx hash, milestone, note, height), oldest first.
    pub(crate) deliveries: BTreeMap<String, Vec<(Hash, String, String, u64)>>,
}

pub(crate) fn award(
    contract: &str,
    dept: &str,
    vendor: &str,
    year: u16,
    l: &str,
    amount: u64,
) -> (String, Op) {
    let op = Op::Award {
        contract: cid(contract),
        year: Year(year),
        line: line(l),
        vendor: id(vendor),
        amount: Amount(amount),
        title: format!("Gói thầu {contract}: thiết bị và lắp đặt"),
        document_hash: Some(Hash::digest(format!("hợp đồng {contract}").as_bytes())),
    };
    (dept.to_owned(), op)
}

pub(crate) fn pay(contract: &str, dept: &str, amount: u64, n: u32) -> (String, Op) {
    let op = Op::Pay {
        contract: cid(contract),
        amount: Amount(amount),
        reference: format!("UNC-{n:03}/KBNN"),
        document_hash: (n % 2 == 1).then(|| Hash::digest(format!("hóa đơn {n}").as_bytes())),
    };
    (dept.to_owned(), op)
}

fn signed(signer: &str, op: Op) -> (String, Op) {
    (signer.to_owned(), op)
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let chain = TestChain::new(4);
        store.init(&chain.genesis, chain.genesis_hash).unwrap();
        Fixture {
            chain,
            store,
            _dir: dir,
            blocks: Vec::new(),
            awards: BTreeMap::new(),
            payments: Vec::new(),
            amendments: BTreeMap::new(),
            deliveries: BTreeMap::new(),
        }
    }

    pub(crate) fn height(&self) -> u64 {
        self.chain.state.height().0
    }

    /// Signs `ops` (signer, op) with consecutive nonces per signer, commits
    /// them into the store as the next block, and records what they were.
    pub(crate) fn block_with(&mut self, ops: Vec<(String, Op)>) {
        let mut txs: Vec<SignedTx> = Vec::new();
        for (signer, op) in &ops {
            let pending = txs
                .iter()
                .filter(|t| t.body.signer.as_str() == signer)
                .count() as u64;
            txs.push(self.chain.tx(signer, pending, op.clone()));
        }
        let hashes: Vec<Hash> = txs.iter().map(SignedTx::hash).collect();
        let (block, cert, outcome) = self
            .chain
            .make_block(txs)
            .unwrap_or_else(|(i, e)| panic!("tx {i} rejected: {e}"));
        self.store
            .commit_block(&block, &cert, &outcome, &self.chain.state)
            .unwrap();
        self.chain.advance(&block, cert, outcome);
        self.blocks.push(block);
        let h = self.height();
        for ((signer, op), tx_hash) in ops.into_iter().zip(hashes) {
            match op {
                Op::Award {
                    contract,
                    year,
                    line,
                    vendor,
                    amount,
                    ..
                } => {
                    let a = Awarded {
                        department: signer,
                        vendor: vendor.to_string(),
                        year: year.0,
                        line: line.to_string(),
                        amount: amount.0,
                        tx_hash,
                        height: h,
                    };
                    self.awards.insert(contract.to_string(), a);
                }
                Op::Pay {
                    contract,
                    amount,
                    reference,
                    ..
                } => self.payments.push(Paid {
                    contract: contract.to_string(),
                    amount: amount.0,
                    reference,
                    tx_hash,
                    height: h,
                }),
                Op::AmendContract {
                    contract,
                    amount,
                    reason,
                    ..
                } => self
                    .amendments
                    .entry(contract.to_string())
                    .or_default()
                    .push((tx_hash, amount.0, reason)),
                Op::ConfirmDelivery {
                    contract,
                    milestone,
                    note,
                } => self
                    .deliveries
                    .entry(contract.to_string())
                    .or_default()
                    .push((tx_hash, milestone, note, h)),
                _ => {}
            }
        }
    }

    pub(crate) fn payments_of(&self, contract: &str) -> Vec<&Paid> {
        self.payments
            .iter()
            .filter(|p| p.contract == contract)
            .collect()
    }

    /// The standard chain: 8 blocks, two fiscal years.
    pub(crate) fn standard() -> Fixture {
        Fixture::standard_spending(Fixture::funded())
    }

    /// Blocks 1 to 3 of the standard chain: the entities, and both
    /// departments funded on their line for 2026 and 2027.
    pub(crate) fn funded() -> Fixture {
        let mut f = Fixture::new();
        // 1: entities.
        let regs = ENTITIES
            .iter()
            .map(|(i, kind, name, parent)| {
                let op = Op::RegisterEntity {
                    id: id(i),
                    kind: *kind,
                    name: (*name).into(),
                    parent: parent.map(id),
                    keys: vec![key(i).public_key()],
                    threshold: 1,
                };
                signed("MOF", op)
            })
            .collect();
        f.block_with(regs);
        // 2: appropriations for 2026 and 2027.
        let mut ops = Vec::new();
        for (m, l) in [("MOH", HEALTH), ("MOET", SCHOOLS)] {
            for y in [2026, 2027] {
                let op = Op::Appropriate {
                    year: Year(y),
                    line: line(l),
                    to: id(m),
                    amount: Amount(50_000_000_000),
                    legal_ref: "Nghị quyết 01/2026/QH15".into(),
                };
                ops.push(signed("MOF", op));
            }
        }
        f.block_with(ops);
        // 3: allocations.
        let mut ops = Vec::new();
        for (m, d, l) in [("MOH", "MOH.BVBM", HEALTH), ("MOET", "MOET.DHBK", SCHOOLS)] {
            for y in [2026, 2027] {
                let op = Op::Allocate {
                    year: Year(y),
                    line: line(l),
                    to: id(d),
                    amount: Amount(10_000_000_000),
                };
                ops.push(signed(m, op));
            }
        }
        f.block_with(ops);
        f
    }

    /// Adds `blocks` random blocks (seeded by `seed`) on a
    /// [`Fixture::funded`] chain: awards in both years, by both
    /// departments to both vendors, several to a block, under ids whose
    /// order is not the award order; and payments, amendments up and down
    /// and deliveries of the contracts awarded in earlier blocks, mixed.
    pub(crate) fn random_blocks(&mut self, seed: u64, blocks: usize) {
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let departments = [("MOH.BVBM", HEALTH), ("MOET.DHBK", SCHOOLS)];
        let mut n = self.blocks.len() as u32 * 10;
        for _ in 0..blocks {
            // What each contract stands at, from what was submitted so far.
            let mut open: Vec<(String, String, u64, u64)> = self
                .awards
                .iter()
                .map(|(id, a)| {
                    let amount = self
                        .amendments
                        .get(id)
                        .and_then(|m| m.last())
                        .map_or(a.amount, |m| m.1);
                    let paid = self.payments_of(id).iter().map(|p| p.amount).sum();
                    (id.clone(), a.department.clone(), amount, paid)
                })
                .collect();
            let mut ops = Vec::new();
            for _ in 0..1 + next() % 6 {
                n += 1;
                let pick = next() % 5;
                if open.is_empty() || pick == 0 {
                    let (dept, l) = departments[(next() % 2) as usize];
                    let vendor = ["V-0001", "V-0002"][(next() % 2) as usize];
                    let year = [2026, 2027][(next() % 2) as usize];
                    let contract = format!("C-{:04}-{n}", next() % 10_000);
                    let amount = 1_000_000 + next() % 50_000_000;
                    ops.push(award(&contract, dept, vendor, year, l, amount));
                    continue;
                }
                let k = (next() % open.len() as u64) as usize;
                let (contract, dept, amount, paid) = &mut open[k];
                let c = cid(contract);
                match pick {
                    1 | 2 if *paid < *amount => {
                        let part = 1 + next() % (*amount - *paid);
                        *paid += part;
                        ops.push(pay(contract, dept, part, n));
                    }
                    3 => {
                        let up = next().is_multiple_of(2) || *amount <= *paid + 1;
                        *amount = if up {
                            *amount + 1 + next() % 10_000_000
                        } else {
                            *paid + 1 + next() % (*amount - *paid - 1)
                        };
                        let op = Op::AmendContract {
                            contract: c,
                            amount: Amount(*amount),
                            reason: format!("Điều chỉnh lần {n}"),
                            document_hash: n
                                .is_multiple_of(2)
                                .then(|| Hash::digest(format!("phụ lục {n}").as_bytes())),
                        };
                        ops.push(signed(dept, op));
                    }
                    _ => {
                        let op = Op::ConfirmDelivery {
                            contract: c,
                            milestone: format!("Đợt {n}"),
                            note: format!("Biên bản số {n}"),
                        };
                        ops.push(signed(dept, op));
                    }
                }
            }
            self.block_with(ops);
        }
    }

    /// Blocks 4 onwards of the standard chain, on [`Fixture::funded`].
    fn standard_spending(mut f: Fixture) -> Fixture {
        // 4: three awards over two years.
        f.block_with(vec![
            award(
                "C-2026-001",
                "MOH.BVBM",
                "V-0001",
                2026,
                HEALTH,
                500_000_000,
            ),
            award(
                "C-2026-002",
                "MOET.DHBK",
                "V-0002",
                2026,
                SCHOOLS,
                1_200_000_000,
            ),
            award(
                "C-2027-001",
                "MOH.BVBM",
                "V-0002",
                2027,
                HEALTH,
                300_000_000,
            ),
        ]);
        // 5: first payments and a delivery.
        f.block_with(vec![
            pay("C-2026-001", "MOH.BVBM", 200_000_000, 1),
            pay("C-2026-002", "MOET.DHBK", 400_000_000, 2),
            signed(
                "MOH.BVBM",
                Op::ConfirmDelivery {
                    contract: cid("C-2026-001"),
                    milestone: "Đợt 1: bàn giao máy".into(),
                    note: "Đủ 12 máy thở".into(),
                },
            ),
        ]);
        // 6: an amendment up, one down, more payments.
        f.block_with(vec![
            signed(
                "MOH.BVBM",
                Op::AmendContract {
                    contract: cid("C-2026-001"),
                    amount: Amount(650_000_000),
                    reason: "Bổ sung 3 máy thở".into(),
                    document_hash: Some(Hash::digest(b"phu luc 1")),
                },
            ),
            pay("C-2026-001", "MOH.BVBM", 450_000_000, 3),
            signed(
                "MOET.DHBK",
                Op::AmendContract {
                    contract: cid("C-2026-002"),
                    amount: Amount(1_000_000_000),
                    reason: "Giảm khối lượng".into(),
                    document_hash: None,
                },
            ),
            pay("C-2027-001", "MOH.BVBM", 100_000_000, 4),
        ]);
        // 7: the last delivery and payment of 2026, and an unrelated return.
        f.block_with(vec![
            signed(
                "MOH.BVBM",
                Op::ConfirmDelivery {
                    contract: cid("C-2026-001"),
                    milestone: "Đợt 2: nghiệm thu".into(),
                    note: "Biên bản nghiệm thu số 7".into(),
                },
            ),
            pay("C-2026-002", "MOET.DHBK", 600_000_000, 5),
            signed(
                "MOH.BVBM",
                Op::ReturnFunds {
                    year: Year(2026),
                    line: line(HEALTH),
                    amount: Amount(1_000),
                },
            ),
        ]);
        // 8: one more payment of 2027.
        f.block_with(vec![pay("C-2027-001", "MOH.BVBM", 50_000_000, 6)]);
        f
    }

    pub(crate) fn settings() -> Settings {
        Settings {
            currency: Currency::default(),
            genesis_time_ms: GENESIS_TIME_MS,
        }
    }

    pub(crate) fn export(&self, year: Option<u16>) -> export::Export {
        export::take(
            &self.chain.state,
            &self.store,
            &Fixture::settings(),
            year.map(Year),
        )
        .unwrap()
    }

    pub(crate) fn last_hash(&self) -> Hash {
        self.blocks.last().unwrap().hash()
    }
}

/// The time of block `h` in the fixture, written independently.
pub(crate) fn block_time(h: u64) -> String {
    assert!(h < 10);
    format!("2026-01-01T00:00:0{h}.000Z")
}

pub(crate) fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), header.len(), "a row as wide as the header");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

pub(crate) fn of_type<'a>(
    rows: &'a [BTreeMap<String, String>],
    t: &str,
) -> Vec<&'a BTreeMap<String, String>> {
    rows.iter().filter(|r| r["record_type"] == t).collect()
}
