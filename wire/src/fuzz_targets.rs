//! One function per fuzz target, each taking arbitrary bytes. The cargo-fuzz
//! targets in `fuzz/` call them on nightly; `tests/replay.rs` calls them on
//! every committed corpus input and every crash input, on stable, so what
//! fuzzing found stays fixed.
//!
//! Each function feeds the bytes to one decoder, exactly as the node does,
//! and then checks what is cheap to check. Bad input must give an error,
//! never a panic; anything a binary decoder accepts must re-encode to the
//! same bytes (the canonical encoding); anything a text parser accepts must
//! read back the same after it is written out. Whatever decodes is then
//! handed to what the node does next with it (hashing, signature checks,
//! execution against [`fixture::fixture`]'s state, certificate and evidence
//! checks, bundle verification), which must not panic either. A failed
//! property is a panic here: to the fuzzer, a crash.
//!
//! This module is not used by the node; it is here so that the fuzz
//! targets and the replay test share one definition.

pub mod fixture;

use ::genesis::Genesis;
use ledger::backup::BackupError;
use ledger::proof::{tx_view, AuditBundle, StateBundle};
use ledger::state::snapshot::Chunk;
use ledger::state::Verdict;
use ledger::statemap::{self, Proof};
use ledger::witness::{extends, CheckpointProof, Cosignature, ForkProof};
use ledger::{Block, Hash, SignedTx};

use self::fixture::fixture;
use crate::config::Config;
use crate::cursor as page_cursor;
use crate::submission::{self, BodyFormat};
use crate::SyncResponse;

/// A fuzz target: panics if the input breaks a property.
pub type Target = fn(&[u8]);

/// Every target, by the name of its folder under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("tx", tx),
    ("block", block),
    ("gossip_txs", gossip_txs),
    ("gossip_proposal", gossip_proposal),
    ("gossip_vote", gossip_vote),
    ("gossip_evidence", gossip_evidence),
    ("sync_request", sync_request),
    ("sync_response", sync_response),
    ("proof_bundle", proof_bundle),
    ("genesis", genesis),
    ("config", config),
    ("post_tx", post_tx),
    ("post_tx_batch", post_tx_batch),
    ("cursor", cursor),
    ("checkpoint", checkpoint),
    ("cosignature", cosignature),
    ("fork_proof", fork_proof),
    ("state_proof", state_proof),
    ("state_bundle", state_bundle),
    ("backup", backup),
    ("snapshot_chunk", snapshot_chunk),
];

/// The target named `name`.
pub fn by_name(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A signed transaction ([`SignedTx::decode`]), then what a mempool does
/// with it: hash, signature check, and execution on the fixture's state as
/// if the signature were good, so that the operation rules are reached.
pub fn tx(bytes: &[u8]) {
    let Ok(tx) = SignedTx::decode(bytes) else {
        return;
    };
    assert_eq!(tx.encode(), bytes, "accepted a non-canonical transaction");
    check_tx(&tx);
}

fn check_tx(tx: &SignedTx) {
    let _ = tx.hash();
    let _ = tx_view(tx);
    let state = &fixture().chain.state;
    if state.entity(&tx.body.signer).is_none() {
        return;
    }
    let _ = tx.verify_signatures();
    let trusted = Verdict { valid: true };
    let mut exec = state.begin_block();
    if exec.apply_tx(tx, Some(trusted)).is_ok() {
        let _ = exec.finish();
    }
}

/// A block ([`Block::decode`]), then its contents against its header and
/// its execution on the fixture's state.
pub fn block(bytes: &[u8]) {
    let Ok(block) = Block::decode(bytes) else {
        return;
    };
    assert_eq!(block.encode(), bytes, "accepted a non-canonical block");
    check_block(&block);
}

fn check_block(block: &Block) {
    let _ = block.hash();
    if block.check_contents().is_ok() {
        let _ = fixture().chain.state.execute_block(&block.txs);
    }
}

/// A gossiped batch of transactions ([`crate::decode_tx_batch`]).
pub fn gossip_txs(bytes: &[u8]) {
    let Ok(txs) = crate::decode_tx_batch(bytes) else {
        return;
    };
    assert_eq!(crate::encode(&txs), bytes, "accepted a non-canonical batch");
    assert!(!txs.is_empty() && txs.len() <= crate::TX_BATCH_TXS_MAX);
    for tx in &txs {
        check_tx(tx);
    }
}

/// A gossiped proposal ([`crate::decode_proposal`]), then its signature,
/// its block's hash, its last commit and its evidence.
pub fn gossip_proposal(bytes: &[u8]) {
    let Ok(msg) = crate::decode_proposal(bytes) else {
        return;
    };
    assert_eq!(
        crate::encode(&msg),
        bytes,
        "accepted a non-canonical proposal"
    );
    let f = fixture();
    let _ = msg.proposal.verify(ledger::testkit::CHAIN_ID);
    let _ = msg.block.hash();
    if let Some(cert) = &msg.block.last_commit {
        let _ = cert.verify(
            ledger::testkit::CHAIN_ID,
            cert.height,
            &cert.block_hash,
            f.set_at(cert.height),
        );
    }
    for ev in &msg.block.evidence {
        let _ = ev.verify(ledger::testkit::CHAIN_ID, f.set_at(ev.height()));
    }
    // A validator fills the block from its pool: here, block 4's own.
    let pooled = |h: &ledger::Hash| f.next.0.txs.iter().find(|t| t.hash() == *h);
    if let Ok(block) = msg.block.fill(|h| pooled(h).cloned()) {
        assert_eq!(block.hash(), msg.block.hash());
        let _ = block.check_contents();
    }
}

/// A gossiped vote ([`crate::decode_vote`]), then its signature.
pub fn gossip_vote(bytes: &[u8]) {
    let Ok(msg) = crate::decode_vote(bytes) else {
        return;
    };
    assert_eq!(crate::encode(&msg), bytes, "accepted a non-canonical vote");
    let _ = msg.vote.verify(ledger::testkit::CHAIN_ID);
}

/// Gossiped evidence ([`crate::decode_evidence`]), then its check against
/// the set of its height.
pub fn gossip_evidence(bytes: &[u8]) {
    let Ok(ev) = crate::decode_evidence(bytes) else {
        return;
    };
    assert_eq!(crate::encode(&ev), bytes, "accepted non-canonical evidence");
    let _ = ev.verify(ledger::testkit::CHAIN_ID, fixture().set_at(ev.height()));
}

/// A block-sync request ([`crate::decode_sync_request`]).
pub fn sync_request(bytes: &[u8]) {
    let Ok(request) = crate::decode_sync_request(bytes) else {
        return;
    };
    assert_eq!(
        crate::encode(&request),
        bytes,
        "accepted a non-canonical request"
    );
    match &request {
        crate::SyncRequest::Txs(hashes) => assert!(hashes.len() <= crate::TXS_FETCH_MAX),
        crate::SyncRequest::SnapshotChunk { depth, prefix, .. } => {
            assert!(*depth <= ledger::state::snapshot::CHUNK_DEPTH_MAX);
            assert!(u64::from(*prefix) < 1u64 << depth);
        }
        _ => {}
    }
}

/// A block-sync response ([`crate::decode_sync_response`]), then each
/// block and certificate as sync checks them.
pub fn sync_response(bytes: &[u8]) {
    let Ok(response) = crate::decode_sync_response(bytes) else {
        return;
    };
    assert_eq!(
        crate::encode(&response),
        bytes,
        "accepted a non-canonical response"
    );
    let f = fixture();
    match &response {
        SyncResponse::Status { .. } => {}
        SyncResponse::Blocks(blocks) => {
            for (block, cert) in blocks {
                let height = block.header.height;
                let _ = cert.verify(
                    ledger::testkit::CHAIN_ID,
                    height,
                    &block.hash(),
                    f.set_at(height),
                );
                check_block(block);
            }
        }
        SyncResponse::Txs(txs) => {
            for tx in txs {
                check_tx(tx);
            }
        }
        SyncResponse::Snapshots(heights) => {
            assert!(heights.len() <= crate::SNAPSHOTS_OFFERED_MAX);
        }
        SyncResponse::SnapshotAnchor(anchor) => {
            if let Some(anchor) = anchor {
                let _ = ledger::statesync::Anchored::check(&f.anchor, anchor);
            }
        }
        SyncResponse::SnapshotChunk(answer) => {
            if let crate::ChunkAnswer::Chunk(chunk) = answer {
                snapshot_chunk(&chunk.encode());
            }
        }
    }
}

/// An audit bundle ([`AuditBundle::decode`]), then its verification against
/// the fixture's genesis; what it accepts reads back the same once written.
pub fn proof_bundle(bytes: &[u8]) {
    let Ok(bundle) = AuditBundle::decode(bytes) else {
        return;
    };
    let _ = bundle.verify(&fixture().anchor);
    let again = AuditBundle::decode(bundle.to_json().as_bytes())
        .expect("a bundle reads back what it writes");
    assert_eq!(again, bundle, "a bundle changed when written and read back");
}

/// A snapshot chunk ([`Chunk::decode`]), then its check against the
/// fixture's state root: what it accepts must be exactly the fixture's
/// entries under its prefix, and it re-encodes to the same bytes.
pub fn snapshot_chunk(bytes: &[u8]) {
    let Ok(chunk) = Chunk::decode(bytes) else {
        return;
    };
    assert_eq!(chunk.encode(), bytes, "a chunk re-encodes to other bytes");
    let state = &fixture().chain.state;
    if let Ok(entries) = chunk.verify(&state.root()) {
        let held = Chunk::build(state, chunk.depth, chunk.prefix)
            .verify(&state.root())
            .expect("the fixture's own chunk verifies");
        assert_eq!(
            entries, held,
            "a chunk passed with other entries than the state's"
        );
    }
}

/// The columns a fuzzed backup may name (a store's have the same form).
pub const BACKUP_COLUMNS: [&str; 3] = ["blocks", "meta", "safety"];

/// A backup file ([`ledger::backup::read_backup`]); what it accepts
/// writes back to the same bytes.
pub fn backup(bytes: &[u8]) {
    let mut entries: Vec<(&'static str, Vec<u8>, Vec<u8>)> = Vec::new();
    let Ok(contents) =
        ledger::backup::read_backup::<BackupError>(bytes, &BACKUP_COLUMNS, |c, k, v| {
            entries.push((c, k.to_vec(), v.to_vec()));
            Ok(())
        })
    else {
        return;
    };
    assert_eq!(contents.entries, entries.len() as u64);
    let mut w = ledger::backup::BackupWriter::new(Vec::new()).expect("writes to memory");
    for (name, file) in &contents.files {
        w.file(name, file).expect("a file the reader accepted");
    }
    for (column, key, value) in &entries {
        w.entry(column, key, value)
            .expect("an entry the reader accepted");
    }
    let (again, out) = w.finish().expect("writes to memory");
    assert_eq!(again, contents);
    assert_eq!(out, bytes, "a backup changed when read and written back");
}

/// A genesis file ([`Genesis::from_json_bytes`]), then its hash, its state
/// and its trust anchor; what it accepts reads back the same once written.
pub fn genesis(bytes: &[u8]) {
    let Ok(g) = Genesis::from_json_bytes(bytes) else {
        return;
    };
    let _ = g.hash();
    let _ = g.state();
    let _ = g.trust_anchor();
    let again = Genesis::from_json(&g.to_json()).expect("a genesis reads back what it writes");
    assert_eq!(again, g, "a genesis changed when written and read back");
}

/// A `config.toml` ([`Config::from_toml`]; the node reads the file as
/// UTF-8 first), then the consensus settings; what it accepts reads back
/// the same once written.
pub fn config(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(c) = Config::from_toml(text, "config.toml") else {
        return;
    };
    let _ = c.consensus.to_consensus();
    let again =
        Config::from_toml(&c.to_toml(), "config.toml").expect("a config reads back what it writes");
    assert_eq!(again, c, "a config changed when written and read back");
}

/// The first byte of a [`post_tx`] input that makes the rest a JSON body.
pub const POST_TX_JSON: u8 = 0;
/// The first byte of a [`post_tx`] input that makes the rest raw bytes.
pub const POST_TX_RAW: u8 = 1;

/// The body of `POST /v1/txs` ([`submission::parse`]). The first byte picks
/// the `Content-Type`: even for JSON, odd for raw bytes. What is accepted
/// is the same transaction in the other format.
pub fn post_tx(bytes: &[u8]) {
    let Some((&selector, body)) = bytes.split_first() else {
        return;
    };
    let format = if selector % 2 == POST_TX_JSON {
        BodyFormat::Json
    } else {
        BodyFormat::Raw
    };
    let Ok(tx) = submission::parse(format, body) else {
        return;
    };
    let raw = tx.encode();
    if format == BodyFormat::Raw {
        assert_eq!(raw, body, "accepted a non-canonical transaction");
    }
    let json = submission::json_body(&tx);
    assert_eq!(
        submission::parse(BodyFormat::Json, json.as_bytes()).ok(),
        Some(tx.clone())
    );
    assert_eq!(submission::parse(BodyFormat::Raw, &raw).ok(), Some(tx));
}

/// Transactions a batch fuzz input may hold: few, so that inputs stay small.
pub const BATCH_TXS_MAX: usize = 16;

/// The body of `POST /v1/txs/batch` ([`submission::parse_batch`]). The
/// transactions accepted, written back as a batch, read back the same.
pub fn post_tx_batch(bytes: &[u8]) {
    let Ok(items) = submission::parse_batch(bytes, BATCH_TXS_MAX) else {
        return;
    };
    assert!(items.len() <= BATCH_TXS_MAX, "more items than allowed");
    let txs: Vec<SignedTx> = items.into_iter().filter_map(Result::ok).collect();
    let again = submission::parse_batch(submission::batch_body(&txs).as_bytes(), BATCH_TXS_MAX)
        .expect("a batch reads back what it writes");
    let again: Vec<SignedTx> = again
        .into_iter()
        .map(|r| r.expect("a written transaction reads back"))
        .collect();
    assert_eq!(again, txs, "a batch changed when written and read back");
}

/// A history page's `cursor` ([`crate::cursor::parse`]): what is accepted
/// is written back exactly as it came.
pub fn cursor(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Some((height, index)) = page_cursor::parse(text) {
        assert_eq!(
            page_cursor::format(height, index),
            text,
            "a cursor has one spelling"
        );
    }
}

/// A checkpoint proof, as a witness reads one from a node
/// ([`CheckpointProof::decode`]), then its verification against the
/// fixture's genesis and, if it verifies, whether it extends itself; what
/// is accepted reads back the same once written.
pub fn checkpoint(bytes: &[u8]) {
    let Ok(proof) = CheckpointProof::decode(bytes) else {
        return;
    };
    if let Ok(verified) = proof.verify(&fixture().anchor) {
        let cp = &verified.checkpoint;
        assert!(extends(cp, cp, None), "a checkpoint extends itself");
    }
    let json = serde_json::to_vec(&proof).expect("a checkpoint serialises");
    let again = CheckpointProof::decode(&json).expect("a checkpoint reads back what it writes");
    assert_eq!(
        again, proof,
        "a checkpoint changed when written and read back"
    );
}

/// A cosignature, as a node reads one from a witness
/// ([`Cosignature::decode`]), then its signature; what is accepted reads
/// back the same once written.
pub fn cosignature(bytes: &[u8]) {
    let Ok(c) = Cosignature::decode(bytes) else {
        return;
    };
    let _ = c.verify();
    let json = serde_json::to_vec(&c).expect("a cosignature serialises");
    let again = Cosignature::decode(&json).expect("a cosignature reads back what it writes");
    assert_eq!(again, c, "a cosignature changed when written and read back");
}

/// A fork proof ([`ForkProof::decode`]), then its verification against the
/// fixture's genesis; what is accepted reads back the same once written.
pub fn fork_proof(bytes: &[u8]) {
    let Ok(proof) = ForkProof::decode(bytes) else {
        return;
    };
    if let Ok(fork) = proof.verify(&fixture().anchor) {
        assert_ne!(fork.cosigned, fork.other, "a fork of one block");
    }
    let again = ForkProof::decode(proof.to_json().as_bytes())
        .expect("a fork proof reads back what it writes");
    assert_eq!(
        again, proof,
        "a fork proof changed when written and read back"
    );
}

/// A proof of the state map ([`Proof::decode`]), checked against the root of
/// the fixture's state for every key it could be about: whatever it shows
/// must be true of the state (a forged proof never passes).
pub fn state_proof(bytes: &[u8]) {
    let Ok(proof) = Proof::decode(bytes) else {
        return;
    };
    assert_eq!(proof.encode(), bytes, "accepted a non-canonical proof");
    let map = state_map();
    let root = statemap::naive::root(map);
    let mut keys: Vec<Hash> = map.keys().copied().collect();
    keys.extend(proof.leaf.map(|(k, _)| k));
    keys.push(Hash::digest(b"no such state key"));
    for key in keys {
        let held = map.get(&key);
        if let Some((k, v)) = &proof.leaf {
            if *k == key && proof.verify(&root, &key, Some(v)).is_ok() {
                assert_eq!(
                    held,
                    Some(v),
                    "a proof showed a value the state does not hold"
                );
            }
        }
        if proof.verify(&root, &key, None).is_ok() {
            assert_eq!(held, None, "a proof showed absent a key the state holds");
        }
    }
}

/// A state proof file ([`StateBundle::decode`]), then its verification
/// against the fixture's genesis: whatever it proves of the fixture's last
/// block must be what the fixture's state held then, and what it accepts
/// reads back the same once written.
pub fn state_bundle(bytes: &[u8]) {
    let Ok(bundle) = StateBundle::decode(bytes) else {
        return;
    };
    let f = fixture();
    if let Ok(v) = bundle.verify(&f.anchor) {
        if v.height == f.chain.state.height() {
            let held = f.chain.state.entries().find(|(k, _)| **k == v.key);
            assert_eq!(
                v.value.as_ref(),
                held.map(|(_, value)| value),
                "a state proof proved what the state did not hold"
            );
        }
    }
    let again = StateBundle::decode(bundle.to_json().as_bytes())
        .expect("a state proof reads back what it writes");
    assert_eq!(
        again, bundle,
        "a state proof changed when written and read back"
    );
}

/// The fixture's state as the state map holds it.
fn state_map() -> &'static std::collections::BTreeMap<Hash, Hash> {
    static MAP: std::sync::OnceLock<std::collections::BTreeMap<Hash, Hash>> =
        std::sync::OnceLock::new();
    MAP.get_or_init(|| ledger::state::hashed_entries(&fixture().chain.state))
}
