//! Pages about the chain itself: a block (header, transactions, evidence,
//! the signatures that committed it, the outside witnesses who cosigned
//! it), a transaction (status, signer, what it
//! did, where it is, how to verify it), the validators and the evidence of
//! their misbehaviour.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use ledger::{Block, Evidence, Hash, Height, ValidatorSet, VoteType};
use maud::{html, Markup};

use super::format::short_hex;
use super::layout::{fill, fill_text, signed, text, Ctx, Page, PageError};
use super::views::{self, field_list};
use super::{Explorer, Reader};
use crate::error::tx_message;

/// Most pieces of evidence the evidence page lists, newest first.
pub const EVIDENCE_SHOWN_MAX: usize = 200;

type X = State<Arc<Explorer>>;

/// `GET /blocks/{height}`; `latest` redirects to the last block.
pub async fn block(State(x): X, reader: Reader, Path(height): Path<String>) -> Response {
    let ctx = x.ctx(&reader);
    if height == "latest" {
        return Redirect::to(&ctx.href(&format!("/blocks/{}", x.tip()))).into_response();
    }
    let page = render_block(&x, &ctx, &height);
    x.respond(&ctx, page)
}

fn render_block(x: &Explorer, ctx: &Ctx, height: &str) -> Result<Page, PageError> {
    let t = ctx.t;
    let s = &x.shared;
    let h = height
        .parse::<u64>()
        .map(Height)
        .map_err(|_| PageError::BadRequest(fill(t.bad_height, &[text(height)])))?;
    let block = s
        .store
        .block(h)?
        .ok_or_else(|| PageError::NotFound(fill(t.no_block, &[text(&ctx.number(h.0))])))?;
    let cert = s.store.cert(h)?;
    let set = s.store.validator_set(&block.header.validators_hash)?;
    let tip = x.tip();
    // A witness vouches for every block up to the checkpoint it cosigned;
    // one since suspended, or whose key has changed, is not shown.
    let mut witnesses = s.store.cosignatures()?;
    let state = s.state.read().expect("state lock");
    witnesses.retain(|c| {
        c.height >= h
            && state
                .entity(&c.witness)
                .is_some_and(|e| e.status == ledger::tx::Status::Active && e.holds(&c.key))
    });
    let hdr = &block.header;
    let hex = |h: &Hash| html! { span.hash { (h.to_hex()) } };
    let validator = |key: &ledger::PublicKey| -> Markup {
        match set.as_ref().and_then(|set| set.get(key)) {
            Some(v) => {
                html! { (signed(&v.name)) br; span.hash.muted { (short_hex(&key.to_hex())) } }
            }
            None => html! { span.hash { (key.to_hex()) } },
        }
    };
    let prev = (h.0 > 1).then(|| Height(h.0 - 1));
    let fields = vec![
        (t.f_height, text(&ctx.number(h.0))),
        (t.f_hash, hex(&block.hash())),
        (t.f_time, ctx.time(hdr.time_ms)),
        (t.f_chain, html! { code { (hdr.chain_id) } }),
        (
            t.f_prev,
            match prev {
                Some(p) => html! { (ctx.block_link(p)) " · " (hex(&hdr.prev_hash)) },
                None => hex(&hdr.prev_hash),
            },
        ),
        (t.f_tx_count, text(&ctx.number(u64::from(hdr.tx_count)))),
        (t.f_txs_root, hex(&hdr.txs_root)),
        (t.f_state_root, hex(&hdr.state_root)),
        (t.f_last_commit_hash, hex(&hdr.last_commit_hash)),
        (t.f_evidence_hash, hex(&hdr.evidence_hash)),
        (t.f_validators_hash, hex(&hdr.validators_hash)),
        (t.f_next_validators_hash, hex(&hdr.next_validators_hash)),
        (t.f_proposer, validator(&hdr.proposer)),
    ];
    let body = html! {
        h1 { (fill_text(t.block_title, &[&ctx.number(h.0)])) }
        (pager(ctx, prev, (h < tip).then(|| h.next())))
        section {
            (field_list(fields))
            p.note { a href=(format!("/v1/blocks/{h}")) { (t.as_json) } }
        }
        (block_txs(ctx, &state, &block))
        @if !block.evidence.is_empty() {
            section {
                h2 { (t.evidence_heading) }
                (evidence_table(ctx, set.as_ref(), block.evidence.iter().map(|e| (h, e))))
            }
        }
        section {
            h2 { (t.commit_heading) }
            @match &cert {
                None => p { (t.no_commit) },
                Some(c) => {
                    @let signed: u64 = c.precommits.iter()
                        .map(|v| set.as_ref().map_or(0, |s| s.power_of(&v.validator)))
                        .sum();
                    p {
                        (fill_text(t.commit_round, &[&c.round.to_string()])) " "
                        @if let Some(set) = &set {
                            (fill_text(t.commit_power, &[&ctx.number(signed), &ctx.number(set.total_power())]))
                        }
                    }
                    div.scroll { table {
                        thead { tr { th { (t.col_validator) } th.num { (t.col_power) } th { (t.col_signature) } } }
                        tbody {
                            @for v in &c.precommits {
                                tr {
                                    td { (validator(&v.validator)) }
                                    td.num { (ctx.number(set.as_ref().map_or(0, |s| s.power_of(&v.validator)))) }
                                    td { span.hash title=(v.signature.to_hex()) { (short_hex(&v.signature.to_hex())) } }
                                }
                            }
                        }
                    } }
                }
            }
        }
        section {
            h2 { (t.witnesses_heading) }
            @if witnesses.is_empty() {
                p { (t.witnesses_none) }
            } @else {
                p { (t.witnesses_cosigned) }
                ul {
                    @for c in &witnesses {
                        li {
                            (views::entity(ctx, &state, &c.witness)) " · "
                            (fill(t.witness_up_to, &[ctx.block_link(c.height)]))
                        }
                    }
                }
            }
        }
    };
    // Not cached for good: the newest block gains a "next" link, and any
    // block gains witnesses as they cosign.
    Ok(Page::new(
        fill_text(t.block_title, &[&h.0.to_string()]),
        body,
    ))
}

fn pager(ctx: &Ctx, prev: Option<Height>, next: Option<Height>) -> Markup {
    let t = ctx.t;
    html! {
        div.pager {
            span { @if let Some(p) = prev { a rel="prev" href=(ctx.href(&format!("/blocks/{p}"))) { (t.prev_block) } } }
            span { @if let Some(n) = next { a rel="next" href=(ctx.href(&format!("/blocks/{n}"))) { (t.next_block) } } }
        }
    }
}

fn block_txs(ctx: &Ctx, state: &ledger::State, block: &Block) -> Markup {
    let t = ctx.t;
    html! {
        section {
            h2 { (t.txs_heading) }
            @if block.txs.is_empty() {
                p { (t.no_txs) }
            } @else {
                div.scroll { table {
                    thead { tr { th.num { (t.col_index) } th { (t.col_hash) } th { (t.col_operation) } th { (t.col_summary) } } }
                    tbody {
                        @for (i, tx) in block.txs.iter().enumerate() {
                            tr {
                                td.num { (i) }
                                td { (ctx.tx_link(&tx.hash())) }
                                td { (views::op_name(t, &tx.body.op)) }
                                td { (views::describe(ctx, state, &tx.body.signer, &tx.body.op)) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn evidence_table<'a>(
    ctx: &Ctx,
    set: Option<&ValidatorSet>,
    rows: impl Iterator<Item = (Height, &'a Evidence)>,
) -> Markup {
    let t = ctx.t;
    let value = |v: &Option<Hash>| match v {
        Some(h) => html! { span.hash title=(h.to_hex()) { (short_hex(&h.to_hex())) } },
        None => text(t.nil),
    };
    html! {
        div.scroll { table {
            thead { tr {
                th { (t.col_recorded_in) } th { (t.col_validator) } th { (t.col_offence) }
                th { (t.col_vote_type) } th { (t.col_values) }
            } }
            tbody {
                @for (at, e) in rows {
                    tr {
                        td { (ctx.block_link(at)) }
                        td {
                            @match set.and_then(|s| s.get(&e.a.validator)) {
                                Some(v) => (signed(&v.name)),
                                None => span.hash { (short_hex(&e.a.validator.to_hex())) },
                            }
                        }
                        td { (fill_text(t.height_round, &[&ctx.number(e.a.height.0), &e.a.round.to_string()])) }
                        td { (match e.a.vote_type { VoteType::Prevote => t.vote_prevote, VoteType::Precommit => t.vote_precommit }) }
                        td { (value(&e.a.block_hash)) br; (value(&e.b.block_hash)) }
                    }
                }
            }
        } }
    }
}

/// `GET /txs/{hash}`.
pub async fn tx(State(x): X, reader: Reader, Path(hash): Path<String>) -> Response {
    let ctx = x.ctx(&reader);
    let page = render_tx(&x, &ctx, &hash);
    x.respond(&ctx, page)
}

fn render_tx(x: &Explorer, ctx: &Ctx, hash: &str) -> Result<Page, PageError> {
    let t = ctx.t;
    let s = &x.shared;
    let hash = Hash::from_hex(&hash.to_ascii_lowercase())
        .map_err(|_| PageError::BadRequest(fill(t.bad_hash, &[text(hash)])))?;
    let title = format!("{} {}", t.tx_title, short_hex(&hash.to_hex()));
    if let Some(loc) = s.store.tx_location(&hash)? {
        let (header, tx) = s
            .store
            .tx_with_header(loc.height, loc.index)?
            .ok_or_else(|| PageError::Internal(format!("indexed transaction {hash} missing")))?;
        let tx = &tx;
        let state = s.state.read().expect("state lock");
        let b = &tx.body;
        let fields = vec![
            (t.f_hash, html! { span.hash { (hash.to_hex()) } }),
            (
                t.f_status,
                html! { span.status-committed { (t.status_committed) } },
            ),
            (t.f_block, ctx.block_link(loc.height)),
            (t.f_time, ctx.time(header.time_ms)),
            (t.f_position, text(&loc.index.to_string())),
            (t.f_signer, views::entity(ctx, &state, &b.signer)),
            (t.f_nonce, text(&b.nonce.to_string())),
            (t.f_operation, text(views::op_name(t, &b.op))),
        ];
        let body = html! {
            h1 { (t.tx_title) }
            section {
                p { (views::describe(ctx, &state, &b.signer, &b.op)) }
                (field_list(fields))
            }
            section {
                h2 { (views::op_name(t, &b.op)) }
                (field_list(views::fields(ctx, &state, &b.op)))
                p.note { a href=(format!("/v1/txs/{hash}")) { (t.as_json) } }
            }
            (proof_section(ctx, &hash))
        };
        return Ok(Page::new(title, body).immutable());
    }
    let pending = s.mempool.lock().expect("mempool lock").get(&hash).cloned();
    if let Some(tx) = pending {
        let state = s.state.read().expect("state lock");
        let b = &tx.body;
        let body = html! {
            h1 { (t.tx_title) }
            section {
                p { (views::describe(ctx, &state, &b.signer, &b.op)) }
                (field_list(vec![
                    (t.f_hash, html! { span.hash { (hash.to_hex()) } }),
                    (t.f_status, html! { span.status-pending { (t.status_pending) } }),
                    (t.f_signer, views::entity(ctx, &state, &b.signer)),
                    (t.f_nonce, text(&b.nonce.to_string())),
                    (t.f_operation, text(views::op_name(t, &b.op))),
                ]))
                p.note { (t.pending_note) }
            }
            section {
                h2 { (views::op_name(t, &b.op)) }
                (field_list(views::fields(ctx, &state, &b.op)))
            }
        };
        return Ok(Page::new(title, body));
    }
    let rejected = s
        .rejected
        .lock()
        .expect("rejections lock")
        .get(&hash)
        .map(|e| (e.code(), tx_message(e)));
    if let Some((code, message)) = rejected {
        let body = html! {
            h1 { (t.tx_title) }
            section {
                (field_list(vec![
                    (t.f_hash, html! { span.hash { (hash.to_hex()) } }),
                    (t.f_status, html! { span.status-rejected { (t.status_rejected) } }),
                    (t.f_reason, html! { code { (code) } ": " (message) }),
                ]))
            }
        };
        return Ok(Page::new(title, body));
    }
    Err(PageError::NotFound(fill(
        t.no_tx,
        &[html! { span.hash { (hash.to_hex()) } }],
    )))
}

fn proof_section(ctx: &Ctx, hash: &Hash) -> Markup {
    let t = ctx.t;
    html! {
        section {
            h2 { (t.proof_heading) }
            p {
                a href=(format!("/v1/txs/{hash}/proof")) download=(format!("proof-{}.json", &hash.to_hex()[..12])) {
                    (t.proof_download)
                }
            }
            p { (t.proof_cli) }
            pre { code {
                "minhbach proof tx " (hash) " --out proof.json\n"
                "minhbach verify proof proof.json --genesis genesis.json"
            } }
            p.note { a href="/genesis.json" download="genesis.json" { (t.verify_genesis) } " · " (t.verify_outcome) }
        }
    }
}

/// `GET /validators`.
pub async fn validators(State(x): X, reader: Reader) -> Response {
    let ctx = x.ctx(&reader);
    let t = ctx.t;
    let (next_height, current, after) = {
        let state = x.shared.state.read().expect("state lock");
        (
            state.height().next(),
            state.validators().clone(),
            state.next_validators().clone(),
        )
    };
    let body = html! {
        h1 { (t.validators_title) }
        section {
            p { (fill_text(t.validators_intro, &[&ctx.number(next_height.0)])) }
            (validator_table(&ctx, &current))
        }
        @if after != current {
            section {
                h2 { (fill_text(t.next_set_heading, &[&ctx.number(next_height.0 + 1)])) }
                (validator_table(&ctx, &after))
            }
        }
        p.note { a href="/v1/validators" { (t.as_json) } }
    };
    x.respond(&ctx, Ok(Page::new(t.validators_title, body)))
}

fn validator_table(ctx: &Ctx, set: &ValidatorSet) -> Markup {
    let t = ctx.t;
    html! {
        div.scroll { table {
            thead { tr {
                th { (t.col_name) } th.num { (t.col_power) } th.num { (t.col_share) }
                th { (t.col_key) } th { (t.col_peer_id) }
            } }
            tbody {
                @for v in set.validators() {
                    tr {
                        td { (signed(&v.name)) }
                        td.num { (ctx.number(v.power)) }
                        td.num { span.amt { (ctx.percent(v.power, set.total_power())) } }
                        td { span.hash title=(v.consensus_key.to_hex()) { (short_hex(&v.consensus_key.to_hex())) } }
                        td { span.hash { (v.peer_id) } }
                    }
                }
            }
        } }
        p.note { (fill_text(t.total_power, &[&ctx.number(set.total_power())])) }
    }
}

/// `GET /evidence`.
pub async fn evidence(State(x): X, reader: Reader) -> Response {
    let ctx = x.ctx(&reader);
    let page = render_evidence(&x, &ctx);
    x.respond(&ctx, page)
}

fn render_evidence(x: &Explorer, ctx: &Ctx) -> Result<Page, PageError> {
    let t = ctx.t;
    let s = &x.shared;
    let mut all = s.store.evidence()?;
    all.reverse();
    all.truncate(EVIDENCE_SHOWN_MAX);
    // Names from the current set; a validator since removed shows its key.
    let set = s.state.read().expect("state lock").validators().clone();
    let body = html! {
        h1 { (t.evidence_title) }
        section {
            p { (t.evidence_intro) }
            @if all.is_empty() {
                p { (t.evidence_none) }
            } @else {
                (evidence_table(ctx, Some(&set), all.iter().map(|(h, e)| (*h, e))))
                @if all.len() == EVIDENCE_SHOWN_MAX {
                    p.note { (fill_text(t.only_first, &[&EVIDENCE_SHOWN_MAX.to_string()])) }
                }
            }
            p.note { a href="/v1/evidence" { (t.as_json) } }
        }
    };
    Ok(Page::new(t.evidence_title, body))
}
