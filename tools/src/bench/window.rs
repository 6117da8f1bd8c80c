//! The timed part of a bench run once the validators are ready: the setup
//! phases sent and committed on every validator, the submission window
//! with its progress bar and CPU samples, and the drain that waits for the
//! last accepted transactions to commit.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::load::Signed;
use super::submit::{self, Halt, Pace, Probe, Run};
use super::{
    procfs, DRAIN_IDLE_MS, DRAIN_TIMEOUT_MS, SETUP_PHASE_TIMEOUT_MS, START_LEAD_MS, WATCH_MS,
};
use crate::nodes::Nodes;

/// Waits until every probe reports at least `txs` committed transactions.
/// `Ok(false)` if interrupted.
fn wait_committed(
    txs: u64,
    probes: &[Probe],
    nodes: &mut Nodes,
    halt: &Halt,
    timeout: Duration,
    what: &str,
) -> anyhow::Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if halt.is_set() {
            return Ok(false);
        }
        if nodes.check_exits().is_some() {
            bail!("a node exited during {what}");
        }
        let least = probes
            .iter()
            .map(|p| p.committed_txs.load(Ordering::SeqCst))
            .min()
            .unwrap_or(0);
        if least >= txs {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            bail!(
                "{what}: {least} of {txs} transactions committed on every validator after {} s",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(submit::PROBE_INTERVAL_MS));
    }
}

/// How long setup waits before sending again what a node refused
/// `mempool_full` (its `Retry-After` is 1 s; setup is the only client).
const SETUP_RETRY_MS: u64 = 250;

/// Sends the setup phases to one validator, each once the previous one is
/// committed on every validator; returns how many transactions they hold.
/// What the node refuses `mempool_full` (more than it commits soon) is
/// sent again until the phase's time is up.
pub(super) fn send_setup(
    setup: &[Vec<Signed>],
    api: &str,
    probes: &[Probe],
    nodes: &mut Nodes,
    halt: &Halt,
) -> anyhow::Result<u64> {
    let client = submit::submit_client();
    let url = format!("{api}/v1/txs/batch");
    let mut total = 0;
    for (i, phase) in setup.iter().enumerate() {
        let what = format!("setup phase {} of {}", i + 1, setup.len());
        let deadline = Instant::now() + Duration::from_millis(SETUP_PHASE_TIMEOUT_MS);
        let mut todo: Vec<&Signed> = phase.iter().collect();
        while !todo.is_empty() {
            if halt.is_set() {
                return Ok(total);
            }
            let mut refused = Vec::new();
            for chunk in todo.chunks(submit::BATCH_TXS_MAX) {
                let body = submit::batch_body(chunk.iter().map(|s| s.bytes.as_slice()));
                let results = match submit::post_batch(&client, &url, body, chunk.len()) {
                    Ok(results) => results,
                    Err(r) if r.code == "mempool_full" && Instant::now() < deadline => {
                        refused.extend_from_slice(chunk);
                        continue;
                    }
                    Err(r) => bail!("{what}: {}: {}", r.code, r.message),
                };
                for (&s, r) in chunk.iter().zip(results) {
                    match r {
                        Ok(hash) if hash == s.hash.0 => {}
                        Ok(_) => bail!("{what}: the node answered another hash for {}", s.hash),
                        Err(r) if r.code == "mempool_full" && Instant::now() < deadline => {
                            refused.push(s)
                        }
                        Err(r) => bail!("{what}: {} refused: {}: {}", s.hash, r.code, r.message),
                    }
                }
            }
            if !refused.is_empty() {
                std::thread::sleep(Duration::from_millis(SETUP_RETRY_MS));
            }
            todo = refused;
        }
        total += phase.len() as u64;
        let timeout = Duration::from_millis(SETUP_PHASE_TIMEOUT_MS);
        if !wait_committed(total, probes, nodes, halt, timeout, &what)? {
            return Ok(total);
        }
        eprintln!("bench: {what} committed ({} transactions)", phase.len());
    }
    Ok(total)
}

/// What [`measure`] needs.
pub(super) struct MeasureIn<'a> {
    pub(super) origin: Instant,
    pub(super) pace: Pace,
    pub(super) duration: Duration,
    pub(super) signed: &'a [Signed],
    /// The validator each load transaction goes to.
    pub(super) pinned: &'a [usize],
    pub(super) probes: &'a [Probe],
    pub(super) apis: &'a [String],
    pub(super) setup_txs: u64,
    pub(super) halt: &'a Halt,
}

/// What a run recorded.
pub(super) struct Measured {
    /// One per load transaction, in load order.
    pub(super) sent: Vec<submit::Sent>,
    /// Per validator, by height: first seen (ns since the origin).
    pub(super) first_seen: Vec<Vec<Option<u64>>>,
    pub(super) start_ns: u64,
    pub(super) end_ns: u64,
    /// The nodes' names (validators, then the full node of `--readers`),
    /// in the order of `cpu` and `peak_rss`, which then give this process.
    pub(super) names: Vec<String>,
    /// CPU ticks of each node and of this process at the start and end of
    /// the submission, and the seconds between the two samples.
    pub(super) cpu: Vec<(Option<u64>, Option<u64>)>,
    pub(super) cpu_s: f64,
    pub(super) peak_rss: Vec<Option<u64>>,
    pub(super) drain: String,
    /// The explorer readers' requests (`--readers`), all of them.
    pub(super) reads: Vec<super::readers::Read>,
}

/// The submission window and the drain after it. `Ok(None)` if interrupted.
pub(super) fn measure(
    nodes: &mut Nodes,
    pids: &[(String, u32)],
    m: MeasureIn<'_>,
) -> anyhow::Result<Option<Measured>> {
    if m.halt.is_set() {
        return Ok(None);
    }
    let validators = m.apis.len();
    let mut mine: Vec<Vec<usize>> = vec![Vec::new(); validators];
    for (i, v) in m.pinned.iter().enumerate() {
        mine[*v].push(i);
    }
    let start = Instant::now() + Duration::from_millis(START_LEAD_MS);
    let end = start + m.duration;
    let run = Run {
        origin: m.origin,
        start,
        end,
        pace: m.pace,
        signed: m.signed,
        probes: m.probes,
        committed_before: m.setup_txs,
        accepted: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        halt: m.halt,
    };
    let mut all_pids: Vec<u32> = pids.iter().map(|(_, p)| *p).collect();
    all_pids.push(std::process::id());
    let ticks =
        |pids: &[u32]| -> Vec<Option<u64>> { pids.iter().map(|p| procfs::cpu_ticks(*p)).collect() };
    let bar = progress(m.duration, std::io::stderr().is_terminal());
    let (per_validator, cpu) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..validators)
            .map(|v| {
                let (api, mine, run) = (&m.apis[v], &mine[v], &run);
                scope.spawn(move || submit::run_submitter(api, mine, validators, run))
            })
            .collect();
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
        let before = (Instant::now(), ticks(&all_pids));
        while Instant::now() < end && !m.halt.is_set() {
            if nodes.check_exits().is_some() {
                m.halt.done.store(true, Ordering::SeqCst);
                bail!("a node exited during the run");
            }
            let elapsed = start.elapsed().as_millis() as u64;
            bar.set_position(elapsed.min(m.duration.as_millis() as u64));
            bar.set_message(format!(
                "sent {}, accepted {}, committed {}",
                run.sent.load(Ordering::SeqCst),
                run.accepted.load(Ordering::SeqCst),
                run.committed()
            ));
            let wake = (Instant::now() + Duration::from_millis(WATCH_MS)).min(end);
            std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        }
        let after = (Instant::now(), ticks(&all_pids));
        let results: Vec<Vec<submit::Sent>> = handles
            .into_iter()
            .map(|h| h.join().expect("a submitter does not panic"))
            .collect();
        let cpu_s = after.0.duration_since(before.0).as_secs_f64();
        let cpu: Vec<_> = before.1.into_iter().zip(after.1).collect();
        Ok((results, (cpu, cpu_s)))
    })?;
    let (cpu, cpu_s) = cpu;
    if m.halt.is_set() {
        bar.abandon();
        return Ok(None);
    }

    // Every accepted transaction committed on every validator, or give up.
    let accepted = run.accepted.load(Ordering::SeqCst);
    let target = m.setup_txs + accepted;
    bar.set_message(format!("waiting for {accepted} accepted to commit"));
    let deadline = Instant::now() + Duration::from_millis(DRAIN_TIMEOUT_MS);
    let (mut last, mut last_change) = (run.committed(), Instant::now());
    let drain = loop {
        if m.halt.is_set() {
            bar.abandon();
            return Ok(None);
        }
        if nodes.check_exits().is_some() {
            bail!("a node exited while the last transactions were committed");
        }
        let committed = run.committed();
        if committed + m.setup_txs >= target {
            break "complete".to_owned();
        }
        let now = Instant::now();
        if committed != last {
            (last, last_change) = (committed, now);
        }
        if now.duration_since(last_change) >= Duration::from_millis(DRAIN_IDLE_MS) {
            break format!(
                "gave up after {} s without a commit, {committed} of {accepted} committed",
                DRAIN_IDLE_MS / 1000
            );
        }
        if now >= deadline {
            break format!(
                "gave up after {} s, {committed} of {accepted} committed",
                DRAIN_TIMEOUT_MS / 1000
            );
        }
        std::thread::sleep(Duration::from_millis(submit::PROBE_INTERVAL_MS));
    };
    // Every probe must have seen the highest height any has seen, so every
    // committed transaction has a commit instant.
    let top = m
        .probes
        .iter()
        .map(|p| p.height.load(Ordering::SeqCst))
        .max()
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_millis(DRAIN_IDLE_MS);
    while m
        .probes
        .iter()
        .any(|p| p.height.load(Ordering::SeqCst) < top)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(submit::PROBE_INTERVAL_MS));
    }
    bar.finish_and_clear();
    if drain != "complete" {
        eprintln!("bench: draining {drain}");
    }
    let peak_rss = all_pids
        .iter()
        .map(|p| procfs::peak_rss_bytes(*p))
        .collect();

    let mut sent: Vec<Option<submit::Sent>> = vec![None; m.signed.len()];
    for s in per_validator.into_iter().flatten() {
        let i = s.index;
        sent[i] = Some(s);
    }
    let sent: Vec<submit::Sent> = sent
        .into_iter()
        .map(|s| s.expect("every load transaction has a submitter"))
        .collect();
    let ns = |t: Instant| t.duration_since(m.origin).as_nanos() as u64;
    let (start_ns, mut end_ns) = (ns(start), ns(end));
    if let Pace::Max { .. } = m.pace {
        // The load ran out before the end: the window ends where it did.
        let last_sent = sent.iter().map(|s| s.sent_ns).collect::<Option<Vec<_>>>();
        if let Some(last) = last_sent.and_then(|t| t.into_iter().max()) {
            if last < end_ns {
                eprintln!(
                    "bench: all {} transactions were sent {:.1} s into the window, which ends \
                     there; --txs sends more",
                    sent.len(),
                    (last - start_ns) as f64 / 1e9
                );
                end_ns = last.max(start_ns + 1);
            }
        }
    }
    Ok(Some(Measured {
        sent,
        first_seen: Vec::new(),
        start_ns,
        end_ns,
        names: pids.iter().map(|(name, _)| name.clone()).collect(),
        cpu,
        cpu_s,
        peak_rss,
        drain,
        reads: Vec::new(),
    }))
}

/// The progress of the window on stderr when it is a terminal; nothing
/// otherwise, so pipes and tests see only the report.
fn progress(duration: Duration, terminal: bool) -> ProgressBar {
    if !terminal {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(duration.as_millis() as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("bench [{bar:30}] {elapsed_precise} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}
