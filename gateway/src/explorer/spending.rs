//! Pages about the money: an entity (details, budget lines, departments,
//! contracts, its transaction history page by page), a contract (amount,
//! paid, remaining, payments, deliveries, amendments), and the red flags.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use ledger::state::Contract;
use ledger::store::TxLocation;
use ledger::tx::EntityKind;
use ledger::{ContractId, EntityId, Height, Op};
use maud::{html, Markup};
use serde::Deserialize;

use super::index::CommittedTx;
use super::layout::{fill, fill_text, signed, text, Ctx, Page, PageError};
use super::views::{self, field_list};
use super::{pictures, Explorer, Reader};

/// History entries on one page of an entity.
pub const ENTITY_HISTORY_PAGE: usize = 25;
/// Most contracts listed per role on an entity page.
pub const ENTITY_CONTRACTS_MAX: usize = 100;

type X = State<Arc<Explorer>>;

#[derive(Deserialize)]
pub(super) struct CursorQuery {
    cursor: Option<String>,
}

fn parse_cursor(ctx: &Ctx, c: &str) -> Result<TxLocation, PageError> {
    let (height, index) = wire::cursor::parse(c)
        .ok_or_else(|| PageError::BadRequest(fill(ctx.t.bad_cursor, &[text(c)])))?;
    Ok(TxLocation {
        height: Height(height),
        index,
    })
}

/// `GET /entities/{id}?cursor=HEIGHT.INDEX`.
pub async fn entity(
    State(x): X,
    reader: Reader,
    Path(id): Path<String>,
    query: Result<Query<CursorQuery>, QueryRejection>,
) -> Response {
    let ctx = x.ctx(&reader);
    let cursor = query.ok().and_then(|Query(q)| q.cursor);
    let page = render_entity(&x, &ctx, &id, cursor.as_deref());
    x.respond(&ctx, page)
}

fn render_entity(
    x: &Explorer,
    ctx: &Ctx,
    id: &str,
    cursor: Option<&str>,
) -> Result<Page, PageError> {
    let t = ctx.t;
    let s = &x.shared;
    let id = EntityId::new(id).map_err(|_| PageError::BadRequest(fill(t.bad_id, &[text(id)])))?;
    if s.state.read().expect("state lock").entity(&id).is_none() {
        return Err(PageError::NotFound(fill(t.no_entity, &[text(id.as_str())])));
    }
    let after = cursor.map(|c| parse_cursor(ctx, c)).transpose()?;
    // One more than a page, to know whether there is a next one.
    let mut history = s.store.history(&id, after, ENTITY_HISTORY_PAGE + 1)?;
    let next = (history.len() > ENTITY_HISTORY_PAGE).then(|| {
        history.truncate(ENTITY_HISTORY_PAGE);
        let last = history[ENTITY_HISTORY_PAGE - 1].location;
        wire::cursor::format(last.height.0, last.index)
    });
    // Each of the page's transactions alone, with its block's header.
    let txs = history
        .iter()
        .map(|entry| {
            let loc = entry.location;
            s.store.tx_with_header(loc.height, loc.index)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let state = s.state.read().expect("state lock");
    let e = state
        .entity(&id)
        .ok_or_else(|| PageError::NotFound(fill(t.no_entity, &[text(id.as_str())])))?;
    let mut fields = vec![
        (t.f_id, html! { code { (e.id) } }),
        (t.f_name, signed(&e.name)),
        (t.f_kind, text(views::kind(t, e.kind))),
    ];
    if let Some(p) = &e.parent {
        fields.push((t.f_parent, views::entity(ctx, &state, p)));
    }
    fields.push((t.f_status, text(views::status(t, e.status))));
    fields.push((t.f_keys, views::key_list(&e.keys)));
    fields.push((t.f_threshold, text(&e.threshold.to_string())));
    if let Some(p) = &e.pending {
        fields.push((
            t.f_pending_keys,
            html! {
                (fill(t.pending_keys_text, &[
                    text(&ctx.number(p.keys.len() as u64)),
                    text(&p.threshold.to_string()),
                    ctx.block_link(p.set_at),
                    text(&ctx.number(p.effective.0)),
                ]))
                br;
                (views::key_list(&p.keys))
            },
        ));
    }
    fields.push((t.f_nonce, text(&e.nonce.to_string())));

    let budgets: Vec<_> = state
        .budgets()
        .filter(|(owner, ..)| **owner == id)
        .collect();
    let departments: Vec<_> = state
        .entities()
        .filter(|d| d.parent.as_ref() == Some(&id))
        .collect();
    let awarded: Vec<&Contract> = state
        .contracts()
        .filter(|c| c.department == id)
        .take(ENTITY_CONTRACTS_MAX + 1)
        .collect();
    let won: Vec<&Contract> = state
        .contracts()
        .filter(|c| c.vendor == id)
        .take(ENTITY_CONTRACTS_MAX + 1)
        .collect();

    let year = pictures::latest_year(&s.store)?;
    let glance = match year {
        Some(y) => pictures::entity_pictures(ctx, &s.store, &state, &id, y)?,
        None => html! {},
    };
    let body = html! {
        h1 { (signed(&e.name)) }
        section {
            h2 { (t.details_heading) }
            (field_list(fields))
            p.note {
                a href=(format!("/v1/entities/{id}")) { (t.as_json) } " · "
                a href=(ctx.href(&format!("/entities/{id}/feed.atom"))) type="application/atom+xml" { (t.follow_feed) }
            }
        }
        @if let (Some(y), false) = (year, glance.0.is_empty()) {
            section {
                h2 { (fill(t.glance_heading, &[text(&y.to_string())])) }
                (glance)
            }
        }
        section {
            h2 { (t.budget_lines_heading) }
            @if budgets.is_empty() {
                p { (t.no_budget_lines) }
            } @else {
                div.scroll { table {
                    thead { tr {
                        th { (t.col_year) } th { (t.col_line) } th.num { (t.col_received) } th.num { (t.col_passed_on) }
                        th.num { (t.col_committed) } th.num { (t.col_paid) } th.num { (t.col_available) }
                        th { (t.col_proof) }
                    } }
                    tbody {
                        @for (_, year, line, f) in budgets.iter().rev() {
                            @let key = format!("line:{year}/{}/{}", line.as_str(), e.id.as_str());
                            tr {
                                td { (year) } td { code { (line.as_str()) } }
                                td.num { (ctx.amount(f.received)) } td.num { (ctx.amount(f.passed_on)) }
                                td.num { (ctx.amount(f.committed)) } td.num { (ctx.amount(f.paid)) }
                                td.num { @if let Some(a) = f.available() { (ctx.amount(a)) } }
                                td { a href=(format!("/v1/state-proof?key={key}")) download { (t.line_proof_link) } }
                            }
                        }
                    }
                } }
                @if e.kind == EntityKind::Vendor { p.note { (t.vendor_received_note) } }
                p.note { (t.line_proof_note) }
            }
        }
        @if !departments.is_empty() {
            section {
                h2 { (t.departments_heading) }
                ul { @for d in &departments { li { (ctx.entity_link(&d.id, Some(&d.name))) } } }
            }
        }
        @if e.kind == EntityKind::Department || !awarded.is_empty() {
            section { h2 { (t.contracts_awarded) } (contract_table(ctx, &state, &awarded, true)) }
        }
        @if e.kind == EntityKind::Vendor || !won.is_empty() {
            section { h2 { (t.contracts_won) } (contract_table(ctx, &state, &won, false)) }
        }
        section {
            h2 { (t.history_heading) }
            @if history.is_empty() {
                p { (t.no_history) }
            } @else {
                div.scroll { table {
                    thead { tr { th { (t.col_block) } th { (t.col_time) } th { (t.col_tx) } th { (t.col_summary) } } }
                    tbody {
                        @for (entry, found) in history.iter().zip(&txs) {
                            @let loc = entry.location;
                            @let tx = found.as_ref().map(|(_, tx)| tx);
                            tr {
                                td { (ctx.block_link(loc.height)) }
                                td { @if let Some((header, _)) = found { (ctx.time(header.time_ms)) } }
                                td { (ctx.tx_link(&entry.tx_hash)) }
                                td { @if let Some(tx) = tx { (views::describe(ctx, &state, &tx.body.signer, &tx.body.op)) } }
                            }
                        }
                    }
                } }
            }
            div.pager {
                span { @if cursor.is_some() { a href=(ctx.href(&format!("/entities/{id}"))) { (t.first_page) } } }
                span { @if let Some(n) = &next { a rel="next" href=(ctx.href(&format!("/entities/{id}?cursor={n}"))) { (t.next_page) } } }
            }
        }
    };
    Ok(Page::new(e.name.clone(), body))
}

fn contract_table(
    ctx: &Ctx,
    state: &ledger::State,
    contracts: &[&Contract],
    show_vendor: bool,
) -> Markup {
    let t = ctx.t;
    if contracts.is_empty() {
        return html! { p { (t.no_contracts) } };
    }
    html! {
        div.scroll { table {
            thead { tr {
                th { (t.col_contract) } th { (t.col_title) }
                th { @if show_vendor { (t.col_vendor) } @else { (t.f_department) } }
                th.num { (t.col_amount) } th.num { (t.col_paid) }
            } }
            tbody {
                @for c in contracts.iter().take(ENTITY_CONTRACTS_MAX) {
                    tr {
                        td { (ctx.contract_link(&c.id)) }
                        td { (c.title) }
                        td { (views::entity(ctx, state, if show_vendor { &c.vendor } else { &c.department })) }
                        td.num { (ctx.amount(c.amount)) }
                        td.num { (ctx.amount(c.paid)) }
                    }
                }
            }
        } }
        @if contracts.len() > ENTITY_CONTRACTS_MAX {
            p.note { (fill_text(t.only_first, &[&ENTITY_CONTRACTS_MAX.to_string()])) }
        }
    }
}

/// Most red flags a contract's page lists: the newest ones. A contract
/// with thousands of payments its vendor never acknowledged has a flag
/// for each; `/flags` lists them all.
pub const CONTRACT_FLAGS_MAX: usize = 20;

/// Most transactions of one contract a page reads: the newest ones.
pub const CONTRACT_TXS_MAX: usize = 500;

/// A contract's transactions, oldest first, from the summaries: the newest
/// [`CONTRACT_TXS_MAX`], and the height they start at if older ones are
/// left out.
fn contract_txs(
    store: &ledger::store::Store,
    id: &ContractId,
) -> Result<(Vec<CommittedTx>, Option<Height>), PageError> {
    let all = ledger::summary::read::contract_txs(store, id)?;
    let skip = all.len().saturating_sub(CONTRACT_TXS_MAX);
    let shown_from = (skip > 0).then(|| all[skip].0);
    let mut out = Vec::new();
    for (h, i, hash) in &all[skip..] {
        let (header, tx) = store
            .tx_with_header(*h, *i)?
            .filter(|(_, tx)| tx.hash() == *hash)
            .ok_or_else(|| {
                PageError::Internal(format!("transaction {hash} is not in block {h}"))
            })?;
        out.push(CommittedTx {
            height: *h,
            index: *i,
            time_ms: header.time_ms,
            hash: *hash,
            signer: tx.body.signer.clone(),
            op: tx.body.op.clone(),
        });
    }
    Ok((out, shown_from))
}

/// `GET /contracts/{id}`.
pub async fn contract(State(x): X, reader: Reader, Path(id): Path<String>) -> Response {
    let ctx = x.ctx(&reader);
    let page = render_contract(&x, &ctx, &id);
    x.respond(&ctx, page)
}

fn render_contract(x: &Explorer, ctx: &Ctx, id: &str) -> Result<Page, PageError> {
    let t = ctx.t;
    let s = &x.shared;
    let id = ContractId::new(id).map_err(|_| PageError::BadRequest(fill(t.bad_id, &[text(id)])))?;
    let flags = x.flags()?;
    let (txs, shown_from) = contract_txs(&s.store, &id)?;
    let state = s.state.read().expect("state lock");
    let c = state
        .contract(&id)
        .ok_or_else(|| PageError::NotFound(fill(t.no_contract, &[text(id.as_str())])))?;
    let deliveries = state.deliveries(&id);
    let remaining = c.amount.checked_sub(c.paid).unwrap_or_default();
    let fields = vec![
        (t.f_title, text(&c.title)),
        (t.f_department, views::entity(ctx, &state, &c.department)),
        (t.f_vendor, views::entity(ctx, &state, &c.vendor)),
        (t.f_year, text(&c.year.to_string())),
        (t.f_line, html! { code { (c.line.as_str()) } }),
        (t.f_amount_now, ctx.amount(c.amount)),
        (
            t.f_paid,
            html! { (ctx.amount(c.paid)) " (" (ctx.percent(c.paid.0, c.amount.0)) ")" },
        ),
        (t.f_remaining, ctx.amount(remaining)),
        (
            t.f_awarded_in,
            match txs.iter().find(|tx| matches!(tx.op, Op::Award { .. })) {
                Some(award) => {
                    html! { (ctx.block_link(c.awarded_at)) " · " (ctx.tx_link(&award.hash)) }
                }
                None => ctx.block_link(c.awarded_at),
            },
        ),
        (
            t.f_document_hash,
            match &c.document_hash {
                Some(h) => html! { span.hash { (h.to_hex()) } },
                None => text("—"),
            },
        ),
    ];
    // The amount before each amendment, from the award on.
    let mut before = None;
    let mut amendments = Vec::new();
    let mut payments = Vec::new();
    for tx in &txs {
        match &tx.op {
            Op::Award { amount, .. } => before = Some(*amount),
            Op::AmendContract { amount, reason, .. } => {
                amendments.push((tx, before, *amount, reason));
                before = Some(*amount);
            }
            Op::Pay {
                amount, reference, ..
            } => payments.push((tx, *amount, reference)),
            _ => {}
        }
    }
    let related: Vec<_> = flags.iter().filter(|f| f.concerns_contract(&id)).collect();
    let related_count = related.len();
    let related = super::flags::newest(related.into_iter(), CONTRACT_FLAGS_MAX);
    let body = html! {
        h1 { (fill_text(t.contract_title, &[id.as_str()])) }
        section {
            (field_list(fields))
            p.note {
                a href=(format!("/v1/contracts/{id}")) { (t.as_json) } " · "
                a href=(ctx.href(&format!("/contracts/{id}/feed.atom"))) type="application/atom+xml" { (t.follow_feed) }
            }
        }
        @if !related.is_empty() {
            section {
                h2 { (t.related_flags) }
                (views::flag_list(ctx, &state, &x.params, related.into_iter()))
                @if related_count > CONTRACT_FLAGS_MAX {
                    p.note { (fill(t.related_flags_more, &[
                        text(&ctx.number(CONTRACT_FLAGS_MAX as u64)),
                        text(&ctx.number(related_count as u64)),
                        html! { a href=(ctx.href("/flags")) { (t.flags_title) } },
                    ])) }
                }
            }
        }
        @if let Some(first) = shown_from {
            p.note { (fill(t.history_partial, &[ctx.block_link(first), views::entity(ctx, &state, &c.vendor)])) }
        }
        section {
            h2 { (t.payments_section) }
            @if payments.is_empty() { p { (t.none) } } @else {
                div.scroll { table {
                    thead { tr { th { (t.col_time) } th { (t.col_block) } th.num { (t.col_amount) } th { (t.col_reference) } th { (t.col_tx) } } }
                    tbody { @for (tx, amount, reference) in &payments {
                        tr {
                            td { (ctx.time(tx.time_ms)) } td { (ctx.block_link(tx.height)) }
                            td.num { (ctx.amount(*amount)) } td { (reference) } td { (ctx.tx_link(&tx.hash)) }
                        }
                    } }
                } }
            }
        }
        section {
            h2 { (t.deliveries_section) }
            @if deliveries.is_empty() { p { (t.none) } } @else {
                div.scroll { table {
                    thead { tr { th { (t.col_block) } th { (t.col_milestone) } th { (t.col_note) } } }
                    tbody { @for d in &deliveries {
                        tr { td { (ctx.block_link(d.height)) } td { (d.milestone) } td { (d.note) } }
                    } }
                } }
            }
        }
        section {
            h2 { (t.amendments_section) }
            @if amendments.is_empty() { p { (t.none) } } @else {
                div.scroll { table {
                    thead { tr { th { (t.col_block) } th.num { (t.col_from) } th.num { (t.col_to) } th { (t.col_reason) } th { (t.col_tx) } } }
                    tbody { @for (tx, from, to, reason) in &amendments {
                        tr {
                            td { (ctx.block_link(tx.height)) }
                            td.num { @if let Some(f) = from { (ctx.amount(*f)) } @else { "—" } }
                            td.num { (ctx.amount(*to)) }
                            td { (reason) }
                            td { (ctx.tx_link(&tx.hash)) }
                        }
                    } }
                } }
            }
        }
    };
    Ok(Page::new(fill_text(t.contract_title, &[id.as_str()]), body))
}
