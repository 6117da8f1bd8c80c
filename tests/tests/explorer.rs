//! The explorer as a reader meets it: a real network of four validators and
//! a full node, spending recorded through the API, and the full node's
//! explorer listener asked for pages over HTTP.

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use tests::cluster::Cluster;
use tests::{html, story};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);
/// The full node, which serves the explorer.
const FULL: usize = 4;

struct Explorer {
    base: String,
    http: Client,
}

impl Explorer {
    fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .expect("the explorer answers")
    }

    /// Status and body of `GET path`.
    fn page(&self, path: &str) -> (u16, String) {
        let r = self.get(path);
        (r.status().as_u16(), r.text().unwrap())
    }
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn a_reader_follows_an_appropriation_to_a_payment_and_can_verify_it() {
    let mut c = Cluster::new(BIN, 4, 1);
    c.start_all();
    c.wait_height(FULL, 1, BLOCKS);
    let x = Explorer {
        base: format!(
            "http://{}",
            c.node(FULL)
                .explorer
                .expect("the full node serves the explorer")
        ),
        // Redirects are what search answers; the test looks at them.
        http: Client::builder().redirect(Policy::none()).build().unwrap(),
    };

    let pay = story::appropriate_to_payment(&c, FULL, "C-E2E-1", BLOCKS);
    let (hash, height) = (pay.hash, pay.height);

    // The home page: ministries by their Vietnamese names, amounts the
    // Vietnamese way, the payment with who paid whom.
    let (status, home) = x.page("/");
    assert_eq!(status, 200);
    html::assert_story_home(&home);
    assert!(home.contains("(UTC+07:00)"));
    assert!(home.contains(&format!(r#"href="/blocks/{height}""#)));

    // Search by the payment's hash leads to its page.
    let r = x.get(&format!("/search?q={hash}"));
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(header(&r, "location"), format!("/txs/{hash}"));

    // The transaction page links to its block, the entities, the contract
    // and the audit bundle, and says how to verify it.
    let r = x.get(&format!("/txs/{hash}"));
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let tx_page = r.text().unwrap();
    for link in [
        format!(r#"href="/blocks/{height}""#),
        r#"href="/entities/BYT-BVBM""#.to_owned(),
        r#"href="/entities/V-0001""#.to_owned(),
        r#"href="/contracts/C-E2E-1""#.to_owned(),
        format!(r#"href="/v1/txs/{hash}/proof""#),
    ] {
        assert!(tx_page.contains(&link), "the transaction page lacks {link}");
    }
    assert!(tx_page.contains(&format!("minhbach proof tx {hash} --out proof.json")));

    // English on request: words and amount format change, names do not.
    let (_, en) = x.page("/?lang=en");
    assert!(en.contains("Budget 2026 by ministry"));
    assert_eq!(html::row(&en, "Bộ Y tế")[1], "5,000,000,000 ₫");
    let r = x
        .http
        .get(format!("{}/contracts/C-E2E-1", x.base))
        .header("accept-language", "en-US,en;q=0.8")
        .send()
        .unwrap();
    let contract_page = r.text().unwrap();
    assert_eq!(html::field(&contract_page, "Still to pay"), "800,000,000 ₫");
    assert_eq!(
        html::field(&contract_page, "Current amount"),
        "1,200,000,000 ₫"
    );

    // A block page is cached briefly: the witnesses who cosigned it can
    // still change.
    c.wait_height(FULL, height + 1, BLOCKS);
    let r = x.get(&format!("/blocks/{height}"));
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(header(&r, "cache-control"), "public, max-age=5");
    assert!(r
        .text()
        .unwrap()
        .contains(&format!(r#"href="/txs/{hash}""#)));

    // The genesis auditors verify against is the node's own.
    let served = genesis::Genesis::from_json(&x.get("/genesis.json").text().unwrap()).unwrap();
    let file = genesis::Genesis::load(&c.plan.genesis).unwrap();
    assert_eq!(served.hash(), file.hash());

    // Unknown pages are 404 in the layout; writes are 405.
    let (status, missing) = x.page("/blocks/999999999");
    assert_eq!(status, 404);
    assert!(missing.contains("Minh Bạch") && missing.contains("Chưa có khối"));
    let (status, _) = x.page("/entities/NO-SUCH-ONE");
    assert_eq!(status, 404);
    let post = x.http.post(format!("{}/", x.base)).send().unwrap();
    assert_eq!(post.status().as_u16(), 405);

    // A burst from one address is cut off with 429 and Retry-After. Last,
    // because it spends this client's allowance.
    let mut refused = None;
    for _ in 0..1_000 {
        let r = x.get("/healthz");
        if r.status().as_u16() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status().as_u16(), 200);
    }
    let refused = refused.expect("a burst of 1,000 requests is limited");
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
}
