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

mod exports;
mod snapshots;

pub use exports::{is_ocid_prefix, ExportsSection, OCID_PREFIX_DEFAULT};
pub use snapshots::{
    SnapshotsSection, SNAPSHOTS_KEPT_DEFAULT, SNAPSHOTS_KEPT_MAX, SNAPSHOT_INTERVAL_DEFAULT,
};

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
    /// How exports are published.
    pub exports: ExportsSection,
    /// The snapshots served to nodes that start from one.
    pub snapshots: SnapshotsSection,
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
    /// `[api.tls]`: serve HTTPS with these files; absent means plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSection>,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: None,
        }
    }
}

/// `[api.tls]` or `[explorer.tls]`: the listener serves HTTPS with this
/// certificate and key, which the node reads again on SIGHUP. Only their
/// presence is checked here; the gateway reads and checks the files when
/// the listener starts (and refuses to start on a bad one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The certificate chain, PEM: the listener's certificate first, then
    /// the intermediates. A relative path is relative to the node's home.
    pub cert: std::path::PathBuf,
    /// The private key of the first certificate, PEM (PKCS#8, PKCS#1 or
    /// SEC1). A relative path is relative to the node's home.
    pub key: std::path::PathBuf,
}

impl TlsSection {
    /// The same files, a relative path taken as relative to `home`.
    pub fn under(&self, home: &Path) -> TlsSection {
        TlsSection {
            cert: home.join(&self.cert),
            key: home.join(&self.key),
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
    /// `[explorer.tls]`: serve HTTPS with these files; absent means plain
    /// HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSection>,
}

impl Default for ExplorerSection {
    fn default() -> Self {
        ExplorerSection {
            listen: None,
            requests_per_second: 20,
            burst: 200,
            tls: None,
        }
    }
}

/// Default of `[limits] mempool_txs`; `node` checks at compile time that it
/// is the mempool's own default bound.
pub const MEMPOOL_TXS_DEFAULT: usize = 50_000;
/// Default of `[limits] mempool_bytes` (64 MiB), likewise.
pub const MEMPOOL_BYTES_DEFAULT: usize = 64 * 1024 * 1024;

/// Default of `[limits] backlog_ms`.
pub const BACKLOG_MS_DEFAULT: u64 = 1_500;

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
    /// How long, at the rate of the last heights' commits, the transactions
    /// already pooled may take to commit before a client's submission is
    /// refused (429 `mempool_full`); 0 leaves only `mempool_txs`. See
    /// `node::backlog`.
    pub backlog_ms: u64,
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
    /// Reverse proxies in front of the explorer, as addresses or CIDR
    /// ranges (`"127.0.0.1"`, `"10.0.0.0/8"`, `"fd00::/8"`). For a request
    /// whose peer is one of them, the explorer's rate limit counts the
    /// client that `X-Forwarded-For` names: the rightmost address in it that
    /// is not itself a trusted proxy. Any other peer's `X-Forwarded-For` is
    /// ignored. The connection bounds above stay per connecting address:
    /// they are enforced before a request's headers are read, on the
    /// sockets and workers that the proxy's own connections hold.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "trusted_proxies"
    )]
    pub trusted_proxies: Vec<IpRange>,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            mempool_txs: MEMPOOL_TXS_DEFAULT,
            mempool_bytes: MEMPOOL_BYTES_DEFAULT,
            backlog_ms: BACKLOG_MS_DEFAULT,
            block_txs: 10_000,
            block_bytes: 4 * 1024 * 1024,
            http_connections: HTTP_CONNECTIONS_DEFAULT,
            http_connections_per_client: HTTP_CONNECTIONS_PER_CLIENT_DEFAULT,
            http_requests_per_client: HTTP_REQUESTS_PER_CLIENT_DEFAULT,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Reads `[limits] trusted_proxies`, naming the field and the entry at fault.
fn trusted_proxies<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpRange>, D::Error> {
    let entries = Vec::<String>::deserialize(d)?;
    entries
        .iter()
        .map(|e| {
            e.parse()
                .map_err(|why| serde::de::Error::custom(format!("limits.trusted_proxies: {why}")))
        })
        .collect()
}

/// One address, or a CIDR range of them, as `[limits] trusted_proxies`
/// lists them: `10.0.0.5`, `10.0.0.0/8`, `2001:db8::/32`. Written back as
/// read, a single address without its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpRange {
    /// The first address, with no bit set past the prefix.
    network: std::net::IpAddr,
    /// Leading bits that an address must share with `network`: 1 to 32 for
    /// IPv4, 1 to 128 for IPv6.
    prefix: u8,
}

impl IpRange {
    /// Whether `ip` is in the range. An IPv4 address mapped into IPv6
    /// (`::ffff:10.0.0.5`, as a listener on `[::]` sees IPv4 peers) is
    /// taken as the IPv4 address.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && masked(ip, self.prefix) == self.network
    }

    fn width(ip: std::net::IpAddr) -> u8 {
        if ip.is_ipv4() {
            32
        } else {
            128
        }
    }
}

/// `ip` with every bit past the first `prefix` cleared.
fn masked(ip: std::net::IpAddr, prefix: u8) -> std::net::IpAddr {
    use std::net::IpAddr::{V4, V6};
    match ip {
        V4(a) => {
            V4((u32::from(a) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)).into())
        }
        V6(a) => V6(
            (u128::from(a) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)).into(),
        ),
    }
}

impl std::str::FromStr for IpRange {
    type Err = String;

    /// Refuses what is not an address or `address/prefix`, a prefix longer
    /// than the address or of 0 (which would trust every client to name
    /// itself), and an address with bits set past its prefix.
    fn from_str(s: &str) -> Result<IpRange, String> {
        let shape =
            || format!("{s:?} is not an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let mut network: std::net::IpAddr = addr.parse().map_err(|_| shape())?;
        let width = IpRange::width(network);
        let mut prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| shape())?
            }
            Some(_) => return Err(shape()),
        };
        if prefix > width {
            return Err(format!(
                "{s:?}: the prefix is longer than the address ({width} bits)"
            ));
        }
        // An IPv4 range written in its IPv6-mapped form is kept as IPv4,
        // as peer addresses are compared.
        if let std::net::IpAddr::V6(v6) = network {
            if let (Some(v4), true) = (v6.to_ipv4_mapped(), prefix > 96) {
                network = v4.into();
                prefix -= 96;
            }
        }
        if prefix == 0 || (prefix == 96 && network.to_canonical().is_ipv4()) {
            return Err(format!(
                "{s:?} trusts every address, so any client could choose its own rate limit"
            ));
        }
        let first = masked(network, prefix);
        if first != network {
            return Err(format!(
                "{s:?} has bits set past its /{prefix} prefix; the range is {first}/{prefix}"
            ));
        }
        Ok(IpRange { network, prefix })
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix == IpRange::width(self.network) {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

impl Serialize for IpRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
        if self.explorer.tls.is_some() && self.explorer.listen.is_none() {
            return Err(invalid(
                "explorer.tls",
                "is set but explorer.listen is not, so there is no explorer to serve over TLS",
            ));
        }
        let tls = [
            (&self.api.tls, ["api.tls.cert", "api.tls.key"]),
            (
                &self.explorer.tls,
                ["explorer.tls.cert", "explorer.tls.key"],
            ),
        ];
        for (tls, [cert, key]) in tls {
            let Some(t) = tls else { continue };
            for (path, field) in [(&t.cert, cert), (&t.key, key)] {
                if path.as_os_str().is_empty() {
                    return Err(invalid(field, "is empty: name a PEM file"));
                }
            }
        }
        if self.p2p.listen.is_empty() {
            return Err(invalid("p2p.listen", "is empty"));
        }
        self.exports
            .check()
            .and_then(|()| self.snapshots.check())
            .map_err(|(field, reason)| invalid(field, &reason))
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

    #[test]
    fn the_exports_section_has_defaults_and_a_bad_ocid_prefix_names_the_field() {
        let c = Config::default();
        assert_eq!(c.exports.ocid_prefix, "ocds-mb0000");
        assert_eq!(c.exports.base_url, None);
        assert!(c
            .to_toml()
            .contains("[exports]\nocid_prefix = \"ocds-mb0000\""));
        let text =
            "[exports]\nocid_prefix = \"ocds-vn1234\"\nbase_url = \"https://e.example.vn\"\n";
        let c = Config::from_toml(text, "c.toml").unwrap();
        assert_eq!(c.exports.ocid_prefix, "ocds-vn1234");
        assert_eq!(c.exports.base(), Some("https://e.example.vn"));
        assert_eq!(Config::from_toml(&c.to_toml(), "c.toml").unwrap(), c);
        for (text, field) in [
            (
                "[exports]\nocid_prefix = \"ocds-VN1234\"\n",
                "exports.ocid_prefix",
            ),
            (
                "[exports]\nocid_prefix = \"mb0000\"\n",
                "exports.ocid_prefix",
            ),
            ("[exports]\nbase_url = \"example.vn\"\n", "exports.base_url"),
        ] {
            let e = Config::from_toml(text, "c.toml").unwrap_err().to_string();
            assert!(e.starts_with(&format!("c.toml: {field}: ")), "{text}: {e}");
        }
        let e = Config::from_toml("[exports]\nprefix = \"ocds-vn1234\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("prefix"), "{e}");
    }

    #[test]
    fn tls_sections_read_back_and_need_both_files() {
        let text = "[api.tls]\ncert = \"tls/api.crt\"\nkey = \"/etc/minhbach/api.key\"\n\n\
                    [explorer]\nlisten = \"0.0.0.0:443\"\n\n\
                    [explorer.tls]\ncert = \"e.crt\"\nkey = \"e.key\"\n";
        let c = Config::from_toml(text, "c.toml").unwrap();
        let api = c.api.tls.clone().unwrap();
        assert_eq!(api.cert, Path::new("tls/api.crt"));
        assert_eq!(
            api.under(Path::new("/home/n")),
            TlsSection {
                cert: "/home/n/tls/api.crt".into(),
                key: "/etc/minhbach/api.key".into(),
            }
        );
        assert_eq!(Config::from_toml(&c.to_toml(), "c.toml").unwrap(), c);
        assert!(!Config::default().to_toml().contains("tls"));

        for (text, needle) in [
            ("[api.tls]\ncert = \"a.crt\"\n", "key"),
            ("[api.tls]\nkey = \"a.key\"\n", "cert"),
            ("[api.tls]\ncert = \"a\"\nkey = \"b\"\nca = \"c\"\n", "ca"),
            (
                "[api.tls]\ncert = \"\"\nkey = \"b\"\n",
                "api.tls.cert: is empty",
            ),
            (
                "[explorer]\nlisten = \"127.0.0.1:1\"\n[explorer.tls]\ncert = \"a\"\nkey = \"\"\n",
                "explorer.tls.key: is empty",
            ),
            (
                "[explorer.tls]\ncert = \"a\"\nkey = \"b\"\n",
                "explorer.tls: is set but explorer.listen is not",
            ),
        ] {
            let e = Config::from_toml(text, "c.toml").unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_and_a_bad_entry_names_the_field() {
        let c = Config::from_toml(
            "[limits]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"2001:db8::/32\", \
             \"::ffff:192.0.2.0/120\", \"::1\"]\n",
            "c.toml",
        )
        .unwrap();
        let shown: Vec<String> = c
            .limits
            .trusted_proxies
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "127.0.0.1",
                "10.0.0.0/8",
                "2001:db8::/32",
                "192.0.2.0/24",
                "::1"
            ]
        );
        assert_eq!(Config::from_toml(&c.to_toml(), "c.toml").unwrap(), c);
        // None by default, and then not written at all.
        assert!(Config::default().limits.trusted_proxies.is_empty());
        assert!(!Config::default().to_toml().contains("trusted_proxies"));

        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let r = |s: &str| s.parse::<IpRange>().unwrap();
        assert!(r("10.0.0.0/8").contains(ip("10.255.1.2")));
        assert!(!r("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(r("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(r("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!r("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(r("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!r("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(!r("2001:db8::/32").contains(ip("10.0.0.1")));
        assert!(!r("::1").contains(ip("127.0.0.1")));
        assert!(r("192.0.2.0/24").contains(ip("::ffff:192.0.2.77")));

        for (entry, needle) in [
            ("10.0.0.300", "is not an IP address"),
            ("proxy.example", "is not an IP address"),
            ("10.0.0.0/", "is not an IP address"),
            ("10.0.0.0/+8", "is not an IP address"),
            ("10.0.0.0/8/8", "is not an IP address"),
            ("fe80::1%eth0", "is not an IP address"),
            (" 10.0.0.1", "is not an IP address"),
            ("10.0.0.0/33", "longer than the address"),
            ("::/129", "longer than the address"),
            ("0.0.0.0/0", "trusts every address"),
            ("::/0", "trusts every address"),
            ("::ffff:0.0.0.0/96", "trusts every address"),
            ("10.0.0.1/8", "the range is 10.0.0.0/8"),
            ("2001:db8::1/32", "the range is 2001:db8::/32"),
        ] {
            let text = format!("[limits]\ntrusted_proxies = [\"127.0.0.1\", {entry:?}]\n");
            let e = Config::from_toml(&text, "c.toml").unwrap_err().to_string();
            assert!(e.starts_with("c.toml: "), "{entry}: {e}");
            assert!(e.contains("limits.trusted_proxies"), "{entry}: {e}");
            assert!(e.contains(needle), "{entry}: {e}");
        }
        let e = Config::from_toml("[limits]\ntrusted_proxies = \"10.0.0.1\"\n", "c.toml");
        assert!(e.is_err());
    }
}
