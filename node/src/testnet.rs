//! Generating a local network: the homes, genesis and keys of N validators
//! and M full nodes on 127.0.0.1, ready for `minhbach node start --home`.
//!
//! [`generate`] writes, under one folder:
//!
//! ```text
//! OUT/genesis.json          the shared genesis (also in every home)
//! OUT/keys/<ENTITY>.json    each entity's signing key (mode 0600)
//! OUT/keys/<ENTITY>.<n>.json the n-th key (n ≥ 2) of a k-of-n entity
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

use genesis::ceremony::{Draft, Loopback, NodeRole};
use genesis::{Currency, EntityTemplate, GenesisError};
use ledger::crypto::{write_key_file, KeyFileError, SigningKey};
use ledger::tx::EntityKind;
use ledger::{EntityId, PeerId};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{Config, ConfigError};
use crate::home::{Home, InitSpec};

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
    /// A node's home could not be made.
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
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
    /// Its further key files, for an entity holding several keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_key_files: Vec<PathBuf>,
}

impl EntityPlan {
    /// Every key file of the entity, the first key first.
    pub fn key_files(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.key_file).chain(&self.more_key_files)
    }
}

/// Who must sign what on a generated network: entities holding several
/// keys, the delay of the treasury's key changes, and expenditure control
/// rules. The default is one key per entity, the default delay and no rule.
#[derive(Clone, Debug, Default)]
pub struct Governance {
    /// Entities holding several keys: the entity, how many keys it holds and
    /// how many must sign.
    pub key_sets: Vec<(EntityId, u8, u8)>,
    /// Blocks the treasury's change of another entity's keys waits; `None`
    /// for the genesis default.
    pub rotation_delay: Option<u64>,
    /// Expenditure control rules in force from genesis.
    pub control: Vec<ledger::state::ControlRule>,
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
    generate_governed(spec, &Governance::default(), out, configure)
}

/// [`generate_with`], with `governance` deciding the entities' key sets,
/// the rotation delay and the control rules.
pub fn generate_governed(
    spec: &TestnetSpec,
    governance: &Governance,
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
    if !spec.entities.iter().any(|e| e.kind == EntityKind::Treasury) {
        return Err(TestnetError::Invalid(
            "the entities have no treasury".into(),
        ));
    }
    let ports = allocate_ports(spec, nodes)?;

    // The entities' keys, as each entity would make its own with
    // `minhbach keys new`; only their public keys go into the genesis.
    let entity_keys: Vec<SigningKey> = spec
        .entities
        .iter()
        .map(|_| SigningKey::generate())
        .collect();
    // The ceremony's draft: the treasury, then the other entities. Anything
    // it refuses is refused before a file is written.
    let (t, treasury_key) = spec
        .entities
        .iter()
        .zip(&entity_keys)
        .find(|(e, _)| e.kind == EntityKind::Treasury)
        .expect("the treasury was found above");
    let mut draft = Draft::new(
        &spec.chain_id,
        spec.currency.clone(),
        t.id.clone(),
        &t.name,
        treasury_key.public_key(),
    )?;
    draft.add_entities(
        spec.entities
            .iter()
            .zip(&entity_keys)
            .filter(|(e, _)| e.kind != EntityKind::Treasury)
            .map(|(e, key)| e.with_key(key.public_key())),
    )?;
    // The further keys of k-of-n entities, made as their holders would.
    let mut more_keys: Vec<(EntityId, Vec<SigningKey>)> = Vec::new();
    for (id, count, threshold) in &governance.key_sets {
        let first = spec
            .entities
            .iter()
            .zip(&entity_keys)
            .find(|(e, _)| e.id == *id)
            .map(|(_, k)| k.public_key())
            .ok_or_else(|| TestnetError::Invalid(format!("{id} holds keys but is no entity")))?;
        let more: Vec<SigningKey> = (1..*count).map(|_| SigningKey::generate()).collect();
        let keys = std::iter::once(first)
            .chain(more.iter().map(SigningKey::public_key))
            .collect();
        draft.set_keys(id, keys, *threshold)?;
        more_keys.push((id.clone(), more));
    }
    if let Some(delay) = governance.rotation_delay {
        draft.set_rotation_delay(delay)?;
    }
    for rule in &governance.control {
        draft.add_control(rule.clone())?;
    }

    let out = prepare_out(out)?;
    let keys_dir = out.join("keys");
    fs::create_dir(&keys_dir).map_err(io(&keys_dir))?;
    let mut entities = Vec::with_capacity(spec.entities.len());
    for e in &draft.entities {
        let key = spec
            .entities
            .iter()
            .zip(&entity_keys)
            .find(|(t, _)| t.id == e.id)
            .map(|(_, k)| k)
            .expect("every draft entity comes from the spec");
        let key_file = keys_dir.join(format!("{}.json", e.id));
        write_key_file(&key_file, key)?;
        let mut more_key_files = Vec::new();
        for (n, k) in more_keys
            .iter()
            .filter(|(id, _)| *id == e.id)
            .flat_map(|(_, ks)| ks)
            .enumerate()
        {
            let path = keys_dir.join(format!("{}.{}.json", e.id, n + 2));
            write_key_file(&path, k)?;
            more_key_files.push(path);
        }
        entities.push(EntityPlan {
            id: e.id.clone(),
            kind: e.kind,
            name: e.name.clone(),
            parent: e.parent.clone(),
            key_file,
            more_key_files,
        });
    }

    // Each node's home, made as `minhbach init` makes it, and its join
    // request added to the draft.
    let mut plans = Vec::with_capacity(nodes);
    for (i, ports) in ports.iter().enumerate() {
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
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", ports.p2p);
        let api = SocketAddr::from((Ipv4Addr::LOCALHOST, ports.api));
        let home = Home::new(out.join(&name));
        let join = home.init(&InitSpec {
            name: name.clone(),
            role: match role {
                Role::Validator => NodeRole::Validator,
                Role::FullNode => NodeRole::Full,
            },
            p2p_listen: p2p.clone(),
            p2p_external: vec![p2p.clone()],
            api,
            explorer,
            loopback: Loopback::Allow,
        })?;
        match role {
            Role::Validator => draft.add_validator(&join, VALIDATOR_POWER, Loopback::Allow)?,
            Role::FullNode => draft.add_node(&join, t.id.clone(), Loopback::Allow)?,
        }
        plans.push(NodePlan {
            home: home.root().to_owned(),
            name,
            role,
            peer_id: join.peer_id,
            p2p,
            api,
            explorer,
        });
    }

    let genesis = draft.finalize(spec.genesis_time_ms)?;
    let genesis_json = genesis.to_json();
    let genesis_path = out.join("genesis.json");
    fs::write(&genesis_path, &genesis_json).map_err(io(&genesis_path))?;
    for plan in &plans {
        let home = plan.home();
        let path = home.genesis_path();
        fs::write(&path, &genesis_json).map_err(io(&path))?;
        let mut config = Config::load(&home.config_path())?;
        config.node.genesis_hash = Some(genesis.hash());
        config.p2p.peers = plans
            .iter()
            .filter(|p| p.name != plan.name)
            .map(NodePlan::dial_address)
            .collect();
        configure(plan, &mut config);
        crate::config::save_commented(&config, &home.config_path())?;
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
