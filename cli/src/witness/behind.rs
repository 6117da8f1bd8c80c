//! A node behind the witness: its latest checkpoint is below the last one
//! cosigned. It is compared with the cosigned history, not merely waited
//! for: validators who certify a block far above the real tip, with a
//! history that extends the witness's last root by made-up blocks, would
//! otherwise leave every honest node behind, and never compared again.
//!
//! A node's checkpoint at N, below the last cosigned height L, is of the
//! cosigned history when a consistency proof links its root at N to the
//! root at L; the proof is asked of the nodes that hold the cosigned
//! history (the one that served L first). When none links them, that
//! node's own checkpoint at N tells: another certified block there is a
//! fork. The witness's own checkpoint at N, when it kept one, is compared
//! directly, before any of this (see [`super::follow`]).
//!
//! Also here: the requests of a round, each on a blocking thread, and the
//! check of a checkpoint proof's bytes.

use ledger::merkle::ConsistencyProof;
use ledger::proof::TrustAnchor;
use ledger::witness::{extends, CheckpointProof, CHECKPOINT_BYTES_MAX};
use tokio::task::JoinHandle;
use tools::client::{Client, ClientError};

use super::recent::CONSISTENCY_BYTES_MAX;

/// What comparing a node behind with the cosigned history found.
pub enum Behind {
    /// Its checkpoint is of the cosigned history: it is waited for.
    Consistent,
    /// Another certified block at its height: `at`, served by `side` (a
    /// node holding the cosigned history), is the cosigned history's.
    Fork {
        /// The node that served `at`.
        side: String,
        /// The cosigned history's checkpoint at the node's height.
        at: Box<CheckpointProof>,
    },
    /// No node holding the cosigned history could settle it, for this
    /// reason.
    Unchecked(String),
}

/// Compares `mine`, a node's latest checkpoint, below `last`, with the
/// cosigned history as the nodes `sides` (those holding it, the one that
/// served `last` first) serve it.
pub async fn compare(
    anchor: &TrustAnchor,
    last: &CheckpointProof,
    mine: &CheckpointProof,
    sides: &[Client],
) -> Behind {
    let (n, l) = (mine.checkpoint.height, last.checkpoint.height);
    let mut problems = Vec::new();
    for side in sides {
        let url = side.base();
        let path = format!("/v1/consistency?from={n}&to={l}");
        match joined(get(side, path, CONSISTENCY_BYTES_MAX)).await {
            Err(e @ (ClientError::Unreachable { .. } | ClientError::Tls { .. })) => {
                problems.push(format!("{e}"));
                continue;
            }
            Ok(bytes) => {
                if serde_json::from_slice::<ConsistencyProof>(&bytes)
                    .is_ok_and(|p| extends(&mine.checkpoint, &last.checkpoint, Some(&p)))
                {
                    return Behind::Consistent;
                }
            }
            Err(_) => {}
        }
        // Not linked: the side's own block at N tells.
        let path = format!("/v1/checkpoints/{n}");
        let at = joined(get(side, path, CHECKPOINT_BYTES_MAX))
            .await
            .map_err(|e| e.to_string())
            .and_then(|bytes| verified(anchor, &bytes));
        match at {
            Ok(at) if at.checkpoint.height != n => problems.push(format!(
                "{url}, asked for its checkpoint at height {n}, answered height {}",
                at.checkpoint.height
            )),
            Ok(at) if at.checkpoint.block_hash != mine.checkpoint.block_hash => {
                return Behind::Fork {
                    side: url.to_owned(),
                    at: Box::new(at),
                }
            }
            Ok(_) => problems.push(format!(
                "{url} holds the same block at height {n} but gave no consistency proof from \
                 there to height {l}"
            )),
            Err(e) => problems.push(format!("{url}: its checkpoint at height {n}: {e}")),
        }
    }
    if problems.is_empty() {
        problems.push("no node followed holds the cosigned history".into());
    }
    Behind::Unchecked(problems.join("; "))
}

/// A checkpoint proof from its bytes, verified from the genesis facts, and
/// small enough to be kept in the home and read back.
pub fn verified(anchor: &TrustAnchor, bytes: &[u8]) -> Result<CheckpointProof, String> {
    let proof = CheckpointProof::decode(bytes).map_err(|e| format!("cannot be read ({e})"))?;
    proof.verify(anchor).map_err(|e| {
        format!(
            "at height {} does not verify ({e})",
            proof.checkpoint.height
        )
    })?;
    let kept = serde_json::to_string(&proof).map_or(usize::MAX, |s| s.len());
    if kept > CHECKPOINT_BYTES_MAX {
        return Err(format!(
            "at height {} is too large to keep ({kept} bytes written, {CHECKPOINT_BYTES_MAX} \
             at most)",
            proof.checkpoint.height
        ));
    }
    Ok(proof)
}

/// `GET path` on a blocking thread, started now.
pub fn get(client: &Client, path: String, max: usize) -> JoinHandle<Result<Vec<u8>, ClientError>> {
    let client = client.clone();
    tokio::task::spawn_blocking(move || client.get_bytes(&path, max))
}

/// The result of a request on a blocking thread.
pub async fn joined<T>(handle: JoinHandle<Result<T, ClientError>>) -> Result<T, ClientError> {
    handle.await.unwrap_or_else(|e| {
        Err(ClientError::Rejected {
            status: 0,
            code: "internal".into(),
            message: format!("the request did not finish: {e}"),
        })
    })
}
