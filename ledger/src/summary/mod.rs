//! Running summaries of the whole history, kept as blocks commit, for
//! readers: the money that flowed each year (treasury → ministries →
//! departments → vendors), each budget holder's execution by month, who
//! paid each vendor by month, each contract's transactions, and the facts
//! red flags are raised from.
//!
//! [`changes`] is a pure function of a block, the state it was executed on
//! and the summaries so far (read through [`SummaryRead`]): it returns the
//! entries to write, which the store writes in the same batch as the block.
//! Readers ([`read`]) only look entries up or scan short key ranges, so a
//! page costs the same on the first block and on the ten-millionth.
//!
//! Figures are signed 128-bit sums: a return of funds or an amendment
//! downwards lowers them, and no sum of 64-bit amounts can overflow them.
//! Months are Vietnam's calendar months (UTC+7) of the block time, within
//! the fiscal year of the budget line: a payment on a 2026 line made in
//! January 2027 counts in December 2026, the year's last month.

pub mod flags;
pub mod read;

use std::collections::{BTreeMap, HashMap, HashSet};

use bincode::{Decode, Encode};

use crate::block::Block;
use crate::codec;
use crate::state::State;
use crate::tx::Op;
use crate::types::{Amount, ContractId, EntityId, Hash, Height, Year};

pub use flags::{AwardSeen, Flag, FlagParams};

/// What reading the summaries failed on.
#[derive(Debug, thiserror::Error)]
#[error("reading the summaries: {0}")]
pub struct SummaryError(pub String);

/// Read access to the summaries written so far: the store, or a map in
/// tests.
pub trait SummaryRead {
    /// The entry under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, SummaryError>;
    /// Calls `f` on the entries whose keys start with `prefix`, in key
    /// order, until it returns false.
    fn scan(
        &self,
        prefix: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), SummaryError>;
}

impl SummaryRead for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, SummaryError> {
        Ok(BTreeMap::get(self, key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), SummaryError> {
        for (k, v) in self.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) || !f(k, v) {
                break;
            }
        }
        Ok(())
    }
}

/// Entries to write: a value, or `None` to delete.
pub type Changes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Applies [`Changes`] to a map, as the store applies them to its column.
pub fn apply(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, changes: Changes) {
    for (k, v) in changes {
        match v {
            Some(v) => map.insert(k, v),
            None => map.remove(&k),
        };
    }
}

/// Whether the entry under `key` is written once, with its transaction's
/// block, and never changed, deleted or read back by [`changes`]: a
/// contract's transactions. `verify chain` checks such an entry against
/// the store as soon as it is computed, instead of holding it to the end.
pub fn written_once(key: &[u8]) -> bool {
    key.first() == Some(&tag::CONTRACT)
}

/// Key tags. Ids match `[A-Z0-9][A-Z0-9._-]*`, so a zero byte ends one.
pub(crate) mod tag {
    /// Money flow: year, from, to → net amount.
    pub const FLOW: u8 = b'F';
    /// Execution by month: entity, year, month → received, committed, paid.
    pub const MONTH: u8 = b'M';
    /// A vendor's income: vendor, year, month, department → paid.
    pub const VENDOR: u8 = b'V';
    /// A contract's transactions: contract, height, index → hash.
    pub const CONTRACT: u8 = b'C';
    /// Paid and not delivered: first payment's height, contract → hash.
    pub const PAID_OPEN: u8 = b'P';
    /// A contract's first payment: contract → height, and whether open.
    pub const FIRST_PAY: u8 = b'p';
    /// Awards just under the threshold: department, vendor, height, index.
    pub const UNDER: u8 = b'U';
    /// A ministry's committed total in a year: ministry, year.
    pub const SHARE_TOTAL: u8 = b'S';
    /// A vendor's part of it: ministry, year, vendor.
    pub const SHARE_VENDOR: u8 = b's';
    /// The treasury rotated another entity's key: height, index.
    pub const ROTATION: u8 = b'R';
    /// A contract amended upwards: height, index.
    pub const AMENDED_UP: u8 = b'A';
    /// A payment its vendor has not acknowledged: height, contract, payment
    /// number → hash, amount.
    pub const UNACKED: u8 = b'K';
    /// The height of a payment not yet acknowledged: contract, payment
    /// number → height (to find its [`UNACKED`] entry).
    pub const PAID_AT: u8 = b'k';
}

/// Builds keys: a tag, then parts, ids each ended by a zero byte.
pub(crate) struct Key(Vec<u8>);

impl Key {
    pub(crate) fn new(tag: u8) -> Key {
        Key(vec![tag])
    }
    pub(crate) fn id(mut self, s: &str) -> Key {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self
    }
    pub(crate) fn year(mut self, y: Year) -> Key {
        self.0.extend_from_slice(&y.0.to_be_bytes());
        self
    }
    pub(crate) fn month(mut self, m: u8) -> Key {
        self.0.push(m);
        self
    }
    pub(crate) fn at(mut self, h: Height, index: u32) -> Key {
        self.0.extend_from_slice(&h.0.to_be_bytes());
        self.0.extend_from_slice(&index.to_be_bytes());
        self
    }
    pub(crate) fn height(mut self, h: Height) -> Key {
        self.0.extend_from_slice(&h.0.to_be_bytes());
        self
    }
    pub(crate) fn payment(mut self, n: u32) -> Key {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    pub(crate) fn done(self) -> Vec<u8> {
        self.0
    }
}

/// Splits a key made by [`Key`]: skips its first `skip` bytes (the tag and
/// any fixed-width parts before the ids), then takes `ids` zero-ended ids;
/// returns them and the rest.
pub(crate) fn split_key(key: &[u8], skip: usize, ids: usize) -> Option<(Vec<&str>, &[u8])> {
    let mut rest = key.get(skip..)?;
    let mut out = Vec::with_capacity(ids);
    for _ in 0..ids {
        let end = rest.iter().position(|b| *b == 0)?;
        out.push(std::str::from_utf8(&rest[..end]).ok()?);
        rest = &rest[end + 1..];
    }
    Some((out, rest))
}

/// Figures of one budget holder in one month: what it received (net of
/// returns), committed (awards and amendments) and paid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonthFigures {
    /// Received, net of returns.
    pub received: i128,
    /// Committed to contracts, net of amendments downwards.
    pub committed: i128,
    /// Paid to vendors.
    pub paid: i128,
}

impl MonthFigures {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48);
        for x in [self.received, self.committed, self.paid] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    fn decode(b: &[u8]) -> Option<MonthFigures> {
        if b.len() != 48 {
            return None;
        }
        let n = |i: usize| i128::from_be_bytes(b[i * 16..i * 16 + 16].try_into().expect("16"));
        Some(MonthFigures {
            received: n(0),
            committed: n(1),
            paid: n(2),
        })
    }

    fn add(&mut self, o: &MonthFigures) {
        self.received += o.received;
        self.committed += o.committed;
        self.paid += o.paid;
    }
}

pub(crate) fn sum_bytes(x: i128) -> Vec<u8> {
    x.to_be_bytes().to_vec()
}

pub(crate) fn sum_from(b: &[u8]) -> Option<i128> {
    Some(i128::from_be_bytes(b.try_into().ok()?))
}

/// A ministry's committed total in a year, or a vendor's part of it, with
/// the contracts counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Share {
    /// The contracts' amounts.
    pub amount: i128,
    /// How many contracts.
    pub contracts: u64,
}

impl Share {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = self.amount.to_be_bytes().to_vec();
        v.extend_from_slice(&self.contracts.to_be_bytes());
        v
    }

    pub(crate) fn decode(b: &[u8]) -> Option<Share> {
        if b.len() != 24 {
            return None;
        }
        Some(Share {
            amount: i128::from_be_bytes(b[..16].try_into().ok()?),
            contracts: u64::from_be_bytes(b[16..].try_into().ok()?),
        })
    }
}

/// The facts stored for flags, encoded canonically.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub(crate) enum Fact {
    /// An award just under the threshold.
    Under {
        contract: ContractId,
        amount: Amount,
        tx: Hash,
    },
    /// The treasury rotated `entity`'s key.
    Rotation {
        entity: EntityId,
        signer: EntityId,
        tx: Hash,
    },
    /// A contract amended upwards.
    AmendedUp {
        contract: ContractId,
        department: EntityId,
        vendor: EntityId,
        from: Amount,
        to: Amount,
        tx: Hash,
    },
    /// A contract's first payment, and whether it is still undelivered.
    FirstPay { height: Height, open: bool },
}

impl Fact {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Fact> {
        codec::decode::<Fact, { codec::RECORD_BYTES_MAX }>(b).ok()
    }
}

/// Vietnam's offset from UTC.
const VIETNAM_OFFSET_MS: i64 = 7 * 3_600_000;

/// The calendar (year, month 1–12) in Vietnam of a time in ms since the
/// Unix epoch.
pub fn vietnam_month(time_ms: u64) -> (i64, u8) {
    let ms = time_ms as i64 + VIETNAM_OFFSET_MS;
    let days = ms.div_euclid(86_400_000);
    // Days to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u8)
}

/// The month (0 = January … 11 = December) of fiscal year `year` that a
/// block timed `time_ms` counts in: its calendar month, held within the
/// year.
pub fn fiscal_month(year: Year, time_ms: u64) -> u8 {
    let (y, m) = vietnam_month(time_ms);
    match y.cmp(&i64::from(year.0)) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Greater => 11,
        std::cmp::Ordering::Equal => m - 1,
    }
}

/// A contract as the summaries need it while a block is applied.
#[derive(Clone)]
struct ContractNow {
    department: EntityId,
    vendor: EntityId,
    year: Year,
    amount: Amount,
    paid: bool,
    /// Payments made so far.
    payments: u32,
}

/// The summaries' view of the state while a block is applied: the state
/// before it, with what the block's own transactions changed.
struct Scratch<'a> {
    before: &'a State,
    contracts: HashMap<ContractId, ContractNow>,
    parents: HashMap<EntityId, Option<EntityId>>,
    /// Contracts with a delivery confirmed in this block.
    delivered: HashSet<ContractId>,
}

impl Scratch<'_> {
    fn parent(&self, id: &EntityId) -> Option<EntityId> {
        match self.parents.get(id) {
            Some(p) => p.clone(),
            None => self.before.entity(id).and_then(|e| e.parent.clone()),
        }
    }

    fn contract(&self, id: &ContractId) -> Option<ContractNow> {
        self.contracts.get(id).cloned().or_else(|| {
            self.before.contract(id).map(|c| ContractNow {
                department: c.department.clone(),
                vendor: c.vendor.clone(),
                year: c.year,
                amount: c.amount,
                paid: c.paid > Amount::ZERO,
                payments: c.payments,
            })
        })
    }
}

/// What a block adds up to, before it is merged with the stored sums.
#[derive(Default)]
struct Sums {
    flows: BTreeMap<Vec<u8>, i128>,
    months: BTreeMap<Vec<u8>, MonthFigures>,
    shares: BTreeMap<Vec<u8>, Share>,
    /// Entries written as they are (history, facts), or deleted.
    put: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Sums {
    fn flow(&mut self, year: Year, from: &EntityId, to: &EntityId, amount: i128) {
        let k = Key::new(tag::FLOW)
            .year(year)
            .id(from.as_str())
            .id(to.as_str());
        *self.flows.entry(k.done()).or_default() += amount;
    }

    fn month(&mut self, entity: &EntityId, year: Year, month: u8, f: MonthFigures) {
        let k = Key::new(tag::MONTH)
            .id(entity.as_str())
            .year(year)
            .month(month);
        self.months.entry(k.done()).or_default().add(&f);
    }

    fn vendor(&mut self, vendor: &EntityId, year: Year, month: u8, dept: &EntityId, paid: i128) {
        let k = Key::new(tag::VENDOR)
            .id(vendor.as_str())
            .year(year)
            .month(month)
            .id(dept.as_str());
        *self.flows.entry(k.done()).or_default() += paid;
    }

    fn share(&mut self, key: Vec<u8>, amount: i128, contracts: u64) {
        let s = self.shares.entry(key).or_default();
        s.amount += amount;
        s.contracts += contracts;
    }
}

/// The summary entries block `block` writes, executed on `before`, given
/// the summaries so far in `read`. `p` sets the thresholds of the facts
/// flags are raised from.
pub fn changes(
    block: &Block,
    before: &State,
    read: &dyn SummaryRead,
    p: &FlagParams,
) -> Result<Changes, SummaryError> {
    changes_hashed(block, &block.tx_hashes(), before, read, p)
}

/// [`changes`], given the hashes of the block's transactions, in order.
pub(crate) fn changes_hashed(
    block: &Block,
    hashes: &[Hash],
    before: &State,
    read: &dyn SummaryRead,
    p: &FlagParams,
) -> Result<Changes, SummaryError> {
    assert_eq!(hashes.len(), block.txs.len(), "one hash per transaction");
    let h = block.header.height;
    let time = block.header.time_ms;
    let treasury = before.treasury().cloned();
    let mut s = Scratch {
        before,
        contracts: HashMap::new(),
        parents: HashMap::new(),
        delivered: HashSet::new(),
    };
    let mut sums = Sums::default();
    for (i, (tx, &hash)) in block.txs.iter().zip(hashes).enumerate() {
        let index = u32::try_from(i).expect("a block holds fewer than 2^32 transactions");
        let signer = &tx.body.signer;
        let contract_key =
            |c: &ContractId| Key::new(tag::CONTRACT).id(c.as_str()).at(h, index).done();
        match &tx.body.op {
            Op::RegisterEntity { id, parent, .. } => {
                s.parents.insert(id.clone(), parent.clone());
            }
            Op::Appropriate {
                year, to, amount, ..
            }
            | Op::Allocate {
                year, to, amount, ..
            } => {
                let a = i128::from(amount.0);
                sums.flow(*year, signer, to, a);
                let f = MonthFigures {
                    received: a,
                    ..Default::default()
                };
                sums.month(to, *year, fiscal_month(*year, time), f);
            }
            Op::ReturnFunds { year, amount, .. } => {
                let a = i128::from(amount.0);
                if let Some(parent) = s.parent(signer).or_else(|| treasury.clone()) {
                    sums.flow(*year, &parent, signer, -a);
                }
                let f = MonthFigures {
                    received: -a,
                    ..Default::default()
                };
                sums.month(signer, *year, fiscal_month(*year, time), f);
            }
            Op::Award {
                contract,
                year,
                vendor,
                amount,
                ..
            } => {
                let a = i128::from(amount.0);
                let f = MonthFigures {
                    committed: a,
                    ..Default::default()
                };
                let month = fiscal_month(*year, time);
                sums.month(signer, *year, month, f);
                let ministry = s.parent(signer);
                if let Some(m) = &ministry {
                    sums.month(m, *year, month, f);
                    let total = Key::new(tag::SHARE_TOTAL).id(m.as_str()).year(*year);
                    sums.share(total.done(), a, 1);
                    let part = Key::new(tag::SHARE_VENDOR)
                        .id(m.as_str())
                        .year(*year)
                        .id(vendor.as_str());
                    sums.share(part.done(), a, 1);
                }
                if flags::just_under(*amount, p) {
                    let k = Key::new(tag::UNDER)
                        .id(signer.as_str())
                        .id(vendor.as_str())
                        .at(h, index);
                    let fact = Fact::Under {
                        contract: contract.clone(),
                        amount: *amount,
                        tx: hash,
                    };
                    sums.put.insert(k.done(), Some(fact.bytes()));
                }
                sums.put
                    .insert(contract_key(contract), Some(hash.0.to_vec()));
                s.contracts.insert(
                    contract.clone(),
                    ContractNow {
                        department: signer.clone(),
                        vendor: vendor.clone(),
                        year: *year,
                        amount: *amount,
                        paid: false,
                        payments: 0,
                    },
                );
            }
            Op::AmendContract {
                contract, amount, ..
            } => {
                let Some(mut c) = s.contract(contract) else {
                    continue;
                };
                let delta = i128::from(amount.0) - i128::from(c.amount.0);
                let f = MonthFigures {
                    committed: delta,
                    ..Default::default()
                };
                let month = fiscal_month(c.year, time);
                sums.month(&c.department, c.year, month, f);
                if let Some(m) = s.parent(&c.department) {
                    sums.month(&m, c.year, month, f);
                    let total = Key::new(tag::SHARE_TOTAL).id(m.as_str()).year(c.year);
                    sums.share(total.done(), delta, 0);
                    let part = Key::new(tag::SHARE_VENDOR)
                        .id(m.as_str())
                        .year(c.year)
                        .id(c.vendor.as_str());
                    sums.share(part.done(), delta, 0);
                }
                if *amount > c.amount {
                    let fact = Fact::AmendedUp {
                        contract: contract.clone(),
                        department: c.department.clone(),
                        vendor: c.vendor.clone(),
                        from: c.amount,
                        to: *amount,
                        tx: hash,
                    };
                    let k = Key::new(tag::AMENDED_UP).at(h, index);
                    sums.put.insert(k.done(), Some(fact.bytes()));
                }
                sums.put
                    .insert(contract_key(contract), Some(hash.0.to_vec()));
                c.amount = *amount;
                s.contracts.insert(contract.clone(), c);
            }
            Op::Pay {
                contract, amount, ..
            } => {
                let Some(mut c) = s.contract(contract) else {
                    continue;
                };
                let a = i128::from(amount.0);
                let month = fiscal_month(c.year, time);
                let f = MonthFigures {
                    paid: a,
                    ..Default::default()
                };
                sums.month(&c.department, c.year, month, f);
                if let Some(m) = s.parent(&c.department) {
                    sums.month(&m, c.year, month, f);
                }
                sums.flow(c.year, &c.department, &c.vendor, a);
                sums.vendor(&c.vendor, c.year, month, &c.department, a);
                sums.put
                    .insert(contract_key(contract), Some(hash.0.to_vec()));
                let unacked = Key::new(tag::UNACKED)
                    .height(h)
                    .id(contract.as_str())
                    .payment(c.payments);
                let mut v = hash.0.to_vec();
                v.extend_from_slice(&amount.0.to_be_bytes());
                sums.put.insert(unacked.done(), Some(v));
                let paid_at = Key::new(tag::PAID_AT)
                    .id(contract.as_str())
                    .payment(c.payments);
                sums.put
                    .insert(paid_at.done(), Some(h.0.to_be_bytes().to_vec()));
                c.payments = c.payments.saturating_add(1);
                if !c.paid {
                    c.paid = true;
                    let open =
                        before.deliveries(contract).is_empty() && !s.delivered.contains(contract);
                    let first = Key::new(tag::FIRST_PAY).id(contract.as_str()).done();
                    let fact = Fact::FirstPay { height: h, open };
                    sums.put.insert(first, Some(fact.bytes()));
                    if open {
                        let k = Key::new(tag::PAID_OPEN).height(h).id(contract.as_str());
                        sums.put.insert(k.done(), Some(hash.0.to_vec()));
                    }
                }
                s.contracts.insert(contract.clone(), c);
            }
            Op::ConfirmDelivery { contract, .. } => {
                sums.put
                    .insert(contract_key(contract), Some(hash.0.to_vec()));
                let first = Key::new(tag::FIRST_PAY).id(contract.as_str()).done();
                match first_pay(&sums, read, contract)? {
                    Some((paid_at, true)) => {
                        let k = Key::new(tag::PAID_OPEN)
                            .height(paid_at)
                            .id(contract.as_str());
                        sums.put.insert(k.done(), None);
                        let fact = Fact::FirstPay {
                            height: paid_at,
                            open: false,
                        };
                        sums.put.insert(first, Some(fact.bytes()));
                    }
                    Some((_, false)) => {}
                    None => {
                        // Delivered before any payment: a later first
                        // payment is not open.
                        s.delivered.insert(contract.clone());
                    }
                }
            }
            Op::RotateKey { entity, .. } | Op::SetKeys { entity, .. } => {
                if treasury.as_ref() == Some(signer) && entity != signer {
                    let fact = Fact::Rotation {
                        entity: entity.clone(),
                        signer: signer.clone(),
                        tx: hash,
                    };
                    let k = Key::new(tag::ROTATION).at(h, index);
                    sums.put.insert(k.done(), Some(fact.bytes()));
                }
            }
            Op::SetStatus { .. }
            | Op::AddValidator { .. }
            | Op::RemoveValidator { .. }
            | Op::RegisterNode { .. }
            | Op::RemoveNode { .. }
            | Op::CancelKeys { .. }
            | Op::SetControl { .. }
            | Op::RemoveControl { .. }
            | Op::CloseYear { .. }
            | Op::ScheduleUpgrade { .. } => {}
            Op::AcknowledgePayment { contract, payment } => {
                sums.put
                    .insert(contract_key(contract), Some(hash.0.to_vec()));
                // Paid in an earlier block, or else in this one.
                let at_key = Key::new(tag::PAID_AT)
                    .id(contract.as_str())
                    .payment(*payment)
                    .done();
                let paid_at = match sums.put.get(&at_key) {
                    Some(_) => h,
                    None => read
                        .get(&at_key)?
                        .and_then(|b| Some(Height(u64::from_be_bytes(b.try_into().ok()?))))
                        .ok_or_else(|| read::bad("payment", &at_key))?,
                };
                let k = Key::new(tag::UNACKED)
                    .height(paid_at)
                    .id(contract.as_str())
                    .payment(*payment);
                sums.put.insert(k.done(), None);
                sums.put.insert(at_key, None);
            }
        }
    }
    merge(sums, read)
}

/// A contract's first payment (its height, and whether it is still open),
/// from this block's entries or the stored ones.
fn first_pay(
    sums: &Sums,
    read: &dyn SummaryRead,
    contract: &ContractId,
) -> Result<Option<(Height, bool)>, SummaryError> {
    let key = Key::new(tag::FIRST_PAY).id(contract.as_str()).done();
    let bytes = match sums.put.get(&key) {
        Some(Some(b)) => Some(b.clone()),
        Some(None) => None,
        None => read.get(&key)?,
    };
    match bytes.as_deref().map(Fact::from_bytes) {
        None => Ok(None),
        Some(Some(Fact::FirstPay { height, open })) => Ok(Some((height, open))),
        Some(_) => Err(SummaryError(format!("a bad first payment of {contract}"))),
    }
}

/// Adds the block's sums to the stored ones.
fn merge(sums: Sums, read: &dyn SummaryRead) -> Result<Changes, SummaryError> {
    let bad = |k: &[u8]| SummaryError(format!("a bad sum under {k:?}"));
    let mut out: Changes = sums.put.into_iter().collect();
    for (k, add) in sums.flows {
        let now = match read.get(&k)? {
            Some(b) => sum_from(&b).ok_or_else(|| bad(&k))?,
            None => 0,
        };
        out.push((k, Some(sum_bytes(now + add))));
    }
    for (k, add) in sums.months {
        let mut now = match read.get(&k)? {
            Some(b) => MonthFigures::decode(&b).ok_or_else(|| bad(&k))?,
            None => MonthFigures::default(),
        };
        now.add(&add);
        out.push((k, Some(now.encode())));
    }
    for (k, add) in sums.shares {
        let mut now = match read.get(&k)? {
            Some(b) => Share::decode(&b).ok_or_else(|| bad(&k))?,
            None => Share::default(),
        };
        now.amount += add.amount;
        now.contracts += add.contracts;
        out.push((k, Some(now.encode())));
    }
    Ok(out)
}
