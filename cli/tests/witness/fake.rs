//! What the witness tests run against: chains from one genesis file built
//! in in-memory stores (one may part from the other after some height, and
//! each block may be certified by a chosen few of the validators), a
//! stand-in node on 127.0.0.1 serving their checkpoints and consistency
//! proofs and keeping the cosignatures posted to it as a node does, and
//! `minhbach witness run` as a child process killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use genesis::Genesis;
use ledger::builder::sign_commit;
use ledger::store::{MemoryDisk, Store};
use ledger::testkit::{key, TestChain};
use ledger::witness::{CheckpointProof, Cosignature};
use ledger::{Block, Hash, Height, PeerId};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

use crate::support::{Request, Stub};

/// The witness's id in every test.
pub const WITNESS: &str = "KTNN";
/// Validators of the genesis, `validator-0` to `validator-3`.
pub const VALIDATORS: usize = 4;

/// A genesis with a treasury, the witness as an observer holding
/// `key(WITNESS)`, and [`VALIDATORS`] validators `validator-i`.
pub fn genesis_json() -> Value {
    let entity = |id: &str, kind: &str| {
        json!({"id": id, "kind": kind, "name": format!("Đơn vị {id}"),
               "keys": [key(id).public_key().to_hex()]})
    };
    json!({
        "chain_id": "minhbach-witness",
        "genesis_time": "2026-01-01T00:00:00Z",
        "entities": [entity("MOF", "treasury"), entity(WITNESS, "observer")],
        "validators": (0..VALIDATORS).map(|i| {
            let k = key(&format!("validator-{i}")).public_key();
            json!({
                "name": format!("validator-{i}"), "consensus_key": k.to_hex(),
                "peer_id": PeerId::from_ed25519(&k).unwrap().to_string(), "power": 10
            })
        }).collect::<Vec<_>>(),
    })
}

/// A chain committed to a store in memory.
pub struct Chain {
    pub store: Store,
    pub blocks: Vec<Block>,
    _disk: MemoryDisk,
}

impl Chain {
    /// `n` blocks from `genesis`, a second apart, each certified by every
    /// validator; with `part_after`, every block after that height is 7 ms
    /// later, so from there on the blocks differ from those of a chain
    /// without it.
    pub fn build(genesis: &Genesis, n: u64, part_after: Option<u64>) -> Arc<Chain> {
        Chain::build_signed(genesis, n, part_after, &|_| (0..VALIDATORS).collect())
    }

    /// As [`Chain::build`], block `h` certified by the precommits of the
    /// validators `signers(h)` (numbers below [`VALIDATORS`]) alone.
    pub fn build_signed(
        genesis: &Genesis,
        n: u64,
        part_after: Option<u64>,
        signers: &dyn Fn(u64) -> Vec<usize>,
    ) -> Arc<Chain> {
        let disk = MemoryDisk::new().unwrap();
        let store = Store::open_in_memory(&disk, "chain").unwrap();
        store.init(&genesis.state(), genesis.hash()).unwrap();
        let keys = (0..VALIDATORS)
            .map(|i| key(&format!("validator-{i}")))
            .collect();
        let mut chain = TestChain::from_genesis(
            genesis.state(),
            genesis.hash(),
            genesis.genesis_time_ms,
            keys,
        );
        let mut blocks = Vec::new();
        for h in 1..=n {
            if part_after.is_some_and(|p| h > p) {
                chain.block_interval_ms = 1007;
            }
            let (block, _, outcome) = chain.make_block(Vec::new()).unwrap();
            let keys: Vec<_> = signers(h)
                .iter()
                .map(|i| key(&format!("validator-{i}")))
                .collect();
            let cert = sign_commit(&block, 0, &keys.iter().collect::<Vec<_>>());
            store
                .commit_block(&block, &cert, &outcome, &chain.state)
                .unwrap();
            chain.advance(&block, cert, outcome);
            blocks.push(block);
        }
        Arc::new(Chain {
            store,
            blocks,
            _disk: disk,
        })
    }

    pub fn checkpoint(&self, h: u64) -> CheckpointProof {
        CheckpointProof::build(&self.store, Height(h))
            .unwrap()
            .expect("committed")
    }

    pub fn root(&self, h: u64) -> Hash {
        self.store.history_root(Height(h)).unwrap()
    }
}

/// A small deterministic generator (SplitMix64), so that random runs can
/// be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// What a stand-in node serves, and what it was posted.
pub struct Served {
    pub chain: Arc<Chain>,
    /// The height of its latest checkpoint; nothing above is served.
    pub height: u64,
    /// With a generator, a node that moves on and sometimes lags: one
    /// latest checkpoint in three is at a height drawn below `height`, the
    /// others at `height`, which then grows by one up to the chain's end.
    pub random: Option<Rng>,
    /// Serve the latest checkpoint with a changed history root.
    pub tamper_latest: bool,
    /// Serve consistency proofs with a changed hash.
    pub bad_consistency: bool,
    /// Refuse this many more posts with 503.
    pub refuse_posts: u32,
    /// The cosignature held, as a node keeps one per witness.
    pub held: Option<Cosignature>,
    /// Every cosignature it took.
    pub taken: Vec<Cosignature>,
    /// Every post, taken or not.
    pub posts: usize,
}

impl Served {
    pub fn new(chain: &Arc<Chain>, height: u64) -> Arc<Mutex<Served>> {
        Arc::new(Mutex::new(Served {
            chain: chain.clone(),
            height,
            random: None,
            tamper_latest: false,
            bad_consistency: false,
            refuse_posts: 0,
            held: None,
            taken: Vec::new(),
            posts: 0,
        }))
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
}

fn answer(s: &mut Served, r: &Request) -> (u16, String) {
    let (path, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
    match (r.method.as_str(), path) {
        ("GET", "/v1/checkpoint") => {
            let top = s.chain.blocks.len() as u64;
            let lag = s
                .random
                .as_mut()
                .map(|rng| (rng.range(0, 2), rng.range(1, s.height)));
            let h = match lag {
                Some((0, below)) => below,
                Some(_) => {
                    s.height = (s.height + 1).min(top);
                    s.height
                }
                None => s.height,
            };
            let mut proof = s.chain.checkpoint(h);
            if s.tamper_latest {
                proof.checkpoint.history_root = Hash::digest(b"another history");
            }
            (200, serde_json::to_string(&proof).unwrap())
        }
        ("GET", p) if p.starts_with("/v1/checkpoints/") => {
            match p["/v1/checkpoints/".len()..].parse::<u64>() {
                Ok(h) if (1..=s.height).contains(&h) => {
                    (200, serde_json::to_string(&s.chain.checkpoint(h)).unwrap())
                }
                _ => error(404, "not_found", "not committed"),
            }
        }
        ("GET", "/v1/consistency") => {
            let arg = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let (Some(from), Some(to)) = (arg("from"), arg("to")) else {
                return error(400, "invalid_argument", "from and to");
            };
            if to > s.height {
                return error(404, "not_found", "not committed");
            }
            let Some(mut proof) = s
                .chain
                .store
                .history_consistency(Height(from), Height(to))
                .unwrap()
            else {
                return error(400, "invalid_argument", "from above to");
            };
            if s.bad_consistency {
                match proof.path.first_mut() {
                    Some(first) => *first = Hash::digest(b"forged"),
                    None => proof.path.push(Hash::digest(b"forged")),
                }
            }
            (200, serde_json::to_string(&proof).unwrap())
        }
        ("POST", "/v1/cosignatures") => {
            s.posts += 1;
            let Ok(c) = Cosignature::decode(&r.body) else {
                return error(400, "invalid_argument", "not a cosignature");
            };
            if s.refuse_posts > 0 {
                s.refuse_posts -= 1;
                return error(503, "unavailable", "try again");
            }
            if !c.verify() {
                return error(422, "bad_signature", "does not verify");
            }
            if c.height.0 > s.height {
                return error(422, "not_reached", "not committed here yet");
            }
            if s.chain.root(c.height.0) != c.history_root {
                return error(422, "other_history", "not this chain's root");
            }
            if s.held.as_ref().is_some_and(|h| h.height >= c.height) {
                return error(409, "not_newer", "already holds one as high");
            }
            s.held = Some(c.clone());
            s.taken.push(c);
            (202, "{}".into())
        }
        _ => error(404, "not_found", "no such route"),
    }
}

/// A stand-in node answering from `served`.
pub struct FakeNode {
    pub stub: Stub,
    pub served: Arc<Mutex<Served>>,
}

impl FakeNode {
    pub fn start(served: &Arc<Mutex<Served>>) -> FakeNode {
        let shared = served.clone();
        let stub = Stub::start(move |r| answer(&mut shared.lock().unwrap(), r));
        FakeNode {
            stub,
            served: served.clone(),
        }
    }

    pub fn url(&self) -> &str {
        &self.stub.url
    }

    pub fn set(&self, f: impl FnOnce(&mut Served)) {
        f(&mut self.served.lock().unwrap());
    }

    pub fn held(&self) -> Option<u64> {
        self.served
            .lock()
            .unwrap()
            .held
            .as_ref()
            .map(|c| c.height.0)
    }

    /// How many requests it answered whose target starts with `prefix`.
    pub fn asked(&self, prefix: &str) -> usize {
        self.stub
            .targets()
            .iter()
            .filter(|t| t.starts_with(prefix))
            .count()
    }
}

/// Waits until `done`, at most `within`; `context` says what went on.
pub fn wait_until(
    what: &str,
    within: Duration,
    mut done: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `minhbach witness run` as a child process, its output in files; killed
/// when dropped, also on a panic.
pub struct Running {
    child: Child,
    stderr: PathBuf,
    exit: Option<Option<i32>>,
}

impl Running {
    pub fn start(home: &Path, nodes: &[&str], interval_ms: u64, output: &str) -> Running {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let stderr = home.with_file_name(format!("witness-stderr-{n}.txt"));
        let stdout = home.with_file_name(format!("witness-stdout-{n}.txt"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_minhbach"));
        command
            .args(["--output", output, "witness", "run", "--home"])
            .arg(home)
            .args(["--interval-ms", &interval_ms.to_string()]);
        for url in nodes {
            command.args(["--node", url]);
        }
        for var in [
            "MINHBACH_NODE",
            "http_proxy",
            "HTTP_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            command.env_remove(var);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("run minhbach witness");
        Running {
            child,
            stderr,
            exit: None,
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Its exit code if it has exited.
    pub fn exited(&mut self) -> Option<Option<i32>> {
        if self.exit.is_none() {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exit = Some(status.code());
            }
        }
        self.exit
    }

    /// Waits for it to exit by itself, at most `within`.
    pub fn wait(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(code) = self.exited() {
                return code;
            }
            assert!(
                Instant::now() < deadline,
                "the witness did not exit within {within:?}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        self.wait(Duration::from_secs(10))
    }

    /// SIGKILL: it stops wherever it is.
    pub fn kill9(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.exit = Some(None);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill9();
    }
}
