//! Atom feeds to follow spending: an entity's (a ministry's takes in its
//! departments'), a contract's, and the red flags. Entries are new
//! payments, awards and amendments, each linking its page and its audit
//! bundle, and the flags that concern what is followed. They are read from
//! the store's indexes (an entity's history, a contract's transactions in
//! the summaries), newest first, never by scanning blocks.

use std::collections::BTreeMap;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use ledger::store::{Store, TxLocation};
use ledger::tx::EntityKind;
use ledger::{ContractId, EntityId, Hash, Height, Op, SignedTx};

use super::feed::{self, Entry, Feed};
use super::flags::{self, Flag};
use super::layout::{fill, text, Ctx, PageError};
use super::{Explorer, Reader, X};
use crate::api::ExportLinks;

/// The links of the listener a feed is served on.
type Links = Option<Extension<Arc<ExportLinks>>>;

/// The base URL a feed's links are written against.
fn base(links: &Links, headers: &HeaderMap) -> Option<String> {
    let default = ExportLinks::default();
    let links = links.as_ref().map_or(&default, |Extension(l)| l.as_ref());
    links.base(headers)
}

/// Entries in one feed.
pub const FEED_ENTRIES: usize = 50;

/// A feed's or an entry's permanent id: a tag URI in the chain's name.
fn tag(x: &Explorer, what: &str) -> String {
    format!("tag:minhbach.invalid,2026:{}/{what}", x.shared.chain_id())
}

/// One transaction as an entry, if it is a payment, an award or an
/// amendment.
fn tx_entry(x: &Explorer, ctx: &Ctx, tx: &SignedTx, time_ms: u64) -> Option<Entry> {
    let t = ctx.t;
    let hash = tx.hash();
    let (category, title, summary) = match &tx.body.op {
        Op::Pay {
            contract,
            amount,
            reference,
            ..
        } => (
            "payment",
            format!("{} {} · {contract}", t.op_pay, ctx.amount_text(*amount)),
            reference.clone(),
        ),
        Op::Award {
            contract,
            vendor,
            amount,
            title,
            ..
        } => (
            "award",
            format!(
                "{} {contract} · {} → {vendor}",
                t.op_award,
                ctx.amount_text(*amount)
            ),
            title.clone(),
        ),
        Op::AmendContract {
            contract,
            amount,
            reason,
            ..
        } => (
            "amendment",
            format!(
                "{} {contract} · {}",
                t.op_amend_contract,
                ctx.amount_text(*amount)
            ),
            reason.clone(),
        ),
        _ => return None,
    };
    let state = x.shared.state.read().expect("state lock");
    let author = state.entity(&tx.body.signer).map(|e| e.name.clone());
    Some(Entry {
        id: tag(x, &format!("txs/{}", hash.to_hex())),
        title,
        updated_ms: time_ms,
        page_href: ctx.href(&format!("/txs/{}", hash.to_hex())),
        bundle_href: Some(format!("/v1/txs/{}/proof", hash.to_hex())),
        author,
        summary,
        category: category.into(),
    })
}

/// A flag as an entry, timed by the block it rests on.
fn flag_entry(x: &Explorer, ctx: &Ctx, f: &Flag, times: &mut Times) -> Result<Entry, PageError> {
    let updated_ms = match f.height() {
        Some(h) => times.of(&x.shared.store, h)?,
        None => times.tip(&x.shared.store)?,
    };
    let state = x.shared.state.read().expect("state lock");
    let sentence = super::views::flag(ctx, &state, &x.params, f).into_string();
    Ok(Entry {
        id: tag(x, &format!("flags/{}", f.id())),
        title: format!("{}: {}", ctx.t.flags_title, f.id()),
        updated_ms,
        page_href: ctx.href(&format!("/flags/{}", f.id())),
        bundle_href: None,
        author: None,
        summary: strip_tags(&sentence),
        category: "flag".into(),
    })
}

/// The text of a fragment of HTML the explorer wrote: tags dropped, the
/// entities it escapes undone.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Block times, read once per height.
#[derive(Default)]
struct Times(BTreeMap<Height, u64>);

impl Times {
    fn of(&mut self, store: &Store, h: Height) -> Result<u64, PageError> {
        if let Some(t) = self.0.get(&h) {
            return Ok(*t);
        }
        let t = store.header(h)?.map_or(0, |h| h.time_ms);
        self.0.insert(h, t);
        Ok(t)
    }

    fn tip(&mut self, store: &Store) -> Result<u64, PageError> {
        match store.meta()? {
            Some(m) if m.height > Height(0) => self.of(store, m.height),
            _ => Ok(0),
        }
    }
}

/// The entries of transactions at `locations` (newest first), each read
/// alone.
fn tx_entries(
    x: &Explorer,
    ctx: &Ctx,
    locations: &[(TxLocation, Hash)],
) -> Result<Vec<Entry>, PageError> {
    let mut out = Vec::new();
    for (loc, hash) in locations {
        let Some((header, tx)) = x.shared.store.tx_with_header(loc.height, loc.index)? else {
            continue;
        };
        if tx.hash() == *hash {
            out.extend(tx_entry(x, ctx, &tx, header.time_ms));
        }
    }
    Ok(out)
}

/// Puts the flags' entries in with the others, newest first, and keeps
/// [`FEED_ENTRIES`].
fn finish(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by_key(|e| std::cmp::Reverse(e.updated_ms));
    entries.truncate(FEED_ENTRIES);
    entries
}

/// The feed, its links written against the listener's base URL, or the
/// error page.
fn respond(
    x: &Explorer,
    ctx: &Ctx,
    (links, headers): (&Links, &HeaderMap),
    feed: Result<Feed, PageError>,
) -> Response {
    match feed {
        Ok(f) => feed::response(&Feed {
            base: base(links, headers),
            ..f
        }),
        Err(e) => x.respond(ctx, Err(e)),
    }
}

/// A feed of `entries` that follows the page at `page`, titled `title`.
fn feed_at(
    x: &Explorer,
    ctx: &Ctx,
    page: &str,
    title: String,
    entries: Vec<Entry>,
    times: &mut Times,
) -> Result<Feed, PageError> {
    Ok(Feed {
        id: tag(x, page.trim_start_matches('/')),
        title,
        author: x.shared.chain_id().to_owned(),
        base: None,
        self_href: ctx.href(&format!("{page}/feed.atom")),
        alternate_href: ctx.href(page),
        updated_ms: updated(&entries, times, &x.shared.store)?,
        entries,
    })
}

/// `GET /entities/{id}/feed.atom`.
pub async fn entity(
    State(x): X,
    reader: Reader,
    links: Links,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let ctx = x.ctx(&reader);
    let feed = entity_feed(&x, &ctx, &id);
    respond(&x, &ctx, (&links, &headers), feed)
}

fn entity_feed(x: &Explorer, ctx: &Ctx, id: &str) -> Result<Feed, PageError> {
    let t = ctx.t;
    let id = EntityId::new(id).map_err(|_| PageError::BadRequest(fill(t.bad_id, &[text(id)])))?;
    let (name, followed) = {
        let state = x.shared.state.read().expect("state lock");
        let e = state
            .entity(&id)
            .ok_or_else(|| PageError::NotFound(fill(t.no_entity, &[text(id.as_str())])))?;
        // A ministry's spending is its departments'.
        let mut followed = vec![id.clone()];
        if e.kind == EntityKind::Ministry {
            followed.extend(
                state
                    .entities()
                    .filter(|d| d.parent.as_ref() == Some(&id))
                    .map(|d| d.id.clone()),
            );
        }
        (e.name.clone(), followed)
    };
    let mut newest: Vec<(TxLocation, Hash)> = Vec::new();
    for who in &followed {
        for entry in x.shared.store.history_newest(who, FEED_ENTRIES * 2)? {
            newest.push((entry.location, entry.tx_hash));
        }
    }
    newest.sort_by_key(|(loc, _)| std::cmp::Reverse((loc.height, loc.index)));
    newest.dedup_by_key(|(_, h)| *h);
    newest.truncate(FEED_ENTRIES * 2);
    let mut entries = tx_entries(x, ctx, &newest)?;
    let mut times = Times::default();
    let flags = x.flags()?;
    let concerning = flags
        .iter()
        .filter(|f| followed.iter().any(|e| f.concerns_entity(e)));
    for f in flags::newest(concerning, FEED_ENTRIES) {
        entries.push(flag_entry(x, ctx, f, &mut times)?);
    }
    let entries = finish(entries);
    feed_at(
        x,
        ctx,
        &format!("/entities/{id}"),
        name,
        entries,
        &mut times,
    )
}

fn updated(entries: &[Entry], times: &mut Times, store: &Store) -> Result<u64, PageError> {
    match entries.first() {
        Some(e) => Ok(e.updated_ms),
        None => times.tip(store),
    }
}

/// `GET /contracts/{id}/feed.atom`.
pub async fn contract(
    State(x): X,
    reader: Reader,
    links: Links,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let ctx = x.ctx(&reader);
    let feed = contract_feed(&x, &ctx, &id);
    respond(&x, &ctx, (&links, &headers), feed)
}

fn contract_feed(x: &Explorer, ctx: &Ctx, id: &str) -> Result<Feed, PageError> {
    let t = ctx.t;
    let id = ContractId::new(id).map_err(|_| PageError::BadRequest(fill(t.bad_id, &[text(id)])))?;
    let title = {
        let state = x.shared.state.read().expect("state lock");
        let c = state
            .contract(&id)
            .ok_or_else(|| PageError::NotFound(fill(t.no_contract, &[text(id.as_str())])))?;
        format!("{id}: {}", c.title)
    };
    let all = ledger::summary::read::contract_txs(&x.shared.store, &id)?;
    let newest: Vec<(TxLocation, Hash)> = all
        .iter()
        .rev()
        .take(FEED_ENTRIES)
        .map(|(height, index, hash)| {
            let loc = TxLocation {
                height: *height,
                index: *index,
            };
            (loc, *hash)
        })
        .collect();
    let mut entries = tx_entries(x, ctx, &newest)?;
    let mut times = Times::default();
    let flags = x.flags()?;
    for f in flags::newest(
        flags.iter().filter(|f| f.concerns_contract(&id)),
        FEED_ENTRIES,
    ) {
        entries.push(flag_entry(x, ctx, f, &mut times)?);
    }
    let entries = finish(entries);
    feed_at(
        x,
        ctx,
        &format!("/contracts/{id}"),
        title,
        entries,
        &mut times,
    )
}

/// `GET /flags/feed.atom`.
pub async fn flags(State(x): X, reader: Reader, links: Links, headers: HeaderMap) -> Response {
    let ctx = x.ctx(&reader);
    let feed = flags_feed(&x, &ctx);
    respond(&x, &ctx, (&links, &headers), feed)
}

fn flags_feed(x: &Explorer, ctx: &Ctx) -> Result<Feed, PageError> {
    let flags = x.flags()?;
    let mut times = Times::default();
    let mut entries = Vec::new();
    for f in flags::newest(flags.iter(), FEED_ENTRIES) {
        entries.push(flag_entry(x, ctx, f, &mut times)?);
    }
    let entries = finish(entries);
    let title = ctx.t.flags_title.to_owned();
    feed_at(x, ctx, "/flags", title, entries, &mut times)
}
