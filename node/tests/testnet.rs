//! Generating a local network: every file is where a node looks for it, keys
//! are private and match the genesis, each node dials every other node and
//! only them, ports never collide, and full nodes are allowed in by genesis.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use genesis::{Currency, EntityTemplate, Genesis};
use ledger::crypto::read_key_file;
use ledger::tx::EntityKind;
use ledger::{EntityId, PeerId};
use node::config::Config;
use node::testnet::{
    generate, generate_with, Explorers, NetworkPlan, Ports, Role, TestnetError, TestnetSpec,
};

fn template(id: &str, kind: EntityKind, name: &str, parent: Option<&str>) -> EntityTemplate {
    EntityTemplate {
        id: EntityId::new(id).unwrap(),
        kind,
        name: name.into(),
        parent: parent.map(|p| EntityId::new(p).unwrap()),
    }
}

fn spec(validators: usize, full_nodes: usize, ports: Ports) -> TestnetSpec {
    TestnetSpec {
        chain_id: "minhbach-testnet".into(),
        genesis_time_ms: ledger::testkit::GENESIS_TIME_MS,
        currency: Currency::default(),
        validators,
        full_nodes,
        entities: vec![
            template("BTC", EntityKind::Treasury, "Bộ Tài chính", None),
            template("BYT", EntityKind::Ministry, "Bộ Y tế", None),
            template(
                "BYT-BVBM",
                EntityKind::Department,
                "Bệnh viện Bạch Mai",
                Some("BYT"),
            ),
            template(
                "V-0001",
                EntityKind::Vendor,
                "Công ty TNHH Thiết bị Y tế Sông Hồng",
                None,
            ),
        ],
        ports,
        explorers: Explorers::FullNodes,
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The port at the end of `/ip4/127.0.0.1/tcp/PORT`.
fn tcp_port(multiaddr: &str) -> u16 {
    let parts: Vec<&str> = multiaddr.split('/').collect();
    assert_eq!(&parts[..4], ["", "ip4", "127.0.0.1", "tcp"], "{multiaddr}");
    parts[4].parse().unwrap()
}

#[test]
fn a_generated_network_has_every_file_with_private_keys_and_one_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let plan = generate(&spec(3, 2, Ports::Free), &out).unwrap();

    assert_eq!(plan.nodes.len(), 5);
    let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "validator-0",
            "validator-1",
            "validator-2",
            "full-0",
            "full-1"
        ]
    );
    let genesis = Genesis::load(&out.join("genesis.json")).unwrap();
    assert_eq!(genesis.chain_id, "minhbach-testnet");
    assert_eq!(genesis.genesis_time_ms, ledger::testkit::GENESIS_TIME_MS);
    assert_eq!(genesis.validators.len(), 3);

    for node in &plan.nodes {
        let home = node.home();
        assert_eq!(home.root(), out.canonicalize().unwrap().join(&node.name));
        // Each home holds the same genesis, byte for byte.
        assert_eq!(
            std::fs::read(home.genesis_path()).unwrap(),
            std::fs::read(out.join("genesis.json")).unwrap()
        );
        assert_eq!(home.genesis().unwrap(), genesis);
        assert_eq!(mode(&home.node_key_path()), 0o600);
        let node_key = read_key_file(&home.node_key_path()).unwrap();
        assert_eq!(
            PeerId::from_ed25519(&node_key.public_key()).unwrap(),
            node.peer_id
        );
        let config = Config::load(&home.config_path()).unwrap();
        assert_eq!(config.node.name, node.name);
        assert_eq!(config.p2p.listen, node.p2p);
        assert_eq!(config.api.listen, node.api);
        assert_eq!(config.explorer.listen, node.explorer);
        match node.role {
            Role::Validator => {
                assert_eq!(mode(&home.validator_key_path()), 0o600);
                let key = read_key_file(&home.validator_key_path()).unwrap();
                let v = genesis
                    .validators
                    .iter()
                    .find(|v| v.name == node.name)
                    .expect("each validator is in genesis");
                assert_eq!(v.consensus_key, key.public_key());
                assert_eq!(v.peer_id, node.peer_id);
                assert!(v.power > 0);
                assert_eq!(node.explorer, None, "only full nodes serve the explorer");
            }
            Role::FullNode => {
                assert!(!home.validator_key_path().exists());
                assert!(node.explorer.is_some());
                assert!(genesis.validators.iter().all(|v| v.peer_id != node.peer_id));
            }
        }
    }

    // Full nodes, and only they, are allowed in through genesis `nodes`,
    // operated by the treasury.
    let full: BTreeSet<&PeerId> = plan
        .nodes
        .iter()
        .filter(|n| n.role == Role::FullNode)
        .map(|n| &n.peer_id)
        .collect();
    let registered: BTreeSet<&PeerId> = genesis.nodes.iter().map(|n| &n.peer_id).collect();
    assert_eq!(registered, full);
    assert!(genesis.nodes.iter().all(|n| n.operator.as_str() == "BTC"));

    // Every entity's key is private and is the one genesis holds.
    assert_eq!(plan.entities.len(), 4);
    for (e, g) in plan.entities.iter().zip(&genesis.entities) {
        assert_eq!(e.id, g.id);
        assert_eq!(
            e.key_file,
            out.canonicalize()
                .unwrap()
                .join("keys")
                .join(format!("{}.json", e.id))
        );
        assert_eq!(mode(&e.key_file), 0o600);
        assert_eq!(
            vec![read_key_file(&e.key_file).unwrap().public_key()],
            g.keys
        );
        assert_eq!(g.threshold, 1);
    }
    assert_eq!(genesis.entities[2].name, "Bệnh viện Bạch Mai");
    assert_eq!(genesis.entities[2].parent.as_ref().unwrap().as_str(), "BYT");

    // The plan reads back as written.
    let path = dir.path().join("plan.json");
    plan.save(&path).unwrap();
    assert_eq!(NetworkPlan::load(&path).unwrap(), plan);
}

#[test]
fn each_node_dials_every_other_node_and_not_itself_on_distinct_ports() {
    let dir = tempfile::tempdir().unwrap();
    let plan = generate(&spec(4, 1, Ports::Free), dir.path()).unwrap();
    let mut ports = BTreeSet::new();
    for node in &plan.nodes {
        let config = Config::load(&node.home().config_path()).unwrap();
        let expected: BTreeSet<String> = plan
            .nodes
            .iter()
            .filter(|other| other.name != node.name)
            .map(|other| format!("{}/p2p/{}", other.p2p, other.peer_id))
            .collect();
        let peers: BTreeSet<String> = config.p2p.peers.iter().cloned().collect();
        assert_eq!(peers.len(), config.p2p.peers.len(), "no peer twice");
        assert_eq!(peers, expected, "{}", node.name);
        assert!(
            config
                .p2p
                .peers
                .iter()
                .all(|p| !p.ends_with(&node.peer_id.to_string())),
            "{} dials itself",
            node.name
        );
        assert!(ports.insert(tcp_port(&node.p2p)));
        assert!(ports.insert(node.api.port()));
        if let Some(e) = node.explorer {
            assert!(ports.insert(e.port()));
        }
        assert!(node.api.ip().is_loopback());
    }
    assert_eq!(ports.len(), 5 * 2 + 1);
}

#[test]
fn a_base_port_gives_each_node_ten_ports_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(2, 1, Ports::Base(36_000));
    s.explorers = Explorers::Every;
    let plan = generate(&s, dir.path()).unwrap();
    let got: Vec<(u16, u16, u16)> = plan
        .nodes
        .iter()
        .map(|n| (tcp_port(&n.p2p), n.api.port(), n.explorer.unwrap().port()))
        .collect();
    assert_eq!(
        got,
        [
            (36_000, 36_001, 36_002),
            (36_010, 36_011, 36_012),
            (36_020, 36_021, 36_022)
        ]
    );
    assert_eq!(
        plan.explorer_node().unwrap().explorer_url().unwrap(),
        "http://127.0.0.1:36002/"
    );
    assert_eq!(plan.nodes[1].api_url(), "http://127.0.0.1:36011");
}

#[test]
fn the_configure_hook_changes_each_config_before_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let plan = generate_with(&spec(2, 0, Ports::Free), dir.path(), |node, config| {
        config.consensus.block_interval_ms = 20;
        if node.role == Role::Validator {
            config.consensus.timeout_propose_ms = 300;
        }
    })
    .unwrap();
    for node in &plan.nodes {
        let config = Config::load(&node.home().config_path()).unwrap();
        assert_eq!(config.consensus.block_interval_ms, 20);
        assert_eq!(config.consensus.timeout_propose_ms, 300);
        // What the hook did not touch keeps its generated value.
        assert_eq!(config.api.listen, node.api);
    }
}

#[test]
fn impossible_requests_and_existing_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    generate(&spec(1, 0, Ports::Free), &out).unwrap();
    let err = generate(&spec(1, 0, Ports::Free), &out).unwrap_err();
    assert!(matches!(err, TestnetError::NotEmpty(_)), "{err}");

    let fresh = dir.path().join("fresh");
    let err = generate(&spec(0, 1, Ports::Free), &fresh).unwrap_err();
    assert!(err.to_string().contains("at least one validator"), "{err}");
    let err = generate(&spec(4, 0, Ports::Base(65_520)), &fresh).unwrap_err();
    assert!(err.to_string().contains("base port 65520"), "{err}");
    let mut no_treasury = spec(1, 0, Ports::Free);
    no_treasury.entities.remove(0);
    let err = generate(&no_treasury, &fresh).unwrap_err();
    assert!(err.to_string().contains("no treasury"), "{err}");
    // Nothing was written for the refused requests.
    assert!(!fresh.exists());

    let mut orphan = spec(1, 0, Ports::Free);
    orphan.entities[2].parent = Some(EntityId::new("BGDDT").unwrap());
    let err = generate(&orphan, &fresh).unwrap_err();
    assert!(matches!(err, TestnetError::Genesis(_)), "{err}");
    assert!(!fresh.exists());
}
