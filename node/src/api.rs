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
//! Errors have one shape, `{"error": {"code", "message"}}` ([`ErrorBody`]),
//! with the ledger's rejection codes where a transaction is refused.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use ledger::store::{HistoryEntry, TxLocation};
use ledger::{ContractId, EntityId, Hash, Height, SignedTx, TxError, ValidatorSet, Year};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::export::{self, Export, ExportError, Format};
use crate::shared::Shared;
use crate::wire::cursor;
use crate::wire::submission::{self, BatchRefusal, BodyFormat};

pub mod doc;
pub mod model;

use self::model::{
    BatchItem, BatchSubmitted, BlockView, BlocksPage, BudgetLineView, ContractView, EntityList,
    EntitySummary, EntityView, EvidenceList, EvidenceView, HistoryEntryView, HistoryPage,
    NodeStatus, Readiness, Submitted, TxBatchSubmission, TxStatus, TxSubmission, TxView,
    ValidatorView, ValidatorsAt,
};
pub use self::model::{ErrorBody, ErrorCode, ErrorDetail};

/// Most blocks in one page of `/v1/blocks`; a larger `limit` is capped.
pub const BLOCKS_PAGE_MAX: u64 = 100;
/// Blocks in a page of `/v1/blocks` when `limit` is not given.
pub const BLOCKS_PAGE_DEFAULT: u64 = 20;
/// Entries in one page of an entity's history.
pub const HISTORY_PAGE: usize = 100;
/// Most exports a node makes at once; each reads every block.
pub const EXPORTS_RUNNING_MAX: usize = 2;
/// Largest body `POST /v1/txs` reads: a largest transaction in base64 JSON
/// fits; anything longer is 413 `too_large` before it is decoded.
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

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with `code`, which must be one of [`model::error_codes`]:
    /// the document lists them, and clients match on them.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        debug_assert!(
            model::error_codes().any(|c| c == code),
            "error code {code:?} is not in the documented list"
        );
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_argument", message)
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: ErrorCode(self.code),
                message: self.message.clone(),
            },
        }
    }
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> ApiError {
        let status = match e.code() {
            "too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            "malformed" => StatusCode::BAD_REQUEST,
            "duplicate" => StatusCode::CONFLICT,
            "mempool_full" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.code(), tx_message(&e))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::bad_request(e.body_text())
    }
}

/// The explanation of a rejection without its leading code, which the error
/// shape carries in its own field.
pub fn tx_message(e: &TxError) -> String {
    let text = e.to_string();
    match text
        .strip_prefix(e.code())
        .and_then(|t| t.strip_prefix(": "))
    {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The query string, or 400 `invalid_argument` naming what is wrong with it.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(ApiError::from)
}

/// The operators' API: every read route plus `POST /v1/txs`, and the
/// document of exactly those at [`OPENAPI_PATH`].
pub fn api_router(shared: Arc<Shared>) -> Router {
    let mut submit = routes!(post_tx);
    submit.2 = submit
        .2
        .layer(DefaultBodyLimit::max(SUBMIT_BODY_BYTES_MAX))
        .layer(middleware::from_fn(within_submit_timeout));
    let mut submit_batch = routes!(post_tx_batch);
    submit_batch.2 = submit_batch
        .2
        .layer(DefaultBodyLimit::max(SUBMIT_BATCH_BODY_BYTES_MAX))
        .layer(middleware::from_fn(within_submit_timeout))
        .layer(middleware::from_fn(batch_turn))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            refuse_batches_when_full,
        ));
    let (router, openapi) = read_routes()
        .routes(submit)
        .routes(submit_batch)
        .split_for_parts();
    // The handlers' own description is the whole of the API's document.
    let document = doc::Document::new(openapi);
    router
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
        .layer(Extension(document))
}

/// The explorer: the read routes, the HTML pages of [`crate::explorer`],
/// and `GET /genesis.json`; any method but GET or HEAD is 405; rate-limited
/// per client. Its document at [`OPENAPI_PATH`] has no `POST /v1/txs`.
pub fn explorer_router(shared: Arc<Shared>, limits: crate::explorer::RateLimits) -> Router {
    let (router, openapi) = read_routes().split_for_parts();
    let document = doc::Document::new(doc::for_explorer(openapi));
    let router = router
        .with_state(shared.clone())
        .merge(crate::explorer::pages(shared))
        .layer(middleware::from_fn(read_only))
        .layer(Extension(document));
    crate::explorer::harden(router, limits)
}

fn read_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(doc::base())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
        .routes(routes!(openapi_json))
        .routes(routes!(status))
        .routes(routes!(blocks))
        .routes(routes!(block))
        .routes(routes!(tx))
        .routes(routes!(tx_proof))
        .routes(routes!(entities))
        .routes(routes!(entity))
        .routes(routes!(entity_txs))
        .routes(routes!(contract))
        .routes(routes!(validators))
        .routes(routes!(evidence))
        .routes(routes!(export_csv))
        .routes(routes!(export_ocds))
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

/// Refuses a batch submission whole, before its body is read, while the
/// mempool is full: an overloaded node spends nothing on load it cannot
/// take. 429 `mempool_full`, as each of its transactions would get.
async fn refuse_batches_when_full(
    State(s): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (len, max) = {
        let mempool = s.mempool.lock().expect("mempool lock");
        (mempool.len(), mempool.limits().txs_max)
    };
    if len >= max {
        return ApiError::from(TxError::MempoolFull {
            reason: format!(
                "it holds {len} transactions, its limit (txs_max {max}); the batch was not read"
            ),
        })
        .into_response();
    }
    next.run(request).await
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
/// `/v1/txs` is read-only; axum then sets `Allow` to the route's methods.
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
    let ready = live.heard_peer && !live.catching_up && store_writable;
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
/// `minhbach_store_write_failures_total` and the histogram
/// `minhbach_block_interval_seconds`.
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

/// RFC 3339 with milliseconds, UTC.
pub fn rfc3339(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

fn validator_views(set: &ValidatorSet) -> Vec<ValidatorView> {
    set.validators().iter().map(ValidatorView::from).collect()
}

/// The node and the tip of its chain
#[utoipa::path(get, path = "/v1/status", tag = "chain", responses(
    (status = 200, description = "The node's view of the chain.", body = NodeStatus),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
async fn status(State(s): State<AppState>) -> ApiResult<NodeStatus> {
    let meta = s
        .store
        .meta()
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("store not initialised"))?;
    let last_time = if meta.height.0 == 0 {
        s.genesis.genesis_time_ms
    } else {
        s.store
            .block(meta.height)
            .map_err(ApiError::internal)?
            .map(|b| b.header.time_ms)
            .unwrap_or(0)
    };
    let live = s.live.read().expect("live lock").clone();
    let validators = validator_views(s.state.read().expect("state lock").validators());
    let mempool_txs = s.mempool.lock().expect("mempool lock").len();
    Ok(Json(NodeStatus {
        chain_id: s.chain_id().to_owned(),
        node_id: s.node_id.clone(),
        name: s.name.clone(),
        height: meta.height.0,
        round: live.round,
        last_block_hash: meta.last_block_hash,
        last_block_time: rfc3339(last_time),
        validators,
        peers: live.peers,
        catching_up: live.catching_up,
        mempool_txs,
        store_writable: live.store_error.is_none(),
        store_error: live.store_error,
    }))
}

fn parse_height(s: &str, latest: u64) -> Result<Height, ApiError> {
    if s == "latest" {
        return Ok(Height(latest));
    }
    s.parse::<u64>().map(Height).map_err(|_| {
        ApiError::bad_request(format!("{s:?} is not a height (a number or \"latest\")"))
    })
}

fn last_height(s: &Shared) -> u64 {
    s.state.read().expect("state lock").height().0
}

/// One block
///
/// The block at a height, with its transactions' hashes, its evidence and
/// its commit certificate.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain",
    params(("height" = String, Path, description = "A height (1, 2, …) or `latest`.",
        example = "42")),
    responses(
        (status = 200, description = "The block.", body = BlockView),
        (status = 400, description = "`invalid_argument`: not a height.", body = ErrorBody),
        (status = 404, description = "`not_found`: no block at that height yet.", body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
async fn block(State(s): State<AppState>, Path(height): Path<String>) -> ApiResult<BlockView> {
    let h = parse_height(&height, last_height(&s))?;
    let block = s
        .store
        .block(h)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {h}")))?;
    let cert = s.store.cert(h).map_err(ApiError::internal)?;
    Ok(Json(BlockView::new(&block, cert.as_ref())))
}

/// A page of `/v1/blocks`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct BlocksQuery {
    /// Only blocks below this height (the previous page's `next`);
    /// the newest block when absent.
    before: Option<u64>,
    /// Blocks in the page: 20 when absent; values above 100 are capped to
    /// 100 and 0 counts as 1.
    limit: Option<u64>,
}

/// Blocks, newest first
///
/// Blocks without their certificates (`commit` is null), newest first.
/// Follow `next` with `?before=` for older ones.
#[utoipa::path(get, path = "/v1/blocks", tag = "chain", params(BlocksQuery), responses(
    (status = 200, description = "A page of blocks.", body = BlocksPage),
    (status = 400, description = "`invalid_argument`: `before` or `limit` is not a number.",
        body = ErrorBody),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
async fn blocks(
    State(s): State<AppState>,
    q: Result<Query<BlocksQuery>, QueryRejection>,
) -> ApiResult<BlocksPage> {
    let q = query(q)?;
    let top = last_height(&s);
    let before = q.before.unwrap_or(top + 1).min(top + 1);
    let limit = q
        .limit
        .unwrap_or(BLOCKS_PAGE_DEFAULT)
        .clamp(1, BLOCKS_PAGE_MAX);
    let mut out = Vec::new();
    let mut h = before;
    while h > 1 && (out.len() as u64) < limit {
        h -= 1;
        if let Some(b) = s.store.block(Height(h)).map_err(ApiError::internal)? {
            out.push(BlockView::new(&b, None));
        }
    }
    let next = (h > 1).then_some(h);
    Ok(Json(BlocksPage { blocks: out, next }))
}

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(s)
        .map_err(|_| ApiError::bad_request(format!("{s:?} is not a 64-digit hex hash")))
}

fn tx_view(tx: &SignedTx, status: TxStatus) -> TxView {
    TxView {
        hash: tx.hash(),
        status,
        height: None,
        index: None,
        signer: Some(tx.body.signer.clone()),
        nonce: Some(tx.body.nonce),
        op: Some(tx.body.op.clone()),
        block_hash: None,
        time: None,
        error: None,
    }
}

/// A transaction and where it stands
///
/// Committed (with its block), pending in this node's mempool, or rejected
/// (with the code and message of the rejection).
#[utoipa::path(get, path = "/v1/txs/{hash}", tag = "transactions",
    params(("hash" = String, Path, description = "The transaction hash, 64 hex digits.")),
    responses(
        (status = 200, description = "The transaction.", body = TxView),
        (status = 400, description = "`invalid_argument`: not a hash.", body = ErrorBody),
        (status = 404, description = "`not_found`: this node does not know it.", body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
async fn tx(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult<TxView> {
    let hash = parse_hash(&hash)?;
    if let Some(loc) = s.store.tx_location(&hash).map_err(ApiError::internal)? {
        let block = s
            .store
            .block(loc.height)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("indexed block missing"))?;
        // A damaged index must give an error answer, not a panic.
        let tx = block
            .txs
            .get(loc.index as usize)
            .ok_or_else(|| ApiError::internal("the transaction index points past its block"))?;
        return Ok(Json(TxView {
            height: Some(loc.height.0),
            index: Some(loc.index),
            block_hash: Some(block.hash()),
            time: Some(rfc3339(block.header.time_ms)),
            ..tx_view(tx, TxStatus::Committed)
        }));
    }
    if let Some(tx) = s.mempool.lock().expect("mempool lock").get(&hash) {
        return Ok(Json(tx_view(tx, TxStatus::Pending)));
    }
    if let Some(why) = s.rejected.lock().expect("rejections lock").get(&hash) {
        return Ok(Json(TxView {
            hash,
            status: TxStatus::Rejected,
            height: None,
            index: None,
            signer: None,
            nonce: None,
            op: None,
            block_hash: None,
            time: None,
            error: Some(ErrorDetail {
                code: ErrorCode(why.code()),
                message: tx_message(why),
            }),
        }));
    }
    Err(ApiError::not_found(format!(
        "transaction {hash} is not known here"
    )))
}

/// A transaction's audit bundle
///
/// The transaction, its Merkle path, its block header and certificate, and
/// the validator-set changes back to genesis, as a file to download and
/// check offline with `minhbach verify proof FILE --genesis genesis.json`.
/// The layout is in docs/audit-bundles.md.
#[utoipa::path(get, path = "/v1/txs/{hash}/proof", tag = "transactions",
    params(("hash" = String, Path, description = "The transaction hash, 64 hex digits.")),
    responses(
        (status = 200, description = "The audit bundle, as an attachment `proof-HASH.json`.",
            body = Object, content_type = "application/json"),
        (status = 400, description = "`invalid_argument`: not a hash.", body = ErrorBody),
        (status = 404, description = "`not_found`: not committed on this node.", body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
async fn tx_proof(
    State(s): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let genesis_hash = s.genesis.hash();
    // Building reads every block up to the transaction's: not on the
    // runtime's own threads.
    let built = tokio::task::spawn_blocking(move || {
        ledger::proof::AuditBundle::build(&s.store, genesis_hash, &hash)
    })
    .await
    .map_err(ApiError::internal)?;
    let bundle = built
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("transaction {hash} is not committed here")))?;
    let disposition = format!("attachment; filename=\"proof-{hash}.json\"");
    let headers = [
        (header::CONTENT_TYPE, "application/json".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, bundle.to_json()).into_response())
}

fn malformed(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
}

/// Submit a signed transaction (API listener only)
///
/// The body is the signed transaction's canonical bytes, or with
/// `Content-Type: application/json` the object `{"tx": "<base64>"}`. It is
/// checked and admitted to the mempool; poll `/v1/txs/{hash}` for the
/// verdict. The explorer listener answers 405.
#[utoipa::path(post, path = "/v1/txs", tag = "transactions",
    request_body(description = "A signed transaction, raw or as base64 in JSON.", content(
        (Vec<u8> = "application/octet-stream"),
        (TxSubmission = "application/json"),
    )),
    responses(
        (status = 202, description = "Admitted to the mempool.", body = Submitted),
        (status = 400, description = "`malformed`: not a transaction, or not `{\"tx\": \"<base64>\"}`.",
            body = ErrorBody),
        (status = 408, description = "`timeout`: the body did not arrive within 30 s.",
            body = ErrorBody),
        (status = 409, description = "`duplicate`: already pending or committed.", body = ErrorBody),
        (status = 413, description = "`too_large`: the body or the transaction is over the limit.",
            body = ErrorBody),
        (status = 422, description = "Refused by the ledger's rules: `wrong_chain`, \
            `bad_signature`, `bad_nonce`, `unknown_signer`, `inactive`, and for the signer's next \
            transaction every rule of its operation (`over_budget`, `over_contract`, …; see \
            `ErrorCode`). A later nonce is checked in full when it becomes next; if refused then, \
            `/v1/txs/{hash}` shows it `rejected`.", body = ErrorBody),
        (status = 429, description = "`mempool_full`: try again later.", body = ErrorBody),
    ))]
async fn post_tx(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let body = read_body(body, SUBMIT_BODY_BYTES_MAX)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let tx = submission::parse(BodyFormat::of_content_type(content_type), &body)?;
    let hash = s.admit(tx)?;
    Ok((StatusCode::ACCEPTED, Json(Submitted { hash })))
}

/// The body of a submission, or 413 `too_large` over `bytes_max`.
fn read_body(body: Result<Bytes, BytesRejection>, bytes_max: usize) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is over {bytes_max} bytes"),
            )
        } else {
            malformed(format!("the body could not be read: {}", e.body_text()))
        }
    })
}

/// Submit many signed transactions at once (API listener only)
///
/// The body is `{"txs": ["<base64>", …]}`, at most 4096 transactions. They
/// are admitted in order, their signatures checked as a batch, and each gets
/// its own answer: its hash, or the error `POST /v1/txs` would give. The
/// whole request is refused only when its shape is wrong or it is too large.
#[utoipa::path(post, path = "/v1/txs/batch", tag = "transactions",
    request_body(description = "Signed transactions, each as base64.",
        content((TxBatchSubmission = "application/json"))),
    responses(
        (status = 200, description = "One result per transaction, in order.", body = BatchSubmitted),
        (status = 400, description = "`malformed`: not `{\"txs\": [\"<base64>\", …]}`.",
            body = ErrorBody),
        (status = 408, description = "`timeout`: the body did not arrive, or the batch was not \
            admitted, within 30 s.", body = ErrorBody),
        (status = 413, description = "`too_large`: the body is over 16 MiB or holds more than \
            4096 transactions.", body = ErrorBody),
        (status = 429, description = "`mempool_full`: the mempool is full, and the batch was not \
            read; or `busy`: two batches are being admitted and this one waited 30 s for its \
            turn. Try again.", body = ErrorBody),
    ))]
async fn post_tx_batch(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchSubmitted>, ApiError> {
    let body = read_body(body, SUBMIT_BATCH_BODY_BYTES_MAX)?;
    // Each item is decoded on its own; one that is not a transaction gets
    // its own `malformed` answer and the others go on.
    let decoded = submission::parse_batch(&body, SUBMIT_BATCH_TXS_MAX).map_err(|e| match e {
        BatchRefusal::Malformed(reason) => malformed(reason),
        BatchRefusal::TooMany { count, max } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{count} transactions is over the {max} a batch may hold"),
        ),
    })?;
    let mut txs = Vec::with_capacity(decoded.len());
    let decoded: Vec<Result<(), TxError>> = decoded
        .into_iter()
        .map(|d| d.map(|tx| txs.push(tx)))
        .collect();
    // Checking signatures is CPU work: keep it off the async workers.
    let shared = s.clone();
    let mut admitted = tokio::task::spawn_blocking(move || shared.admit_batch(txs))
        .await
        .map_err(ApiError::internal)?
        .into_iter();
    let results: Vec<BatchItem> = decoded
        .into_iter()
        .map(
            |d| match d.and_then(|()| admitted.next().expect("one result per transaction")) {
                Ok(hash) => BatchItem::Admitted { hash },
                Err(e) => BatchItem::Refused {
                    error: ApiError::from(e).body().error,
                },
            },
        )
        .collect();
    let admitted = results
        .iter()
        .filter(|r| matches!(r, BatchItem::Admitted { .. }))
        .count();
    Ok(Json(BatchSubmitted { results, admitted }))
}

fn parse_entity(id: &str) -> Result<EntityId, ApiError> {
    EntityId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Every entity
///
/// The treasury, ministries, departments, vendors and observers, by id.
#[utoipa::path(get, path = "/v1/entities", tag = "spending",
    responses((status = 200, description = "All entities.", body = EntityList)))]
async fn entities(State(s): State<AppState>) -> Json<EntityList> {
    let state = s.state.read().expect("state lock");
    Json(EntityList {
        entities: state.entities().map(EntitySummary::from).collect(),
    })
}

/// One entity
///
/// Its key and status, the nonce its next transaction needs, and its four
/// figures on every budget line it has.
#[utoipa::path(get, path = "/v1/entities/{id}", tag = "spending",
    params(("id" = String, Path, description = "An entity id, `[A-Z0-9][A-Z0-9._-]{1,63}`.",
        example = "BYT-BVBM")),
    responses(
        (status = 200, description = "The entity.", body = EntityView),
        (status = 400, description = "`invalid_argument`: not an entity id.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such entity.", body = ErrorBody),
    ))]
async fn entity(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<EntityView> {
    let id = parse_entity(&id)?;
    let state = s.state.read().expect("state lock");
    let e = state
        .entity(&id)
        .ok_or_else(|| ApiError::not_found(format!("no entity {id}")))?;
    let budgets = state
        .budgets()
        .filter(|(owner, ..)| **owner == id)
        .map(|(_, year, line, f)| BudgetLineView::new(year, line, f))
        .collect();
    let next_nonce = s
        .mempool
        .lock()
        .expect("mempool lock")
        .next_nonce(&id, &state)
        .unwrap_or(e.nonce + 1);
    Ok(Json(EntityView {
        id: e.id.clone(),
        kind: e.kind,
        name: e.name.clone(),
        parent: e.parent.clone(),
        public_key: e.public_key,
        status: e.status,
        next_nonce,
        budgets,
    }))
}

/// A page of an entity's history.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CursorQuery {
    /// Where the previous page ended: its `next`, an opaque string.
    cursor: Option<String>,
}

fn parse_cursor(c: &str) -> Result<TxLocation, ApiError> {
    let (height, index) = cursor::parse(c).ok_or_else(|| {
        ApiError::bad_request(format!("{c:?} is not a cursor from a previous page"))
    })?;
    Ok(TxLocation {
        height: Height(height),
        index,
    })
}

fn cursor_of(location: TxLocation) -> String {
    cursor::format(location.height.0, location.index)
}

/// An entity's history
///
/// The committed transactions it signed or received, in chain order
/// (oldest first), 100 to a page. Follow `next` with `?cursor=`.
#[utoipa::path(get, path = "/v1/entities/{id}/txs", tag = "spending",
    params(("id" = String, Path, description = "An entity id.", example = "BYT-BVBM"),
        CursorQuery),
    responses(
        (status = 200, description = "A page of its history.", body = HistoryPage),
        (status = 400, description = "`invalid_argument`: not an entity id, or a bad cursor.",
            body = ErrorBody),
        (status = 404, description = "`not_found`: no such entity.", body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
async fn entity_txs(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<CursorQuery>, QueryRejection>,
) -> ApiResult<HistoryPage> {
    let id = parse_entity(&id)?;
    let q = query(q)?;
    if s.state.read().expect("state lock").entity(&id).is_none() {
        return Err(ApiError::not_found(format!("no entity {id}")));
    }
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    // One more than a page, to know whether another page follows.
    let mut page: Vec<HistoryEntry> = s
        .store
        .history(&id, after, HISTORY_PAGE + 1)
        .map_err(ApiError::internal)?;
    let more = page.len() > HISTORY_PAGE;
    page.truncate(HISTORY_PAGE);
    let next = more.then(|| cursor_of(page[page.len() - 1].location));
    Ok(Json(HistoryPage {
        txs: page.iter().map(HistoryEntryView::from).collect(),
        next,
    }))
}

/// One contract
///
/// Its parties, year and budget line, current amount, what was paid and
/// the deliveries recorded.
#[utoipa::path(get, path = "/v1/contracts/{id}", tag = "spending",
    params(("id" = String, Path, description = "A contract id, `[A-Z0-9][A-Z0-9._-]{1,63}`.",
        example = "C-17")),
    responses(
        (status = 200, description = "The contract.", body = ContractView),
        (status = 400, description = "`invalid_argument`: not a contract id.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such contract.", body = ErrorBody),
    ))]
async fn contract(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<ContractView> {
    let id = ContractId::new(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let state = s.state.read().expect("state lock");
    let c = state
        .contract(&id)
        .ok_or_else(|| ApiError::not_found(format!("no contract {id}")))?;
    Ok(Json(ContractView::new(c, &state.deliveries(&id))))
}

/// Which validator set.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HeightQuery {
    /// The height the set decides: any committed height, the next height,
    /// or the one after; the next height when absent.
    height: Option<u64>,
}

/// The validator set at a height
#[utoipa::path(get, path = "/v1/validators", tag = "chain", params(HeightQuery), responses(
    (status = 200, description = "The set deciding that height.", body = ValidatorsAt),
    (status = 400, description = "`invalid_argument`: `height` is not a number.", body = ErrorBody),
    (status = 404, description = "`not_found`: height 0, or too far ahead to know.",
        body = ErrorBody),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
async fn validators(
    State(s): State<AppState>,
    q: Result<Query<HeightQuery>, QueryRejection>,
) -> ApiResult<ValidatorsAt> {
    let q = query(q)?;
    // The state after block L knows set(L+1) and set(L+2).
    let (next, current, after) = {
        let state = s.state.read().expect("state lock");
        (
            state.height().0 + 1,
            state.validators().clone(),
            state.next_validators().clone(),
        )
    };
    let h = q.height.unwrap_or(next);
    let set = if h == next {
        current
    } else if h == next + 1 {
        after
    } else if h == 0 || h > next + 1 {
        return Err(ApiError::not_found(format!(
            "no validator set is known yet for height {h}; the next height is {next}"
        )));
    } else {
        let block = s
            .store
            .block(Height(h))
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("no block at height {h}")))?;
        s.store
            .validator_set(&block.header.validators_hash)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("validator set missing"))?
    };
    Ok(Json(ValidatorsAt {
        height: h,
        total_power: set.total_power(),
        validators: validator_views(&set),
    }))
}

/// Committed evidence of equivocation
#[utoipa::path(get, path = "/v1/evidence", tag = "chain", responses(
    (status = 200, description = "Every piece of committed evidence.", body = EvidenceList),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
async fn evidence(State(s): State<AppState>) -> ApiResult<EvidenceList> {
    let evidence = s
        .store
        .evidence()
        .map_err(ApiError::internal)?
        .iter()
        .map(|(h, e)| EvidenceView::new(*h, e))
        .collect();
    Ok(Json(EvidenceList { evidence }))
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::NoContracts { .. } => ApiError::not_found(e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

// The bounds written out in `ExportQuery`'s attribute, which takes literals.
const _: () = assert!(Year::FIRST == 2000 && Year::LAST == 2100);

/// Which contracts an export holds.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// Only the contracts of this fiscal year (2000 to 2100) and their
    /// payments; every year when absent. No other parameter is accepted.
    #[param(value_type = Option<u16>, minimum = 2000, maximum = 2100)]
    year: Option<String>,
}

/// Takes an export off the async threads: it reads every block.
async fn take_export(
    s: AppState,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Export, ApiError> {
    let q = query(q)?;
    let year = q.year.as_deref().map(parse_year).transpose()?;
    let _slot = EXPORT_SLOTS.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!("{EXPORTS_RUNNING_MAX} exports are already running; try again shortly"),
        )
    })?;
    let export = tokio::task::spawn_blocking(move || export::take_from(&s, year))
        .await
        .map_err(ApiError::internal)??;
    Ok(export)
}

fn parse_year(s: &str) -> Result<Year, ApiError> {
    s.parse::<u16>()
        .ok()
        .and_then(|y| Year::new(y).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "year {s:?} is not a fiscal year from {} to {}",
                Year::FIRST,
                Year::LAST
            ))
        })
}

fn download(
    export: &Export,
    format: Format,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", export.file_name(format));
    let headers = [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::HeaderName::from_static(EXPORT_HEIGHT_HEADER),
            export.as_of.height.0.to_string(),
        ),
        (
            header::HeaderName::from_static(EXPORT_BLOCK_HASH_HEADER),
            export.as_of.block_hash.to_hex(),
        ),
    ];
    (headers, body).into_response()
}

/// Contracts and payments as CSV
///
/// One table of UTF-8 CSV with a `record_type` column (`snapshot`,
/// `contract`, `payment`), taken at the last committed block, which every
/// row, the file name and two headers name. Columns: docs/exports.md.
#[utoipa::path(get, path = "/v1/export.csv", tag = "exports", params(ExportQuery), responses(
    (status = 200, description = "The CSV, as an attachment.", body = String,
        content_type = "text/csv; charset=utf-8", headers(
            ("x-minhbach-height" = u64, description = "The height the export was taken at."),
            ("x-minhbach-block-hash" = String, description = "That block's hash."),
        )),
    (status = 400, description = "`invalid_argument`: a bad `year` or another parameter.",
        body = ErrorBody),
    (status = 429, description = "`busy`: too many exports running; try again shortly.",
        body = ErrorBody),
    (status = 500, description = "The chain could not be read, or disagrees with the state.",
        body = ErrorBody),
))]
async fn export_csv(
    State(s): State<AppState>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let export = take_export(s, q).await?;
    let body = export.to_csv()?;
    Ok(download(
        &export,
        Format::Csv,
        "text/csv; charset=utf-8",
        body,
    ))
}

/// Contracts and payments as an OCDS release package
///
/// An OCDS 1.1.5 release package, one release per contract, taken at the
/// last committed block. Unlike the rest of the API, amounts are JSON
/// numbers, as OCDS requires. Mapping: docs/exports.md.
#[utoipa::path(get, path = "/v1/export/ocds.json", tag = "exports", params(ExportQuery),
    responses(
        (status = 200, description = "The release package, as an attachment.", body = Object,
            content_type = "application/json", headers(
                ("x-minhbach-height" = u64, description = "The height the export was taken at."),
                ("x-minhbach-block-hash" = String, description = "That block's hash."),
            )),
        (status = 400, description = "`invalid_argument`: a bad `year` or another parameter.",
            body = ErrorBody),
        (status = 404, description = "`not_found`: no contract (in that year) to publish.",
            body = ErrorBody),
        (status = 429, description = "`busy`: too many exports running; try again shortly.",
            body = ErrorBody),
        (status = 500, description = "The chain could not be read, or disagrees with the state.",
            body = ErrorBody),
    ))]
async fn export_ocds(
    State(s): State<AppState>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let export = take_export(s, q).await?;
    let body = serde_json::to_vec_pretty(&export.to_ocds()?).map_err(ApiError::internal)?;
    Ok(download(&export, Format::Ocds, "application/json", body))
}
