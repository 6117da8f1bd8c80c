//! The body of `POST /v1/txs` (SPEC §8): a signed transaction's canonical
//! bytes, or, sent as `application/json`, the object `{"tx": "<base64>"}`.
//!
//! This module turns a body into a [`SignedTx`] or a `malformed` (or
//! `too_large`) rejection. It does not read the request, bound its size
//! (the API does, before calling [`parse`]) or admit the transaction.

use base64::Engine;
use ledger::{SignedTx, TxError};
use serde::Deserialize;

/// How a submission's body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// The object `{"tx": "<base64>"}`.
    Json,
    /// The signed transaction's canonical bytes.
    Raw,
}

impl BodyFormat {
    /// The format a request's `Content-Type` names: JSON for
    /// `application/json` (with any parameters), raw bytes for anything
    /// else or none.
    pub fn of_content_type(content_type: Option<&str>) -> BodyFormat {
        if content_type.is_some_and(|v| v.starts_with("application/json")) {
            BodyFormat::Json
        } else {
            BodyFormat::Raw
        }
    }
}

/// The JSON body. The node's OpenAPI document describes the same shape
/// (`TxSubmission` in `gateway::api::model`); this one only reads it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBody {
    tx: String,
}

/// The signed transaction a body carries.
pub fn parse(format: BodyFormat, body: &[u8]) -> Result<SignedTx, TxError> {
    match format {
        BodyFormat::Raw => SignedTx::decode(body),
        BodyFormat::Json => {
            let parsed: JsonBody = serde_json::from_slice(body)
                .map_err(|e| malformed(format!("the body is not {{\"tx\": \"<base64>\"}}: {e}")))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(parsed.tx.trim())
                .map_err(|e| malformed(format!("\"tx\" is not base64: {e}")))?;
            SignedTx::decode(&bytes)
        }
    }
}

/// The JSON body that carries `tx`, as a client writes it.
pub fn json_body(tx: &SignedTx) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(tx.encode());
    serde_json::json!({ "tx": encoded }).to_string()
}

/// The body of `POST /v1/txs/batch`. The node's OpenAPI document
/// describes the same shape (`TxBatchSubmission` in `gateway::api::model`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    txs: Vec<String>,
}

/// Why a batch body is refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchRefusal {
    /// Not `{"txs": ["<base64>", …]}`.
    Malformed(String),
    /// More transactions than a batch may hold.
    TooMany {
        /// How many it holds.
        count: usize,
        /// How many a batch may hold.
        max: usize,
    },
}

/// The signed transactions of a `POST /v1/txs/batch` body, in order, each
/// decoded on its own: an item that is not a transaction is its own
/// `malformed` error, and the others go on. At most `txs_max` items.
pub fn parse_batch(
    body: &[u8],
    txs_max: usize,
) -> Result<Vec<Result<SignedTx, TxError>>, BatchRefusal> {
    let parsed: BatchBody = serde_json::from_slice(body).map_err(|e| {
        BatchRefusal::Malformed(format!(
            "the body is not {{\"txs\": [\"<base64>\", …]}}: {e}"
        ))
    })?;
    if parsed.txs.len() > txs_max {
        return Err(BatchRefusal::TooMany {
            count: parsed.txs.len(),
            max: txs_max,
        });
    }
    Ok(parsed
        .txs
        .iter()
        .map(|b64| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| malformed(format!("not base64: {e}")))?;
            SignedTx::decode(&bytes)
        })
        .collect())
}

/// The batch body that carries `txs`, as a client writes it.
pub fn batch_body(txs: &[SignedTx]) -> String {
    let encoded: Vec<String> = txs
        .iter()
        .map(|tx| base64::engine::general_purpose::STANDARD.encode(tx.encode()))
        .collect();
    serde_json::json!({ "txs": encoded }).to_string()
}

fn malformed(reason: String) -> TxError {
    TxError::Malformed { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::testkit::TestChain;
    use ledger::tx::Status;
    use ledger::{EntityId, Op};

    fn sample() -> SignedTx {
        TestChain::new(1).tx(
            "MOF",
            0,
            Op::SetStatus {
                entity: EntityId::new("MOF").unwrap(),
                status: Status::Active,
            },
        )
    }

    #[test]
    fn both_formats_carry_the_same_transaction() {
        let tx = sample();
        assert_eq!(parse(BodyFormat::Raw, &tx.encode()).unwrap(), tx);
        assert_eq!(
            parse(BodyFormat::Json, json_body(&tx).as_bytes()).unwrap(),
            tx
        );
        let spaced = format!(
            "{{ \"tx\": \" {} \" }}",
            base64::engine::general_purpose::STANDARD.encode(tx.encode())
        );
        assert_eq!(parse(BodyFormat::Json, spaced.as_bytes()).unwrap(), tx);
    }

    #[test]
    fn the_content_type_picks_the_format() {
        let of = BodyFormat::of_content_type;
        assert_eq!(of(Some("application/json")), BodyFormat::Json);
        assert_eq!(
            of(Some("application/json; charset=utf-8")),
            BodyFormat::Json
        );
        assert_eq!(of(Some("application/octet-stream")), BodyFormat::Raw);
        assert_eq!(of(None), BodyFormat::Raw);
    }

    #[test]
    fn a_wrong_body_is_malformed_and_says_why() {
        let reason = |format, body: &[u8]| match parse(format, body) {
            Err(TxError::Malformed { reason }) => reason,
            other => panic!("expected malformed, got {other:?}"),
        };
        assert!(reason(BodyFormat::Json, b"{\"tx\": 1}").starts_with("the body is not"));
        assert!(reason(BodyFormat::Json, b"{\"tx\": \"AA\", \"x\": 1}").contains("unknown field"));
        assert!(reason(BodyFormat::Json, b"{\"tx\": \"***\"}").starts_with("\"tx\" is not base64"));
        let raw = sample().encode();
        let wrapped = format!("{{\"tx\": \"{}\"}}", String::from_utf8_lossy(&raw));
        assert!(parse(BodyFormat::Json, wrapped.as_bytes()).is_err());
        assert!(parse(BodyFormat::Raw, json_body(&sample()).as_bytes()).is_err());
    }
}
