//! The devnet's demo feed against a real node: a one-validator network of
//! the devnet story's entities, governed as the devnet is (the treasury's
//! decisions by 2 of its 3 officials, a control rule naming KBNN), except
//! that the rule covers payments from 1 tỷ, so that many payments are
//! controlled within seconds. The runner must leave some of them with the
//! node (`POST /v1/awaiting`, where `GET /v1/awaiting` shows them waiting
//! for KBNN), post KBNN's signature seconds later so that they are
//! submitted and committed, let vendors acknowledge their payments, and
//! meet nothing unexpected on the way.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use genesis::{story, Genesis};
use ledger::crypto::read_key_file;
use ledger::state::ControlRule;
use ledger::{Amount, EntityId, Year};
use node::testnet::Governance;
use tools::client::Client;
use tools::demo::runner::FeedRunner;
use tools::demo::Feed;

/// Bound on the wait for the network's first block.
const WAIT: Duration = Duration::from_secs(60);
/// How long the feed runs.
const FEED_FOR: Duration = Duration::from_secs(30);
/// Its pace, in actions per second.
const RATE: f64 = 10.0;

fn id(s: &str) -> EntityId {
    EntityId::new(s).unwrap()
}

#[test]
fn the_feed_gathers_kbnns_signature_on_the_node_and_vendors_acknowledge() {
    let dir = tempfile::tempdir().unwrap();
    let governance = Governance {
        key_sets: vec![(
            id(story::TREASURY),
            story::TREASURY_KEYS.0,
            story::TREASURY_KEYS.1,
        )],
        rotation_delay: None,
        control: vec![ControlRule {
            ministry: None,
            amount: Amount(story::BILLION_VND),
            controller: id(story::CONTROLLER),
        }],
    };
    let (plan, mut node, log, _ports) =
        support::start_governed_story_node(dir.path(), "minhbach-demo-feed", &governance);
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    let url = format!("http://{}", plan.nodes[0].api);
    let client = Client::new(&url, None).unwrap();
    let deadline = Instant::now() + WAIT;
    while !client
        .get("/v1/status")
        .is_ok_and(|s| s["height"].as_u64() >= Some(1))
    {
        if let Some(status) = node.try_wait().unwrap() {
            panic!("the node exited ({status}):\n{}", said());
        }
        assert!(Instant::now() < deadline, "no first block:\n{}", said());
        std::thread::sleep(Duration::from_millis(100));
    }

    let genesis = Genesis::load(&plan.genesis).unwrap();
    let mut keys = BTreeMap::new();
    for e in &plan.entities {
        let held: Vec<_> = e.key_files().map(|f| read_key_file(f).unwrap()).collect();
        keys.insert(e.id.clone(), held);
    }
    let feed = Feed::new(genesis.state(), Year(2026), 17);
    let mut runner = FeedRunner::new(client.clone(), feed, keys, RATE, Instant::now());

    let end = Instant::now() + FEED_FOR;
    let mut seen_waiting: Option<serde_json::Value> = None;
    let mut next_look = Instant::now();
    while Instant::now() < end {
        let now = Instant::now();
        runner.step(now);
        if now >= next_look && seen_waiting.is_none() {
            let list = client.awaiting().unwrap();
            seen_waiting = list["awaiting"].as_array().and_then(|a| a.first()).cloned();
            next_look = now + Duration::from_millis(300);
        }
        if let Some(status) = node.try_wait().unwrap() {
            panic!("the node exited ({status}):\n{}", said());
        }
        let pause = runner.next_wake().saturating_duration_since(Instant::now());
        std::thread::sleep(pause.clamp(Duration::from_millis(1), Duration::from_millis(50)));
    }
    let stats = runner.stats();
    // Vendors sign nothing but acknowledgements.
    let acknowledged: usize = story::ENTITIES
        .iter()
        .filter(|e| e.kind == ledger::tx::EntityKind::Vendor)
        .map(|e| {
            let history = client.get(&format!("/v1/entities/{}/txs", e.id)).unwrap();
            history["txs"].as_array().map_or(0, Vec::len)
        })
        .sum();
    let _ = node.kill();
    let _ = node.wait();

    assert_eq!(stats.unexpected, 0, "{stats:?}\nthe node said:\n{}", said());
    assert!(stats.awaited >= 1, "{stats:?}");
    assert!(stats.cosigned >= 1, "{stats:?}");
    assert!(stats.committed >= 50, "{stats:?}");
    assert!(acknowledged >= 1, "no payment acknowledged: {stats:?}");
    let entry = seen_waiting.expect("GET /v1/awaiting showed a payment waiting");
    assert_eq!(entry["op"]["type"], "pay", "{entry}");
    assert_eq!(entry["needs"]["code"], "approval_required", "{entry}");
    assert_eq!(entry["waits_for"]["entity"], story::CONTROLLER, "{entry}");
    assert_eq!(
        entry["signatures"].as_array().map(Vec::len),
        Some(1),
        "{entry}"
    );
}
