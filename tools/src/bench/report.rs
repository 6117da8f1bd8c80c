//! What a bench run reports: the figures of a run turned into the summary
//! printed for people and the JSON object on the last line of stdout, and
//! the same for `--calibrate` alone.

use std::collections::BTreeMap;

use serde::Serialize;

use super::calibrate::Calibration;
use super::load::{Signed, World};
use super::submit::{self, Fate, Pace};
use super::window::Measured;
use super::{audit, procfs, readers, stats, BenchArgs};
use crate::Output;

/// The ceiling in the report.
#[derive(Clone, Copy, Debug, Serialize)]
struct Ceiling {
    #[serde(flatten)]
    calibration: Calibration,
    ceiling_tx_per_s: f64,
    /// The run's committed rate as a share of the ceiling.
    #[serde(skip_serializing_if = "Option::is_none")]
    percent_of_ceiling: Option<f64>,
}

/// CPU and memory of one process.
#[derive(Clone, Debug, Serialize)]
struct Usage {
    name: String,
    /// CPU time used from the start to the end of the submission, ÷ that
    /// time × 100 (above 100 when the process used more than one core).
    cpu_percent: Option<f64>,
    /// The largest resident set it had, in bytes.
    peak_rss_bytes: Option<u64>,
}

/// The node settings of the run.
#[derive(Clone, Debug, Serialize)]
pub(super) struct NodeSettings {
    pub(super) block_txs: usize,
    pub(super) block_bytes: usize,
    pub(super) block_interval_ms: u64,
    pub(super) mempool_txs: usize,
}

/// The last line of stdout.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    validators: usize,
    signers: usize,
    mix: String,
    rate: String,
    offered_tx_per_s: f64,
    duration_s: f64,
    txs_planned: usize,
    sent: u64,
    unsent: u64,
    accepted: u64,
    refused: BTreeMap<String, u64>,
    committed: u64,
    committed_in_window: u64,
    committed_tx_per_s: f64,
    latency_ms: Option<stats::Percentiles>,
    accepted_latency_ms: Option<stats::Percentiles>,
    submit_lag_ms: Option<stats::Percentiles>,
    blocks_in_window: u64,
    blocks_per_s: f64,
    txs_per_block: f64,
    pub(super) lost: u64,
    pub(super) duplicated: u64,
    untracked: u64,
    /// `complete`, or why the wait for the last commits gave up.
    drain: String,
    pub(super) chain_agrees: bool,
    heights: Vec<u64>,
    nodes: Vec<Usage>,
    bench: Usage,
    clock_ticks_per_s: u64,
    node_settings: NodeSettings,
    ceiling: Ceiling,
    /// The explorer readers' figures by page (`--readers`); empty without.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    readers: Vec<readers::PageFigures>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What [`report`] needs.
pub(super) struct ReportIn<'a> {
    pub(super) args: &'a BenchArgs,
    pub(super) world: &'a World,
    pub(super) measured: &'a Measured,
    pub(super) audit: &'a audit::Audit,
    pub(super) pace: Pace,
    pub(super) settings: NodeSettings,
    pub(super) calibration: Calibration,
    pub(super) signed: &'a [Signed],
}

pub(super) fn report(r: ReportIn<'_>) -> Report {
    let m = r.measured;
    let validators = m.first_seen.len();
    let window_s = (m.end_ns - m.start_ns) as f64 / 1e9;
    let records: Vec<stats::TxRecord> = m
        .sent
        .iter()
        .zip(&r.audit.found)
        .map(|(s, found)| stats::TxRecord {
            due_ns: m.start_ns + r.pace.due_ns(s.index),
            sent_ns: s.sent_ns,
            accepted_ns: s.accepted_ns,
            accepted: s.fate == Fate::Accepted,
            height: match found {
                audit::Found::Once(h) => Some(*h),
                _ => None,
            },
        })
        .collect();
    let mut f = stats::figures(&stats::Recorded {
        txs: &records,
        first_seen: &m.first_seen,
        block_txs: &r.audit.block_txs,
        window_ns: (m.start_ns, m.end_ns),
    });
    if let Pace::Max { .. } = r.pace {
        // Nothing is due at a given time, so there is no lag to speak of.
        f.submit_lag = None;
    }
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    for s in &m.sent {
        if let Fate::Refused(code) = &s.fate {
            *refused.entry(code.clone()).or_default() += 1;
        }
    }
    let count = |p: &dyn Fn(&submit::Sent, &audit::Found) -> bool| {
        m.sent
            .iter()
            .zip(&r.audit.found)
            .filter(|(s, f)| p(s, f))
            .count() as u64
    };
    let accepted = count(&|s, _| s.fate == Fate::Accepted);
    let sent = count(&|s, _| s.sent_ns.is_some());
    let lost = count(&|s, f| s.fate == Fate::Accepted && *f == audit::Found::Missing);
    let duplicated = count(&|_, f| *f == audit::Found::Repeated);
    let ticks_per_s = procfs::clock_ticks_per_s();
    let usage = |name: String, i: usize| {
        let (before, after) = m.cpu[i];
        Usage {
            name,
            cpu_percent: before.zip(after).map(|(b, a)| {
                round1(a.saturating_sub(b) as f64 / ticks_per_s as f64 / m.cpu_s * 100.0)
            }),
            peak_rss_bytes: m.peak_rss[i],
        }
    };
    let nodes = m
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| usage(name.clone(), i))
        .collect();
    let ceiling_tx_per_s = r.calibration.ceiling_tx_per_s(validators);
    let offered = match r.pace {
        Pace::Rate { per_s } => per_s,
        Pace::Max { .. } => sent as f64 / window_s,
    };
    Report {
        validators,
        signers: r.world.load_signers(),
        mix: r.args.mix.to_string(),
        rate: r.args.rate.to_string(),
        offered_tx_per_s: round1(offered),
        duration_s: round1(window_s),
        txs_planned: r.signed.len(),
        sent,
        unsent: r.signed.len() as u64 - sent,
        accepted,
        refused,
        committed: f.committed,
        committed_in_window: f.committed_in_window,
        committed_tx_per_s: round1(f.committed_tx_per_s),
        latency_ms: f.latency,
        accepted_latency_ms: f.accepted_latency,
        submit_lag_ms: f.submit_lag,
        blocks_in_window: f.blocks_in_window,
        blocks_per_s: round1(f.blocks_per_s),
        txs_per_block: round1(f.txs_per_block),
        lost,
        duplicated,
        untracked: f.untracked,
        drain: m.drain.clone(),
        chain_agrees: r.audit.first_divergence.is_none(),
        heights: r.audit.heights.clone(),
        nodes,
        bench: usage("bench".into(), m.names.len()),
        clock_ticks_per_s: ticks_per_s,
        node_settings: r.settings,
        ceiling: Ceiling {
            calibration: rounded(r.calibration),
            ceiling_tx_per_s: round1(ceiling_tx_per_s),
            percent_of_ceiling: Some(round1(f.committed_tx_per_s / ceiling_tx_per_s * 100.0)),
        },
        readers: if r.args.readers > 0 {
            readers::summarize(&readers::pages(r.world), &m.reads, (m.start_ns, m.end_ns))
        } else {
            Vec::new()
        },
    }
}

fn rounded(c: Calibration) -> Calibration {
    Calibration {
        cores: c.cores,
        verify_single_per_s: c.verify_single_per_s.round(),
        verify_batch_64_per_s: c.verify_batch_64_per_s.round(),
        verify_batch_1024_per_s: c.verify_batch_1024_per_s.round(),
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

fn percent(p: Option<f64>) -> String {
    p.map_or("?".into(), |p| format!("{p:.1}%"))
}

fn percentiles(p: &Option<stats::Percentiles>) -> String {
    p.map_or("none".into(), |p| {
        format!("p50 {}  p95 {}  p99 {}  max {}", p.p50, p.p95, p.p99, p.max)
    })
}

fn calibration_lines(c: &Calibration, validators: usize) -> Vec<String> {
    vec![
        format!(
            "  verification, one core   {} /s one by one, {} /s in batches of 64, {} /s in batches of 1024",
            thousands(c.verify_single_per_s),
            thousands(c.verify_batch_64_per_s),
            thousands(c.verify_batch_1024_per_s)
        ),
        format!(
            "  ceiling                  {} tx/s ({} cores × the batch rate ÷ {validators} validators)",
            thousands(c.ceiling_tx_per_s(validators)),
            c.cores
        ),
    ]
}

pub(super) fn print_calibration(c: &Calibration, validators: usize, output: Output) {
    if output != Output::Json {
        println!("calibration");
        for line in calibration_lines(c, validators) {
            println!("{line}");
        }
    }
    let ceiling = Ceiling {
        calibration: rounded(*c),
        ceiling_tx_per_s: round1(c.ceiling_tx_per_s(validators)),
        percent_of_ceiling: None,
    };
    println!(
        "{}",
        serde_json::json!({"validators": validators, "ceiling": ceiling})
    );
}

pub(super) fn print_report(r: &Report, output: Output) {
    if output != Output::Json {
        let refused = if r.refused.is_empty() {
            "none".to_owned()
        } else {
            let items: Vec<String> = r.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
            items.join(", ")
        };
        let mut lines = vec![
            format!(
                "bench: {} validators, {} signers ({}), rate {} for {} s",
                r.validators, r.signers, r.mix, r.rate, r.duration_s
            ),
            format!(
                "  accepted                 {} of {} sent ({} unsent; refused: {refused})",
                r.accepted, r.sent, r.unsent
            ),
            format!(
                "  committed                {} ({} lost, {} duplicated{}), chain {} up to height {}",
                r.committed,
                r.lost,
                r.duplicated,
                if r.untracked > 0 {
                    format!(", {} untracked", r.untracked)
                } else {
                    String::new()
                },
                if r.chain_agrees {
                    "identical on every validator"
                } else {
                    "DIFFERS between validators"
                },
                r.heights.iter().min().unwrap_or(&0)
            ),
            format!(
                "  committed tx/s           {} ({} committed within the window; {} tx/s offered)",
                r.committed_tx_per_s, r.committed_in_window, r.offered_tx_per_s
            ),
            format!("  latency ms               {}", percentiles(&r.latency_ms)),
            format!(
                "  from acceptance ms       {}",
                percentiles(&r.accepted_latency_ms)
            ),
            format!("  submit lag ms            {}", percentiles(&r.submit_lag_ms)),
            format!(
                "  blocks                   {} /s, {} transactions per block",
                r.blocks_per_s, r.txs_per_block
            ),
        ];
        lines.extend(calibration_lines(&r.ceiling.calibration, r.validators));
        if let Some(p) = r.ceiling.percent_of_ceiling {
            lines.push(format!("  share of the ceiling     {p}%"));
        }
        for p in &r.readers {
            lines.push(format!(
                "  explorer {:<15} {} requests ({} failed), ms {}",
                p.page,
                p.requests,
                p.failed,
                percentiles(&p.latency_ms)
            ));
        }
        for u in r.nodes.iter().chain([&r.bench]) {
            lines.push(format!(
                "  {:<24} cpu {}, peak memory {}",
                u.name,
                percent(u.cpu_percent),
                mib(u.peak_rss_bytes)
            ));
        }
        for line in lines {
            println!("{line}");
        }
    }
    println!(
        "{}",
        serde_json::to_string(r).expect("a report always serialises")
    );
}
