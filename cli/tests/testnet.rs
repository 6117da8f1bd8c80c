//! `minhbach testnet`: writes a network that `node start` can use, prints
//! it, and refuses to overwrite one.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use genesis::Genesis;
use node::config::Config;
use node::testnet::{NetworkPlan, Role};

fn minhbach(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .args(args)
        .output()
        .expect("run minhbach")
}

#[test]
fn testnet_writes_homes_genesis_and_keys_and_prints_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let o = out.to_str().unwrap();
    let run = minhbach(&[
        "testnet",
        "--validators",
        "3",
        "--full-nodes",
        "1",
        "--out",
        o,
        "--base-port",
        "41000",
        "--output",
        "json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed: NetworkPlan = serde_json::from_slice(&run.stdout).unwrap();
    let saved = NetworkPlan::load(&out.join("testnet.json")).unwrap();
    assert_eq!(printed, saved);
    assert_eq!(saved.chain_id, "minhbach-testnet");

    let roles: Vec<Role> = saved.nodes.iter().map(|n| n.role).collect();
    assert_eq!(
        roles,
        [
            Role::Validator,
            Role::Validator,
            Role::Validator,
            Role::FullNode
        ]
    );
    let genesis = Genesis::load(&out.join("genesis.json")).unwrap();
    assert_eq!(genesis.validators.len(), 3);
    assert_eq!(genesis.nodes.len(), 1);
    assert_eq!(genesis.treasury().as_str(), "BTC");
    assert!(genesis
        .entities
        .iter()
        .any(|e| e.name == "Bệnh viện Bạch Mai"));
    for (i, n) in saved.nodes.iter().enumerate() {
        let config = Config::load(&n.home.join("config.toml")).unwrap();
        let base = 41_000 + 10 * i as u16;
        assert_eq!(config.p2p.listen, format!("/ip4/127.0.0.1/tcp/{base}"));
        assert_eq!(config.api.listen.port(), base + 1);
        assert_eq!(config.explorer.listen.map(|a| a.port()), Some(base + 2));
        assert_eq!(config.p2p.peers.len(), 3);
        let mode = std::fs::metadata(n.home.join("node_key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for e in &saved.entities {
        let mode = std::fs::metadata(&e.key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", e.key_file.display());
    }

    // The table names every node; a second run refuses the same folder.
    let again = minhbach(&["testnet", "--validators", "1", "--out", o]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let fresh = dir.path().join("table");
    let table = minhbach(&[
        "testnet",
        "--validators",
        "2",
        "--out",
        fresh.to_str().unwrap(),
    ]);
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("validator-0") && text.contains("validator-1"),
        "{text}"
    );
}

#[test]
fn testnet_refuses_impossible_counts_as_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("net");
    let run = minhbach(&["testnet", "--validators", "0", "--out", o.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(!o.exists());
}
