//! Collecting signatures offline: `minhbach tx sign`, `show` and `submit`
//! on a transaction file ([`super::file`]).
//!
//! A ministry's accountant prepares a payment with `minhbach tx pay ...
//! --unsigned --out pay.json`; each official reads it with `minhbach tx show
//! pay.json`, signs it with `minhbach tx sign pay.json --key mine.key` (in
//! turn, or on a machine with no network with `--offline`), and whoever
//! holds the file last sends it with `minhbach tx submit pay.json --wait`;
//! or, with `--awaiting`, leaves it with the node for the other signers to
//! add theirs ([`super::awaiting`]).
//!
//! `sign` refuses a file for another chain than the one the user names or
//! the node reports, a file whose nonce the signer has already used, a file
//! whose readable fields disagree with its body, a file one of whose
//! signatures does not verify, and a format it does not know. Nothing is
//! ever signed that the user has not been shown: `sign` prints the
//! transaction in one sentence before signing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ledger::{codec, Hash, PublicKey};
use serde_json::{json, Value};
use tools::client::Client;

use super::awaiting::offer;
use super::chain::ChainFlags;
use super::file::{TxFile, FORMAT};
use super::parse::parse_duration;
use super::submit::{next_nonce, submit};
use super::words;
use super::{read_keys, CHAIN_ID_ENV};
use crate::{Output, UsageError};

/// `minhbach tx sign FILE --key KEYFILE`.
#[derive(Args, Clone, Debug)]
pub struct SignFileArgs {
    /// The transaction file, rewritten in place with the new signature.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Your key file (JSON, mode 0600); repeat to sign with several keys.
    #[arg(long, value_name = "KEYFILE", required = true)]
    pub key: Vec<PathBuf>,
    /// Ask no node: skip the checks of the node's chain and of the signer's
    /// nonce. The chain must then be named by --chain-id, --genesis or
    /// MINHBACH_CHAIN_ID.
    #[arg(long)]
    pub offline: bool,
}

/// `minhbach tx show FILE`.
#[derive(Args, Clone, Debug)]
pub struct ShowArgs {
    /// The transaction file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `minhbach tx submit FILE`.
#[derive(Args, Clone, Debug)]
pub struct SubmitArgs {
    /// The signed transaction file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Wait until the transaction is committed (print its height) or rejected.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits: seconds, or a duration such as 90s or 2m.
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Leave it with the node to gather the signatures it still needs
    /// (`POST /v1/awaiting`): its signatures are merged with those the node
    /// holds for the same transaction, and once they suffice it is
    /// submitted. Prints its id and what it still needs, or its hash once
    /// submitted (--wait then waits for it).
    #[arg(long)]
    pub awaiting: bool,
}

/// A refusal of the file itself (exit 2).
fn refused(message: impl std::fmt::Display) -> anyhow::Error {
    UsageError {
        flag: "FILE",
        message: message.to_string(),
    }
    .into()
}

fn load(path: &Path) -> anyhow::Result<TxFile> {
    TxFile::load(path).map_err(|e| refused(format!("{}: {e}", path.display())))
}

/// Refuses a file whose signatures do not all verify.
fn check_signatures(path: &Path, file: &TxFile, nothing: &str) -> anyhow::Result<()> {
    match file.invalid_signatures().first() {
        None => Ok(()),
        Some(key) => Err(refused(format!(
            "{}: the signature of key {key} does not verify over the transaction: the file \
             was changed after that key signed it; {nothing}",
            path.display()
        ))),
    }
}

/// Refuses a file for another chain than the one the user named, if any.
fn check_named_chain(
    chain: &ChainFlags,
    path: &Path,
    file: &TxFile,
    nothing: &str,
) -> anyhow::Result<bool> {
    let Some(named) = chain.named(std::env::var_os(CHAIN_ID_ENV))? else {
        return Ok(false);
    };
    let ours = &file.tx.body.chain_id;
    if named.chain_id != *ours {
        return Err(UsageError {
            flag: named.by,
            message: format!(
                "{} is a transaction for chain {ours}, not {}; {nothing}",
                path.display(),
                named.chain_id
            ),
        }
        .into());
    }
    Ok(true)
}

/// Writes a new transaction file (`tx <operation> --out FILE`) and says what
/// to do with it.
pub(super) fn write_new(output: Output, path: &Path, file: &TxFile) -> anyhow::Result<u8> {
    file.save(path, false).map_err(|e| UsageError {
        flag: "--out",
        message: format!("{e:#}"),
    })?;
    let body = &file.tx.body;
    let signed = match file.tx.signatures.len() {
        0 => "signed by no one yet".to_owned(),
        n => format!("signed by {n} key{}", if n == 1 { "" } else { "s" }),
    };
    eprintln!(
        "wrote {}: {} (nonce {}, chain {}), {signed}. Each signer checks it with `minhbach tx \
         show {0}` and signs it with `minhbach tx sign {0} --key KEYFILE`; then `minhbach tx \
         submit {0}` sends it.",
        path.display(),
        words::sentence(body),
        body.nonce,
        body.chain_id,
    );
    let keys: Vec<String> = file.tx.signing_keys().map(PublicKey::to_hex).collect();
    match output {
        Output::Json => println!(
            "{:#}",
            json!({
                "file": path.display().to_string(),
                "chain_id": body.chain_id,
                "signer": body.signer,
                "nonce": body.nonce,
                "signatures": keys,
            })
        ),
        Output::Csv => println!("file\n{}", csv_field(&path.display().to_string())),
        Output::Table => println!("{}", path.display()),
    }
    Ok(0)
}

/// Runs `minhbach tx sign`.
pub fn sign(
    client: &Client,
    output: Output,
    chain: &ChainFlags,
    args: SignFileArgs,
) -> anyhow::Result<u8> {
    const NOTHING: &str = "nothing was signed";
    let path = &args.file;
    let mut file = load(path)?;
    let keys = read_keys(&args.key)?;
    let named = check_named_chain(chain, path, &file, NOTHING)?;
    let body = file.tx.body.clone();
    if args.offline {
        if !named {
            return Err(UsageError {
                flag: "--chain-id",
                message: format!(
                    "with --offline no node confirms the chain of {}; name the chain you sign \
                     for with --chain-id ID, --genesis FILE or {CHAIN_ID_ENV}=ID",
                    path.display()
                ),
            }
            .into());
        }
    } else {
        let chain_id = chain.chain_to_sign(client)?;
        if chain_id != body.chain_id {
            return Err(refused(format!(
                "{} is a transaction for chain {}, but the node at {} is on chain \
                 {chain_id}; {NOTHING}",
                path.display(),
                body.chain_id,
                client.base()
            )));
        }
        let next = next_nonce(client, &body.signer)?;
        if next > body.nonce {
            anyhow::bail!(
                "{}: nonce {} of {} is already used (the node's next nonce for {} is {next}), \
                 so this transaction can never be committed; {NOTHING}. Prepare it again with \
                 the current nonce.",
                path.display(),
                body.nonce,
                body.signer,
                body.signer
            );
        }
    }
    check_signatures(path, &file, NOTHING)?;
    eprintln!("signing: {}", words::sentence(&body));
    for key in &keys {
        file.tx.add_signature(key);
    }
    if file.tx.signatures.len() > ledger::tx::SIGNATURES_MAX {
        return Err(refused(format!(
            "{} would carry {} signatures, more than a transaction carries ({}); {NOTHING}",
            path.display(),
            file.tx.signatures.len(),
            ledger::tx::SIGNATURES_MAX
        )));
    }
    file.save(path, true)?;
    let signed: Vec<String> = keys.iter().map(|k| k.public_key().to_hex()).collect();
    let all: Vec<String> = file.tx.signing_keys().map(PublicKey::to_hex).collect();
    match output {
        Output::Json => println!(
            "{:#}",
            json!({"file": path.display().to_string(), "signed_by": signed, "signatures": all})
        ),
        Output::Csv => {
            println!("key,new");
            for key in &all {
                println!("{key},{}", signed.contains(key));
            }
        }
        Output::Table => {
            for key in &signed {
                println!("signed by   {key}");
            }
            println!("signatures  {} (in key order)", all.len());
            for key in &all {
                println!("  {key}");
            }
        }
    }
    Ok(0)
}

/// Runs `minhbach tx show`.
pub fn show(output: Output, args: ShowArgs) -> anyhow::Result<u8> {
    let file = load(&args.file)?;
    print!("{}", render_show(&args.file, &file, output));
    Ok(0)
}

/// What `tx show` prints.
fn render_show(path: &Path, file: &TxFile, output: Output) -> String {
    let body = &file.tx.body;
    let invalid = file.invalid_signatures();
    let signatures: Vec<(PublicKey, bool)> = file
        .tx
        .signing_keys()
        .map(|k| (*k, !invalid.contains(k)))
        .collect();
    let body_hash = Hash::digest(&codec::encode(body)).to_hex();
    let mut rows: Vec<(&str, String)> = vec![
        ("file", path.display().to_string()),
        ("what", words::sentence(body)),
        ("operation", body.op.name().to_owned()),
        ("chain", body.chain_id.clone()),
        ("signer", body.signer.to_string()),
        ("nonce", body.nonce.to_string()),
    ];
    let fields = words::fields(&body.op);
    rows.extend(fields.iter().cloned());
    rows.push(("body sha-256", body_hash.clone()));
    match output {
        Output::Json => {
            let value = json!({
                "file": path.display().to_string(),
                "format": FORMAT,
                "summary": words::sentence(body),
                "operation": body.op.name(),
                "chain_id": body.chain_id,
                "signer": body.signer,
                "nonce": body.nonce,
                "op": body.op,
                "fields": fields
                    .iter()
                    .map(|(f, v)| json!({"field": f, "value": v}))
                    .collect::<Vec<Value>>(),
                "body_sha256": body_hash,
                "signatures": signatures
                    .iter()
                    .map(|(k, valid)| json!({"key": k.to_hex(), "valid": valid}))
                    .collect::<Vec<Value>>(),
            });
            format!("{value:#}\n")
        }
        Output::Csv => {
            let mut out = String::from("field,value\n");
            for (f, v) in &rows {
                let _ = writeln!(out, "{},{}", csv_field(f), csv_field(v));
            }
            for (k, valid) in &signatures {
                let state = if *valid { "valid" } else { "INVALID" };
                let _ = writeln!(out, "signature,{k} {state}");
            }
            out
        }
        Output::Table => {
            let width = rows.iter().map(|(f, _)| f.len()).max().unwrap_or(0).max(10) + 2;
            let mut out = String::new();
            for (f, v) in &rows {
                let _ = writeln!(out, "{f:<width$}{v}");
            }
            if signatures.is_empty() {
                let _ = writeln!(
                    out,
                    "{:<width$}none yet; sign with `minhbach tx sign {} --key KEYFILE`",
                    "signatures",
                    path.display()
                );
            } else {
                let _ = writeln!(
                    out,
                    "{:<width$}{} (in key order)",
                    "signatures",
                    signatures.len()
                );
                for (k, valid) in &signatures {
                    let state = if *valid {
                        "valid"
                    } else {
                        "INVALID: does not verify over this transaction"
                    };
                    let _ = writeln!(out, "  {k}  {state}");
                }
            }
            out
        }
    }
}

/// Runs `minhbach tx submit`.
pub fn submit_file(
    client: &Client,
    output: Output,
    chain: &ChainFlags,
    args: SubmitArgs,
) -> anyhow::Result<u8> {
    const NOTHING: &str = "nothing was submitted";
    let path = &args.file;
    let file = load(path)?;
    if file.tx.signatures.is_empty() {
        return Err(refused(format!(
            "{} carries no signature yet; its signers sign it with `minhbach tx sign {} --key \
             KEYFILE`; {NOTHING}",
            path.display(),
            path.display()
        )));
    }
    file.tx
        .check_form()
        .map_err(|e| refused(format!("{}: {e}; {NOTHING}", path.display())))?;
    check_signatures(path, &file, NOTHING)?;
    check_named_chain(chain, path, &file, NOTHING)?;
    let status = client.get("/v1/status")?;
    let reported = status["chain_id"].as_str().unwrap_or_default();
    if reported != file.tx.body.chain_id {
        return Err(refused(format!(
            "{} is a transaction for chain {}, but the node at {} is on chain {reported}; \
             {NOTHING}",
            path.display(),
            file.tx.body.chain_id,
            client.base()
        )));
    }
    let wait = args.wait.then_some(args.timeout);
    if args.awaiting {
        return offer(client, output, &file.tx, wait);
    }
    submit(client, output, &file.tx, wait)
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
