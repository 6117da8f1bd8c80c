//! Red flags: patterns in the ledger's own data that deserve a journalist's
//! question. A flag is not a finding; it names what to look at and links to
//! the transactions, contracts and entities that raised it.
//!
//! Flags are raised from facts the summaries keep over the whole history
//! ([`super::read::flags`]), so none ages out. Each has a stable id
//! ([`Flag::id`]) that names the same flag at every later height.

use crate::types::{Amount, ContractId, EntityId, Hash, Height, Year};

/// Payments with no confirmed delivery are flagged once this many blocks
/// have passed since the first payment: about a quarter of an hour at the
/// devnet's pace. A chain that makes a block a second would count in days
/// (86,400 blocks a day).
pub const PAID_WITHOUT_DELIVERY_BLOCKS: u64 = 1_000;
/// A payment its vendor has not acknowledged is flagged once this many
/// blocks have passed since it was made (the pace of
/// [`PAID_WITHOUT_DELIVERY_BLOCKS`]).
pub const ACKNOWLEDGE_WAIT_BLOCKS: u64 = 1_000;
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

/// The thresholds flags are raised at. Those of awards are applied as
/// blocks commit; the others when flags are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagParams {
    /// See [`PAID_WITHOUT_DELIVERY_BLOCKS`].
    pub delivery_wait_blocks: u64,
    /// See [`ACKNOWLEDGE_WAIT_BLOCKS`].
    pub acknowledge_wait_blocks: u64,
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
            acknowledge_wait_blocks: ACKNOWLEDGE_WAIT_BLOCKS,
            award_threshold: AWARD_THRESHOLD,
            under_threshold_pct: UNDER_THRESHOLD_PCT,
            under_threshold_repeat_min: UNDER_THRESHOLD_REPEAT_MIN,
            vendor_share_pct: VENDOR_SHARE_PCT,
            vendor_share_min_contracts: VENDOR_SHARE_MIN_CONTRACTS,
        }
    }
}

/// The lowest amount that counts as just under the threshold.
pub fn under_threshold_floor(p: &FlagParams) -> u64 {
    let t = u128::from(p.award_threshold.0);
    let below = t * u128::from(p.under_threshold_pct.min(100)) / 100;
    // t − below ≤ t, which fits in a u64.
    (t - below) as u64
}

/// Whether an award of `amount` is just under the threshold.
pub fn just_under(amount: Amount, p: &FlagParams) -> bool {
    amount.0 >= under_threshold_floor(p) && amount < p.award_threshold
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
        /// The first payment.
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
    /// A payment its vendor has not acknowledged receiving, `blocks_since`
    /// blocks after it was made: "paid" rests on the department's word
    /// alone.
    UnacknowledgedPayment {
        /// The contract.
        contract: ContractId,
        /// Which payment (0 for the first).
        payment: u32,
        /// Who paid.
        department: EntityId,
        /// Who was to receive it.
        vendor: EntityId,
        /// The amount.
        amount: Amount,
        /// The payment.
        tx: Hash,
        /// Its height.
        paid_at: Height,
        /// Blocks since.
        blocks_since: u64,
    },
}

impl Flag {
    /// The kind, as in ids, CSV and the API.
    pub fn kind(&self) -> &'static str {
        match self {
            Flag::PaidWithoutDelivery { .. } => "paid-without-delivery",
            Flag::UnderThreshold { .. } => "under-threshold",
            Flag::VendorShare { .. } => "vendor-share",
            Flag::TreasuryRotatedKey { .. } => "treasury-rotated-key",
            Flag::AmendedUpward { .. } => "amended-upward",
            Flag::UnacknowledgedPayment { .. } => "unacknowledged-payment",
        }
    }

    /// The flag's stable id: its kind and what it is about, the same at
    /// every height the flag stands. Ids and hashes hold no `:`.
    pub fn id(&self) -> String {
        let kind = self.kind();
        match self {
            Flag::PaidWithoutDelivery { contract, .. } => format!("{kind}:{contract}"),
            Flag::UnderThreshold {
                department, vendor, ..
            } => format!("{kind}:{department}:{vendor}"),
            Flag::VendorShare {
                ministry,
                year,
                vendor,
                ..
            } => format!("{kind}:{ministry}:{}:{vendor}", year.0),
            Flag::TreasuryRotatedKey { tx, .. } | Flag::AmendedUpward { tx, .. } => {
                format!("{kind}:{}", tx.to_hex())
            }
            Flag::UnacknowledgedPayment {
                contract, payment, ..
            } => format!("{kind}:{contract}:{payment}"),
        }
    }

    /// Whether the flag concerns `contract`.
    pub fn concerns_contract(&self, contract: &ContractId) -> bool {
        match self {
            Flag::PaidWithoutDelivery { contract: c, .. }
            | Flag::AmendedUpward { contract: c, .. }
            | Flag::UnacknowledgedPayment { contract: c, .. } => c == contract,
            Flag::UnderThreshold { awards, .. } => awards.iter().any(|a| a.contract == *contract),
            Flag::VendorShare { .. } | Flag::TreasuryRotatedKey { .. } => false,
        }
    }

    /// Whether the flag concerns `entity`, by any role.
    pub fn concerns_entity(&self, entity: &EntityId) -> bool {
        match self {
            Flag::PaidWithoutDelivery {
                department, vendor, ..
            }
            | Flag::UnderThreshold {
                department, vendor, ..
            }
            | Flag::UnacknowledgedPayment {
                department, vendor, ..
            } => department == entity || vendor == entity,
            Flag::VendorShare {
                ministry, vendor, ..
            } => ministry == entity || vendor == entity,
            Flag::TreasuryRotatedKey {
                entity: e, signer, ..
            } => e == entity || signer == entity,
            Flag::AmendedUpward {
                department, vendor, ..
            } => department == entity || vendor.as_ref() == Some(entity),
        }
    }

    /// The height the flag was raised at, as far as one block says: the
    /// last transaction it rests on (`None` for a vendor's share, which is
    /// a standing sum).
    pub fn height(&self) -> Option<Height> {
        match self {
            Flag::PaidWithoutDelivery { paid_at, .. }
            | Flag::UnacknowledgedPayment { paid_at, .. } => Some(*paid_at),
            Flag::UnderThreshold { awards, .. } => awards.last().map(|a| a.height),
            Flag::VendorShare { .. } => None,
            Flag::TreasuryRotatedKey { height, .. } | Flag::AmendedUpward { height, .. } => {
                Some(*height)
            }
        }
    }
}
