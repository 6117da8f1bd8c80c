//! One child process of this same executable under a supervising command
//! (`devnet`, `bench`): how it is started, and how a group of them is
//! stopped.
//!
//! Each child runs in its own process group, so that the terminal's Ctrl-C
//! reaches only the supervisor, which then stops its children in order:
//! SIGTERM, a grace period, then SIGKILL. Each is started with
//! [`SUPERVISOR_ENV`] set, and calls [`exit_with_supervisor`] first thing,
//! so that a supervisor killed with SIGKILL leaves no child running. Its
//! stdout and stderr are appended to its log file, after a line saying who
//! started it and when.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long stopped children have to exit after SIGTERM before SIGKILL.
pub(crate) const STOP_GRACE_MS: u64 = 5_000;

/// Set by a supervising command (`devnet`, `bench`) for each child it
/// starts: its own process id.
pub const SUPERVISOR_ENV: &str = "MINHBACH_SUPERVISOR_PID";

/// In a child started by a supervising command, asks the kernel to send it
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

/// A running child process and its log.
pub(crate) struct Supervised {
    /// What the supervisor's messages call it, e.g. `validator-0`.
    pub(crate) name: String,
    /// The file its output is appended to.
    pub(crate) log: PathBuf,
    child: Child,
}

impl Supervised {
    /// Starts `exe args` as `name`, appending its output to `log` after a
    /// line `--- minhbach <label> starts <name> at <time> ---`.
    pub(crate) fn spawn(
        exe: &Path,
        args: &[&OsStr],
        name: &str,
        log: PathBuf,
        label: &str,
    ) -> anyhow::Result<Supervised> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| log.display().to_string())?;
        writeln!(
            file,
            "--- minhbach {label} starts {name} at {} ---",
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        )?;
        let err_log = file.try_clone()?;
        let child = Command::new(exe)
            .args(args)
            // Plain log lines in the file, without terminal colours.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err_log)
            // Its own process group: the terminal's Ctrl-C reaches only the
            // supervising command, which stops its children in order.
            .process_group(0)
            // If the supervisor dies without stopping it (kill -9), the
            // child stops too rather than run on unattended.
            .env(SUPERVISOR_ENV, std::process::id().to_string())
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Supervised {
            name: name.to_owned(),
            log,
            child,
        })
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How it ended, if it has exited (it is then reaped).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => None,
        }
    }
}

/// SIGTERM to every child of `children`, a grace period, then SIGKILL to
/// those still running; each message starts with `label`. Returns 0 if
/// every child stopped cleanly.
pub(crate) fn stop_all(label: &str, children: Vec<Supervised>) -> u8 {
    let mut code = 0;
    let mut children = children;
    for c in &mut children {
        if matches!(c.child.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(c.child.id() as i32), Signal::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_millis(STOP_GRACE_MS);
    for c in children {
        let Supervised {
            name, mut child, ..
        } = c;
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
                // A child killed by our own SIGTERM is a clean stop too.
                if !is_sigterm(s) {
                    eprintln!("{label}: {name} stopped with {}", describe(s));
                    code = 1;
                }
            }
            None => {
                eprintln!(
                    "{label}: {name} did not stop within {} s; killing it",
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

fn is_sigterm(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt as _;
    status.signal() == Some(Signal::SIGTERM as i32)
}

/// An exit status in words: `exit code 1`, `signal 9`.
pub(crate) fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => status.to_string(),
    }
}
