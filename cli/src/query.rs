//! `minhbach query ...`: reads the chain through a node's API (SPEC §8) and
//! prints the answer with `--output` (see [`crate::render`]).
//!
//! Arguments are checked before anything is sent (a hash is 64 hex digits, an
//! id follows the id pattern), so a typo is a usage error, not a 404. An answer
//! of 404 is printed as `not_found: ...` with exit code 1; an unreachable node
//! is exit code 3. Nothing here interprets the chain: that is the node's job,
//! and `verify` is the command that trusts nothing.

use std::fmt::Write as _;

use clap::Subcommand;
use ledger::{ContractId, EntityId, Hash, Year};
use serde_json::{json, Value};

use crate::render::{column_widths, group_amount, render, CsvRows};
use crate::tx::{parse_contract_id, parse_entity_id, parse_year};
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
    /// Transactions the node holds while they gather signatures: each
    /// with its signer, operation, whose signatures it waits for, and since
    /// which height (`tx fetch ID` writes one to a file).
    Awaiting,
    /// A fiscal year's figures per ministry and department (received,
    /// passed on, committed, paid, unspent) and whether it is closed.
    Year {
        /// The year, e.g. 2026.
        #[arg(value_name = "YEAR", value_parser = parse_year)]
        year: Year,
    },
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
            QueryCommand::Awaiting => "/v1/awaiting".into(),
            QueryCommand::Year { year } => format!("/v1/years/{year}"),
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
            QueryCommand::Awaiting => rows("awaiting", AWAITING_COLUMNS, &[("height", "height")]),
            QueryCommand::Year { .. } => rows(
                "entities",
                YEAR_COLUMNS,
                &[("year", "year"), ("closed", "closed")],
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
    let text = match (&command, output) {
        (_, Output::Json) => render(&answer, output, None),
        (QueryCommand::Awaiting, Output::Table) => awaiting_table(&answer),
        (QueryCommand::Awaiting, _) => render(&awaiting_rows(&answer), output, command.csv_rows()),
        (QueryCommand::Year { .. }, Output::Table) => year_table(&answer),
        _ => render(&answer, output, command.csv_rows()),
    };
    print!("{text}");
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

/// The columns of `query awaiting` as CSV, one row per transaction
/// (`--output json` prints the node's answer whole).
const AWAITING_COLUMNS: &[&str] = &[
    "id",
    "signer",
    "nonce",
    "op",
    "contract",
    "amount",
    "needs",
    "waits_for",
    "signed",
    "threshold",
    "signatures",
    "since",
];

/// The columns of `query year` as CSV.
const YEAR_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "name",
    "parent",
    "received",
    "passed_on",
    "committed",
    "paid",
    "unspent",
    "lapsed",
];

/// The amount columns of `query year`.
const YEAR_AMOUNTS: &[&str] = &[
    "received",
    "passed_on",
    "committed",
    "paid",
    "unspent",
    "lapsed",
];

/// `GET /v1/awaiting` as flat rows for CSV: the operation by name with its
/// contract and amount if it has them, what it needs by code, whose keys
/// and how many have signed, and the keys that signed.
fn awaiting_rows(answer: &Value) -> Value {
    let rows: Vec<Value> = list(answer, "awaiting")
        .iter()
        .map(|a| {
            json!({
                "id": a["id"],
                "signer": a["signer"],
                "nonce": a["nonce"],
                "op": a["op"]["type"],
                "contract": a["op"]["contract"],
                "amount": a["op"]["amount"],
                "needs": a["needs"]["code"],
                "waits_for": a["waits_for"]["entity"],
                "signed": a["waits_for"]["signed"],
                "threshold": a["waits_for"]["threshold"],
                "signatures": a["signatures"],
                "since": a["since"],
            })
        })
        .collect();
    json!({"height": answer["height"], "awaiting": rows})
}

fn list<'a>(answer: &'a Value, field: &str) -> &'a [Value] {
    answer[field].as_array().map_or(&[], Vec::as_slice)
}

/// A value as a table cell: `-` for null, signers' text sanitised.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => crate::watch::event::sanitize(s),
        other => other.to_string(),
    }
}

/// `query awaiting` as a table: one line each, what it waits for as
/// `KBNN 0 of 1` (whose keys, how many signed of how many needed).
fn awaiting_table(answer: &Value) -> String {
    let columns = [
        "id",
        "signer",
        "nonce",
        "op",
        "contract",
        "amount",
        "needs",
        "waits_for",
        "signatures",
        "since",
    ];
    let rows: Vec<Vec<String>> = list(answer, "awaiting")
        .iter()
        .map(|a| {
            let w = &a["waits_for"];
            let waits_for = match w["entity"].as_str() {
                Some(_) => format!(
                    "{} {} of {}",
                    cell(&w["entity"]),
                    w["signed"],
                    w["threshold"]
                ),
                None => "-".to_owned(),
            };
            let amount = match a["op"]["amount"].as_str() {
                Some(s) => group_amount(s),
                None => "-".to_owned(),
            };
            vec![
                cell(&a["id"]),
                cell(&a["signer"]),
                cell(&a["nonce"]),
                cell(&a["op"]["type"]),
                cell(&a["op"]["contract"]),
                amount,
                cell(&a["needs"]["code"]),
                waits_for,
                list(a, "signatures").len().to_string(),
                cell(&a["since"]),
            ]
        })
        .collect();
    let mut out = format!("height  {}\n", answer["height"]);
    out.push_str(&table("awaiting", &columns, &["amount"], &rows));
    out
}

/// `query year` as a table: the year's state, then one row per ministry
/// and department, amounts grouped and right-aligned (`-` for a lapsed
/// amount while the year is open).
fn year_table(answer: &Value) -> String {
    let closed = match (answer["closed"].as_bool(), &answer["closed_at"]) {
        (Some(true), Value::Number(h)) => format!("closed at height {h}"),
        (Some(true), _) => "closed".to_owned(),
        _ => "open".to_owned(),
    };
    let mut out = format!(
        "year    {}\nheight  {}\nstatus  {closed}\n",
        answer["year"], answer["height"]
    );
    let columns: Vec<&str> = YEAR_COLUMNS
        .iter()
        .copied()
        .filter(|c| *c != "kind")
        .collect();
    let rows: Vec<Vec<String>> = list(answer, "entities")
        .iter()
        .map(|e| {
            columns
                .iter()
                .map(|c| match &e[*c] {
                    Value::String(s) if YEAR_AMOUNTS.contains(c) => group_amount(s),
                    v => cell(v),
                })
                .collect()
        })
        .collect();
    out.push_str(&table("entities", &columns, YEAR_AMOUNTS, &rows));
    out
}

/// A titled table after a blank line: `title (n)`, a header and aligned
/// rows, the `right` columns right-aligned; `title: none` for no rows.
fn table(title: &str, columns: &[&str], right: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return format!("\n{title}: none\n");
    }
    let widths = column_widths(columns, rows);
    let mut out = format!("\n{title} ({})\n", rows.len());
    let header: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, text) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[i].saturating_sub(text.chars().count()));
            if right.contains(&columns[i]) {
                let _ = write!(line, "{pad}{text}");
            } else {
                let _ = write!(line, "{text}{pad}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
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
            (QueryCommand::Awaiting, "/v1/awaiting"),
            (QueryCommand::Year { year: Year(2026) }, "/v1/years/2026"),
        ];
        for (command, path) in cases {
            assert_eq!(command.path(), path);
        }
    }

    fn awaiting_answer() -> Value {
        json!({"height": 12, "awaiting": [{
            "id": "ab12", "signer": "BYT-BVBM", "nonce": 4,
            "op": {"type": "pay", "contract": "C-1", "amount": "55000000000",
                   "reference": "HĐ-01", "document_hash": null},
            "needs": {"code": "approval_required", "message": "needs KBNN"},
            "waits_for": {"entity": "KBNN", "threshold": 1, "signed": 0},
            "signatures": ["k1"], "since": 9,
        }, {
            "id": "cd34", "signer": "BTC", "nonce": 7,
            "op": {"type": "close-year", "year": 2026},
            "needs": {"code": "threshold_not_met", "message": "1 of 2"},
            "waits_for": {"entity": "BTC", "threshold": 2, "signed": 1},
            "signatures": ["k2"], "since": 11,
        }]})
    }

    #[test]
    fn what_awaits_signatures_is_one_row_each() {
        let table = awaiting_table(&awaiting_answer());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "height  12");
        assert_eq!(lines[2], "awaiting (2)");
        assert_eq!(
            lines[3].split_whitespace().collect::<Vec<_>>(),
            [
                "id",
                "signer",
                "nonce",
                "op",
                "contract",
                "amount",
                "needs",
                "waits_for",
                "signatures",
                "since"
            ]
        );
        assert_eq!(
            lines[4].split_whitespace().collect::<Vec<_>>(),
            [
                "ab12",
                "BYT-BVBM",
                "4",
                "pay",
                "C-1",
                "55,000,000,000",
                "approval_required",
                "KBNN",
                "0",
                "of",
                "1",
                "1",
                "9"
            ]
        );
        assert!(lines[5].contains("close-year  -"), "{table}");
        assert!(lines[5].contains("BTC 1 of 2"), "{table}");
        // The amount column is right-aligned.
        let at = lines[3].find("amount").unwrap() + "amount".len();
        assert_eq!(&lines[4][..at].chars().last(), &Some('0'), "{table}");

        let command = QueryCommand::Awaiting;
        let csv = render(
            &awaiting_rows(&awaiting_answer()),
            Output::Csv,
            command.csv_rows(),
        );
        let mut rows = csv.lines();
        assert_eq!(
            rows.next(),
            Some(
                "height,id,signer,nonce,op,contract,amount,needs,waits_for,signed,threshold,\
                 signatures,since"
            )
        );
        assert_eq!(
            rows.next(),
            Some("12,ab12,BYT-BVBM,4,pay,C-1,55000000000,approval_required,KBNN,0,1,k1,9")
        );
        assert_eq!(
            rows.next(),
            Some("12,cd34,BTC,7,close-year,,,threshold_not_met,BTC,1,2,k2,11")
        );
        let none = json!({"height": 3, "awaiting": []});
        assert_eq!(awaiting_table(&none), "height  3\n\nawaiting: none\n");
    }

    #[test]
    fn a_years_figures_are_a_table_of_grouped_amounts() {
        let answer = json!({"year": 2026, "height": 9, "closed": true, "closed_at": 9,
            "entities": [
                {"id": "BYT", "kind": "ministry", "name": "Bộ Y tế", "parent": null,
                 "received": "5000000000", "passed_on": "4000000000", "committed": "0",
                 "paid": "0", "unspent": "1000000000", "lapsed": "1000000000"},
                {"id": "BYT-BVBM", "kind": "department", "name": "Bệnh viện Bạch Mai",
                 "parent": "BYT", "received": "4000000000", "passed_on": "0",
                 "committed": "3000000000", "paid": "500002000",
                 "unspent": "3499998000", "lapsed": "3499998000"}]});
        let table = year_table(&answer);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            &lines[..3],
            ["year    2026", "height  9", "status  closed at height 9"]
        );
        assert_eq!(lines[4], "entities (2)");
        assert!(lines[5].starts_with("id        name"), "{table}");
        assert!(lines[6].starts_with("BYT       Bộ Y tế"), "{table}");
        assert!(
            lines[7].ends_with("3,499,998,000  3,499,998,000"),
            "{table}"
        );
        // Amounts are right-aligned: every row ends at the same column.
        let width = lines[5].chars().count();
        assert!(
            lines[5..].iter().all(|l| l.chars().count() == width),
            "{table}"
        );

        let mut open = answer.clone();
        open["closed"] = json!(false);
        open["closed_at"] = Value::Null;
        open["entities"][0]["lapsed"] = Value::Null;
        let table = year_table(&open);
        assert!(table.contains("status  open"), "{table}");
        assert!(table.lines().nth(6).unwrap().ends_with(" -"), "{table}");
    }

    #[test]
    fn block_refs() {
        assert_eq!(parse_block_ref("latest"), Ok(BlockRef::Latest));
        assert_eq!(parse_block_ref("0"), Ok(BlockRef::Height(0)));
        assert!(parse_block_ref("-1").is_err());
        assert!(parse_block_ref("Latest").is_err());
    }
}
