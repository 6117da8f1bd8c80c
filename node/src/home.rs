//! A node's home folder (SPEC §6):
//!
//! ```text
//! HOME/config.toml      p2p, api and explorer addresses, peers, limits
//! HOME/genesis.json
//! HOME/node_key         libp2p identity (mode 0600)
//! HOME/validator_key    consensus key (mode 0600, validators only)
//! HOME/data/            RocksDB
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use genesis::ceremony::{check_external_address, JoinRequest, Loopback, NodeRole};
use genesis::{Genesis, GenesisError};
use ledger::crypto::{write_key_file, KeyFileError, SigningKey};
use ledger::store::{Store, StoreError};
use ledger::{Hash, PeerId, State};
use thiserror::Error;

use crate::config::{Config, ConfigError};

/// Why a home could not be used.
#[derive(Debug, Error)]
pub enum HomeError {
    /// The genesis file is missing or invalid.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// The store could not be opened or belongs to another chain.
    #[error("{path}: {source}")]
    Store {
        /// The data folder.
        path: PathBuf,
        /// The error.
        source: Box<StoreError>,
    },
    /// There is no store yet.
    #[error("{0} has no store (no data/ folder); the node has never run here")]
    NoStore(PathBuf),
    /// The genesis is not the one `config.toml` pins.
    #[error(
        "{path} has hash {found}, but config.toml pins genesis_hash = {pinned}; \
         copy the genesis the ceremony made into this home, or fix the pin"
    )]
    GenesisMismatch {
        /// The genesis file.
        path: PathBuf,
        /// Its hash.
        found: Hash,
        /// The pinned hash.
        pinned: Hash,
    },
    /// `init` would overwrite a node's files.
    #[error("{0} already exists; a home is made once, and its keys are never overwritten")]
    Exists(PathBuf),
    /// What `init` was asked for cannot be a node.
    #[error("{field}: {reason}")]
    Invalid {
        /// The flag or field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A file or folder could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A key file could not be written.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The config could not be written.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What `minhbach init` makes a home for.
#[derive(Clone, Debug)]
pub struct InitSpec {
    /// The node's name.
    pub name: String,
    /// Validator or full node.
    pub role: NodeRole,
    /// The libp2p listen address, e.g. `/ip4/0.0.0.0/tcp/26656`.
    pub p2p_listen: String,
    /// Where other machines reach it, e.g. `/dns4/v1.example/tcp/26656`.
    pub p2p_external: Vec<String>,
    /// Where the API listens (keep it private on validators).
    pub api: SocketAddr,
    /// Where the explorer listens, if this node serves one.
    pub explorer: Option<SocketAddr>,
    /// Whether external addresses on loopback are allowed (a network on
    /// one machine).
    pub loopback: Loopback,
}

/// `HOME/join.json`, the join request `init` prints.
pub const JOIN_FILE: &str = "join.json";

/// A node's home folder.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `HOME/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `HOME/genesis.json`.
    pub fn genesis_path(&self) -> PathBuf {
        self.root.join("genesis.json")
    }

    /// `HOME/data`, the RocksDB store.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// `HOME/node_key`.
    pub fn node_key_path(&self) -> PathBuf {
        self.root.join("node_key")
    }

    /// `HOME/validator_key`.
    pub fn validator_key_path(&self) -> PathBuf {
        self.root.join("validator_key")
    }

    /// Reads and checks the genesis file.
    pub fn genesis(&self) -> Result<Genesis, HomeError> {
        Ok(Genesis::load(&self.genesis_path())?)
    }

    /// Reads and checks the genesis file, and refuses it if its hash is not
    /// `pinned` (the config's `node.genesis_hash`), naming both hashes.
    pub fn genesis_pinned(&self, pinned: Option<Hash>) -> Result<Genesis, HomeError> {
        let genesis = self.genesis()?;
        match pinned {
            Some(pinned) if pinned != genesis.hash() => Err(HomeError::GenesisMismatch {
                path: self.genesis_path(),
                found: genesis.hash(),
                pinned,
            }),
            _ => Ok(genesis),
        }
    }

    /// Makes a node's home on this machine: its node key and, for a
    /// validator, its validator key (both mode 0600), and a commented
    /// `config.toml`. Returns the node's join request, also written to
    /// `HOME/join.json`; it holds no secret. Refuses a home that already
    /// has any of these files, and checks every address before writing.
    pub fn init(&self, spec: &InitSpec) -> Result<JoinRequest, HomeError> {
        let listen: libp2p::Multiaddr =
            spec.p2p_listen.parse().map_err(|e| HomeError::Invalid {
                field: "--p2p-listen",
                reason: format!("{:?} is not a multiaddr: {e}", spec.p2p_listen),
            })?;
        for a in &spec.p2p_external {
            check_external_address(a, spec.loopback).map_err(|reason| HomeError::Invalid {
                field: "--p2p-external",
                reason,
            })?;
        }
        for path in [
            self.node_key_path(),
            self.validator_key_path(),
            self.config_path(),
            self.root.join(JOIN_FILE),
        ] {
            if path.exists() {
                return Err(HomeError::Exists(path));
            }
        }
        let node_key = SigningKey::generate();
        let validator_key = (spec.role == NodeRole::Validator).then(SigningKey::generate);
        let join = JoinRequest {
            name: spec.name.clone(),
            role: spec.role,
            peer_id: PeerId::from_ed25519(&node_key.public_key())
                .expect("a generated key is a valid ed25519 key"),
            validator_key: validator_key.as_ref().map(SigningKey::public_key),
            addresses: spec.p2p_external.clone(),
        };
        join.check(spec.loopback).map_err(|e| HomeError::Invalid {
            field: "join request",
            reason: e.to_string(),
        })?;

        let mut config = Config::default();
        config.node.name = spec.name.clone();
        config.p2p.listen = listen.to_string();
        config.p2p.external = spec.p2p_external.clone();
        config.api.listen = spec.api;
        config.explorer.listen = spec.explorer;

        std::fs::create_dir_all(&self.root).map_err(|source| HomeError::Io {
            path: self.root.clone(),
            source,
        })?;
        write_key_file(&self.node_key_path(), &node_key)?;
        if let Some(k) = &validator_key {
            write_key_file(&self.validator_key_path(), k)?;
        }
        crate::config::save_commented(&config, &self.config_path())?;
        let join_path = self.root.join(JOIN_FILE);
        std::fs::write(&join_path, join.to_json() + "\n").map_err(|source| HomeError::Io {
            path: join_path,
            source,
        })?;
        Ok(join)
    }

    /// Opens the store, creating it from genesis on first use, and returns it
    /// with the state at its last committed height. Refuses a store that
    /// belongs to another genesis.
    pub fn open_store(&self, genesis: &Genesis) -> Result<(Store, State), HomeError> {
        let path = self.data_dir();
        let err = |source| HomeError::Store {
            path: path.clone(),
            source: Box::new(source),
        };
        let store = Store::open(&path).map_err(err)?;
        let state = store.init(&genesis.state(), genesis.hash()).map_err(err)?;
        Ok((store, state))
    }

    /// Opens the store as [`Home::open_store`] does, for a running node: a
    /// store that exists but cannot be opened for writing (its disk is full
    /// or read-only) is opened read-only instead, with the reason it could
    /// not be written, so the node can serve reads and reopen it later.
    pub fn open_store_for_node(
        &self,
        genesis: &Genesis,
    ) -> Result<(Store, State, Option<String>), HomeError> {
        let (path, why) = match self.open_store(genesis) {
            Ok((store, state)) => return Ok((store, state, None)),
            Err(HomeError::Store { path, source }) if matches!(*source, StoreError::Db(_)) => {
                (path, source)
            }
            Err(e) => return Err(e),
        };
        let refused = |why: Box<StoreError>| HomeError::Store {
            path: path.clone(),
            source: why,
        };
        let Ok(store) = Store::open_read_only(&path) else {
            return Err(refused(why));
        };
        // An initialised store only reads here; an empty one would have to
        // be written, and cannot be.
        if !matches!(store.meta(), Ok(Some(_))) {
            return Err(refused(why));
        }
        let state = store
            .init(&genesis.state(), genesis.hash())
            .map_err(|e| refused(Box::new(e)))?;
        Ok((store, state, Some(why.to_string())))
    }

    /// Opens an existing store without creating one, for offline tools.
    pub fn open_existing_store(&self) -> Result<Store, HomeError> {
        let path = self.data_dir();
        if !path.is_dir() {
            return Err(HomeError::NoStore(self.root.clone()));
        }
        Store::open(&path).map_err(|source| HomeError::Store {
            path,
            source: Box::new(source),
        })
    }
}
