//! A network deployed as operators deploy it, on five "machines": network
//! namespaces this test makes, each with its own address on a bridge and its
//! own hosts file, so the nodes reach each other by name
//! (`v1.bo-tai-chinh.test`).
//!
//! - Every home is made by `minhbach init` inside its own namespace; the
//!   genesis is built by the ceremony commands from the join requests and
//!   the entities' public keys alone, on a sixth machine (the coordinator,
//!   also the client); every private key exists in exactly one place.
//! - The full node serves its API and explorer over HTTPS, with a
//!   certificate for its name from a CA the test makes. From the client
//!   machine, the command line (trusting that CA with `--ca-file`)
//!   registers a department, funds it and pays a vendor through the full
//!   node, naming the chain by its genesis file, and reads the payment back
//!   from the explorer; without the CA it refuses the node.
//! - One validator's interface goes down: the other three go on committing.
//!   It comes back up: it catches up on the same chain.
//! - `verify chain` passes on every home.
//!
//! It needs root and `ip netns` (iproute2), as CI has; without them it fails
//! saying so. Namespaces, hosts files and processes are removed when it ends,
//! failed or not. Every wait has a deadline.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ledger::crypto::read_key_file;
use node::config::Config;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
const DOMAIN: &str = "bo-tai-chinh.test";
const VALIDATORS: [&str; 4] = ["v1", "v2", "v3", "v4"];
const FULL: &str = "explorer";
const CLIENT: &str = "client";
const P2P_PORT: u16 = 26656;
const API_PORT: u16 = 8080;
const EXPLORER_PORT: u16 = 8081;
const WAIT: Duration = Duration::from_secs(60);

/// The machines: the namespaces, the hosts files, the node processes; all
/// removed on drop.
struct Machines {
    prefix: String,
    names: Vec<&'static str>,
    nodes: Vec<(String, Child)>,
    /// The CA the full node's certificate is from, once it serves HTTPS.
    ca_file: Option<PathBuf>,
}

impl Machines {
    fn ns(&self, machine: &str) -> String {
        format!("{}-{machine}", self.prefix)
    }

    fn switch(&self) -> String {
        self.ns("sw")
    }

    fn address(&self, machine: &str) -> String {
        let i = self
            .names
            .iter()
            .position(|m| *m == machine)
            .expect("a machine");
        format!("10.77.0.{}", i + 1)
    }

    /// Makes the namespaces, the bridge between them and their hosts files.
    fn new() -> Machines {
        assert_eq!(
            uid(),
            "0",
            "the multi-host test builds network namespaces and needs root (CI runs as root)"
        );
        let probe = Command::new("ip").arg("netns").arg("list").output();
        assert!(
            matches!(&probe, Ok(o) if o.status.success()),
            "the multi-host test needs `ip netns` (Debian: apt-get install iproute2): {probe:?}"
        );
        let mut names: Vec<&'static str> = VALIDATORS.to_vec();
        names.push(FULL);
        names.push(CLIENT);
        let m = Machines {
            prefix: format!("mbh{}", std::process::id()),
            names,
            nodes: Vec::new(),
            ca_file: None,
        };
        sh(&["ip", "netns", "add", &m.switch()]);
        in_ns(&m.switch(), &["ip", "link", "add", "br0", "type", "bridge"]);
        in_ns(&m.switch(), &["ip", "link", "set", "br0", "up"]);
        let hosts: String = m
            .names
            .iter()
            .map(|n| format!("{} {n}.{DOMAIN}\n", m.address(n)))
            .collect();
        for (i, machine) in m.names.iter().enumerate() {
            let ns = m.ns(machine);
            sh(&["ip", "netns", "add", &ns]);
            let etc = PathBuf::from("/etc/netns").join(&ns);
            fs::create_dir_all(&etc).unwrap();
            fs::write(etc.join("hosts"), format!("127.0.0.1 localhost\n{hosts}")).unwrap();
            // No name server: names come from the hosts file alone.
            fs::write(etc.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
            let port = format!("p{i}");
            in_ns(
                &m.switch(),
                &[
                    "ip", "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                    &ns,
                ],
            );
            in_ns(
                &m.switch(),
                &["ip", "link", "set", &port, "master", "br0", "up"],
            );
            let cidr = format!("{}/24", m.address(machine));
            in_ns(&ns, &["ip", "addr", "add", &cidr, "dev", "eth0"]);
            in_ns(&ns, &["ip", "link", "set", "eth0", "up"]);
            in_ns(&ns, &["ip", "link", "set", "lo", "up"]);
        }
        m
    }

    /// Runs `minhbach ARGS` on `machine`.
    fn minhbach(&self, machine: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(machine), BIN])
            .args(args)
            .output()
            .expect("run minhbach")
    }

    /// Runs `minhbach ARGS` on `machine`; its stdout, or a panic with stderr.
    fn ok(&self, machine: &str, args: &[&str]) -> String {
        let out = self.minhbach(machine, args);
        assert!(
            out.status.success(),
            "{machine}: minhbach {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `minhbach node start` on `machine`, logging to `log`.
    fn start(&mut self, machine: &str, home: &Path, log: &Path) {
        let file = fs::File::create(log).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns(machine),
                BIN,
                "node",
                "start",
                "--home",
            ])
            .arg(home)
            .env("RUST_LOG", "warn,node=info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start a node");
        self.nodes.push((machine.to_owned(), child));
    }

    /// Stops every node with SIGTERM and waits for it.
    fn stop_nodes(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for (name, child) in &mut self.nodes {
            loop {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("{name} did not stop on SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.nodes.clear();
    }

    /// `machine`'s interface up or down.
    fn link(&self, machine: &str, up: bool) {
        let state = if up { "up" } else { "down" };
        in_ns(&self.ns(machine), &["ip", "link", "set", "eth0", state]);
    }

    /// A node's status through its own API, asked on its own machine.
    /// How to reach `machine`'s own API from itself: plain HTTP on loopback,
    /// or HTTPS by its name for the full node.
    fn own_api(&self, machine: &str) -> Vec<String> {
        match (&self.ca_file, machine == FULL) {
            (Some(ca), true) => vec![
                "--node".into(),
                format!("https://{}:{API_PORT}", host(machine)),
                "--ca-file".into(),
                ca.display().to_string(),
            ],
            _ => vec!["--node".into(), format!("http://127.0.0.1:{API_PORT}")],
        }
    }

    fn status(&self, machine: &str) -> Option<Value> {
        let mut args = self.own_api(machine);
        args.extend(["--output", "json", "query", "status"].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.minhbach(machine, &args);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    fn height(&self, machine: &str) -> u64 {
        self.status(machine)
            .and_then(|s| s["height"].as_u64())
            .unwrap_or(0)
    }

    /// The hash of block `h` on `machine`.
    fn block_hash(&self, machine: &str, h: u64) -> String {
        let mut args = self.own_api(machine);
        args.extend(["--output", "json", "query", "block"].map(String::from));
        args.push(h.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.ok(machine, &args);
        let block: Value = serde_json::from_str(&out).unwrap();
        block["hash"].as_str().expect("a block hash").to_owned()
    }

    /// Waits until `machine` is at height `h` or more.
    fn wait_height(&self, machine: &str, h: u64) {
        let deadline = Instant::now() + WAIT;
        while self.height(machine) < h {
            assert!(
                Instant::now() < deadline,
                "{machine} did not reach height {h} in {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Machines {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        for machine in self.names.clone() {
            let ns = self.ns(machine);
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
            let _ = fs::remove_dir_all(PathBuf::from("/etc/netns").join(&ns));
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.switch()])
            .status();
    }
}

fn uid() -> String {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn in_ns(ns: &str, args: &[&str]) {
    let mut all = vec!["ip", "netns", "exec", ns];
    all.extend_from_slice(args);
    sh(&all);
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn host(machine: &str) -> String {
    format!("{machine}.{DOMAIN}")
}

#[test]
fn five_machines_by_name_one_ceremony_one_chain_through_a_partition() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut m = Machines::new();

    // Each node's operator makes its home on its own machine.
    let home = |machine: &str| root.join(machine).join("home");
    let mut joins = Vec::new();
    for machine in VALIDATORS.iter().chain([&FULL]) {
        let role = if *machine == FULL {
            "full"
        } else {
            "validator"
        };
        let external = format!("/dns4/{}/tcp/{P2P_PORT}", host(machine));
        let listen = format!("/ip4/0.0.0.0/tcp/{P2P_PORT}");
        let api = if *machine == FULL {
            format!("0.0.0.0:{API_PORT}")
        } else {
            format!("127.0.0.1:{API_PORT}")
        };
        let machine_home = home(machine);
        let mut args = vec![
            "init",
            "--home",
            s(&machine_home),
            "--role",
            role,
            "--name",
            machine,
            "--p2p-listen",
            &listen,
            "--p2p-external",
            &external,
            "--api",
            &api,
        ];
        let explorer = format!("0.0.0.0:{EXPLORER_PORT}");
        if *machine == FULL {
            args.extend(["--explorer", &explorer]);
        }
        let join = m.ok(machine, &args);
        let path = root.join(format!("{machine}.join.json"));
        fs::write(&path, join).unwrap();
        joins.push((machine.to_string(), path));
    }

    // The entities make their keys; only public keys reach the coordinator.
    let keys = root.join(CLIENT).join("keys");
    fs::create_dir_all(&keys).unwrap();
    let mut public = std::collections::BTreeMap::new();
    for entity in ["BTC", "BYT", "BYT-BVBM", "V-0001"] {
        let file = keys.join(format!("{entity}.json"));
        m.ok(CLIENT, &["keys", "new", "--out", s(&file)]);
        public.insert(entity, read_key_file(&file).unwrap().public_key().to_hex());
    }

    // The ceremony, from the join requests and public keys alone.
    let genesis = root.join(CLIENT).join("genesis.json");
    m.ok(
        CLIENT,
        &[
            "genesis",
            "new",
            "--chain-id",
            "minhbach-multihost",
            "--treasury-id",
            "BTC",
            "--treasury-name",
            "Bộ Tài chính",
            "--treasury-public-key",
            &public["BTC"],
            "--out",
            s(&genesis),
        ],
    );
    for (id, kind, name) in [
        ("BYT", "ministry", "Bộ Y tế"),
        ("V-0001", "vendor", "Công ty Sông Hồng"),
    ] {
        m.ok(
            CLIENT,
            &[
                "genesis",
                "add-entity",
                s(&genesis),
                "--id",
                id,
                "--kind",
                kind,
                "--name",
                name,
                "--public-key",
                &public[id],
            ],
        );
    }
    for (machine, join) in &joins {
        if machine == FULL {
            m.ok(
                CLIENT,
                &[
                    "genesis",
                    "add-node",
                    s(&genesis),
                    "--join",
                    s(join),
                    "--entity",
                    "BTC",
                ],
            );
        } else {
            m.ok(
                CLIENT,
                &["genesis", "add-validator", s(&genesis), "--join", s(join)],
            );
        }
    }
    let hash = m.ok(CLIENT, &["genesis", "finalize", s(&genesis)]);
    let hash = hash.trim().to_owned();

    // The full node serves its API and explorer over HTTPS, with a
    // certificate for its name from a CA the client trusts.
    let ca = testkit::tls::TestCa::new("Bộ Tài chính test CA");
    let ca_file = root.join(CLIENT).join("ca.pem");
    fs::write(&ca_file, ca.pem()).unwrap();
    m.ca_file = Some(ca_file.clone());
    let tls_dir = home(FULL).join("tls");
    fs::create_dir_all(&tls_dir).unwrap();
    ca.leaf_for(&[&host(FULL)])
        .write(&tls_dir.join("node.crt"), &tls_dir.join("node.key"));
    let tls = node::config::TlsSection {
        cert: "tls/node.crt".into(),
        key: "tls/node.key".into(),
    };

    // Every operator copies the genesis in, pins its hash, names its peers.
    let peer_ids: Vec<(String, String)> = joins
        .iter()
        .map(|(machine, join)| {
            let v: Value = serde_json::from_str(&fs::read_to_string(join).unwrap()).unwrap();
            (machine.clone(), v["peer_id"].as_str().unwrap().to_owned())
        })
        .collect();
    for (machine, _) in &joins {
        let h = home(machine);
        fs::copy(&genesis, h.join("genesis.json")).unwrap();
        let path = h.join("config.toml");
        let mut config = Config::load(&path).unwrap();
        config.node.genesis_hash = Some(ledger::Hash::from_hex(&hash).unwrap());
        config.p2p.peers = peer_ids
            .iter()
            .filter(|(other, _)| other != machine)
            .map(|(other, id)| format!("/dns4/{}/tcp/{P2P_PORT}/p2p/{id}", host(other)))
            .collect();
        if machine == FULL {
            config.api.tls = Some(tls.clone());
            config.explorer.tls = Some(tls.clone());
        }
        config.consensus.timeout_propose_ms = 1000;
        config.consensus.block_interval_ms = 200;
        config.save(&path).unwrap();
    }

    // Every private key is in exactly one place.
    let mut seen = BTreeSet::new();
    let mut key_files = Vec::new();
    for (machine, _) in &joins {
        key_files.push(home(machine).join("node_key"));
        let validator_key = home(machine).join("validator_key");
        assert_eq!(validator_key.exists(), machine != FULL, "{machine}");
        if machine != FULL {
            key_files.push(validator_key);
        }
    }
    key_files.extend(["BTC", "BYT", "BYT-BVBM", "V-0001"].map(|e| keys.join(format!("{e}.json"))));
    for file in &key_files {
        let key = read_key_file(file).unwrap().public_key();
        assert!(
            seen.insert(key),
            "{} holds a key found elsewhere",
            file.display()
        );
    }
    for (machine, _) in &joins {
        for f in fs::read_dir(home(machine)).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            assert!(
                [
                    "node_key",
                    "validator_key",
                    "config.toml",
                    "genesis.json",
                    "join.json",
                    "tls"
                ]
                .contains(&name.as_str()),
                "{machine}'s home holds {name}"
            );
        }
    }

    // Start every node on its own machine.
    for (machine, _) in &joins {
        let log = root.join(format!("{machine}.log"));
        m.start(machine, &home(machine), &log);
    }
    for machine in VALIDATORS.iter().chain([&FULL]) {
        m.wait_height(machine, 1);
    }

    // From the client's machine, through the full node over HTTPS, naming
    // the chain by its genesis: register a department, fund it, award and
    // pay a vendor.
    let node = format!("https://{}:{API_PORT}", host(FULL));
    let ca_arg = s(&ca_file);
    let key = |e: &str| keys.join(format!("{e}.json")).to_str().unwrap().to_owned();
    let tx = |args: &[&str]| -> Value {
        let mut all = vec![
            "--node",
            &node,
            "--ca-file",
            ca_arg,
            "--genesis",
            s(&genesis),
            "--output",
            "json",
            "tx",
        ];
        all.extend_from_slice(args);
        all.extend(["--wait", "--timeout", "60"]);
        serde_json::from_str(&m.ok(CLIENT, &all)).unwrap()
    };
    let (btc, byt, bvbm) = (key("BTC"), key("BYT"), key("BYT-BVBM"));
    tx(&[
        "register-entity",
        "--key",
        &btc,
        "--signer",
        "BTC",
        "--id",
        "BYT-BVBM",
        "--kind",
        "department",
        "--name",
        "Bệnh viện Bạch Mai",
        "--parent",
        "BYT",
        "--public-key",
        &public["BYT-BVBM"],
    ]);
    tx(&[
        "appropriate",
        "--key",
        &btc,
        "--signer",
        "BTC",
        "--year",
        "2027",
        "--line",
        "YTE.DTPT",
        "--to",
        "BYT",
        "--amount",
        "5000000000",
        "--legal-ref",
        "NQ 01/2027",
    ]);
    tx(&[
        "allocate",
        "--key",
        &byt,
        "--signer",
        "BYT",
        "--year",
        "2027",
        "--line",
        "YTE.DTPT",
        "--to",
        "BYT-BVBM",
        "--amount",
        "3000000000",
    ]);
    tx(&[
        "award",
        "--key",
        &bvbm,
        "--signer",
        "BYT-BVBM",
        "--contract",
        "C-1",
        "--year",
        "2027",
        "--line",
        "YTE.DTPT",
        "--vendor",
        "V-0001",
        "--amount",
        "1200000000",
        "--title",
        "Máy chụp cộng hưởng từ",
    ]);
    let paid = tx(&[
        "pay",
        "--key",
        &bvbm,
        "--signer",
        "BYT-BVBM",
        "--contract",
        "C-1",
        "--amount",
        "400000000",
        "--reference",
        "HĐ-07/2027",
    ]);
    let pay_hash = paid["hash"].as_str().expect("a hash").to_owned();
    let read = m.ok(
        CLIENT,
        &[
            "--node",
            &node,
            "--ca-file",
            ca_arg,
            "--output",
            "json",
            "query",
            "tx",
            &pay_hash,
        ],
    );
    let read: Value = serde_json::from_str(&read).unwrap();
    assert_eq!(read["status"], "committed", "{read}");
    // A reader of the public explorer, over HTTPS, sees it too.
    let explorer = format!("https://{}:{EXPLORER_PORT}", host(FULL));
    let contract = m.ok(
        CLIENT,
        &[
            "--node",
            &explorer,
            "--ca-file",
            ca_arg,
            "--output",
            "json",
            "query",
            "contract",
            "C-1",
        ],
    );
    let contract: Value = serde_json::from_str(&contract).unwrap();
    assert_eq!(contract["paid"], "400000000", "{contract}");
    // Without the CA, the client does not take the node's word for who it is.
    let untrusted = m.minhbach(CLIENT, &["--node", &explorer, "query", "status"]);
    assert!(
        !untrusted.status.success(),
        "an untrusted certificate was accepted"
    );

    // v4's machine drops off the network: the other three go on.
    m.link("v4", false);
    let cut_at = m.height("v1");
    tx(&[
        "pay",
        "--key",
        &bvbm,
        "--signer",
        "BYT-BVBM",
        "--contract",
        "C-1",
        "--amount",
        "1000",
        "--reference",
        "during the cut",
    ]);
    for v in ["v1", "v2", "v3"] {
        m.wait_height(v, cut_at + 2);
    }
    let target = m.height("v1");
    assert!(m.height("v4") < target, "v4 kept up while cut off");

    // It comes back: it catches up on the same chain.
    m.link("v4", true);
    m.wait_height("v4", target);
    assert_eq!(m.block_hash("v4", target), m.block_hash("v1", target));

    // Every home's chain verifies offline.
    m.stop_nodes();
    for (machine, _) in &joins {
        m.ok(machine, &["verify", "chain", "--home", s(&home(machine))]);
    }
}
