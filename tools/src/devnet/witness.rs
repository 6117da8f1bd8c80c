//! The devnet's outside witness: the State Audit Office (Kiểm toán Nhà
//! nước, entity `KTNN`, an observer of the devnet's genesis) running
//! `minhbach witness run` beside the nodes, so that every block page of
//! the explorer names a witness outside the validators who stands behind
//! it. This is a demonstration: in a real network each witness runs on its
//! own machine, outside the ministry (see docs/witnesses.md).
//!
//! Its home is `DIR/witness-KTNN`, made once by `minhbach witness init`
//! with the key the devnet wrote for KTNN, which the genesis registers; a
//! resumed devnet uses that home again, with the checkpoint it last
//! cosigned. The witness is a child process of the devnet like a node
//! ([`crate::nodes::process`]): its own process group, stopped with the
//! nodes, and started again after a delay if it exits, except with
//! [`EXIT_FORK`]: then the devnet says loudly where the fork proof is and
//! leaves it down, for a person to look at.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use node::testnet::NetworkPlan;

use crate::nodes::process::{describe, stop_all, Supervised};

/// The entity whose witness the devnet runs: the State Audit Office.
pub const WITNESS_ID: &str = "KTNN";
/// The exit code of `minhbach witness run` when it has found a fork.
pub const EXIT_FORK: u8 = 4;
/// How often the witness asks each node for its latest checkpoint.
const INTERVAL_MS: u64 = 1_000;
/// The genesis file in a witness's home, as `witness init` writes it.
const HOME_GENESIS: &str = "genesis.json";
/// The file that makes a folder a witness home, as `witness init` writes it.
const HOME_CONFIG: &str = "witness.json";

/// The devnet's witness: who it is and where its home is.
#[derive(Clone, Debug)]
pub(crate) struct WitnessHome {
    /// Its entity id, [`WITNESS_ID`].
    pub(crate) id: String,
    /// The entity's name in the genesis.
    pub(crate) name: String,
    /// Its home, `DIR/witness-<id>`.
    pub(crate) dir: PathBuf,
}

impl WitnessHome {
    /// The name of its process and log, `witness-<id>`.
    pub(crate) fn process_name(&self) -> String {
        format!("witness-{}", self.id)
    }
}

/// The witness home of the devnet in `dir`: made with `exe witness init`
/// and the entity's own key if it is not there yet, used as it is
/// otherwise. `None`, after a warning, if `plan` has no entity
/// [`WITNESS_ID`].
pub(crate) fn prepare(
    exe: &Path,
    plan: &NetworkPlan,
    dir: &Path,
    label: &str,
) -> anyhow::Result<Option<WitnessHome>> {
    let Some(entity) = plan.entities.iter().find(|e| e.id.as_str() == WITNESS_ID) else {
        eprintln!("{label}: this devnet has no entity {WITNESS_ID}, so it runs no witness");
        return Ok(None);
    };
    let home = WitnessHome {
        id: WITNESS_ID.into(),
        name: entity.name.clone(),
        dir: dir.join(format!("witness-{WITNESS_ID}")),
    };
    if home.dir.join(HOME_CONFIG).exists() {
        return Ok(Some(home));
    }
    let out = Command::new(exe)
        .args(["witness", "init", "--home"])
        .arg(&home.dir)
        .args(["--id", WITNESS_ID, "--genesis"])
        .arg(&plan.genesis)
        .arg("--key")
        .arg(&entity.key_file)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .context("cannot run `minhbach witness init`")?;
    if !out.status.success() {
        bail!(
            "`minhbach witness init` for {WITNESS_ID} ended with {}: {}",
            describe(out.status),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    eprintln!(
        "{label}: made the home of {WITNESS_ID}'s witness in {}, with the key the genesis registers",
        home.dir.display()
    );
    Ok(Some(home))
}

/// The witness's child process, started again after it exits unless it
/// found a fork. Dropping it stops the process.
pub(crate) struct Witness {
    /// Starts every message, e.g. `devnet`.
    label: &'static str,
    exe: PathBuf,
    args: Vec<OsString>,
    home: WitnessHome,
    log: PathBuf,
    running: Option<Supervised>,
    /// When it is to be started again, while it is down.
    restart_at: Option<Instant>,
    forked: bool,
}

impl Witness {
    /// Starts `witness run` of this executable on `home`, following the
    /// nodes whose API URLs are `nodes`, logging to
    /// `logs/witness-<id>.log`, and says so on stderr.
    pub(crate) fn start(
        home: WitnessHome,
        nodes: &[String],
        logs: &Path,
        label: &'static str,
    ) -> anyhow::Result<Witness> {
        let exe = std::env::current_exe().context("cannot find this program's path")?;
        let mut args: Vec<OsString> = vec!["witness".into(), "run".into(), "--home".into()];
        args.push(home.dir.clone().into());
        for url in nodes {
            args.push("--node".into());
            args.push(url.into());
        }
        args.push("--interval-ms".into());
        args.push(INTERVAL_MS.to_string().into());
        Witness::start_program(exe, args, home, logs, label)
    }

    /// Starts `exe args` as the witness of `home`.
    fn start_program(
        exe: PathBuf,
        args: Vec<OsString>,
        home: WitnessHome,
        logs: &Path,
        label: &'static str,
    ) -> anyhow::Result<Witness> {
        let log = logs.join(format!("{}.log", home.process_name()));
        let mut witness = Witness {
            label,
            exe,
            args,
            home,
            log,
            running: None,
            restart_at: None,
            forked: false,
        };
        witness.launch("started")?;
        Ok(witness)
    }

    /// Starts the process, appending to its log, and says `verb` on stderr.
    fn launch(&mut self, verb: &str) -> anyhow::Result<()> {
        let args: Vec<&OsStr> = self.args.iter().map(OsString::as_os_str).collect();
        let name = self.home.process_name();
        let process = Supervised::spawn(&self.exe, &args, &name, self.log.clone(), self.label)?;
        eprintln!(
            "{}: {verb} {name} (outside witness, pid {})",
            self.label,
            process.pid()
        );
        self.running = Some(process);
        Ok(())
    }

    /// Notices an exit of the witness: after a fork it is reported and left
    /// down; after any other exit it is reported and started again
    /// `restart_after` later (never, with `None`). Returns an error only if
    /// it cannot be started again at all.
    pub(crate) fn tend(&mut self, restart_after: Option<Duration>) -> anyhow::Result<()> {
        if self.forked {
            return Ok(());
        }
        if let Some(status) = self.running.as_mut().and_then(Supervised::exited) {
            self.running = None;
            if status.code() == Some(i32::from(EXIT_FORK)) {
                self.forked = true;
                eprintln!("{}", self.fork_report().join("\n"));
            } else {
                let next = match restart_after {
                    Some(d) => format!("starting it again in {} s", d.as_secs()),
                    None => "leaving it down (--no-restart)".into(),
                };
                eprintln!(
                    "{}: {} exited ({}); see {}. The nodes go on; {next}.",
                    self.label,
                    self.home.process_name(),
                    describe(status),
                    self.log.display()
                );
                self.restart_at = restart_after.map(|d| Instant::now() + d);
            }
        }
        if self.restart_at.is_some_and(|t| t <= Instant::now()) {
            self.restart_at = None;
            self.launch("restarted")?;
        }
        Ok(())
    }

    /// Whether it stopped on a fork.
    #[cfg(test)]
    fn forked(&self) -> bool {
        self.forked
    }

    /// Its process id while it runs.
    #[cfg(test)]
    fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(Supervised::pid)
    }

    /// Stops it (SIGTERM, a grace period, SIGKILL) and keeps it down.
    /// Returns 0 if it stopped cleanly or was not running.
    pub(crate) fn stop(&mut self) -> u8 {
        self.restart_at = None;
        stop_all(self.label, self.running.take().into_iter().collect())
    }

    /// What the devnet says on stderr, so that nobody can miss it, when
    /// the witness has found a fork: that it did, and where the proof is.
    fn fork_report(&self) -> Vec<String> {
        let bar = "!".repeat(72);
        let home = &self.home.dir;
        let mut lines = vec![
            bar.clone(),
            format!(
                "FORK: the witness {} ({}) found two histories of this chain, each certified \
                 by the validators, at a height it had cosigned.",
                self.home.id, self.home.name
            ),
        ];
        let proofs = fork_proofs(home);
        for p in &proofs {
            lines.push(format!(
                "the fork proof is {}; check it with `minhbach verify fork {} --genesis {}`",
                p.display(),
                p.display(),
                home.join(HOME_GENESIS).display()
            ));
        }
        if proofs.is_empty() {
            lines.push(format!(
                "no fork proof was found in {}; see the witness's log",
                home.display()
            ));
        }
        lines.push(format!(
            "the witness's own report, naming the validators who signed both blocks, is in \
             {}. It is not started again: a fork is for a person to look at.",
            self.log.display()
        ));
        lines.push(bar);
        lines
            .into_iter()
            .map(|l| format!("{}: {l}", self.label))
            .collect()
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        if self.running.is_some() {
            self.stop();
        }
    }
}

/// The fork proofs in a witness home (`fork-proof-<height>.json`), sorted.
fn fork_proofs(home: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(home) else {
        return Vec::new();
    };
    let mut proofs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|n| n.starts_with("fork-proof-") && n.ends_with(".json"))
        })
        .collect();
    proofs.sort();
    proofs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A witness whose process is `sh -c script`, in a fresh home.
    fn witness_running(script: &str, tmp: &Path) -> Witness {
        let home = WitnessHome {
            id: WITNESS_ID.into(),
            name: "Kiểm toán Nhà nước".into(),
            dir: tmp.join("witness-KTNN"),
        };
        std::fs::create_dir_all(&home.dir).unwrap();
        let args = vec!["-c".into(), script.into()];
        Witness::start_program("/bin/sh".into(), args, home, tmp, "test").unwrap()
    }

    /// Tends `w` until `done` holds, for at most 10 s.
    fn tend_until(w: &mut Witness, restart: Option<Duration>, done: impl Fn(&Witness) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(w) {
            assert!(Instant::now() < deadline, "timed out");
            w.tend(restart).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_witness_that_found_a_fork_is_reported_and_left_down() {
        let tmp = tempfile::tempdir().unwrap();
        let proof = tmp.path().join("witness-KTNN").join("fork-proof-7.json");
        let script = format!("echo '{{}}' > '{}'; exit 4", proof.display());
        let mut w = witness_running(&script, tmp.path());
        tend_until(&mut w, Some(Duration::ZERO), |w| w.forked());
        assert!(w.pid().is_none());
        for _ in 0..5 {
            w.tend(Some(Duration::ZERO)).unwrap();
            assert!(w.pid().is_none(), "started again after a fork");
        }
        let report = w.fork_report().join("\n");
        assert!(report.contains("test: FORK: the witness KTNN"), "{report}");
        let verify = format!(
            "minhbach verify fork {} --genesis {}",
            proof.display(),
            tmp.path().join("witness-KTNN/genesis.json").display()
        );
        assert!(report.contains(&verify), "{report}");
        assert!(report.contains("witness-KTNN.log"), "{report}");
        let log = std::fs::read_to_string(tmp.path().join("witness-KTNN.log")).unwrap();
        assert!(
            log.contains("--- minhbach test starts witness-KTNN at "),
            "{log}"
        );
    }

    #[test]
    fn a_witness_that_exits_otherwise_is_started_again_after_the_delay() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = witness_running("exit 1", tmp.path());
        let first = w.pid().unwrap();
        let delay = Duration::from_millis(300);
        tend_until(&mut w, Some(delay), |w| w.pid().is_none());
        let down = Instant::now();
        tend_until(&mut w, Some(delay), |w| w.pid().is_some());
        assert!(down.elapsed() >= delay - Duration::from_millis(50));
        assert_ne!(w.pid(), Some(first));
        assert!(!w.forked());
        w.stop();
        // Without a delay it stays down.
        let mut w = witness_running("exit 0", tmp.path());
        tend_until(&mut w, None, |w| w.pid().is_none());
        for _ in 0..5 {
            w.tend(None).unwrap();
            assert!(w.pid().is_none());
        }
    }

    #[test]
    fn stopping_or_dropping_the_witness_ends_its_process() {
        let tmp = tempfile::tempdir().unwrap();
        let alive =
            |pid: u32| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok();
        let mut w = witness_running("exec sleep 60", tmp.path());
        let pid = w.pid().unwrap();
        assert_eq!(w.stop(), 0, "a SIGTERM is a clean stop");
        assert!(!alive(pid));
        w.tend(Some(Duration::ZERO)).unwrap();
        assert!(w.pid().is_none(), "a stopped witness stays down");

        let w = witness_running("exec sleep 60", tmp.path());
        let pid = w.pid().unwrap();
        drop(w);
        assert!(!alive(pid));
    }

    #[test]
    fn fork_proofs_are_found_in_the_home() {
        let tmp = tempfile::tempdir().unwrap();
        for f in [
            "fork-proof-12.json",
            "fork-proof-3.json",
            "witness.json",
            "x.json",
        ] {
            std::fs::write(tmp.path().join(f), "{}").unwrap();
        }
        let names: Vec<String> = fork_proofs(tmp.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["fork-proof-12.json", "fork-proof-3.json"]);
    }
}
