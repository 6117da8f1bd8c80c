//! A local network of real node processes, for the integration tests.
//!
//! Every cluster lives in its own temporary folder, listens only on
//! 127.0.0.1 ports that were free when it was generated (so tests run in
//! parallel), waits only with deadlines, and kills its processes when it is
//! dropped, including when a test panics.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use genesis::{Currency, EntityTemplate};
use ledger::crypto::{read_key_file, write_key_file, SigningKey};
use ledger::{EntityId, Hash, Op, PeerId, SignedTx, TxBody};
use node::config::Config;
use node::home::Home;
use node::testnet::{
    self, Explorers, NetworkPlan, NodePlan, Ports, Role, TestnetSpec, PORT_STRIDE,
};
use serde_json::Value;
use tools::bench::audit::{audit, Audit, Found};
use tools::client::{Client, ClientError};

use crate::ports;

/// Genesis time of test networks: 2026-01-01T00:00:00Z.
pub use ledger::testkit::GENESIS_TIME_MS;

/// A running (or partly running) test network.
pub struct Cluster {
    /// The generated network.
    pub plan: NetworkPlan,
    bin: PathBuf,
    dir: tempfile::TempDir,
    children: Vec<Option<Child>>,
    /// Node i listens on ports base + 10i, + 1 and + 2 of this block.
    ports: ports::Reservation,
}

/// A node process's resident memory, in KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss_kib: u64,
    /// The most it has been resident (`VmHWM`).
    pub hwm_kib: u64,
}

pub use testkit::fast_consensus as fast;

impl Cluster {
    /// Generates (does not start) a network of `validators` validators and
    /// `full_nodes` full nodes with the devnet story's entities; `bin` is the
    /// `minhbach` binary.
    pub fn new(bin: impl AsRef<Path>, validators: usize, full_nodes: usize) -> Cluster {
        Cluster::with_entities(bin, validators, full_nodes, genesis::story::entities())
    }

    /// Like [`Cluster::new`], with these genesis entities.
    pub fn with_entities(
        bin: impl AsRef<Path>,
        validators: usize,
        full_nodes: usize,
        entities: Vec<EntityTemplate>,
    ) -> Cluster {
        Cluster::with_governance(
            bin,
            validators,
            full_nodes,
            entities,
            &testnet::Governance::default(),
        )
    }

    /// Like [`Cluster::with_entities`], with `governance` deciding the
    /// entities' key sets, the rotation delay and the control rules.
    pub fn with_governance(
        bin: impl AsRef<Path>,
        validators: usize,
        full_nodes: usize,
        entities: Vec<EntityTemplate>,
        governance: &testnet::Governance,
    ) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("minhbach-cluster-")
            .tempdir()
            .expect("temporary folder");
        let ports = ports::reserve();
        let spec = TestnetSpec {
            chain_id: "minhbach-test".into(),
            genesis_time_ms: GENESIS_TIME_MS,
            currency: Currency::default(),
            validators,
            full_nodes,
            entities,
            ports: Ports::Base(ports.base),
            explorers: Explorers::FullNodes,
        };
        let plan =
            testnet::generate_governed(&spec, governance, &dir.path().join("net"), |_, c| fast(c))
                .expect("generate the network");
        let n = plan.nodes.len();
        Cluster {
            plan,
            bin: bin.as_ref().to_owned(),
            dir,
            children: (0..n).map(|_| None).collect(),
            ports,
        }
    }

    /// Writes a home for a node that is not in the genesis: a fresh node
    /// key (and a validator key if `validator`), the genesis, and a config
    /// with ports of the network's block that lists every other node as a peer. Returns its
    /// index; it is not started.
    pub fn add_home(&mut self, name: &str, validator: bool) -> usize {
        let home = self.dir.path().join("net").join(name);
        std::fs::create_dir(&home).expect("new home");
        let node_key = SigningKey::generate();
        write_key_file(&home.join("node_key"), &node_key).expect("node key");
        if validator {
            write_key_file(&home.join("validator_key"), &SigningKey::generate())
                .expect("validator key");
        }
        std::fs::copy(&self.plan.genesis, home.join("genesis.json")).expect("genesis");
        let first = PORT_STRIDE * self.plan.nodes.len() as u16;
        let ports = [self.ports.port(first), self.ports.port(first + 1)];
        let mut config = Config::default();
        config.node.name = name.into();
        config.p2p.listen = format!("/ip4/127.0.0.1/tcp/{}", ports[0]);
        config.p2p.peers = self.plan.nodes.iter().map(|n| n.dial_address()).collect();
        config.api.listen = SocketAddr::from(([127, 0, 0, 1], ports[1]));
        fast(&mut config);
        config.save(&home.join("config.toml")).expect("config");
        self.plan.nodes.push(NodePlan {
            name: name.into(),
            role: if validator {
                Role::Validator
            } else {
                Role::FullNode
            },
            home,
            peer_id: PeerId::from_ed25519(&node_key.public_key()).expect("peer id"),
            p2p: config.p2p.listen.clone(),
            api: config.api.listen,
            explorer: None,
        });
        self.children.push(None);
        self.plan.nodes.len() - 1
    }

    /// Changes node `i`'s config before it starts.
    pub fn configure(&self, i: usize, change: impl FnOnce(&mut Config)) {
        let path = self.plan.nodes[i].home.join("config.toml");
        let mut config = Config::load(&path).expect("the node's config");
        change(&mut config);
        config.save(&path).expect("save the config");
    }

    /// The value of a metric on node `i`'s `/metrics`; panics if it is
    /// missing.
    pub fn metric(&self, i: usize, name: &str) -> f64 {
        let body = self.client(i).download("/metrics").expect("/metrics").body;
        let text = String::from_utf8(body).expect("UTF-8 metrics");
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} is not a number"))
    }

    /// Node `i`'s consensus key, for a validator.
    pub fn validator_key(&self, i: usize) -> SigningKey {
        read_key_file(&self.plan.nodes[i].home.join("validator_key")).expect("validator key")
    }

    /// The cluster's folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Node `i`'s plan.
    pub fn node(&self, i: usize) -> &NodePlan {
        &self.plan.nodes[i]
    }

    /// Starts node `i` (its log goes to `<home>/node.log`).
    pub fn start(&mut self, i: usize) {
        let bin = self.bin.clone();
        self.start_as(i, &bin);
    }

    /// Starts node `i` with another build of `minhbach`, such as the tests'
    /// Byzantine one.
    pub fn start_as(&mut self, i: usize, bin: &Path) {
        self.start_with(i, bin, &[]);
    }

    /// Starts node `i` with `bin` and these arguments after
    /// `node start --home HOME`, such as `--state-sync`.
    pub fn start_with(&mut self, i: usize, bin: &Path, args: &[&str]) {
        assert!(self.children[i].is_none(), "node {i} is already running");
        let home = self.plan.nodes[i].home.clone();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("node.log"))
            .expect("open the node log");
        let child = Command::new(bin)
            .args(["node", "start", "--home"])
            .arg(&home)
            .args(args)
            .env("RUST_LOG", "warn,node=info,gateway=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a node process");
        self.children[i] = Some(child);
    }

    /// Starts every node.
    pub fn start_all(&mut self) {
        for i in 0..self.plan.nodes.len() {
            self.start(i);
        }
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `i` with SIGTERM, waiting up to 10 s before killing it.
    /// Returns whether it exited by itself, successfully.
    pub fn stop(&mut self, i: usize) -> bool {
        let Some(mut child) = self.children[i].take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Node `i`'s exit code once its process has ended by itself (`None`
    /// while it runs; `Some(None)` if a signal ended it); the process is
    /// then forgotten, so that the node can be started again.
    pub fn exit_code(&mut self, i: usize) -> Option<Option<i32>> {
        let child = self.children[i].as_mut()?;
        let status = child.try_wait().ok().flatten()?;
        self.children[i] = None;
        Some(status.code())
    }

    /// Whether node `i`'s process is running.
    pub fn is_running(&mut self, i: usize) -> bool {
        match &mut self.children[i] {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The process id of node `i`, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children[i].as_ref().map(Child::id)
    }

    /// Node `i`'s resident memory now and at its peak, from
    /// `/proc/<pid>/status`; None if it is not running.
    pub fn memory(&self, i: usize) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid(i)?)).ok()?;
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        };
        Some(Memory {
            rss_kib: kib("VmRSS:")?,
            hwm_kib: kib("VmHWM:")?,
        })
    }

    /// A client of node `i`'s API.
    pub fn client(&self, i: usize) -> Client {
        Client::new(&self.plan.nodes[i].api_url(), None).expect("a client of a local node")
    }

    /// Node `i`'s last committed height, if it answers.
    pub fn height(&self, i: usize) -> Option<u64> {
        self.client(i).get("/v1/status").ok()?["height"].as_u64()
    }

    /// The hash of node `i`'s block at `h`, if it has one.
    pub fn block_hash(&self, i: usize, h: u64) -> Option<String> {
        let b = self.client(i).get(&format!("/v1/blocks/{h}")).ok()?;
        b["hash"].as_str().map(str::to_owned)
    }

    /// Waits until node `i` has committed height `h`.
    pub fn wait_height(&self, i: usize, h: u64, timeout: Duration) -> u64 {
        wait_for(&format!("node {i} to reach height {h}"), timeout, || {
            self.height(i).filter(|got| *got >= h)
        })
    }

    /// An entity's signing key (its first, for an entity of several).
    pub fn key(&self, entity: &str) -> SigningKey {
        self.key_file(entity, 0)
            .map(|f| read_key_file(&f).expect("entity key file"))
            .expect("the entity has a key")
    }

    /// The path of an entity's `n`-th key file (0 for the first), if it
    /// holds that many keys.
    pub fn key_file(&self, entity: &str, n: usize) -> Option<PathBuf> {
        let id = EntityId::new(entity).expect("entity id");
        let plan = self.plan.entity(&id).expect("entity in the plan");
        plan.key_files().nth(n).cloned()
    }

    /// Signs `op` as `signer` with `nonce`.
    pub fn sign(&self, signer: &str, nonce: u64, op: Op) -> SignedTx {
        TxBody {
            chain_id: self.plan.chain_id.clone(),
            signer: EntityId::new(signer).expect("signer id"),
            nonce,
            op,
        }
        .sign(&self.key(signer))
    }

    /// Signs `op` as `signer` with the nonce node `i` says is next.
    pub fn sign_next(&self, i: usize, signer: &str, op: Op) -> SignedTx {
        let nonce = self
            .client(i)
            .next_nonce(&EntityId::new(signer).expect("signer id"))
            .expect("next nonce");
        self.sign(signer, nonce, op)
    }

    /// Submits to node `i`; the hash, or the node's error.
    pub fn submit(&self, i: usize, tx: &SignedTx) -> Result<String, ClientError> {
        self.client(i).submit(tx)
    }

    /// Waits until node `i` reports the transaction committed; its record.
    pub fn wait_committed(&self, i: usize, hash: &str, timeout: Duration) -> Value {
        wait_for(&format!("node {i} to commit {hash}"), timeout, || {
            let v = self.client(i).get(&format!("/v1/txs/{hash}")).ok()?;
            (v["status"] == "committed").then_some(v)
        })
    }

    /// Stops `nodes` and reads their stores, as an auditor would: they
    /// hold the same chain, every one of `sent` (the hashes the client
    /// computed itself of what it sent) exactly once on every node, and
    /// `minhbach verify chain` passes on every home. Returns what the audit
    /// read.
    pub fn audit_stores(&mut self, nodes: &[usize], sent: &[Hash]) -> Audit {
        for &i in nodes {
            assert!(self.stop(i), "node {i} did not stop cleanly");
        }
        let homes: Vec<Home> = nodes
            .iter()
            .map(|&i| Home::new(self.node(i).home.clone()))
            .collect();
        let stores = audit(&homes, sent).expect("the stores can be read");
        assert_eq!(
            stores.first_divergence, None,
            "nodes {nodes:?} differ at a height"
        );
        for (found, hash) in stores.found.iter().zip(sent) {
            assert!(
                matches!(found, Found::Once(_)),
                "{}: {found:?} on nodes {nodes:?}",
                hash.to_hex()
            );
        }
        for (&i, home) in nodes.iter().zip(&homes) {
            let out = Command::new(&self.bin)
                .args(["verify", "chain", "--home"])
                .arg(home.root())
                .output()
                .expect("run verify chain");
            assert!(
                out.status.success(),
                "verify chain fails on node {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        stores
    }

    /// The last lines of node `i`'s log, for failure messages.
    pub fn log_tail(&self, i: usize) -> String {
        let text =
            std::fs::read_to_string(self.plan.nodes[i].home.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Cluster {
    /// Stops every node. When the test failed, the nodes' folders (logs,
    /// stores) are kept, and named, for the post-mortem.
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            let kept = std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().expect("temporary folder"),
            )
            .keep();
            eprintln!("the failed test's nodes are kept in {}", kept.display());
        }
    }
}

/// Polls `f` every 100 ms until it gives a value; panics naming `what` when
/// `timeout` passes first.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
