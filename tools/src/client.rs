//! A blocking client of a node's HTTP API (SPEC §8), for the `tx`, `query`
//! and `devnet` commands. Errors keep the node's `{code, message}` so the
//! command line can print them and pick its exit code.
//!
//! An `https://` node is reached with rustls, trusting the system's root
//! certificates (as `rustls-native-certs` finds them: `/etc/ssl/certs` and
//! `SSL_CERT_FILE`) and those of `--ca-file`. A failed TLS handshake is
//! [`ClientError::Tls`], told apart from an unreachable node.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ledger::tx::SignedTx;
use ledger::{EntityId, Hash};
use serde_json::Value;

use crate::output::UsageError;

/// Longest wait for one HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a download, such as an export that reads every block.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// Pause between polls of a pending transaction.
const WAIT_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Shortest time a poll is given, even when the deadline is close.
const WAIT_POLL_MIN: Duration = Duration::from_millis(200);

const _: () = assert!(WAIT_POLL_MIN.as_millis() < REQUEST_TIMEOUT.as_millis());
const _: () = assert!(REQUEST_TIMEOUT.as_millis() <= DOWNLOAD_TIMEOUT.as_millis());

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
    /// The TLS handshake failed: the node's certificate is not trusted or
    /// not for its name, or it does not speak TLS (exit code 1).
    #[error("TLS with the node at {url} failed: {message}")]
    Tls {
        /// The node's URL.
        url: String,
        /// What failed, and what to try.
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
            ClientError::Unreachable { .. } | ClientError::Tls { .. } => None,
        }
    }
}

/// What became of a transaction offered to gather signatures
/// ([`Client::offer`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offered {
    /// The node keeps it while it waits for more signatures.
    Awaiting {
        /// Its id (hex): SHA-256 of the bytes its signers sign.
        id: String,
        /// What it still needs: `approval_required` or `threshold_not_met`.
        code: String,
        /// The same in words: whose keys, how many.
        message: String,
        /// The keys that have signed so far (hex), in key order.
        signatures: Vec<String>,
    },
    /// Its signatures sufficed: it is in the mempool under this hash.
    Submitted {
        /// The transaction's hash (hex).
        hash: String,
    },
}

impl Offered {
    /// Reads `POST /v1/awaiting`'s answer.
    pub fn from_answer(v: &Value) -> Option<Offered> {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        match v["status"].as_str()? {
            "awaiting" => Some(Offered::Awaiting {
                id: text(&v["id"])?,
                code: text(&v["needs"]["code"])?,
                message: text(&v["needs"]["message"]).unwrap_or_default(),
                signatures: v["signatures"]
                    .as_array()?
                    .iter()
                    .map(text)
                    .collect::<Option<Vec<String>>>()?,
            }),
            "submitted" => Some(Offered::Submitted {
                hash: text(&v["hash"])?,
            }),
            _ => None,
        }
    }
}

/// A transaction as the node's `POST` routes take it in JSON.
fn tx_json(tx: &SignedTx) -> Value {
    serde_json::json!({
        "tx": base64::engine::general_purpose::STANDARD.encode(tx.encode())
    })
}

/// A body fetched as it is, with the answer's headers.
#[derive(Debug)]
pub struct Download {
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// A download under way: the answer's headers, and its body still to read.
#[derive(Debug)]
pub struct DownloadStream {
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    url: String,
    response: reqwest::blocking::Response,
}

impl DownloadStream {
    /// The answer's header `name`, if it is there and text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Copies the rest of the body to `out`, and says how many bytes it
    /// held. A body cut short (the node stopped the export partway, or the
    /// connection broke) is [`ClientError::Unreachable`].
    pub fn copy_to(&mut self, out: &mut impl std::io::Write) -> Result<u64, ClientError> {
        std::io::copy(&mut self.response, out).map_err(|e| ClientError::Unreachable {
            url: self.url.clone(),
            message: format!("the download stopped partway: {e}"),
        })
    }
}

/// A node's API.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::blocking::Client,
}

impl Client {
    /// A client of the node at `base`, e.g. `http://127.0.0.1:8080` or
    /// `https://node.example`, trusting the system's root certificates and
    /// the PEM certificates in `ca_file`. A `ca_file` that cannot be read or
    /// holds no certificate is a [`UsageError`] of `--ca-file`.
    pub fn new(base: &str, ca_file: Option<&Path>) -> anyhow::Result<Client> {
        let mut builder = reqwest::blocking::Client::builder().timeout(REQUEST_TIMEOUT);
        if let Some(path) = ca_file {
            for cert in read_ca_file(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| match ca_file {
            Some(path) => anyhow::Error::new(UsageError {
                flag: "--ca-file",
                message: format!("{}: cannot trust its certificates: {e}", path.display()),
            }),
            None => anyhow::anyhow!("cannot set up the HTTP client: {e}"),
        })?;
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The node's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` (path starts with `/`), as JSON.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.get_within(path, REQUEST_TIMEOUT)
    }

    /// `GET path`, giving up after `timeout`.
    fn get_within(&self, path: &str, timeout: Duration) -> Result<Value, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(timeout)
            .send()
            .map_err(|e| self.unreachable(e))?;
        self.json(response)
    }

    /// `GET path`, the body as bytes (a CSV or JSON file to save as is).
    pub fn download(&self, path: &str) -> Result<Download, ClientError> {
        let mut stream = self.download_stream(path)?;
        let mut body = Vec::new();
        stream.copy_to(&mut body)?;
        Ok(Download {
            headers: stream.headers,
            body,
        })
    }

    /// `GET path`: the headers of a successful answer, its body still to
    /// be read (a large export to save as it comes).
    pub fn download_stream(&self, path: &str) -> Result<DownloadStream, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(DOWNLOAD_TIMEOUT)
            .send()
            .map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            return Err(self.rejected(response));
        }
        Ok(DownloadStream {
            headers: response.headers().clone(),
            url: self.base.clone(),
            response,
        })
    }

    /// `GET path`, the body as it came, refusing a body over `max` bytes
    /// without reading past it: a document the caller decodes strictly
    /// itself, such as a checkpoint proof.
    pub fn get_bytes(&self, path: &str, max: usize) -> Result<Vec<u8>, ClientError> {
        use std::io::Read as _;
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.rejected(response));
        }
        let url = response.url().to_string();
        let mut body = Vec::new();
        response
            .take(max as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                message: format!("reading the answer: {e}"),
            })?;
        if body.len() > max {
            return Err(ClientError::Rejected {
                status: status.as_u16(),
                code: "bad_response".into(),
                message: format!("{url} answered more than the {max} bytes allowed"),
            });
        }
        Ok(body)
    }

    /// `POST path` with `body` as JSON; the answer as JSON, `null` for a
    /// success with an empty body (such as 204).
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .map_err(|e| self.unreachable(e))?;
        if response.status().is_success() && response.content_length() == Some(0) {
            return Ok(Value::Null);
        }
        let status = response.status();
        if !status.is_success() {
            return Err(self.rejected(response));
        }
        let url = response.url().to_string();
        let text =
            read_limited(response, ANSWER_BYTES_MAX + 1).map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                message: format!("reading the answer: {e}"),
            })?;
        if text.len() as u64 > ANSWER_BYTES_MAX {
            return Err(ClientError::Rejected {
                status: status.as_u16(),
                code: "bad_response".into(),
                message: format!("{url} answered more than the {ANSWER_BYTES_MAX} bytes allowed"),
            });
        }
        serde_json::from_str(&text).map_err(|_| ClientError::Rejected {
            status: status.as_u16(),
            code: "bad_response".into(),
            message: format!("{url} answered {status} with a body that is not JSON"),
        })
    }

    /// Submits a signed transaction; returns its hash (hex).
    pub fn submit(&self, tx: &SignedTx) -> Result<String, ClientError> {
        let response = self
            .http
            .post(format!("{}/v1/txs", self.base))
            .json(&tx_json(tx))
            .send()
            .map_err(|e| self.unreachable(e))?;
        let v = self.json(response)?;
        Ok(v["hash"].as_str().unwrap_or_default().to_owned())
    }

    /// Offers a transaction that may need more signatures than it carries
    /// (`POST /v1/awaiting`): the node merges its signatures with those it
    /// holds for the same signed bytes, and keeps it while they do not
    /// suffice or submits it once they do. Refusals are those of
    /// [`Client::submit`].
    pub fn offer(&self, tx: &SignedTx) -> Result<Offered, ClientError> {
        let v = self.post("/v1/awaiting", &tx_json(tx))?;
        Offered::from_answer(&v).ok_or_else(|| ClientError::Rejected {
            status: 202,
            code: "bad_response".into(),
            message: format!(
                "{}/v1/awaiting answered neither awaiting nor submitted: {v}",
                self.base
            ),
        })
    }

    /// What awaits signatures on the node (`GET /v1/awaiting`).
    pub fn awaiting(&self) -> Result<Value, ClientError> {
        self.get("/v1/awaiting")
    }

    /// One transaction awaiting signatures, with the transaction gathered so
    /// far and the bytes its signers sign (`GET /v1/awaiting/{id}`).
    pub fn awaiting_entry(&self, id: &Hash) -> Result<Value, ClientError> {
        self.get(&format!("/v1/awaiting/{id}"))
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
            // A hung node must not hold the caller past its deadline.
            let left = deadline
                .saturating_duration_since(Instant::now())
                .clamp(WAIT_POLL_MIN, REQUEST_TIMEOUT);
            match self.get_within(&format!("/v1/txs/{hash}"), left) {
                Ok(v) if v["status"] != "pending" => return Ok(v),
                Ok(v) if Instant::now() >= deadline => return Ok(v),
                Err(ClientError::Rejected { status: 404, .. }) if Instant::now() < deadline => {}
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e @ (ClientError::Unreachable { .. } | ClientError::Tls { .. })) => {
                    return Err(e)
                }
                _ => {}
            }
            std::thread::sleep(WAIT_POLL_INTERVAL);
        }
    }

    /// reqwest's own text names only the URL ("error sending request"); the
    /// cause, such as "Connection refused", is at the end of its source chain.
    /// A failed TLS handshake is [`ClientError::Tls`].
    fn unreachable(&self, e: reqwest::Error) -> ClientError {
        if let Some(tls) = tls_failure(&e) {
            return ClientError::Tls {
                url: self.base.clone(),
                message: tls_advice(tls),
            };
        }
        let message = if e.is_timeout() {
            "no answer in time".to_owned()
        } else {
            let mut cause: &dyn std::error::Error = &e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            cause.to_string()
        };
        ClientError::Unreachable {
            url: self.base.clone(),
            message,
        }
    }

    /// The body of a success as JSON; an error status as [`ClientError::Rejected`]
    /// with the node's `{code, message}`, or with the HTTP status when the body
    /// is not that shape (a proxy's 502 page, a bare 404).
    fn json(&self, response: reqwest::blocking::Response) -> Result<Value, ClientError> {
        let status = response.status();
        if !status.is_success() {
            return Err(self.rejected(response));
        }
        let url = response.url().to_string();
        let text = response.text().map_err(|e| self.unreachable(e))?;
        serde_json::from_str(&text).map_err(|_| ClientError::Rejected {
            status: status.as_u16(),
            code: "bad_response".into(),
            message: format!("{url} answered {status} with a body that is not JSON"),
        })
    }

    /// An error status as [`ClientError::Rejected`].
    fn rejected(&self, response: reqwest::blocking::Response) -> ClientError {
        let status = response.status();
        let url = response.url().to_string();
        let text = match read_limited(response, ANSWER_BYTES_MAX) {
            Ok(text) => text,
            Err(e) => {
                return ClientError::Unreachable {
                    url: self.base.clone(),
                    message: format!("reading the answer: {e}"),
                }
            }
        };
        let body: Option<Value> = serde_json::from_str(&text).ok();
        let err = body.as_ref().map(|b| &b["error"]);
        let code = err
            .and_then(|e| e["code"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| match status.as_u16() {
                404 => "not_found".to_owned(),
                s => format!("http_{s}"),
            });
        let message = err
            .and_then(|e| e["message"].as_str())
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{url} answered {status}"));
        ClientError::Rejected {
            status: status.as_u16(),
            code,
            message,
        }
    }
}

/// The certificates of a `--ca-file`: PEM, at least one.
fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, UsageError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let bad = |message: String| UsageError {
        flag: "--ca-file",
        message: format!("{}: {message}", path.display()),
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    certs
        .iter()
        .map(|c| reqwest::Certificate::from_der(c).map_err(|e| bad(e.to_string())))
        .collect()
}

/// The rustls error among `e`'s causes, if the TLS handshake failed. rustls
/// errors reach reqwest inside `io::Error`s, whose `source` skips what they
/// wrap: those are followed through `get_ref`.
fn tls_failure<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cause = match c.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => c.source(),
            },
            None => c.source(),
        };
    }
    None
}

/// A TLS failure, with what to try.
fn tls_advice(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(_) => format!(
            "{e}; if the node's certificate comes from a private CA, pass that CA's \
             certificate with --ca-file (or MINHBACH_CA_FILE)"
        ),
        rustls::Error::InvalidMessage(_) => {
            format!("{e}; if the node serves plain HTTP, use an http:// URL")
        }
        _ => e.to_string(),
    }
}

/// Checks and normalises `--node`: an `http://` or `https://` URL, or a bare
/// `host:port`, which means `http://host:port`.
pub fn parse_node_url(s: &str) -> Result<String, String> {
    let url = if s.contains("://") {
        s.to_owned()
    } else {
        format!("http://{s}")
    };
    let parsed = reqwest::Url::parse(&url).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{s:?} is not an http:// or https:// URL"));
    }
    if parsed.host_str().is_none() || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{s:?} must be a node's base URL, such as http://127.0.0.1:8080"
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Whether `url`'s host is this machine's loopback: `localhost`, an address
/// in 127.0.0.0/8, or `::1`. Decided from the URL alone, with no lookup.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Largest error body, or answer to a `POST`, read: a node's `{code,
/// message}` or short JSON answer fits many times over.
pub const ANSWER_BYTES_MAX: u64 = 64 * 1024;

/// At most `max` bytes of `response`'s body, as text (an invalid UTF-8
/// sequence replaced); the rest is left unread.
fn read_limited(response: reqwest::blocking::Response, max: u64) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut body = Vec::new();
    response.take(max).read_to_end(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_urls_are_checked_and_normalised() {
        assert_eq!(
            parse_node_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            parse_node_url("localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            parse_node_url("https://node.example/api").unwrap(),
            "https://node.example/api"
        );
        for bad in ["ftp://x", "http://", "http://x/?a=1", "http://x:99999"] {
            assert!(parse_node_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_to_an_offer_are_read_by_status() {
        let kept = serde_json::json!({
            "status": "awaiting", "id": "ab",
            "needs": {"code": "approval_required", "message": "KBNN"},
            "signatures": ["k1", "k2"],
        });
        assert_eq!(
            Offered::from_answer(&kept),
            Some(Offered::Awaiting {
                id: "ab".into(),
                code: "approval_required".into(),
                message: "KBNN".into(),
                signatures: vec!["k1".into(), "k2".into()],
            })
        );
        let sent = serde_json::json!({"status": "submitted", "hash": "cd"});
        assert_eq!(
            Offered::from_answer(&sent),
            Some(Offered::Submitted { hash: "cd".into() })
        );
        for bad in [
            serde_json::json!({"status": "pending", "hash": "cd"}),
            serde_json::json!({"status": "awaiting", "id": "ab"}),
            serde_json::json!({"status": "submitted"}),
            serde_json::json!([]),
        ] {
            assert_eq!(Offered::from_answer(&bad), None, "{bad}");
        }
    }

    #[test]
    fn loopback_urls_are_told_from_the_rest() {
        for local in [
            "http://127.0.0.1:8080",
            "http://127.8.9.10",
            "http://127.1:80",
            "https://localhost:443/api",
            "http://LOCALHOST:1",
            "http://[::1]:8080",
        ] {
            assert!(is_loopback_url(&parse_node_url(local).unwrap()), "{local}");
        }
        for remote in [
            "http://192.0.2.1:1",
            "https://node.example",
            "http://localhost.example:80",
            "http://128.0.0.1",
            "http://[::2]:8080",
            "http://0.0.0.0:8080",
            "http://[::ffff:192.0.2.1]",
            "not a url",
        ] {
            assert!(!is_loopback_url(remote), "{remote}");
        }
    }

    /// A node answering every request with `status` and a body of `total`
    /// bytes; the thread returns how many of them it could write.
    fn flooding(status: u16, total: usize) -> (String, std::thread::JoinHandle<usize>) {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {total}\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).is_err() {
                return 0;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut written = 0;
            while written < total {
                match stream.write(&chunk[..chunk.len().min(total - written)]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => written += n,
                }
            }
            written
        });
        (url, thread)
    }

    #[test]
    fn an_error_or_an_answer_to_a_post_is_read_no_further_than_its_limit() {
        const TOTAL: usize = 256 * 1024 * 1024;
        for status in [200, 500] {
            let (url, server) = flooding(status, TOTAL);
            let client = Client::new(&url, None).unwrap();
            let e = client.post("/v1/x", &serde_json::json!({})).unwrap_err();
            let ClientError::Rejected { code, .. } = e else {
                panic!("{status}: {e:?}");
            };
            let expected = if status == 200 {
                "bad_response"
            } else {
                "http_500"
            };
            assert_eq!(code, expected);
            drop(client);
            let written = server.join().unwrap();
            assert!(written < TOTAL / 4, "{status}: {written} bytes sent");
        }
    }
}
