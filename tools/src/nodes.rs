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
//! (a demo, a benchmark) is its callers' business.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use node::testnet::NodePlan;

use crate::testnet::role_name;

/// How long stopped nodes have to exit after SIGTERM before SIGKILL.
pub(crate) const STOP_GRACE_MS: u64 = 5_000;
/// Pause between two looks at whether the nodes are ready.
const READY_POLL_MS: u64 = 250;

struct RunningNode {
    name: String,
    log: PathBuf,
    child: Child,
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
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| log.display().to_string())?;
        writeln!(
            file,
            "--- minhbach {} starts {} at {} ---",
            self.label,
            n.name,
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        )?;
        let child = spawn_node(&self.exe, &n, file)?;
        eprintln!(
            "{}: {verb} {} ({}, pid {})",
            self.label,
            n.name,
            role_name(n.role),
            child.id()
        );
        self.running.push(RunningNode {
            name: n.name.clone(),
            log,
            child,
            plan: n,
        });
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
            .position(|n| matches!(n.child.try_wait(), Ok(Some(_))))
        {
            let mut n = self.running.remove(i);
            let status = n.child.wait().expect("an exited child can be reaped");
            let next = match restart_after {
                Some(d) => format!("starting it again in {} s", d.as_secs()),
                None => "leaving it down (--no-restart)".into(),
            };
            eprintln!(
                "{}: {} exited ({}); see {}. The other nodes go on; {next}.",
                self.label,
                n.name,
                describe(status),
                n.log.display()
            );
            self.down.push(DownNode {
                plan: n.plan,
                log: n.log,
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
            .map(|n| (n.name.clone(), n.child.id()))
            .collect()
    }

    /// If a node has exited, says so, stops the others and returns exit
    /// code 1.
    pub(crate) fn check_exits(&mut self) -> Option<u8> {
        let i = self
            .running
            .iter_mut()
            .position(|n| matches!(n.child.try_wait(), Ok(Some(_))))?;
        let mut n = self.running.remove(i);
        let status = n.child.wait().expect("an exited child can be reaped");
        eprintln!(
            "{}: {} exited unexpectedly ({}); see {}. Stopping the other nodes.",
            self.label,
            n.name,
            describe(status),
            n.log.display()
        );
        self.stop();
        Some(1)
    }

    /// SIGTERM to every node, a grace period, then SIGKILL to those still
    /// running. Returns 0 if every node stopped cleanly.
    pub(crate) fn stop(&mut self) -> u8 {
        let mut code = 0;
        for n in &mut self.running {
            if matches!(n.child.try_wait(), Ok(None)) {
                let _ = kill(Pid::from_raw(n.child.id() as i32), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_millis(STOP_GRACE_MS);
        for n in self.running.drain(..) {
            let RunningNode {
                name, mut child, ..
            } = n;
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    _ => break None,
                }
            };
            match status {
                Some(s) if s.success() => {}
                Some(s) => {
                    // A node killed by our own SIGTERM is a clean stop too.
                    if !is_sigterm(s) {
                        eprintln!("{}: {name} stopped with {}", self.label, describe(s));
                        code = 1;
                    }
                }
                None => {
                    eprintln!(
                        "{}: {name} did not stop within {} s; killing it",
                        self.label,
                        STOP_GRACE_MS / 1000
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    code = 1;
                }
            }
        }
        code
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

/// Set by a supervising command (`devnet`, `bench`) for each node
/// it starts: its own process id.
pub const SUPERVISOR_ENV: &str = "MINHBACH_SUPERVISOR_PID";

/// In a node started by a supervising command, asks the kernel to send it
/// SIGTERM when the supervisor dies, and stops at once if it already has.
pub fn exit_with_supervisor() -> anyhow::Result<()> {
    let Ok(pid) = std::env::var(SUPERVISOR_ENV) else {
        return Ok(());
    };
    let supervisor: i32 = pid
        .parse()
        .with_context(|| format!("{SUPERVISOR_ENV}={pid} is not a process id"))?;
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)
        .context("cannot ask to stop with the supervising command")?;
    // The supervisor may have died before the request was made.
    if nix::unistd::getppid().as_raw() != supervisor {
        anyhow::bail!("the supervising command (pid {supervisor}) is gone");
    }
    Ok(())
}

fn spawn_node(exe: &Path, n: &NodePlan, log: File) -> anyhow::Result<Child> {
    let err_log = log.try_clone()?;
    Command::new(exe)
        .arg("node")
        .arg("start")
        .arg("--home")
        .arg(&n.home)
        // Plain log lines in the file, without terminal colours.
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        // Its own process group: the terminal's Ctrl-C reaches only the
        // supervising command, which stops the nodes in order.
        .process_group(0)
        // If the supervisor dies without stopping it (kill -9), the node
        // stops too rather than run on unattended.
        .env(SUPERVISOR_ENV, std::process::id().to_string())
        .spawn()
        .with_context(|| format!("cannot start {}", n.name))
}

fn is_sigterm(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt as _;
    status.signal() == Some(Signal::SIGTERM as i32)
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => status.to_string(),
    }
}
