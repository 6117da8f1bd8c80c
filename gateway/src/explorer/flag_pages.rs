//! The red flags' pages: all of them (`/flags`), each on its own page under
//! its stable id (`/flags/{id}`), and all of them as CSV (`/flags.csv`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use ledger::Amount;
use maud::html;
use serde::Deserialize;

use super::flags::Flag;
use super::layout::{fill, text, Ctx, Page, PageError};
use super::{views, Explorer, Reader, X};
use crate::export::neutralize_cell;

/// The columns of `/flags.csv`.
pub const FLAG_CSV_COLUMNS: [&str; 12] = [
    "id",
    "kind",
    "height",
    "ministry",
    "department",
    "vendor",
    "entity",
    "contract",
    "amount",
    "amount_before_or_total",
    "tx",
    "page",
];

/// Flags on one page of `/flags`.
pub const FLAGS_PAGE: usize = 100;

/// `?page=N` of `/flags`, from 1.
#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<usize>,
}

/// `GET /flags?page=N`: the red flags, newest evidence first, a page at a
/// time, with the thresholds.
pub async fn list(
    State(x): X,
    reader: Reader,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let ctx = x.ctx(&reader);
    let number = query.ok().and_then(|Query(q)| q.page).unwrap_or(1).max(1);
    let page = render_list(&x, &ctx, number);
    x.respond(&ctx, page)
}

fn rules(x: &Explorer, ctx: &Ctx) -> maud::Markup {
    let p = &x.params;
    fill(
        ctx.t.flags_rules,
        &[
            text(&ctx.number(p.delivery_wait_blocks)),
            ctx.amount(p.award_threshold),
            text(&p.under_threshold_pct.to_string()),
            text(&p.under_threshold_repeat_min.to_string()),
            text(&p.vendor_share_pct.to_string()),
            text(&p.vendor_share_min_contracts.to_string()),
        ],
    )
}

fn render_list(x: &Explorer, ctx: &Ctx, number: usize) -> Result<Page, PageError> {
    let t = ctx.t;
    let flags = x.flags()?;
    let state = x.shared.state.read().expect("state lock");
    let mut all: Vec<&Flag> = flags.iter().collect();
    all.sort_by_key(|f| std::cmp::Reverse(f.height()));
    let skip = (number - 1).saturating_mul(FLAGS_PAGE);
    if skip > 0 && skip >= all.len() {
        return Err(PageError::NotFound(fill(
            t.no_such_page,
            &[text(&number.to_string())],
        )));
    }
    let more = all.len() > skip + FLAGS_PAGE;
    let shown = all.into_iter().skip(skip).take(FLAGS_PAGE);
    let csv = html! { a href="/flags.csv" download="flags.csv" { (t.flag_csv) } };
    let body = html! {
        h1 { (t.flags_title) }
        section {
            p { (t.flags_intro) }
            p.note { (rules(x, ctx)) }
            p.note { (fill(t.flags_window, &[ctx.block_link(flags.height), csv])) }
            p.note { a href=(ctx.href("/flags/feed.atom")) type="application/atom+xml" { (t.follow_feed) } }
            (views::flag_list(ctx, &state, &x.params, shown))
            div.pager {
                span { @if number > 1 { a href=(ctx.href("/flags")) { (t.first_page) } } }
                span { @if more { a rel="next" href=(ctx.href(&format!("/flags?page={}", number + 1))) { (t.next_page) } } }
            }
        }
    };
    Ok(Page::new(t.flags_title, body))
}

/// `GET /flags/{id}`: one flag, under its stable id.
pub async fn one(State(x): X, reader: Reader, Path(id): Path<String>) -> Response {
    let ctx = x.ctx(&reader);
    let page = render_one(&x, &ctx, &id);
    x.respond(&ctx, page)
}

fn render_one(x: &Explorer, ctx: &Ctx, id: &str) -> Result<Page, PageError> {
    let t = ctx.t;
    let flags = x.flags()?;
    let state = x.shared.state.read().expect("state lock");
    let Some(f) = flags.iter().find(|f| f.id() == id) else {
        return Err(PageError::NotFound(fill(
            t.flag_gone,
            &[html! { code { (id) } }, ctx.block_link(flags.height)],
        )));
    };
    let body = html! {
        h1 { (t.flags_title) }
        section {
            ul.flags { (views::flag(ctx, &state, &x.params, f)) }
            p.note { (t.flag_id) ": " code { (f.id()) } }
            p.note { (rules(x, ctx)) }
        }
    };
    Ok(Page::new(t.flags_title, body))
}

/// `GET /flags.csv`: every flag standing at the last committed height, one
/// row each, with cells a spreadsheet cannot take for formulas.
pub async fn csv(State(x): X, reader: Reader) -> Response {
    let ctx = x.ctx(&reader);
    let flags = match x.flags() {
        Ok(f) => f,
        Err(e) => return x.respond(&ctx, Err(e)),
    };
    let height = flags.height;
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![FLAG_CSV_COLUMNS.map(String::from).to_vec()];
    rows.extend(flags.iter().map(row));
    for r in rows {
        let cells = r.iter().map(|c| neutralize_cell(c).into_owned());
        if let Err(e) = out.write_record(cells) {
            return x.respond(&ctx, Err(PageError::Internal(e.to_string())));
        }
    }
    let body = out.into_inner().unwrap_or_default();
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"flags.csv\"",
            ),
        ],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&height.0.to_string()) {
        response.headers_mut().insert("x-minhbach-height", v);
    }
    response
}

/// One flag as a CSV row, in [`FLAG_CSV_COLUMNS`] order.
pub fn row(f: &Flag) -> Vec<String> {
    let s = |x: &dyn std::fmt::Display| x.to_string();
    let amount = |a: &Amount| a.0.to_string();
    let none = String::new;
    let height = f.height().map(|h| h.0.to_string()).unwrap_or_default();
    let (ministry, department, vendor, entity, contract, a, b, tx) = match f {
        Flag::PaidWithoutDelivery {
            contract,
            department,
            vendor,
            first_payment,
            paid,
            ..
        } => (
            none(),
            s(department),
            s(vendor),
            none(),
            s(contract),
            amount(paid),
            none(),
            first_payment.to_hex(),
        ),
        Flag::UnderThreshold {
            department,
            vendor,
            awards,
        } => (
            none(),
            s(department),
            s(vendor),
            none(),
            awards
                .iter()
                .map(|a| a.contract.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            awards
                .iter()
                .map(|a| a.amount.0 as u128)
                .sum::<u128>()
                .to_string(),
            none(),
            awards.last().map(|a| a.tx.to_hex()).unwrap_or_default(),
        ),
        Flag::VendorShare {
            ministry,
            vendor,
            vendor_amount,
            ministry_amount,
            ..
        } => (
            s(ministry),
            none(),
            s(vendor),
            none(),
            none(),
            amount(vendor_amount),
            amount(ministry_amount),
            none(),
        ),
        Flag::TreasuryRotatedKey { entity, tx, .. } => (
            none(),
            none(),
            none(),
            s(entity),
            none(),
            none(),
            none(),
            tx.to_hex(),
        ),
        Flag::AmendedUpward {
            contract,
            department,
            vendor,
            from,
            to,
            tx,
            ..
        } => (
            none(),
            s(department),
            vendor.as_ref().map(|v| v.to_string()).unwrap_or_default(),
            none(),
            s(contract),
            amount(to),
            amount(from),
            tx.to_hex(),
        ),
        Flag::UnacknowledgedPayment {
            contract,
            payment,
            department,
            vendor,
            amount: paid,
            tx,
            ..
        } => (
            none(),
            s(department),
            s(vendor),
            none(),
            s(contract),
            amount(paid),
            s(payment),
            tx.to_hex(),
        ),
    };
    vec![
        f.id(),
        f.kind().into(),
        height,
        ministry,
        department,
        vendor,
        entity,
        contract,
        a,
        b,
        tx,
        format!("/flags/{}", f.id()),
    ]
}
