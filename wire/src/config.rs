//! `HOME/config.toml`: the node's addresses, peers, limits, consensus timing
//! and log format (SPEC §6). Every field has a default, so a file may name
//! only what it changes; unknown fields are refused, so a typo is an error
//! instead of a silently ignored setting.
//!
//! The node reads it from `HOME/config.toml` and re-exports this module as
//! `node::config`; it lives here so that the parser can be fuzzed without
//! the network stack.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a config file could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this format.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with its line.
        message: String,
    },
    /// A value is out of range.
    #[error("{path}: {field}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// The field, as `section.key`.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who this node is.
    pub node: NodeSection,
    /// libp2p.
    pub p2p: P2pSection,
    /// The operators' API.
    pub api: ApiSection,
    /// The read-only explorer.
    pub explorer: ExplorerSection,
    /// Bounds on memory and block size.
    pub limits: LimitsSection,
    /// Consensus timing.
    pub consensus: ConsensusSection,
    /// Logging.
    pub log: LogSection,
}

/// `[node]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// A name for logs and status pages.
    pub name: String,
    /// The hash of the genesis this node must run, from the ceremony
    /// (`minhbach genesis finalize` prints it). When set, the node refuses
    /// to start on a `genesis.json` with another hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis_hash: Option<ledger::Hash>,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            name: "node".into(),
            genesis_hash: None,
        }
    }
}

/// `[p2p]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pSection {
    /// The libp2p listen address, e.g. `/ip4/127.0.0.1/tcp/26656`.
    pub listen: String,
    /// Peers to dial, as `/dns4/NAME/tcp/PORT/p2p/ID` (or `/dns6`, `/ip4`,
    /// `/ip6`); a name is resolved again on every redial.
    pub peers: Vec<String>,
    /// Where other machines reach this node (`/dns4/NAME/tcp/PORT` or
    /// `/ip4/ADDR/tcp/PORT`), as its join request names them: the address
    /// a firewall or NAT forwards to `listen`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external: Vec<String>,
}

impl Default for P2pSection {
    fn default() -> Self {
        P2pSection {
            listen: "/ip4/127.0.0.1/tcp/26656".into(),
            peers: Vec::new(),
            external: Vec::new(),
        }
    }
}

/// `[api]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// Where the API listens.
    pub listen: SocketAddr,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

/// `[explorer]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExplorerSection {
    /// Where the explorer listens; absent means no explorer.
    pub listen: Option<SocketAddr>,
    /// Sustained requests per second allowed from one client address.
    pub requests_per_second: u32,
    /// Requests one client address may send at once.
    pub burst: u32,
}

impl Default for ExplorerSection {
    fn default() -> Self {
        ExplorerSection {
            listen: None,
            requests_per_second: 20,
            burst: 200,
        }
    }
}

/// Default of `[limits] mempool_txs`; `node` checks at compile time that it
/// is the mempool's own default bound.
pub const MEMPOOL_TXS_DEFAULT: usize = 50_000;
/// Default of `[limits] mempool_bytes` (64 MiB), likewise.
pub const MEMPOOL_BYTES_DEFAULT: usize = 64 * 1024 * 1024;

/// Default of `[limits] http_connections`.
pub const HTTP_CONNECTIONS_DEFAULT: usize = 1024;
/// Default of `[limits] http_connections_per_client`.
pub const HTTP_CONNECTIONS_PER_CLIENT_DEFAULT: usize = 128;

/// Default of `[limits] http_requests_per_client`.
pub const HTTP_REQUESTS_PER_CLIENT_DEFAULT: usize = 16;

/// `[limits]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Most transactions in the mempool.
    pub mempool_txs: usize,
    /// Most bytes in the mempool.
    pub mempool_bytes: usize,
    /// Most transactions a proposer puts in one block.
    pub block_txs: usize,
    /// Most transaction bytes a proposer puts in one block.
    pub block_bytes: usize,
    /// Most connections each HTTP listener (API, explorer) holds open; more
    /// wait to be accepted until one closes.
    pub http_connections: usize,
    /// Most connections one client address may hold open on a listener;
    /// more from it are closed as soon as they are accepted.
    pub http_connections_per_client: usize,
    /// Most requests from one client address a listener works on at once;
    /// its others wait their turn, so one client cannot take every worker.
    pub http_requests_per_client: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            mempool_txs: MEMPOOL_TXS_DEFAULT,
            mempool_bytes: MEMPOOL_BYTES_DEFAULT,
            block_txs: 10_000,
            block_bytes: 4 * 1024 * 1024,
            http_connections: HTTP_CONNECTIONS_DEFAULT,
            http_connections_per_client: HTTP_CONNECTIONS_PER_CLIENT_DEFAULT,
            http_requests_per_client: HTTP_REQUESTS_PER_CLIENT_DEFAULT,
        }
    }
}

/// `[consensus]`, in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusSection {
    /// Propose timeout in round 0.
    pub timeout_propose_ms: u64,
    /// Prevote timeout in round 0.
    pub timeout_prevote_ms: u64,
    /// Precommit timeout in round 0.
    pub timeout_precommit_ms: u64,
    /// How much each timeout grows per round.
    pub timeout_delta_ms: u64,
    /// How often a validator re-sends its own messages of the current round.
    pub rebroadcast_ms: u64,
    /// Pause after a commit before the next height starts, so transactions
    /// gather into the next block (CometBFT's `timeout_commit`).
    pub block_interval_ms: u64,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            timeout_propose_ms: 3_000,
            timeout_prevote_ms: 1_000,
            timeout_precommit_ms: 1_000,
            timeout_delta_ms: 500,
            rebroadcast_ms: 2_000,
            block_interval_ms: 500,
        }
    }
}

impl ConsensusSection {
    /// The consensus crate's configuration.
    pub fn to_consensus(&self) -> consensus::Config {
        consensus::Config {
            timeout_propose_base_ms: self.timeout_propose_ms,
            timeout_propose_delta_ms: self.timeout_delta_ms,
            timeout_prevote_base_ms: self.timeout_prevote_ms,
            timeout_prevote_delta_ms: self.timeout_delta_ms,
            timeout_precommit_base_ms: self.timeout_precommit_ms,
            timeout_precommit_delta_ms: self.timeout_delta_ms,
            timeout_rebroadcast_ms: self.rebroadcast_ms,
            ..consensus::Config::default()
        }
    }
}

/// Log format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Plain,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// Plain or JSON lines.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,node=debug`; `RUST_LOG`
    /// overrides it.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: LogFormat::Plain,
            level: "info".into(),
        }
    }
}

impl Config {
    /// Parses and checks TOML text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        config.check(path)?;
        Ok(config)
    }

    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: shown.clone(),
            source,
        })?;
        Config::from_toml(&text, &shown)
    }

    /// The file's text: every field, defaults included.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a config always serializes")
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        std::fs::write(path, self.to_toml()).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    fn check(&self, path: &str) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| ConfigError::Invalid {
            path: path.into(),
            field,
            reason: reason.into(),
        };
        if self.limits.block_txs == 0 || self.limits.block_txs > ledger::validity::BLOCK_TXS_MAX {
            return Err(invalid(
                "limits.block_txs",
                &format!(
                    "must be between 1 and {}, the most a block may hold",
                    ledger::validity::BLOCK_TXS_MAX
                ),
            ));
        }
        if self.limits.block_bytes < ledger::codec::TX_BYTES_MAX
            || self.limits.block_bytes > ledger::codec::BLOCK_BYTES_MAX / 2
        {
            return Err(invalid(
                "limits.block_bytes",
                &format!(
                    "must be between {} and {} so any transaction fits and the block stays under the {}-byte block limit",
                    ledger::codec::TX_BYTES_MAX,
                    ledger::codec::BLOCK_BYTES_MAX / 2,
                    ledger::codec::BLOCK_BYTES_MAX
                ),
            ));
        }
        if self.limits.mempool_bytes < ledger::codec::TX_BYTES_MAX {
            return Err(invalid(
                "limits.mempool_bytes",
                "must hold at least one transaction of the largest size",
            ));
        }
        if self.limits.http_connections == 0
            || self.limits.http_connections_per_client == 0
            || self.limits.http_requests_per_client == 0
        {
            return Err(invalid(
                "limits",
                "http_connections, http_connections_per_client and http_requests_per_client \
                 must be at least 1",
            ));
        }
        let c = &self.consensus;
        if c.timeout_propose_ms == 0
            || c.timeout_prevote_ms == 0
            || c.timeout_precommit_ms == 0
            || c.rebroadcast_ms == 0
        {
            return Err(invalid("consensus", "timeouts must be above zero"));
        }
        if self.explorer.requests_per_second == 0 || self.explorer.burst == 0 {
            return Err(invalid(
                "explorer",
                "requests_per_second and burst must be at least 1",
            ));
        }
        if self.p2p.listen.is_empty() {
            return Err(invalid("p2p.listen", "is empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults_and_a_saved_file_reads_back() {
        let c = Config::from_toml("", "x").unwrap();
        assert_eq!(c, Config::default());
        let mut c = Config::default();
        c.node.name = "validator-2".into();
        c.p2p.peers = vec!["/ip4/127.0.0.1/tcp/1/p2p/12D3KooW".into()];
        c.explorer.listen = Some("127.0.0.1:9".parse().unwrap());
        c.log.format = LogFormat::Json;
        let text = toml::to_string_pretty(&c).unwrap();
        assert_eq!(Config::from_toml(&text, "x").unwrap(), c);
    }

    #[test]
    fn typos_and_bad_values_are_refused_with_their_place() {
        let e = Config::from_toml("[p2p]\nlisten_addr = \"x\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("listen_addr"), "{e}");
        let e = Config::from_toml("[limits]\nblock_txs = 0\n", "c.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.toml: limits.block_txs: must be between 1 and 20000, the most a block may hold"
        );
        let e = Config::from_toml("[limits]\nblock_txs = 20001\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("limits.block_txs"), "{e}");
        let e = Config::from_toml("[api]\nlisten = \"nowhere\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().starts_with("c.toml: "), "{e}");
    }
}
