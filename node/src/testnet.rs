//! Generating a local network: the homes, genesis and keys of N validators
//! and M full nodes on 127.0.0.1, ready for `minhbach node start --home`.
//!
//! [`generate`] writes, under one folder:
//!
//! ```text
//! OUT/genesis.json          the shared genesis (also in every home)
//! OUT/keys/<ENTITY>.json    each entity's signing key (mode 0600)
//! OUT/<node name>/          one home per node (see `home`): config.toml,
//!                           genesis.json, node_key, validator_key (validators)
//! ```
//!
//! and returns a [`NetworkPlan`] naming every node (role, home, addresses,
//! peer id) and entity (key file), which callers save as JSON. Every node
//! lists every other node as a peer; full nodes are allowed into the network
//! through the genesis `nodes`, operated by the treasury.
//!
//! It starts nothing. Ports are either free ports picked at generation time
//! (so tests can generate many networks side by side) or a fixed layout from a
//! base port.

use std::collections::BTreeSet;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use genesis::{Currency, EntityTemplate, Genesis, GenesisError};
use ledger::crypto::{write_key_file, KeyFileError, SigningKey};
use ledger::state::NodeRecord;
use ledger::tx::EntityKind;
use ledger::{EntityId, PeerId, Validator};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{Config, ConfigError};
use crate::home::Home;

/// Most nodes in one generated network. Each needs three ports, and every
/// config lists every other node, so the bound keeps both small.
pub const NODES_MAX: usize = 64;

/// Voting power of each generated validator.
pub const VALIDATOR_POWER: u64 = 10;

/// Port offsets of node i from the base port: p2p, API, explorer.
pub const PORT_STRIDE: u16 = 10;

/// Why a network could not be generated or its plan read.
#[derive(Debug, Error)]
pub enum TestnetError {
    /// A file or folder could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The output folder already holds something.
    #[error("{0} is not empty; choose a new folder so that no existing network is overwritten")]
    NotEmpty(PathBuf),
    /// The request itself is impossible.
    #[error("{0}")]
    Invalid(String),
    /// A key file could not be written.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The genesis would be invalid.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// A config file could not be written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A plan file is not valid JSON of the expected shape.
    #[error("{path}: {message}")]
    Plan {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TestnetError + '_ {
    move |source| TestnetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a node does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Votes on blocks; has a `validator_key`.
    Validator,
    /// Follows the chain and serves clients.
    FullNode,
}

/// How ports are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ports {
    /// Ports that are free on 127.0.0.1 at generation time, all distinct.
    Free,
    /// Node i uses base + 10i (p2p), + 1 (API) and + 2 (explorer).
    Base(u16),
}

/// Which nodes serve the read-only explorer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Explorers {
    /// Every node.
    Every,
    /// Full nodes only.
    FullNodes,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct TestnetSpec {
    /// Chain id.
    pub chain_id: String,
    /// Genesis time, ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Currency.
    pub currency: Currency,
    /// Number of validators, at least one.
    pub validators: usize,
    /// Number of full nodes.
    pub full_nodes: usize,
    /// The genesis entities; exactly one must be the treasury.
    pub entities: Vec<EntityTemplate>,
    /// How ports are chosen.
    pub ports: Ports,
    /// Which nodes serve the explorer.
    pub explorers: Explorers,
}

/// One generated node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    /// Name (`validator-0`, `full-0`), also its home folder's name.
    pub name: String,
    /// Validator or full node.
    pub role: Role,
    /// Its home folder.
    pub home: PathBuf,
    /// Its libp2p peer id.
    pub peer_id: PeerId,
    /// Its libp2p listen address, as a multiaddr without the peer id.
    pub p2p: String,
    /// Where its API listens.
    pub api: SocketAddr,
    /// Where its explorer listens, if it serves one.
    pub explorer: Option<SocketAddr>,
}

impl NodePlan {
    /// The node's home.
    pub fn home(&self) -> Home {
        Home::new(&self.home)
    }

    /// The API's base URL, e.g. `http://127.0.0.1:26601`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }

    /// The explorer's base URL, if it serves one.
    pub fn explorer_url(&self) -> Option<String> {
        self.explorer.map(|a| format!("http://{a}/"))
    }

    /// The multiaddr other nodes dial: the listen address and the peer id.
    pub fn dial_address(&self) -> String {
        format!("{}/p2p/{}", self.p2p, self.peer_id)
    }
}

/// One generated entity and where its key is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityPlan {
    /// Id.
    pub id: EntityId,
    /// Kind.
    pub kind: EntityKind,
    /// Display name.
    pub name: String,
    /// A department's ministry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<EntityId>,
    /// Its signing key file (mode 0600).
    pub key_file: PathBuf,
}

/// A generated network, as written to `devnet.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPlan {
    /// Chain id.
    pub chain_id: String,
    /// The shared genesis file.
    pub genesis: PathBuf,
    /// Validators first, then full nodes.
    pub nodes: Vec<NodePlan>,
    /// The genesis entities, in genesis order.
    pub entities: Vec<EntityPlan>,
}

impl NetworkPlan {
    /// Writes the plan as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), TestnetError> {
        let mut text = serde_json::to_string_pretty(self).expect("a plan always serialises");
        text.push('\n');
        fs::write(path, text).map_err(io(path))
    }

    /// Reads a plan written by [`NetworkPlan::save`].
    pub fn load(path: &Path) -> Result<NetworkPlan, TestnetError> {
        let text = fs::read_to_string(path).map_err(io(path))?;
        serde_json::from_str(&text).map_err(|e| TestnetError::Plan {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// The validators.
    pub fn validators(&self) -> impl Iterator<Item = &NodePlan> {
        self.nodes.iter().filter(|n| n.role == Role::Validator)
    }

    /// The first node that serves an explorer.
    pub fn explorer_node(&self) -> Option<&NodePlan> {
        self.nodes.iter().find(|n| n.explorer.is_some())
    }

    /// An entity's plan.
    pub fn entity(&self, id: &EntityId) -> Option<&EntityPlan> {
        self.entities.iter().find(|e| e.id == *id)
    }
}

/// The ports of one node.
struct NodePorts {
    p2p: u16,
    api: u16,
    explorer: u16,
}

fn allocate_ports(spec: &TestnetSpec, nodes: usize) -> Result<Vec<NodePorts>, TestnetError> {
    match spec.ports {
        Ports::Base(base) => {
            let last = u32::from(base) + u32::from(PORT_STRIDE) * (nodes as u32 - 1) + 2;
            if base == 0 || last > u32::from(u16::MAX) {
                return Err(TestnetError::Invalid(format!(
                    "base port {base} leaves no room for {nodes} nodes ({PORT_STRIDE} ports each, \
                     up to {last}); choose a base port between 1 and {}",
                    u32::from(u16::MAX) - u32::from(PORT_STRIDE) * (nodes as u32 - 1) - 2
                )));
            }
            Ok((0..nodes as u16)
                .map(|i| {
                    let p = base + PORT_STRIDE * i;
                    NodePorts {
                        p2p: p,
                        api: p + 1,
                        explorer: p + 2,
                    }
                })
                .collect())
        }
        Ports::Free => {
            // Hold every listener until all are bound, so the ports are
            // distinct; they are released when this returns.
            let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let listeners = (0..nodes * 3)
                .map(|_| TcpListener::bind(loopback))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io(Path::new("127.0.0.1:0")))?;
            let ports = listeners
                .iter()
                .map(|l| l.local_addr().map(|a| a.port()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io(Path::new("127.0.0.1:0")))?;
            Ok(ports
                .chunks(3)
                .map(|c| NodePorts {
                    p2p: c[0],
                    api: c[1],
                    explorer: c[2],
                })
                .collect())
        }
    }
}

/// Creates `out` (and its parents) or checks that it is an empty folder, and
/// returns its absolute path.
fn prepare_out(out: &Path) -> Result<PathBuf, TestnetError> {
    if out.exists() {
        let mut entries = fs::read_dir(out).map_err(io(out))?;
        if entries.next().is_some() {
            return Err(TestnetError::NotEmpty(out.to_owned()));
        }
    }
    fs::create_dir_all(out).map_err(io(out))?;
    fs::canonicalize(out).map_err(io(out))
}

/// Generates the network with default node configs. See [`generate_with`].
pub fn generate(spec: &TestnetSpec, out: &Path) -> Result<NetworkPlan, TestnetError> {
    generate_with(spec, out, |_, _| {})
}

/// Generates the network into `out`, which must not exist or be empty.
/// `configure` may change each node's config before it is written (for
/// example faster consensus timings in tests); the addresses and peers it
/// finds are already set.
pub fn generate_with(
    spec: &TestnetSpec,
    out: &Path,
    configure: impl Fn(&NodePlan, &mut Config),
) -> Result<NetworkPlan, TestnetError> {
    let nodes = spec.validators + spec.full_nodes;
    if spec.validators == 0 {
        return Err(TestnetError::Invalid(
            "a network needs at least one validator".into(),
        ));
    }
    if nodes > NODES_MAX {
        return Err(TestnetError::Invalid(format!(
            "{nodes} nodes is more than the {NODES_MAX} a generated network may have"
        )));
    }
    let treasury = spec
        .entities
        .iter()
        .find(|e| e.kind == EntityKind::Treasury)
        .ok_or_else(|| TestnetError::Invalid("the entities have no treasury".into()))?
        .id
        .clone();
    let ports = allocate_ports(spec, nodes)?;

    let node_keys: Vec<SigningKey> = (0..nodes).map(|_| SigningKey::generate()).collect();
    let validator_keys: Vec<SigningKey> = (0..spec.validators)
        .map(|_| SigningKey::generate())
        .collect();
    let entity_keys: Vec<SigningKey> = spec
        .entities
        .iter()
        .map(|_| SigningKey::generate())
        .collect();

    let mut plans = Vec::with_capacity(nodes);
    for (i, (key, ports)) in node_keys.iter().zip(&ports).enumerate() {
        let (role, name) = if i < spec.validators {
            (Role::Validator, format!("validator-{i}"))
        } else {
            (Role::FullNode, format!("full-{}", i - spec.validators))
        };
        let explorer = match (spec.explorers, role) {
            (Explorers::Every, _) | (Explorers::FullNodes, Role::FullNode) => {
                Some(SocketAddr::from((Ipv4Addr::LOCALHOST, ports.explorer)))
            }
            (Explorers::FullNodes, Role::Validator) => None,
        };
        plans.push(NodePlan {
            // Set once the folder exists and its absolute path is known.
            home: PathBuf::new(),
            name,
            role,
            peer_id: PeerId::from_ed25519(&key.public_key())
                .expect("a generated key is a valid ed25519 key"),
            p2p: format!("/ip4/127.0.0.1/tcp/{}", ports.p2p),
            api: SocketAddr::from((Ipv4Addr::LOCALHOST, ports.api)),
            explorer,
        });
    }

    let genesis = Genesis {
        chain_id: spec.chain_id.clone(),
        genesis_time_ms: spec.genesis_time_ms,
        currency: spec.currency.clone(),
        entities: spec
            .entities
            .iter()
            .zip(&entity_keys)
            .map(|(t, k)| t.with_key(k.public_key()))
            .collect(),
        validators: plans
            .iter()
            .zip(&validator_keys)
            .map(|(n, k)| Validator {
                name: n.name.clone(),
                consensus_key: k.public_key(),
                peer_id: n.peer_id.clone(),
                power: VALIDATOR_POWER,
            })
            .collect(),
        nodes: plans
            .iter()
            .filter(|n| n.role == Role::FullNode)
            .map(|n| NodeRecord {
                peer_id: n.peer_id.clone(),
                operator: treasury.clone(),
            })
            .collect(),
    };
    // Everything that can be refused is checked before anything is written.
    genesis.check()?;
    let out = prepare_out(out)?;
    for plan in &mut plans {
        plan.home = out.join(&plan.name);
    }
    let genesis_json = genesis.to_json();
    let genesis_path = out.join("genesis.json");
    fs::write(&genesis_path, &genesis_json).map_err(io(&genesis_path))?;

    let keys_dir = out.join("keys");
    fs::create_dir(&keys_dir).map_err(io(&keys_dir))?;
    let mut entities = Vec::with_capacity(spec.entities.len());
    for (t, key) in spec.entities.iter().zip(&entity_keys) {
        let key_file = keys_dir.join(format!("{}.json", t.id));
        write_key_file(&key_file, key)?;
        entities.push(EntityPlan {
            id: t.id.clone(),
            kind: t.kind,
            name: t.name.clone(),
            parent: t.parent.clone(),
            key_file,
        });
    }

    for (i, plan) in plans.iter().enumerate() {
        let home = plan.home();
        fs::create_dir(home.root()).map_err(io(home.root()))?;
        write_key_file(&home.node_key_path(), &node_keys[i])?;
        if let Some(k) = validator_keys.get(i) {
            write_key_file(&home.validator_key_path(), k)?;
        }
        let path = home.genesis_path();
        fs::write(&path, &genesis_json).map_err(io(&path))?;
        let mut config = Config::default();
        config.node.name = plan.name.clone();
        config.p2p.listen = plan.p2p.clone();
        config.p2p.peers = plans
            .iter()
            .filter(|p| p.name != plan.name)
            .map(NodePlan::dial_address)
            .collect();
        config.api.listen = plan.api;
        config.explorer.listen = plan.explorer;
        configure(plan, &mut config);
        config.save(&home.config_path())?;
    }

    let plan = NetworkPlan {
        chain_id: spec.chain_id.clone(),
        genesis: genesis_path,
        nodes: plans,
        entities,
    };
    assert_distinct_ports(&plan);
    Ok(plan)
}

/// Every listener of the plan has its own port.
fn assert_distinct_ports(plan: &NetworkPlan) {
    let mut seen = BTreeSet::new();
    for n in &plan.nodes {
        let p2p = n
            .p2p
            .rsplit('/')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .expect("the plan's p2p address ends with its port");
        for port in [Some(p2p), Some(n.api.port()), n.explorer.map(|a| a.port())]
            .into_iter()
            .flatten()
        {
            assert!(seen.insert(port), "port {port} is used twice");
        }
    }
}
