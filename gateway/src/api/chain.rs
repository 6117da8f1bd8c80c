//! The chain: status, blocks, transactions and their audit bundles,
//! validator sets and evidence.

use super::*;

pub(super) fn validator_views(set: &ValidatorSet) -> Vec<ValidatorView> {
    set.validators().iter().map(ValidatorView::from).collect()
}

/// The node and the tip of its chain
#[utoipa::path(get, path = "/v1/status", tag = "chain", responses(
    (status = 200, description = "The node's view of the chain.", body = NodeStatus),
    (status = 500, description = "The store could not be read.", body = ErrorBody),
))]
pub(super) async fn status(State(s): State<AppState>) -> ApiResult<NodeStatus> {
    let meta = s
        .store
        .meta()
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("store not initialised"))?;
    let last_time = if meta.height.0 == 0 {
        s.genesis.genesis_time_ms
    } else {
        s.store
            .header(meta.height)
            .map_err(ApiError::internal)?
            .map(|h| h.time_ms)
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
        holds_from: match s.store.base()? {
            Height(0) => None,
            base => Some(base.0),
        },
        store_writable: live.store_error.is_none(),
        store_error: live.store_error,
    }))
}

pub(super) fn parse_height(s: &str, latest: u64) -> Result<Height, ApiError> {
    if s == "latest" {
        return Ok(Height(latest));
    }
    s.parse::<u64>().map(Height).map_err(|_| {
        ApiError::bad_request(format!("{s:?} is not a height (a number or \"latest\")"))
    })
}

pub(super) fn last_height(s: &Shared) -> u64 {
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
pub(super) async fn block(
    State(s): State<AppState>,
    Path(height): Path<String>,
) -> ApiResult<BlockView> {
    let h = parse_height(&height, last_height(&s))?;
    let block = s
        .store
        .block(h)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {h}")))?;
    let cert = s.store.cert(h)?;
    Ok(Json(BlockView::new(&block, cert.as_ref())))
}

/// A page of `/v1/blocks`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct BlocksQuery {
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
pub(super) async fn blocks(
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
    // A node that started from a snapshot lists from its height on.
    let first = s.store.base()?.0.max(1);
    let mut out = Vec::new();
    let mut h = before;
    while h > first && (out.len() as u64) < limit {
        h -= 1;
        if let Some(b) = s.store.block(Height(h))? {
            out.push(BlockView::new(&b, None));
        }
    }
    let next = (h > first).then_some(h);
    Ok(Json(BlocksPage { blocks: out, next }))
}

pub(super) fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(s)
        .map_err(|_| ApiError::bad_request(format!("{s:?} is not a 64-digit hex hash")))
}

pub(super) fn tx_view(tx: &SignedTx, status: TxStatus) -> TxView {
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
pub(super) async fn tx(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult<TxView> {
    let hash = parse_hash(&hash)?;
    if let Some(loc) = s.store.tx_location(&hash)? {
        // A damaged index must give an error answer, not a panic.
        let (header, tx) = s
            .store
            .tx_with_header(loc.height, loc.index)?
            .ok_or_else(|| ApiError::internal("the transaction index points past its block"))?;
        return Ok(Json(TxView {
            height: Some(loc.height.0),
            index: Some(loc.index),
            block_hash: Some(header.hash()),
            time: Some(rfc3339(header.time_ms)),
            ..tx_view(&tx, TxStatus::Committed)
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
    Err(ApiError::not_found(match s.store.base()? {
        Height(0) => format!("transaction {hash} is not known here"),
        base => format!(
            "transaction {hash} is not known here: this node started from a snapshot of \
             height {base} and holds no transaction committed before it"
        ),
    }))
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
pub(super) async fn tx_proof(
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

/// Which validator set.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HeightQuery {
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
pub(super) async fn validators(
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
        let header = s
            .store
            .header(Height(h))
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("no block at height {h}")))?;
        s.store
            .validator_set(&header.validators_hash)
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
pub(super) async fn evidence(State(s): State<AppState>) -> ApiResult<EvidenceList> {
    let evidence = s
        .store
        .evidence()
        .map_err(ApiError::internal)?
        .iter()
        .map(|(h, e)| EvidenceView::new(*h, e))
        .collect();
    Ok(Json(EvidenceList { evidence }))
}
