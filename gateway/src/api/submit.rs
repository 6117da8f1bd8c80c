//! Submissions: `POST /v1/txs` and `POST /v1/txs/batch`, and the decoding
//! of one transaction that `POST /v1/awaiting` shares.

use super::*;

pub(super) fn malformed(message: String) -> ApiError {
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
        (status = 429, description = "`mempool_full`: the mempool is full, or holds more \
            transactions ready than the validators commit within `[limits] backlog_ms`; try \
            again after `Retry-After`.", body = ErrorBody),
    ))]
pub(super) async fn post_tx(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let tx = one_tx(&headers, body)?;
    let hash = s.admit(tx)?;
    Ok((StatusCode::ACCEPTED, Json(Submitted { hash })))
}

/// The one transaction a submission's body carries, raw or as
/// `{"tx": "<base64>"}` as its `Content-Type` says: 413 `too_large` over
/// [`SUBMIT_BODY_BYTES_MAX`], 400 `malformed` if it is not one, and the
/// ledger's code for a signature list out of form.
pub(super) fn one_tx(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<SignedTx, ApiError> {
    let body = read_body(body, SUBMIT_BODY_BYTES_MAX)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Ok(submission::parse(
        BodyFormat::of_content_type(content_type),
        &body,
    )?)
}

/// The body of a submission, or 413 `too_large` over `bytes_max`.
pub(super) fn read_body(
    body: Result<Bytes, BytesRejection>,
    bytes_max: usize,
) -> Result<Bytes, ApiError> {
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
        (status = 429, description = "`mempool_full`: the mempool is full, or holds more \
            transactions ready than the validators commit within `[limits] backlog_ms`, and the \
            batch was not decoded; or `busy`: two batches are being admitted and this one waited 30 s for its \
            turn. Try again.", body = ErrorBody),
    ))]
pub(super) async fn post_tx_batch(
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
