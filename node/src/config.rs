//! `HOME/config.toml`: the node's addresses, peers, limits, consensus timing
//! and log format. The format and its checks are [`wire::config`], which
//! parses without the network stack so that it can be fuzzed; this module
//! re-exports it and ties its defaults to the node's own bounds.

pub use wire::config::*;

// The defaults a config file falls back on are the mempool's own.
const _: () = assert!(MEMPOOL_TXS_DEFAULT == crate::mempool::MEMPOOL_TXS_MAX);
const _: () = assert!(MEMPOOL_BYTES_DEFAULT == crate::mempool::MEMPOOL_BYTES_MAX);

/// What each section of `config.toml` is for, written above it.
const SECTION_NOTES: [(&str, &str); 8] = [
    (
        "[node]",
        "# This node. genesis_hash, once the ceremony has printed it, makes the node\n\
         # refuse to start on any other genesis.json.",
    ),
    (
        "[p2p]",
        "# Peer-to-peer. Open `listen`'s TCP port to the other nodes only; `external`\n\
         # is where they reach it. peers: \"/dns4/NAME/tcp/PORT/p2p/PEER_ID\" (or\n\
         # /ip4, /ip6, /dns6); only validators and registered nodes are let in.",
    ),
    (
        "[api]",
        "# The operators' API, which accepts transactions: keep it private (loopback,\n\
         # or a private network behind TLS). HTTPS: an [api.tls] (or [explorer.tls])\n\
         # section with cert and key, PEM files; SIGHUP reloads them.",
    ),
    (
        "[explorer]",
        "# The read-only explorer for the public, best on a full node. Unset: none.",
    ),
    (
        "[limits]",
        "# Bounds on memory, blocks and HTTP clients. An explorer behind reverse\n\
         # proxies counts each reader apart once they are listed:\n\
         # trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"] (docs/operations.md).",
    ),
    (
        "[consensus]",
        "# Consensus timing; every validator should use the same values.",
    ),
    ("[log]", "# Logs go to stderr: plain or json."),
    (
        "[exports]",
        "# The OCDS export. ocid_prefix: the publisher's registered prefix, `ocds-` and\n\
         # 6 lowercase letters or digits. base_url (optional): the public address of\n\
         # the listeners, e.g. \"https://explorer.example.vn\", that the package's\n\
         # extension URL is built on; unset, the request's Host is used.",
    ),
];

/// The config as TOML with a note above each section, as `minhbach init`
/// writes it.
pub fn to_commented_toml(config: &Config) -> String {
    let mut out =
        String::from("# A Minh Bạch node's settings; docs/operations.md explains each choice.\n\n");
    for line in config.to_toml().lines() {
        if let Some((_, note)) = SECTION_NOTES.iter().find(|(h, _)| *h == line.trim()) {
            out.push_str(note);
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Writes the config with its notes.
pub fn save_commented(config: &Config, path: &std::path::Path) -> Result<(), ConfigError> {
    std::fs::write(path, to_commented_toml(config)).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_file_reads_back_as_the_same_config_with_a_note_per_section() {
        let mut c = Config::default();
        c.node.name = "v1".into();
        c.p2p.external = vec!["/dns4/v1.example/tcp/26656".into()];
        c.explorer.listen = Some("127.0.0.1:8081".parse().unwrap());
        let text = to_commented_toml(&c);
        assert_eq!(Config::from_toml(&text, "config.toml").unwrap(), c);
        for (header, note) in SECTION_NOTES {
            let at = text
                .find(header)
                .unwrap_or_else(|| panic!("{header} missing"));
            assert!(text[..at].ends_with(&format!("{note}\n")), "{header}");
        }
    }
}
