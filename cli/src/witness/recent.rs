//! The checkpoints a witness cosigned before its last one, kept so that a
//! fork proof can hold earlier pairs of the two histories
//! ([`ledger::witness::ForkPair`]) and name every validator who certified
//! blocks of both.
//!
//! The home's `recent-cosigned.json` holds them, oldest first, each with
//! the consistency proof that links it to the next checkpoint cosigned (the
//! next of the list, or the one in `last-cosigned.json` for the newest):
//!
//! ```text
//! {"earlier": [{"proof": <checkpoint proof>, "link": <consistency proof>}, …]}
//! ```
//!
//! With the last cosigned checkpoint they are at most
//! [`FORK_PAIRS_MAX`] checkpoints. The file is written before the state
//! and the signature, so it never lacks what was signed; at the start,
//! entries that do not fit the state (not below it, not verifying, or not
//! linked) are left out. A home without the file (made by an older
//! witness) starts with the last cosigned checkpoint alone. Nothing in the
//! witness's promise rests on this file: a damaged one costs earlier pairs
//! of a fork proof, never a cosignature.

use ledger::merkle::ConsistencyProof;
use ledger::proof::TrustAnchor;
use ledger::witness::{extends, CheckpointProof, CHECKPOINT_BYTES_MAX, FORK_PAIRS_MAX};
use serde_json::{json, Value};

/// Largest consistency proof read: 64 hashes and their fields fit many
/// times over.
pub const CONSISTENCY_BYTES_MAX: usize = 64 * 1024;

/// Largest `recent-cosigned.json` read.
pub const RECENT_BYTES_MAX: u64 =
    (FORK_PAIRS_MAX * (CHECKPOINT_BYTES_MAX + CONSISTENCY_BYTES_MAX)) as u64;

/// A checkpoint cosigned before the last one, with the consistency proof
/// from it to the next one cosigned.
#[derive(Clone, Debug, PartialEq)]
pub struct Retained {
    /// The checkpoint proof, as the node served it.
    pub proof: CheckpointProof,
    /// From its history root to the next cosigned checkpoint's.
    pub link: ConsistencyProof,
}

/// The checkpoints cosigned before the last one, oldest first, each linked
/// to the next and the newest to the last cosigned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recent {
    earlier: Vec<Retained>,
}

impl Recent {
    /// Oldest first.
    pub fn earlier(&self) -> &[Retained] {
        &self.earlier
    }

    /// The list once the checkpoint after `last` is cosigned, `link`
    /// linking the two: `last` joins it, and the oldest leave beyond
    /// [`FORK_PAIRS_MAX`] − 1.
    pub fn after(&self, last: CheckpointProof, link: ConsistencyProof) -> Recent {
        let mut earlier = self.earlier.clone();
        earlier.push(Retained { proof: last, link });
        let keep = FORK_PAIRS_MAX - 1;
        if earlier.len() > keep {
            earlier.drain(..earlier.len() - keep);
        }
        Recent { earlier }
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        let earlier: Vec<Value> = self
            .earlier
            .iter()
            .map(|r| json!({"proof": r.proof, "link": r.link}))
            .collect();
        serde_json::to_string(&json!({ "earlier": earlier })).expect("JSON prints")
    }

    /// The entries of the file's bytes, not yet checked against the state.
    pub fn parse(bytes: &[u8]) -> Result<Vec<Retained>, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let list = only_fields(&value, &["earlier"])?
            .get("earlier")
            .and_then(Value::as_array)
            .ok_or("no earlier list")?;
        list.iter()
            .enumerate()
            .map(|(i, item)| {
                let at = |e: String| format!("earlier[{i}]: {e}");
                let fields = only_fields(item, &["proof", "link"]).map_err(at)?;
                let proof = fields.get("proof").ok_or_else(|| at("no proof".into()))?;
                let proof = CheckpointProof::decode(proof.to_string().as_bytes())
                    .map_err(|e| at(e.to_string()))?;
                let link = fields.get("link").ok_or_else(|| at("no link".into()))?;
                only_fields(link, &["old_size", "new_size", "path"]).map_err(at)?;
                let link = serde_json::from_value(link.clone()).map_err(|e| at(e.to_string()))?;
                Ok(Retained { proof, link })
            })
            .collect()
    }

    /// The entries of `read` that serve with `last` the last cosigned: the
    /// newest run of them below its height, each verifying from `anchor`
    /// and linked to the next, the newest to `last`. Entries not below
    /// `last` (written just before a state that a stop kept from being
    /// written) are left out silently; the problem of any other left out is
    /// returned.
    pub fn fit(
        read: Vec<Retained>,
        last: &CheckpointProof,
        anchor: &TrustAnchor,
    ) -> (Recent, Option<String>) {
        let below: Vec<Retained> = read
            .into_iter()
            .filter(|r| r.proof.checkpoint.height < last.checkpoint.height)
            .collect();
        let mut kept: Vec<Retained> = Vec::new();
        let mut problem = None;
        let mut next = &last.checkpoint;
        for r in below.iter().rev() {
            let cp = &r.proof.checkpoint;
            if kept.len() == FORK_PAIRS_MAX - 1 {
                break;
            }
            if cp.height >= next.height {
                problem = Some(format!(
                    "its checkpoint at height {} is not below the next one, at {}",
                    cp.height, next.height
                ));
                break;
            }
            if let Err(e) = r.proof.verify(anchor) {
                problem = Some(format!(
                    "its checkpoint at height {} does not verify ({e})",
                    cp.height
                ));
                break;
            }
            if !extends(cp, next, Some(&r.link)) {
                problem = Some(format!(
                    "its consistency proof from height {} does not link to height {}",
                    cp.height, next.height
                ));
                break;
            }
            kept.push(r.clone());
            next = cp;
        }
        kept.reverse();
        (Recent { earlier: kept }, problem)
    }
}

/// `value` as an object holding no other fields than `names`.
fn only_fields<'a>(
    value: &'a Value,
    names: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, String> {
    let fields = value.as_object().ok_or("not a JSON object")?;
    match fields.keys().find(|k| !names.contains(&k.as_str())) {
        Some(other) => Err(format!("unknown field {other:?}")),
        None => Ok(fields),
    }
}
