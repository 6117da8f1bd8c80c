//! Submitting a signed transaction to the node, and with `--wait` following
//! it until it is committed (print its height) or rejected (exit 1): the
//! last step of `minhbach tx <operation>` and of `minhbach tx submit` (and
//! of `tx submit --awaiting` once the signatures suffice).

use std::io::Write as _;
use std::time::Duration;

use ledger::{EntityId, SignedTx};
use serde_json::{json, Value};
use tools::client::{Client, ClientError};

use crate::Output;

/// Why a submitted transaction did not end up committed (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The node refused it after accepting it into the mempool.
    #[error("{code}: {message}")]
    Rejected {
        /// The SPEC error code, e.g. `over_budget`.
        code: String,
        /// The node's explanation.
        message: String,
    },
    /// Still pending when `--timeout` ran out.
    #[error(
        "transaction {hash} is still pending after {}s; see `minhbach query tx {hash}`",
        waited.as_secs()
    )]
    Pending {
        /// The transaction.
        hash: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The node forgot the transaction before it was committed.
    #[error("the node no longer knows transaction {hash}: it was dropped before being committed")]
    Dropped {
        /// The transaction.
        hash: String,
    },
}

/// Submits `tx` and prints its hash; with `wait`, waits up to `timeout` for
/// it to be committed (exit 0) or rejected (an error, exit 1).
pub(super) fn submit(
    client: &Client,
    output: Output,
    tx: &SignedTx,
    wait: Option<Duration>,
) -> anyhow::Result<u8> {
    let ours = tx.hash().to_hex();
    let hash = client.submit(tx)?;
    let hash = if hash.is_empty() {
        ours
    } else {
        if hash != ours {
            eprintln!("warning: the node calls the transaction {hash}, its hash is {ours}");
        }
        hash
    };
    follow(client, output, hash, wait)
}

/// Prints the hash of a transaction the node admitted; with `wait`, waits
/// up to `timeout` for it to be committed (exit 0) or rejected (an error,
/// exit 1).
pub(super) fn follow(
    client: &Client,
    output: Output,
    hash: String,
    wait: Option<Duration>,
) -> anyhow::Result<u8> {
    let Some(timeout) = wait else {
        print!("{}", outcome(output, &hash, None));
        return Ok(0);
    };
    if output == Output::Table {
        // The hash first, so that it is known even if the wait is cut short.
        println!("{hash}");
        let _ = std::io::stdout().flush();
    }
    eprintln!(
        "submitted; waiting up to {}s for it to be committed",
        timeout.as_secs()
    );
    let answer = match client.wait_for_tx(&hash, timeout) {
        Ok(v) => v,
        Err(ClientError::Rejected { status: 404, .. }) => {
            return Err(WaitError::Dropped { hash }.into());
        }
        Err(e) => return Err(e.into()),
    };
    match answer["status"].as_str() {
        Some("committed") => {
            print!("{}", outcome(output, &hash, Some(&answer)));
            Ok(0)
        }
        Some("rejected") => {
            if output != Output::Table {
                print!("{}", outcome(output, &hash, Some(&answer)));
            }
            Err(WaitError::Rejected {
                code: answer["error"]["code"]
                    .as_str()
                    .unwrap_or("rejected")
                    .to_owned(),
                message: answer["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            }
            .into())
        }
        Some("pending") => {
            if output != Output::Table {
                print!("{}", outcome(output, &hash, Some(&answer)));
            }
            Err(WaitError::Pending {
                hash,
                waited: timeout,
            }
            .into())
        }
        other => anyhow::bail!("the node reports status {other:?} for transaction {hash}"),
    }
}

/// The signer's next nonce; an unknown signer is named as such.
pub(super) fn next_nonce(client: &Client, signer: &EntityId) -> Result<u64, ClientError> {
    client.next_nonce(signer).map_err(|e| match e {
        ClientError::Rejected {
            status: 404,
            message,
            ..
        } => ClientError::Rejected {
            status: 404,
            code: "unknown_signer".into(),
            message: format!("the node knows no entity {signer} ({message})"),
        },
        e => e,
    })
}

/// What `tx` prints: the hash, and after `--wait` the node's verdict.
fn outcome(output: Output, hash: &str, answer: Option<&Value>) -> String {
    let Some(answer) = answer else {
        return match output {
            Output::Json => format!("{:#}\n", json!({ "hash": hash })),
            Output::Csv => format!("hash\n{hash}\n"),
            Output::Table => format!("{hash}\n"),
        };
    };
    let status = answer["status"].as_str().unwrap_or("pending");
    let height = &answer["height"];
    let index = &answer["index"];
    match output {
        Output::Json => {
            let mut v = json!({"hash": hash, "status": status, "height": height, "index": index});
            if status == "rejected" {
                v["error"] = answer["error"].clone();
            }
            format!("{v:#}\n")
        }
        Output::Csv => format!(
            "hash,status,height,index\n{hash},{status},{},{}\n",
            scalar(height),
            scalar(index)
        ),
        // The table form has already printed the hash on its own line.
        Output::Table => format!(
            "committed at height {} (index {})\n",
            scalar(height),
            scalar(index)
        ),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}
