//! A node's home folder (SPEC §6):
//!
//! ```text
//! HOME/config.toml      p2p, api and explorer addresses, peers, limits
//! HOME/genesis.json
//! HOME/node_key         libp2p identity (mode 0600)
//! HOME/validator_key    consensus key (mode 0600, validators only)
//! HOME/data/            RocksDB
//! ```

use std::path::{Path, PathBuf};

use genesis::{Genesis, GenesisError};
use ledger::store::{Store, StoreError};
use ledger::State;
use thiserror::Error;

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
}

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
