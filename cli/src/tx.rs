//! `minhbach tx <operation>`: builds one of the operations of SPEC §2 from
//! flags, signs it with an entity's key file and submits it to a node.
//!
//! Every variant of [`ledger::tx::Op`] has a subcommand named after it, with
//! one flag per field (`pay --contract C-17 --amount 300000 --reference
//! INV-9`). Flag values are checked while parsing, so a bad id, amount or hex
//! string is a usage error naming the flag (exit 2) and nothing is sent. The
//! node decides everything else: this module never second-guesses a budget.
//!
//! The flow: read the key file, settle the chain to sign for (the one named
//! by `--genesis`, `--chain-id` or `MINHBACH_CHAIN_ID`, which the node's
//! `/v1/status` must report too; see [`chain`]), ask the node for the
//! signer's next nonce (unless `--nonce`), sign, submit, print the hash; with
//! `--wait`, poll until the transaction is committed (print its height) or
//! rejected (exit 1).

pub mod chain;
mod command;
mod parse;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};
use ledger::crypto::{read_key_file, SigningKey};
use ledger::tx::{EntityKind, Op, Status, TxBody};
use ledger::{EntityId, Hash, SignedTx};
use serde_json::{json, Value};

pub use self::chain::{parse_chain_id, ChainFlags, CHAIN_ID_ENV};
pub use self::command::TxCommand;
pub use self::parse::parse_amount;
use self::parse::{hash_file, parse_duration, parse_hash};
pub(crate) use self::parse::{parse_contract_id, parse_entity_id, parse_year};
use crate::{Output, UsageError};
use tools::client::{Client, ClientError};

/// The help section of the flags every operation shares.
const SIGNING: &str = "Signing and submitting";

/// The flags every operation shares: who signs, and how to submit.
#[derive(Args, Clone, Debug)]
pub struct SignArgs {
    /// The signer's key file (JSON, mode 0600).
    #[arg(long, help_heading = SIGNING, value_name = "FILE")]
    pub key: PathBuf,
    /// The acting entity, e.g. MOH.BVBM.
    #[arg(long, help_heading = SIGNING, value_name = "ID", value_parser = parse_entity_id)]
    pub signer: EntityId,
    /// Sign with this nonce instead of the node's `next_nonce` for the signer.
    #[arg(long, help_heading = SIGNING, value_name = "N")]
    pub nonce: Option<u64>,
    /// Wait until the transaction is committed (print its height) or rejected.
    #[arg(long, help_heading = SIGNING)]
    pub wait: bool,
    /// How long --wait waits: seconds, or a duration such as 90s or 2m.
    #[arg(long, help_heading = SIGNING, value_name = "DURATION", default_value = "60", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// The contract document of `award`, `amend-contract` and `pay`, by hash or
/// by file.
#[derive(Args, Clone, Debug)]
pub struct DocumentArgs {
    /// SHA-256 of the document (64 hex digits).
    #[arg(long, value_name = "HEX", value_parser = parse_hash)]
    pub document_hash: Option<Hash>,
    /// The document itself: its SHA-256 is put on chain, never its contents.
    #[arg(
        long,
        value_name = "FILE",
        value_parser = hash_file,
        conflicts_with = "document_hash"
    )]
    pub document: Option<Hash>,
}

impl DocumentArgs {
    fn hash(self) -> Option<Hash> {
        self.document_hash.or(self.document)
    }
}

/// The kinds `register-entity` can create; the treasury exists only in genesis.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindArg {
    /// Receives appropriations.
    Ministry,
    /// Spends its ministry's budget (needs --parent).
    Department,
    /// Is paid under contracts.
    Vendor,
    /// An auditor's office or a newsroom that runs a node.
    Observer,
}

impl From<KindArg> for EntityKind {
    fn from(k: KindArg) -> EntityKind {
        match k {
            KindArg::Ministry => EntityKind::Ministry,
            KindArg::Department => EntityKind::Department,
            KindArg::Vendor => EntityKind::Vendor,
            KindArg::Observer => EntityKind::Observer,
        }
    }
}

/// The statuses `set-status` can set.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusArg {
    /// May sign and receive.
    Active,
    /// Signs nothing and receives nothing.
    Suspended,
}

impl From<StatusArg> for Status {
    fn from(s: StatusArg) -> Status {
        match s {
            StatusArg::Active => Status::Active,
            StatusArg::Suspended => Status::Suspended,
        }
    }
}

/// `minhbach tx` alone, for parsing its arguments without the rest of the
/// command line.
#[derive(Parser)]
#[command(name = "minhbach tx", no_binary_name = true)]
struct TxOnly {
    #[command(subcommand)]
    command: TxCommand,
}

/// Parses the arguments that follow `minhbach tx`, e.g.
/// `["pay", "--key", "k.json", "--signer", "MOH.BVBM", "--contract", ...]`.
pub fn parse_args<I, T>(args: I) -> Result<TxCommand, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    TxOnly::try_parse_from(args).map(|t| t.command)
}

/// Builds the transaction body and signs it.
pub fn sign(chain_id: &str, signer: EntityId, nonce: u64, op: Op, key: &SigningKey) -> SignedTx {
    TxBody {
        chain_id: chain_id.to_owned(),
        signer,
        nonce,
        op,
    }
    .sign(key)
}

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

/// Runs `minhbach tx ...`, signing for the chain `chain` names (see
/// [`ChainFlags::chain_to_sign`]): returns the exit code, or an error for
/// `main` to print (its type picks the exit code).
pub fn run(
    client: &Client,
    output: Output,
    chain: &ChainFlags,
    command: TxCommand,
) -> anyhow::Result<u8> {
    let (args, op) = command.into_parts();
    let key = read_key_file(&args.key).map_err(|e| UsageError {
        flag: "--key",
        message: e.to_string(),
    })?;
    let chain_id = chain.chain_to_sign(client)?;
    let nonce = match args.nonce {
        Some(n) => n,
        None => next_nonce(client, &args.signer)?,
    };
    let tx = sign(&chain_id, args.signer, nonce, op, &key);
    let ours = tx.hash().to_hex();
    let hash = client.submit(&tx)?;
    let hash = if hash.is_empty() {
        ours
    } else {
        if hash != ours {
            eprintln!("warning: the node calls the transaction {hash}, its hash is {ours}");
        }
        hash
    };
    if !args.wait {
        print!("{}", outcome(output, &hash, None));
        return Ok(0);
    }
    if output == Output::Table {
        // The hash first, so that it is known even if the wait is cut short.
        println!("{hash}");
        let _ = std::io::stdout().flush();
    }
    eprintln!(
        "submitted; waiting up to {}s for it to be committed",
        args.timeout.as_secs()
    );
    let answer = match client.wait_for_tx(&hash, args.timeout) {
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
                waited: args.timeout,
            }
            .into())
        }
        other => anyhow::bail!("the node reports status {other:?} for transaction {hash}"),
    }
}

/// The signer's next nonce; an unknown signer is named as such.
fn next_nonce(client: &Client, signer: &EntityId) -> Result<u64, ClientError> {
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
