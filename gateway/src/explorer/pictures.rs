//! The pages' pictures, drawn by [`super::charts`] from the ledger's
//! summaries ([`ledger::summary::read`]), never from blocks: the money flow
//! of a fiscal year (the whole budget on the home page, one ministry's or
//! one department's part on theirs), a budget holder's execution by month,
//! and who paid a vendor by month.

use ledger::store::Store;
use ledger::summary::read::{self, FlowSum};
use ledger::tx::EntityKind;
use ledger::{EntityId, State, Year};
use maud::{html, Markup};

use super::charts::{self, Flow, Frame, MonthFigures, Node, Payment};
use super::layout::{Ctx, PageError};

/// Nodes per column a flow diagram names; the rest are grouped as others.
pub const FLOW_KEEP: usize = 8;
/// Departments a vendor's chart names; the rest are grouped as others.
pub const VENDOR_KEEP: usize = 6;

/// The fiscal year pictures show by default: the latest any money flowed
/// in.
pub fn latest_year(store: &Store) -> Result<Option<Year>, PageError> {
    Ok(read::years(store)?.first().copied())
}

fn node(ctx: &Ctx, state: &State, id: &EntityId) -> Node {
    let label = state.entity(id).map_or(id.as_str(), |e| e.name.as_str());
    Node::new(id.as_str(), label).with_href(ctx.href(&format!("/entities/{id}")))
}

fn flow(ctx: &Ctx, state: &State, f: &FlowSum) -> Option<Flow> {
    let amount = u128::try_from(f.amount).ok().filter(|a| *a > 0)?;
    Some(Flow {
        from: node(ctx, state, &f.from),
        to: node(ctx, state, &f.to),
        amount,
    })
}

fn kind(state: &State, id: &EntityId) -> Option<EntityKind> {
    state.entity(id).map(|e| e.kind)
}

/// The whole budget's flow in `year`: treasury → ministries → departments →
/// vendors.
pub fn budget_flow(
    ctx: &Ctx,
    store: &Store,
    state: &State,
    year: Year,
) -> Result<Markup, PageError> {
    let mut stages: [Vec<Flow>; 3] = Default::default();
    for f in read::flows(store, year, None)? {
        let stage = match (kind(state, &f.from), kind(state, &f.to)) {
            (Some(EntityKind::Treasury), Some(EntityKind::Ministry)) => 0,
            (Some(EntityKind::Ministry), Some(EntityKind::Department)) => 1,
            (Some(EntityKind::Department), Some(EntityKind::Vendor)) => 2,
            _ => continue,
        };
        stages[stage].extend(flow(ctx, state, &f));
    }
    let subject = year.to_string();
    let frame = Frame {
        lang: ctx.lang,
        id: "flow",
        subject: &subject,
    };
    Ok(charts::money_flow(&frame, &trimmed(stages), FLOW_KEEP))
}

/// Drops empty stages at the end, so a year with no payments yet still
/// draws what it has.
fn trimmed<const N: usize>(stages: [Vec<Flow>; N]) -> Vec<Vec<Flow>> {
    let mut v: Vec<Vec<Flow>> = stages.into_iter().collect();
    while v.last().is_some_and(Vec::is_empty) && v.len() > 1 {
        v.pop();
    }
    v
}

/// One ministry's or department's pictures for `year`: its part of the
/// money flow and its execution by month. A vendor's: who paid it, by
/// month. Nothing for other kinds.
pub fn entity_pictures(
    ctx: &Ctx,
    store: &Store,
    state: &State,
    id: &EntityId,
    year: Year,
) -> Result<Markup, PageError> {
    let Some(e) = state.entity(id) else {
        return Ok(html! {});
    };
    let subject = format!("{}, {year}", e.name);
    let frame = |name| Frame {
        lang: ctx.lang,
        id: name,
        subject: &subject,
    };
    let from = |who: &EntityId| read::flows(store, year, Some(who));
    let flows = |list: Vec<FlowSum>| -> Vec<Flow> {
        list.iter().filter_map(|f| flow(ctx, state, f)).collect()
    };
    match e.kind {
        EntityKind::Ministry => {
            let into: Vec<FlowSum> = match state.treasury() {
                Some(t) => from(t)?.into_iter().filter(|f| f.to == *id).collect(),
                None => Vec::new(),
            };
            let down = from(id)?;
            let mut paid = Vec::new();
            for d in &down {
                paid.extend(from(&d.to)?);
            }
            let stages = [flows(into), flows(down), flows(paid)];
            let months = months(store, id, year)?;
            Ok(html! {
                (charts::money_flow(&frame("flow"), &trimmed(stages), FLOW_KEEP))
                (charts::execution(&frame("execution"), &months, None))
            })
        }
        EntityKind::Department => {
            let into: Vec<FlowSum> = match &e.parent {
                Some(p) => from(p)?.into_iter().filter(|f| f.to == *id).collect(),
                None => Vec::new(),
            };
            let stages = [flows(into), flows(from(id)?)];
            let months = months(store, id, year)?;
            Ok(html! {
                (charts::money_flow(&frame("flow"), &trimmed(stages), FLOW_KEEP))
                (charts::execution(&frame("execution"), &months, None))
            })
        }
        EntityKind::Vendor => {
            let payments: Vec<Payment> = read::vendor_income(store, id, year)?
                .iter()
                .filter_map(|(dept, month, amount)| {
                    Some(Payment {
                        department: node(ctx, state, dept),
                        month: usize::from(*month),
                        amount: u128::try_from(*amount).ok()?,
                    })
                })
                .collect();
            Ok(charts::vendor_income(
                &frame("income"),
                &payments,
                VENDOR_KEEP,
            ))
        }
        _ => Ok(html! {}),
    }
}

/// An entity's figures by month, as the chart takes them.
fn months(store: &Store, id: &EntityId, year: Year) -> Result<[MonthFigures; 12], PageError> {
    let m = read::months(store, id, year)?;
    Ok(m.map(|f| MonthFigures {
        received: f.received,
        committed: f.committed,
        paid: f.paid,
    }))
}
