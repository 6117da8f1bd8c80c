//! State proofs: one entry of the state at a height, with its path to that
//! block's certified state root, as a file to check offline.

use super::*;

/// Which entry, and when.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct StateProofQuery {
    /// `entity:ID`, `line:YEAR/LINE/ENTITY` (a budget line's figures) or
    /// `contract:ID`.
    key: String,
    /// The height after which the state is proved: 1 to the committed
    /// height; the committed height when absent.
    height: Option<u64>,
}

/// A state entry's proof
///
/// The entry (an entity with its keys and status, a budget line's figures,
/// a contract) as the state held it after block `height`, or its absence,
/// with its path in the state map to that block's state root, the block's
/// header and certificate, the validator-set changes back to genesis and
/// the witnesses' cosignatures, as a file to check offline with
/// `minhbach verify proof FILE --genesis genesis.json`. The layout is in
/// docs/audit-bundles.md.
#[utoipa::path(get, path = "/v1/state-proof", tag = "chain", params(StateProofQuery),
    responses(
        (status = 200, description = "The state proof, as an attachment `state-KEY-HEIGHT.json`.",
            body = Object, content_type = "application/json"),
        (status = 400, description = "`invalid_argument`: not a key this route proves, or height 0.",
            body = ErrorBody),
        (status = 404, description = "`not_found`: the height is not committed on this node.",
            body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
pub(super) async fn state_proof(
    State(s): State<AppState>,
    q: Result<Query<StateProofQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let key = ledger::state::StateKey::parse_ref(&q.key)
        .map_err(|e| ApiError::bad_request(tx_message(&e)))?;
    if q.height == Some(0) {
        return Err(ApiError::bad_request(
            "height 0 is the genesis, which no certificate signs: prove at height 1 or later",
        ));
    }
    let height = q.height.map(ledger::Height);
    let genesis_hash = s.genesis.hash();
    let store_key = key.clone();
    // Building reads a block per validator-set change: not on the
    // runtime's own threads.
    let built = tokio::task::spawn_blocking(move || {
        ledger::proof::StateBundle::build(&s.store, genesis_hash, &store_key, height)
    })
    .await
    .map_err(ApiError::internal)?;
    let bundle = built?.ok_or_else(|| {
        ApiError::not_found(match height {
            Some(h) => format!("height {h} is not committed here"),
            None => "no block is committed here yet".to_owned(),
        })
    })?;
    let h = bundle.block.header.view.height;
    let name: String = q
        .key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"state-{name}-{h}.json\"");
    let headers = [
        (header::CONTENT_TYPE, "application/json".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, bundle.to_json()).into_response())
}
