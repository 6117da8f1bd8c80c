//! `minhbach tx <operation>`: builds one of the operations of SPEC §2 from
//! flags, signs it with an entity's key file and submits it to a node.
//!
//! Every variant of [`ledger::tx::Op`] has a subcommand named after it, with
//! one flag per field (`pay --contract C-17 --amount 300000 --reference
//! INV-9`). Flag values are checked while parsing, so a bad id, amount or hex
//! string is a usage error naming the flag (exit 2) and nothing is sent. The
//! node decides everything else: this module never second-guesses a budget.
//!
//! The flow: read the key file, ask the node for the chain id and the
//! signer's next nonce (unless `--nonce`), sign, submit, print the hash; with
//! `--wait`, poll until the transaction is committed (print its height) or
//! rejected (exit 1).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ledger::crypto::{check_key, read_key_file, SigningKey};
use ledger::tx::{EntityKind, Op, Status, TxBody};
use ledger::{Amount, ContractId, EntityId, Hash, LineCode, PeerId, PublicKey, SignedTx, Year};
use serde_json::{json, Value};

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

/// One subcommand per operation of SPEC §2, one flag per field.
#[derive(Subcommand, Clone, Debug)]
pub enum TxCommand {
    /// Treasury: add a ministry, department, vendor or observer.
    RegisterEntity {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The new entity's id, e.g. V-0042.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        id: EntityId,
        /// What it is.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Display name, in UTF-8 ("Bộ Y tế").
        #[arg(long)]
        name: String,
        /// The ministry of a department.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        parent: Option<EntityId>,
        /// Its ed25519 public key (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
        public_key: PublicKey,
    },
    /// Treasury: suspend or reactivate an entity.
    SetStatus {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The entity.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        entity: EntityId,
        /// Its new status.
        #[arg(long, value_enum)]
        status: StatusArg,
    },
    /// Treasury or the entity itself: replace the entity's key.
    RotateKey {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The entity.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        entity: EntityId,
        /// Its new ed25519 public key (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
        public_key: PublicKey,
    },
    /// Treasury: give a ministry budget under a legal reference.
    Appropriate {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Fiscal year, e.g. 2026.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line, e.g. 0402-HEALTH-INFRA.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// The receiving ministry.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        to: EntityId,
        /// Amount in minor units (whole đồng): 1000000, 1.000.000 or 1,000,000.
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// The decision that grants it, e.g. "Nghị quyết 104/2025/QH15".
        #[arg(long, value_name = "TEXT")]
        legal_ref: String,
    },
    /// Ministry: pass budget to one of its departments.
    Allocate {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Fiscal year.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// The receiving department.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        to: EntityId,
        /// Amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
    },
    /// Department or ministry: give unspent budget back to its parent.
    ReturnFunds {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Fiscal year.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// Amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
    },
    /// Department: commit budget to a contract with a vendor.
    Award {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The new contract's id, e.g. C-17.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// Fiscal year.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// The vendor.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        vendor: EntityId,
        /// Contract amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// What is bought.
        #[arg(long, value_name = "TEXT")]
        title: String,
        /// The document, by hash or by file.
        #[command(flatten)]
        document: DocumentArgs,
    },
    /// Awarding department: change a contract's amount.
    AmendContract {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The contract.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// The new amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// The document, by hash or by file.
        #[command(flatten)]
        document: DocumentArgs,
    },
    /// Awarding department: pay a contract's vendor.
    Pay {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The contract.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// Amount paid in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// Invoice or payment order reference.
        #[arg(long, value_name = "TEXT")]
        reference: String,
        /// The document, by hash or by file.
        #[command(flatten)]
        document: DocumentArgs,
    },
    /// Awarding department: record a delivery.
    ConfirmDelivery {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The contract.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// Milestone name.
        #[arg(long, value_name = "TEXT")]
        milestone: String,
        /// A free note.
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
    },
    /// Treasury: add a validator.
    AddValidator {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Its consensus key (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
        consensus_key: PublicKey,
        /// The libp2p peer id of its node (12D3KooW...).
        #[arg(long, value_name = "PEER", value_parser = parse_peer_id)]
        peer_id: PeerId,
        /// Voting power.
        #[arg(long)]
        power: u64,
    },
    /// Treasury: remove a validator.
    RemoveValidator {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Its consensus key (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
        consensus_key: PublicKey,
    },
    /// Treasury: let a full node of an entity connect.
    RegisterNode {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The node's libp2p peer id (12D3KooW...).
        #[arg(long, value_name = "PEER", value_parser = parse_peer_id)]
        peer_id: PeerId,
        /// The entity that runs it.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        operator: EntityId,
    },
    /// Treasury: revoke a full node.
    RemoveNode {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The node's libp2p peer id.
        #[arg(long, value_name = "PEER", value_parser = parse_peer_id)]
        peer_id: PeerId,
    },
}

impl TxCommand {
    /// Splits the command into who signs and what they sign.
    pub fn into_parts(self) -> (SignArgs, Op) {
        match self {
            TxCommand::RegisterEntity {
                sign,
                id,
                kind,
                name,
                parent,
                public_key,
            } => (
                sign,
                Op::RegisterEntity {
                    id,
                    kind: kind.into(),
                    name,
                    parent,
                    public_key,
                },
            ),
            TxCommand::SetStatus {
                sign,
                entity,
                status,
            } => (
                sign,
                Op::SetStatus {
                    entity,
                    status: status.into(),
                },
            ),
            TxCommand::RotateKey {
                sign,
                entity,
                public_key,
            } => (sign, Op::RotateKey { entity, public_key }),
            TxCommand::Appropriate {
                sign,
                year,
                line,
                to,
                amount,
                legal_ref,
            } => (
                sign,
                Op::Appropriate {
                    year,
                    line,
                    to,
                    amount,
                    legal_ref,
                },
            ),
            TxCommand::Allocate {
                sign,
                year,
                line,
                to,
                amount,
            } => (
                sign,
                Op::Allocate {
                    year,
                    line,
                    to,
                    amount,
                },
            ),
            TxCommand::ReturnFunds {
                sign,
                year,
                line,
                amount,
            } => (sign, Op::ReturnFunds { year, line, amount }),
            TxCommand::Award {
                sign,
                contract,
                year,
                line,
                vendor,
                amount,
                title,
                document,
            } => (
                sign,
                Op::Award {
                    contract,
                    year,
                    line,
                    vendor,
                    amount,
                    title,
                    document_hash: document.hash(),
                },
            ),
            TxCommand::AmendContract {
                sign,
                contract,
                amount,
                reason,
                document,
            } => (
                sign,
                Op::AmendContract {
                    contract,
                    amount,
                    reason,
                    document_hash: document.hash(),
                },
            ),
            TxCommand::Pay {
                sign,
                contract,
                amount,
                reference,
                document,
            } => (
                sign,
                Op::Pay {
                    contract,
                    amount,
                    reference,
                    document_hash: document.hash(),
                },
            ),
            TxCommand::ConfirmDelivery {
                sign,
                contract,
                milestone,
                note,
            } => (
                sign,
                Op::ConfirmDelivery {
                    contract,
                    milestone,
                    note,
                },
            ),
            TxCommand::AddValidator {
                sign,
                name,
                consensus_key,
                peer_id,
                power,
            } => (
                sign,
                Op::AddValidator {
                    name,
                    consensus_key,
                    peer_id,
                    power,
                },
            ),
            TxCommand::RemoveValidator {
                sign,
                consensus_key,
            } => (sign, Op::RemoveValidator { consensus_key }),
            TxCommand::RegisterNode {
                sign,
                peer_id,
                operator,
            } => (sign, Op::RegisterNode { peer_id, operator }),
            TxCommand::RemoveNode { sign, peer_id } => (sign, Op::RemoveNode { peer_id }),
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

/// Runs `minhbach tx ...`: returns the exit code, or an error for `main` to
/// print (its type picks the exit code).
pub fn run(client: &Client, output: Output, command: TxCommand) -> anyhow::Result<u8> {
    let (args, op) = command.into_parts();
    let key = read_key_file(&args.key).map_err(|e| UsageError {
        flag: "--key",
        message: e.to_string(),
    })?;
    let status = client.get("/v1/status")?;
    let chain_id = status["chain_id"]
        .as_str()
        .context("the node's /v1/status has no chain_id")?;
    let nonce = match args.nonce {
        Some(n) => n,
        None => next_nonce(client, &args.signer)?,
    };
    let tx = sign(chain_id, args.signer, nonce, op, &key);
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

// Parsers for flag values. Each error is a sentence; clap puts the flag and
// the value in front of it and exits with code 2.

const ID_SHAPE: &str =
    "expected 2 to 64 of A-Z, 0-9, '.', '_' and '-', starting with a capital letter or a digit";

pub(crate) fn parse_entity_id(s: &str) -> Result<EntityId, String> {
    EntityId::new(s).map_err(|_| ID_SHAPE.to_owned())
}

pub(crate) fn parse_contract_id(s: &str) -> Result<ContractId, String> {
    ContractId::new(s).map_err(|_| ID_SHAPE.to_owned())
}

fn parse_line(s: &str) -> Result<LineCode, String> {
    LineCode::new(s).map_err(|_| ID_SHAPE.to_owned())
}

pub(crate) fn parse_year(s: &str) -> Result<Year, String> {
    s.parse::<u16>()
        .ok()
        .and_then(|y| Year::new(y).ok())
        .ok_or_else(|| {
            format!(
                "expected a fiscal year from {} to {}",
                Year::FIRST,
                Year::LAST
            )
        })
}

fn parse_hash(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|_| "expected 64 hex digits (a SHA-256)".to_owned())
}

/// A public key: 64 hex digits that decode to a usable ed25519 key. The
/// node checks keys too; checking here saves a round trip and a nonce.
fn parse_public_key(s: &str) -> Result<PublicKey, String> {
    let key = PublicKey::from_hex(s)
        .map_err(|_| "expected 64 hex digits (an ed25519 public key)".to_owned())?;
    check_key(&key).map_err(|e| match e {
        ledger::TxError::BadKey { reason, .. } => format!("not a usable ed25519 key: {reason}"),
        e => e.to_string(),
    })?;
    Ok(key)
}

fn parse_peer_id(s: &str) -> Result<PeerId, String> {
    PeerId::parse(s).map_err(|_| "expected a libp2p peer id such as 12D3KooW...".to_owned())
}

/// SHA-256 of a file's contents, read in pieces so large scans are fine.
fn hash_file(s: &str) -> Result<Hash, String> {
    use sha2::Digest as _;
    let mut file = std::fs::File::open(s).map_err(|e| e.to_string())?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| e.to_string())?;
    Ok(Hash(hasher.finalize().into()))
}

/// Whole minor units: `1000000`, or grouped by threes with dots
/// (`1.000.000`, as written in Vietnamese) or commas (`1,000,000`). A
/// separator is never a decimal point: `1.5` is refused.
pub fn parse_amount(s: &str) -> Result<Amount, String> {
    const SHAPE: &str = "expected whole minor units, such as 1000000, 1.000.000 or 1,000,000";
    let digits = match s.chars().find(|c| matches!(c, '.' | ',')) {
        None => s.to_owned(),
        Some(sep) => {
            let groups: Vec<&str> = s.split(sep).collect();
            let first_ok = (1..=3).contains(&groups[0].len());
            if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
                return Err(SHAPE.to_owned());
            }
            groups.concat()
        }
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SHAPE.to_owned());
    }
    digits
        .parse::<u64>()
        .map(Amount)
        .map_err(|_| format!("larger than the largest amount, {}", Amount(u64::MAX)))
}

/// Seconds (`60`), or a duration such as `90s` or `2m`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    match s.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(s).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_accept_plain_and_grouped_digits() {
        for (text, n) in [
            ("0", 0),
            ("300000", 300_000),
            ("1.000.000", 1_000_000),
            ("1,000,000", 1_000_000),
            ("12.345", 12_345),
            ("999", 999),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(parse_amount(text), Ok(Amount(n)), "{text}");
        }
        for bad in [
            "",
            "1.5",
            "1,00",
            "1.000,000",
            "1.000.00",
            "1000.000",
            ".000",
            "-5",
            "+5",
            "1 000",
            "5đ",
            "18446744073709551616",
            "١٢٣",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_are_seconds_or_humantime() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn public_keys_must_be_usable() {
        let good = SigningKey::from_seed([3; 32]).public_key();
        assert_eq!(parse_public_key(&good.to_hex()), Ok(good));
        // The identity point: well-formed hex, but small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = parse_public_key(&hex::encode(identity)).unwrap_err();
        assert!(err.contains("small order"), "{err}");
        assert!(parse_public_key("abcd").is_err());
    }
}
