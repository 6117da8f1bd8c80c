//! The HTTP API (SPEC §8), with axum. Two routers share the handlers: the
//! operators' API, which also accepts transactions, and the explorer, which
//! answers GET and HEAD only (405 for anything else) and never writes.
//!
//! Every JSON answer is a typed struct of [`model`], and every route is
//! declared with `#[utoipa::path]` and registered through
//! `utoipa_axum::routes!`, so the OpenAPI document each listener serves at
//! `/v1/openapi.json` ([`doc`]) is built from the same routes and types
//! that answer requests.
//!
//! Errors have one shape, `{"error": {"code", "message"}}` ([`ErrorBody`],
//! given by [`crate::error::ApiError`]), with the ledger's rejection codes
//! where a transaction is refused.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use ledger::store::{HistoryEntry, Store, TxLocation};
use ledger::{ContractId, EntityId, Hash, Height, SignedTx, TxError, ValidatorSet, Year};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use node::shared::Shared;
use wire::cursor;
use wire::submission::{self, BatchRefusal, BodyFormat};

use crate::error::{tx_message, ApiError};
use crate::export::{self, ExportError, Format, OcdsOptions, StateView};
use crate::time::rfc3339;

mod awaiting;
mod chain;
pub mod doc;
mod exports;
pub mod model;
mod spending;
mod state_proof;
mod submit;
mod witness;
mod years;

pub use self::exports::ExportLinks;
use self::model::{
    BatchItem, BatchSubmitted, BlockView, BlocksPage, BudgetLineView, ContractView, EntityList,
    EntitySummary, EntityView, EvidenceList, EvidenceView, FlagList, FlagView, HistoryEntryView,
    HistoryPage, NodeStatus, Readiness, Submitted, TxBatchSubmission, TxStatus, TxSubmission,
    TxView, ValidatorView, ValidatorsAt,
};
pub use self::model::{ErrorBody, ErrorCode, ErrorDetail};
pub use self::witness::COSIGNED_HEIGHT_GAUGE;

/// Most blocks in one page of `/v1/blocks`; a larger `limit` is capped.
pub const BLOCKS_PAGE_MAX: u64 = 100;
/// Blocks in a page of `/v1/blocks` when `limit` is not given.
pub const BLOCKS_PAGE_DEFAULT: u64 = 20;
/// Entries in one page of an entity's history.
pub const HISTORY_PAGE: usize = 100;
/// Most exports a node makes at once; each reads every block.
pub const EXPORTS_RUNNING_MAX: usize = 2;
/// Largest body `POST /v1/txs` and `POST /v1/awaiting` read: a largest
/// transaction in base64 JSON fits; anything longer is 413 `too_large`
/// before it is decoded.
pub const SUBMIT_BODY_BYTES_MAX: usize = ledger::codec::TX_BYTES_MAX * 2;
/// Most transactions in one `POST /v1/txs/batch`.
pub const SUBMIT_BATCH_TXS_MAX: usize = 4096;
/// Largest body `POST /v1/txs/batch` reads.
pub const SUBMIT_BATCH_BODY_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Most `POST /v1/txs/batch` requests read and admitted at once, so that
/// their bodies bound the memory they take; the others wait their turn.
pub const SUBMIT_BATCHES_RUNNING_MAX: usize = 2;
/// The longest a batch waits for its turn before it is answered 429 `busy`.
pub const SUBMIT_BATCH_WAIT: Duration = Duration::from_secs(30);
/// The longest a submission may take, from its head to its answer; a body
/// sent slower than that is answered 408 `timeout`.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The response header that names the height an export was taken at.
pub const EXPORT_HEIGHT_HEADER: &str = "x-minhbach-height";
/// The response header that names the hash of that block.
pub const EXPORT_BLOCK_HASH_HEADER: &str = "x-minhbach-block-hash";
/// Where each listener serves its OpenAPI document.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

// Base64 is 4/3 of the bytes, plus the JSON around it.
const _: () = assert!(SUBMIT_BODY_BYTES_MAX > ledger::codec::TX_BYTES_MAX / 3 * 4 + 64);

static EXPORT_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(EXPORTS_RUNNING_MAX);

static SUBMIT_BATCH_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(SUBMIT_BATCHES_RUNNING_MAX);

type AppState = Arc<Shared>;

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The query string, or 400 `invalid_argument` naming what is wrong with it.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(ApiError::from)
}

/// The operators' API: every read route plus `POST /v1/txs`,
/// `POST /v1/txs/batch`, `POST /v1/awaiting` and `POST /v1/cosignatures`,
/// and the document of exactly those at [`OPENAPI_PATH`]; exports with the
/// default `[exports]` settings.
pub fn api_router(shared: Arc<Shared>) -> Router {
    api_router_with(shared, ExportLinks::default())
}

/// [`api_router`], its exports published as `links` say.
pub fn api_router_with(shared: Arc<Shared>, links: ExportLinks) -> Router {
    let submit = takes_one_tx(routes!(submit::post_tx));
    let offer = takes_one_tx(routes!(awaiting::post_awaiting));
    let mut submit_batch = routes!(submit::post_tx_batch);
    submit_batch.2 = submit_batch
        .2
        .layer(DefaultBodyLimit::max(SUBMIT_BATCH_BODY_BYTES_MAX))
        .layer(middleware::from_fn(within_submit_timeout))
        .layer(middleware::from_fn(batch_turn))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            refuse_batches_when_full,
        ));
    let mut cosign = routes!(witness::post_cosignature);
    cosign.2 = cosign
        .2
        .layer(DefaultBodyLimit::max(
            ledger::witness::COSIGNATURE_BYTES_MAX,
        ))
        .layer(middleware::from_fn(within_submit_timeout));
    witness::publish_held(&shared);
    let (router, openapi) = read_routes()
        .routes(submit)
        .routes(submit_batch)
        .routes(offer)
        .routes(cosign)
        .split_for_parts();
    // The handlers' own description is the whole of the API's document.
    let document = doc::Document::new(openapi);
    router
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
        .layer(Extension(document))
        .layer(Extension(Arc::new(links)))
}

/// The explorer: the read routes, the HTML pages of [`crate::explorer`],
/// and `GET /genesis.json`; any method but GET or HEAD is 405; rate-limited
/// per client. Its document at [`OPENAPI_PATH`] has no `POST` route.
/// Exports with the default `[exports]` settings.
pub fn explorer_router(shared: Arc<Shared>, limits: crate::explorer::RateLimits) -> Router {
    explorer_router_with(shared, limits, ExportLinks::default())
}

/// [`explorer_router`], its exports published as `links` say.
pub fn explorer_router_with(
    shared: Arc<Shared>,
    limits: crate::explorer::RateLimits,
    links: ExportLinks,
) -> Router {
    let (router, openapi) = read_routes().split_for_parts();
    let document = doc::Document::new(doc::for_explorer(openapi));
    let router = router
        .with_state(shared.clone())
        .merge(crate::explorer::pages(shared))
        .layer(middleware::from_fn(read_only))
        .layer(Extension(document))
        .layer(Extension(Arc::new(links)));
    crate::explorer::harden(router, limits)
}

fn read_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(doc::base())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
        .routes(routes!(openapi_json))
        .routes(routes!(chain::status))
        .routes(routes!(chain::blocks))
        .routes(routes!(chain::block))
        .routes(routes!(chain::tx))
        .routes(routes!(chain::tx_proof))
        .routes(routes!(state_proof::state_proof))
        .routes(routes!(spending::entities))
        .routes(routes!(spending::entity))
        .routes(routes!(spending::entity_txs))
        .routes(routes!(spending::contract))
        .routes(routes!(spending::flags))
        .routes(routes!(years::year))
        .routes(routes!(awaiting::awaiting))
        .routes(routes!(awaiting::awaiting_one))
        .routes(routes!(chain::validators))
        .routes(routes!(chain::evidence))
        .routes(routes!(witness::latest_checkpoint))
        .routes(routes!(witness::checkpoint))
        .routes(routes!(witness::consistency))
        .routes(routes!(witness::witnesses))
        .routes(routes!(witness::cosignatures))
        .routes(routes!(exports::export_csv))
        .routes(routes!(exports::export_ocds))
        .routes(routes!(exports::ocds_extension))
        .routes(routes!(exports::ocds_extension_schema))
}

/// A route that takes one transaction as `POST /v1/txs` does: bodies over
/// [`SUBMIT_BODY_BYTES_MAX`] are 413, and the whole exchange is bounded by
/// [`SUBMIT_TIMEOUT`].
fn takes_one_tx(mut route: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    route.2 = route
        .2
        .layer(DefaultBodyLimit::max(SUBMIT_BODY_BYTES_MAX))
        .layer(middleware::from_fn(within_submit_timeout));
    route
}

/// Answers 408 `timeout` when a submission takes over [`SUBMIT_TIMEOUT`]:
/// a client that sends its body slowly does not hold the handler longer.
async fn within_submit_timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(SUBMIT_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!(
                "the submission did not arrive within {} s",
                SUBMIT_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

/// Refuses a batch submission whole, before its body is decoded, while the
/// mempool is full or holds what clients may fill
/// ([`node::shared::Shared::client_room`]): an overloaded node spends
/// nothing on load it cannot take but reading it. 429 `mempool_full`, as
/// each of its transactions would get.
async fn refuse_batches_when_full(
    State(s): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (len, max) = {
        let mempool = s.mempool.lock().expect("mempool lock");
        (mempool.len(), mempool.limits().txs_max)
    };
    let full = if len >= max {
        TxError::MempoolFull {
            reason: format!(
                "it holds {len} transactions, its limit (txs_max {max}); the batch was not read"
            ),
        }
    } else {
        match s.client_room() {
            Ok(_) => return next.run(request).await,
            Err(full) => full,
        }
    };
    discard_body(request).await;
    ApiError::from(full).into_response()
}

/// Reads a request's body to its end, or to [`SUBMIT_BATCH_BODY_BYTES_MAX`],
/// keeping none of it. Answered before its body was read, a client still
/// sending it would find the connection closed and never see the answer;
/// it gets the 429 and its `Retry-After` instead.
async fn discard_body(request: Request) {
    use futures::StreamExt as _;
    let mut stream = request.into_body().into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > SUBMIT_BATCH_BODY_BYTES_MAX {
            break;
        }
    }
}

/// Lets a batch submission in once fewer than [`SUBMIT_BATCHES_RUNNING_MAX`]
/// are being read and admitted, before its body is read; 429 `busy` after
/// [`SUBMIT_BATCH_WAIT`].
async fn batch_turn(request: Request, next: Next) -> Response {
    match tokio::time::timeout(SUBMIT_BATCH_WAIT, SUBMIT_BATCH_SLOTS.acquire()).await {
        Ok(Ok(_turn)) => next.run(request).await,
        _ => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            "too many batches are being admitted; try again shortly",
        )
        .into_response(),
    }
}

/// The `Allow` header of a read-only resource.
const READ_ONLY_ALLOW: &str = "GET, HEAD";

fn method_not_allowed_response(message: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        message,
    )
    .into_response();
    response.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_static(READ_ONLY_ALLOW),
    );
    response
}

async fn read_only(request: Request, next: Next) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    method_not_allowed_response("the explorer is read-only: GET and HEAD only")
}

/// The API's answer to a method its route does not take. Every route but
/// `/v1/txs`, `/v1/txs/batch`, `/v1/awaiting` and `/v1/cosignatures` is
/// read-only; axum then sets `Allow` to the route's methods.
async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}", uri.path()),
    )
}

async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

/// Alive
///
/// 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is running.", body = String,
        content_type = "text/plain", example = "ok\n")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Caught up
///
/// 200 once the node has compared heights with a peer, no peer is more
/// than one block ahead and its store can be written; 503 until then, with
/// the same body.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready: caught up.", body = Readiness),
    (status = 503, description = "Not ready: no peer heard yet, catching up, or the store cannot be written.", body = Readiness),
))]
async fn readyz(State(s): State<AppState>) -> Response {
    let live = s.live.read().expect("live lock").clone();
    let height = s.state.read().expect("state lock").height().0;
    let store_writable = live.store_error.is_none();
    let ready = live.ready();
    let body = Readiness {
        ready,
        height,
        best_peer_height: live.best_peer_height,
        catching_up: live.catching_up,
        store_writable,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics
///
/// The Prometheus text format: `minhbach_height`, `minhbach_round`,
/// `minhbach_committed_txs_total`, `minhbach_committed_blocks_total`,
/// `minhbach_mempool_txs`, `minhbach_peers`, `minhbach_store_writable`
/// (1, or 0 while the store cannot be written),
/// `minhbach_store_write_failures_total`, the histogram
/// `minhbach_block_interval_seconds`, and
/// `minhbach_witness_cosigned_height{witness}`, the height of each
/// witness's latest cosignature this node holds.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4.",
        body = String, content_type = "text/plain; version=0.0.4")))]
async fn metrics_text(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

/// This document
///
/// The OpenAPI 3.1 document of this listener, generated from the node's
/// own routes and answer types.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document.", body = Object,
        content_type = "application/json")))]
async fn openapi_json(Extension(document): Extension<doc::Document>) -> Response {
    document.into_response()
}
