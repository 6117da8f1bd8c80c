//! `minhbach tx <operation>`: builds one of the operations of SPEC §2 from
//! flags, signs it with an entity's key files and submits it to a node; or
//! writes it to a transaction file that its signers sign one after another
//! (`minhbach tx sign`), possibly on machines with no network, before
//! `minhbach tx submit` sends it.
//!
//! Every variant of [`ledger::tx::Op`] has a subcommand named after it, with
//! one flag per field (`pay --contract C-17 --amount 300000 --reference
//! INV-9`). Flag values are checked while parsing, so a bad id, amount or hex
//! string is a usage error naming the flag (exit 2) and nothing is sent. The
//! node decides everything else: this module never second-guesses a budget.
//!
//! The flow: read the key files, settle the chain to sign for (the one named
//! by `--genesis`, `--chain-id` or `MINHBACH_CHAIN_ID`, which the node's
//! `/v1/status` must report too; see [`chain`]), ask the node for the
//! signer's next nonce (unless `--nonce`), sign with each key, then either
//! write the file (`--out`) or submit and print the hash; with `--wait`,
//! poll until the transaction is committed (print its height) or rejected
//! (exit 1). The transaction file and the commands that pass it around are
//! in [`file`] and [`offline`]; signatures gathered on a node instead, in
//! [`awaiting`].

pub mod awaiting;
pub mod chain;
mod command;
pub mod file;
pub mod offline;
mod parse;
mod submit;
pub mod words;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ledger::crypto::{read_key_file, SigningKey};
use ledger::tx::{EntityKind, Op, Status, TxBody, SIGNATURES_MAX};
use ledger::{EntityId, Hash, SignedTx};

pub use self::chain::{parse_chain_id, ChainFlags, CHAIN_ID_ENV};
pub use self::command::OpCommand;
use self::file::TxFile;
pub use self::parse::parse_amount;
use self::parse::{hash_file, parse_duration, parse_hash};
pub(crate) use self::parse::{parse_contract_id, parse_entity_id, parse_year};
pub use self::submit::WaitError;
use self::submit::{next_nonce, submit};
use crate::{Output, UsageError};
use tools::client::Client;

/// The help section of the flags every operation shares.
const SIGNING: &str = "Signing and submitting";

/// The flags every operation shares: who signs, and how to submit.
#[derive(Args, Clone, Debug)]
pub struct SignArgs {
    /// A key file to sign with (JSON, mode 0600). Repeat it to sign with
    /// several keys at once: those of an entity whose transactions need k of
    /// its n keys, and a controller's where a control rule asks for one.
    #[arg(
        long,
        help_heading = SIGNING,
        value_name = "FILE",
        required_unless_present = "unsigned"
    )]
    pub key: Vec<PathBuf>,
    /// The acting entity, e.g. MOH.BVBM.
    #[arg(long, help_heading = SIGNING, value_name = "ID", value_parser = parse_entity_id)]
    pub signer: EntityId,
    /// Sign with this nonce instead of the node's `next_nonce` for the signer.
    #[arg(long, help_heading = SIGNING, value_name = "N")]
    pub nonce: Option<u64>,
    /// Sign with no key: write the transaction to --out for its signers,
    /// who each add their signature with `minhbach tx sign`.
    #[arg(long, help_heading = SIGNING, requires = "out", conflicts_with = "key")]
    pub unsigned: bool,
    /// Write the transaction (signed by the --key files, or by no one with
    /// --unsigned) to FILE instead of submitting it; refused if FILE exists.
    #[arg(long, help_heading = SIGNING, value_name = "FILE", conflicts_with = "wait")]
    pub out: Option<PathBuf>,
    /// With --out: ask no node. Needs --nonce, and the chain named by
    /// --chain-id, --genesis or MINHBACH_CHAIN_ID.
    #[arg(long, help_heading = SIGNING, requires_all = ["out", "nonce"])]
    pub offline: bool,
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
    /// An expenditure control office, which co-signs the payments and
    /// awards a control rule names it for.
    Controller,
}

impl From<KindArg> for EntityKind {
    fn from(k: KindArg) -> EntityKind {
        match k {
            KindArg::Ministry => EntityKind::Ministry,
            KindArg::Department => EntityKind::Department,
            KindArg::Vendor => EntityKind::Vendor,
            KindArg::Observer => EntityKind::Observer,
            KindArg::Controller => EntityKind::Controller,
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

/// `minhbach tx ...`: an operation to sign, or a transaction file to sign,
/// show or submit.
#[derive(Subcommand, Clone, Debug)]
pub enum TxCommand {
    /// An operation to sign and submit, or to write to a file.
    #[command(flatten)]
    Op(Box<OpCommand>),
    /// Add your signature to a transaction file (see --out and --unsigned).
    Sign(offline::SignFileArgs),
    /// Print what a transaction file asks to sign, in words, and who has
    /// signed it.
    Show(offline::ShowArgs),
    /// Submit a signed transaction file to the node (with --awaiting, to
    /// gather the signatures it still needs there).
    Submit(offline::SubmitArgs),
    /// Write a transaction awaiting signatures on the node to a file, for
    /// a co-signer to show, sign and submit.
    Fetch(awaiting::FetchArgs),
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

/// Runs `minhbach tx ...`, signing for the chain `chain` names (see
/// [`ChainFlags::chain_to_sign`]): returns the exit code, or an error for
/// `main` to print (its type picks the exit code).
pub fn run(
    client: &Client,
    output: Output,
    chain: &ChainFlags,
    command: TxCommand,
) -> anyhow::Result<u8> {
    match command {
        TxCommand::Op(command) => run_op(client, output, chain, *command),
        TxCommand::Sign(args) => offline::sign(client, output, chain, args),
        TxCommand::Show(args) => offline::show(output, args),
        TxCommand::Submit(args) => offline::submit_file(client, output, chain, args),
        TxCommand::Fetch(args) => awaiting::fetch(client, output, chain, args),
    }
}

/// Signs an operation and submits it, or writes it to `--out`.
fn run_op(
    client: &Client,
    output: Output,
    chain: &ChainFlags,
    command: OpCommand,
) -> anyhow::Result<u8> {
    let (args, op) = command.into_parts();
    check_key_set(&op)?;
    if let Some(out) = &args.out {
        if out.exists() {
            return Err(UsageError {
                flag: "--out",
                message: format!(
                    "{} exists; a transaction file is never overwritten",
                    out.display()
                ),
            }
            .into());
        }
    }
    let keys = read_keys(&args.key)?;
    let (chain_id, nonce) = if args.offline {
        let named = chain
            .named(std::env::var_os(CHAIN_ID_ENV))?
            .ok_or_else(|| UsageError {
                flag: "--chain-id",
                message: format!(
                    "with --offline no node says which chain this is; name it with --chain-id \
                     ID, --genesis FILE or {CHAIN_ID_ENV}=ID"
                ),
            })?;
        // clap requires --nonce with --offline.
        (named.chain_id, args.nonce.unwrap_or_default())
    } else {
        let chain_id = chain.chain_to_sign(client)?;
        let nonce = match args.nonce {
            Some(n) => n,
            None => next_nonce(client, &args.signer)?,
        };
        (chain_id, nonce)
    };
    let body = TxBody {
        chain_id,
        signer: args.signer,
        nonce,
        op,
    };
    let tx = body.sign_all(&keys.iter().collect::<Vec<_>>());
    match args.out {
        Some(out) => offline::write_new(output, &out, &TxFile { tx }),
        None => submit(client, output, &tx, args.wait.then_some(args.timeout)),
    }
}

/// Reads each `--key` file; more distinct keys than a transaction carries
/// are refused.
pub(crate) fn read_keys(paths: &[PathBuf]) -> Result<Vec<SigningKey>, UsageError> {
    let mut keys: Vec<SigningKey> = Vec::with_capacity(paths.len());
    for path in paths {
        let key = read_key_file(path).map_err(|e| UsageError {
            flag: "--key",
            message: e.to_string(),
        })?;
        if !keys.iter().any(|k| k.public_key() == key.public_key()) {
            keys.push(key);
        }
    }
    if keys.len() > SIGNATURES_MAX {
        return Err(UsageError {
            flag: "--key",
            message: format!(
                "{} keys; a transaction carries at most {SIGNATURES_MAX} signatures",
                keys.len()
            ),
        });
    }
    Ok(keys)
}

/// Refuses a key set the ledger would refuse: 1 to 16 distinct usable keys
/// and a threshold from 1 to their number.
fn check_key_set(op: &Op) -> Result<(), UsageError> {
    let (keys, threshold) = match op {
        Op::RegisterEntity {
            keys, threshold, ..
        }
        | Op::SetKeys {
            keys, threshold, ..
        } => (keys, *threshold),
        _ => return Ok(()),
    };
    ledger::state::check_key_set(keys, threshold)
        .map(drop)
        .map_err(|e| UsageError {
            flag: "--threshold",
            message: e.to_string(),
        })
}
