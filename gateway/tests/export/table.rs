//! The CSV export: its rows and totals match what was submitted, and the
//! year filter keeps one fiscal year.

use gateway::export::ExportError;
use ledger::{Height, Year};

use crate::fixture::{block_time, name, of_type, parse_csv, Fixture, ENTITIES};

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
