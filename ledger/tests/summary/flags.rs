//! Red flags from the summaries, over the whole history.

use ledger::summary::flags::{under_threshold_floor, PAID_WITHOUT_DELIVERY_BLOCKS};
use ledger::summary::{read, Flag, FlagParams};
use ledger::testkit::{id, key};
use ledger::{Amount, Height, Op};

use super::{cid, World, YEAR};

impl World {
    /// The flags at `now`, the same from the store and from the model.
    fn flags(&self, now: Height) -> Vec<Flag> {
        let [store, model] = self.readers();
        let p = FlagParams::default();
        let from_store = read::flags(store, &self.chain.state, now, &p).unwrap();
        let from_model = read::flags(model, &self.chain.state, now, &p).unwrap();
        assert_eq!(from_store, from_model);
        from_store
    }
}

fn wait() -> u64 {
    PAID_WITHOUT_DELIVERY_BLOCKS
}

#[test]
fn a_payment_with_no_delivery_is_flagged_once_the_wait_is_over() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 10_000_000);
    let paid_at = w.pay("MOH.A", "C-1", 4_000_000);
    w.pay("MOH.A", "C-1", 1_000_000);
    // Delivered before the wait is over: never flagged.
    w.award("MOH.B", "C-2", "V-2", 10_000_000);
    w.pay("MOH.B", "C-2", 1_000_000);
    w.deliver("MOH.B", "C-2");

    let early = Height(paid_at.0 + wait() - 1);
    assert!(!w
        .flags(early)
        .iter()
        .any(|f| matches!(f, Flag::PaidWithoutDelivery { .. })));

    let now = Height(paid_at.0 + wait());
    let raised: Vec<Flag> = w
        .flags(now)
        .into_iter()
        .filter(|f| matches!(f, Flag::PaidWithoutDelivery { .. }))
        .collect();
    assert_eq!(
        raised,
        vec![Flag::PaidWithoutDelivery {
            contract: cid("C-1"),
            department: id("MOH.A"),
            vendor: id("V-1"),
            first_payment: w.hashes[&(paid_at, 0)],
            paid_at,
            paid: Amount(5_000_000),
            blocks_since: wait(),
        }]
    );

    // A delivery, however late, clears it.
    w.deliver("MOH.A", "C-1");
    assert!(!w
        .flags(now)
        .iter()
        .any(|f| matches!(f, Flag::PaidWithoutDelivery { .. })));
}

#[test]
fn repeated_awards_just_under_the_threshold_to_one_vendor_are_flagged() {
    let mut w = World::new();
    // 1.95 and 1.99 tỷ: both within 5% under 2 tỷ, same pair.
    w.award("MOH.A", "C-1", "V-1", 1_950_000_000);
    w.award("MOH.A", "C-2", "V-1", 1_990_000_000);
    // Once only for this pair, and the threshold itself is not "under".
    w.award("MOH.A", "C-3", "V-2", 1_960_000_000);
    w.award("MOH.A", "C-4", "V-2", 2_000_000_000);
    // Twice under, but more than 5% under (1.89 tỷ).
    w.award("MOH.B", "C-5", "V-3", 1_890_000_000);
    w.award("MOH.B", "C-6", "V-3", 1_899_999_999);
    // The same vendor just under, but from two departments.
    w.award("MOH.B", "C-7", "V-1", 1_900_000_000);

    let raised: Vec<Flag> = w
        .flags(w.chain.state.height())
        .into_iter()
        .filter(|f| matches!(f, Flag::UnderThreshold { .. }))
        .collect();
    assert_eq!(raised.len(), 1, "{raised:?}");
    let Flag::UnderThreshold {
        department,
        vendor,
        awards,
    } = &raised[0]
    else {
        unreachable!()
    };
    assert_eq!((department, vendor), (&id("MOH.A"), &id("V-1")));
    let ids: Vec<&str> = awards.iter().map(|a| a.contract.as_str()).collect();
    assert_eq!(ids, ["C-1", "C-2"]);
    assert_eq!(awards[0].amount, Amount(1_950_000_000));
}

#[test]
fn a_vendor_with_most_of_a_ministrys_contracts_is_flagged() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 30_000_000);
    w.award("MOH.B", "C-2", "V-2", 30_000_000);
    w.award("MOH.B", "C-3", "V-3", 40_000_000);
    // 40% exactly is not more than 40%.
    let none = w.flags(w.chain.state.height());
    assert!(
        !none.iter().any(|f| matches!(f, Flag::VendorShare { .. })),
        "{none:?}"
    );

    w.award("MOH.A", "C-4", "V-1", 30_000_000);
    // V-1 now has 60 of 130 million: 46%.
    let raised: Vec<Flag> = w
        .flags(w.chain.state.height())
        .into_iter()
        .filter(|f| matches!(f, Flag::VendorShare { .. }))
        .collect();
    assert_eq!(
        raised,
        vec![Flag::VendorShare {
            ministry: id("MOH"),
            year: YEAR,
            vendor: id("V-1"),
            vendor_amount: Amount(60_000_000),
            ministry_amount: Amount(130_000_000),
            vendor_contracts: 2,
        }]
    );
}

#[test]
fn too_few_contracts_say_nothing_about_a_vendors_share() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 90_000_000);
    w.award("MOH.A", "C-2", "V-2", 10_000_000);
    assert!(!w
        .flags(w.chain.state.height())
        .iter()
        .any(|f| matches!(f, Flag::VendorShare { .. })));
}

#[test]
fn a_key_rotated_by_the_treasury_is_flagged_but_not_one_rotated_by_its_owner() {
    let mut w = World::new();
    let own = Op::RotateKey {
        entity: id("V-1"),
        public_key: key("V-1 new").public_key(),
    };
    w.one("V-1", own);
    let by_treasury = Op::RotateKey {
        entity: id("V-2"),
        public_key: key("V-2 new").public_key(),
    };
    let h = w.one("MOF", by_treasury);
    // The treasury rotating its own key is not someone else's key.
    let treasury_own = Op::RotateKey {
        entity: id("MOF"),
        public_key: key("MOF new").public_key(),
    };
    w.one("MOF", treasury_own);

    let raised: Vec<Flag> = w
        .flags(w.chain.state.height())
        .into_iter()
        .filter(|f| matches!(f, Flag::TreasuryRotatedKey { .. }))
        .collect();
    assert_eq!(
        raised,
        vec![Flag::TreasuryRotatedKey {
            entity: id("V-2"),
            signer: id("MOF"),
            tx: w.hashes[&(h, 0)],
            height: h,
        }]
    );
}

#[test]
fn an_upward_amendment_is_flagged_but_not_a_downward_one() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 10_000_000);
    w.award("MOH.A", "C-2", "V-2", 10_000_000);
    w.amend("MOH.A", "C-2", 8_000_000);
    let up = w.amend("MOH.A", "C-1", 12_500_000);
    // Back up, but only to below the award: still "upward" from 8 to 9.
    w.amend("MOH.A", "C-2", 9_000_000);

    let raised: Vec<Flag> = w
        .flags(w.chain.state.height())
        .into_iter()
        .filter(|f| matches!(f, Flag::AmendedUpward { .. }))
        .collect();
    assert_eq!(raised.len(), 2, "{raised:?}");
    assert_eq!(
        raised[0],
        Flag::AmendedUpward {
            contract: cid("C-1"),
            department: id("MOH.A"),
            vendor: Some(id("V-1")),
            from: Amount(10_000_000),
            to: Amount(12_500_000),
            tx: w.hashes[&(up, 0)],
            height: up,
        }
    );
    assert!(
        matches!(&raised[1], Flag::AmendedUpward { contract, from, to, .. }
        if contract.as_str() == "C-2" && *from == Amount(8_000_000) && *to == Amount(9_000_000))
    );
}

#[test]
fn the_floor_of_just_under_is_computed_without_overflow() {
    let p = FlagParams {
        award_threshold: Amount(u64::MAX),
        under_threshold_pct: 250,
        ..FlagParams::default()
    };
    assert_eq!(under_threshold_floor(&p), 0);
    assert_eq!(under_threshold_floor(&FlagParams::default()), 1_900_000_000);
}

#[test]
fn a_flag_keeps_its_id_and_never_ages_out() {
    let mut w = World::new();
    let op = Op::RotateKey {
        entity: id("V-3"),
        public_key: key("V-3 new").public_key(),
    };
    let h = w.one("MOF", op);
    let first = w.flags(w.chain.state.height());
    assert_eq!(first.len(), 1, "{first:?}");
    let expected_id = format!("treasury-rotated-key:{}", w.hashes[&(h, 0)].to_hex());
    assert_eq!(first[0].id(), expected_id);
    // Hundreds of blocks of payments later, it is still there, as it was.
    w.award("MOH.A", "C-1", "V-1", 1_000_000_000);
    for _ in 0..300 {
        w.pay("MOH.A", "C-1", 1_000);
    }
    let later = w.flags(w.chain.state.height());
    assert!(later.contains(&first[0]), "{later:?}");
    assert!(later.iter().any(|f| f.id() == expected_id));
    let paid = later
        .iter()
        .find(|f| matches!(f, Flag::PaidWithoutDelivery { .. }));
    assert!(paid.is_none(), "the wait is not over: {paid:?}");
}

#[test]
fn a_delivery_before_any_payment_leaves_nothing_to_flag() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 10_000_000);
    w.deliver("MOH.A", "C-1");
    let paid_at = w.pay("MOH.A", "C-1", 1_000_000);
    w.one("V-1", acknowledge("C-1", 0));
    let now = Height(paid_at.0 + PAID_WITHOUT_DELIVERY_BLOCKS + 5);
    assert!(w.flags(now).is_empty());
}

#[test]
fn payment_and_delivery_in_one_block_leave_nothing_to_flag() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 10_000_000);
    // The vendor acknowledges the payment in the same block.
    let txs = vec![
        w.chain.tx("MOH.A", 0, super::pay("C-1", 5)),
        w.chain.tx("MOH.A", 1, super::deliver("C-1")),
        w.chain.tx("V-1", 0, acknowledge("C-1", 0)),
    ];
    let h = w.block(txs);
    assert!(w
        .flags(Height(h.0 + PAID_WITHOUT_DELIVERY_BLOCKS))
        .is_empty());
    // Paid again, still delivered: nothing either.
    w.pay("MOH.A", "C-1", 5);
    w.one("V-1", acknowledge("C-1", 1));
    assert!(w
        .flags(Height(h.0 + PAID_WITHOUT_DELIVERY_BLOCKS + 9))
        .is_empty());
    let _ = YEAR;
}

#[test]
fn flag_ids_name_what_they_are_about() {
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 1_950_000_000);
    w.award("MOH.A", "C-2", "V-1", 1_960_000_000);
    w.award("MOH.B", "C-3", "V-2", 100);
    let ids: Vec<String> = w
        .flags(w.chain.state.height())
        .iter()
        .map(Flag::id)
        .collect();
    assert_eq!(
        ids,
        ["under-threshold:MOH.A:V-1", "vendor-share:MOH:2026:V-1"],
        "C-1 and C-2 make V-1 hold nearly all of MOH's 3 contracts"
    );
    let _ = cid("C-1");
}

#[test]
fn a_payment_its_vendor_has_not_acknowledged_is_flagged_until_it_does() {
    let unacked = |flags: Vec<Flag>| -> Vec<Flag> {
        flags
            .into_iter()
            .filter(|f| matches!(f, Flag::UnacknowledgedPayment { .. }))
            .collect()
    };
    let wait = FlagParams::default().acknowledge_wait_blocks;
    let mut w = World::new();
    w.award("MOH.A", "C-1", "V-1", 10_000_000);
    let first = w.pay("MOH.A", "C-1", 4_000_000);
    let second = w.pay("MOH.A", "C-1", 1_000_000);
    // The vendor acknowledges the second payment at once.
    let ack = |payment| Op::AcknowledgePayment {
        contract: cid("C-1"),
        payment,
    };
    w.one("V-1", ack(1));
    assert!(unacked(w.flags(Height(first.0 + wait - 1))).is_empty());
    let now = Height(second.0 + wait);
    let raised = unacked(w.flags(now));
    assert_eq!(
        raised,
        vec![Flag::UnacknowledgedPayment {
            contract: cid("C-1"),
            payment: 0,
            department: id("MOH.A"),
            vendor: id("V-1"),
            amount: Amount(4_000_000),
            tx: w.hashes[&(first, 0)],
            paid_at: first,
            blocks_since: now.0 - first.0,
        }]
    );
    assert_eq!(raised[0].id(), "unacknowledged-payment:C-1:0");
    // Acknowledged late, it clears; the state records it.
    assert_eq!(w.chain.state.acknowledged(&cid("C-1"), 0), Some(false));
    w.one("V-1", ack(0));
    assert!(unacked(w.flags(now)).is_empty());
    assert_eq!(w.chain.state.acknowledged(&cid("C-1"), 0), Some(true));
    assert_eq!(w.chain.state.acknowledged(&cid("C-1"), 1), Some(true));
    assert_eq!(w.chain.state.acknowledged(&cid("C-1"), 2), None);
}

fn acknowledge(contract: &str, payment: u32) -> Op {
    Op::AcknowledgePayment {
        contract: cid(contract),
        payment,
    }
}
