//! The exports at their boundary: a chain with two fiscal years, awards,
//! payments, amendments and deliveries is written into a real store, and the
//! CSV and the OCDS package taken from it are checked against what the test
//! submitted, counted here, never read back from the export's own code.
//!
//! The OCDS package is validated against the OCDS 1.1.5 release package
//! schema (the copy in `tests/ocds-1.1.5/`, offline), and deliberately broken
//! copies of it must fail that validation.

use std::collections::BTreeMap;

use gateway::export::{self, ExportError, Settings};
use genesis::Currency;
use ledger::block::Block;
use ledger::codec;
use ledger::store::Store;
use ledger::testkit::{id, key, TestChain, CHAIN_ID, GENESIS_TIME_MS};
use ledger::tx::EntityKind;
use ledger::{Amount, ContractId, Hash, Height, LineCode, Op, SignedTx, State, Year};
use serde_json::{json, Value};
use tempfile::TempDir;

const PACKAGE_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ocds-1.1.5/release-package-schema.json"
);
const RELEASE_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ocds-1.1.5/release-schema.json"
);
const DEREFERENCED_RELEASE_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ocds-1.1.5/dereferenced-release-schema.json"
);
const RELEASE_SCHEMA_URL: &str =
    "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";

const HEALTH: &str = "0402-HEALTH-INFRA";
const SCHOOLS: &str = "0501-EDU-EQUIP";

/// (id, kind, name, parent)
const ENTITIES: [(&str, EntityKind, &str, Option<&str>); 6] = [
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

fn line(s: &str) -> LineCode {
    LineCode::new(s).unwrap()
}

/// The display name the test registered for `entity`.
fn name(entity: &str) -> &'static str {
    ENTITIES
        .iter()
        .find(|e| e.0 == entity)
        .map_or("Bộ Tài chính", |e| e.2)
}

/// A payment the test submitted.
#[derive(Clone, Debug)]
struct Paid {
    contract: String,
    amount: u64,
    reference: String,
    tx_hash: Hash,
    height: u64,
}

/// An award the test submitted.
#[derive(Clone, Debug)]
struct Awarded {
    department: String,
    vendor: String,
    year: u16,
    line: String,
    amount: u64,
    tx_hash: Hash,
    height: u64,
}

/// A chain written into a store, and what the test submitted to it,
/// recorded from the operations themselves.
struct Fixture {
    chain: TestChain,
    store: Store,
    _dir: TempDir,
    blocks: Vec<Block>,
    /// Contract id → its award.
    awards: BTreeMap<String, Awarded>,
    /// Payments in chain order.
    payments: Vec<Paid>,
    /// Contract id → (tx hash, new amount, reason), oldest first.
    amendments: BTreeMap<String, Vec<(Hash, u64, String)>>,
    /// Contract id → (tx hash, milestone, note, height), oldest first.
    deliveries: BTreeMap<String, Vec<(Hash, String, String, u64)>>,
}

fn award(
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

fn pay(contract: &str, dept: &str, amount: u64, n: u32) -> (String, Op) {
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
    fn new() -> Fixture {
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

    fn height(&self) -> u64 {
        self.chain.state.height().0
    }

    /// Signs `ops` (signer, op) with consecutive nonces per signer, commits
    /// them into the store as the next block, and records what they were.
    fn block_with(&mut self, ops: Vec<(String, Op)>) {
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

    fn payments_of(&self, contract: &str) -> Vec<&Paid> {
        self.payments
            .iter()
            .filter(|p| p.contract == contract)
            .collect()
    }

    /// The standard chain: 8 blocks, two fiscal years.
    fn standard() -> Fixture {
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
                    public_key: key(i).public_key(),
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

    fn settings() -> Settings {
        Settings {
            currency: Currency::default(),
            genesis_time_ms: GENESIS_TIME_MS,
        }
    }

    fn export(&self, year: Option<u16>) -> export::Export {
        export::take(
            &self.chain.state,
            &self.store,
            &Fixture::settings(),
            year.map(Year),
        )
        .unwrap()
    }

    fn last_hash(&self) -> Hash {
        self.blocks.last().unwrap().hash()
    }
}

/// The time of block `h` in the fixture, written independently.
fn block_time(h: u64) -> String {
    assert!(h < 10);
    format!("2026-01-01T00:00:0{h}.000Z")
}

fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
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

fn of_type<'a>(rows: &'a [BTreeMap<String, String>], t: &str) -> Vec<&'a BTreeMap<String, String>> {
    rows.iter().filter(|r| r["record_type"] == t).collect()
}

#[test]
fn csv_rows_and_totals_match_what_was_submitted() {
    let f = Fixture::standard();
    let bytes = f.export(None).to_csv().unwrap();
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    assert!(
        text.contains("Bệnh viện Bạch Mai"),
        "names are written as is"
    );
    let (header, rows) = parse_csv(&bytes);
    assert_eq!(
        header,
        [
            "as_of_height",
            "as_of_block_hash",
            "record_type",
            "height",
            "time",
            "tx_hash",
            "contract_id",
            "title",
            "department_id",
            "department_name",
            "ministry_id",
            "ministry_name",
            "vendor_id",
            "vendor_name",
            "year",
            "line",
            "amount",
            "paid",
            "deliveries",
            "reference",
            "document_hash",
        ]
    );
    // Every row names the height and block it was taken at.
    let last = f.last_hash().to_hex();
    for r in &rows {
        assert_eq!(r["as_of_height"], "8");
        assert_eq!(r["as_of_block_hash"], last);
    }
    // The snapshot row comes first.
    assert_eq!(rows[0]["record_type"], "snapshot");
    assert_eq!(rows[0]["height"], "8");
    assert_eq!(rows[0]["time"], block_time(8));
    assert_eq!(rows[0]["year"], "");
    assert_eq!(rows.len(), 1 + f.awards.len() + f.payments.len());

    // Contract rows, in award order.
    let contracts = of_type(&rows, "contract");
    assert_eq!(
        contracts
            .iter()
            .map(|r| r["contract_id"].as_str())
            .collect::<Vec<_>>(),
        ["C-2026-001", "C-2026-002", "C-2027-001"]
    );
    let final_amount = |c: &str| {
        f.amendments
            .get(c)
            .and_then(|a| a.last())
            .map_or(f.awards[c].amount, |a| a.1)
    };
    let paid_sum = |c: &str| -> u64 { f.payments_of(c).iter().map(|p| p.amount).sum() };
    for r in &contracts {
        let c = r["contract_id"].as_str();
        let a = &f.awards[c];
        let dept = a.department.as_str();
        let vendor = a.vendor.as_str();
        let ministry = ENTITIES.iter().find(|e| e.0 == dept).unwrap().3.unwrap();
        assert_eq!(r["height"], a.height.to_string(), "{c}");
        assert_eq!(r["time"], block_time(a.height), "{c}");
        assert_eq!(r["tx_hash"], a.tx_hash.to_hex(), "{c}");
        assert_eq!(r["title"], format!("Gói thầu {c}: thiết bị và lắp đặt"));
        assert_eq!(r["department_id"], dept);
        assert_eq!(r["department_name"], name(dept));
        assert_eq!(r["ministry_id"], ministry);
        assert_eq!(r["ministry_name"], name(ministry));
        assert_eq!(r["vendor_id"], vendor);
        assert_eq!(r["vendor_name"], name(vendor));
        assert_eq!(r["year"], a.year.to_string());
        assert_eq!(r["line"], a.line);
        assert_eq!(r["amount"], final_amount(c).to_string(), "{c}");
        assert_eq!(r["paid"], paid_sum(c).to_string(), "{c}");
        let delivered = f.deliveries.get(c).map_or(0, Vec::len);
        assert_eq!(r["deliveries"], delivered.to_string(), "{c}");
        assert_eq!(r["reference"], "");
    }
    // Written out, the amendments give these amounts.
    assert_eq!(contracts[0]["amount"], "650000000");
    assert_eq!(contracts[1]["amount"], "1000000000");
    assert_eq!(contracts[2]["amount"], "300000000");

    // Payment rows, one per payment submitted, in chain order.
    let payments = of_type(&rows, "payment");
    assert_eq!(payments.len(), f.payments.len());
    for (r, p) in payments.iter().zip(&f.payments) {
        assert_eq!(r["tx_hash"], p.tx_hash.to_hex());
        assert_eq!(r["height"], p.height.to_string());
        assert_eq!(r["time"], block_time(p.height));
        assert_eq!(r["contract_id"], p.contract);
        assert_eq!(r["amount"], p.amount.to_string());
        assert_eq!(r["reference"], p.reference);
        let a = &f.awards[&p.contract];
        assert_eq!(r["department_name"], name(&a.department));
        assert_eq!(r["vendor_name"], name(&a.vendor));
        assert_eq!(r["paid"], "");
    }
    assert_eq!(payments[0]["document_hash"].len(), 64);
    assert_eq!(payments[1]["document_hash"], "");

    // Totals: the payment rows add up to what was paid, and to each
    // contract's paid column.
    let total: u64 = payments
        .iter()
        .map(|r| r["amount"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        total,
        200_000_000 + 400_000_000 + 450_000_000 + 100_000_000 + 600_000_000 + 50_000_000
    );
    for r in &contracts {
        let by_rows: u64 = payments
            .iter()
            .filter(|p| p["contract_id"] == r["contract_id"])
            .map(|p| p["amount"].parse::<u64>().unwrap())
            .sum();
        assert_eq!(r["paid"], by_rows.to_string());
    }
}

#[test]
fn the_year_filter_keeps_one_fiscal_year() {
    let f = Fixture::standard();
    let (_, rows) = parse_csv(&f.export(Some(2027)).to_csv().unwrap());
    assert_eq!(rows[0]["record_type"], "snapshot");
    assert_eq!(rows[0]["year"], "2027");
    let contracts = of_type(&rows, "contract");
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0]["contract_id"], "C-2027-001");
    let payments = of_type(&rows, "payment");
    let expected: Vec<String> = f
        .payments_of("C-2027-001")
        .iter()
        .map(|p| p.tx_hash.to_hex())
        .collect();
    assert_eq!(expected.len(), 2);
    assert_eq!(
        payments
            .iter()
            .map(|r| r["tx_hash"].clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(rows.iter().all(|r| r["year"] == "2027"));

    let (_, rows) = parse_csv(&f.export(Some(2026)).to_csv().unwrap());
    assert_eq!(of_type(&rows, "contract").len(), 2);
    assert_eq!(of_type(&rows, "payment").len(), 4);

    // A year with nothing: the CSV still names its height and block; an
    // OCDS package cannot be empty.
    let empty = f.export(Some(2030));
    let (_, rows) = parse_csv(&empty.to_csv().unwrap());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["record_type"], "snapshot");
    assert_eq!(rows[0]["as_of_block_hash"], f.last_hash().to_hex());
    assert!(matches!(
        empty.to_ocds(),
        Err(ExportError::NoContracts {
            year: Some(Year(2030)),
            height: Height(8)
        })
    ));
}

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

// ---------------------------------------------------------------------------
// OCDS

/// Serves the release schema from the repository copy; anything else is an
/// error, so validation never touches the network.
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str() == RELEASE_SCHEMA_URL {
            Ok(read_json(RELEASE_SCHEMA))
        } else {
            Err(format!("{uri} is not a local schema").into())
        }
    }
}

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn validator(schema_path: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .with_retriever(LocalSchemas)
        .build(&read_json(schema_path))
        .expect("the OCDS schema compiles")
}

/// The schema errors of `instance`, one line each.
fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_ocds_package_is_valid_against_the_ocds_1_1_5_schema() {
    let f = Fixture::standard();
    let package = f.export(None).to_ocds().unwrap();
    let errors = schema_errors(&validator(PACKAGE_SCHEMA), &package);
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
    // Each release against the dereferenced schema too.
    let release = validator(DEREFERENCED_RELEASE_SCHEMA);
    for r in package["releases"].as_array().unwrap() {
        let errors = schema_errors(&release, r);
        assert!(errors.is_empty(), "{}:\n{}", r["ocid"], errors.join("\n"));
    }
    // A year's package too.
    let package = f.export(Some(2027)).to_ocds().unwrap();
    assert_eq!(package["releases"].as_array().unwrap().len(), 1);
    let errors = schema_errors(&validator(PACKAGE_SCHEMA), &package);
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
}

#[test]
fn broken_copies_of_the_package_fail_the_schema() {
    let f = Fixture::standard();
    let good = f.export(None).to_ocds().unwrap();
    let v = validator(PACKAGE_SCHEMA);
    assert!(schema_errors(&v, &good).is_empty());
    type Break = fn(&mut Value);
    // What is broken, where the schema must say so, and how.
    let breaks: [(&str, &str, Break); 7] = [
        (
            "an amount as a string, as the rest of the API writes it",
            "/releases/0/contracts/0/implementation/transactions/0/value/amount",
            |p| {
                p["releases"][0]["contracts"][0]["implementation"]["transactions"][0]["value"]
                    ["amount"] = json!("200000000");
            },
        ),
        ("a release without an ocid", "/releases/1", |p| {
            p["releases"][1].as_object_mut().unwrap().remove("ocid");
        }),
        (
            "another initiation type",
            "/releases/0/initiationType",
            |p| p["releases"][0]["initiationType"] = json!("direct"),
        ),
        ("no releases", "/releases", |p| p["releases"] = json!([])),
        ("a version that is not major.minor", "/version", |p| {
            p["version"] = json!("1.1.5");
        }),
        (
            "a publication policy that is not a URI",
            "/publicationPolicy",
            |p| p["publicationPolicy"] = json!("taken at height 8"),
        ),
        (
            "a milestone status outside the codelist",
            "/releases/0/contracts/0/implementation/milestones/0/status",
            |p| {
                p["releases"][0]["contracts"][0]["implementation"]["milestones"][0]["status"] =
                    json!("done");
            },
        ),
    ];
    for (what, path, change) in breaks {
        let mut broken = good.clone();
        change(&mut broken);
        assert_ne!(broken, good, "{what}: the copy is changed");
        let errors = schema_errors(&v, &broken);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}: "))),
            "{what}: the schema did not report {path}; it said {errors:?}"
        );
    }
}

#[test]
fn the_ocds_package_maps_contracts_payments_amendments_and_deliveries() {
    let f = Fixture::standard();
    let p = f.export(None).to_ocds().unwrap();
    let last = f.last_hash().to_hex();
    assert_eq!(p["version"], "1.1");
    assert_eq!(p["publisher"]["name"], "Bộ Tài chính");
    assert_eq!(p["publishedDate"], block_time(8));
    assert_eq!(p["minhbach"]["height"], 8);
    assert_eq!(p["minhbach"]["blockHash"], last);
    assert_eq!(p["minhbach"]["chainId"], CHAIN_ID);
    assert!(p["uri"].as_str().unwrap().contains(&last));
    let policy = p["publicationPolicy"].as_str().unwrap();
    assert!(policy.starts_with("data:text/plain"), "{policy}");
    assert!(
        policy.contains(&last),
        "the policy names the block: {policy}"
    );

    let releases = p["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 3);
    let r = &releases[0];
    assert_eq!(r["ocid"], format!("ocds-mb0000-{CHAIN_ID}-C-2026-001"));
    assert_eq!(r["initiationType"], "tender");
    assert_eq!(
        r["date"],
        block_time(7),
        "its last change, the delivery in block 7"
    );
    assert_eq!(
        r["tag"],
        json!(["award", "contract", "contractAmendment", "implementation"])
    );
    assert_eq!(
        r["buyer"],
        json!({"id": "MOH.BVBM", "name": "Bệnh viện Bạch Mai"})
    );
    let roles: BTreeMap<String, Value> = r["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p["roles"].clone()))
        .collect();
    assert_eq!(roles["MOH.BVBM"], json!(["buyer", "payer"]));
    assert_eq!(roles["V-0001"], json!(["supplier", "payee"]));
    assert_eq!(roles["MOH"], json!(["funder"]));
    assert_eq!(roles["MOF"], json!(["funder"]));
    assert_eq!(roles.len(), 4);
    for party in r["parties"].as_array().unwrap() {
        assert_eq!(party["name"], name(party["id"].as_str().unwrap()));
    }
    assert_eq!(r["planning"]["budget"]["id"], format!("2026/{HEALTH}"));
    assert_eq!(r["planning"]["budget"]["project"], HEALTH);

    // The award keeps the amount awarded; the contract has the amended one.
    let award = &r["awards"][0];
    assert_eq!(
        award["value"],
        json!({"amount": 500_000_000u64, "currency": "VND"})
    );
    assert_eq!(award["status"], "active");
    assert_eq!(award["date"], block_time(4));
    assert_eq!(
        award["suppliers"],
        json!([{"id": "V-0001", "name": name("V-0001")}])
    );
    let contract = &r["contracts"][0];
    assert_eq!(contract["awardID"], award["id"]);
    assert_eq!(contract["value"]["amount"], 650_000_000u64);
    assert_eq!(contract["dateSigned"], block_time(4));
    let amendments = contract["amendments"].as_array().unwrap();
    assert_eq!(amendments.len(), 1);
    let (amend_tx, _, reason) = &f.amendments["C-2026-001"][0];
    assert_eq!(amendments[0]["id"], amend_tx.to_hex());
    assert_eq!(amendments[0]["rationale"], *reason);
    assert_eq!(amendments[0]["date"], block_time(6));

    // Transactions are the payments submitted, by transaction hash.
    let txs = contract["implementation"]["transactions"]
        .as_array()
        .unwrap();
    let expected = f.payments_of("C-2026-001");
    assert_eq!(txs.len(), expected.len());
    for (t, paid) in txs.iter().zip(expected) {
        assert_eq!(t["id"], paid.tx_hash.to_hex());
        assert_eq!(t["value"]["amount"], paid.amount);
        assert_eq!(t["date"], block_time(paid.height));
        assert_eq!(t["payer"]["id"], "MOH.BVBM");
        assert_eq!(t["payee"]["id"], "V-0001");
        assert_eq!(t["reference"], paid.reference);
    }
    // Milestones are the confirmed deliveries.
    let ms = contract["implementation"]["milestones"].as_array().unwrap();
    let delivered = &f.deliveries["C-2026-001"];
    assert_eq!(ms.len(), delivered.len());
    for (m, (_, milestone, note, h)) in ms.iter().zip(delivered) {
        assert_eq!(m["status"], "met");
        assert_eq!(m["title"], *milestone);
        assert_eq!(m["description"], *note);
        assert_eq!(m["dateMet"], block_time(*h));
    }

    // Totals across the package equal what was paid.
    let total: u64 = releases
        .iter()
        .flat_map(|r| {
            r["contracts"][0]["implementation"]["transactions"]
                .as_array()
                .unwrap()
        })
        .map(|t| t["value"]["amount"].as_u64().unwrap())
        .sum();
    assert_eq!(total, f.payments.iter().map(|p| p.amount).sum::<u64>());
    // A contract with no amendment has none, and no amendment tag; one with
    // no delivery has no milestones; a payment without a document has no hash.
    assert!(releases[2]["contracts"][0].get("amendments").is_none());
    assert_eq!(
        releases[2]["tag"],
        json!(["award", "contract", "implementation"])
    );
    let implementation = releases[1]["contracts"][0]["implementation"]
        .as_object()
        .unwrap();
    assert!(!implementation.contains_key("milestones"));
    assert!(implementation["transactions"][0]
        .get("documentHash")
        .is_none());
    assert_eq!(txs[0]["documentHash"].as_str().unwrap().len(), 64);
}
