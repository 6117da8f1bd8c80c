//! The home page: a journalist's first questions. How much each ministry
//! received, passed on, committed and paid this fiscal year and the share
//! executed, whether the year is closed (its figures final), and the closed
//! years; the latest payments; the top vendors; the red flags; one search
//! box; when the data was last updated, and what awaits signatures; and how
//! to verify it offline.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::Response;
use ledger::tx::EntityKind;
use ledger::{Amount, EntityId, Height, Op, State as LedgerState, Year};
use maud::{html, Markup};

use super::flags::Flag;
use super::index::{self, CommittedTx};
use super::layout::{fill, fill_text, search_form, text, Ctx, Page, PageError};
use super::years::{final_notice, year_link};
use super::{pictures, views, Explorer, Reader};

/// Payments listed on the home page.
pub const LATEST_PAYMENTS: usize = 10;
/// Vendors listed on the home page.
pub const TOP_VENDORS: usize = 10;
/// Flags shown on the home page (all of them on `/flags`).
pub const HOME_FLAGS: usize = 5;

/// One ministry's figures for the year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinistryRow {
    /// The ministry.
    pub id: Option<EntityId>,
    /// Its display name.
    pub name: String,
    /// What it received (net of what it returned to the treasury).
    pub received: u64,
    /// What it passed on to its departments (net of their returns).
    pub passed_on: u64,
    /// What its departments committed to contracts.
    pub committed: u64,
    /// What its departments paid.
    pub paid: u64,
}

impl MinistryRow {
    fn add(&mut self, other: &MinistryRow) {
        self.received = self.received.saturating_add(other.received);
        self.passed_on = self.passed_on.saturating_add(other.passed_on);
        self.committed = self.committed.saturating_add(other.committed);
        self.paid = self.paid.saturating_add(other.paid);
    }
}

/// The fiscal year the home page shows: the latest one with appropriations.
pub fn fiscal_year(state: &LedgerState) -> Option<Year> {
    let treasury = state.treasury()?;
    state
        .budgets()
        .filter(|(owner, _, _, f)| *owner == treasury && f.received > Amount::ZERO)
        .map(|(_, year, _, _)| year)
        .max()
}

/// Each ministry's figures for `year`: its own received and passed on, and
/// its departments' committed and paid, summed over budget lines.
pub fn ministry_rows(state: &LedgerState, year: Year) -> Vec<MinistryRow> {
    let mut rows: BTreeMap<&EntityId, MinistryRow> = state
        .entities()
        .filter(|e| e.kind == EntityKind::Ministry)
        .map(|e| {
            let row = MinistryRow {
                id: Some(e.id.clone()),
                name: e.name.clone(),
                ..MinistryRow::default()
            };
            (&e.id, row)
        })
        .collect();
    for (owner, y, _, f) in state.budgets() {
        if y != year {
            continue;
        }
        let Some(e) = state.entity(owner) else {
            continue;
        };
        match (e.kind, &e.parent) {
            (EntityKind::Ministry, _) => {
                if let Some(row) = rows.get_mut(owner) {
                    row.add(&MinistryRow {
                        received: f.received.0,
                        passed_on: f.passed_on.0,
                        committed: f.committed.0,
                        paid: f.paid.0,
                        ..MinistryRow::default()
                    });
                }
            }
            (EntityKind::Department, Some(parent)) => {
                if let Some(row) = rows.get_mut(parent) {
                    row.add(&MinistryRow {
                        committed: f.committed.0,
                        paid: f.paid.0,
                        ..MinistryRow::default()
                    });
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<MinistryRow> = rows.into_values().collect();
    out.sort_by(|a, b| b.received.cmp(&a.received).then(a.id.cmp(&b.id)));
    out
}

/// The vendors paid most in `year`: (vendor, amount received, contracts).
pub fn top_vendors(state: &LedgerState, year: Year) -> Vec<(EntityId, u64, usize)> {
    let mut paid: BTreeMap<&EntityId, u64> = BTreeMap::new();
    for (owner, y, _, f) in state.budgets() {
        let is_vendor = state
            .entity(owner)
            .is_some_and(|e| e.kind == EntityKind::Vendor);
        if y == year && is_vendor && f.received > Amount::ZERO {
            let total = paid.entry(owner).or_default();
            *total = total.saturating_add(f.received.0);
        }
    }
    let mut contracts: BTreeMap<&EntityId, usize> = BTreeMap::new();
    for c in state.contracts().filter(|c| c.year == year) {
        *contracts.entry(&c.vendor).or_default() += 1;
    }
    let mut out: Vec<(EntityId, u64, usize)> = paid
        .into_iter()
        .map(|(v, a)| (v.clone(), a, contracts.get(v).copied().unwrap_or(0)))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(TOP_VENDORS);
    out
}

/// `GET /`.
///
/// The page sums the whole state (budgets, vendors, the money's flow), a
/// cost that grows with the chain, so it is rendered once per height for
/// each way of asking for it ([`Ctx::key`]) and kept. A reader who comes
/// after a new block gets the page of the block before at once, while one
/// task renders the new height's; only the first reader of a key waits.
pub async fn home(State(x): State<Arc<Explorer>>, reader: Reader) -> Response {
    let ctx = x.ctx(&reader);
    let tip = x.tip();
    let key = ctx.key();
    match x.home.look_up(tip, &key) {
        Kept::Current(page) => x.respond(&ctx, Ok(page)),
        Kept::Stale { page, refresh } => {
            if refresh {
                let (x, ctx) = (x.clone(), ctx.clone());
                tokio::task::spawn_blocking(move || {
                    // Whatever happens to the render, the key is freed for
                    // the next reader to render again.
                    let render = std::panic::AssertUnwindSafe(|| render(&x, &ctx));
                    let page = std::panic::catch_unwind(render).ok().and_then(Result::ok);
                    x.home.keep(tip, ctx.key(), page);
                });
            }
            x.respond(&ctx, Ok(page))
        }
        Kept::None => {
            let page = render(&x, &ctx);
            if let Ok(page) = &page {
                x.home.keep(tip, key, Some(page.clone()));
            }
            x.respond(&ctx, page)
        }
    }
}

/// Most ways of asking for the home page kept at once; others are rendered
/// for each request.
const HOME_KEYS_MAX: usize = 16;

type HomeKey = (&'static str, bool, Option<String>);

/// The home pages rendered, by [`Ctx::key`], each with its height.
#[derive(Default)]
pub struct HomeCache(Mutex<HomePages>);

#[derive(Default)]
struct HomePages {
    pages: HashMap<HomeKey, (Height, Page)>,
    /// Keys whose page for a newer height is being rendered.
    rendering: HashSet<HomeKey>,
}

/// What [`HomeCache::look_up`] found.
enum Kept {
    /// The page of the current height.
    Current(Page),
    /// The page of an earlier height; `refresh` if the caller is to render
    /// the current one (no one else is).
    Stale { page: Page, refresh: bool },
    /// Nothing.
    None,
}

impl HomeCache {
    fn look_up(&self, tip: Height, key: &HomeKey) -> Kept {
        let mut kept = self.0.lock().expect("home cache lock");
        let Some((at, page)) = kept.pages.get(key) else {
            return Kept::None;
        };
        if *at == tip {
            return Kept::Current(page.clone());
        }
        let page = page.clone();
        let refresh = kept.rendering.insert(key.clone());
        Kept::Stale { page, refresh }
    }

    /// Keeps `page`, rendered at `tip`, unless a newer one is kept; `None`
    /// (the render failed) only ends the rendering.
    fn keep(&self, tip: Height, key: HomeKey, page: Option<Page>) {
        let mut kept = self.0.lock().expect("home cache lock");
        kept.rendering.remove(&key);
        let Some(page) = page else { return };
        let full = kept.pages.len() >= HOME_KEYS_MAX;
        match kept.pages.get(&key) {
            Some((at, _)) if *at >= tip => {}
            None if full => {}
            _ => {
                kept.pages.insert(key, (tip, page));
            }
        }
    }
}

fn render(x: &Explorer, ctx: &Ctx) -> Result<Page, PageError> {
    let s = &x.shared;
    let flags = x.flags()?;
    let payments = index::latest_payments(&s.store, x.tip(), LATEST_PAYMENTS)?;
    let tip = x.tip();
    let tip_time = match tip.0 {
        0 => None,
        _ => s.store.header(tip)?.map(|h| h.time_ms),
    };
    let base = s.store.base()?;
    let state = s.state.read().expect("state lock");
    let awaiting = s.awaiting.lock().expect("awaiting lock").list(&state).len();
    let year = pictures::latest_year(&s.store)?;
    let flow = match year {
        Some(y) => pictures::budget_flow(ctx, &s.store, &state, y)?,
        None => html! {},
    };
    let t = ctx.t;
    let body = html! {
        h1 { (t.home_title) }
        section {
            p { (t.home_intro) }
            (search_form(ctx, ""))
            p.note {
                @match tip_time {
                    Some(ms) => (fill(t.updated_at, &[ctx.block_link(tip), ctx.time(ms)])),
                    None => (t.no_blocks_yet),
                }
            }
            @if base.0 > 0 {
                p.note { (fill(t.holds_from, &[ctx.block_link(base)])) }
            }
            @if awaiting > 0 {
                p { a href=(ctx.href("/awaiting")) { (fill_text(t.awaiting_home, &[&ctx.number(awaiting as u64)])) } }
            }
        }
        (budget_section(ctx, &state))
        @if let Some(year) = year {
            section {
                h2 { (fill(t.flow_heading, &[text(&year.to_string())])) }
                p.note { (t.flow_note) }
                (flow)
            }
        }
        (flags_section(ctx, x, &state, &flags))
        (payments_section(ctx, &state, &payments))
        (vendors_section(ctx, &state))
        (verify_section(ctx))
    };
    Ok(Page {
        header_search: false,
        ..Page::new(t.home_title, body)
    })
}

fn budget_section(ctx: &Ctx, state: &LedgerState) -> Markup {
    let t = ctx.t;
    let Some(year) = fiscal_year(state) else {
        return html! {
            section {
                h2 { (fill(t.budget_heading, &[text("—")])) }
                p { (t.no_appropriations) }
                (closed_years(ctx, state))
            }
        };
    };
    let rows = ministry_rows(state, year);
    let mut total = MinistryRow::default();
    for r in &rows {
        total.add(r);
    }
    let figures = |r: &MinistryRow| {
        html! {
            td.num { (ctx.amount(Amount(r.received))) }
            td.num { (ctx.amount(Amount(r.passed_on))) }
            td.num { (ctx.amount(Amount(r.committed))) }
            td.num { (ctx.amount(Amount(r.paid))) }
            td.num { span.amt { (ctx.percent(r.paid, r.received)) } }
        }
    };
    html! {
        section {
            h2 { (fill(t.budget_heading, &[text(&year.to_string())])) }
            @if let Some(at) = state.year_closed(year) {
                (final_notice(ctx, at))
            }
            div.scroll { table {
                thead { tr {
                    th { (t.col_ministry) } th.num { (t.col_received) } th.num { (t.col_passed_on) }
                    th.num { (t.col_committed) } th.num { (t.col_paid) } th.num { (t.col_executed) }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { @if let Some(id) = &r.id { (ctx.entity_link(id, Some(&r.name))) } }
                            (figures(r))
                        }
                    }
                }
                tfoot { tr { td { (t.total) } (figures(&total)) } }
            } }
            p.note { (t.budget_note) }
            p { a href=(ctx.href(&format!("/years/{year}"))) { (fill_text(t.year_link, &[&year.to_string()])) } }
            (closed_years(ctx, state))
        }
    }
}

/// The years the treasury has closed, each linking its page; nothing if
/// none is.
fn closed_years(ctx: &Ctx, state: &LedgerState) -> Markup {
    let closed = state.closed_years();
    if closed.is_empty() {
        return html! {};
    }
    let links = html! {
        @for (i, (year, _)) in closed.iter().enumerate() {
            @if i > 0 { ", " }
            (year_link(ctx, *year))
        }
    };
    html! { p.note { (fill(ctx.t.closed_years, &[links])) } }
}

fn flags_section(ctx: &Ctx, x: &Explorer, state: &LedgerState, flags: &[Flag]) -> Markup {
    let t = ctx.t;
    // The newest flag of each kind, so that one frequent kind does not
    // hide the others; `/flags` lists them all.
    let mut shown: Vec<&Flag> = Vec::new();
    for f in flags.iter() {
        let same_kind = shown
            .iter()
            .position(|s| std::mem::discriminant(*s) == std::mem::discriminant(f));
        match same_kind {
            None => shown.push(f),
            Some(i) if f.height() > shown[i].height() => shown[i] = f,
            Some(_) => {}
        }
    }
    html! {
        section {
            h2 { (t.flags_title) }
            p.note { (t.flags_intro) }
            (views::flag_list(ctx, state, &x.params, shown.into_iter().take(HOME_FLAGS)))
            @if !flags.is_empty() {
                p { a href=(ctx.href("/flags")) { (fill(t.flags_all, &[text(&ctx.number(flags.len() as u64))])) } }
            }
        }
    }
}

fn payments_section(ctx: &Ctx, state: &LedgerState, payments: &[CommittedTx]) -> Markup {
    let t = ctx.t;
    html! {
        section {
            h2 { (t.payments_heading) }
            @if payments.is_empty() {
                p { (t.no_payments) }
            } @else {
                div.scroll { table {
                    thead { tr {
                        th { (t.col_time) } th { (t.col_block) } th { (t.col_payer) } th { (t.col_vendor) }
                        th.num { (t.col_amount) } th { (t.col_contract) }
                    } }
                    tbody {
                        @for p in payments {
                            @if let Op::Pay { contract, amount, .. } = &p.op {
                                @let c = state.contract(contract);
                                tr {
                                    td { a href=(ctx.href(&format!("/txs/{}", p.hash))) { (ctx.time(p.time_ms)) } }
                                    td { (ctx.block_link(p.height)) }
                                    td { (views::entity(ctx, state, &p.signer)) }
                                    td { @if let Some(c) = c { (views::entity(ctx, state, &c.vendor)) } }
                                    td.num { (ctx.amount(*amount)) }
                                    td {
                                        (ctx.contract_link(contract))
                                        @if let Some(c) = c { br; span.muted { (super::layout::signed(&c.title)) } }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn vendors_section(ctx: &Ctx, state: &LedgerState) -> Markup {
    let t = ctx.t;
    let Some(year) = fiscal_year(state) else {
        return html! {};
    };
    let vendors = top_vendors(state, year);
    html! {
        section {
            h2 { (fill(t.vendors_heading, &[text(&year.to_string())])) }
            @if vendors.is_empty() {
                p { (t.no_payments) }
            } @else {
                div.scroll { table {
                    thead { tr { th.num { (t.col_rank) } th { (t.col_vendor) } th.num { (t.col_received) } th.num { (t.col_contracts) } } }
                    tbody {
                        @for (i, (v, amount, n)) in vendors.iter().enumerate() {
                            tr {
                                td.num { (i + 1) }
                                td { (views::entity(ctx, state, v)) }
                                td.num { (ctx.amount(Amount(*amount))) }
                                td.num { (ctx.number(*n as u64)) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn verify_section(ctx: &Ctx) -> Markup {
    let t = ctx.t;
    html! {
        section {
            h2 { (t.verify_heading) }
            p { (t.verify_intro) }
            pre { code {
                "minhbach proof tx <HASH> --out proof.json\n"
                "minhbach verify proof proof.json --genesis genesis.json"
            } }
            p { a href="/genesis.json" download="genesis.json" { (t.verify_genesis) } }
            p.note { (t.verify_outcome) }
        }
    }
}
