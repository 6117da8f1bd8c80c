//! `minhbach proof tx` and `minhbach verify proof`: fetch a transaction's
//! audit bundle from a node, and check a bundle with no network against a
//! genesis file, counting the genesis file's witnesses who stand behind
//! the transaction's block.
//!
//! Fetching trusts nothing and checks nothing: it writes what the node
//! sent. Verifying is [`ledger::proof::AuditBundle::verify`], which trusts
//! only the genesis file; see that module for what a bundle proves and what
//! it does not.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use genesis::Genesis;
use ledger::proof::{AuditBundle, ProofError, VerifiedTx, BUNDLE_BYTES_MAX};
use ledger::Hash;
use serde_json::{json, Value};

use crate::render::render;
use crate::{Output, UsageError, EXIT_FAILED};
use tools::client::Client;

/// Audit bundles.
#[derive(Subcommand, Clone, Debug)]
pub enum ProofCommand {
    /// Write the audit bundle of a committed transaction, fetched through
    /// `--node`, to a file; check it with `minhbach verify proof`.
    Tx {
        /// The transaction hash (64 hex digits).
        #[arg(value_name = "HASH", value_parser = parse_hash)]
        hash: Hash,
        /// Where to write the bundle (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

fn parse_hash(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|_| "expected 64 hex digits (a transaction hash)".to_owned())
}

/// Runs `minhbach proof ...`.
pub fn run(client: &Client, output: Output, command: ProofCommand) -> anyhow::Result<u8> {
    let ProofCommand::Tx { hash, out, force } = command;
    if !force && out.exists() {
        return Err(UsageError {
            flag: "--out",
            message: format!("{} exists; pass --force to overwrite it", out.display()),
        }
        .into());
    }
    let bundle = client.get(&format!("/v1/txs/{hash}/proof"))?;
    let mut text = serde_json::to_string_pretty(&bundle).expect("a JSON value prints");
    text.push('\n');
    write_file(&out, text.as_bytes(), force)?;
    let height = &bundle["block"]["header"]["view"]["height"];
    eprintln!(
        "wrote the audit bundle of {hash} (block {height}) to {}",
        out.display()
    );
    if output != Output::Table {
        let summary = json!({"hash": hash, "height": height, "out": out.display().to_string()});
        print!("{}", render(&summary, output, None));
    }
    Ok(0)
}

/// Writes `bytes` to a new file, or over an old one only when `overwrite`.
fn write_file(path: &Path, bytes: &[u8], overwrite: bool) -> anyhow::Result<()> {
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

/// Runs `minhbach verify proof FILE --genesis GENESIS [--witnesses K]`: 0
/// when the bundle proves its transaction (and, with `K`, at least K of the
/// genesis file's witnesses stand behind its block), 1 with
/// `invalid: <what>` on stderr when not.
pub fn verify(
    output: Output,
    file: &Path,
    genesis: &Path,
    required: Option<usize>,
) -> anyhow::Result<u8> {
    let genesis = Genesis::load(genesis).map_err(|e| UsageError {
        flag: "--genesis",
        message: e.to_string(),
    })?;
    let bytes = read_bounded(file)?;
    let verdict = bytes
        .and_then(|b| AuditBundle::decode(&b))
        .and_then(|bundle| bundle.verify(&genesis.trust_anchor()));
    let verified = match verdict {
        Ok(verified) => verified,
        Err(e) => return Ok(invalid(output, &e.to_string(), json!({}))),
    };
    let mut summary = summary(&genesis, &verified);
    if let Some(k) = required {
        summary["witnesses_required"] = k.into();
        if verified.witnesses.len() < k {
            let why = too_few_witnesses(&verified, k);
            return Ok(invalid(output, &why, summary));
        }
    }
    print!("{}", render(&summary, output, None));
    if output == Output::Table {
        let changes = match verified.set_changes {
            1 => "1 validator-set change".to_owned(),
            n => format!("{n} validator-set changes"),
        };
        eprintln!(
            "valid: the transaction is in block {}, signed off by validators holding {} \
             of {} voting power, whose authority was traced from the genesis file \
             through {changes}. {} The bundle does not prove which key the signer held \
             then; the validators checked the signature when they executed the block.",
            verified.height,
            verified.signed_power,
            verified.total_power,
            witnesses_words(&verified),
        );
    }
    Ok(0)
}

/// Prints why the bundle does not prove enough (`details` are added to the
/// JSON answer) and returns the exit code.
fn invalid(output: Output, why: &str, mut details: Value) -> u8 {
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

/// What the witnesses say of the block, as a sentence.
fn witnesses_words(v: &VerifiedTx) -> String {
    let stood = match v.witnesses.len() {
        0 => {
            "No witness of the genesis file has cosigned a checkpoint holding the block.".to_owned()
        }
        1 => format!(
            "1 witness of the genesis file ({}) cosigned a checkpoint holding the block.",
            id_list(&v.witnesses)
        ),
        n => format!(
            "{n} witnesses of the genesis file ({}) cosigned a checkpoint holding the block.",
            id_list(&v.witnesses)
        ),
    };
    match v.uncounted_witnesses.as_slice() {
        [] => stood,
        others => format!(
            "{stood} Cosignatures from {}, not witnesses of the genesis file, were not counted.",
            id_list(others)
        ),
    }
}

/// Why the block has fewer than `required` witnesses behind it.
fn too_few_witnesses(v: &VerifiedTx, required: usize) -> String {
    let names = if v.witnesses.is_empty() {
        String::new()
    } else {
        format!(" ({})", id_list(&v.witnesses))
    };
    let uncounted = if v.uncounted_witnesses.is_empty() {
        String::new()
    } else {
        format!(
            "; cosignatures from {}, not witnesses of the genesis file, are not counted",
            id_list(&v.uncounted_witnesses)
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
fn read_bounded(path: &Path) -> anyhow::Result<Result<Vec<u8>, ProofError>> {
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

/// What a valid bundle established, for `--output`.
fn summary(genesis: &Genesis, v: &VerifiedTx) -> Value {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(v.time_ms);
    json!({
        "valid": true,
        "hash": v.hash,
        "chain_id": genesis.chain_id,
        "signer": v.tx.body.signer,
        "nonce": v.tx.body.nonce,
        "op": v.tx.body.op,
        "height": v.height.0,
        "index": v.index,
        "tx_count": v.tx_count,
        "block_hash": v.block_hash,
        "time": humantime::format_rfc3339_millis(time).to_string(),
        "signed_power": v.signed_power,
        "total_power": v.total_power,
        "validator_set_changes": v.set_changes,
        "currency": genesis.currency.code,
        "witness_count": v.witnesses.len(),
        "witnesses": v.witnesses.iter().map(|w| json!({
            "id": w,
            "name": genesis.entities.iter().find(|e| e.id == *w).map(|e| e.name.as_str()),
        })).collect::<Vec<_>>(),
    })
}
