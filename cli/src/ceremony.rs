//! `minhbach init` and `minhbach genesis ...`: a node's home made on its own
//! machine, and the genesis ceremony that turns the nodes' join requests
//! and the entities' public keys into one genesis file
//! ([`genesis::ceremony`]; docs/operations.md walks through it).
//!
//! Every refusal is a usage error (exit 2) naming the field at fault, and a
//! refused step writes nothing: a draft is rewritten whole, through a
//! temporary file, only after the step passed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use genesis::ceremony::{Draft, JoinRequest, Loopback, NodeRole};
use genesis::{Currency, Genesis, GenesisEntity, GenesisError};
use ledger::state::ControlRule;
use ledger::tx::EntityKind;
use ledger::{Amount, EntityId, PublicKey};
use node::home::{Home, HomeError, InitSpec};
use tools::{Output, UsageError};

/// `minhbach init`.
#[derive(Args)]
pub struct InitArgs {
    /// The new home folder; refused if it already holds keys or a config.
    #[arg(long)]
    home: PathBuf,
    /// Validator (votes, holds a validator key) or full node (serves readers).
    #[arg(long, value_enum)]
    role: RoleArg,
    /// The node's name, as the genesis will name it.
    #[arg(long)]
    name: String,
    /// The libp2p listen address, e.g. /ip4/0.0.0.0/tcp/26656.
    #[arg(long, value_name = "MULTIADDR")]
    p2p_listen: String,
    /// Where other machines reach it, e.g. /dns4/v1.example.gov.vn/tcp/26656
    /// (repeat for several).
    #[arg(long, value_name = "MULTIADDR", required = true)]
    p2p_external: Vec<String>,
    /// Where the operators' API listens; keep it private.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    api: SocketAddr,
    /// Where the public explorer listens, if this node serves one.
    #[arg(long, value_name = "ADDR")]
    explorer: Option<SocketAddr>,
    /// Allow loopback external addresses, for a network on one machine.
    #[arg(long)]
    allow_loopback: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Validator,
    Full,
}

/// `minhbach genesis ...`.
#[derive(Subcommand)]
pub enum GenesisCommand {
    /// Start a draft genesis with its treasury (public key only).
    New {
        /// The chain id, e.g. minhbach-vn-2027.
        #[arg(long)]
        chain_id: String,
        /// The treasury's entity id.
        #[arg(long)]
        treasury_id: EntityId,
        /// The treasury's name.
        #[arg(long)]
        treasury_name: String,
        /// The treasury's public key (64 hex digits, from `minhbach keys show`);
        /// repeat for a treasury of several officials' keys (at most 16).
        #[arg(long, value_name = "HEX", value_parser = parse_key, required = true)]
        treasury_public_key: Vec<PublicKey>,
        /// How many of the treasury's keys must sign its decisions.
        #[arg(long, value_name = "K", default_value_t = 1)]
        treasury_threshold: u8,
        /// ISO 4217 code of the currency.
        #[arg(long, default_value = "VND")]
        currency: String,
        /// Decimal places of the currency's minor unit.
        #[arg(long, default_value_t = 0)]
        decimals: u8,
        /// The draft file to write; refused if it exists.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add a validator to a draft from its join request.
    AddValidator {
        /// The draft.
        file: PathBuf,
        /// The validator's join request, as `minhbach init` printed it.
        #[arg(long, value_name = "JOIN.json")]
        join: PathBuf,
        /// Its voting power.
        #[arg(long, default_value_t = 10)]
        power: u64,
        /// Allow loopback addresses, for a network on one machine.
        #[arg(long)]
        allow_loopback: bool,
    },
    /// Add a full node to a draft from its join request, run by an entity.
    AddNode {
        /// The draft.
        file: PathBuf,
        /// The node's join request.
        #[arg(long, value_name = "JOIN.json")]
        join: PathBuf,
        /// The entity that runs it.
        #[arg(long)]
        entity: EntityId,
        /// Allow loopback addresses, for a network on one machine.
        #[arg(long)]
        allow_loopback: bool,
    },
    /// Add an entity (public keys only) to a draft.
    AddEntity {
        /// The draft.
        file: PathBuf,
        /// Its id.
        #[arg(long)]
        id: EntityId,
        /// ministry, department, vendor or controller.
        #[arg(long, value_parser = parse_kind)]
        kind: EntityKind,
        /// Its name.
        #[arg(long)]
        name: String,
        /// A department's ministry.
        #[arg(long)]
        parent: Option<EntityId>,
        /// Its public key (64 hex digits); repeat for an entity of several
        /// keys (at most 16).
        #[arg(long, value_name = "HEX", value_parser = parse_key, required = true)]
        public_key: Vec<PublicKey>,
        /// How many of its keys must sign its transactions.
        #[arg(long, value_name = "K", default_value_t = 1)]
        threshold: u8,
    },
    /// Set how many blocks the treasury's change of another entity's keys
    /// waits before it takes effect (0: at once); 100 unless set.
    SetRotationDelay {
        /// The draft.
        file: PathBuf,
        /// The delay in blocks.
        #[arg(long, value_name = "N")]
        blocks: u64,
    },
    /// Add an expenditure control rule in force from the start: payments
    /// and awards from an amount, by a ministry's departments (or by every
    /// ministry's without a rule of their own), need the controller's
    /// signature too.
    AddControl {
        /// The draft.
        file: PathBuf,
        /// The ministry; without it, the rule of all ministries.
        #[arg(long, value_name = "ID")]
        ministry: Option<EntityId>,
        /// The smallest amount covered, in minor units (whole đồng).
        #[arg(long, value_parser = crate::tx::parse_amount)]
        amount: Amount,
        /// The controller entity, already in the draft.
        #[arg(long, value_name = "ID")]
        controller: EntityId,
    },
    /// Fix the genesis time, check the genesis as a node will, write it in
    /// place and print its hash.
    Finalize {
        /// The draft.
        file: PathBuf,
        /// The genesis time (RFC 3339, UTC); now if not given. Give it to
        /// let others repeat the ceremony and get the same hash.
        #[arg(long, value_name = "RFC3339")]
        time: Option<String>,
    },
    /// Print a draft's or a genesis's validators, nodes and entities, and a
    /// final genesis's hash.
    Show {
        /// The draft or genesis file.
        file: PathBuf,
    },
}

fn parse_key(s: &str) -> Result<PublicKey, String> {
    PublicKey::from_hex(s).map_err(|e| e.to_string())
}

fn parse_kind(s: &str) -> Result<EntityKind, String> {
    match s {
        "ministry" => Ok(EntityKind::Ministry),
        "department" => Ok(EntityKind::Department),
        "vendor" => Ok(EntityKind::Vendor),
        "controller" => Ok(EntityKind::Controller),
        other => Err(format!(
            "{other:?} is not ministry, department, vendor or controller (the treasury is made \
             by `genesis new`)"
        )),
    }
}

/// A refusal of the ceremony: exit 2, naming the field.
fn refused(flag: &'static str, e: impl std::fmt::Display) -> anyhow::Error {
    UsageError {
        flag,
        message: e.to_string(),
    }
    .into()
}

/// Runs `minhbach init`: prints the join request on stdout.
pub fn init(args: InitArgs) -> anyhow::Result<u8> {
    let home = Home::new(&args.home);
    let spec = InitSpec {
        name: args.name,
        role: match args.role {
            RoleArg::Validator => NodeRole::Validator,
            RoleArg::Full => NodeRole::Full,
        },
        p2p_listen: args.p2p_listen,
        p2p_external: args.p2p_external,
        api: args.api,
        explorer: args.explorer,
        loopback: if args.allow_loopback {
            Loopback::Allow
        } else {
            Loopback::Refuse
        },
    };
    let join = home.init(&spec).map_err(|e| match e {
        HomeError::Invalid { field, reason } => refused(field, reason),
        HomeError::Exists(path) => refused("--home", format!("{} already exists", path.display())),
        other => other.into(),
    })?;
    eprintln!(
        "made {} for {} ({}): keys (mode 0600) and a commented config.toml; send the join \
         request below (also in {}) to the genesis coordinator. Open TCP {} to the other \
         nodes{}.",
        args.home.display(),
        join.name,
        join.role.as_str(),
        args.home.join(node::home::JOIN_FILE).display(),
        spec.p2p_listen,
        if spec.explorer.is_some() {
            ", and the explorer's port to the public"
        } else {
            ""
        }
    );
    println!("{}", join.to_json());
    Ok(0)
}

/// Runs `minhbach genesis ...`.
pub fn run(command: GenesisCommand, output: Output) -> anyhow::Result<u8> {
    match command {
        GenesisCommand::New {
            chain_id,
            treasury_id,
            treasury_name,
            treasury_public_key,
            treasury_threshold,
            currency,
            decimals,
            out,
        } => {
            if out.exists() {
                return Err(refused(
                    "--out",
                    format!("{} exists; a draft is never overwritten", out.display()),
                ));
            }
            let currency = Currency {
                code: currency,
                decimals,
            };
            let mut draft = Draft::new(
                &chain_id,
                currency,
                treasury_id.clone(),
                &treasury_name,
                treasury_public_key[0],
            )
            .map_err(|e| refused("--chain-id, --treasury-*, --currency", e))?;
            if treasury_public_key.len() > 1 || treasury_threshold != 1 {
                draft
                    .set_keys(&treasury_id, treasury_public_key, treasury_threshold)
                    .map_err(|e| refused("--treasury-public-key, --treasury-threshold", e))?;
            }
            write_atomically(&out, &draft.to_json())?;
            eprintln!("wrote the draft {}", out.display());
            Ok(0)
        }
        GenesisCommand::AddValidator {
            file,
            join,
            power,
            allow_loopback,
        } => change(&file, |draft| {
            let loopback = loopback(allow_loopback);
            let join = JoinRequest::load(&join, loopback).map_err(|e| refused("--join", e))?;
            draft
                .add_validator(&join, power, loopback)
                .map_err(|e| refused("--join", e))?;
            Ok(format!("added validator {} ({})", join.name, join.peer_id))
        }),
        GenesisCommand::AddNode {
            file,
            join,
            entity,
            allow_loopback,
        } => change(&file, |draft| {
            let loopback = loopback(allow_loopback);
            let join = JoinRequest::load(&join, loopback).map_err(|e| refused("--join", e))?;
            draft
                .add_node(&join, entity.clone(), loopback)
                .map_err(|e| refused("--join", e))?;
            Ok(format!(
                "added full node {} ({}), run by {entity}",
                join.name, join.peer_id
            ))
        }),
        GenesisCommand::AddEntity {
            file,
            id,
            kind,
            name,
            parent,
            public_key,
            threshold,
        } => change(&file, |draft| {
            let keys = public_key.len();
            let entity = GenesisEntity {
                id: id.clone(),
                kind,
                name,
                parent,
                keys: public_key,
                threshold,
            };
            draft.add_entity(entity).map_err(|e| match &e {
                GenesisError::Invalid { field, .. } if field.ends_with(".keys") => {
                    refused("--public-key, --threshold", e)
                }
                _ => refused("--id", e),
            })?;
            Ok(format!(
                "added {} {id} ({threshold} of {keys} key{})",
                kind.as_str(),
                if keys == 1 { "" } else { "s" }
            ))
        }),
        GenesisCommand::SetRotationDelay { file, blocks } => change(&file, |draft| {
            draft
                .set_rotation_delay(blocks)
                .map_err(|e| refused("--blocks", e))?;
            Ok(format!("set the rotation delay to {blocks} blocks"))
        }),
        GenesisCommand::AddControl {
            file,
            ministry,
            amount,
            controller,
        } => change(&file, |draft| {
            let scope = ministry
                .as_ref()
                .map_or_else(|| "all ministries".to_owned(), |m| m.to_string());
            let rule = ControlRule {
                ministry,
                amount,
                controller: controller.clone(),
            };
            draft
                .add_control(rule)
                .map_err(|e| refused("--ministry, --controller, --amount", e))?;
            Ok(format!(
                "added the control rule of {scope}: {controller} co-signs from {amount} đồng"
            ))
        }),
        GenesisCommand::Finalize { file, time } => {
            let draft = load_draft(&file)?;
            let time_ms = match time {
                Some(t) => parse_time(&t)?,
                None => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("the clock is after 1970")
                    .as_millis() as u64,
            };
            let genesis = draft.finalize(time_ms).map_err(|e| refused("FILE", e))?;
            write_atomically(&file, &genesis.to_json())?;
            eprintln!(
                "{} is final; every operator copies it into its home as genesis.json and may \
                 pin the hash in config.toml ([node] genesis_hash)",
                file.display()
            );
            println!("{}", genesis.hash());
            Ok(0)
        }
        GenesisCommand::Show { file } => show(&file, output),
    }
}

fn loopback(allow: bool) -> Loopback {
    if allow {
        Loopback::Allow
    } else {
        Loopback::Refuse
    }
}

fn parse_time(t: &str) -> anyhow::Result<u64> {
    let time = humantime::parse_rfc3339(t)
        .map_err(|e| refused("--time", format!("{t:?} is not an RFC 3339 UTC time: {e}")))?;
    Ok(time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| refused("--time", "is before 1970"))?
        .as_millis() as u64)
}

fn load_draft(file: &Path) -> anyhow::Result<Draft> {
    Draft::load(file).map_err(|e| match e {
        GenesisError::Io { .. } => anyhow::Error::from(e),
        other => refused("FILE", other),
    })
}

/// Applies one step to the draft at `file` and rewrites it only if the
/// step passed.
fn change(
    file: &Path,
    step: impl FnOnce(&mut Draft) -> anyhow::Result<String>,
) -> anyhow::Result<u8> {
    let mut draft = load_draft(file)?;
    let what = step(&mut draft)?;
    write_atomically(file, &draft.to_json())?;
    eprintln!("{what} to {}", file.display());
    Ok(0)
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, format!("{text}\n"))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| anyhow::anyhow!("cannot replace {}: {e}", path.display()))?;
    Ok(())
}

fn show(file: &Path, output: Output) -> anyhow::Result<u8> {
    let text = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let (what, hash, validators, nodes, entities, rotation_delay, control) =
        match Genesis::from_json_bytes(&text) {
            Ok(g) => (
                "genesis",
                Some(g.hash()),
                g.validators,
                g.nodes,
                g.entities,
                g.rotation_delay,
                g.control,
            ),
            Err(_) => {
                let d = Draft::from_json_bytes(&text).map_err(|e| refused("FILE", e))?;
                (
                    "draft",
                    None,
                    d.validators,
                    d.nodes,
                    d.entities,
                    d.rotation_delay,
                    d.control,
                )
            }
        };
    match output {
        Output::Json | Output::Csv => {
            let value = serde_json::json!({
                "kind": what,
                "hash": hash.map(|h| h.to_hex()),
                "validators": validators,
                "nodes": nodes,
                "entities": entities,
                "rotation_delay": rotation_delay,
                "control": control,
            });
            print!("{}", crate::render::render(&value, output, None));
        }
        Output::Table => {
            match hash {
                Some(h) => println!("genesis hash {h}"),
                None => println!("draft (not final: no time, no hash yet)"),
            }
            println!("validators {}", validators.len());
            for v in &validators {
                println!(
                    "  {}  power {}  key {}  peer {}",
                    v.name, v.power, v.consensus_key, v.peer_id
                );
            }
            println!("nodes {}", nodes.len());
            for n in &nodes {
                println!("  {}  run by {}", n.peer_id, n.operator);
            }
            println!("entities {}", entities.len());
            for e in &entities {
                let parent = e
                    .parent
                    .as_ref()
                    .map(|p| format!(" under {p}"))
                    .unwrap_or_default();
                let keys = match e.keys.len() {
                    1 => String::new(),
                    n => format!("  {} of {n} keys", e.threshold),
                };
                println!(
                    "  {} {}{}  {:?}{keys}",
                    e.kind.as_str(),
                    e.id,
                    parent,
                    e.name
                );
            }
            println!("rotation delay {rotation_delay} blocks");
            println!("control rules {}", control.len());
            for r in &control {
                let scope = r
                    .ministry
                    .as_ref()
                    .map_or_else(|| "all ministries".to_owned(), |m| m.to_string());
                println!(
                    "  {scope}: {} co-signs from {} đồng",
                    r.controller, r.amount
                );
            }
        }
    }
    Ok(0)
}
