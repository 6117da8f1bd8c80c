//! Fork proofs: `minhbach verify fork FILE --genesis FILE`, which checks
//! one offline, and what a witness says when it has found one.
//!
//! A fork proof is two checkpoints of one height with different blocks,
//! each certified by the validators of that height as traced from the
//! genesis file ([`ledger::witness::ForkProof::verify`]), and pairs of the
//! same two histories at earlier heights, each checkpoint linked to the
//! next of its history by a consistency proof. The validators whose
//! precommits certify a block of each history signed two histories.

use std::path::Path;

use genesis::Genesis;
use ledger::witness::{ForkProof, VerifiedFork, WitnessError, FORK_PROOF_BYTES_MAX};
use serde_json::{json, Value};

use super::home::read_bounded;
use crate::render::{render, CsvRows};
use crate::watch::event::sanitize;
use crate::{Output, UsageError, EXIT_FAILED};

/// The summary of a valid fork proof, for `--output`.
pub fn summary(chain_id: &str, fork: &VerifiedFork) -> Value {
    json!({
        "valid": true,
        "chain_id": chain_id,
        "height": fork.height.0,
        "cosigned_block": fork.cosigned.to_hex(),
        "other_block": fork.other.to_hex(),
        "heights": fork.heights.iter().map(|h| h.0).collect::<Vec<_>>(),
        "signed_both": fork.signed_both.iter().map(|v| json!({
            "name": v.name,
            "consensus_key": v.consensus_key.to_hex(),
            "power": v.power,
        })).collect::<Vec<_>>(),
    })
}

/// The heights of the pairs, as `height 8` or `heights 5, 7 and 8`, for
/// people.
pub fn heights_text(fork: &VerifiedFork) -> String {
    let all: Vec<String> = fork.heights.iter().map(ToString::to_string).collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("heights {} and {last}", rest.join(", "))
        }
        _ => format!("height {}", fork.height),
    }
}

/// The validators who signed both histories, as `name (key), …`, for
/// people.
pub fn signers_text(fork: &VerifiedFork) -> String {
    if fork.signed_both.is_empty() {
        return "none".into();
    }
    fork.signed_both
        .iter()
        .map(|v| format!("{} ({})", sanitize(&v.name), v.consensus_key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `minhbach verify fork FILE --genesis GENESIS`: 0 when the file
/// proves a fork, 1 with `invalid: <what>` on stderr when not.
pub fn verify(output: Output, file: &Path, genesis: &Path) -> anyhow::Result<u8> {
    let genesis = Genesis::load(genesis).map_err(|e| UsageError {
        flag: "--genesis",
        message: e.to_string(),
    })?;
    let bytes = read_bounded(file, FORK_PROOF_BYTES_MAX as u64).map_err(|e| UsageError {
        flag: "FILE",
        message: format!("{}: {e}", file.display()),
    })?;
    let verdict = match bytes {
        None => Err(WitnessError::TooLarge {
            bytes: std::fs::metadata(file).map_or(usize::MAX, |m| {
                usize::try_from(m.len()).unwrap_or(usize::MAX)
            }),
            max: FORK_PROOF_BYTES_MAX,
        }),
        Some(bytes) => {
            ForkProof::decode(&bytes).and_then(|proof| proof.verify(&genesis.trust_anchor()))
        }
    };
    match verdict {
        Ok(fork) => {
            let rows = CsvRows {
                field: "signed_both",
                columns: &["name", "consensus_key", "power"],
                context: &[
                    ("height", "height"),
                    ("cosigned_block", "cosigned_block"),
                    ("other_block", "other_block"),
                    ("heights", "heights"),
                ],
            };
            print!(
                "{}",
                render(&summary(&genesis.chain_id, &fork), output, Some(rows))
            );
            if output == Output::Table {
                eprintln!(
                    "valid: at height {} chain {} has two blocks, each certified by its \
                     validators as traced from the genesis file; the two histories differ at {}, \
                     and {} validators certified blocks of both: {}",
                    fork.height,
                    genesis.chain_id,
                    heights_text(&fork),
                    fork.signed_both.len(),
                    signers_text(&fork)
                );
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("invalid: {e}");
            if output != Output::Table {
                let answer = json!({"valid": false, "error": e.to_string()});
                print!("{}", render(&answer, output, None));
            }
            Ok(EXIT_FAILED)
        }
    }
}
