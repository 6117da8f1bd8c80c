//! `minhbach bench --readers N`: journalists reading the explorer while
//! the load commits. The explorer runs on a full node of its own, as an
//! operator runs it. N threads each fetch its pages in turn, pausing
//! [`READ_PAUSE_MS`] after each as a reader does: the home page, a ministry, the
//! department with the longest history (the first; `--history` signs a
//! share of every round with it), one of that department's contracts, and
//! a search that matches nothing, so it looks at every name and title.
//!
//! Every request's latency is kept with its start time; the report counts
//! the requests started within the window, by page ([`summarize`]).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::load::World;
use super::stats::Percentiles;
use super::submit::Halt;

/// How long a reader looks at a page before the next.
pub const READ_PAUSE_MS: u64 = 1_000;
/// How long one page may take before it counts as failed.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The pages the readers fetch, by name, with their paths in `world`.
pub fn pages(world: &World) -> Vec<(&'static str, String)> {
    let (ministry, department) = world.busiest();
    vec![
        ("home", "/".to_owned()),
        ("ministry", format!("/entities/{ministry}")),
        ("department", format!("/entities/{department}")),
        (
            "contract",
            format!("/contracts/{}", world.busiest_contract()),
        ),
        (
            "search",
            "/search?q=kh%C3%B4ng%20c%C3%B3%20g%C3%AC".to_owned(),
        ),
    ]
}

/// One request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Read {
    /// When it was sent, ns since the run's origin.
    pub at_ns: u64,
    /// Which page, an index into [`pages`].
    pub page: usize,
    /// How long the whole answer took, ns.
    pub took_ns: u64,
    /// Whether it was a 200 with its whole body.
    pub ok: bool,
}

/// Fetches `pages` from `explorer` (a base URL ending in `/`) in turn,
/// starting at page `first`, until `halt`.
pub fn run_reader(
    explorer: &str,
    pages: &[(&'static str, String)],
    first: usize,
    origin: Instant,
    halt: &Halt,
) -> Vec<Read> {
    let client = reqwest::blocking::Client::builder()
        .timeout(PAGE_TIMEOUT)
        .build()
        .expect("an HTTP client always builds");
    let base = explorer.trim_end_matches('/');
    let mut out = Vec::new();
    let mut page = first % pages.len();
    while !halt.is_set() {
        let sent = Instant::now();
        let at_ns = sent.duration_since(origin).as_nanos() as u64;
        let ok = client
            .get(format!("{base}{}", pages[page].1))
            .send()
            .ok()
            .filter(|r| r.status() == reqwest::StatusCode::OK)
            .and_then(|r| r.bytes().ok())
            .is_some();
        out.push(Read {
            at_ns,
            page,
            took_ns: sent.elapsed().as_nanos() as u64,
            ok,
        });
        page = (page + 1) % pages.len();
        let pause = Instant::now() + Duration::from_millis(READ_PAUSE_MS);
        while !halt.is_set() && Instant::now() < pause {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    out
}

/// One page's figures over the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PageFigures {
    /// The page's name.
    pub page: &'static str,
    /// Requests started within the window.
    pub requests: u64,
    /// Of those, the ones that failed or timed out.
    pub failed: u64,
    /// Their latency, failures included; `None` for no requests.
    pub latency_ms: Option<Percentiles>,
}

/// The figures of each page, then of all of them together (named `all`),
/// over the requests started within `window` (ns since the origin).
pub fn summarize(
    pages: &[(&'static str, String)],
    reads: &[Read],
    window: (u64, u64),
) -> Vec<PageFigures> {
    let within: Vec<&Read> = reads
        .iter()
        .filter(|r| (window.0..window.1).contains(&r.at_ns))
        .collect();
    let figures = |page: &'static str, of: &dyn Fn(&Read) -> bool| {
        let mine: Vec<&&Read> = within.iter().filter(|r| of(r)).collect();
        PageFigures {
            page,
            requests: mine.len() as u64,
            failed: mine.iter().filter(|r| !r.ok).count() as u64,
            latency_ms: Percentiles::of_ns(mine.iter().map(|r| r.took_ns).collect()),
        }
    };
    let mut out: Vec<PageFigures> = pages
        .iter()
        .enumerate()
        .map(|(i, (name, _))| figures(name, &|r: &Read| r.page == i))
        .collect();
    out.push(figures("all", &|_: &Read| true));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(at_ns: u64, page: usize, took_ms: u64, ok: bool) -> Read {
        Read {
            at_ns,
            page,
            took_ns: took_ms * 1_000_000,
            ok,
        }
    }

    #[test]
    fn figures_count_the_requests_started_within_the_window_by_page() {
        let pages = pages(&World::new(3));
        assert_eq!(pages.len(), 5);
        let reads = [
            read(5, 0, 1_000, true), // before the window
            read(10, 0, 10, true),
            read(11, 0, 30, false),
            read(12, 1, 20, true),
            read(19, 4, 40, true),
            read(20, 1, 1_000, true), // at its end: after it
        ];
        let f = summarize(&pages, &reads, (10, 20));
        let by_page: Vec<(&str, u64, u64)> =
            f.iter().map(|p| (p.page, p.requests, p.failed)).collect();
        assert_eq!(
            by_page,
            [
                ("home", 2, 1),
                ("ministry", 1, 0),
                ("department", 0, 0),
                ("contract", 0, 0),
                ("search", 1, 0),
                ("all", 4, 1)
            ]
        );
        assert_eq!(f[0].latency_ms.unwrap().p50, 10.0);
        assert_eq!(f[0].latency_ms.unwrap().max, 30.0);
        assert_eq!(f[2].latency_ms, None);
        assert_eq!(f[5].latency_ms.unwrap().max, 40.0);
    }
}
