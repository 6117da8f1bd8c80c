//! A one-validator network of the devnet story's entities, its node a real
//! process on loopback, killed when the [`Net`] is dropped; and the CLI run
//! against it.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use node::testnet::{Governance, NetworkPlan};
use tools::client::Client;

use super::{minhbach, Run};

/// Bound on the wait for the network's first block.
const WAIT: Duration = Duration::from_secs(60);

/// Seconds `tx ... --wait` waits for a commit.
pub const TX_WAIT: &str = "15";

/// `award` of contract C-1 by BYT-BVBM to V-0001 for `amount`, on 2026 /
/// YTE.DTPT, without keys or signer.
pub fn mri_award(amount: &str) -> [&str; 13] {
    [
        "award",
        "--contract",
        "C-1",
        "--year",
        "2026",
        "--line",
        "YTE.DTPT",
        "--vendor",
        "V-0001",
        "--amount",
        amount,
        "--title",
        "Máy chụp cộng hưởng từ",
    ]
}

/// The network, its node and the temporary folder that holds both.
pub struct Net {
    pub plan: NetworkPlan,
    node: Child,
    log: PathBuf,
    pub dir: tempfile::TempDir,
    _ports: testkit::ports::Reservation,
}

impl Net {
    /// Starts the network under `governance` and waits for its first block.
    pub fn start(chain_id: &str, governance: &Governance) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let (plan, node, log, ports) =
            super::start_governed_story_node(dir.path(), chain_id, governance);
        let mut net = Net {
            plan,
            node,
            log,
            dir,
            _ports: ports,
        };
        let client = Client::new(&net.url(), None).unwrap();
        let deadline = Instant::now() + WAIT;
        while !client
            .get("/v1/status")
            .is_ok_and(|s| s["height"].as_u64() >= Some(1))
        {
            if let Some(status) = net.node.try_wait().unwrap() {
                panic!("the node exited ({status}):\n{}", net.said());
            }
            assert!(
                Instant::now() < deadline,
                "no first block within {WAIT:?}:\n{}",
                net.said()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        net
    }

    /// The node's API.
    pub fn url(&self) -> String {
        format!("http://{}", self.plan.nodes[0].api)
    }

    /// What the node wrote to stderr.
    pub fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The key file of a genesis entity.
    pub fn key(&self, entity: &str) -> String {
        let plan = self
            .plan
            .entities
            .iter()
            .find(|e| e.id.as_str() == entity)
            .unwrap_or_else(|| panic!("no entity {entity}"));
        plan.key_file.to_str().unwrap().to_owned()
    }

    /// A path in the network's temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `minhbach --node URL --chain-id CHAIN --output OUT args...`.
    pub fn run(&self, output: &str, args: &[&str]) -> Run {
        let url = self.url();
        let mut all = vec![
            "--node",
            url.as_str(),
            "--chain-id",
            self.plan.chain_id.as_str(),
            "--output",
            output,
        ];
        all.extend(args);
        minhbach(&all)
    }

    /// [`Net::run`], which must exit 0.
    pub fn ok_as(&self, output: &str, args: &[&str]) -> Run {
        let run = self.run(output, args);
        assert_eq!(
            run.code,
            Some(0),
            "{args:?}: {run:?}\nthe node said:\n{}",
            self.said()
        );
        run
    }

    /// [`Net::ok_as`] as a table.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.ok_as("table", args)
    }

    /// `minhbach ... tx args...`.
    pub fn tx(&self, args: &[&str]) -> Run {
        self.run("table", &[&["tx"], args].concat())
    }

    /// [`Net::tx`], which must exit 0.
    pub fn tx_ok(&self, args: &[&str]) -> Run {
        self.ok_as("table", &[&["tx"], args].concat())
    }

    /// The treasury (BTC) appropriates `appropriated` on 2026 / YTE.DTPT to
    /// the ministry BYT, which allocates `allocated` of it to its hospital
    /// BYT-BVBM; each committed before this returns.
    pub fn fund_hospital(&self, appropriated: &str, allocated: &str) {
        let (btc, byt) = (self.key("BTC"), self.key("BYT"));
        let budget = ["--year", "2026", "--line", "YTE.DTPT"];
        let wait = ["--wait", "--timeout", TX_WAIT];
        let appropriate = [
            "appropriate",
            "--key",
            &btc,
            "--signer",
            "BTC",
            "--to",
            "BYT",
        ];
        let amount = ["--amount", appropriated, "--legal-ref", "Nghị quyết 1/2026"];
        self.tx_ok(&[&appropriate[..], &budget, &amount, &wait].concat());
        let allocate = [
            "allocate", "--key", &byt, "--signer", "BYT", "--to", "BYT-BVBM",
        ];
        let amount = ["--amount", allocated];
        self.tx_ok(&[&allocate[..], &budget, &amount, &wait].concat());
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.node.kill();
        let _ = self.node.wait();
    }
}
