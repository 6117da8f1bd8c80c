//! `minhbach query watch --entity ID`: an entity's new awards, amendments
//! and payments, and the red flags raised that name it, one line each as
//! they are committed, until Ctrl-C.
//!
//! It reads what `query history` reads, `GET /v1/entities/{id}/txs` (the
//! entity's transactions in chain order, after a cursor), about once a
//! second, and `GET /v1/txs/{hash}` for each new transaction; and
//! `GET /v1/flags?entity=ID`, printing each flag id it has not printed. It starts
//! after the node's newest block, or at `--from-height`. A node that stops
//! answering is reported once on stderr and asked again, less and less
//! often (down to once every [`BACKOFF_MAX`], or every `--interval-ms` if
//! that is longer); the watch goes on when it answers. Text from signers
//! is printed only through [`event::sanitize`], so that it cannot drive
//! the terminal.

pub mod event;

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::time::Duration;

use clap::Args;
use ledger::{Amount, EntityId};
use serde_json::Value;
use tools::client::{Client, ClientError};

use self::event::{json_line, line, sanitize, Spend};
use crate::tx::{parse_amount, parse_entity_id};
use crate::{Output, UsageError};

/// Longest pause between two attempts while the node does not answer.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// `query watch`'s flags.
#[derive(Args, Clone, Debug)]
pub struct WatchArgs {
    /// The entity to follow, e.g. BYT-BVBM: the awards, amendments and
    /// payments it signs or receives.
    #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
    pub entity: EntityId,
    /// Only events of at least this many đồng: payments and awards by
    /// their amount, amendments by the contract's new amount (1000000,
    /// 1.000.000 or 1,000,000).
    #[arg(long, value_name = "N", value_parser = parse_amount)]
    pub min_amount: Option<Amount>,
    /// How often to ask the node, in milliseconds.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(100..=60_000)
    )]
    pub interval_ms: u64,
    /// Replay from this height: print the events of this block and every
    /// later one, instead of only those committed after the watch starts.
    #[arg(long, value_name = "HEIGHT")]
    pub from_height: Option<u64>,
}

/// Why a round of polling stopped.
enum Stop {
    /// The node did not answer, or not as expected: try again later.
    Node(ClientError),
    /// stdout is gone or failed.
    Output(std::io::Error),
}

/// Runs `query watch` until Ctrl-C (exit 0). An unknown entity is the
/// node's `not_found` (exit 1) and a node unreachable at the start is exit
/// 3, as for every `query`; later failures only pause the watch.
pub fn run(client: &Client, output: Output, args: WatchArgs) -> anyhow::Result<u8> {
    if output == Output::Csv {
        return Err(UsageError {
            flag: "--output",
            message: "`query watch` prints lines (table) or JSON lines (json), not CSV".into(),
        }
        .into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = client.clone();
    let result = runtime.block_on(async move {
        tokio::select! {
            // Polled first, so Ctrl-C is ours before anything is asked.
            biased;
            signal = tokio::signal::ctrl_c() => match signal {
                Ok(()) => Ok(0),
                Err(e) => Err(anyhow::anyhow!("cannot listen for Ctrl-C: {e}")),
            },
            result = watch(client, output, args) => result,
        }
    });
    // A request still in flight is abandoned, not waited for.
    runtime.shutdown_background();
    result
}

/// `GET path` on a blocking thread.
async fn get(client: &Client, path: String) -> Result<Value, ClientError> {
    let client = client.clone();
    match tokio::task::spawn_blocking(move || client.get(&path)).await {
        Ok(answer) => answer,
        Err(e) => Err(ClientError::Rejected {
            status: 0,
            code: "internal".into(),
            message: format!("the request did not finish: {e}"),
        }),
    }
}

/// The cursor of `GET /v1/entities/{id}/txs` after which the events of
/// `height` start; none for the whole history.
fn cursor_before(height: u64) -> Option<String> {
    height
        .checked_sub(1)
        .map(|h| wire::cursor::format(h, u32::MAX))
}

/// The pause after `failures` failed attempts in a row.
fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(16);
    interval
        .saturating_mul(factor)
        .min(BACKOFF_MAX)
        .max(interval)
}

async fn watch(client: Client, output: Output, args: WatchArgs) -> anyhow::Result<u8> {
    let entity = get(&client, format!("/v1/entities/{}", args.entity)).await?;
    let from = match args.from_height {
        Some(h) => h,
        None => {
            let status = get(&client, "/v1/status".into()).await?;
            let height = status["height"]
                .as_u64()
                .ok_or_else(|| anyhow::anyhow!("{}: /v1/status has no height", client.base()))?;
            height.saturating_add(1)
        }
    };
    let name = sanitize(entity["name"].as_str().unwrap_or_default());
    let floor = args
        .min_amount
        .map(|a| format!(" of at least {a} ₫"))
        .unwrap_or_default();
    eprintln!(
        "watching {} ({name}) from height {from}: awards, amendments and payments{floor}; \
         Ctrl-C to stop",
        args.entity
    );
    let mut watcher = Watcher {
        client,
        output,
        entity: args.entity,
        min_amount: args.min_amount.unwrap_or(Amount::ZERO),
        cursor: cursor_before(from),
        vendors: HashMap::new(),
        flags_from: args.from_height,
        flags_seen: None,
    };
    let interval = Duration::from_millis(args.interval_ms);
    let mut failures = 0u32;
    loop {
        match watcher.poll().await {
            Ok(more) => {
                if failures > 0 {
                    eprintln!("{} answers again; watching", watcher.client.base());
                    failures = 0;
                }
                if !more {
                    tokio::time::sleep(interval).await;
                }
            }
            Err(Stop::Node(e)) => {
                if failures == 0 {
                    eprintln!(
                        "warning: {e}; asking again, at most every {} s, until it answers",
                        backoff(interval, u32::MAX).as_secs()
                    );
                }
                failures = failures.saturating_add(1);
                tokio::time::sleep(backoff(interval, failures)).await;
            }
            // Whoever read the lines has gone (`| head`): nothing to do.
            Err(Stop::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            Err(Stop::Output(e)) => return Err(anyhow::anyhow!("cannot write to stdout: {e}")),
        }
    }
}

/// The watch's position and what it has learnt.
struct Watcher {
    client: Client,
    output: Output,
    entity: EntityId,
    min_amount: Amount,
    /// After which transaction of the entity's history to read.
    cursor: Option<String>,
    /// Contract → vendor, as the node said.
    vendors: HashMap<String, String>,
    /// With `--from-height`: flags raised from that height on are printed
    /// at the first look too.
    flags_from: Option<u64>,
    /// The flags printed or standing when the watch began; `None` before
    /// the first look.
    flags_seen: Option<HashSet<String>>,
}

impl Watcher {
    /// Prints the events committed since the last call; whether the node
    /// has more already. The cursor moves past each transaction once it is
    /// dealt with, so a failure part way resumes where it stopped.
    async fn poll(&mut self) -> Result<bool, Stop> {
        let mut path = format!("/v1/entities/{}/txs", self.entity);
        if let Some(cursor) = &self.cursor {
            path.push_str("?cursor=");
            path.push_str(cursor);
        }
        let page = get(&self.client, path).await.map_err(Stop::Node)?;
        let entries = page["txs"].as_array().cloned().unwrap_or_default();
        for entry in &entries {
            let (Some(hash), Some(height), Some(index)) = (
                entry["hash"].as_str(),
                entry["height"].as_u64(),
                entry["index"].as_u64().and_then(|i| u32::try_from(i).ok()),
            ) else {
                return Err(Stop::Node(self.bad_response("a history entry")));
            };
            let tx = get(&self.client, format!("/v1/txs/{hash}"))
                .await
                .map_err(Stop::Node)?;
            if let Some(spend) = Spend::from_tx(&tx) {
                if spend.amount >= self.min_amount {
                    let counterparty = self.counterparty(&spend).await.map_err(Stop::Node)?;
                    self.print(&spend, &counterparty).map_err(Stop::Output)?;
                }
            }
            self.cursor = Some(wire::cursor::format(height, index));
        }
        let more = page["next"].is_string() && !entries.is_empty();
        if !more {
            self.poll_flags().await?;
        }
        Ok(more)
    }

    /// Prints the flags that name the entity and were not there before.
    /// Those standing when the watch begins are not news, unless
    /// `--from-height` asked for them.
    async fn poll_flags(&mut self) -> Result<(), Stop> {
        let list = get(&self.client, format!("/v1/flags?entity={}", self.entity))
            .await
            .map_err(Stop::Node)?;
        let flags = list["flags"].as_array().cloned().unwrap_or_default();
        let first = self.flags_seen.is_none();
        let seen = self.flags_seen.get_or_insert_with(HashSet::new);
        let mut news = Vec::new();
        for f in &flags {
            let Some(id) = f["id"].as_str() else {
                return Err(Stop::Node(self.bad_response("a flag")));
            };
            let height = f["height"].as_u64();
            let replayed = self.flags_from.is_some_and(|from| height >= Some(from));
            if seen.insert(id.to_owned()) && (!first || replayed) {
                news.push((sanitize(id), height));
            }
        }
        for (id, height) in news {
            let text = match self.output {
                Output::Json => serde_json::json!({
                    "kind": "flag",
                    "id": id,
                    "height": height,
                    "page": format!("/flags/{id}"),
                })
                .to_string(),
                Output::Table | Output::Csv => {
                    let at = height.map_or("-".to_owned(), |h| format!("#{h}"));
                    format!("{at:<8}  flag  {id}  /flags/{id}")
                }
            };
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}").map_err(Stop::Output)?;
            out.flush().map_err(Stop::Output)?;
        }
        Ok(())
    }

    /// The other party of `spend`, asking the node for a contract's vendor
    /// the first time it is needed.
    async fn counterparty(&mut self, spend: &Spend) -> Result<String, ClientError> {
        if let Some(party) = spend.counterparty(&self.entity) {
            return Ok(party.to_owned());
        }
        if let Some(vendor) = self.vendors.get(&spend.contract) {
            return Ok(vendor.clone());
        }
        let contract = get(&self.client, format!("/v1/contracts/{}", spend.contract)).await?;
        let vendor = contract["vendor"]
            .as_str()
            .ok_or_else(|| self.bad_response("a contract"))?
            .to_owned();
        self.vendors.insert(spend.contract.clone(), vendor.clone());
        Ok(vendor)
    }

    fn print(&self, spend: &Spend, counterparty: &str) -> std::io::Result<()> {
        let text = match self.output {
            Output::Json => json_line(spend, counterparty),
            Output::Table | Output::Csv => line(spend, counterparty),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")?;
        out.flush()
    }

    fn bad_response(&self, what: &str) -> ClientError {
        ClientError::Rejected {
            status: 200,
            code: "bad_response".into(),
            message: format!("{} answered {what} without its fields", self.client.base()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_start_before_the_height_asked_for() {
        assert_eq!(cursor_before(0), None);
        assert_eq!(cursor_before(1), Some("0.4294967295".into()));
        assert_eq!(cursor_before(42), Some("41.4294967295".into()));
    }

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 1), Duration::from_secs(2));
        assert_eq!(backoff(second, 3), Duration::from_secs(8));
        assert_eq!(backoff(second, 4), BACKOFF_MAX);
        assert_eq!(backoff(second, u32::MAX), BACKOFF_MAX);
        let slow = Duration::from_secs(30);
        assert_eq!(backoff(slow, 2), slow, "never faster than the interval");
    }
}
