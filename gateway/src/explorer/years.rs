//! A fiscal year's page: every ministry's and department's figures on the
//! year, each ministry followed by its departments, and whether the
//! treasury has closed it: once closed, the figures are final and what was
//! not spent has lapsed.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use ledger::{Height, Year};
use maud::{html, Markup};

use super::layout::{fill, fill_text, text, Ctx, Page, PageError};
use super::{views, Explorer, Reader};
use crate::approvals::{year_rows, YearRow};

type X = State<Arc<Explorer>>;

/// The notice of a closed year: final, closed at block `at`.
pub fn final_notice(ctx: &Ctx, at: Height) -> Markup {
    html! { p.final { (fill(ctx.t.year_final, &[ctx.block_link(at)])) } }
}

/// A link to a year's page, its text the year.
pub fn year_link(ctx: &Ctx, year: Year) -> Markup {
    html! { a href=(ctx.href(&format!("/years/{year}"))) { (year) } }
}

/// `GET /years/{year}`.
pub async fn year(State(x): X, reader: Reader, Path(year): Path<String>) -> Response {
    let ctx = x.ctx(&reader);
    let page = render(&x, &ctx, &year);
    x.respond(&ctx, page)
}

fn render(x: &Explorer, ctx: &Ctx, asked: &str) -> Result<Page, PageError> {
    let t = ctx.t;
    let year = asked
        .parse::<u16>()
        .ok()
        .and_then(|y| Year::new(y).ok())
        .ok_or_else(|| {
            PageError::BadRequest(fill(
                t.bad_year,
                &[
                    text(asked),
                    text(&Year::FIRST.to_string()),
                    text(&Year::LAST.to_string()),
                ],
            ))
        })?;
    let state = x.shared.state.read().expect("state lock");
    let closed_at = state.year_closed(year);
    let rows = year_rows(&state, year)
        .ok_or_else(|| PageError::Internal(format!("a sum of the figures of {year} overflows")))?;
    drop(state);
    let title = fill_text(t.year_title, &[&year.to_string()]);
    let body = html! {
        h1 { (title) }
        section {
            @match closed_at {
                Some(at) => (final_notice(ctx, at)),
                None => p.note { (t.year_open) },
            }
            @if rows.is_empty() {
                p { (fill_text(t.year_empty, &[&year.to_string()])) }
            } @else {
                (table(ctx, &rows, closed_at.is_some()))
                p.note { (t.year_note) }
            }
            p.note { a href=(format!("/v1/years/{year}")) { (t.as_json) } }
        }
    };
    Ok(Page::new(title, body))
}

fn table(ctx: &Ctx, rows: &[YearRow], closed: bool) -> Markup {
    let t = ctx.t;
    let last = if closed { t.col_lapsed } else { t.col_unspent };
    html! {
        div.scroll { table.year {
            thead { tr {
                th { (t.col_entity) } th { (t.f_kind) } th.num { (t.col_received) }
                th.num { (t.col_passed_on) } th.num { (t.col_committed) } th.num { (t.col_paid) }
                th.num { (last) }
            } }
            tbody {
                @for r in rows {
                    @let f = &r.figures;
                    tr class=[r.parent.is_some().then_some("sub")] {
                        td { (ctx.entity_link(&r.id, Some(&r.name))) }
                        td { (views::kind(t, r.kind)) }
                        td.num { (ctx.amount(f.received)) }
                        td.num { (ctx.amount(f.passed_on)) }
                        td.num { (ctx.amount(f.committed)) }
                        td.num { (ctx.amount(f.paid)) }
                        td.num { (ctx.amount(f.unspent)) }
                    }
                }
            }
        } }
    }
}
