//! The chain `minhbach tx` signs for: the one the user names, never merely
//! the one a node claims to be.
//!
//! A transaction signed for chain A is valid on chain A only (the chain id is
//! in the signed bytes), so a node that lied about its chain id could get a
//! signature meant for another chain. The chain is therefore named by the
//! user, with `--genesis FILE` (its genesis file), `--chain-id ID` or
//! `MINHBACH_CHAIN_ID`, and the node's `/v1/status` must agree before
//! anything is signed. The one exception is a node on this machine (a
//! loopback URL, as the devnet's): with no chain named, its chain id is used
//! and a note on stderr says so.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context as _;
use genesis::Genesis;
use tools::client::{is_loopback_url, Client};

use crate::UsageError;

/// The environment variable that names the chain when no flag does.
pub const CHAIN_ID_ENV: &str = "MINHBACH_CHAIN_ID";

/// The global flags that name a chain; `MINHBACH_CHAIN_ID` is read by
/// [`ChainFlags::named`].
#[derive(Clone, Debug, Default)]
pub struct ChainFlags {
    /// `--genesis FILE`: the chain's genesis file.
    pub genesis: Option<PathBuf>,
    /// `--chain-id ID`.
    pub chain_id: Option<String>,
}

/// A chain the user named, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedChain {
    /// Its id.
    pub chain_id: String,
    /// The flag or variable that named it, for error messages.
    pub by: &'static str,
    /// The genesis file it was read from, if any.
    pub genesis: Option<PathBuf>,
}

/// Checks a chain id given as `--chain-id`: not empty, no spaces. Whether it
/// is the node's chain is checked against the node.
pub fn parse_chain_id(s: &str) -> Result<String, String> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "{s:?} is not a chain id, such as minhbach-devnet (see the chain's genesis file)"
        ));
    }
    Ok(s.to_owned())
}

impl ChainFlags {
    /// The chain named by `--genesis`, `--chain-id` or else `env` (the value of
    /// `MINHBACH_CHAIN_ID`, unset or empty meaning none); `None` if no chain is
    /// named. A genesis file together with a chain id is refused, whichever
    /// way the chain id was given.
    pub fn named(&self, env: Option<OsString>) -> Result<Option<NamedChain>, UsageError> {
        let env = match env.filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                v.into_string()
                    .map_err(|v| format!("{v:?} is not UTF-8"))
                    .and_then(|v| parse_chain_id(&v))
                    .map_err(|message| UsageError {
                        flag: CHAIN_ID_ENV,
                        message,
                    })?,
            ),
        };
        match (&self.genesis, &self.chain_id, env) {
            (Some(path), Some(id), _) => Err(named_twice(path, "--chain-id", id)),
            (Some(path), None, Some(id)) => Err(named_twice(path, CHAIN_ID_ENV, &id)),
            (Some(path), None, None) => {
                let genesis = Genesis::load(path).map_err(|e| UsageError {
                    flag: "--genesis",
                    message: e.to_string(),
                })?;
                Ok(Some(NamedChain {
                    chain_id: genesis.chain_id,
                    by: "--genesis",
                    genesis: Some(path.clone()),
                }))
            }
            // The flag wins over the environment, as flags do.
            (None, Some(id), _) => Ok(Some(NamedChain {
                chain_id: id.clone(),
                by: "--chain-id",
                genesis: None,
            })),
            (None, None, Some(id)) => Ok(Some(NamedChain {
                chain_id: id,
                by: CHAIN_ID_ENV,
                genesis: None,
            })),
            (None, None, None) => Ok(None),
        }
    }

    /// The chain id to sign for with the node `client`: the chain named (see
    /// [`ChainFlags::named`], with `MINHBACH_CHAIN_ID` from the environment)
    /// once the node's `/v1/status` reports the same; with no chain named,
    /// the node's own if it is on this machine. Every refusal is a
    /// [`UsageError`], and those that need no node come before any request.
    pub fn chain_to_sign(&self, client: &Client) -> anyhow::Result<String> {
        let named = self.named(std::env::var_os(CHAIN_ID_ENV))?;
        let url = client.base();
        if named.is_none() && !is_loopback_url(url) {
            return Err(UsageError {
                flag: "--chain-id",
                message: format!(
                    "no chain named to sign for; name it with --chain-id ID, --genesis FILE \
                     (the chain's genesis file) or {CHAIN_ID_ENV}=ID. The node at {url} is \
                     not on this machine, so its own word on its chain is not taken"
                ),
            }
            .into());
        }
        let status = client.get("/v1/status")?;
        let reported = status["chain_id"]
            .as_str()
            .context("the node's /v1/status has no chain_id")?;
        let Some(named) = named else {
            eprintln!(
                "note: signing for chain {reported} as reported by the local node at {url}; \
                 name it with --chain-id or --genesis"
            );
            return Ok(reported.to_owned());
        };
        if named.chain_id != reported {
            let of = named
                .genesis
                .as_ref()
                .map(|p| format!(" (the chain of {})", p.display()))
                .unwrap_or_default();
            return Err(UsageError {
                flag: named.by,
                message: format!(
                    "the node at {url} is on chain {reported}, not {}{of}; nothing was signed",
                    named.chain_id
                ),
            }
            .into());
        }
        Ok(named.chain_id)
    }
}

fn named_twice(genesis: &std::path::Path, by: &'static str, id: &str) -> UsageError {
    let given = if by == CHAIN_ID_ENV {
        format!("{CHAIN_ID_ENV}={id}")
    } else {
        format!("{by} {id}")
    };
    UsageError {
        flag: "--genesis",
        message: format!(
            "the chain is named twice, by --genesis {} and by {given}; name it once",
            genesis.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(genesis: Option<&str>, chain_id: Option<&str>) -> ChainFlags {
        ChainFlags {
            genesis: genesis.map(PathBuf::from),
            chain_id: chain_id.map(str::to_owned),
        }
    }

    #[test]
    fn the_flag_names_the_chain_before_the_environment() {
        let named = flags(None, Some("chain-a"))
            .named(Some("chain-b".into()))
            .unwrap()
            .unwrap();
        assert_eq!(
            (named.chain_id.as_str(), named.by),
            ("chain-a", "--chain-id")
        );
        let named = flags(None, None)
            .named(Some("chain-b".into()))
            .unwrap()
            .unwrap();
        assert_eq!(
            (named.chain_id.as_str(), named.by),
            ("chain-b", CHAIN_ID_ENV)
        );
        assert_eq!(flags(None, None).named(Some("".into())).unwrap(), None);
        assert_eq!(flags(None, None).named(None).unwrap(), None);
        let bad = flags(None, None).named(Some("a b".into())).unwrap_err();
        assert_eq!(bad.flag, CHAIN_ID_ENV);
    }

    #[test]
    fn a_genesis_file_and_a_chain_id_are_refused_together() {
        // Refused before the file is read: it does not exist.
        let e = flags(Some("g.json"), Some("chain-a"))
            .named(None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--genesis: the chain is named twice, by --genesis g.json and by --chain-id \
             chain-a; name it once"
        );
        let e = flags(Some("g.json"), None)
            .named(Some("chain-b".into()))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--genesis: the chain is named twice, by --genesis g.json and by \
             MINHBACH_CHAIN_ID=chain-b; name it once"
        );
        let e = flags(Some("/nonexistent/g.json"), None)
            .named(None)
            .unwrap_err();
        assert_eq!(e.flag, "--genesis");
    }
}
