//! Transactions awaiting signatures (`node::awaiting`): offering one, whose
//! signatures are merged with those gathered for the same signed bytes
//! (`POST /v1/awaiting`, API listener only), and reading what waits.

use node::shared::AwaitingOutcome;

use super::chain::parse_hash;
use super::model::{
    AwaitingDetail, AwaitingKept, AwaitingList, AwaitingOffered, AwaitingSubmitted, AwaitingView,
    KeptStatus, SubmittedStatus,
};
use super::submit::one_tx;
use super::*;

/// Offer a transaction that needs more signatures (API listener only)
///
/// The body is as for `POST /v1/txs`: the signed transaction's canonical
/// bytes, or with `Content-Type: application/json` the object
/// `{"tx": "<base64>"}`. Its signatures are merged with those this node
/// already holds for the same signed bytes, so each signer may post the
/// transaction with only its own signature. While the signatures do not
/// suffice (`threshold_not_met`, `approval_required`) it is kept, and the
/// answer is `awaiting` with its id; once they do, it is admitted to the
/// mempool and the answer is `submitted` with its hash. It must be the
/// signer's next transaction and, signed, pass every rule of its
/// operation; anything else is refused as `POST /v1/txs` refuses it, and
/// nothing is kept. The explorer listener answers 405.
#[utoipa::path(post, path = "/v1/awaiting", tag = "transactions",
    request_body(description = "A signed transaction, raw or as base64 in JSON.", content(
        (Vec<u8> = "application/octet-stream"),
        (TxSubmission = "application/json"),
    )),
    responses(
        (status = 202, description = "Kept while it waits (`awaiting`), or admitted to the \
            mempool (`submitted`).", body = AwaitingOffered),
        (status = 400, description = "`malformed`: not a transaction, or not `{\"tx\": \"<base64>\"}`.",
            body = ErrorBody),
        (status = 408, description = "`timeout`: the body did not arrive within 30 s.",
            body = ErrorBody),
        (status = 409, description = "`duplicate`: with its signatures complete, it is already \
            pending or committed.", body = ErrorBody),
        (status = 413, description = "`too_large`: the body or the transaction is over the limit.",
            body = ErrorBody),
        (status = 422, description = "Refused by the ledger's rules: `wrong_chain`, \
            `bad_signature`, `bad_nonce` (not the signer's next), `unknown_signer`, \
            `foreign_signature`, `too_many_signatures`, `inactive`, and every rule of its \
            operation (`over_budget`, `over_contract`, `year_closed`, …; see `ErrorCode`).",
            body = ErrorBody),
        (status = 429, description = "`mempool_full`: this node holds 1024 transactions awaiting \
            signatures, or 4 of this signer's; or, complete, the mempool is full; or the mempool \
            holds more ready transactions than the validators commit within `[limits] \
            backlog_ms`, and nothing was taken: send it again after `Retry-After`.",
            body = ErrorBody),
    ))]
pub(super) async fn post_awaiting(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AwaitingOffered>), ApiError> {
    let tx = one_tx(&headers, body)?;
    let offered = match s.offer_awaiting(tx)? {
        AwaitingOutcome::Waiting(a) => AwaitingOffered::Awaiting(AwaitingKept {
            status: KeptStatus::Awaiting,
            id: a.id,
            needs: ErrorDetail::from(&a.needs),
            signatures: a.tx.signing_keys().copied().collect(),
        }),
        AwaitingOutcome::Submitted(hash) => AwaitingOffered::Submitted(AwaitingSubmitted {
            status: SubmittedStatus::Submitted,
            hash,
        }),
    };
    Ok((StatusCode::ACCEPTED, Json(offered)))
}

/// Transactions awaiting signatures
///
/// The transactions this node holds while they gather signatures, still
/// current at the last committed height (their signer has not used their
/// nonce), oldest first: each with what it needs and whose keys, the keys
/// that have signed, and the height it was first offered at. They are not
/// part of consensus: each node holds those offered to it. At most 1024.
#[utoipa::path(get, path = "/v1/awaiting", tag = "transactions", responses(
    (status = 200, description = "What awaits signatures.", body = AwaitingList),
))]
pub(super) async fn awaiting(State(s): State<AppState>) -> Json<AwaitingList> {
    let state = s.state.read().expect("state lock");
    let entries = crate::approvals::awaiting(&state, &s.awaiting);
    Json(AwaitingList {
        height: state.height().0,
        awaiting: entries.iter().map(AwaitingView::from).collect(),
    })
}

/// One transaction awaiting signatures
///
/// As in `/v1/awaiting`, with the transaction as gathered so far (`tx`,
/// its canonical bytes in hex) and the bytes every signer signs
/// (`signing_bytes`, whose SHA-256 is the id), so that a co-signer can
/// check what it signs, sign it and post it back to `POST /v1/awaiting`.
#[utoipa::path(get, path = "/v1/awaiting/{id}", tag = "transactions",
    params(("id" = String, Path, description = "Its id: 64 hex digits.")),
    responses(
        (status = 200, description = "The transaction.", body = AwaitingDetail),
        (status = 400, description = "`invalid_argument`: not a hash.", body = ErrorBody),
        (status = 404, description = "`not_found`: nothing awaits signatures under this id \
            here (never offered, complete, or its nonce used).", body = ErrorBody),
    ))]
pub(super) async fn awaiting_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<AwaitingDetail> {
    let id = parse_hash(&id)?;
    let state = s.state.read().expect("state lock");
    crate::approvals::awaiting(&state, &s.awaiting)
        .iter()
        .find(|a| a.id == id)
        .map(|a| Json(AwaitingDetail::from(a)))
        .ok_or_else(|| ApiError::not_found(format!("nothing awaits signatures under {id}")))
}
