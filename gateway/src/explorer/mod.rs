//! The explorer's web pages: server-rendered HTML for journalists, served
//! on the node's read-only explorer listener next to the JSON read routes.
//!
//! Pages work without JavaScript, speak Vietnamese by default and English
//! on request ([`i18n`]), write money the reader's way ([`format`]), and
//! read only what the API handlers read: the state behind its lock, the
//! store, and the genesis. Every request is bounded: page sizes are fixed,
//! scans have limits, and the latest payments ([`index`]) are read from at
//! most a fixed number of the newest blocks. The red flags ([`flags`]), the money
//! flows and the figures by month come from the ledger's summaries of the
//! whole history ([`ledger::summary`]), written as blocks commit.
//!
//! This module owns the pages and the hardening of the explorer listener
//! (rate limit, URI bound, CORS); `api::explorer_router` puts them together
//! with the JSON routes and the read-only (GET and HEAD) rule.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use ledger::{ContractId, EntityId, Hash, Height};
use maud::html;
use serde::Deserialize;
use tower_http::cors::{Any, CorsLayer};

use crate::error::ApiError;
use node::shared::Shared;

mod awaiting;
mod chain;
pub mod charts;
pub mod feed;
mod feeds;
mod flag_pages;
pub mod flags;
pub mod format;
mod headers;
mod home;
pub mod i18n;
pub mod index;
mod layout;
mod pictures;
pub mod ratelimit;
pub mod search;
mod spending;
mod views;
mod years;

#[cfg(test)]
mod tests;

use self::flags::{FlagCache, FlagParams};
use self::i18n::Lang;
use self::layout::{fill, fill_text, search_form, text, Ctx, Page, PageError};
pub use self::ratelimit::RateLimits;
use self::ratelimit::{retry_after_secs, ClientLimiter};

/// Longest search query, in characters.
pub const SEARCH_QUERY_CHARS_MAX: usize = 200;
/// Longest request target (path and query), in bytes; longer is 414.
pub const URI_BYTES_MAX: usize = 2048;
/// Most entities or contracts a name search lists.
pub const SEARCH_RESULTS_MAX: usize = 50;

/// What the page handlers share.
pub struct Explorer {
    shared: Arc<Shared>,
    params: FlagParams,
    flags: FlagCache,
    home: home::HomeCache,
    search: search::SearchIndex,
}

impl Explorer {
    fn ctx(&self, reader: &Reader) -> Ctx {
        Ctx::new(
            reader.lang,
            reader.explicit,
            self.shared.genesis.currency.clone(),
            &reader.uri,
        )
    }

    /// The last committed height.
    fn tip(&self) -> Height {
        self.shared.state.read().expect("state lock").height()
    }

    /// The red flags standing at the last committed height, or at the
    /// height they were last read at while they are kept.
    fn flags(&self) -> Result<Arc<flags::Standing>, PageError> {
        let state = self.shared.state.read().expect("state lock");
        Ok(self.flags.get(&self.shared.store, &state, &self.params)?)
    }

    fn respond(&self, ctx: &Ctx, page: Result<Page, PageError>) -> Response {
        let page = page.unwrap_or_else(|e| e.page(ctx));
        page.render(ctx, self.shared.chain_id())
    }
}

/// The reader's language, from `?lang=` or `Accept-Language`, and the URI
/// they asked for.
pub struct Reader {
    lang: Lang,
    explicit: bool,
    uri: Uri,
}

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Reader, Infallible> {
        let query_lang = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")));
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let (lang, explicit) = Lang::negotiate(query_lang, accept);
        Ok(Reader {
            lang,
            explicit,
            uri: parts.uri.clone(),
        })
    }
}

type X = State<Arc<Explorer>>;

/// The explorer's pages, with their own state.
pub fn pages(shared: Arc<Shared>) -> Router {
    let x = Arc::new(Explorer {
        shared,
        params: FlagParams::default(),
        flags: FlagCache::default(),
        home: home::HomeCache::default(),
        search: search::SearchIndex::default(),
    });
    Router::new()
        .route("/", get(home::home))
        .route("/blocks/{height}", get(chain::block))
        .route("/txs/{hash}", get(chain::tx))
        .route("/validators", get(chain::validators))
        .route("/evidence", get(chain::evidence))
        .route("/entities/{id}", get(spending::entity))
        .route("/contracts/{id}", get(spending::contract))
        .route("/flags", get(flag_pages::list))
        .route("/flags.csv", get(flag_pages::csv))
        .route("/flags/feed.atom", get(feeds::flags))
        .route("/flags/{id}", get(flag_pages::one))
        .route("/years/{year}", get(years::year))
        .route("/awaiting", get(awaiting::list))
        .route("/entities/{id}/feed.atom", get(feeds::entity))
        .route("/contracts/{id}/feed.atom", get(feeds::contract))
        .route("/search", get(search))
        .route("/genesis.json", get(genesis_json))
        .fallback(not_found)
        .with_state(x)
}

/// The explorer listener's outer layers: per-client rate limiting (429
/// with `Retry-After`; the client as [`ratelimit::client_address`] finds
/// it), a bound on the request target (414), and CORS for GET and HEAD
/// from any origin.
pub fn harden(router: Router, limits: RateLimits) -> Router {
    let limiter = Arc::new(ClientLimiter::new(limits));
    router
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD]),
        )
        .layer(middleware::from_fn(bound_uri))
        .layer(middleware::from_fn_with_state(limiter, rate_limit))
        .layer(middleware::from_fn(headers::security_headers))
}

async fn rate_limit(
    State(limiter): State<Arc<ClientLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    // Without connection info (a router driven in-process) every request
    // comes from one peer.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let verdict = limiter.check(peer, request.headers(), Instant::now());
    match verdict {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = retry_after_secs(wait);
            let mut r = if is_json_route(request.uri()) {
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests from this address; try again in {secs} s"),
                )
                .into_response()
            } else {
                let body = format!(
                    "{}\n{}\n",
                    fill_text(i18n::VI.too_many, &[&secs.to_string()]),
                    fill_text(i18n::EN.too_many, &[&secs.to_string()])
                );
                (StatusCode::TOO_MANY_REQUESTS, body).into_response()
            };
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
    }
}

async fn bound_uri(request: Request, next: Next) -> Response {
    let len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if len > URI_BYTES_MAX {
        let message = format!("the request target is over {URI_BYTES_MAX} bytes");
        if is_json_route(request.uri()) {
            return ApiError::new(StatusCode::URI_TOO_LONG, "uri_too_long", message)
                .into_response();
        }
        return (StatusCode::URI_TOO_LONG, format!("{message}\n")).into_response();
    }
    next.run(request).await
}

/// Whether `uri` is under `/v1/`, whose answers, errors included, are JSON.
fn is_json_route(uri: &Uri) -> bool {
    uri.path().starts_with("/v1/")
}

async fn not_found(State(x): X, reader: Reader) -> Response {
    if is_json_route(&reader.uri) {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route {}", reader.uri.path()),
        )
        .into_response();
    }
    // Links on this page come from known routes only, never from the
    // address asked for.
    let ctx = x.ctx(&reader).at_home();
    x.respond(&ctx, Err(PageError::NotFound(text(ctx.t.not_found_text))))
}

/// The OpenAPI description of `/genesis.json`, the one JSON route of the
/// explorer's own; `api::doc::for_explorer` adds it to the listener's
/// document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(genesis_json))]
pub struct GenesisDoc;

/// The chain's genesis file
///
/// The node's genesis (the same chain id, hash and validators as the file
/// in its home), so that auditors check audit bundles against it:
/// `minhbach verify proof FILE --genesis genesis.json`.
#[utoipa::path(get, path = "/genesis.json", tag = "chain", responses(
    (status = 200, description = "The genesis file; immutable for a running chain.",
        body = Object, content_type = "application/json; charset=utf-8"),
))]
async fn genesis_json(State(x): X) -> Response {
    let mut r = x.shared.genesis.to_json().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    // The genesis of a running chain never changes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(layout::Cache::Immutable.header()),
    );
    r
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(
    State(x): X,
    reader: Reader,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let ctx = x.ctx(&reader);
    let q = query.ok().and_then(|Query(s)| s.q).unwrap_or_default();
    match find(&x, &ctx, q.trim()) {
        Ok(Found::Go(path)) => {
            let mut r = Redirect::to(&ctx.href(&path)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(Found::List(page)) => x.respond(&ctx, Ok(page)),
        Err(e) => x.respond(&ctx, Err(e)),
    }
}

enum Found {
    /// Exactly this page.
    Go(String),
    /// A list of matches, or none.
    List(Page),
}

/// What `q` names: a committed or pending transaction, a block, an entity
/// or a contract id, or else entity names and contract titles that contain it.
fn find(x: &Explorer, ctx: &Ctx, q: &str) -> Result<Found, PageError> {
    let t = ctx.t;
    if q.chars().count() > SEARCH_QUERY_CHARS_MAX {
        return Err(PageError::BadRequest(fill(
            t.search_too_long,
            &[text(&SEARCH_QUERY_CHARS_MAX.to_string())],
        )));
    }
    let s = &x.shared;
    if q.len() == 64 {
        if let Ok(hash) = Hash::from_hex(&q.to_ascii_lowercase()) {
            let known = s.store.tx_location(&hash)?.is_some()
                || s.mempool.lock().expect("mempool lock").get(&hash).is_some();
            if known {
                return Ok(Found::Go(format!("/txs/{hash}")));
            }
        }
    }
    // A height, as typed or with thousands separators.
    let digits: String = q.chars().filter(|c| !matches!(c, '.' | ',')).collect();
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(h) = digits.parse::<u64>() {
            if (1..=x.tip().0).contains(&h) {
                return Ok(Found::Go(format!("/blocks/{h}")));
            }
        }
    }
    let state = s.state.read().expect("state lock");
    let upper = q.to_uppercase();
    if let Ok(id) = EntityId::new(&upper) {
        if state.entity(&id).is_some() {
            return Ok(Found::Go(format!("/entities/{id}")));
        }
    }
    if let Ok(id) = ContractId::new(&upper) {
        if state.contract(&id).is_some() {
            return Ok(Found::Go(format!("/contracts/{id}")));
        }
    }
    let Some(matcher) = search::Matcher::new(q) else {
        let body = html! {
            h1 { (t.search_title) }
            section { p { (t.search_empty) } (search_form(ctx, "")) p.note { (t.search_help) } }
        };
        return Ok(Found::List(Page::new(t.search_title, body)));
    };
    // The index, not the state, is read for candidates; each is matched
    // against the state's own text.
    drop(state);
    x.search.catch_up(&s.store, &s.state)?;
    let state = s.state.read().expect("state lock");
    let (mut entities, mut contracts) = (Vec::new(), Vec::new());
    x.search.candidates(q, |target| {
        match target {
            search::Target::Entity(id) => {
                if let Some(e) = state.entity(id).filter(|e| {
                    entities.len() <= SEARCH_RESULTS_MAX
                        && (matcher.matches(&e.name) || matcher.matches(e.id.as_str()))
                }) {
                    entities.push(e);
                }
            }
            search::Target::Contract(id) => {
                if let Some(c) = state.contract(id).filter(|c| {
                    contracts.len() <= SEARCH_RESULTS_MAX
                        && (matcher.matches(&c.title) || matcher.matches(c.id.as_str()))
                }) {
                    contracts.push(c);
                }
            }
        }
        entities.len() <= SEARCH_RESULTS_MAX || contracts.len() <= SEARCH_RESULTS_MAX
    });
    entities.sort_by(|a, b| a.id.cmp(&b.id));
    contracts.sort_by(|a, b| a.id.cmp(&b.id));
    let quoted = text(q);
    let more = text(&fill_text(t.only_first, &[&SEARCH_RESULTS_MAX.to_string()]));
    let body = html! {
        h1 { (fill(t.search_results, std::slice::from_ref(&quoted))) }
        section { (search_form(ctx, q)) }
        @if entities.is_empty() && contracts.is_empty() {
            section {
                p { (fill(t.search_nothing, &[quoted])) }
                p.note { (t.search_help) }
            }
        }
        @if !entities.is_empty() {
            section {
                h2 { (t.search_entities) }
                div.scroll { table {
                    thead { tr { th { (t.f_id) } th { (t.f_name) } th { (t.f_kind) } } }
                    tbody {
                        @for e in entities.iter().take(SEARCH_RESULTS_MAX) {
                            tr {
                                td { code { (e.id) } }
                                td { (ctx.entity_link(&e.id, Some(&e.name))) }
                                td { (views::kind(t, e.kind)) }
                            }
                        }
                    }
                } }
                @if entities.len() > SEARCH_RESULTS_MAX { p.note { (more) } }
            }
        }
        @if !contracts.is_empty() {
            section {
                h2 { (t.search_contracts) }
                div.scroll { table {
                    thead { tr { th { (t.col_contract) } th { (t.col_title) } th { (t.col_vendor) } th.num { (t.col_amount) } } }
                    tbody {
                        @for c in contracts.iter().take(SEARCH_RESULTS_MAX) {
                            tr {
                                td { (ctx.contract_link(&c.id)) }
                                td { (c.title) }
                                td { (views::entity(ctx, &state, &c.vendor)) }
                                td.num { (ctx.amount(c.amount)) }
                            }
                        }
                    }
                } }
                @if contracts.len() > SEARCH_RESULTS_MAX { p.note { (more) } }
            }
        }
    };
    Ok(Found::List(Page::new(t.search_title, body)))
}
