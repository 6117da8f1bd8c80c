//! The explorer in a real browser: headless Chromium, driven over WebDriver
//! by a `chromedriver` this test starts, reads the full node's explorer of a
//! real network the way a journalist would. It finds the ministries on the
//! home page, searches for a payment by its hash, follows the payment's links
//! to its block, its payer and its contract, downloads the payment's audit
//! bundle with a click and checks it offline with `minhbach verify proof`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run`
//! installs them); without them the test fails and says so. When a step
//! fails, a screenshot and the page's source are saved in the test's folder,
//! which is then kept, and its path printed.

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tests::cluster::Cluster;
use tests::{html, story};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);
/// The full node, which serves the explorer.
const FULL: usize = 4;
/// The longest any one WebDriver command may take, page loads included.
const COMMAND: Duration = Duration::from_secs(30);
/// The longest the browser may take to reach a page or finish a download.
const BROWSER_WAIT: Duration = Duration::from_secs(20);
/// The longest chromedriver may take to answer its status route.
const DRIVER_START: Duration = Duration::from_secs(20);

const MISSING: &str = "the browser test needs headless Chromium and its WebDriver: install the \
     Debian packages `chromium` and `chromium-driver` (`apt-get install --no-install-recommends \
     chromium chromium-driver`; `bash .ci/run` installs them when they are missing)";

/// `name` in the directories of `PATH`, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whole đồng from an amount as a page writes it ("5.000.000.000 ₫").
fn dong(written: &str) -> u128 {
    let digits: String = written.chars().filter(char::is_ascii_digit).collect();
    digits.parse().expect("an amount in đồng")
}

/// Keeps a temporary folder after the test, for a failure's evidence.
fn keep(dir: tempfile::TempDir) -> PathBuf {
    dir.keep()
}

/// A `chromedriver` process in its own process group, with the browsers it
/// starts; the whole group is killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on a free port, logging to `log`, and waits until
    /// it says it is ready. A port taken in the meantime is retried.
    fn start(chromedriver: &Path, log: &Path) -> Result<Driver, String> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log_file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("open the chromedriver log");
            let child = {
                use std::os::unix::process::CommandExt;
                Command::new(chromedriver)
                    .arg(format!("--port={port}"))
                    .arg("--allowed-ips=127.0.0.1")
                    .stdin(Stdio::null())
                    .stdout(log_file.try_clone().expect("log handle"))
                    .stderr(log_file)
                    .process_group(0)
                    .spawn()
                    .expect("start chromedriver")
            };
            let mut driver = Driver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            match driver.wait_ready() {
                Ok(()) => return Ok(driver),
                Err(e) => last = e,
            }
        }
        Err(format!("chromedriver did not become ready: {last}"))
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("http client");
        let deadline = Instant::now() + DRIVER_START;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited with {status}"));
            }
            let ready = http
                .get(format!("{}/status", self.url))
                .send()
                .and_then(|r| r.json::<Value>())
                .map(|v| v["value"]["ready"] == true);
            if let Ok(true) = ready {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("no answer within {DRIVER_START:?}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// One browser session: a blocking face over the async WebDriver client.
/// Every command is bounded by [`COMMAND`]; if the test panics while the
/// session is open, the page is saved as `failure.png` and `failure.html`
/// in `dir`, which is kept.
struct Browser {
    client: Option<Client>,
    // Dropped after the client is closed, so that chromedriver can end the
    // browser itself first.
    _driver: Driver,
    rt: tokio::runtime::Runtime,
    dir: Option<tempfile::TempDir>,
    downloads: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session whose profile and
    /// downloads live in a new temporary folder. Fails naming the Debian
    /// packages when either program is missing.
    fn start() -> Browser {
        let chromium = on_path("chromium").or_else(|| on_path("chromium-browser"));
        let chromedriver = on_path("chromedriver");
        let (chromium, chromedriver) = match (chromium, chromedriver) {
            (Some(a), Some(b)) => (a, b),
            (a, b) => {
                let missing: Vec<&str> = [("chromium", a.is_none()), ("chromedriver", b.is_none())]
                    .into_iter()
                    .filter(|(_, m)| *m)
                    .map(|(n, _)| n)
                    .collect();
                panic!("{MISSING}; not found on PATH: {}", missing.join(", "));
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("minhbach-browser-")
            .tempdir()
            .expect("temporary folder");
        let profile = dir.path().join("profile");
        let downloads = dir.path().join("downloads");
        std::fs::create_dir(&profile).expect("profile folder");
        std::fs::create_dir(&downloads).expect("downloads folder");
        let log = dir.path().join("chromedriver.log");
        let driver = match Driver::start(&chromedriver, &log) {
            Ok(driver) => driver,
            Err(e) => panic!(
                "{e}; its log: {}",
                keep(dir).join("chromedriver.log").display()
            ),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");

        let caps = json!({
            "browserName": "chrome",
            // The console, read back by `Browser::console_errors`.
            "goog:loggingPrefs": { "browser": "ALL" },
            "pageLoadStrategy": "normal",
            "timeouts": { "pageLoad": 20_000, "script": 10_000, "implicit": 0 },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,1600",
                    "--lang=vi-VN",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                    "safebrowsing.enabled": false,
                    "intl.accept_languages": "vi-VN,vi",
                },
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let url = driver.url.clone();
        let connect = async move {
            ClientBuilder::new(HttpConnector::new())
                .capabilities(caps)
                .connect(&url)
                .await
        };
        let client = match rt.block_on(async { tokio::time::timeout(COMMAND, connect).await }) {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "chromedriver could not start Chromium: {e}; its log: {}",
                keep(dir).join("chromedriver.log").display()
            ),
            Err(_) => panic!(
                "chromedriver did not start Chromium within {COMMAND:?}; its log: {}",
                keep(dir).join("chromedriver.log").display()
            ),
        };
        Browser {
            client: Some(client),
            _driver: driver,
            rt,
            dir: Some(dir),
            downloads,
        }
    }

    /// Runs `f` to completion on the session's runtime; `None` if it takes
    /// longer than `limit`.
    fn within<F: Future>(&self, limit: Duration, f: F) -> Option<F::Output> {
        self.rt
            .block_on(async { tokio::time::timeout(limit, f).await })
            .ok()
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Runs one WebDriver command to completion, within [`COMMAND`].
    fn run<T, E: std::fmt::Display>(&self, what: &str, f: impl Future<Output = Result<T, E>>) -> T {
        match self.within(COMMAND, f) {
            Some(Ok(v)) => v,
            Some(Err(e)) => panic!("{what}: {e}"),
            None => panic!("{what}: no answer within {COMMAND:?}"),
        }
    }

    /// Opens `url` and waits for the page to load.
    fn goto(&self, url: &str) {
        self.run(&format!("open {url}"), self.client().goto(url));
    }

    /// The current page's path and query, as `/txs/ab…?lang=en`.
    fn location(&self) -> String {
        let url = self.run("read the URL", self.client().current_url());
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the browser shows `location` (path and query) and the
    /// page has loaded.
    fn wait_location(&self, location: &str) {
        let deadline = Instant::now() + BROWSER_WAIT;
        loop {
            let now = self.location();
            if now == location && self.ready() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the browser did not reach {location} within {BROWSER_WAIT:?}; it shows {now}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ready(&self) -> bool {
        let state = self.run(
            "read document.readyState",
            self.client()
                .execute("return document.readyState", Vec::new()),
        );
        state == "complete"
    }

    /// The first element matching the CSS selector; panics if there is none.
    fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.run(
            &format!("find {css:?} on {}", self.location()),
            self.client().find(Locator::Css(css)),
        )
    }

    /// The visible text of the first element matching `css`.
    fn text_of(&self, css: &str) -> String {
        let e = self.find(css);
        self.run(&format!("read the text of {css:?}"), e.text())
    }

    /// The page's visible text.
    fn text(&self) -> String {
        self.text_of("body")
    }

    /// The page's HTML as the browser holds it, for [`html::row`] and
    /// [`html::field`].
    fn html(&self) -> String {
        self.run("read the page's source", self.client().source())
    }

    /// An attribute of the first element matching `css`.
    fn attr(&self, css: &str, name: &str) -> Option<String> {
        let e = self.find(css);
        self.run(&format!("read {name} of {css:?}"), e.attr(name))
    }

    /// Clicks the first element matching `css`.
    fn click(&self, css: &str) {
        let e = self.find(css);
        self.run(&format!("click {css:?}"), e.click());
    }

    /// Types `text` into the first element matching `css`.
    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.run(&format!("type into {css:?}"), e.send_keys(text));
    }

    /// Goes back one page in the history.
    /// Runs `script` in the page and returns its value.
    fn script(&self, script: &str) -> Value {
        self.run("run a script", self.client().execute(script, Vec::new()))
    }

    /// The errors and warnings the browser's console logged since the last
    /// call (a refused inline style or script shows here).
    fn console_errors(&self) -> Vec<String> {
        let session = self
            .run("read the session id", self.client().session_id())
            .expect("a session");
        let url = format!("{}/session/{session}/se/log", self._driver.url);
        let logs: Value = reqwest::blocking::Client::new()
            .post(url)
            .json(&json!({ "type": "browser" }))
            .send()
            .and_then(|r| r.json())
            .expect("chromedriver's browser log");
        logs["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn back(&self) {
        self.run("go back", self.client().back());
    }

    /// Waits until the downloads folder holds a finished file whose name
    /// satisfies `wanted`, and nothing Chromium is still writing (its
    /// `.crdownload` files and hidden temporary ones); its path.
    fn wait_download(&self, wanted: impl Fn(&str) -> bool) -> PathBuf {
        let deadline = Instant::now() + BROWSER_WAIT;
        loop {
            let names: Vec<String> = std::fs::read_dir(&self.downloads)
                .expect("read the downloads folder")
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            let writing = names
                .iter()
                .any(|n| n.starts_with('.') || n.ends_with(".crdownload"));
            if let Some(name) = names.iter().find(|n| wanted(n)) {
                if !writing {
                    return self.downloads.join(name);
                }
            }
            assert!(
                Instant::now() < deadline,
                "no expected download finished in {} within {BROWSER_WAIT:?}; it holds {names:?}",
                self.downloads.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The test's folder.
    fn dir(&self) -> &Path {
        self.dir.as_ref().expect("the folder is kept").path()
    }

    /// Saves a screenshot and the page source into the test's folder.
    fn save_failure(&self) -> Result<(), String> {
        let client = self.client();
        let dir = self.dir();
        let png = self
            .within(COMMAND, client.screenshot())
            .ok_or_else(|| format!("no answer within {COMMAND:?}"))?
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("failure.png"), png).map_err(|e| e.to_string())?;
        let source = self
            .within(COMMAND, client.source())
            .ok_or_else(|| format!("no answer within {COMMAND:?}"))?
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("failure.html"), source).map_err(|e| e.to_string())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let saved = self.save_failure();
            let dir = keep(self.dir.take().expect("the folder"));
            match saved {
                Ok(_) => eprintln!(
                    "browser test failed: screenshot {0}/failure.png, page source \
                     {0}/failure.html, chromedriver log {0}/chromedriver.log",
                    dir.display()
                ),
                Err(e) => eprintln!(
                    "browser test failed; the page could not be saved ({e}); \
                     chromedriver log {}/chromedriver.log",
                    dir.display()
                ),
            }
        }
        if let Some(client) = self.client.take() {
            let _ = self.within(Duration::from_secs(10), client.close());
        }
    }
}

#[test]
fn a_journalist_finds_a_payment_in_the_browser_and_verifies_its_proof() {
    // The browser first: a machine without it fails here, before the network.
    let b = Browser::start();

    let mut c = Cluster::new(BIN, 4, 1);
    c.start_all();
    c.wait_height(FULL, 1, BLOCKS);
    let base = format!(
        "http://{}",
        c.node(FULL)
            .explorer
            .expect("the full node serves the explorer")
    );

    let pay = story::appropriate_to_payment(&c, FULL, "C-WEB-1", BLOCKS);
    let (hash, height) = (pay.hash, pay.height);
    let tx_path = format!("/txs/{hash}");

    // The home page, in Vietnamese for a browser set to Vietnamese:
    // ministries by name, amounts the Vietnamese way, the payment with who
    // paid whom.
    b.goto(&format!("{base}/"));
    assert_eq!(b.attr("html", "lang").as_deref(), Some("vi"));
    assert_eq!(b.text_of("h1"), "Theo dõi ngân sách nhà nước");
    let home = b.text();
    assert!(home.contains("Ngân sách năm 2026 theo bộ"));
    // Each figure in its row, under its column.
    html::assert_story_home(&b.html());

    // The money flow: the bands leaving the treasury add up, ministry by
    // ministry, to what the table says each received; clicking a band
    // opens the ministry.
    let bands = b.script(
        "return Array.from(document.querySelectorAll('figure.chart-flow path.band[data-stage=\"0\"]'))\
         .map(e => [e.getAttribute('data-to'), e.getAttribute('data-amount')])",
    );
    let bands: Vec<(String, u128)> = bands
        .as_array()
        .expect("a list of bands")
        .iter()
        .map(|p| {
            let to = p[0].as_str().expect("a ministry").to_owned();
            let amount = p[1]
                .as_str()
                .expect("an amount")
                .parse()
                .expect("whole đồng");
            (to, amount)
        })
        .collect();
    assert_eq!(bands.len(), 1, "one ministry has money: {bands:?}");
    assert_eq!(bands[0].0, "BYT");
    let received = html::row(&b.html(), "Bộ Y tế")[1].clone();
    assert_eq!(
        bands[0].1,
        dong(&received),
        "the band and the table disagree"
    );
    b.click(r#"figure.chart-flow a[href="/entities/BYT"]"#);
    b.wait_location("/entities/BYT");
    assert_eq!(b.text_of("h1"), "Bộ Y tế");
    b.find("figure.chart-flow svg[role=img]");
    b.find("figure.chart-execution");
    b.back();
    b.wait_location("/");
    // The pages forbid scripts, and the browser found nothing to complain of.
    let headers = reqwest::blocking::get(format!("{base}/"))
        .expect("the home page")
        .headers()
        .clone();
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "CSP: {csp:?}");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP: {csp:?}");
    assert_eq!(b.console_errors(), Vec::<String>::new());

    // Search: the payment's hash typed into the box leads to its page.
    b.type_into("form.search input[name=q]", &hash);
    b.click("form.search button[type=submit]");
    b.wait_location(&tx_path);
    assert_eq!(b.text_of("h1"), "Giao dịch");
    let tx_page = b.text();
    for text in [
        hash.as_str(),
        "Đã ghi vào khối",
        "Thanh toán",
        "Bệnh viện Bạch Mai",
        "400.000.000 ₫",
        "HĐ-07/2026",
    ] {
        assert!(
            tx_page.contains(text),
            "the transaction page lacks {text:?}"
        );
    }

    // Its block lists it.
    b.click(&format!(r#"main a[href="/blocks/{height}"]"#));
    b.wait_location(&format!("/blocks/{height}"));
    assert_eq!(b.text_of("h1"), format!("Khối {height}"));
    assert!(b.text().contains("Thanh toán"));
    b.find(&format!(r#"a[href="{tx_path}"]"#));
    b.back();
    b.wait_location(&tx_path);

    // The payer: its name and its budget line.
    b.click(r#"main a[href="/entities/BYT-BVBM"]"#);
    b.wait_location("/entities/BYT-BVBM");
    assert_eq!(b.text_of("h1"), "Bệnh viện Bạch Mai");
    let entity = b.text();
    for text in [
        "YTE.DTPT",
        "3.000.000.000 ₫",
        "1.200.000.000 ₫",
        "400.000.000 ₫",
    ] {
        assert!(entity.contains(text), "the entity page lacks {text:?}");
    }
    b.back();
    b.wait_location(&tx_path);

    // The contract: what was bought, from whom, how much is paid and owed,
    // and this payment among its payments.
    b.click(r#"main a[href="/contracts/C-WEB-1"]"#);
    b.wait_location("/contracts/C-WEB-1");
    assert_eq!(b.text_of("h1"), "Hợp đồng C-WEB-1");
    // Each figure beside its label.
    let contract_page = b.html();
    for (label, value) in [
        ("Nội dung", "Máy chụp cộng hưởng từ"),
        ("Nhà cung cấp", "Công ty TNHH Thiết bị Y tế Sông Hồng"),
        ("Giá trị hiện tại", "1.200.000.000 ₫"),
        ("Còn phải trả", "800.000.000 ₫"),
    ] {
        assert_eq!(html::field(&contract_page, label), value, "{label}");
    }
    assert!(html::field(&contract_page, "Đã thanh toán").starts_with("400.000.000 ₫"));
    b.find(&format!(r#"a[href="{tx_path}"]"#));
    b.back();
    b.wait_location(&tx_path);

    // The audit bundle, downloaded with a click, verifies offline against
    // the genesis file.
    let link = format!(r#"a[href="/v1/txs/{hash}/proof"]"#);
    assert!(b.attr(&link, "download").is_some(), "the link downloads");
    b.click(&link);
    // The server's Content-Disposition names the file, over the link's
    // shorter `download` name.
    let downloaded = b.wait_download(|name| {
        name.starts_with("proof-") && name.contains(&hash[..12]) && name.ends_with(".json")
    });
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(&downloaded).unwrap()).expect("the bundle is JSON");
    assert_eq!(bundle["tx"]["hash"], hash.as_str());
    let proof = b.dir().join("proof.json");
    std::fs::copy(&downloaded, &proof).unwrap();
    let out = Command::new(BIN)
        .args(["verify", "proof"])
        .arg(&proof)
        .arg("--genesis")
        .arg(&c.plan.genesis)
        .output()
        .expect("run minhbach verify proof");
    assert!(
        out.status.success(),
        "minhbach verify proof exited with {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // English on request, over the browser's Vietnamese, and it stays
    // English through search.
    b.goto(&format!("{base}/?lang=en"));
    assert_eq!(b.attr("html", "lang").as_deref(), Some("en"));
    assert!(b.text().contains("Budget 2026 by ministry"));
    let en = b.html();
    assert_eq!(html::row(&en, "Bộ Y tế")[1], "5,000,000,000 ₫");
    assert_eq!(html::row(&en, "Bộ Y tế")[4], "400,000,000 ₫");
    b.type_into("form.search input[name=q]", &hash);
    b.click("form.search button[type=submit]");
    b.wait_location(&format!("{tx_path}?lang=en"));
    assert_eq!(b.text_of("h1"), "Transaction");
    assert!(b.text().contains("400,000,000 ₫"));
}
