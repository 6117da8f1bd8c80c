//! Red flags: patterns in the ledger's own data that deserve a journalist's
//! question. A flag is not a finding; it names what to look at and links to
//! the transactions, contracts and entities that raised it.
//!
//! Everything here is a pure function of a list of committed transactions
//! (in chain order, with their heights), the state, the height they are
//! judged at and the thresholds in [`FlagParams`]. Reading blocks, caching
//! and rendering belong to the explorer's other modules.

use std::collections::BTreeMap;

use ledger::{Amount, ContractId, EntityId, Hash, Height, Op, State, Year};

/// Payments with no confirmed delivery are flagged once this many blocks
/// have passed since the first payment: about a quarter of an hour at the
/// devnet's pace. A chain that makes a block a second would count in days
/// (86,400 blocks a day).
pub const PAID_WITHOUT_DELIVERY_BLOCKS: u64 = 1_000;
/// The procurement threshold awards are compared with: 2 tỷ đồng.
pub const AWARD_THRESHOLD: Amount = Amount(2_000_000_000);
/// How far under the threshold, in percent, an award counts as "just under".
pub const UNDER_THRESHOLD_PCT: u64 = 5;
/// How many just-under awards from one department to one vendor raise a flag.
pub const UNDER_THRESHOLD_REPEAT_MIN: usize = 2;
/// A vendor holding more than this share (percent) of what one ministry's
/// departments committed in a year raises a flag.
pub const VENDOR_SHARE_PCT: u64 = 40;
/// ... once the ministry has at least this many contracts that year; with
/// fewer, one vendor holding most of it says little.
pub const VENDOR_SHARE_MIN_CONTRACTS: usize = 3;

/// A committed transaction as the flags see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedTx {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
    /// Block time, ms since the epoch.
    pub time_ms: u64,
    /// Transaction hash.
    pub hash: Hash,
    /// Who signed it.
    pub signer: EntityId,
    /// What it did.
    pub op: Op,
}

/// The thresholds flags are raised at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagParams {
    /// See [`PAID_WITHOUT_DELIVERY_BLOCKS`].
    pub delivery_wait_blocks: u64,
    /// See [`AWARD_THRESHOLD`].
    pub award_threshold: Amount,
    /// See [`UNDER_THRESHOLD_PCT`].
    pub under_threshold_pct: u64,
    /// See [`UNDER_THRESHOLD_REPEAT_MIN`].
    pub under_threshold_repeat_min: usize,
    /// See [`VENDOR_SHARE_PCT`].
    pub vendor_share_pct: u64,
    /// See [`VENDOR_SHARE_MIN_CONTRACTS`].
    pub vendor_share_min_contracts: usize,
}

impl Default for FlagParams {
    fn default() -> Self {
        FlagParams {
            delivery_wait_blocks: PAID_WITHOUT_DELIVERY_BLOCKS,
            award_threshold: AWARD_THRESHOLD,
            under_threshold_pct: UNDER_THRESHOLD_PCT,
            under_threshold_repeat_min: UNDER_THRESHOLD_REPEAT_MIN,
            vendor_share_pct: VENDOR_SHARE_PCT,
            vendor_share_min_contracts: VENDOR_SHARE_MIN_CONTRACTS,
        }
    }
}

/// One award, as evidence for [`Flag::UnderThreshold`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwardSeen {
    /// The contract.
    pub contract: ContractId,
    /// Its amount at award.
    pub amount: Amount,
    /// The award transaction.
    pub tx: Hash,
    /// Its height.
    pub height: Height,
}

/// A raised flag, with what proves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flag {
    /// A contract was paid, and `blocks_since` blocks after the first
    /// payment it still has no confirmed delivery.
    PaidWithoutDelivery {
        /// The contract.
        contract: ContractId,
        /// Who awarded and paid it.
        department: EntityId,
        /// Who was paid.
        vendor: EntityId,
        /// The first payment seen.
        first_payment: Hash,
        /// Its height.
        paid_at: Height,
        /// Paid so far on the contract.
        paid: Amount,
        /// Blocks since the first payment.
        blocks_since: u64,
    },
    /// One department awarded one vendor several contracts each just under
    /// the threshold.
    UnderThreshold {
        /// The department.
        department: EntityId,
        /// The vendor.
        vendor: EntityId,
        /// The awards, in chain order.
        awards: Vec<AwardSeen>,
    },
    /// One vendor holds more than the set share of what a ministry's
    /// departments committed in a year.
    VendorShare {
        /// The ministry.
        ministry: EntityId,
        /// The fiscal year.
        year: Year,
        /// The vendor.
        vendor: EntityId,
        /// The vendor's contracts' amounts.
        vendor_amount: Amount,
        /// All the ministry's contracts' amounts that year.
        ministry_amount: Amount,
        /// How many of the ministry's contracts the vendor holds.
        vendor_contracts: usize,
    },
    /// The treasury replaced another entity's key.
    TreasuryRotatedKey {
        /// Whose key.
        entity: EntityId,
        /// The treasury.
        signer: EntityId,
        /// The rotation.
        tx: Hash,
        /// Its height.
        height: Height,
    },
    /// A contract's amount was raised after its award.
    AmendedUpward {
        /// The contract.
        contract: ContractId,
        /// The awarding department.
        department: EntityId,
        /// The vendor.
        vendor: Option<EntityId>,
        /// The amount before.
        from: Amount,
        /// The amount after.
        to: Amount,
        /// The amendment.
        tx: Hash,
        /// Its height.
        height: Height,
    },
}

impl Flag {
    /// Whether the flag concerns `contract`.
    pub fn concerns_contract(&self, contract: &ContractId) -> bool {
        match self {
            Flag::PaidWithoutDelivery { contract: c, .. }
            | Flag::AmendedUpward { contract: c, .. } => c == contract,
            Flag::UnderThreshold { awards, .. } => awards.iter().any(|a| a.contract == *contract),
            Flag::VendorShare { .. } | Flag::TreasuryRotatedKey { .. } => false,
        }
    }
}

/// Every flag raised by `txs` (committed, in chain order) and `state`,
/// judged at height `now`. Flags come grouped by kind, in the order of
/// [`Flag`]'s variants, each group in chain order.
pub fn compute(txs: &[CommittedTx], state: &State, now: Height, p: &FlagParams) -> Vec<Flag> {
    let mut out = paid_without_delivery(txs, state, now, p);
    out.extend(under_threshold(txs, p));
    out.extend(vendor_share(state, p));
    out.extend(treasury_rotations(txs, state));
    out.extend(amended_upward(txs, state));
    out
}

fn paid_without_delivery(
    txs: &[CommittedTx],
    state: &State,
    now: Height,
    p: &FlagParams,
) -> Vec<Flag> {
    // The first payment of each contract, in chain order of that payment.
    let mut first: Vec<(&ContractId, &CommittedTx)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for tx in txs {
        if let Op::Pay { contract, .. } = &tx.op {
            if seen.insert(contract) {
                first.push((contract, tx));
            }
        }
    }
    first
        .into_iter()
        .filter_map(|(id, tx)| {
            let blocks_since = now.0.checked_sub(tx.height.0)?;
            if blocks_since < p.delivery_wait_blocks || !state.deliveries(id).is_empty() {
                return None;
            }
            let c = state.contract(id)?;
            Some(Flag::PaidWithoutDelivery {
                contract: id.clone(),
                department: c.department.clone(),
                vendor: c.vendor.clone(),
                first_payment: tx.hash,
                paid_at: tx.height,
                paid: c.paid,
                blocks_since,
            })
        })
        .collect()
}

/// The lowest amount that counts as just under the threshold.
fn under_threshold_floor(p: &FlagParams) -> u64 {
    let t = u128::from(p.award_threshold.0);
    let below = t * u128::from(p.under_threshold_pct.min(100)) / 100;
    // t − below ≤ t, which fits in a u64.
    (t - below) as u64
}

fn under_threshold(txs: &[CommittedTx], p: &FlagParams) -> Vec<Flag> {
    let floor = under_threshold_floor(p);
    let mut groups: BTreeMap<(&EntityId, &EntityId), Vec<AwardSeen>> = BTreeMap::new();
    for tx in txs {
        if let Op::Award {
            contract,
            vendor,
            amount,
            ..
        } = &tx.op
        {
            if amount.0 >= floor && *amount < p.award_threshold {
                groups
                    .entry((&tx.signer, vendor))
                    .or_default()
                    .push(AwardSeen {
                        contract: contract.clone(),
                        amount: *amount,
                        tx: tx.hash,
                        height: tx.height,
                    });
            }
        }
    }
    groups
        .into_iter()
        .filter(|(_, awards)| awards.len() >= p.under_threshold_repeat_min)
        .map(|((department, vendor), awards)| Flag::UnderThreshold {
            department: department.clone(),
            vendor: vendor.clone(),
            awards,
        })
        .collect()
}

/// Per (ministry, year): the total committed, the contract count, and per
/// vendor its amount and contract count.
type Shares<'a> =
    BTreeMap<(&'a EntityId, Year), (u128, usize, BTreeMap<&'a EntityId, (u128, usize)>)>;

fn vendor_share(state: &State, p: &FlagParams) -> Vec<Flag> {
    let mut shares: Shares = BTreeMap::new();
    for c in state.contracts() {
        let Some(ministry) = state.entity(&c.department).and_then(|d| d.parent.as_ref()) else {
            continue;
        };
        let (total, count, vendors) = shares.entry((ministry, c.year)).or_default();
        *total += u128::from(c.amount.0);
        *count += 1;
        let (v_amount, v_count) = vendors.entry(&c.vendor).or_default();
        *v_amount += u128::from(c.amount.0);
        *v_count += 1;
    }
    let mut out = Vec::new();
    for ((ministry, year), (total, count, vendors)) in shares {
        if count < p.vendor_share_min_contracts || total == 0 {
            continue;
        }
        for (vendor, (amount, n)) in vendors {
            if amount * 100 > total * u128::from(p.vendor_share_pct) {
                out.push(Flag::VendorShare {
                    ministry: ministry.clone(),
                    year,
                    vendor: vendor.clone(),
                    // Each is at most a sum of u64 amounts that execution
                    // kept from overflowing per department; saturate for
                    // the display rather than trust that across departments.
                    vendor_amount: Amount(u64::try_from(amount).unwrap_or(u64::MAX)),
                    ministry_amount: Amount(u64::try_from(total).unwrap_or(u64::MAX)),
                    vendor_contracts: n,
                });
            }
        }
    }
    out
}

fn treasury_rotations(txs: &[CommittedTx], state: &State) -> Vec<Flag> {
    let Some(treasury) = state.treasury() else {
        return Vec::new();
    };
    txs.iter()
        .filter_map(|tx| match &tx.op {
            Op::RotateKey { entity, .. } if tx.signer == *treasury && *entity != tx.signer => {
                Some(Flag::TreasuryRotatedKey {
                    entity: entity.clone(),
                    signer: tx.signer.clone(),
                    tx: tx.hash,
                    height: tx.height,
                })
            }
            _ => None,
        })
        .collect()
}

fn amended_upward(txs: &[CommittedTx], state: &State) -> Vec<Flag> {
    // The amount of each contract as the transactions so far left it; an
    // amendment to a contract awarded before `txs` begin has no "before".
    let mut amounts: BTreeMap<&ContractId, Amount> = BTreeMap::new();
    let mut out = Vec::new();
    for tx in txs {
        match &tx.op {
            Op::Award {
                contract, amount, ..
            } => {
                amounts.insert(contract, *amount);
            }
            Op::AmendContract {
                contract, amount, ..
            } => {
                if let Some(before) = amounts.insert(contract, *amount) {
                    if *amount > before {
                        out.push(Flag::AmendedUpward {
                            contract: contract.clone(),
                            department: tx.signer.clone(),
                            vendor: state.contract(contract).map(|c| c.vendor.clone()),
                            from: before,
                            to: *amount,
                            tx: tx.hash,
                            height: tx.height,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ledger::testkit::{id, key, TestChain};
    use ledger::tx::EntityKind;
    use ledger::{LineCode, SignedTx};

    use super::*;

    const YEAR: Year = Year(2026);

    fn cid(s: &str) -> ContractId {
        ContractId::new(s).unwrap()
    }

    fn line() -> LineCode {
        LineCode::new("0402-HEALTH").unwrap()
    }

    /// A chain with ministry MOH, departments MOH.A and MOH.B (each with
    /// 100 tỷ), vendors V-1 to V-3, and every committed transaction kept.
    struct World {
        chain: TestChain,
        txs: Vec<CommittedTx>,
    }

    impl World {
        fn new() -> World {
            let mut w = World {
                chain: TestChain::new(1),
                txs: Vec::new(),
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
                    public_key: key(e).public_key(),
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

        /// Commits one block and keeps its transactions.
        fn block(&mut self, txs: Vec<SignedTx>) -> Height {
            let block = self.chain.commit(txs).expect("the block executes");
            let h = block.header.height;
            for (i, tx) in block.txs.iter().enumerate() {
                self.txs.push(CommittedTx {
                    height: h,
                    index: i as u32,
                    time_ms: block.header.time_ms,
                    hash: tx.hash(),
                    signer: tx.body.signer.clone(),
                    op: tx.body.op.clone(),
                });
            }
            h
        }

        /// One transaction in its own block.
        fn one(&mut self, signer: &str, op: Op) -> Height {
            let tx = self.chain.tx(signer, 0, op);
            self.block(vec![tx])
        }

        fn award(&mut self, dept: &str, contract: &str, vendor: &str, amount: u64) -> Height {
            let op = Op::Award {
                contract: cid(contract),
                year: YEAR,
                line: line(),
                vendor: id(vendor),
                amount: Amount(amount),
                title: "Máy thở".into(),
                document_hash: None,
            };
            self.one(dept, op)
        }

        fn pay(&mut self, dept: &str, contract: &str, amount: u64) -> Height {
            let op = Op::Pay {
                contract: cid(contract),
                amount: Amount(amount),
                reference: "HD-1".into(),
                document_hash: None,
            };
            self.one(dept, op)
        }

        fn deliver(&mut self, dept: &str, contract: &str) -> Height {
            let op = Op::ConfirmDelivery {
                contract: cid(contract),
                milestone: "Đợt 1".into(),
                note: "Đã nhận".into(),
            };
            self.one(dept, op)
        }

        fn amend(&mut self, dept: &str, contract: &str, amount: u64) -> Height {
            let op = Op::AmendContract {
                contract: cid(contract),
                amount: Amount(amount),
                reason: "Phát sinh".into(),
                document_hash: None,
            };
            self.one(dept, op)
        }

        fn flags(&self, now: Height) -> Vec<Flag> {
            compute(&self.txs, &self.chain.state, now, &FlagParams::default())
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
                first_payment: w.txs.iter().find(|t| t.height == paid_at).unwrap().hash,
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
                tx: w.txs.iter().find(|t| t.height == h).unwrap().hash,
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
                tx: w.txs.iter().find(|t| t.height == up).unwrap().hash,
                height: up,
            }
        );
        assert!(
            matches!(&raised[1], Flag::AmendedUpward { contract, from, to, .. }
            if contract.as_str() == "C-2" && *from == Amount(8_000_000) && *to == Amount(9_000_000))
        );

        // Without the award in view, an amendment has nothing to compare with.
        let without_awards: Vec<CommittedTx> = w
            .txs
            .iter()
            .filter(|t| !matches!(t.op, Op::Award { .. }))
            .cloned()
            .collect();
        let flags = compute(
            &without_awards,
            &w.chain.state,
            w.chain.state.height(),
            &FlagParams::default(),
        );
        assert_eq!(
            flags
                .iter()
                .filter(|f| matches!(f, Flag::AmendedUpward { .. }))
                .count(),
            1,
            "only C-2's second amendment has a before: {flags:?}"
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
}
