//! What outside witnesses read: checkpoints (`/v1/checkpoint`,
//! `/v1/checkpoints/{height}`), consistency proofs between them
//! (`/v1/consistency`) and the list of witnesses (`/v1/witnesses`). Each
//! answer is checked against what the test computes on its own: the
//! checkpoint verifies from the genesis file and names the block the test
//! committed, and the proofs link roots computed here from block hashes.
//! Also the chain the cosignature tests post to.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gateway::api::api_router;
use ledger::merkle::{root_from_leaf_hashes, ConsistencyProof};
use ledger::tx::{EntityKind, Status};
use ledger::witness::{Checkpoint, CheckpointProof};
use ledger::{Hash, Height, Op};
use serde_json::{json, Value};
use testkit::{id, key, GenesisBuilder, NodeFixture, CHAIN_ID};
use tower::ServiceExt;

use crate::fixture::{answer, pay, Fixture, BOTH};

/// An active witness.
pub(crate) const WITNESS: &str = "KTNN";
pub(crate) const WITNESS_NAME: &str = "Kiểm toán Nhà nước";
/// An active witness whose registered name carries markup.
pub(crate) const MARKUP_WITNESS: &str = "MTTQ";
pub(crate) const MARKUP_NAME: &str = "Mặt trận <b>Tổ quốc</b> & \"bạn\"";
/// A witness suspended in block 6.
pub(crate) const SUSPENDED: &str = "GSND";
/// The height of the chain.
pub(crate) const TOP: u64 = 7;

/// The API tests' chain (blocks 1 to 4), then block 5 registering three
/// witnesses, block 6 suspending one, block 7 a payment; with the hash of
/// every block, as the test committed it.
pub(crate) struct Witnessed {
    pub(crate) f: Fixture,
    /// `hashes[k - 1]` is block k's.
    pub(crate) hashes: Vec<Hash>,
}

fn register(who: &str, name: &str) -> Op {
    Op::RegisterEntity {
        id: id(who),
        kind: EntityKind::Observer,
        name: name.into(),
        parent: None,
        keys: vec![key(who).public_key()],
        threshold: 1,
    }
}

pub(crate) fn witnessed() -> Witnessed {
    let mut f = Fixture::new(0);
    let txs = vec![
        f.node.tx("MOF", 0, register(WITNESS, WITNESS_NAME)),
        f.node.tx("MOF", 1, register(MARKUP_WITNESS, MARKUP_NAME)),
        f.node
            .tx("MOF", 2, register(SUSPENDED, "Giám sát Nhân dân")),
    ];
    let mut ours = vec![f.node.commit(txs)];
    let suspend = Op::SetStatus {
        entity: id(SUSPENDED),
        status: Status::Suspended,
    };
    ours.push(f.node.commit(vec![f.node.tx("MOF", 0, suspend)]));
    ours.push(
        f.node
            .commit(vec![f.node.tx("MOH.BVBM", 0, pay(1_000, "TT-W"))]),
    );
    assert_eq!(f.height(), TOP);
    // Blocks 1 to 4, back from block 5's parent, each checked against the
    // hash its successor names.
    let mut earlier = Vec::new();
    let mut parent = ours[0].header.prev_hash;
    for k in (1..=4).rev() {
        let b = f.shared.store.block(Height(k)).unwrap().unwrap();
        assert_eq!(
            b.hash(),
            parent,
            "block {k} is the parent of block {}",
            k + 1
        );
        earlier.push(b.hash());
        parent = b.header.prev_hash;
    }
    assert_eq!(parent, f.shared.genesis.hash(), "block 1 follows genesis");
    earlier.reverse();
    let hashes: Vec<Hash> = earlier
        .into_iter()
        .chain(ours.iter().map(|b| b.hash()))
        .collect();
    assert_eq!(hashes.last(), Some(&f.node.chain.last_hash));
    Witnessed { f, hashes }
}

/// The RFC 6962 root over `hashes`, each leaf SHA-256(0x00 ‖ block hash).
pub(crate) fn root_of(hashes: &[Hash]) -> Hash {
    let leaves: Vec<Hash> = hashes
        .iter()
        .map(|h| Hash::digest(&[&[0u8][..], &h.0[..]].concat()))
        .collect();
    root_from_leaf_hashes(&leaves)
}

impl Witnessed {
    /// The checkpoint at `h`, computed here.
    pub(crate) fn checkpoint(&self, h: u64) -> Checkpoint {
        Checkpoint {
            chain_id: CHAIN_ID.into(),
            height: Height(h),
            block_hash: self.hashes[h as usize - 1],
            history_root: root_of(&self.hashes[..h as usize]),
        }
    }
}

#[tokio::test]
async fn each_checkpoint_verifies_from_the_genesis_file_and_names_the_committed_block() {
    let w = witnessed();
    let anchor = w.f.shared.genesis.trust_anchor();
    for on in BOTH {
        let doc = w.f.document(on).await;
        for h in 1..=TOP {
            let a = w.f.get(on, &format!("/v1/checkpoints/{h}")).await;
            assert_eq!(a.status, StatusCode::OK, "{on:?} {h}: {}", a.text());
            assert_eq!(a.header(header::CONTENT_TYPE), "application/json");
            doc.check("get", "/v1/checkpoints/{height}", &a);
            let proof = CheckpointProof::decode(&a.body).unwrap();
            let verified = proof.verify(&anchor).unwrap();
            assert_eq!(verified.checkpoint, w.checkpoint(h), "{on:?} {h}");
        }
        let latest = w.f.get(on, "/v1/checkpoint").await;
        assert_eq!(latest.status, StatusCode::OK);
        doc.check("get", "/v1/checkpoint", &latest);
        let proof = CheckpointProof::decode(&latest.body).unwrap();
        let verified = proof.verify(&anchor).unwrap().checkpoint;
        assert_eq!(verified.height, Height(TOP));
        assert_eq!(verified.block_hash, w.f.node.chain.last_hash);
        let named = w.f.get(on, "/v1/checkpoints/latest").await;
        assert_eq!(named.body, latest.body);

        for (uri, status, code) in [
            ("/v1/checkpoints/0", StatusCode::NOT_FOUND, "not_found"),
            ("/v1/checkpoints/8", StatusCode::NOT_FOUND, "not_found"),
            (
                "/v1/checkpoints/x",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/checkpoints/-1",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
        ] {
            let a = w.f.get(on, uri).await;
            assert_eq!(a.status, status, "{on:?} {uri}: {}", a.text());
            assert_eq!(a.error_code(), code, "{on:?} {uri}");
            doc.check("get", "/v1/checkpoints/{height}", &a);
        }
    }
}

#[tokio::test]
async fn a_node_at_height_0_has_no_checkpoint_and_no_history() {
    let genesis = GenesisBuilder::new(CHAIN_ID)
        .entity("MOF", EntityKind::Treasury, "Bộ Tài chính", None)
        .entity(WITNESS, EntityKind::Observer, WITNESS_NAME, None)
        .build();
    let node = NodeFixture::new("empty", genesis);
    for (uri, status, code) in [
        ("/v1/checkpoint", StatusCode::NOT_FOUND, "not_found"),
        ("/v1/checkpoints/latest", StatusCode::NOT_FOUND, "not_found"),
        (
            "/v1/consistency?from=1&to=1",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let a = answer(
            api_router(node.shared.clone())
                .oneshot(request)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, status, "{uri}: {}", a.text());
        assert_eq!(a.error_code(), code, "{uri}");
    }
    // The genesis's witness is listed, with nothing cosigned.
    let request = Request::get("/v1/witnesses").body(Body::empty()).unwrap();
    let a = answer(
        api_router(node.shared.clone())
            .oneshot(request)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["witnesses"][0]["id"], WITNESS);
    assert_eq!(a.json()["witnesses"][0]["latest_cosignature"], Value::Null);
}

#[tokio::test]
async fn consistency_proofs_link_the_roots_of_every_pair_of_histories() {
    let w = witnessed();
    for on in BOTH {
        let doc = w.f.document(on).await;
        for m in 1..=TOP {
            for n in m..=TOP {
                let a =
                    w.f.get(on, &format!("/v1/consistency?from={m}&to={n}"))
                        .await;
                assert_eq!(a.status, StatusCode::OK, "{m} {n}: {}", a.text());
                doc.check("get", "/v1/consistency", &a);
                let mut fields: Vec<String> =
                    a.json().as_object().unwrap().keys().cloned().collect();
                fields.sort();
                assert_eq!(fields, ["new_size", "old_size", "path"]);
                let proof: ConsistencyProof = serde_json::from_slice(&a.body).unwrap();
                let (old, new) = (
                    root_of(&w.hashes[..m as usize]),
                    root_of(&w.hashes[..n as usize]),
                );
                assert!(proof.verify_bound(&old, m, &new, n), "{m} -> {n}");
                assert_eq!(w.f.shared.store.history_root(Height(n)).unwrap(), new);
                // Not for another history of the same sizes.
                let other = Hash::digest(b"another history");
                assert!(!proof.verify_bound(&other, m, &new, n), "{m} -> {n}");
                assert!(!proof.verify_bound(&old, m, &other, n), "{m} -> {n}");
            }
        }
        for (uri, status, code) in [
            (
                "/v1/consistency?from=0&to=3",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/consistency?from=5&to=4",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/consistency?from=1",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/consistency?to=3",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/consistency",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/consistency?from=x&to=3",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/consistency?from=1&to=-3",
                StatusCode::BAD_REQUEST,
                "invalid_argument",
            ),
            (
                "/v1/consistency?from=1&to=8",
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "/v1/consistency?from=8&to=9",
                StatusCode::NOT_FOUND,
                "not_found",
            ),
        ] {
            let a = w.f.get(on, uri).await;
            assert_eq!(a.status, status, "{on:?} {uri}: {}", a.text());
            assert_eq!(a.error_code(), code, "{on:?} {uri}");
            doc.check("get", "/v1/consistency", &a);
        }
    }
}

/// `/v1/witnesses` as the test expects it: the three observers by id, the
/// latest cosignature of each as given.
pub(crate) fn expected_witnesses(latest: &[(&str, u64, u64)]) -> Value {
    let one = |who: &str, name: &str, status: &str| {
        let held = latest
            .iter()
            .find(|(w, _, _)| *w == who)
            .map_or(Value::Null, |(_, h, t)| json!({"height": h, "time_ms": t}));
        json!({
            "id": who,
            "name": name,
            "keys": [key(who).public_key().to_hex()],
            "status": status,
            "latest_cosignature": held,
        })
    };
    json!({
        "height": TOP,
        "witnesses": [
            one(SUSPENDED, "Giám sát Nhân dân", "suspended"),
            one(WITNESS, WITNESS_NAME, "active"),
            one(MARKUP_WITNESS, MARKUP_NAME, "active"),
        ],
    })
}

#[tokio::test]
async fn the_witnesses_are_the_observers_of_the_committed_state() {
    let w = witnessed();
    for on in BOTH {
        let a = w.f.get(on, "/v1/witnesses").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        w.f.document(on).await.check("get", "/v1/witnesses", &a);
        // Neither the treasury, the ministry, the hospital nor the vendor.
        assert_eq!(a.json(), expected_witnesses(&[]), "{on:?}");
    }
}
