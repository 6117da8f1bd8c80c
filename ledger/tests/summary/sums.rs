//! Flows, execution by month, a vendor's income and a contract's
//! transactions, against figures worked out by hand.

use ledger::summary::read::{self, FlowSum};
use ledger::summary::{fiscal_month, vietnam_month, MonthFigures};
use ledger::testkit::{id, GENESIS_TIME_MS};
use ledger::{Amount, Height, Op, Year};

use super::{cid, line, World, YEAR};

const TY: i128 = 1_000_000_000;

fn flow(from: &str, to: &str, amount: i128) -> FlowSum {
    FlowSum {
        from: id(from),
        to: id(to),
        amount,
    }
}

#[test]
fn months_are_vietnam_calendar_months_held_within_the_fiscal_year() {
    // 2026-01-31T17:00:00Z is 2026-02-01 00:00 in Hà Nội.
    let feb_first = 1_769_878_800_000;
    assert_eq!(vietnam_month(feb_first), (2026, 2));
    assert_eq!(vietnam_month(feb_first - 1), (2026, 1));
    // 2024-02-29 (a leap day) at noon UTC.
    assert_eq!(vietnam_month(1_709_208_000_000), (2024, 2));
    // 2026-12-31T17:00:00Z is already 2027 in Hà Nội.
    let new_year = 1_798_736_400_000;
    assert_eq!(vietnam_month(new_year), (2027, 1));
    assert_eq!(fiscal_month(Year(2026), new_year), 11, "held in December");
    assert_eq!(fiscal_month(Year(2027), new_year), 0);
    assert_eq!(fiscal_month(Year(2028), new_year), 0, "held in January");
    assert_eq!(fiscal_month(Year(2026), feb_first), 1);
}

#[test]
fn flows_add_up_appropriations_allocations_returns_and_payments() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 10 * TY as u64);
    w.award("MOH.B", "C-2", "V-1", 5 * TY as u64);
    w.pay("MOH.A", "C-1", 4 * TY as u64);
    w.pay("MOH.A", "C-1", TY as u64);
    w.pay("MOH.B", "C-2", 2 * TY as u64);
    // MOH.B gives 30 tỷ back to MOH, and MOH 100 tỷ back to the treasury.
    let back = |amount: i128| Op::ReturnFunds {
        year: YEAR,
        line: line(),
        amount: Amount(amount as u64),
    };
    w.one("MOH.B", back(30 * TY));
    w.one("MOH", back(100 * TY));
    for r in w.readers() {
        let all = read::flows(r, YEAR, None).unwrap();
        assert_eq!(
            all,
            vec![
                flow("MOF", "MOH", 900 * TY),
                flow("MOH", "MOH.A", 100 * TY),
                flow("MOH", "MOH.B", 70 * TY),
                flow("MOH.A", "V-1", 5 * TY),
                flow("MOH.B", "V-1", 2 * TY),
            ]
        );
        let from_moh = read::flows(r, YEAR, Some(&id("MOH"))).unwrap();
        assert_eq!(from_moh, all[1..3].to_vec());
        // "MOH" must not match "MOH.A" as a prefix.
        let from_a = read::flows(r, YEAR, Some(&id("MOH.A"))).unwrap();
        assert_eq!(from_a, vec![flow("MOH.A", "V-1", 5 * TY)]);
        assert!(read::flows(r, Year(2027), None).unwrap().is_empty());
        assert_eq!(read::years(r).unwrap(), vec![YEAR]);
    }
}

#[test]
fn execution_by_month_counts_each_figure_in_its_month() {
    // Blocks 20 days apart: the world's four set-up blocks reach late
    // February; each later block moves on by 20 days.
    let mut w = World::with_interval(20 * 86_400_000);
    let month_of =
        |w: &World| fiscal_month(YEAR, w.chain.last_time_ms + w.chain.block_interval_ms) as usize;
    let award_month = month_of(&w);
    w.award("MOH.A", "C-1", "V-1", 10 * TY as u64);
    let amend_month = month_of(&w);
    w.amend("MOH.A", "C-1", 8 * TY as u64);
    let pay_month = month_of(&w);
    w.pay("MOH.A", "C-1", 3 * TY as u64);
    assert!(award_month < pay_month, "the test needs distinct months");
    let start = GENESIS_TIME_MS;
    let alloc_month = fiscal_month(YEAR, start + 3 * 20 * 86_400_000) as usize;
    let approp_month = fiscal_month(YEAR, start + 2 * 20 * 86_400_000) as usize;
    for r in w.readers() {
        let a = read::months(r, &id("MOH.A"), YEAR).unwrap();
        let mut want = [MonthFigures::default(); 12];
        want[alloc_month].received += 100 * TY;
        want[award_month].committed += 10 * TY;
        want[amend_month].committed -= 2 * TY;
        want[pay_month].paid += 3 * TY;
        assert_eq!(a, want);
        // The ministry: what it received, and its departments' spending.
        let m = read::months(r, &id("MOH"), YEAR).unwrap();
        want[alloc_month].received -= 100 * TY;
        want[approp_month].received += 1_000 * TY;
        assert_eq!(m, want);
        let nobody = read::months(r, &id("V-9"), YEAR).unwrap();
        assert_eq!(nobody, [MonthFigures::default(); 12]);
    }
}

#[test]
fn a_vendors_income_is_kept_by_month_and_department() {
    let mut w = World::with_interval(40 * 86_400_000);
    w.award("MOH.A", "C-1", "V-1", 10 * TY as u64);
    w.award("MOH.B", "C-2", "V-1", 10 * TY as u64);
    let m1 = fiscal_month(YEAR, w.chain.last_time_ms + w.chain.block_interval_ms);
    w.pay("MOH.A", "C-1", TY as u64);
    let m2 = fiscal_month(YEAR, w.chain.last_time_ms + w.chain.block_interval_ms);
    w.pay("MOH.B", "C-2", 2 * TY as u64);
    let txs = vec![
        w.chain.tx("MOH.A", 0, super::pay("C-1", 3)),
        w.chain.tx("MOH.A", 1, super::pay("C-1", 4)),
    ];
    let m3 = fiscal_month(YEAR, w.chain.last_time_ms + w.chain.block_interval_ms);
    w.block(txs);
    assert!(m1 < m2 && m2 < m3);
    for r in w.readers() {
        let got = read::vendor_income(r, &id("V-1"), YEAR).unwrap();
        assert_eq!(
            got,
            vec![
                (id("MOH.A"), m1, TY),
                (id("MOH.B"), m2, 2 * TY),
                (id("MOH.A"), m3, 7),
            ]
        );
        assert!(read::vendor_income(r, &id("V-2"), YEAR).unwrap().is_empty());
    }
}

#[test]
fn a_contracts_transactions_are_listed_in_chain_order() {
    let mut w = World::new();
    let a = w.award("MOH.A", "C-1", "V-1", 10);
    w.award("MOH.A", "C-10", "V-1", 10);
    let p = w.pay("MOH.A", "C-1", 5);
    let m = w.amend("MOH.A", "C-1", 20);
    let d = w.deliver("MOH.A", "C-1");
    for r in w.readers() {
        let got = read::contract_txs(r, &cid("C-1")).unwrap();
        let want: Vec<_> = [a, p, m, d]
            .iter()
            .map(|h| (*h, 0, w.hashes[&(*h, 0)]))
            .collect();
        assert_eq!(got, want, "C-10 is another contract");
        assert!(read::contract_txs(r, &cid("C-2")).unwrap().is_empty());
    }
}

#[test]
fn a_store_written_before_summaries_rebuilds_them_on_open() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 1_950_000_000);
    w.award("MOH.A", "C-2", "V-1", 1_960_000_000);
    w.pay("MOH.A", "C-1", 7);
    let before = w.model.clone();
    let flows = read::flows(&w.store, YEAR, None).unwrap();
    w.store.forget_summaries().unwrap();
    assert!(read::flows(&w.store, YEAR, None).unwrap().is_empty());
    w.store
        .init(&w.chain.genesis, w.chain.genesis_hash)
        .unwrap();
    assert_eq!(read::flows(&w.store, YEAR, None).unwrap(), flows);
    // Entry for entry, the rebuilt summaries are those kept block by block.
    let mut rebuilt = std::collections::BTreeMap::new();
    ledger::summary::SummaryRead::scan(&w.store, &[], &mut |k, v| {
        rebuilt.insert(k.to_vec(), v.to_vec());
        true
    })
    .unwrap();
    assert_eq!(rebuilt, before);
    // And they go on from there.
    w.pay("MOH.A", "C-1", 3);
    assert_eq!(
        read::flows(&w.store, YEAR, Some(&id("MOH.A"))).unwrap(),
        vec![FlowSum {
            from: id("MOH.A"),
            to: id("V-1"),
            amount: 10
        }]
    );
    let _ = Height(0);
}

#[test]
fn verify_chain_recomputes_the_summaries_and_catches_a_doctored_one() {
    use ledger::summary::SummaryRead;
    use ledger::verify::verify_store;

    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 10 * TY as u64);
    w.pay("MOH.A", "C-1", 4 * TY as u64);
    let check = |w: &World| {
        verify_store(
            &w.store,
            &w.chain.genesis,
            w.chain.genesis_hash,
            GENESIS_TIME_MS,
            |_| {},
        )
    };
    check(&w).expect("an honest store verifies");
    // The department's payments to the vendor, inflated tenfold.
    let mut key = None;
    w.store
        .scan(b"F", &mut |k, v| {
            if k.ends_with(b"V-1\0") {
                key = Some((k.to_vec(), v.to_vec()));
            }
            true
        })
        .unwrap();
    let (key, value) = key.expect("the flow to V-1");
    let paid = i128::from_be_bytes(value.try_into().unwrap());
    assert_eq!(paid, 4 * TY);
    w.store
        .tamper("summary", &key, &(paid * 10).to_be_bytes())
        .unwrap();
    let err = check(&w).expect_err("a doctored summary");
    assert!(err.to_string().contains("summaries"), "{err}");
    w.store
        .tamper("summary", &key, &paid.to_be_bytes())
        .unwrap();
    check(&w).expect("the flow put back");
    // A contract's transactions, checked as each block is: one pointed at
    // another transaction, then one more than the chain holds.
    let mut listed = Vec::new();
    w.store
        .scan(b"C", &mut |k, v| {
            listed.push((k.to_vec(), v.to_vec()));
            true
        })
        .unwrap();
    assert_eq!(listed.len(), 2, "the award and the payment of C-1");
    let (award_key, award_hash) = listed[0].clone();
    w.store.tamper("summary", &award_key, &listed[1].1).unwrap();
    let err = check(&w).expect_err("a contract's transaction doctored");
    assert!(err.to_string().contains("summaries differ"), "{err}");
    w.store.tamper("summary", &award_key, &award_hash).unwrap();
    check(&w).expect("the award put back");
    let mut extra = award_key.clone();
    *extra.last_mut().unwrap() += 1;
    w.store.tamper("summary", &extra, &award_hash).unwrap();
    let err = check(&w).expect_err("a contract's transaction added");
    assert!(err.to_string().contains("hold 3 entries"), "{err}");
}
