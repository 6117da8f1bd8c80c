//! Reading the summaries: money flows, execution by month, a vendor's
//! income, a contract's transactions and the red flags. Each reads the
//! entries of one key range, never blocks.

use std::collections::BTreeMap;

use super::flags::{AwardSeen, Flag, FlagParams};
use super::{split_key, sum_from, tag, Fact, Key, MonthFigures, Share, SummaryError, SummaryRead};
use crate::state::State;
use crate::types::{Amount, ContractId, EntityId, Hash, Height, Year};

/// Money that flowed from one entity to another in a fiscal year: the
/// treasury's appropriations to a ministry and a ministry's allocations to
/// a department (both net of returns), and a department's payments to a
/// vendor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSum {
    /// Who gave or paid.
    pub from: EntityId,
    /// Who received.
    pub to: EntityId,
    /// How much, net.
    pub amount: i128,
}

pub(super) fn bad(what: &str, key: &[u8]) -> SummaryError {
    SummaryError(format!("a bad {what} entry under {key:?}"))
}

fn entity(s: &str) -> Option<EntityId> {
    EntityId::new(s).ok()
}

/// Every flow of `year`, or only those from `from`, in key order.
pub fn flows(
    read: &dyn SummaryRead,
    year: Year,
    from: Option<&EntityId>,
) -> Result<Vec<FlowSum>, SummaryError> {
    let mut prefix = Key::new(tag::FLOW).year(year);
    if let Some(f) = from {
        prefix = prefix.id(f.as_str());
    }
    let mut out = Vec::new();
    let mut err = None;
    read.scan(&prefix.done(), &mut |k, v| {
        let parsed = split_key(k, 3, 2).and_then(|(ids, rest)| {
            let amount = sum_from(v)?;
            rest.is_empty().then_some(())?;
            Some(FlowSum {
                from: entity(ids[0])?,
                to: entity(ids[1])?,
                amount,
            })
        });
        match parsed {
            Some(f) => {
                out.push(f);
                true
            }
            None => {
                err = Some(bad("flow", k));
                false
            }
        }
    })?;
    err.map_or(Ok(out), Err)
}

/// The fiscal years any money flowed in, newest first.
pub fn years(read: &dyn SummaryRead) -> Result<Vec<Year>, SummaryError> {
    // One seek per year the ledger accepts; each stops at its first entry.
    let mut out = Vec::new();
    for y in (Year::FIRST..=Year::LAST).rev() {
        let mut found = false;
        read.scan(&Key::new(tag::FLOW).year(Year(y)).done(), &mut |_, _| {
            found = true;
            false
        })?;
        if found {
            out.push(Year(y));
        }
    }
    Ok(out)
}

/// An entity's figures by month of `year` (increments, not running sums).
pub fn months(
    read: &dyn SummaryRead,
    entity: &EntityId,
    year: Year,
) -> Result<[MonthFigures; 12], SummaryError> {
    let mut out = [MonthFigures::default(); 12];
    for (m, slot) in out.iter_mut().enumerate() {
        let k = Key::new(tag::MONTH)
            .id(entity.as_str())
            .year(year)
            .month(m as u8)
            .done();
        if let Some(v) = read.get(&k)? {
            *slot = MonthFigures::decode(&v).ok_or_else(|| bad("month", &k))?;
        }
    }
    Ok(out)
}

/// What each department paid `vendor` in each month of `year`: (department,
/// month 0–11, amount).
pub fn vendor_income(
    read: &dyn SummaryRead,
    vendor: &EntityId,
    year: Year,
) -> Result<Vec<(EntityId, u8, i128)>, SummaryError> {
    let prefix = Key::new(tag::VENDOR).id(vendor.as_str()).year(year).done();
    let skip = prefix.len();
    let mut out = Vec::new();
    let mut err = None;
    read.scan(&prefix, &mut |k, v| {
        let parsed = (|| {
            let month = *k.get(skip)?;
            let rest = k.get(skip + 1..)?;
            let dept = std::str::from_utf8(rest.strip_suffix(&[0])?).ok()?;
            Some((entity(dept)?, month, sum_from(v)?))
        })();
        match parsed {
            Some(e) => {
                out.push(e);
                true
            }
            None => {
                err = Some(bad("vendor income", k));
                false
            }
        }
    })?;
    err.map_or(Ok(out), Err)
}

/// The transactions of a contract (award, amendments, payments,
/// deliveries), in chain order: (height, position in the block, hash).
pub fn contract_txs(
    read: &dyn SummaryRead,
    contract: &ContractId,
) -> Result<Vec<(Height, u32, Hash)>, SummaryError> {
    let prefix = Key::new(tag::CONTRACT).id(contract.as_str()).done();
    let skip = prefix.len();
    let mut out = Vec::new();
    let mut err = None;
    read.scan(&prefix, &mut |k, v| {
        let parsed = (|| {
            let at = k.get(skip..)?;
            let h = u64::from_be_bytes(at.get(..8)?.try_into().ok()?);
            let i = u32::from_be_bytes(at.get(8..12)?.try_into().ok()?);
            Some((Height(h), i, Hash(v.try_into().ok()?)))
        })();
        match parsed {
            Some(e) => {
                out.push(e);
                true
            }
            None => {
                err = Some(bad("contract", k));
                false
            }
        }
    })?;
    err.map_or(Ok(out), Err)
}

fn saturate(x: i128) -> Amount {
    Amount(u64::try_from(x.max(0)).unwrap_or(u64::MAX))
}

/// Every flag standing at height `now` of `state`. Flags come grouped by
/// kind, in the order of [`Flag`]'s variants, each group in chain order.
pub fn flags(
    read: &dyn SummaryRead,
    state: &State,
    now: Height,
    p: &FlagParams,
) -> Result<Vec<Flag>, SummaryError> {
    let mut out = paid_without_delivery(read, state, now, p)?;
    out.extend(under_threshold(read, p)?);
    out.extend(vendor_share(read, p)?);
    out.extend(events(read, state)?);
    out.extend(unacknowledged(read, state, now, p)?);
    Ok(out)
}

fn paid_without_delivery(
    read: &dyn SummaryRead,
    state: &State,
    now: Height,
    p: &FlagParams,
) -> Result<Vec<Flag>, SummaryError> {
    let Some(last) = now.0.checked_sub(p.delivery_wait_blocks) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut err = None;
    read.scan(&[tag::PAID_OPEN], &mut |k, v| {
        let parsed = (|| {
            let paid_at = u64::from_be_bytes(k.get(1..9)?.try_into().ok()?);
            let id = std::str::from_utf8(k.get(9..)?.strip_suffix(&[0])?).ok()?;
            Some((paid_at, ContractId::new(id).ok()?, Hash(v.try_into().ok()?)))
        })();
        let Some((paid_at, contract, first_payment)) = parsed else {
            err = Some(bad("payment", k));
            return false;
        };
        if paid_at > last {
            return false;
        }
        if let Some(c) = state.contract(&contract) {
            out.push(Flag::PaidWithoutDelivery {
                department: c.department.clone(),
                vendor: c.vendor.clone(),
                paid: c.paid,
                contract,
                first_payment,
                paid_at: Height(paid_at),
                blocks_since: now.0 - paid_at,
            });
        }
        true
    })?;
    err.map_or(Ok(out), Err)
}

/// Payments their vendors have not acknowledged, made at least
/// `acknowledge_wait_blocks` before `now`, oldest first.
fn unacknowledged(
    read: &dyn SummaryRead,
    state: &State,
    now: Height,
    p: &FlagParams,
) -> Result<Vec<Flag>, SummaryError> {
    let Some(last) = now.0.checked_sub(p.acknowledge_wait_blocks) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut err = None;
    read.scan(&[tag::UNACKED], &mut |k, v| {
        let parsed = (|| {
            let paid_at = u64::from_be_bytes(k.get(1..9)?.try_into().ok()?);
            let rest = k.get(9..)?;
            let end = rest.iter().position(|b| *b == 0)?;
            let id = std::str::from_utf8(&rest[..end]).ok()?;
            let n = u32::from_be_bytes(rest.get(end + 1..)?.try_into().ok()?);
            let (tx, amount) = v.split_at_checked(32)?;
            Some((
                paid_at,
                ContractId::new(id).ok()?,
                n,
                Hash(tx.try_into().ok()?),
                Amount(u64::from_be_bytes(amount.try_into().ok()?)),
            ))
        })();
        let Some((paid_at, contract, payment, tx, amount)) = parsed else {
            err = Some(bad("payment", k));
            return false;
        };
        if paid_at > last {
            return false;
        }
        if let Some(c) = state.contract(&contract) {
            out.push(Flag::UnacknowledgedPayment {
                department: c.department.clone(),
                vendor: c.vendor.clone(),
                amount,
                contract,
                payment,
                tx,
                paid_at: Height(paid_at),
                blocks_since: now.0 - paid_at,
            });
        }
        true
    })?;
    err.map_or(Ok(out), Err)
}

fn under_threshold(read: &dyn SummaryRead, p: &FlagParams) -> Result<Vec<Flag>, SummaryError> {
    let mut groups: BTreeMap<(EntityId, EntityId), Vec<AwardSeen>> = BTreeMap::new();
    let mut err = None;
    read.scan(&[tag::UNDER], &mut |k, v| {
        let parsed = (|| {
            let (ids, at) = split_key(k, 1, 2)?;
            let h = u64::from_be_bytes(at.get(..8)?.try_into().ok()?);
            let Fact::Under {
                contract,
                amount,
                tx,
            } = Fact::from_bytes(v)?
            else {
                return None;
            };
            let seen = AwardSeen {
                contract,
                amount,
                tx,
                height: Height(h),
            };
            Some(((entity(ids[0])?, entity(ids[1])?), seen))
        })();
        match parsed {
            Some((pair, seen)) => {
                groups.entry(pair).or_default().push(seen);
                true
            }
            None => {
                err = Some(bad("award", k));
                false
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    Ok(groups
        .into_iter()
        .filter(|(_, awards)| awards.len() >= p.under_threshold_repeat_min)
        .map(|((department, vendor), awards)| Flag::UnderThreshold {
            department,
            vendor,
            awards,
        })
        .collect())
}

fn vendor_share(read: &dyn SummaryRead, p: &FlagParams) -> Result<Vec<Flag>, SummaryError> {
    let mut totals = Vec::new();
    let mut err = None;
    read.scan(&[tag::SHARE_TOTAL], &mut |k, v| {
        let parsed = (|| {
            let (ids, rest) = split_key(k, 1, 1)?;
            let year = u16::from_be_bytes(rest.try_into().ok()?);
            Some((entity(ids[0])?, Year(year), Share::decode(v)?))
        })();
        match parsed {
            Some(t) => {
                totals.push(t);
                true
            }
            None => {
                err = Some(bad("share", k));
                false
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    let mut out = Vec::new();
    for (ministry, year, total) in totals {
        if total.contracts < p.vendor_share_min_contracts as u64 || total.amount <= 0 {
            continue;
        }
        let prefix = Key::new(tag::SHARE_VENDOR)
            .id(ministry.as_str())
            .year(year)
            .done();
        let skip = prefix.len();
        read.scan(&prefix, &mut |k, v| {
            let parsed = (|| {
                let id = std::str::from_utf8(k.get(skip..)?.strip_suffix(&[0])?).ok()?;
                Some((entity(id)?, Share::decode(v)?))
            })();
            let Some((vendor, share)) = parsed else {
                err = Some(bad("share", k));
                return false;
            };
            if share.amount * 100 > total.amount * i128::from(p.vendor_share_pct) {
                out.push(Flag::VendorShare {
                    ministry: ministry.clone(),
                    year,
                    vendor,
                    vendor_amount: saturate(share.amount),
                    ministry_amount: saturate(total.amount),
                    vendor_contracts: share.contracts as usize,
                });
            }
            true
        })?;
        if let Some(e) = err {
            return Err(e);
        }
    }
    Ok(out)
}

/// The treasury's key rotations, then the amendments upwards.
fn events(read: &dyn SummaryRead, state: &State) -> Result<Vec<Flag>, SummaryError> {
    let mut rotations = Vec::new();
    let mut amended = Vec::new();
    for t in [tag::ROTATION, tag::AMENDED_UP] {
        let mut err = None;
        read.scan(&[t], &mut |k, v| {
            let parsed = (|| {
                let height = Height(u64::from_be_bytes(k.get(1..9)?.try_into().ok()?));
                match Fact::from_bytes(v)? {
                    Fact::Rotation { entity, signer, tx } => Some(Flag::TreasuryRotatedKey {
                        entity,
                        signer,
                        tx,
                        height,
                    }),
                    Fact::AmendedUp {
                        contract,
                        department,
                        vendor,
                        from,
                        to,
                        tx,
                    } => Some(Flag::AmendedUpward {
                        vendor: state
                            .contract(&contract)
                            .map(|c| c.vendor.clone())
                            .or(Some(vendor)),
                        contract,
                        department,
                        from,
                        to,
                        tx,
                        height,
                    }),
                    _ => None,
                }
            })();
            match parsed {
                Some(f @ Flag::TreasuryRotatedKey { .. }) => rotations.push(f),
                Some(f) => amended.push(f),
                None => {
                    err = Some(bad("event", k));
                    return false;
                }
            }
            true
        })?;
        if let Some(e) = err {
            return Err(e);
        }
    }
    rotations.extend(amended);
    Ok(rotations)
}
