//! The HTTP API (SPEC §8), with axum. Two routers share the handlers: the
//! operators' API, which also accepts transactions, and the explorer, which
//! answers GET and HEAD only (405 for anything else) and never writes.
//!
//! Errors have one shape, `{"error": {"code", "message"}}`, with the ledger's
//! rejection codes where a transaction is refused.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use ledger::store::{HistoryEntry, TxLocation};
use ledger::{
    Block, ContractId, EntityId, Evidence, Hash, Height, SignedTx, TxError, ValidatorSet, Year,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::limit::RequestBodyLimitLayer;

use crate::export::{self, Export, ExportError, Format};
use crate::shared::Shared;

/// Most blocks in one page of `/v1/blocks`.
pub const BLOCKS_PAGE_MAX: u64 = 100;
/// Entries in one page of an entity's history.
pub const HISTORY_PAGE: usize = 100;
/// Most exports a node makes at once; each reads every block.
pub const EXPORTS_RUNNING_MAX: usize = 2;
/// The response header that names the height an export was taken at.
pub const EXPORT_HEIGHT_HEADER: &str = "x-minhbach-height";
/// The response header that names the hash of that block.
pub const EXPORT_BLOCK_HASH_HEADER: &str = "x-minhbach-block-hash";

static EXPORT_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(EXPORTS_RUNNING_MAX);

type AppState = Arc<Shared>;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
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
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// The operators' API: every read route plus `POST /v1/txs`.
pub fn api_router(shared: Arc<Shared>) -> Router {
    let submit = axum::routing::post(post_tx)
        .layer(RequestBodyLimitLayer::new(ledger::codec::TX_BYTES_MAX * 2));
    read_routes().route("/v1/txs", submit).with_state(shared)
}

/// The explorer: the read routes, the HTML pages of [`crate::explorer`],
/// and `GET /genesis.json`; any method but GET or HEAD is 405; rate-limited
/// per client.
pub fn explorer_router(shared: Arc<Shared>, limits: crate::explorer::RateLimits) -> Router {
    let router = read_routes()
        .with_state(shared.clone())
        .merge(crate::explorer::pages(shared))
        .layer(middleware::from_fn(read_only));
    crate::explorer::harden(router, limits)
}

fn read_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/v1/status", get(status))
        .route("/v1/blocks", get(blocks))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/txs/{hash}", get(tx))
        .route("/v1/txs/{hash}/proof", get(tx_proof))
        .route("/v1/entities", get(entities))
        .route("/v1/entities/{id}", get(entity))
        .route("/v1/entities/{id}/txs", get(entity_txs))
        .route("/v1/contracts/{id}", get(contract))
        .route("/v1/validators", get(validators))
        .route("/v1/evidence", get(evidence))
        .route("/v1/export.csv", get(export_csv))
        .route("/v1/export/ocds.json", get(export_ocds))
}

async fn read_only(request: Request, next: Next) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "the explorer is read-only: GET and HEAD only",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, "GET, HEAD".parse().expect("a valid header"));
    response
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> Response {
    let live = s.live.read().expect("live lock").clone();
    let height = s.state.read().expect("state lock").height().0;
    let body = json!({"ready": live.heard_peer && !live.catching_up, "height": height,
        "best_peer_height": live.best_peer_height, "catching_up": live.catching_up});
    let status = if live.heard_peer && !live.catching_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics_text(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

/// RFC 3339 with milliseconds, UTC.
pub fn rfc3339(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

fn validators_json(set: &ValidatorSet) -> Value {
    Value::Array(
        set.validators()
            .iter()
            .map(|v| {
                json!({"name": v.name, "public_key": v.consensus_key, "peer_id": v.peer_id.to_string(),
                    "power": v.power})
            })
            .collect(),
    )
}

async fn status(State(s): State<AppState>) -> ApiResult {
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
    let validators = validators_json(s.state.read().expect("state lock").validators());
    let mempool_txs = s.mempool.lock().expect("mempool lock").len();
    Ok(Json(json!({
        "chain_id": s.chain_id(),
        "node_id": s.node_id,
        "name": s.name,
        "height": meta.height.0,
        "round": live.round,
        "last_block_hash": meta.last_block_hash,
        "last_block_time": rfc3339(last_time),
        "validators": validators,
        "peers": live.peers,
        "catching_up": live.catching_up,
        "mempool_txs": mempool_txs,
    })))
}

fn block_json(block: &Block, cert: Option<&ledger::CommitCertificate>) -> Value {
    let h = &block.header;
    json!({
        "hash": block.hash(),
        "header": {
            "chain_id": h.chain_id,
            "height": h.height.0,
            "time": rfc3339(h.time_ms),
            "prev_hash": h.prev_hash,
            "tx_count": h.tx_count,
            "txs_root": h.txs_root,
            "state_root": h.state_root,
            "last_commit_hash": h.last_commit_hash,
            "evidence_hash": h.evidence_hash,
            "validators_hash": h.validators_hash,
            "next_validators_hash": h.next_validators_hash,
            "proposer": h.proposer,
        },
        "txs": block.txs.iter().map(|t| t.hash()).collect::<Vec<_>>(),
        "evidence": block.evidence.iter().map(|e| evidence_json(h.height, e)).collect::<Vec<_>>(),
        "commit": cert.map(|c| json!({
            "round": c.round,
            "precommits": c.precommits.iter().map(|v| json!({"validator": v.validator, "signature": v.signature.to_hex()})).collect::<Vec<_>>(),
        })),
    })
}

fn evidence_json(committed_at: Height, e: &Evidence) -> Value {
    json!({
        "committed_at": committed_at.0,
        "height": e.a.height.0,
        "round": e.a.round,
        "validator": e.a.validator,
        "vote_type": format!("{:?}", e.a.vote_type).to_lowercase(),
        "values": [e.a.block_hash, e.b.block_hash],
    })
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

async fn block(State(s): State<AppState>, Path(height): Path<String>) -> ApiResult {
    let h = parse_height(&height, last_height(&s))?;
    let block = s
        .store
        .block(h)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {h}")))?;
    let cert = s.store.cert(h).map_err(ApiError::internal)?;
    Ok(Json(block_json(&block, cert.as_ref())))
}

#[derive(Deserialize)]
struct BlocksQuery {
    before: Option<u64>,
    limit: Option<u64>,
}

async fn blocks(State(s): State<AppState>, Query(q): Query<BlocksQuery>) -> ApiResult {
    let top = last_height(&s);
    let before = q.before.unwrap_or(top + 1).min(top + 1);
    let limit = q.limit.unwrap_or(20).clamp(1, BLOCKS_PAGE_MAX);
    let mut out = Vec::new();
    let mut h = before;
    while h > 1 && (out.len() as u64) < limit {
        h -= 1;
        if let Some(b) = s.store.block(Height(h)).map_err(ApiError::internal)? {
            out.push(block_json(&b, None));
        }
    }
    let next = (h > 1).then_some(h);
    Ok(Json(json!({"blocks": out, "next": next})))
}

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(s)
        .map_err(|_| ApiError::bad_request(format!("{s:?} is not a 64-digit hex hash")))
}

fn tx_json(tx: &SignedTx, status: &str) -> Value {
    json!({
        "hash": tx.hash(),
        "status": status,
        "height": null,
        "index": null,
        "signer": tx.body.signer,
        "nonce": tx.body.nonce,
        "op": tx.body.op,
    })
}

async fn tx(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult {
    let hash = parse_hash(&hash)?;
    if let Some(loc) = s.store.tx_location(&hash).map_err(ApiError::internal)? {
        let block = s
            .store
            .block(loc.height)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("indexed block missing"))?;
        let tx = &block.txs[loc.index as usize];
        let mut v = tx_json(tx, "committed");
        v["height"] = json!(loc.height.0);
        v["index"] = json!(loc.index);
        v["block_hash"] = json!(block.hash());
        v["time"] = json!(rfc3339(block.header.time_ms));
        return Ok(Json(v));
    }
    if let Some(tx) = s.mempool.lock().expect("mempool lock").get(&hash) {
        return Ok(Json(tx_json(tx, "pending")));
    }
    if let Some(why) = s.rejected.lock().expect("rejections lock").get(&hash) {
        return Ok(Json(json!({
            "hash": hash, "status": "rejected", "height": null, "index": null,
            "error": {"code": why.code(), "message": tx_message(why)},
        })));
    }
    Err(ApiError::not_found(format!(
        "transaction {hash} is not known here"
    )))
}

/// The audit bundle of a committed transaction, as a file to download.
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

#[derive(Deserialize)]
struct TxBody {
    tx: String,
}

async fn post_tx(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = if json {
        let parsed: TxBody = match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("the body is not {{\"tx\": \"<base64>\"}}: {e}"),
                )
                .into_response()
            }
        };
        match base64::engine::general_purpose::STANDARD.decode(parsed.tx.trim()) {
            Ok(b) => b,
            Err(e) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("\"tx\" is not base64: {e}"),
                )
                .into_response()
            }
        }
    } else {
        body.to_vec()
    };
    let tx = match SignedTx::decode(&bytes) {
        Ok(tx) => tx,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match s.admit(tx) {
        Ok(hash) => (StatusCode::ACCEPTED, Json(json!({"hash": hash}))).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn parse_entity(id: &str) -> Result<EntityId, ApiError> {
    EntityId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn entities(State(s): State<AppState>) -> ApiResult {
    let state = s.state.read().expect("state lock");
    let list: Vec<Value> = state
        .entities()
        .map(|e| json!({"id": e.id, "kind": e.kind, "name": e.name, "parent": e.parent, "status": e.status}))
        .collect();
    Ok(Json(json!({"entities": list})))
}

async fn entity(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_entity(&id)?;
    let state = s.state.read().expect("state lock");
    let e = state
        .entity(&id)
        .ok_or_else(|| ApiError::not_found(format!("no entity {id}")))?;
    let budgets: Vec<Value> = state
        .budgets()
        .filter(|(owner, ..)| **owner == id)
        .map(|(_, year, line, f)| {
            json!({"year": year, "line": line, "received": f.received, "passed_on": f.passed_on,
                "committed": f.committed, "paid": f.paid, "available": f.available()})
        })
        .collect();
    let next_nonce = s
        .mempool
        .lock()
        .expect("mempool lock")
        .next_nonce(&id, &state)
        .unwrap_or(e.nonce + 1);
    Ok(Json(json!({
        "id": e.id, "kind": e.kind, "name": e.name, "parent": e.parent,
        "public_key": e.public_key, "status": e.status, "next_nonce": next_nonce,
        "budgets": budgets,
    })))
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

fn parse_cursor(c: &str) -> Result<TxLocation, ApiError> {
    let bad = || ApiError::bad_request(format!("{c:?} is not a cursor (HEIGHT.INDEX)"));
    let (h, i) = c.split_once('.').ok_or_else(bad)?;
    Ok(TxLocation {
        height: Height(h.parse().map_err(|_| bad())?),
        index: i.parse().map_err(|_| bad())?,
    })
}

async fn entity_txs(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CursorQuery>,
) -> ApiResult {
    let id = parse_entity(&id)?;
    if s.state.read().expect("state lock").entity(&id).is_none() {
        return Err(ApiError::not_found(format!("no entity {id}")));
    }
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let page: Vec<HistoryEntry> = s
        .store
        .history(&id, after, HISTORY_PAGE)
        .map_err(ApiError::internal)?;
    let next = (page.len() == HISTORY_PAGE).then(|| {
        let last = page[page.len() - 1].location;
        format!("{}.{}", last.height.0, last.index)
    });
    let txs: Vec<Value> = page
        .iter()
        .map(|e| json!({"hash": e.tx_hash, "height": e.location.height.0, "index": e.location.index}))
        .collect();
    Ok(Json(json!({"txs": txs, "next": next})))
}

async fn contract(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = ContractId::new(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let state = s.state.read().expect("state lock");
    let c = state
        .contract(&id)
        .ok_or_else(|| ApiError::not_found(format!("no contract {id}")))?;
    let deliveries: Vec<Value> = state
        .deliveries(&id)
        .into_iter()
        .map(|d| json!({"milestone": d.milestone, "note": d.note, "height": d.height.0}))
        .collect();
    Ok(Json(json!({
        "id": c.id, "department": c.department, "vendor": c.vendor, "year": c.year,
        "line": c.line, "amount": c.amount, "paid": c.paid, "title": c.title,
        "document_hash": c.document_hash, "awarded_at": c.awarded_at.0,
        "deliveries": deliveries,
    })))
}

#[derive(Deserialize)]
struct HeightQuery {
    height: Option<u64>,
}

async fn validators(State(s): State<AppState>, Query(q): Query<HeightQuery>) -> ApiResult {
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
    Ok(Json(
        json!({"height": h, "total_power": set.total_power(), "validators": validators_json(&set)}),
    ))
}

async fn evidence(State(s): State<AppState>) -> ApiResult {
    let list: Vec<Value> = s
        .store
        .evidence()
        .map_err(ApiError::internal)?
        .iter()
        .map(|(h, e)| evidence_json(*h, e))
        .collect();
    Ok(Json(json!({"evidence": list})))
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::NoContracts { .. } => ApiError::not_found(e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    year: Option<String>,
}

/// Takes an export off the async threads: it reads every block.
async fn take_export(
    s: AppState,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Export, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
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
            ApiError::bad_request(format!("year {s:?} is not a fiscal year from 2000 to 2999"))
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

async fn export_ocds(
    State(s): State<AppState>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let export = take_export(s, q).await?;
    let body = serde_json::to_vec_pretty(&export.to_ocds()?).map_err(ApiError::internal)?;
    Ok(download(&export, Format::Ocds, "application/json", body))
}
