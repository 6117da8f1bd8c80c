//! The page of transactions awaiting signatures: what each would do, in
//! the sentence its operation reads as everywhere else, whose keys it
//! still waits for, and since which block. They are held by this node
//! outside the chain, and may never be committed.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use ledger::State as LedgerState;
use maud::{html, Markup};
use node::awaiting::Awaiting;

use super::format::short_hex;
use super::layout::{fill, fill_text, text, Ctx, Page, PageError};
use super::{views, Explorer, Reader};
use crate::approvals::{awaiting, waits_for};

type X = State<Arc<Explorer>>;

/// Most transactions the page lists, oldest first (the node holds at most
/// `node::awaiting::AWAITING_MAX`; `/v1/awaiting` lists them all).
pub const AWAITING_SHOWN_MAX: usize = 200;

/// `GET /awaiting`.
pub async fn list(State(x): X, reader: Reader) -> Response {
    let ctx = x.ctx(&reader);
    let page = render(&x, &ctx);
    x.respond(&ctx, page)
}

fn render(x: &Explorer, ctx: &Ctx) -> Result<Page, PageError> {
    let t = ctx.t;
    let s = &x.shared;
    let state = s.state.read().expect("state lock");
    let entries = awaiting(&state, &s.awaiting);
    let code = |s: &str| html! { code { (s) } };
    let body = html! {
        h1 { (t.awaiting_title) }
        section {
            p { (t.awaiting_intro) }
            @if entries.is_empty() {
                p { (t.awaiting_none) }
            } @else {
                div.scroll { table {
                    thead { tr {
                        th.num { (t.col_since) } th { (t.col_summary) } th { (t.col_waiting_for) }
                        th { (t.f_id) }
                    } }
                    tbody {
                        @for a in entries.iter().take(AWAITING_SHOWN_MAX) {
                            tr {
                                td.num { (ctx.block_link(a.since)) }
                                td {
                                    (views::describe(ctx, &state, &a.tx.body.signer, &a.tx.body.op))
                                    br; span.muted { (views::op_name(t, &a.tx.body.op)) }
                                }
                                td { (still_to_sign(ctx, &state, a)) }
                                td {
                                    a.hash href=(format!("/v1/awaiting/{}", a.id)) title=(a.id.to_hex()) {
                                        (short_hex(&a.id.to_hex()))
                                    }
                                }
                            }
                        }
                    }
                } }
                @if entries.len() > AWAITING_SHOWN_MAX {
                    p.note { (fill_text(t.only_first, &[&AWAITING_SHOWN_MAX.to_string()])) }
                }
            }
            p.note {
                (fill(t.awaiting_cosign, &[code("GET /v1/awaiting/{id}"), code("POST /v1/awaiting")]))
            }
            p.note { a href="/v1/awaiting" { (t.as_json) } }
        }
    };
    Ok(Page::new(t.awaiting_title, body))
}

/// Whose keys `a` still waits for, in words; the rejection's own message
/// for anything else.
fn still_to_sign(ctx: &Ctx, state: &LedgerState, a: &Awaiting) -> Markup {
    let t = ctx.t;
    match waits_for(&a.needs) {
        Some(w) => fill(
            if w.approval {
                t.awaiting_controller
            } else {
                t.awaiting_threshold
            },
            &[
                views::entity(ctx, state, &w.entity),
                text(&w.signed.to_string()),
                text(&w.threshold.to_string()),
            ],
        ),
        None => html! { code { (a.needs.code()) } ": " (crate::error::tx_message(&a.needs)) },
    }
}
