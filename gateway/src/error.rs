//! The one shape of every error answer, the API's and the explorer's:
//! `{"error": {"code", "message"}}` ([`ErrorBody`]), with the ledger's
//! rejection codes where a transaction is refused, and [`ApiError`], which
//! handlers return to give it.

use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::TxError;
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Error codes the API itself gives, besides the ledger's rejection codes
/// (`ledger::error::ERROR_CODES`).
pub const API_ERROR_CODES: [&str; 16] = [
    "not_found",
    "not_held",
    "method_not_allowed",
    "timeout",
    "busy",
    "rate_limited",
    "uri_too_long",
    "internal",
    "unknown_witness",
    "not_a_witness",
    "witness_suspended",
    "wrong_key",
    "height_zero",
    "not_reached",
    "other_history",
    "not_newer",
];

/// Every code an error answer may carry: the API's own, then the ledger's.
pub fn error_codes() -> impl Iterator<Item = &'static str> {
    API_ERROR_CODES
        .into_iter()
        .chain(ledger::error::ERROR_CODES)
}

/// A machine-readable error code, one of [`error_codes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorCode(pub &'static str);

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(error_codes()))
            .description(Some(
                "What went wrong, for programs. `invalid_argument` (400): a bad \
                 height, hash, id, cursor, year or query parameter; `malformed` \
                 (400): a body that is not a transaction; `not_found` (404); \
                 `not_held` (404): a height below the snapshot this node started from, \
                 which it does not hold (ask a node that holds the whole chain); \
                 `method_not_allowed` (405, with `Allow`); `timeout` (408): a \
                 submission whose body did not arrive in time; `too_large` (413); \
                 `uri_too_long` (414); `duplicate` (409); `busy`, `mempool_full` \
                 and `rate_limited` (429, try again); `internal` (500). A \
                 cosignature is refused with `unknown_witness`, `not_a_witness`, \
                 `witness_suspended` or `wrong_key` (403: its signer is not an \
                 active witness holding that key), `bad_signature`, `wrong_chain`, \
                 `height_zero` or `not_reached` (422), `other_history` or \
                 `not_newer` (409). The other codes are the ledger's rejections \
                 of a transaction (422), as in the specification.",
            ))
            .into()
    }
}

impl ToSchema for ErrorCode {}

/// The error shape of every 4xx and 5xx JSON answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A code for programs and a message for people.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// The code.
    pub code: ErrorCode,
    /// An explanation in English, naming the values at fault.
    #[schema(examples("pay 500,000,000 exceeds the 200,000,000 still unpaid on contract C-17"))]
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with `code`, which must be one of [`error_codes`]:
    /// the document lists them, and clients match on them.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        debug_assert!(
            error_codes().any(|c| c == code),
            "error code {code:?} is not in the documented list"
        );
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_argument", message)
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
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

impl From<&TxError> for ErrorDetail {
    /// What a rejection says, as the error shape carries it.
    fn from(e: &TxError) -> ErrorDetail {
        ErrorDetail {
            code: ErrorCode(e.code()),
            message: tx_message(e),
        }
    }
}

impl From<ledger::store::StoreError> for ApiError {
    /// A height this node does not hold is `not_held` (404); any other
    /// failure of the store is `internal`.
    fn from(e: ledger::store::StoreError) -> ApiError {
        match e {
            ledger::store::StoreError::NotHeld { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_held", e.to_string())
            }
            e => ApiError::internal(e),
        }
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

/// Seconds a client refused with 429 (`busy`, `mempool_full`,
/// `rate_limited`) is told to wait before it tries again: a block commits
/// and the mempool drains within about that.
pub const RETRY_AFTER_SECS: u64 = 1;

impl IntoResponse for ApiError {
    /// The error's JSON; a 429 carries `Retry-After`, so that a client
    /// refused under load waits instead of retrying at once.
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECS),
            );
        }
        response
    }
}
