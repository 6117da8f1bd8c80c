//! What `minhbach verify proof` says of a bundle or a state proof, and the
//! files `minhbach proof` writes: the verdict and its exit code, who stands
//! behind the block, and a bounded read of the file to check.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::Path;

use genesis::Genesis;
use ledger::proof::{ProofError, BUNDLE_BYTES_MAX};
use serde_json::{json, Value};

use crate::render::render;
use crate::{Output, UsageError, EXIT_FAILED};

/// Writes `bytes` to a new file, or over an old one only when `overwrite`.
pub(crate) fn write_file(path: &Path, bytes: &[u8], overwrite: bool) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        // Checked again here: the file may have appeared since.
        options.create_new(true);
    }
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Prints why the bundle does not prove enough (`details` are added to the
/// JSON answer) and returns the exit code.
pub(crate) fn invalid(output: Output, why: &str, mut details: Value) -> u8 {
    eprintln!("invalid: {why}");
    if output != Output::Table {
        details["valid"] = false.into();
        details["error"] = why.into();
        print!("{}", render(&details, output, None));
    }
    EXIT_FAILED
}

/// The witnesses' ids, comma-separated.
fn id_list(ids: &[ledger::EntityId]) -> String {
    ids.iter()
        .map(|i| i.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a verified bundle or state proof established of its block: where
/// it is, who certified it, and who stands behind it (the genesis file's
/// witnesses who cosigned a checkpoint holding it, and the other cosigners).
pub(crate) struct Certified<'a> {
    pub(crate) height: ledger::Height,
    pub(crate) block_hash: ledger::Hash,
    pub(crate) time_ms: u64,
    pub(crate) signed_power: u64,
    pub(crate) total_power: u64,
    pub(crate) set_changes: usize,
    pub(crate) witnesses: &'a [ledger::EntityId],
    pub(crate) uncounted: &'a [ledger::EntityId],
}

/// Who certified the block and who stands behind it, as sentences.
pub(crate) fn authority_words(c: &Certified) -> String {
    let changes = match c.set_changes {
        1 => "1 validator-set change".to_owned(),
        n => format!("{n} validator-set changes"),
    };
    format!(
        "signed off by validators holding {} of {} voting power, whose authority was \
         traced from the genesis file through {changes}. {}",
        c.signed_power,
        c.total_power,
        witnesses_words(c),
    )
}

/// The block's facts in a `--output` summary, to which each document adds
/// its own.
pub(crate) fn certified_summary(genesis: &Genesis, c: &Certified) -> Value {
    json!({
        "valid": true,
        "chain_id": genesis.chain_id,
        "height": c.height.0,
        "block_hash": c.block_hash,
        "time": time_words(c.time_ms),
        "signed_power": c.signed_power,
        "total_power": c.total_power,
        "validator_set_changes": c.set_changes,
        "currency": genesis.currency.code,
        "witness_count": c.witnesses.len(),
        "witnesses": witness_list(genesis, c.witnesses),
    })
}

/// What the witnesses say of the block, as a sentence.
fn witnesses_words(v: &Certified) -> String {
    let stood = match v.witnesses.len() {
        0 => {
            "No witness of the genesis file has cosigned a checkpoint holding the block.".to_owned()
        }
        1 => format!(
            "1 witness of the genesis file ({}) cosigned a checkpoint holding the block.",
            id_list(v.witnesses)
        ),
        n => format!(
            "{n} witnesses of the genesis file ({}) cosigned a checkpoint holding the block.",
            id_list(v.witnesses)
        ),
    };
    match v.uncounted {
        [] => stood,
        others => format!(
            "{stood} Cosignatures from {}, not witnesses of the genesis file, were not counted.",
            id_list(others)
        ),
    }
}

/// Why the block has fewer than `required` witnesses behind it.
pub(crate) fn too_few_witnesses(v: &Certified, required: usize) -> String {
    let names = if v.witnesses.is_empty() {
        String::new()
    } else {
        format!(" ({})", id_list(v.witnesses))
    };
    let uncounted = if v.uncounted.is_empty() {
        String::new()
    } else {
        format!(
            "; cosignatures from {}, not witnesses of the genesis file, are not counted",
            id_list(v.uncounted)
        )
    };
    format!(
        "{} of the genesis file's witnesses stood behind block {}{names}, \
         but at least {required} are required{uncounted}",
        v.witnesses.len(),
        v.height,
    )
}

/// The file's bytes, or the bundle error for a file over the size limit;
/// an unreadable file is a usage error.
pub(crate) fn read_bounded(path: &Path) -> anyhow::Result<Result<Vec<u8>, ProofError>> {
    let unreadable = |e: std::io::Error| UsageError {
        flag: "FILE",
        message: format!("{}: {e}", path.display()),
    };
    let file = fs::File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    if len > BUNDLE_BYTES_MAX as u64 {
        return Ok(Err(ProofError::TooLarge {
            bytes: usize::try_from(len).unwrap_or(usize::MAX),
        }));
    }
    let mut bytes = Vec::new();
    // One byte past the limit, so a file that grew since is still refused.
    file.take(BUNDLE_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(Ok(bytes))
}

/// A block time, ms since the epoch, in RFC 3339.
fn time_words(time_ms: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(time_ms);
    humantime::format_rfc3339_millis(time).to_string()
}

/// The witnesses as `--output` lists them: id and name in the genesis file.
fn witness_list(genesis: &Genesis, witnesses: &[ledger::EntityId]) -> Vec<Value> {
    witnesses
        .iter()
        .map(|w| {
            json!({
                "id": w,
                "name": genesis.entities.iter().find(|e| e.id == *w).map(|e| e.name.as_str()),
            })
        })
        .collect()
}

/// Writes a document a node sent to `out` as pretty JSON, and for
/// `--output json|...` prints `summary` of it.
pub(crate) fn save_fetched(
    document: &Value,
    out: &Path,
    force: bool,
    output: Output,
    summary: Value,
) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(document).expect("a JSON value prints");
    text.push('\n');
    write_file(out, text.as_bytes(), force)?;
    if output != Output::Table {
        print!("{}", render(&summary, output, None));
    }
    Ok(())
}
