//! The fuzzing corpora, replayed on stable: every committed input under
//! `fuzz/corpus/<target>/`, every crash input kept under
//! `fuzz/regressions/<target>/`, and any crash cargo-fuzz left in
//! `fuzz/artifacts/<target>/`, each through the same function its fuzz
//! target calls (`wire::fuzz_targets`). A crash that fuzzing once found
//! fails here until the code is fixed.
//!
//! Also checks the seeds: each is in its corpus as the generator makes it
//! today (`cargo run -p wire --example fuzz_seeds` rewrites them), and each
//! is a valid input that gets past its decoder, so the fuzzer starts from
//! inputs that reach the code behind the decoders.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use wire::fuzz_targets::fixture::{fixture, seeds};
use wire::fuzz_targets::{self, by_name, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files under `fuzz/<kind>/<target>/`, with their target's name.
fn inputs(kind: &str) -> Vec<(String, PathBuf)> {
    let root = fuzz_dir().join(kind);
    let Ok(dirs) = fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dir in dirs {
        let dir = dir.expect("a readable folder").path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir
            .file_name()
            .expect("a folder name")
            .to_string_lossy()
            .into_owned();
        for file in fs::read_dir(&dir).expect("a readable folder") {
            let file = file.expect("a readable file").path();
            if file.is_file() {
                out.push((target.clone(), file));
            }
        }
    }
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let inputs = inputs(kind);
    let mut failed = Vec::new();
    for (target, file) in &inputs {
        let run = by_name(target).unwrap_or_else(|| {
            panic!(
                "{}: the folder names no fuzz target",
                file.parent().unwrap().display()
            )
        });
        let bytes = fs::read(file).expect("a readable input");
        if catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(failed.is_empty(), "inputs that fail: {failed:#?}");
    inputs.len()
}

#[test]
fn every_corpus_input_replays() {
    let n = replay("corpus");
    for (target, _) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let count = fs::read_dir(&dir).map_or(0, Iterator::count);
        assert!(count > 0, "{} has no corpus", dir.display());
    }
    eprintln!("replayed {n} corpus inputs");
}

#[test]
fn every_crash_found_replays() {
    // The kept crashes are part of the suite: their folder must be there
    // (a checkout or copy that lost it would replay nothing and pass).
    let kept = fuzz_dir().join("regressions");
    assert!(
        kept.join("README.md").is_file(),
        "{} is missing: the crash inputs fuzzing found are not here",
        kept.display()
    );
    let n = replay("regressions") + replay("artifacts");
    eprintln!("replayed {n} crash inputs");
}

#[test]
fn the_committed_seeds_are_the_generated_ones() {
    for seed in seeds() {
        let path = fuzz_dir().join("corpus").join(seed.target).join(&seed.file);
        let committed = fs::read(&path).unwrap_or_default();
        assert!(
            committed == seed.bytes,
            "{} is missing or stale: run `cargo run -p wire --example fuzz_seeds`",
            path.display()
        );
    }
}

#[test]
fn every_seed_gets_past_its_decoder() {
    let f = fixture();
    let chain_id = ledger::testkit::CHAIN_ID;
    for seed in seeds() {
        let b = &seed.bytes;
        let what = format!("{}/{}", seed.target, seed.file);
        match seed.target {
            "tx" => {
                let tx = ledger::SignedTx::decode(b).expect(&what);
                f.chain.state.check_tx(&tx).expect(&what);
            }
            "block" => {
                let block = ledger::Block::decode(b).expect(&what);
                block.check_contents().expect(&what);
            }
            "gossip_txs" => {
                wire::decode_tx_batch(b).expect(&what);
            }
            "gossip_proposal" => {
                let msg = wire::decode_proposal(b).expect(&what);
                assert!(msg.proposal.verify(chain_id), "{what}");
                assert_eq!(msg.proposal.block_hash, msg.block.hash(), "{what}");
            }
            "gossip_vote" => {
                let msg = wire::decode_vote(b).expect(&what);
                assert!(msg.vote.verify(chain_id), "{what}");
            }
            "gossip_evidence" => {
                let ev = wire::decode_evidence(b).expect(&what);
                ev.verify(chain_id, f.set_at(ev.height())).expect(&what);
            }
            "sync_request" => {
                wire::decode_sync_request(b).expect(&what);
            }
            "sync_response" => {
                wire::decode_sync_response(b).expect(&what);
            }
            "proof_bundle" => {
                let bundle = ledger::proof::AuditBundle::decode(b).expect(&what);
                bundle.verify(&f.anchor).expect(&what);
            }
            "genesis" => {
                genesis::Genesis::from_json_bytes(b).expect(&what);
            }
            "config" => {
                let text = std::str::from_utf8(b).expect(&what);
                wire::config::Config::from_toml(text, &what).expect(&what);
            }
            "post_tx" => {
                let (selector, body) = b.split_first().expect(&what);
                let format = if *selector == fuzz_targets::POST_TX_JSON {
                    wire::submission::BodyFormat::Json
                } else {
                    wire::submission::BodyFormat::Raw
                };
                wire::submission::parse(format, body).expect(&what);
            }
            "post_tx_batch" => {
                let items =
                    wire::submission::parse_batch(b, fuzz_targets::BATCH_TXS_MAX).expect(&what);
                assert!(items.iter().all(Result::is_ok), "{what}");
            }
            "cursor" => {
                let text = std::str::from_utf8(b).expect(&what);
                wire::cursor::parse(text).expect(&what);
            }
            "checkpoint" => {
                let proof = ledger::witness::CheckpointProof::decode(b).expect(&what);
                proof.verify(&f.anchor).expect(&what);
            }
            "cosignature" => {
                let c = ledger::witness::Cosignature::decode(b).expect(&what);
                assert!(c.verify(), "{what}");
            }
            "fork_proof" => {
                let proof = ledger::witness::ForkProof::decode(b).expect(&what);
                proof.verify(&f.anchor).expect(&what);
            }
            "state_proof" => {
                let proof = ledger::statemap::Proof::decode(b).expect(&what);
                let map = ledger::state::hashed_entries(&f.chain.state);
                let root = ledger::statemap::naive::root(&map);
                let (key, value) = match proof.leaf {
                    Some((k, v)) if map.get(&k) == Some(&v) => (k, Some(v)),
                    _ => (ledger::Hash::digest(b"no such state key"), None),
                };
                proof.verify(&root, &key, value.as_ref()).expect(&what);
            }
            "state_bundle" => {
                let v = ledger::proof::StateBundle::decode(b)
                    .expect(&what)
                    .verify(&f.anchor)
                    .expect(&what);
                let held = f.chain.state.entries().find(|(k, _)| **k == v.key);
                assert_eq!(v.value.as_ref(), held.map(|(_, value)| value), "{what}");
            }
            "snapshot_chunk" => {
                let chunk = ledger::state::snapshot::Chunk::decode(b).expect(&what);
                chunk.verify(&f.chain.state.root()).expect(&what);
            }
            "backup" => {
                let mut blocks = 0;
                let contents = ledger::backup::read_backup::<ledger::backup::BackupError>(
                    b.as_slice(),
                    &wire::fuzz_targets::BACKUP_COLUMNS,
                    |column, _, value| {
                        if column == "blocks" {
                            ledger::Block::decode(value).expect("a stored block");
                            blocks += 1;
                        }
                        Ok(())
                    },
                )
                .expect(&what);
                assert!(contents.file("genesis.json").is_some(), "{what}");
                assert_eq!(blocks, f.blocks.len(), "{what}");
            }
            other => panic!("a seed for {other}, which is no target"),
        }
    }
}
