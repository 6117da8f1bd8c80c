//! A blocking client of a node's HTTP API (SPEC §8), for the `tx`, `query`
//! and `devnet` commands. Errors keep the node's `{code, message}` so the
//! command line can print them and pick its exit code.

use std::time::{Duration, Instant};

use base64::Engine as _;
use ledger::tx::SignedTx;
use ledger::EntityId;
use serde_json::Value;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached (exit code 3).
    #[error("node unreachable at {url}: {message}")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// The transport error.
        message: String,
    },
    /// The node answered with an error (exit code 1).
    #[error("{code}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The SPEC error code, e.g. `over_budget`.
        code: String,
        /// The node's explanation.
        message: String,
    },
}

impl ClientError {
    /// The SPEC error code, if the node answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Rejected { code, .. } => Some(code),
            ClientError::Unreachable { .. } => None,
        }
    }
}

/// A node's API.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::blocking::Client,
}

impl Client {
    /// A client of the node at `base`, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str) -> Client {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client without TLS always builds");
        Client {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The node's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` (path starts with `/`), as JSON.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .map_err(|e| self.unreachable(e))?;
        self.json(response)
    }

    /// Submits a signed transaction; returns its hash (hex).
    pub fn submit(&self, tx: &SignedTx) -> Result<String, ClientError> {
        let body = serde_json::json!({
            "tx": base64::engine::general_purpose::STANDARD.encode(tx.encode())
        });
        let response = self
            .http
            .post(format!("{}/v1/txs", self.base))
            .json(&body)
            .send()
            .map_err(|e| self.unreachable(e))?;
        let v = self.json(response)?;
        Ok(v["hash"].as_str().unwrap_or_default().to_owned())
    }

    /// The nonce `signer` should use next, counting its pending transactions.
    pub fn next_nonce(&self, signer: &EntityId) -> Result<u64, ClientError> {
        let v = self.get(&format!("/v1/entities/{signer}"))?;
        v["next_nonce"]
            .as_u64()
            .ok_or_else(|| ClientError::Rejected {
                status: 200,
                code: "bad_response".into(),
                message: format!("entity {signer} has no next_nonce in the node's answer"),
            })
    }

    /// Polls `GET /v1/txs/{hash}` until the transaction is committed or
    /// rejected, or `timeout` passes; returns the last answer.
    pub fn wait_for_tx(&self, hash: &str, timeout: Duration) -> Result<Value, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.get(&format!("/v1/txs/{hash}")) {
                Ok(v) if v["status"] != "pending" => return Ok(v),
                Ok(v) if Instant::now() >= deadline => return Ok(v),
                Err(ClientError::Rejected { status: 404, .. }) if Instant::now() < deadline => {}
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e @ ClientError::Unreachable { .. }) => return Err(e),
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            message: e.to_string(),
        }
    }

    fn json(&self, response: reqwest::blocking::Response) -> Result<Value, ClientError> {
        let status = response.status();
        let body: Value = response.json().map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            return Ok(body);
        }
        let err = &body["error"];
        Err(ClientError::Rejected {
            status: status.as_u16(),
            code: err["code"].as_str().unwrap_or("error").to_owned(),
            message: err["message"].as_str().unwrap_or_default().to_owned(),
        })
    }
}
