//! The packaging under `deploy/` kept in step with what `minhbach init`
//! writes, without Docker or systemd: `deploy/compose-init.sh` run with the
//! real binary makes every home of `deploy/compose.yml` (keys, config,
//! genesis, pinned hash, peers by service name), and the compose file, the
//! Dockerfile, the systemd unit and docs/operations.md agree on the home,
//! the ports and the commands.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use genesis::Genesis;
use node::config::Config;

const VALIDATORS: [&str; 4] = ["v1", "v2", "v3", "v4"];
const FULL: &str = "explorer";
/// The home inside the image and under systemd.
const HOME: &str = "/var/lib/minhbach";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn services() -> Vec<&'static str> {
    VALIDATORS.iter().copied().chain([FULL]).collect()
}

/// `sh deploy/compose-init.sh DIR` with `path` as PATH.
fn compose_init(dir: &Path, path: &str) -> Output {
    Command::new("sh")
        .arg(repo().join("deploy/compose-init.sh"))
        .arg(dir)
        .env("PATH", path)
        .env_remove("MINHBACH")
        .env_remove("MINHBACH_CHAIN_ID")
        .output()
        .expect("run sh")
}

/// PATH with the `minhbach` under test first.
fn path_with_minhbach() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_minhbach")).parent().unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

fn peer_id_of(home: &Path) -> String {
    let join: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("join.json")).unwrap()).unwrap();
    join["peer_id"].as_str().unwrap().to_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn compose_init_makes_every_home_by_the_ceremony_with_its_peers_by_service_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("homes");
    let out = compose_init(&dir, &path_with_minhbach());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "compose-init.sh: {stderr}");

    let hash = std::fs::read_to_string(dir.join("ceremony/genesis.hash")).unwrap();
    let hash = hash.trim();
    let genesis = Genesis::load(&dir.join("ceremony/genesis.json")).unwrap();
    assert_eq!(genesis.hash().to_string(), hash);
    let names: Vec<&str> = genesis.validators.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, VALIDATORS);
    assert_eq!(genesis.nodes.len(), 1);
    assert_eq!(
        genesis.nodes[0].peer_id.to_string(),
        peer_id_of(&dir.join(FULL))
    );
    for v in &genesis.validators {
        assert_eq!(v.peer_id.to_string(), peer_id_of(&dir.join(&v.name)));
    }
    for entity in ["BTC", "BYT"] {
        assert_eq!(mode(&dir.join(format!("entities/{entity}.key"))), 0o600);
    }

    for name in services() {
        let home = dir.join(name);
        let validator = name != FULL;
        assert_eq!(mode(&home.join("node_key")), 0o600, "{name}");
        assert_eq!(home.join("validator_key").exists(), validator, "{name}");
        assert_eq!(
            Genesis::load(&home.join("genesis.json")).unwrap().hash(),
            genesis.hash(),
            "{name}"
        );
        let c = Config::load(&home.join("config.toml")).unwrap();
        assert_eq!(c.node.name, name);
        assert_eq!(c.node.genesis_hash, Some(genesis.hash()), "{name}");
        assert_eq!(c.p2p.listen, "/ip4/0.0.0.0/tcp/26656", "{name}");
        assert_eq!(
            c.p2p.external,
            [format!("/dns4/{name}/tcp/26656")],
            "{name}"
        );
        // The API stays inside the container, where the health check asks.
        assert_eq!(c.api.listen.to_string(), "127.0.0.1:8080", "{name}");
        let explorer = c.explorer.listen.map(|a| a.to_string());
        let expected = (!validator).then(|| "0.0.0.0:8081".to_owned());
        assert_eq!(explorer, expected, "{name}");
        // Every other service, by its name, with the peer id of its key.
        let peers: BTreeSet<String> = c.p2p.peers.iter().cloned().collect();
        let others: BTreeSet<String> = services()
            .into_iter()
            .filter(|o| *o != name)
            .map(|o| format!("/dns4/{o}/tcp/26656/p2p/{}", peer_id_of(&dir.join(o))))
            .collect();
        assert_eq!(peers, others, "{name}");
    }

    // Run again, it refuses and leaves every file as it was.
    let key = std::fs::read(dir.join("v1/node_key")).unwrap();
    let out = compose_init(&dir, &path_with_minhbach());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read(dir.join("v1/node_key")).unwrap(), key);
    let again = std::fs::read_to_string(dir.join("ceremony/genesis.hash")).unwrap();
    assert_eq!(again.trim(), hash);
}

#[test]
fn compose_init_without_minhbach_says_where_to_get_it_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("homes");
    let out = compose_init(&dir, "/usr/bin:/bin");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MINHBACH="), "{stderr}");
    assert!(!dir.exists());
}

#[test]
fn the_compose_file_gives_each_service_its_volume_and_publishes_only_the_explorer() {
    let compose = read("deploy/compose.yml");
    for name in services() {
        assert!(
            compose.contains(&format!("\n  {name}:\n")),
            "service {name}"
        );
        assert!(
            compose.contains(&format!("- {name}:{HOME}\n")),
            "{name}'s volume at the home"
        );
        assert!(
            compose.contains(&format!("\n  {name}:\n    <<: *node\n")),
            "{name}"
        );
    }
    // The one-shot service fills the same five volumes from the same homes.
    let list = services().join(" ");
    assert!(compose.contains(&format!("for n in {list}; do")), "homes");
    // One published port: the explorer's, as compose-init.sh configures it.
    assert_eq!(compose.matches("ports:").count(), 1);
    let explorer = &compose[compose.find("\n  explorer:\n").unwrap()..];
    assert!(explorer.contains(":-8081}:8081\""), "{explorer}");
}

#[test]
fn the_image_and_the_unit_run_the_node_on_the_same_home_with_a_health_check_that_exists() {
    let dockerfile = read("deploy/Dockerfile");
    let line = |prefix: &str| {
        dockerfile
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in deploy/Dockerfile"))
            .trim_start_matches(prefix)
            .trim()
            .to_owned()
    };
    let words = |json: &str| -> Vec<String> { serde_json::from_str(json).unwrap() };
    assert_eq!(words(&line("ENTRYPOINT")), ["minhbach"]);
    let cmd = words(&line("CMD"));
    assert_eq!(cmd, ["node", "start", "--home", HOME]);
    assert_eq!(words(&line("VOLUME")), [HOME]);
    assert_eq!(line("USER"), "minhbach");

    // The health check is a command of this binary: against no node it
    // fails as unreachable (exit 3), not as an unknown command (exit 2).
    let check = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("CMD [\"minhbach\", "))
        .expect("HEALTHCHECK ... CMD [\"minhbach\", ...]");
    let args = words(&format!("[{check}"));
    let out = Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .args(&args)
        .env("MINHBACH_NODE", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "minhbach {args:?}: {out:?}");

    // The unit starts the same command as the image, on the same home.
    let unit = read("deploy/systemd/minhbach.service");
    assert!(
        unit.contains(&format!(
            "\nExecStart=/usr/local/bin/minhbach {}\n",
            cmd.join(" ")
        )),
        "{unit}"
    );
    assert!(unit.contains(&format!("\nReadWritePaths={HOME}\n")));
    assert!(unit.contains(&format!("useradd --system --home-dir {HOME} ")));
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "User=minhbach",
        "LimitNOFILE=",
    ] {
        assert!(unit.contains(&format!("\n{hardening}")), "{hardening}");
    }
    // The operators' guide shows the unit as shipped.
    let service = &unit[unit.find("[Service]\n").unwrap()..unit.find("\n[Install]").unwrap()];
    let guide = read("docs/operations.md");
    assert!(
        guide.contains(&format!("```ini\n{service}")),
        "docs/operations.md does not show the [Service] section of \
         deploy/systemd/minhbach.service as it is"
    );
}
