//! `minhbach init` and the genesis ceremony, run as an operator runs them:
//! each node's home made on its own, the genesis built from the join
//! requests and public keys only, every refusal an exit 2 that names the
//! field and writes nothing, and a node that refuses a genesis its config
//! does not pin.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use genesis::Genesis;
use ledger::crypto::read_key_file;
use ledger::tx::EntityKind;
use node::config::Config;

fn minhbach(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .args(args)
        .output()
        .expect("run minhbach")
}

fn ok(args: &[&str]) -> String {
    let out = minhbach(args);
    assert!(
        out.status.success(),
        "minhbach {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Exit 2, and stderr naming `what`.
fn refused(args: &[&str], what: &str) {
    let out = minhbach(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "minhbach {args:?}: {stderr}");
    assert!(stderr.contains(what), "{what:?} not in: {stderr}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `minhbach init` of one node; its join request file.
fn init(dir: &Path, name: &str, role: &str, host: &str) -> PathBuf {
    let home = dir.join(name);
    let external = format!("/dns4/{host}/tcp/26656");
    let json = ok(&[
        "init",
        "--home",
        s(&home),
        "--role",
        role,
        "--name",
        name,
        "--p2p-listen",
        "/ip4/0.0.0.0/tcp/26656",
        "--p2p-external",
        &external,
    ]);
    let printed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(printed["name"], name);
    assert_eq!(printed["role"], role);
    assert_eq!(printed["addresses"][0], external.as_str());
    let join = home.join("join.json");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&join).unwrap()).unwrap();
    assert_eq!(written, printed);
    join
}

fn public_key(dir: &Path, entity: &str) -> String {
    let file = dir.join(format!("{entity}.key"));
    ok(&["keys", "new", "--out", s(&file)]);
    read_key_file(&file).unwrap().public_key().to_hex()
}

#[test]
fn a_ceremony_from_join_requests_gives_each_home_its_own_keys_and_one_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let joins: Vec<PathBuf> = (1..=3)
        .map(|i| {
            init(
                d,
                &format!("v{i}"),
                "validator",
                &format!("v{i}.bo-tai-chinh.test"),
            )
        })
        .collect();
    let full = init(d, "explorer", "full", "explorer.bo-tai-chinh.test");

    // Each home holds its own node key, a validator key only for validators,
    // mode 0600, and no key is in two homes.
    let mut seen = std::collections::BTreeSet::new();
    for name in ["v1", "v2", "v3", "explorer"] {
        let home = d.join(name);
        for (file, present) in [("node_key", true), ("validator_key", name != "explorer")] {
            let path = home.join(file);
            assert_eq!(path.exists(), present, "{}", path.display());
            if present {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
                let key = read_key_file(&path).unwrap().public_key();
                assert!(seen.insert(key), "a key is in two homes");
            }
        }
        let config = Config::load(&home.join("config.toml")).unwrap();
        assert_eq!(config.node.name, name);
        let text = std::fs::read_to_string(home.join("config.toml")).unwrap();
        assert!(text.starts_with("# "), "the config is commented");
    }

    let draft = d.join("genesis.json");
    let btc = public_key(d, "BTC");
    ok(&[
        "genesis",
        "new",
        "--chain-id",
        "minhbach-ceremony",
        "--treasury-id",
        "BTC",
        "--treasury-name",
        "Bộ Tài chính",
        "--treasury-public-key",
        &btc,
        "--out",
        s(&draft),
    ]);
    let byt = public_key(d, "BYT");
    let bvbm = public_key(d, "BYT-BVBM");
    for (id, kind, name, parent, key) in [
        ("BYT", "ministry", "Bộ Y tế", None, &byt),
        (
            "BYT-BVBM",
            "department",
            "Bệnh viện Bạch Mai",
            Some("BYT"),
            &bvbm,
        ),
    ] {
        let mut args = vec![
            "genesis",
            "add-entity",
            s(&draft),
            "--id",
            id,
            "--kind",
            kind,
            "--name",
            name,
            "--public-key",
            key,
        ];
        if let Some(p) = parent {
            args.extend(["--parent", p]);
        }
        ok(&args);
    }
    for join in &joins {
        ok(&["genesis", "add-validator", s(&draft), "--join", s(join)]);
    }
    ok(&[
        "genesis",
        "add-node",
        s(&draft),
        "--join",
        s(&full),
        "--entity",
        "BTC",
    ]);
    let shown = ok(&["genesis", "show", s(&draft)]);
    assert!(shown.contains("draft"), "{shown}");
    assert!(shown.contains("validators 3"), "{shown}");

    let hash = ok(&[
        "genesis",
        "finalize",
        s(&draft),
        "--time",
        "2027-01-01T00:00:00Z",
    ]);
    let genesis = Genesis::load(&draft).unwrap();
    assert_eq!(hash.trim(), genesis.hash().to_hex());
    // The genesis holds exactly what the join requests and keys said.
    let names: Vec<&str> = genesis.validators.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["v1", "v2", "v3"]);
    for (v, name) in genesis.validators.iter().zip(["v1", "v2", "v3"]) {
        let key = read_key_file(&d.join(name).join("validator_key"))
            .unwrap()
            .public_key();
        assert_eq!(v.consensus_key, key);
    }
    assert_eq!(genesis.nodes.len(), 1);
    assert_eq!(genesis.nodes[0].operator.as_str(), "BTC");
    let kinds: Vec<EntityKind> = genesis.entities.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntityKind::Treasury,
            EntityKind::Ministry,
            EntityKind::Department
        ]
    );
    assert_eq!(genesis.entities[0].keys.len(), 1);
    assert_eq!(genesis.entities[0].keys[0].to_hex(), btc);
    assert_eq!(genesis.entities[0].threshold, 1);
    let shown = ok(&["genesis", "show", s(&draft)]);
    assert!(shown.contains(hash.trim()), "{shown}");
    // A final genesis is not changed any more.
    refused(
        &[
            "genesis",
            "add-validator",
            s(&draft),
            "--join",
            s(&joins[0]),
        ],
        "final",
    );
}

#[test]
fn each_bad_step_exits_2_naming_the_field_and_leaves_the_draft_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let draft = d.join("genesis.json");
    let btc = public_key(d, "BTC");
    ok(&[
        "genesis",
        "new",
        "--chain-id",
        "minhbach-bad",
        "--treasury-id",
        "BTC",
        "--treasury-name",
        "Bộ Tài chính",
        "--treasury-public-key",
        &btc,
        "--out",
        s(&draft),
    ]);
    let join = init(d, "v1", "validator", "v1.example");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&join).unwrap()).unwrap();
    let before = std::fs::read(&draft).unwrap();

    let variant = |name: &str, change: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        change(&mut v);
        let path = d.join(format!("{name}.json"));
        std::fs::write(&path, v.to_string()).unwrap();
        path
    };
    let bad_peer = variant("bad-peer", &|v| v["peer_id"] = "12D3KooWnot".into());
    let bad_key = variant("bad-key", &|v| v["validator_key"] = "00".repeat(32).into());
    let loopback = variant("loopback", &|v| {
        v["addresses"] = serde_json::json!(["/ip4/127.0.0.1/tcp/26656"])
    });
    let full = variant("full", &|v| {
        v["role"] = "full".into();
        v.as_object_mut().unwrap().remove("validator_key");
    });
    for (path, field) in [
        (&bad_peer, "peer"),
        (&bad_key, "join.validator_key"),
        (&loopback, "join.addresses[0]"),
        (&full, "join.role"),
    ] {
        refused(
            &["genesis", "add-validator", s(&draft), "--join", s(path)],
            field,
        );
        assert_eq!(std::fs::read(&draft).unwrap(), before, "{field}");
    }
    // A department with no ministry, a duplicate id, a second treasury.
    let key = public_key(d, "X");
    refused(
        &[
            "genesis",
            "add-entity",
            s(&draft),
            "--id",
            "BYT-BVBM",
            "--kind",
            "department",
            "--name",
            "Bạch Mai",
            "--public-key",
            &key,
        ],
        "parent",
    );
    refused(
        &[
            "genesis",
            "add-entity",
            s(&draft),
            "--id",
            "BTC",
            "--kind",
            "ministry",
            "--name",
            "again",
            "--public-key",
            &key,
        ],
        "already",
    );
    assert_eq!(std::fs::read(&draft).unwrap(), before);
    // No validator yet: the draft cannot be final.
    refused(&["genesis", "finalize", s(&draft)], "validators");
    assert_eq!(std::fs::read(&draft).unwrap(), before);
    // init refuses a loopback external address and an existing home.
    refused(
        &[
            "init",
            "--home",
            s(&d.join("lo")),
            "--role",
            "full",
            "--name",
            "lo",
            "--p2p-listen",
            "/ip4/0.0.0.0/tcp/1",
            "--p2p-external",
            "/ip4/127.0.0.1/tcp/1",
        ],
        "--p2p-external",
    );
    assert!(!d.join("lo").join("node_key").exists());
    refused(
        &[
            "init",
            "--home",
            s(&d.join("v1")),
            "--role",
            "full",
            "--name",
            "v1",
            "--p2p-listen",
            "/ip4/0.0.0.0/tcp/1",
            "--p2p-external",
            "/dns4/v1.example/tcp/1",
        ],
        "already exists",
    );
}

#[test]
fn entities_of_several_keys_control_rules_and_the_rotation_delay_go_into_the_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let draft = d.join("genesis.json");
    let officials: Vec<String> = (1..=3).map(|i| public_key(d, &format!("BTC{i}"))).collect();
    ok(&[
        "genesis",
        "new",
        "--chain-id",
        "minhbach-gov",
        "--treasury-id",
        "BTC",
        "--treasury-name",
        "Bộ Tài chính",
        "--treasury-public-key",
        &officials[0],
        "--treasury-public-key",
        &officials[1],
        "--treasury-public-key",
        &officials[2],
        "--treasury-threshold",
        "2",
        "--out",
        s(&draft),
    ]);
    let byt = public_key(d, "BYT");
    let kbnn: Vec<String> = (1..=2)
        .map(|i| public_key(d, &format!("KBNN{i}")))
        .collect();
    let add = |id: &str, kind: &str, keys: &[&str], threshold: &str| -> Vec<String> {
        let mut args: Vec<String> = [
            "genesis",
            "add-entity",
            s(&draft),
            "--id",
            id,
            "--kind",
            kind,
            "--name",
            id,
        ]
        .map(str::to_owned)
        .to_vec();
        for k in keys {
            args.extend(["--public-key".to_owned(), k.to_string()]);
        }
        args.extend(["--threshold".to_owned(), threshold.to_owned()]);
        args
    };
    let run = |args: Vec<String>| ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    run(add("BYT", "ministry", &[&byt], "1"));
    run(add("KBNN", "controller", &[&kbnn[0], &kbnn[1]], "2"));

    // Refusals name the flags and leave the draft as it was.
    let before = std::fs::read(&draft).unwrap();
    let args = add("BYT2", "ministry", &[&byt, &kbnn[0]], "3");
    let out = minhbach(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--threshold") && stderr.contains("threshold 3"),
        "{stderr}"
    );
    refused(
        &[
            "genesis",
            "add-control",
            s(&draft),
            "--ministry",
            "BYT",
            "--amount",
            "50.000.000.000",
            "--controller",
            "BYT",
        ],
        "not a genesis controller",
    );
    refused(
        &[
            "genesis",
            "add-control",
            s(&draft),
            "--amount",
            "0",
            "--controller",
            "KBNN",
        ],
        "more than zero",
    );
    assert_eq!(std::fs::read(&draft).unwrap(), before);

    ok(&[
        "genesis",
        "add-control",
        s(&draft),
        "--ministry",
        "BYT",
        "--amount",
        "50.000.000.000",
        "--controller",
        "KBNN",
    ]);
    ok(&[
        "genesis",
        "add-control",
        s(&draft),
        "--amount",
        "100,000,000,000",
        "--controller",
        "KBNN",
    ]);
    ok(&["genesis", "set-rotation-delay", s(&draft), "--blocks", "7"]);
    let shown = ok(&["genesis", "show", s(&draft)]);
    for line in [
        "  treasury BTC  \"Bộ Tài chính\"  2 of 3 keys",
        "  controller KBNN  \"KBNN\"  2 of 2 keys",
        "rotation delay 7 blocks",
        "control rules 2",
        "  BYT: KBNN co-signs from 50,000,000,000 đồng",
        "  all ministries: KBNN co-signs from 100,000,000,000 đồng",
    ] {
        assert!(
            shown.lines().any(|l| l == line),
            "{line:?} not in:\n{shown}"
        );
    }

    let text = std::fs::read_to_string(&draft).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut treasury_keys: Vec<&str> = value["entities"][0]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    treasury_keys.sort();
    let mut expected: Vec<&str> = officials.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(treasury_keys, expected);
    assert_eq!(value["entities"][0]["threshold"], 2);
    assert_eq!(value["rotation_delay"], 7);
    assert_eq!(
        value["control"],
        serde_json::json!([
            {"ministry": "BYT", "amount": "50000000000", "controller": "KBNN"},
            {"ministry": null, "amount": "100000000000", "controller": "KBNN"},
        ])
    );
}

#[test]
fn a_node_refuses_a_genesis_its_config_does_not_pin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    ok(&[
        "testnet",
        "--validators",
        "1",
        "--full-nodes",
        "0",
        "--out",
        s(&out),
    ]);
    let home = out.join("validator-0");
    let config = Config::load(&home.join("config.toml")).unwrap();
    let genesis = Genesis::load(&home.join("genesis.json")).unwrap();
    assert_eq!(
        config.node.genesis_hash,
        Some(genesis.hash()),
        "testnet pins"
    );
    // Another chain's genesis copied in by mistake.
    let mut other = genesis.clone();
    other.chain_id = "minhbach-other".into();
    std::fs::write(home.join("genesis.json"), other.to_json()).unwrap();
    let run = minhbach(&["node", "start", "--home", s(&home)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&genesis.hash().to_hex()), "{stderr}");
    assert!(stderr.contains(&other.hash().to_hex()), "{stderr}");
}
