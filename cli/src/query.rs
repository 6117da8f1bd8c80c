//! `minhbach query ...`: reads the chain through a node's API (SPEC §8) and
//! prints the answer with `--output` (see [`crate::render`]).
//!
//! Arguments are checked before anything is sent (a hash is 64 hex digits, an
//! id follows the id pattern), so a typo is a usage error, not a 404. An answer
//! of 404 is printed as `not_found: ...` with exit code 1; an unreachable node
//! is exit code 3. Nothing here interprets the chain: that is the node's job,
//! and `verify` is the command that trusts nothing.

use clap::Subcommand;
use ledger::{ContractId, EntityId, Hash};

use crate::render::{render, CsvRows};
use crate::tx::{parse_contract_id, parse_entity_id};
use crate::Output;
use tools::client::{Client, ClientError};

/// A block by height, or the newest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockRef {
    /// The newest committed block.
    Latest,
    /// The block at this height.
    Height(u64),
}

/// What to read.
#[derive(Subcommand, Clone, Debug)]
pub enum QueryCommand {
    /// The node: chain id, height, last block, validators, peers.
    Status,
    /// One block: header, transaction hashes, commit certificate.
    Block {
        /// A height, or `latest`.
        #[arg(value_name = "HEIGHT|latest", value_parser = parse_block_ref)]
        height: BlockRef,
    },
    /// One transaction: status (pending, committed, rejected), block, operation.
    Tx {
        /// Its hash (64 hex digits).
        #[arg(value_name = "HASH", value_parser = parse_hash)]
        hash: Hash,
    },
    /// One entity: key, status, next nonce and budget lines.
    Entity {
        /// Its id, e.g. MOH.BVBM.
        #[arg(value_name = "ID", value_parser = parse_entity_id)]
        id: EntityId,
    },
    /// All entities.
    Entities,
    /// One contract: parties, amount, paid, deliveries.
    Contract {
        /// Its id, e.g. C-17.
        #[arg(value_name = "ID", value_parser = parse_contract_id)]
        id: ContractId,
    },
    /// An entity's transactions, a page at a time.
    History {
        /// The entity's id.
        #[arg(value_name = "ID", value_parser = parse_entity_id)]
        id: EntityId,
        /// Where the previous page ended (its `next`).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// The validator set, now or at a height.
    Validators {
        /// The height whose set to show (the set that decided it).
        #[arg(long)]
        height: Option<u64>,
    },
    /// Committed evidence of equivocation.
    Evidence,
    /// Follow an entity's new awards, amendments and payments, one line
    /// each (time, height, kind, amount, contract, counterparty, hash,
    /// title or reference), until Ctrl-C.
    Watch(crate::watch::WatchArgs),
    /// Whether the node is ready (`GET /readyz`): it has compared heights
    /// with a peer, is not catching up, and can write its store. Exit 0
    /// when ready, 1 when not, 3 when unreachable, for health checks.
    Ready,
}

impl QueryCommand {
    /// The API path this reads, query string included.
    pub fn path(&self) -> String {
        match self {
            QueryCommand::Status => "/v1/status".into(),
            QueryCommand::Block {
                height: BlockRef::Latest,
            } => "/v1/blocks/latest".into(),
            QueryCommand::Block {
                height: BlockRef::Height(h),
            } => format!("/v1/blocks/{h}"),
            QueryCommand::Tx { hash } => format!("/v1/txs/{hash}"),
            QueryCommand::Entity { id } => format!("/v1/entities/{id}"),
            QueryCommand::Entities => "/v1/entities".into(),
            QueryCommand::Contract { id } => format!("/v1/contracts/{id}"),
            QueryCommand::History { id, cursor: None } => format!("/v1/entities/{id}/txs"),
            QueryCommand::History {
                id,
                cursor: Some(c),
            } => format!("/v1/entities/{id}/txs?cursor={}", percent_encode(c)),
            QueryCommand::Validators { height: None } => "/v1/validators".into(),
            QueryCommand::Validators { height: Some(h) } => format!("/v1/validators?height={h}"),
            QueryCommand::Evidence => "/v1/evidence".into(),
            QueryCommand::Watch(args) => format!("/v1/entities/{}/txs", args.entity),
            QueryCommand::Ready => "/readyz".into(),
        }
    }

    /// For CSV, the list whose rows are the data; `None` for one record.
    fn csv_rows(&self) -> Option<CsvRows<'static>> {
        let rows = |field, columns, context| {
            Some(CsvRows {
                field,
                columns,
                context,
            })
        };
        match self {
            QueryCommand::Status
            | QueryCommand::Ready
            | QueryCommand::Block { .. }
            | QueryCommand::Tx { .. }
            | QueryCommand::Contract { .. }
            | QueryCommand::Watch(_) => None,
            QueryCommand::Entity { .. } => rows(
                "budgets",
                &[
                    "year",
                    "line",
                    "received",
                    "passed_on",
                    "committed",
                    "paid",
                    "available",
                ],
                &[("entity", "id")],
            ),
            QueryCommand::Entities => {
                rows("entities", &["id", "kind", "name", "parent", "status"], &[])
            }
            QueryCommand::History { .. } => rows("txs", &["hash", "height", "index"], &[]),
            QueryCommand::Validators { .. } => rows(
                "validators",
                &["name", "power", "public_key", "peer_id"],
                &[("height", "height")],
            ),
            QueryCommand::Evidence => rows(
                "evidence",
                &["height", "round", "vote_type", "validator"],
                &[],
            ),
        }
    }
}

/// Runs `minhbach query ...`; errors carry their exit code by type.
pub fn run(client: &Client, output: Output, command: QueryCommand) -> anyhow::Result<u8> {
    match command {
        QueryCommand::Ready => return ready(client, output),
        QueryCommand::Watch(args) => return crate::watch::run(client, output, args),
        _ => {}
    }
    let answer = client.get(&command.path())?;
    print!("{}", render(&answer, output, command.csv_rows()));
    if let (QueryCommand::History { id, .. }, Some(next)) = (&command, answer["next"].as_str()) {
        if output != Output::Json {
            eprintln!("more: minhbach query history {id} --cursor {next}");
        }
    }
    Ok(0)
}

/// `query ready`: the readiness and exit 0, or exit 1 when the node answers
/// 503 (not ready yet).
fn ready(client: &Client, output: Output) -> anyhow::Result<u8> {
    match client.get(&QueryCommand::Ready.path()) {
        Ok(answer) => {
            print!("{}", render(&answer, output, None));
            Ok(0)
        }
        Err(ClientError::Rejected { status: 503, .. }) => {
            eprintln!(
                "not ready: {} has not yet compared heights with a peer, is catching up, or \
                 cannot write its store (`minhbach query status` says which)",
                client.base()
            );
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// value in a query string.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_block_ref(s: &str) -> Result<BlockRef, String> {
    if s == "latest" {
        return Ok(BlockRef::Latest);
    }
    s.parse::<u64>()
        .map(BlockRef::Height)
        .map_err(|_| "expected a block height or `latest`".to_owned())
}

fn parse_hash(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|_| "expected 64 hex digits (a transaction hash)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_api() {
        let id = || EntityId::new("MOH.BVBM").unwrap();
        let cases = [
            (QueryCommand::Status, "/v1/status"),
            (
                QueryCommand::Block {
                    height: BlockRef::Latest,
                },
                "/v1/blocks/latest",
            ),
            (
                QueryCommand::Block {
                    height: BlockRef::Height(42),
                },
                "/v1/blocks/42",
            ),
            (
                QueryCommand::History {
                    id: id(),
                    cursor: Some("a b/c+=&".into()),
                },
                "/v1/entities/MOH.BVBM/txs?cursor=a%20b%2Fc%2B%3D%26",
            ),
            (
                QueryCommand::Validators { height: Some(7) },
                "/v1/validators?height=7",
            ),
            (QueryCommand::Ready, "/readyz"),
        ];
        for (command, path) in cases {
            assert_eq!(command.path(), path);
        }
    }

    #[test]
    fn block_refs() {
        assert_eq!(parse_block_ref("latest"), Ok(BlockRef::Latest));
        assert_eq!(parse_block_ref("0"), Ok(BlockRef::Height(0)));
        assert!(parse_block_ref("-1").is_err());
        assert!(parse_block_ref("Latest").is_err());
    }
}
