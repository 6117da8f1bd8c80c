//! Equivocation evidence over a real network (SPEC §4 "Evidence", §5).
//!
//! Four validators are generated; three run as processes (three of four
//! still make a quorum). The fourth is played inside the test by an
//! in-process libp2p peer with validator 3's node key, so the others let it
//! in, and validator 3's consensus key, with which it signs two conflicting
//! prevotes for the same height and round and gossips both. The test then
//! checks that the honest validators detect the equivocation, commit it in
//! a block, show it in `/v1/evidence` and in that block, count each offence
//! once even when the evidence is gossiped again, and still agree on every
//! block. A second test gossips false evidence (against a validator that
//! had not joined yet at that height) and checks that it is refused and the
//! chain goes on.
//!
//! Every wait has a deadline; the processes are killed and the peer's
//! runtime shut down when the test ends, even by a panic.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ledger::crypto::{read_key_file, SigningKey};
use ledger::{Evidence, Hash, Height, Op, Vote, VoteType};
use libp2p::{Multiaddr, PeerId};
use node::wire::VoteMsg;
use serde_json::Value;
use tests::cluster::{wait_for, Cluster};
use tests::peer::Peer;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(30);
/// The running validators; validator 3 is the in-process equivocator.
const HONEST: [usize; 3] = [0, 1, 2];
const BYZANTINE: usize = 3;

// ---- the equivocation ----

/// The two conflicting values validator 3 prevotes for at `height`: a block
/// hash and nil at even heights, two block hashes at odd ones.
fn conflicting(height: u64) -> [Option<Hash>; 2] {
    let a = Some(Hash::digest(b"evidence test: block a, never proposed"));
    if height % 2 == 1 {
        [
            a,
            Some(Hash::digest(b"evidence test: block b, never proposed")),
        ]
    } else {
        [a, None]
    }
}

/// The API's `values` of evidence for `conflicting(height)`, sorted.
fn expected_values(height: u64) -> Vec<Value> {
    let mut v: Vec<Value> = conflicting(height)
        .iter()
        .map(|h| serde_json::to_value(h).unwrap())
        .collect();
    v.sort_by_key(|x| x.to_string());
    v
}

fn prevote(key: &SigningKey, chain_id: &str, height: u64, value: Option<Hash>) -> Vote {
    Vote::sign(key, chain_id, VoteType::Prevote, Height(height), 0, value)
}

// ---- reading the chain ----

/// An offence as the API shows it: validator, height, round, vote type.
type Offence = (String, u64, u64, String);

fn offence(e: &Value) -> Offence {
    (
        e["validator"].as_str().expect("validator").to_owned(),
        e["height"].as_u64().expect("height"),
        e["round"].as_u64().expect("round"),
        e["vote_type"].as_str().expect("vote_type").to_owned(),
    )
}

/// Node `i`'s `/v1/evidence` list.
fn evidence_list(c: &Cluster, i: usize) -> Option<Vec<Value>> {
    let v = c.client(i).get("/v1/evidence").ok()?;
    v["evidence"].as_array().cloned()
}

/// Node `i`'s block at `h`, which it must have.
fn block(c: &Cluster, i: usize, h: u64) -> Value {
    c.client(i)
        .get(&format!("/v1/blocks/{h}"))
        .unwrap_or_else(|e| panic!("node {i} has no block {h}: {e}"))
}

/// The last height every honest validator has.
fn common_height(c: &Cluster) -> u64 {
    HONEST
        .iter()
        .map(|&i| c.height(i).expect("node answers"))
        .min()
        .unwrap()
}

/// Waits until every honest validator has committed `h`.
fn wait_all(c: &Cluster, h: u64, timeout: Duration) {
    for i in HONEST {
        c.wait_height(i, h, timeout);
    }
}

/// Four validators of which 0..=2 run, at height 2 or more, and validator
/// 3 played in process, connected to and heard by all three.
fn network() -> (Cluster, Peer) {
    let mut c = Cluster::new(BIN, 4, 0);
    for i in HONEST {
        c.start(i);
    }
    wait_all(&c, 2, BLOCKS);
    let node_key = read_key_file(&c.node(BYZANTINE).home.join("node_key")).expect("node key");
    let targets: Vec<(PeerId, Multiaddr)> = HONEST
        .iter()
        .map(|&i| {
            let n = c.node(i);
            let peer: PeerId = n.peer_id.to_string().parse().expect("peer id");
            let addr: Multiaddr = n.dial_address().parse().expect("multiaddr");
            (peer, addr)
        })
        .collect();
    let peer = Peer::start(node_key.seed(), targets);
    wait_for(
        "the honest validators to accept validator 3 and subscribe",
        Duration::from_secs(20),
        || (peer.subscribed() == HONEST.len()).then_some(()),
    );
    (c, peer)
}

#[test]
fn equivocation_is_detected_gossiped_committed_once_and_shown_in_the_api() {
    let (c, peer) = network();
    let chain_id = c.plan.chain_id.clone();
    let consensus_key = c.validator_key(BYZANTINE);
    let byzantine = consensus_key.public_key().to_hex();

    // Equivocate at the height being decided and the next one (votes for
    // past heights are ignored), a few times while heights advance.
    let mut sent: BTreeMap<u64, [Vote; 2]> = BTreeMap::new();
    let mut serial = 0u64;
    for _ in 0..5 {
        let committed = c.height(0).expect("node 0 answers");
        for h in [committed + 1, committed + 2] {
            let votes = sent.entry(h).or_insert_with(|| {
                conflicting(h).map(|v| prevote(&consensus_key, &chain_id, h, v))
            });
            for vote in votes.iter() {
                serial += 1;
                let msg = VoteMsg {
                    vote: vote.clone(),
                    sent_ms: node::driver::now_ms() + serial,
                };
                peer.publish_vote(&msg)
                    .unwrap_or_else(|e| panic!("publishing a vote for height {h}: {e}"));
            }
        }
        std::thread::sleep(Duration::from_millis(800));
    }
    let last_sent = *sent.keys().last().unwrap();

    // Every honest validator commits evidence against validator 3.
    for i in HONEST {
        wait_for(
            &format!("node {i} to list evidence against validator 3"),
            BLOCKS,
            || {
                let list = evidence_list(&c, i)?;
                list.iter()
                    .any(|e| e["validator"] == byzantine.as_str())
                    .then_some(())
            },
        );
    }

    // The validators gossiped what they detected: validator 3's peer got it
    // on the evidence topic.
    let committed = evidence_list(&c, 0).expect("node 0 answers");
    let gossiped = wait_for(
        "the committed evidence to have reached validator 3 by gossip",
        Duration::from_secs(10),
        || {
            let got = peer.received_evidence();
            committed
                .iter()
                .all(|e| {
                    got.iter().any(|g| {
                        g.a.validator == consensus_key.public_key()
                            && g.height().0 == e["height"].as_u64().unwrap()
                            && g.a.vote_type == VoteType::Prevote
                    })
                })
                .then_some(got)
        },
    );

    // Gossip the committed evidence again in both vote orders: it is still
    // valid, but its offence is committed, so it must not be committed again.
    // The order the validators sent is a duplicate to gossip; the other is new.
    for e in &committed {
        let h = e["height"].as_u64().expect("height");
        let [a, b] = sent
            .get(&h)
            .unwrap_or_else(|| panic!("evidence for height {h}, where nothing was sent: {e}"))
            .clone();
        let mut fresh = 0;
        for ev in [
            Evidence {
                a: a.clone(),
                b: b.clone(),
            },
            Evidence { a: b, b: a },
        ] {
            match peer.publish_evidence(&ev) {
                Ok(()) => fresh += 1,
                Err(why) if why.contains("Duplicate") && gossiped.contains(&ev) => {}
                Err(why) => panic!("publishing evidence for height {h}: {why}"),
            }
        }
        assert!(
            fresh >= 1,
            "neither order of the evidence for height {h} was new"
        );
    }

    // Let pools drain and any repeat show up: a few blocks past both the
    // last height voted on and the regossip.
    let until = last_sent.max(common_height(&c)) + 3;
    wait_all(&c, until, BLOCKS);
    drop(peer);

    let top = common_height(&c);
    let mut chains = Vec::new();
    for i in HONEST {
        // Evidence as the blocks carry it, and as /v1/evidence lists it.
        let mut in_blocks = Vec::new();
        let mut hashes = Vec::new();
        for h in 1..=top {
            let b = block(&c, i, h);
            hashes.push(b["hash"].as_str().expect("block hash").to_owned());
            let evidence = b["evidence"].as_array().expect("evidence array");
            assert!(
                evidence.len() <= 16,
                "node {i}: block {h} carries {}",
                evidence.len()
            );
            for e in evidence {
                assert_eq!(e["committed_at"], h, "node {i}: block {h}: {e}");
                in_blocks.push(e.clone());
            }
        }
        let listed: Vec<Value> = evidence_list(&c, i)
            .expect("node answers")
            .into_iter()
            .filter(|e| e["committed_at"].as_u64().expect("committed_at") <= top)
            .collect();
        // One block's pieces are listed in the store's order, not the block's.
        let key = |e: &Value| (e["committed_at"].as_u64(), offence(e), e.to_string());
        let mut listed = listed;
        listed.sort_by_key(key);
        in_blocks.sort_by_key(key);
        assert_eq!(
            listed, in_blocks,
            "node {i}: /v1/evidence is not the evidence of its blocks"
        );
        chains.push((hashes, listed));
    }

    // All three agree on every block, so on the evidence too.
    for (k, (hashes, _)) in chains.iter().enumerate().skip(1) {
        for (h, (a, b)) in chains[0].0.iter().zip(hashes).enumerate() {
            assert_eq!(
                a,
                b,
                "node {} differs from node 0 at height {}",
                HONEST[k],
                h + 1
            );
        }
    }
    let evidence = &chains[0].1;
    assert!(!evidence.is_empty());

    // Each piece is validator 3's prevote equivocation at a height it was
    // sent for, committed at or after that height, and each offence once.
    let mut offences = BTreeSet::new();
    for e in evidence {
        let h = e["height"].as_u64().unwrap();
        let at = e["committed_at"].as_u64().unwrap();
        assert_eq!(e["validator"], byzantine.as_str(), "{e}");
        assert_eq!(e["vote_type"], "prevote", "{e}");
        assert_eq!(e["round"], 0, "{e}");
        assert!(
            sent.contains_key(&h),
            "evidence for a height not voted on: {e}"
        );
        assert!(h <= at, "evidence committed before its height: {e}");
        let mut values = e["values"].as_array().expect("values").clone();
        values.sort_by_key(|x| x.to_string());
        assert_eq!(values, expected_values(h), "{e}");
        assert!(
            offences.insert(offence(e)),
            "offence committed twice: {e} in {evidence:#?}"
        );
    }
    eprintln!(
        "evidence for heights {:?} committed; sent for {:?}; chain at {top}",
        evidence
            .iter()
            .map(|e| (
                e["height"].as_u64().unwrap(),
                e["committed_at"].as_u64().unwrap()
            ))
            .collect::<Vec<_>>(),
        sent.keys().collect::<Vec<_>>()
    );
}

/// Regression: in the pause after committing L, a validator's consensus is
/// still at height L while its committed state already holds set(L+1). It
/// used to check evidence for height L against set(L+1), so it pooled
/// "evidence" against a validator that joined at L+1 signed for L; every
/// block it then proposed carried evidence the others rightly refuse (they
/// check it against set(L)), and once all validators had pooled it the
/// chain stopped.
#[test]
fn evidence_for_the_height_just_committed_is_checked_against_that_heights_set() {
    let (c, peer) = network();
    let chain_id = c.plan.chain_id.clone();
    // A validator joins with little power (so 0..=2 keep a quorum) and
    // never runs; only its key matters.
    let joiner = SigningKey::generate();
    let add = c.sign_next(
        0,
        "BTC",
        Op::AddValidator {
            name: "validator-4".into(),
            consensus_key: joiner.public_key(),
            peer_id: ledger::PeerId::from_ed25519(&SigningKey::generate().public_key())
                .expect("peer id"),
            power: 1,
        },
    );
    let hash = c.submit(0, &add).expect("accepted");
    // Committed at T, it is in set(T+2) but not in set(T+1): two conflicting
    // votes it signs for T+1 are not evidence. Gossip such pairs for the
    // height node 0 last committed, with a new round each time (new bytes,
    // new offence), until the chain is past T+1, so they also reach every
    // validator in its pause after committing T+1.
    // (Node 0's height is read before the transaction: while the
    // transaction is not committed, T is above that height.)
    let mut added_at: Option<u64> = None;
    let mut round = 0u32;
    let mut published = BTreeSet::new();
    let deadline = Instant::now() + BLOCKS;
    let t = loop {
        assert!(
            Instant::now() < deadline,
            "node 0 did not get past the join (added at {added_at:?}) in {BLOCKS:?}: \
             is the chain stuck?\n{}",
            c.log_tail(0)
        );
        std::thread::sleep(Duration::from_millis(10));
        let Some(l) = c.height(0) else { continue };
        if added_at.is_none() {
            let Ok(rec) = c.client(0).get(&format!("/v1/txs/{hash}")) else {
                continue;
            };
            if rec["status"] == "committed" {
                added_at = Some(rec["height"].as_u64().expect("height"));
            }
        }
        if let Some(t) = added_at.filter(|t| l > t + 1) {
            break t;
        }
        let [a, b] = conflicting(l);
        let vote = |v| Vote::sign(&joiner, &chain_id, VoteType::Prevote, Height(l), round, v);
        let ev = Evidence {
            a: vote(a),
            b: vote(b),
        };
        round += 1;
        if peer.publish_evidence(&ev).is_ok() {
            published.insert(l);
        }
    };
    assert!(
        published.contains(&(t + 1)),
        "no evidence was gossiped for height {} (gossiped for {published:?})",
        t + 1
    );
    // The chain goes on, nothing is committed against the joiner, and the
    // three agree.
    for i in HONEST {
        wait_for(
            &format!("node {i} to reach height {} (is the chain stuck?)", t + 8),
            BLOCKS,
            || c.height(i).filter(|h| *h >= t + 8),
        );
    }
    drop(peer);
    let joiner = joiner.public_key().to_hex();
    for i in HONEST {
        let list = evidence_list(&c, i).expect("node answers");
        assert!(
            !list.iter().any(|e| e["validator"] == joiner.as_str()),
            "node {i} committed evidence against the joiner: {list:#?}"
        );
    }
    let top = common_height(&c);
    for h in 1..=top {
        let first = block(&c, 0, h)["hash"].clone();
        for i in &HONEST[1..] {
            assert_eq!(block(&c, *i, h)["hash"], first, "node {i} differs at {h}");
        }
    }
}
