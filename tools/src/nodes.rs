//! Running the nodes of a local network as child processes, for `minhbach
//! devnet` and `minhbach bench`.
//!
//! Each node is `minhbach node start --home H` of this same executable, in
//! its own process group, so that the terminal's Ctrl-C reaches only the
//! supervising command, which then stops the nodes in order: SIGTERM, a
//! grace period, then SIGKILL. Dropping [`Nodes`] stops them too, so a panic
//! or an early return never leaves a node running.
//!
//! This module starts, watches and stops processes; what the nodes are for
//! (a demo, a benchmark) is its callers' business. How one supervised child
//! is started and how a group of them is stopped is in [`process`], which
//! the devnet's witness shares.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use node::testnet::NodePlan;

use self::process::{describe, stop_all, Supervised};
pub use self::process::{exit_with_supervisor, SUPERVISOR_ENV};
use crate::testnet::role_name;

pub(crate) mod process;

/// Pause between two looks at whether the nodes are ready.
const READY_POLL_MS: u64 = 250;

struct RunningNode {
    process: Supervised,
    plan: NodePlan,
}

/// A node that exited, and when it is to be started again.
struct DownNode {
    plan: NodePlan,
    log: PathBuf,
    restart_at: Option<Instant>,
}

/// The nodes' child processes. Dropping it stops them.
pub(crate) struct Nodes {
    /// Starts every message, e.g. `devnet`.
    label: &'static str,
    exe: PathBuf,
    running: Vec<RunningNode>,
    down: Vec<DownNode>,
}

impl Nodes {
    /// Starts every node of `nodes`, each logging to `logs/<name>.log`, and
    /// says so on stderr (`<label>: started <name> (<role>, pid <pid>)`).
    pub(crate) fn start(
        nodes: &[NodePlan],
        logs: &Path,
        label: &'static str,
    ) -> anyhow::Result<Nodes> {
        let exe = std::env::current_exe().context("cannot find this program's path")?;
        let mut started = Nodes {
            label,
            exe,
            running: Vec::with_capacity(nodes.len()),
            down: Vec::new(),
        };
        for n in nodes {
            let log = logs.join(format!("{}.log", n.name));
            started.launch(n.clone(), log, "started")?;
        }
        Ok(started)
    }

    /// Starts one node, appending to its log, and says `verb` on stderr.
    fn launch(&mut self, n: NodePlan, log: PathBuf, verb: &str) -> anyhow::Result<()> {
        let args = [
            OsStr::new("node"),
            OsStr::new("start"),
            OsStr::new("--home"),
            n.home.as_os_str(),
        ];
        let process = Supervised::spawn(&self.exe, &args, &n.name, log, self.label)?;
        eprintln!(
            "{}: {verb} {} ({}, pid {})",
            self.label,
            n.name,
            role_name(n.role),
            process.pid()
        );
        self.running.push(RunningNode { process, plan: n });
        Ok(())
    }

    /// Keeps the network going while nodes die: a node that exited is
    /// reported, the others keep running, and it is started again
    /// `restart_after` later (never, with `None`). Returns an error only if
    /// a node cannot be started again at all.
    pub(crate) fn tend(&mut self, restart_after: Option<Duration>) -> anyhow::Result<()> {
        while let Some(i) = self
            .running
            .iter_mut()
            .position(|n| n.process.exited().is_some())
        {
            let mut n = self.running.remove(i);
            let status = n.process.exited().expect("an exited child stays exited");
            let next = match restart_after {
                Some(d) => format!("starting it again in {} s", d.as_secs()),
                None => "leaving it down (--no-restart)".into(),
            };
            eprintln!(
                "{}: {} exited ({}); see {}. The other nodes go on; {next}.",
                self.label,
                n.process.name,
                describe(status),
                n.process.log.display()
            );
            self.down.push(DownNode {
                plan: n.plan,
                log: n.process.log,
                restart_at: restart_after.map(|d| Instant::now() + d),
            });
        }
        let now = Instant::now();
        let due: Vec<usize> = (0..self.down.len())
            .filter(|&i| self.down[i].restart_at.is_some_and(|t| t <= now))
            .collect();
        for i in due.into_iter().rev() {
            let d = self.down.remove(i);
            self.launch(d.plan, d.log, "restarted")?;
        }
        Ok(())
    }

    /// The running nodes' names and process ids, in start order.
    pub(crate) fn pids(&self) -> Vec<(String, u32)> {
        self.running
            .iter()
            .map(|n| (n.process.name.clone(), n.process.pid()))
            .collect()
    }

    /// If a node has exited, says so, stops the others and returns exit
    /// code 1.
    pub(crate) fn check_exits(&mut self) -> Option<u8> {
        let i = self
            .running
            .iter_mut()
            .position(|n| n.process.exited().is_some())?;
        let mut n = self.running.remove(i);
        let status = n.process.exited().expect("an exited child stays exited");
        eprintln!(
            "{}: {} exited unexpectedly ({}); see {}. Stopping the other nodes.",
            self.label,
            n.process.name,
            describe(status),
            n.process.log.display()
        );
        self.stop();
        Some(1)
    }

    /// SIGTERM to every node, a grace period, then SIGKILL to those still
    /// running. Returns 0 if every node stopped cleanly.
    pub(crate) fn stop(&mut self) -> u8 {
        let running = self.running.drain(..).map(|n| n.process).collect();
        stop_all(self.label, running)
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        if !self.running.is_empty() {
            self.stop();
        }
    }
}

/// How a wait for readiness ended.
pub(crate) enum Waited {
    /// Every node answered `/readyz` with 200.
    Ready,
    /// Ctrl-C or SIGTERM.
    Stopped,
    /// A node exited; the others were stopped; the exit code to return.
    Exited(u8),
}

/// Waits until every node of `ready` answers `GET /readyz` with 200, a node
/// exits, `stop` is set, or `timeout` passes (an error, after stopping the
/// nodes).
pub(crate) fn wait_ready(
    ready: &[&NodePlan],
    nodes: &mut Nodes,
    stop: &AtomicBool,
    timeout: Duration,
) -> anyhow::Result<Waited> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client with default settings always builds");
    let names: Vec<&str> = ready.iter().map(|n| n.name.as_str()).collect();
    eprintln!(
        "{}: waiting for {} to be ready",
        nodes.label,
        names.join(", ")
    );
    let deadline = Instant::now() + timeout;
    let mut waiting: Vec<&NodePlan> = ready.to_vec();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(Waited::Stopped);
        }
        if let Some(code) = nodes.check_exits() {
            return Ok(Waited::Exited(code));
        }
        waiting.retain(|n| {
            !http
                .get(format!("{}/readyz", n.api_url()))
                .send()
                .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
        });
        if waiting.is_empty() {
            return Ok(Waited::Ready);
        }
        if Instant::now() >= deadline {
            nodes.stop();
            let late: Vec<&str> = waiting.iter().map(|n| n.name.as_str()).collect();
            bail!(
                "{} not ready after {} s; see the node logs",
                late.join(", "),
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(READY_POLL_MS));
    }
}
