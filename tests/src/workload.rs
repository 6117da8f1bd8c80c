//! A deterministic spending workload for a [`TestChain`]: the transactions of
//! block H depend only on H and on the state before it, so a writer that
//! restarts from a store at height H−1 carries on with exactly the blocks it
//! would have written had it never stopped.
//!
//! Block 1 registers the ministries, their departments and the vendors;
//! block 2 appropriates to the ministries; block 3 allocates to the
//! departments. From block 4 on, every department awards a contract, amends
//! and part-pays the one it awarded in the block before, pays off and confirms
//! delivery of the one before that, and now and then returns unspent budget.
//! Every transaction executes: a rejected one would make the block invalid.

use ledger::testkit::{id, key, TestChain};
use ledger::tx::EntityKind;
use ledger::{Amount, ContractId, Hash, LineCode, Op, SignedTx, Year};

/// The treasury of [`TestChain`].
pub const TREASURY: &str = "MOF";
/// The fiscal year all spending is booked on.
pub const YEAR: u16 = 2026;
/// The budget line all spending is booked on.
pub const LINE: &str = "0402-PUBLIC-INVEST";
/// What each ministry is appropriated in block 2.
pub const APPROPRIATION: Amount = Amount(40_000_000_000_000);
/// What each department is allocated in block 3. Spending uses at most a few
/// million a block, so this lasts millions of blocks.
pub const ALLOCATION: Amount = Amount(10_000_000_000_000);

/// Ministries: id and display name.
pub const MINISTRIES: [(&str, &str); 3] = [
    ("MOH", "Bộ Y tế"),
    ("MOET", "Bộ Giáo dục và Đào tạo"),
    ("MOT", "Bộ Giao thông vận tải"),
];

/// Departments: id, display name and ministry.
pub const DEPARTMENTS: [(&str, &str, &str); 6] = [
    ("MOH.BVBM", "Bệnh viện Bạch Mai", "MOH"),
    ("MOH.BVCR", "Bệnh viện Chợ Rẫy", "MOH"),
    ("MOET.DHBK", "Đại học Bách khoa Hà Nội", "MOET"),
    ("MOET.DHQG", "Đại học Quốc gia TP. Hồ Chí Minh", "MOET"),
    ("MOT.CDBVN", "Cục Đường bộ Việt Nam", "MOT"),
    ("MOT.CHHVN", "Cục Hàng hải Việt Nam", "MOT"),
];

/// Vendors: id and display name.
pub const VENDORS: [(&str, &str); 6] = [
    ("V-0001", "Công ty TNHH Thiết bị Y tế Phương Đông"),
    ("V-0002", "Công ty Cổ phần Xây dựng Hòa Bình"),
    ("V-0003", "Tổng công ty Vật liệu xây dựng Số 1"),
    ("V-0004", "Công ty TNHH Phần mềm FPT"),
    ("V-0005", "Công ty Cổ phần Dược phẩm Imexpharm"),
    ("V-0006", "Công ty Cổ phần Tư vấn Thiết kế Giao thông"),
];

/// Blocks whose number is a multiple of this also return a little budget.
pub const RETURN_EVERY_BLOCKS: u64 = 7;

fn year() -> Year {
    Year::new(YEAR).expect("valid year")
}

fn line() -> LineCode {
    LineCode::new(LINE).expect("valid line")
}

/// The contract department `d` awards in block `height`.
pub fn contract_id(height: u64, d: usize) -> ContractId {
    ContractId::new(&format!("C-{height}-{d}")).expect("valid contract id")
}

/// The amount of the contract department `d` awards in block `height`: a
/// little over a million, varying with both.
pub fn contract_amount(height: u64, d: usize) -> Amount {
    Amount(1_000_000 + (height * 7919 + d as u64 * 104_729) % 900_000)
}

/// The transactions of the next block of `chain`, a function of its height
/// and state alone.
pub fn block_txs(chain: &TestChain) -> Vec<SignedTx> {
    let mut txs = Txs {
        chain,
        out: Vec::new(),
    };
    match chain.state.height().next().0 {
        1 => txs.register_everyone(),
        2 => txs.appropriate(),
        3 => txs.allocate(),
        h => txs.spend(h),
    }
    txs.out
}

/// Collects one block's transactions, counting each signer's pending nonces.
struct Txs<'a> {
    chain: &'a TestChain,
    out: Vec<SignedTx>,
}

impl Txs<'_> {
    fn push(&mut self, signer: &str, op: Op) {
        let pending = self
            .out
            .iter()
            .filter(|t| t.body.signer.as_str() == signer)
            .count() as u64;
        self.out.push(self.chain.tx(signer, pending, op));
    }

    fn register(&mut self, entity: &str, kind: EntityKind, name: &str, parent: Option<&str>) {
        let op = Op::RegisterEntity {
            id: id(entity),
            kind,
            name: name.into(),
            parent: parent.map(id),
            keys: vec![key(entity).public_key()],
            threshold: 1,
        };
        self.push(TREASURY, op);
    }

    fn register_everyone(&mut self) {
        for (m, name) in MINISTRIES {
            self.register(m, EntityKind::Ministry, name, None);
        }
        for (d, name, m) in DEPARTMENTS {
            self.register(d, EntityKind::Department, name, Some(m));
        }
        for (v, name) in VENDORS {
            self.register(v, EntityKind::Vendor, name, None);
        }
    }

    fn appropriate(&mut self) {
        for (i, (m, _)) in MINISTRIES.iter().enumerate() {
            let op = Op::Appropriate {
                year: year(),
                line: line(),
                to: id(m),
                amount: APPROPRIATION,
                legal_ref: format!("NQ-{}/2025/QH15", 100 + i),
            };
            self.push(TREASURY, op);
        }
    }

    fn allocate(&mut self) {
        for (d, _, m) in DEPARTMENTS {
            let op = Op::Allocate {
                year: year(),
                line: line(),
                to: id(d),
                amount: ALLOCATION,
            };
            self.push(m, op);
        }
    }

    fn spend(&mut self, h: u64) {
        for (d, (dept, _, _)) in DEPARTMENTS.iter().enumerate() {
            let vendor = VENDORS[(h as usize + d) % VENDORS.len()].0;
            let amount = contract_amount(h, d);
            let award = Op::Award {
                contract: contract_id(h, d),
                year: year(),
                line: line(),
                vendor: id(vendor),
                amount,
                title: format!("Gói thầu số {h}-{d}: mua sắm thiết bị"),
                document_hash: Some(Hash::digest(format!("hợp đồng {h}-{d}").as_bytes())),
            };
            self.push(dept, award);
            // The contract of the block before: raise it a little, pay half.
            if h >= 5 {
                let prev = contract_id(h - 1, d);
                let amended = Amount(contract_amount(h - 1, d).0 + 10_000);
                self.push(
                    dept,
                    Op::AmendContract {
                        contract: prev.clone(),
                        amount: amended,
                        reason: "Phát sinh khối lượng".into(),
                        document_hash: None,
                    },
                );
                self.push(
                    dept,
                    Op::Pay {
                        contract: prev,
                        amount: Amount(amended.0 / 2),
                        reference: format!("UNC-{}-{d}-1", h - 1),
                        document_hash: None,
                    },
                );
            }
            // The contract of two blocks before: delivered, paid off.
            if h >= 6 {
                let old = contract_id(h - 2, d);
                let c = self
                    .chain
                    .state
                    .contract(&old)
                    .expect("the workload awarded this contract two blocks ago");
                let unpaid = Amount(c.amount.0 - c.paid.0);
                self.push(
                    dept,
                    Op::ConfirmDelivery {
                        contract: old.clone(),
                        milestone: "Nghiệm thu".into(),
                        note: "Đã bàn giao đủ".into(),
                    },
                );
                self.push(
                    dept,
                    Op::Pay {
                        contract: old,
                        amount: unpaid,
                        reference: format!("UNC-{}-{d}-2", h - 2),
                        document_hash: None,
                    },
                );
            }
            if h.is_multiple_of(RETURN_EVERY_BLOCKS) {
                let op = Op::ReturnFunds {
                    year: year(),
                    line: line(),
                    amount: Amount(1_000 + d as u64),
                };
                self.push(dept, op);
            }
        }
    }
}
