//! Outside witnesses: checkpoints of the history and the proofs between
//! them, which witnesses fetch; the witnesses and the cosignatures they
//! posted here; and `POST /v1/cosignatures`, by which a witness leaves its
//! latest cosignature with this node (API listener only).
//!
//! A checkpoint at height H is block H's hash and the root of the history
//! tree over blocks 1..=H, with what proves it from the genesis file
//! (`ledger::witness::CheckpointProof`). A witness checks it, checks that
//! it extends the last one it cosigned (`GET /v1/consistency`), signs it,
//! and posts its cosignature back.

use ledger::tx::EntityKind;
use ledger::witness::{CheckpointProof, Cosignature, CosignatureRefused, COSIGNATURE_BYTES_MAX};

use super::chain::{last_height, parse_height};
use super::model::{
    ConsistencyView, CosignatureKept, CosignatureList, CosignedAt, WitnessList, WitnessView,
};
use super::submit::{malformed, read_body};
use super::*;

/// The gauge of the height of each witness's latest cosignature held here.
pub const COSIGNED_HEIGHT_GAUGE: &str = "minhbach_witness_cosigned_height";

/// One admission at a time: the check that a cosignature is newer than the
/// one held and the write that replaces it are one step, so two posts of
/// one witness cannot both pass the check.
static ADMITTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn set_cosigned_gauge(witness: &EntityId, height: Height) {
    metrics::gauge!(COSIGNED_HEIGHT_GAUGE, "witness" => witness.to_string()).set(height.0 as f64);
}

/// Sets [`COSIGNED_HEIGHT_GAUGE`] for every cosignature already held, so
/// that after a restart `/metrics` shows each witness before it posts
/// again.
pub(super) fn publish_held(s: &Shared) {
    match s.store.cosignatures() {
        Ok(held) => held
            .iter()
            .for_each(|c| set_cosigned_gauge(&c.witness, c.height)),
        Err(e) => tracing::warn!("the cosignatures held could not be read: {e}"),
    }
}

/// The checkpoint at `h` as its JSON, or 404.
async fn checkpoint_at(s: AppState, h: Height) -> Result<Response, ApiError> {
    // Building reads every validator-set change back to genesis: not on
    // the runtime's own threads.
    let built = tokio::task::spawn_blocking(move || CheckpointProof::build(&s.store, h))
        .await
        .map_err(ApiError::internal)?;
    let proof = built?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {h} to checkpoint")))?;
    let body = serde_json::to_vec(&proof).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The latest checkpoint
///
/// The checkpoint at the last committed height, with block H's header and
/// certificate, the history tree's peaks over blocks 1..H−1 and every
/// validator-set change from genesis: a witness checks it from the genesis
/// file alone (`CheckpointProof::decode`, then `verify`). Format
/// `minhbach-checkpoint`, version 1.
#[utoipa::path(get, path = "/v1/checkpoint", tag = "witnesses", responses(
    (status = 200, description = "The checkpoint proof.", body = Object,
        content_type = "application/json"),
    (status = 404, description = "`not_found`: no block committed yet.", body = ErrorBody),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
pub(super) async fn latest_checkpoint(State(s): State<AppState>) -> Result<Response, ApiError> {
    let h = Height(last_height(&s));
    checkpoint_at(s, h).await
}

/// The checkpoint at a height
///
/// As `/v1/checkpoint`, for block H.
#[utoipa::path(get, path = "/v1/checkpoints/{height}", tag = "witnesses",
    params(("height" = String, Path, description = "A height (1, 2, …) or `latest`.",
        example = "42")),
    responses(
        (status = 200, description = "The checkpoint proof.", body = Object,
            content_type = "application/json"),
        (status = 400, description = "`invalid_argument`: not a height.", body = ErrorBody),
        (status = 404, description = "`not_found`: height 0, or not committed yet.",
            body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
pub(super) async fn checkpoint(
    State(s): State<AppState>,
    Path(height): Path<String>,
) -> Result<Response, ApiError> {
    let h = parse_height(&height, last_height(&s))?;
    checkpoint_at(s, h).await
}

/// Which two histories.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ConsistencyQuery {
    /// M ≥ 1: the older history holds blocks 1..=M.
    from: u64,
    /// N ≥ M: the newer history holds blocks 1..=N.
    to: u64,
}

/// The proof that one history extends another
///
/// The RFC 6962 consistency proof from the history tree over blocks 1..=M
/// to the tree over blocks 1..=N: with the two checkpoints' roots, it
/// proves that no block up to M was changed or removed.
#[utoipa::path(get, path = "/v1/consistency", tag = "witnesses", params(ConsistencyQuery),
    responses(
        (status = 200, description = "The consistency proof.", body = ConsistencyView),
        (status = 400, description = "`invalid_argument`: `from` or `to` missing or not a \
            number, `from` is 0, or `from` is above `to`.", body = ErrorBody),
        (status = 404, description = "`not_found`: `to` is above the last committed height.",
            body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
pub(super) async fn consistency(
    State(s): State<AppState>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> ApiResult<ConsistencyView> {
    let ConsistencyQuery { from, to } = query(q)?;
    if from == 0 {
        return Err(ApiError::bad_request(
            "from must be at least 1: the history over no block has nothing to extend",
        ));
    }
    if from > to {
        return Err(ApiError::bad_request(format!(
            "from ({from}) is above to ({to}): a history extends only a shorter one"
        )));
    }
    let top = last_height(&s);
    if to > top {
        return Err(ApiError::not_found(format!(
            "no history over blocks 1..={to}: this node is at height {top}"
        )));
    }
    let proof = s
        .store
        .history_consistency(Height(from), Height(to))?
        .ok_or_else(|| ApiError::internal("no consistency proof for sizes in order"))?;
    Ok(Json(ConsistencyView::from(proof)))
}

/// The witnesses
///
/// Every entity of kind `observer` in the committed state, with the height
/// and time of its latest cosignature held by this node.
#[utoipa::path(get, path = "/v1/witnesses", tag = "witnesses", responses(
    (status = 200, description = "The witnesses, by id.", body = WitnessList),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
pub(super) async fn witnesses(State(s): State<AppState>) -> ApiResult<WitnessList> {
    let (height, observers) = {
        let state = s.state.read().expect("state lock");
        let observers: Vec<_> = state
            .entities()
            .filter(|e| e.kind == EntityKind::Observer)
            .cloned()
            .collect();
        (state.height().0, observers)
    };
    let mut witnesses = Vec::with_capacity(observers.len());
    for e in observers {
        let held = s.store.cosignature(&e.id).map_err(ApiError::internal)?;
        witnesses.push(WitnessView {
            id: e.id,
            name: e.name,
            keys: e.keys,
            status: e.status,
            latest_cosignature: held.map(|c| CosignedAt {
                height: c.height.0,
                time_ms: c.time_ms,
            }),
        });
    }
    Ok(Json(WitnessList { height, witnesses }))
}

/// The cosignatures held here
///
/// The latest cosignature of each witness that posted one to this node, by
/// witness id. Cosignatures are not part of consensus: each node holds
/// those posted to it.
#[utoipa::path(get, path = "/v1/cosignatures", tag = "witnesses", responses(
    (status = 200, description = "The cosignatures.", body = CosignatureList),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
pub(super) async fn cosignatures(State(s): State<AppState>) -> ApiResult<CosignatureList> {
    let cosignatures = s.store.cosignatures().map_err(ApiError::internal)?;
    Ok(Json(CosignatureList { cosignatures }))
}

/// The answer to a refused cosignature: 403 when its signer is not an
/// active witness holding that key, 422 when it does not check against
/// this chain, 409 when it conflicts with what this node holds.
fn refused(e: CosignatureRefused) -> ApiError {
    use CosignatureRefused as R;
    let (status, code) = match &e {
        R::UnknownWitness(_) => (StatusCode::FORBIDDEN, "unknown_witness"),
        R::NotAWitness(_) => (StatusCode::FORBIDDEN, "not_a_witness"),
        R::Suspended(_) => (StatusCode::FORBIDDEN, "witness_suspended"),
        R::WrongKey(_) => (StatusCode::FORBIDDEN, "wrong_key"),
        R::BadSignature(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"),
        R::WrongChain { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "wrong_chain"),
        R::HeightZero => (StatusCode::UNPROCESSABLE_ENTITY, "height_zero"),
        R::NotReached { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "not_reached"),
        R::OtherHistory { .. } => (StatusCode::CONFLICT, "other_history"),
        R::NotNewer { .. } => (StatusCode::CONFLICT, "not_newer"),
    };
    ApiError::new(status, code, e.to_string())
}

/// Post a witness's cosignature (API listener only)
///
/// The body is one cosignature as JSON (`ledger::witness::Cosignature`, at
/// most 4096 bytes, no other field). It is kept as its witness's latest if
/// the witness is an active `observer` holding the key that signed, the
/// signature verifies, the checkpoint is this chain's at a height this
/// node has committed, and it is newer than the one held. Nothing is kept
/// otherwise. The explorer listener answers 405.
#[utoipa::path(post, path = "/v1/cosignatures", tag = "witnesses",
    request_body(description = "One cosignature.", content((Cosignature = "application/json"))),
    responses(
        (status = 200, description = "Kept as the witness's latest.", body = CosignatureKept),
        (status = 400, description = "`malformed`: not one cosignature as JSON (a field missing \
            or unknown, trailing bytes).", body = ErrorBody),
        (status = 403, description = "`unknown_witness`: no such entity; `not_a_witness`: not of \
            kind observer; `witness_suspended`; `wrong_key`: not one of the witness's current keys.",
            body = ErrorBody),
        (status = 408, description = "`timeout`: the body did not arrive within 30 s.",
            body = ErrorBody),
        (status = 409, description = "`other_history`: the root is not this chain's at that \
            height; `not_newer`: this node holds one of the witness's at that height or above.",
            body = ErrorBody),
        (status = 413, description = "`too_large`: the body is over 4096 bytes.",
            body = ErrorBody),
        (status = 422, description = "`bad_signature`; `wrong_chain`: for another chain; \
            `height_zero`; `not_reached`: a height this node has not committed.",
            body = ErrorBody),
        (status = 500, description = "The store could not be read or written.", body = ErrorBody),
    ))]
pub(super) async fn post_cosignature(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CosignatureKept>, ApiError> {
    let body = read_body(body, COSIGNATURE_BYTES_MAX)?;
    let c = Cosignature::decode(&body).map_err(|e| match e {
        ledger::witness::WitnessError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over {COSIGNATURE_BYTES_MAX} bytes"),
        ),
        other => malformed(other.to_string()),
    })?;
    // A signature check and a synced write: off the async workers.
    let admitted = tokio::task::spawn_blocking(move || {
        let _one = ADMITTING.lock().unwrap_or_else(|e| e.into_inner());
        // Read what the state says under its lock, then check and write
        // without it: commits wait for that lock.
        let view =
            ledger::witness::WitnessView::of(&s.state.read().expect("state lock"), &c.witness);
        s.store
            .admit_cosignature_with(&c, &view)
            .map(|r| r.map(|()| c))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let c = admitted.map_err(refused)?;
    set_cosigned_gauge(&c.witness, c.height);
    Ok(Json(CosignatureKept {
        witness: c.witness,
        height: c.height.0,
    }))
}
