//! `minhbach proof tx|state` and `minhbach verify proof`: fetch a
//! transaction's audit bundle or a state entry's proof from a node, and
//! check either with no network against a genesis file, counting the
//! genesis file's witnesses who stand behind the block.
//!
//! Fetching trusts nothing and checks nothing: it writes what the node
//! sent. Verifying is [`ledger::proof::AuditBundle::verify`], which trusts
//! only the genesis file; see that module for what a bundle proves and what
//! it does not.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use genesis::Genesis;
use ledger::proof::{AuditBundle, VerifiedTx};
use ledger::Hash;
use serde_json::{json, Value};

use crate::render::render;
use crate::verdict::{
    authority_words, certified_summary, invalid, read_bounded, save_fetched, too_few_witnesses,
    Certified,
};
use crate::{Output, UsageError};
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
    /// Write the proof of one state entry after a block (an entity's keys
    /// and status, a budget line's figures, a contract), fetched through
    /// `--node`, to a file; check it with `minhbach verify proof`.
    #[command(group(clap::ArgGroup::new("key").required(true).args(["entity", "line", "contract"])))]
    State {
        /// An entity, by id.
        #[arg(long, value_name = "ID")]
        entity: Option<String>,
        /// A budget line's figures: year, line code and entity.
        #[arg(long, value_name = "YEAR/LINE/ENTITY")]
        line: Option<String>,
        /// A contract, by id.
        #[arg(long, value_name = "ID")]
        contract: Option<String>,
        /// After which block (1 or more); the last committed one if absent.
        #[arg(long, value_name = "H")]
        height: Option<u64>,
        /// Where to write the proof (JSON).
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

/// Refuses to write over `out` unless `force`.
fn check_out(out: &Path, force: bool) -> Result<(), UsageError> {
    if !force && out.exists() {
        return Err(UsageError {
            flag: "--out",
            message: format!("{} exists; pass --force to overwrite it", out.display()),
        });
    }
    Ok(())
}

/// Runs `minhbach proof ...`.
pub fn run(client: &Client, output: Output, command: ProofCommand) -> anyhow::Result<u8> {
    let (hash, out, force) = match command {
        ProofCommand::Tx { hash, out, force } => (hash, out, force),
        ProofCommand::State {
            entity,
            line,
            contract,
            height,
            out,
            force,
        } => {
            let key = match (entity, line, contract) {
                (Some(id), _, _) => format!("entity:{id}"),
                (_, Some(line), _) => format!("line:{line}"),
                (_, _, Some(id)) => format!("contract:{id}"),
                _ => unreachable!("clap requires one of the three"),
            };
            check_out(&out, force)?;
            return crate::state_proof::fetch(client, output, &key, height, &out, force);
        }
    };
    check_out(&out, force)?;
    let bundle = client.get(&format!("/v1/txs/{hash}/proof"))?;
    let height = &bundle["block"]["header"]["view"]["height"];
    let summary = json!({"hash": hash, "height": height, "out": out.display().to_string()});
    save_fetched(&bundle, &out, force, output, summary)?;
    eprintln!(
        "wrote the audit bundle of {hash} (block {height}) to {}",
        out.display()
    );
    Ok(0)
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
    if let Ok(b) = &bytes {
        if crate::state_proof::is_state_proof(b) {
            return crate::state_proof::verify(output, b, &genesis, required);
        }
    }
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
            let why = too_few_witnesses(&certified(&verified), k);
            return Ok(invalid(output, &why, summary));
        }
    }
    print!("{}", render(&summary, output, None));
    if output == Output::Table {
        eprintln!(
            "valid: the transaction is in block {}, {} {}",
            verified.height,
            authority_words(&certified(&verified)),
            signer_words(&verified),
        );
    }
    Ok(0)
}

/// What the bundle proves of the signer's keys, as a sentence.
fn signer_words(v: &VerifiedTx) -> String {
    let signer = &v.tx.body.signer;
    match &v.signer_keys {
        None => "The bundle does not prove which keys the signer held then; the validators \
                 checked the signatures when they executed the block."
            .to_owned(),
        Some(k) => {
            let held = if k.signed_by_held >= usize::from(k.threshold) {
                "enough to act alone"
            } else {
                "fewer than its threshold: its keys changed earlier in the block"
            };
            format!(
                "When the block began, {signer} held {} key(s) with threshold {} (its entry \
                 after block {}, proved against that block's state root); {} of the \
                 transaction's signatures are by them, {held}.",
                k.keys.len(),
                k.threshold,
                k.after,
                k.signed_by_held,
            )
        }
    }
}

/// What the bundle established of its block.
fn certified(v: &VerifiedTx) -> Certified<'_> {
    Certified {
        height: v.height,
        block_hash: v.block_hash,
        time_ms: v.time_ms,
        signed_power: v.signed_power,
        total_power: v.total_power,
        set_changes: v.set_changes,
        witnesses: &v.witnesses,
        uncounted: &v.uncounted_witnesses,
    }
}

/// What a valid bundle established, for `--output`.
fn summary(genesis: &Genesis, v: &VerifiedTx) -> Value {
    let mut s = certified_summary(genesis, &certified(v));
    s["hash"] = json!(v.hash);
    s["signer"] = json!(v.tx.body.signer);
    s["nonce"] = json!(v.tx.body.nonce);
    s["op"] = json!(v.tx.body.op);
    s["index"] = json!(v.index);
    s["tx_count"] = json!(v.tx_count);
    s["signer_keys"] = json!(v.signer_keys.as_ref().map(|k| json!({
        "after_height": k.after.0,
        "keys": k.keys,
        "threshold": k.threshold,
        "signatures_by_them": k.signed_by_held,
    })));
    s
}
