//! The chain the fuzz targets check against, and the seeds of their corpora:
//! real, valid encodings of every kind of input, made from that chain.
//!
//! The chain is [`ledger::testkit::TestChain`] with three committed blocks:
//! block 1 registers a ministry, a department, a vendor and a node, and adds
//! a fifth validator (so set(3) differs from set(2), a validator-set change
//! at height 2); block 2 appropriates and allocates a budget line; block 3
//! awards a contract and pays on it. Everything is deterministic, so the
//! seeds come out byte for byte the same on every run. The seeds of the
//! witness targets (checkpoints, a cosignature, a fork proof) are made in
//! [`checkpoints`].

mod checkpoints;

use std::sync::OnceLock;

use ::genesis::{story, Currency, Genesis, GenesisEntity};
use ledger::builder::{build_block, sign_commit, BlockTemplate};
use ledger::merkle::InclusionProof;
use ledger::proof::{
    tx_view, AuditBundle, BundleBlock, BundleEntry, BundleHeader, BundleTx, SetChange, StateBlock,
    StateBundle, TrustAnchor, BUNDLE_FORMAT, BUNDLE_VERSION, STATE_BUNDLE_FORMAT,
    STATE_BUNDLE_VERSION,
};
use ledger::state::StateKey;
use ledger::testkit::{key, TestChain, CHAIN_ID};
use ledger::tx::{EntityKind, Status};
use ledger::{
    Amount, Block, CommitCertificate, ContractId, Evidence, Hash, Height, LineCode, Op, PeerId,
    SignedTx, Validator, ValidatorSet, Vote, VoteType, Year,
};

use crate::config::{Config, LogFormat};
use crate::submission;
use crate::{CompactBlock, ProposalMsg, SignedProposal, SyncRequest, SyncResponse, VoteMsg};

/// The fuzzed chain after its three blocks.
pub struct Fixture {
    /// The chain: its state after block 3, its keys and genesis facts.
    pub chain: TestChain,
    /// Blocks 1 to 3 with their certificates.
    pub blocks: Vec<(Block, CommitCertificate)>,
    /// set(1) = set(2), before the change.
    pub first_set: ValidatorSet,
    /// What an auditor trusts: the genesis facts and set(1).
    pub anchor: TrustAnchor,
    /// Block 4, certified but not committed, and the evidence it carries.
    pub next: (Block, CommitCertificate, Evidence),
}

/// The height at which the validator set changes: its header commits to
/// set(3), which block 1 made.
const SET_CHANGE_AT: Height = Height(2);

impl Fixture {
    /// set(height), for the heights of this chain and the next one.
    pub fn set_at(&self, height: Height) -> &ValidatorSet {
        if height <= SET_CHANGE_AT {
            &self.first_set
        } else {
            self.chain.state.validators()
        }
    }
}

/// The fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn id(s: &str) -> ledger::EntityId {
    ledger::EntityId::new(s).expect("fixture ids follow the pattern")
}

fn contract(s: &str) -> ContractId {
    ContractId::new(s).expect("fixture ids follow the pattern")
}

fn line() -> LineCode {
    LineCode::new("0402-HEALTH-INFRA").expect("fixture line follows the pattern")
}

fn year() -> Year {
    Year::new(2026).expect("2026 is a fiscal year")
}

fn peer(label: &str) -> PeerId {
    PeerId::from_ed25519(&key(label).public_key()).expect("a generated key is valid")
}

fn validator(i: usize) -> Validator {
    let label = format!("validator-{i}");
    Validator {
        name: label.clone(),
        consensus_key: key(&label).public_key(),
        peer_id: peer(&label),
        power: 10,
    }
}

fn register(entity: &str, kind: EntityKind, name: &str, parent: Option<&str>) -> Op {
    Op::RegisterEntity {
        id: id(entity),
        kind,
        name: name.into(),
        parent: parent.map(id),
        keys: vec![key(entity).public_key()],
        threshold: 1,
    }
}

fn build() -> Fixture {
    let mut chain = TestChain::new(4);
    let first_set = chain.state.validators().clone();
    let anchor = TrustAnchor::from_genesis_state(&chain.genesis, chain.genesis_hash);
    let block_1 = vec![
        chain.tx(
            "MOF",
            0,
            register("MOH", EntityKind::Ministry, "Bộ Y tế", None),
        ),
        chain.tx(
            "MOF",
            1,
            register(
                "MOH.BVBM",
                EntityKind::Department,
                "Bệnh viện Bạch Mai",
                Some("MOH"),
            ),
        ),
        chain.tx(
            "MOF",
            2,
            register(
                "V-0001",
                EntityKind::Vendor,
                "Công ty TNHH Thiết bị Y tế Hà Nội",
                None,
            ),
        ),
        chain.tx(
            "MOF",
            3,
            Op::RegisterNode {
                peer_id: peer("node-0"),
                operator: id("MOH.BVBM"),
            },
        ),
        chain.tx("MOF", 4, add_validator(4)),
    ];
    let mut blocks = Vec::new();
    commit(&mut chain, &mut blocks, block_1);
    let block_2 = vec![
        chain.tx(
            "MOF",
            0,
            Op::Appropriate {
                year: year(),
                line: line(),
                to: id("MOH"),
                amount: Amount(1_000_000_000),
                legal_ref: "QĐ-1234/QĐ-TTg".into(),
            },
        ),
        chain.tx(
            "MOH",
            0,
            Op::Allocate {
                year: year(),
                line: line(),
                to: id("MOH.BVBM"),
                amount: Amount(600_000_000),
            },
        ),
    ];
    commit(&mut chain, &mut blocks, block_2);
    let block_3 = vec![
        chain.tx(
            "MOH.BVBM",
            0,
            Op::Award {
                contract: contract("C-0001"),
                year: year(),
                line: line(),
                vendor: id("V-0001"),
                amount: Amount(300_000_000),
                title: "Máy thở cho khoa Hồi sức".into(),
                document_hash: Some(Hash::digest(b"hop-dong-C-0001.pdf")),
            },
        ),
        chain.tx(
            "MOH.BVBM",
            1,
            Op::Pay {
                contract: contract("C-0001"),
                amount: Amount(100_000_000),
                reference: "INV-0001".into(),
                document_hash: Some(Hash::digest(b"hoa-don-INV-0001.pdf")),
            },
        ),
    ];
    commit(&mut chain, &mut blocks, block_3);
    let next = next_block(&chain);
    Fixture {
        chain,
        blocks,
        first_set,
        anchor,
        next,
    }
}

fn add_validator(i: usize) -> Op {
    let v = validator(i);
    Op::AddValidator {
        name: v.name,
        consensus_key: v.consensus_key,
        peer_id: v.peer_id,
        power: v.power,
    }
}

fn commit(chain: &mut TestChain, blocks: &mut Vec<(Block, CommitCertificate)>, txs: Vec<SignedTx>) {
    let (block, cert, outcome) = chain.make_block(txs).expect("fixture blocks execute");
    chain.advance(&block, cert.clone(), outcome);
    blocks.push((block, cert));
}

/// One seed: a valid input of a target.
pub struct Seed {
    /// The target (a name of [`super::TARGETS`]).
    pub target: &'static str,
    /// The file name in `fuzz/corpus/<target>/`, starting with `seed-`.
    pub file: String,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn seeds() -> Vec<Seed> {
    let f = fixture();
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push(Seed {
            target,
            file: format!("seed-{name}"),
            bytes,
        });
    };
    let txs = one_of_each_operation(&f.chain);
    for tx in &txs {
        add("tx", tx.body.op.name(), tx.encode());
    }
    for (name, tx) in [("json", &txs[8]), ("json-award", &txs[6])] {
        let mut body = vec![super::POST_TX_JSON];
        body.extend_from_slice(submission::json_body(tx).as_bytes());
        add("post_tx", name, body);
    }
    let mut raw = vec![super::POST_TX_RAW];
    raw.extend_from_slice(&txs[8].encode());
    add("post_tx", "raw", raw);
    add(
        "post_tx_batch",
        "three",
        submission::batch_body(&txs[6..9]).into_bytes(),
    );
    add("cursor", "first", b"1.0".to_vec());
    add("cursor", "deep", b"1234567.89".to_vec());
    add("gossip_txs", "every-operation", crate::encode(&txs));
    add("gossip_txs", "one", crate::encode(&vec![txs[8].clone()]));

    let (block_4, cert_4, evidence) = f.next.clone();
    for (i, (block, _)) in f.blocks.iter().enumerate() {
        add("block", &format!("height-{}", i + 1), block.encode());
    }
    add("block", "height-4-with-evidence", block_4.encode());
    add("gossip_evidence", "prevotes", crate::encode(&evidence));

    let v0 = key("validator-0");
    let h4 = block_4.header.height;
    for (name, round, pol_round) in [("fresh", 0, None), ("re-proposed", 1, Some(0))] {
        let msg = ProposalMsg {
            proposal: SignedProposal::sign(&v0, CHAIN_ID, h4, round, block_4.hash(), pol_round),
            block: CompactBlock::of(&block_4),
            sent_ms: block_4.header.time_ms,
        };
        add("gossip_proposal", name, crate::encode(&msg));
    }
    let votes = [
        (
            "prevote",
            Vote::sign(
                &v0,
                CHAIN_ID,
                VoteType::Prevote,
                h4,
                0,
                Some(block_4.hash()),
            ),
        ),
        (
            "precommit-nil",
            Vote::sign(&v0, CHAIN_ID, VoteType::Precommit, h4, 1, None),
        ),
        ("precommit", cert_4.precommits[0].clone()),
    ];
    for (name, vote) in votes {
        let msg = VoteMsg {
            vote,
            sent_ms: block_4.header.time_ms + 5,
        };
        add("gossip_vote", name, crate::encode(&msg));
    }

    let requests = [
        ("status", SyncRequest::Status),
        (
            "blocks",
            SyncRequest::Blocks {
                from: Height(1),
                count: crate::SYNC_BLOCKS_MAX,
            },
        ),
        (
            "txs",
            SyncRequest::Txs(block_4.txs.iter().map(SignedTx::hash).collect()),
        ),
        ("snapshots", SyncRequest::Snapshots),
        (
            "snapshot-anchor",
            SyncRequest::SnapshotAnchor { height: Height(3) },
        ),
        (
            "snapshot-chunk",
            SyncRequest::SnapshotChunk {
                height: Height(3),
                depth: 2,
                prefix: 1,
            },
        ),
    ];
    for (name, request) in requests {
        add("sync_request", name, crate::encode(&request));
    }
    let (last, _) = f.blocks.last().expect("the fixture has blocks");
    let responses = [
        (
            "status",
            SyncResponse::Status {
                height: last.header.height,
                last_hash: last.hash(),
            },
        ),
        ("blocks", SyncResponse::Blocks(f.blocks.clone())),
        ("txs", SyncResponse::Txs(block_4.txs.clone())),
        (
            "snapshots",
            SyncResponse::Snapshots(vec![Height(1), Height(2), Height(3)]),
        ),
        ("snapshot-anchor-none", SyncResponse::SnapshotAnchor(None)),
        (
            "snapshot-chunk",
            SyncResponse::SnapshotChunk(crate::ChunkAnswer::Chunk(
                ledger::state::snapshot::Chunk::build(&f.chain.state, 1, 1),
            )),
        ),
        (
            "snapshot-chunk-too-large",
            SyncResponse::SnapshotChunk(crate::ChunkAnswer::TooLarge),
        ),
    ];
    for (name, response) in responses {
        add("sync_response", name, crate::encode(&response));
    }

    for (name, index) in [("award", 0), ("pay", 1)] {
        add(
            "proof_bundle",
            name,
            audit_bundle(f, index).to_json().into_bytes(),
        );
    }
    for (name, key) in [
        ("entity", StateKey::Entity(id("MOH.BVBM"))),
        (
            "absent",
            StateKey::Contract(ContractId::new("C-NONE").expect("an id")),
        ),
    ] {
        add(
            "state_bundle",
            name,
            state_bundle(f, &key).to_json().into_bytes(),
        );
    }

    add("backup", "store", backup(f));
    for (name, depth, prefix) in [("whole", 0, 0), ("depth-2", 2, 1), ("depth-6", 6, 33)] {
        add(
            "snapshot_chunk",
            name,
            ledger::state::snapshot::Chunk::build(&f.chain.state, depth, prefix).encode(),
        );
    }

    add(
        "genesis",
        "story",
        story::test_genesis().to_json().into_bytes(),
    );
    add("genesis", "small", small_genesis().to_json().into_bytes());

    add("config", "empty", Vec::new());
    add(
        "config",
        "defaults",
        Config::default().to_toml().into_bytes(),
    );
    add(
        "config",
        "validator",
        validator_config().to_toml().into_bytes(),
    );
    add(
        "config",
        "explorer",
        explorer_config().to_toml().into_bytes(),
    );
    checkpoints::seeds(f, &mut add);
    // Proofs in the fixture's state map: of an entry, and of a key absent.
    let map = ledger::state::hashed_entries(&f.chain.state);
    let present = *map.keys().next().expect("the fixture's state has entries");
    let absent = ledger::Hash::digest(b"no such state key");
    for (name, key) in [("present", present), ("absent", absent)] {
        add(
            "state_proof",
            name,
            ledger::statemap::naive::prove(&map, &key).encode(),
        );
    }
    out
}

/// One transaction of each of the fourteen operations, each valid on the
/// fixture's state on its own.
fn one_of_each_operation(chain: &TestChain) -> Vec<SignedTx> {
    let doc = |name: &str| Some(Hash::digest(name.as_bytes()));
    vec![
        chain.tx(
            "MOF",
            0,
            register(
                "V-0002",
                EntityKind::Vendor,
                "Công ty Cổ phần Xây dựng Sông Hồng",
                None,
            ),
        ),
        chain.tx(
            "MOF",
            0,
            Op::SetStatus {
                entity: id("V-0001"),
                status: Status::Suspended,
            },
        ),
        chain.tx(
            "MOF",
            0,
            Op::RotateKey {
                entity: id("V-0001"),
                public_key: key("V-0001 (2)").public_key(),
            },
        ),
        chain.tx(
            "MOF",
            0,
            Op::Appropriate {
                year: year(),
                line: line(),
                to: id("MOH"),
                amount: Amount(250_000_000),
                legal_ref: "QĐ-88/QĐ-BTC".into(),
            },
        ),
        chain.tx(
            "MOH",
            0,
            Op::Allocate {
                year: year(),
                line: line(),
                to: id("MOH.BVBM"),
                amount: Amount(100_000_000),
            },
        ),
        chain.tx(
            "MOH.BVBM",
            0,
            Op::ReturnFunds {
                year: year(),
                line: line(),
                amount: Amount(50_000_000),
            },
        ),
        chain.tx(
            "MOH.BVBM",
            0,
            Op::Award {
                contract: contract("C-0002"),
                year: year(),
                line: line(),
                vendor: id("V-0001"),
                amount: Amount(120_000_000),
                title: "Bảo trì máy chụp cắt lớp".into(),
                document_hash: None,
            },
        ),
        chain.tx(
            "MOH.BVBM",
            0,
            Op::AmendContract {
                contract: contract("C-0001"),
                amount: Amount(350_000_000),
                reason: "Thêm hai máy thở".into(),
                document_hash: doc("phu-luc-1.pdf"),
            },
        ),
        chain.tx(
            "MOH.BVBM",
            0,
            Op::Pay {
                contract: contract("C-0001"),
                amount: Amount(50_000_000),
                reference: "INV-0002".into(),
                document_hash: doc("hoa-don-INV-0002.pdf"),
            },
        ),
        chain.tx(
            "MOH.BVBM",
            0,
            Op::ConfirmDelivery {
                contract: contract("C-0001"),
                milestone: "Đợt 1".into(),
                note: "Đã nhận 5 máy thở".into(),
            },
        ),
        chain.tx("MOF", 0, add_validator(5)),
        chain.tx(
            "MOF",
            0,
            Op::RemoveValidator {
                consensus_key: key("validator-4").public_key(),
            },
        ),
        chain.tx(
            "MOF",
            0,
            Op::RegisterNode {
                peer_id: peer("node-1"),
                operator: id("MOH"),
            },
        ),
        chain.tx(
            "MOF",
            0,
            Op::RemoveNode {
                peer_id: peer("node-0"),
            },
        ),
    ]
}

/// Block 4, certified but not committed: a payment, a delivery and
/// validator-0's two conflicting prevotes of an earlier round.
fn next_block(chain: &TestChain) -> (Block, CommitCertificate, Evidence) {
    let v0 = key("validator-0");
    let h3 = chain.state.height();
    let evidence = Evidence {
        a: Vote::sign(
            &v0,
            CHAIN_ID,
            VoteType::Prevote,
            h3,
            1,
            Some(Hash::digest(b"one block")),
        ),
        b: Vote::sign(&v0, CHAIN_ID, VoteType::Prevote, h3, 1, None),
    };
    let txs = vec![
        chain.tx(
            "MOH.BVBM",
            0,
            Op::Pay {
                contract: contract("C-0001"),
                amount: Amount(100_000_000),
                reference: "INV-0003".into(),
                document_hash: None,
            },
        ),
        chain.tx(
            "MOH.BVBM",
            1,
            Op::ConfirmDelivery {
                contract: contract("C-0001"),
                milestone: "Đợt 2".into(),
                note: String::new(),
            },
        ),
    ];
    let template = BlockTemplate {
        prev_hash: chain.last_hash,
        history_root: chain.history.root(),
        time_ms: chain.last_time_ms + 1000,
        proposer: v0.public_key(),
        last_commit: chain.last_cert.clone(),
        evidence: vec![evidence.clone()],
    };
    let (block, _) = build_block(&chain.state, txs, template).expect("block 4 executes");
    let keys: Vec<_> = chain.validator_keys.iter().collect();
    let cert = sign_commit(&block, 0, &keys);
    (block, cert, evidence)
}

/// The audit bundle of transaction `index` of block 3, made as a node makes
/// one from its store.
fn audit_bundle(f: &Fixture, index: usize) -> AuditBundle {
    let (block, certificate) = &f.blocks[2];
    let (change, change_cert) = &f.blocks[SET_CHANGE_AT.0 as usize - 1];
    let tx = &block.txs[index];
    AuditBundle {
        format: BUNDLE_FORMAT.into(),
        version: BUNDLE_VERSION,
        chain_id: CHAIN_ID.into(),
        genesis_hash: f.chain.genesis_hash,
        tx: BundleTx {
            hash: tx.hash(),
            bytes: tx.encode(),
            view: tx_view(tx),
        },
        block: BundleBlock {
            header: BundleHeader::new(&block.header),
            index: index as u32,
            inclusion: InclusionProof::generate(&block.tx_leaf_hashes(), index)
                .expect("the index is inside the block"),
            certificate: certificate.clone(),
        },
        validator_set_changes: vec![SetChange {
            header: BundleHeader::new(&change.header),
            certificate: change_cert.clone(),
            next_validators: f.set_at(Height(SET_CHANGE_AT.0 + 1)).clone(),
        }],
        witnesses: Vec::new(),
        signer: None,
    }
}

/// The state proof of `key` after the fixture's last block, made as a node
/// makes one from its store.
/// A backup of a small store: the home's files, then blocks and records
/// of each column a fuzzed backup may name.
fn backup(f: &Fixture) -> Vec<u8> {
    let mut w = ledger::backup::BackupWriter::new(Vec::new()).expect("writes to memory");
    w.file("genesis.json", small_genesis().to_json().as_bytes())
        .expect("a file");
    w.file("config.toml", b"[node]\nname = \"v1\"\n")
        .expect("a file");
    for (i, (block, _)) in f.blocks.iter().enumerate() {
        w.entry("blocks", &(i as u64 + 1).to_be_bytes(), &block.encode())
            .expect("a block");
    }
    w.entry("meta", b"chain_id", CHAIN_ID.as_bytes())
        .expect("meta");
    w.entry("safety", b"sign_guard", &[0, 0, 0, 0, 0, 0, 0, 9, 1])
        .expect("a guard");
    w.finish().expect("writes to memory").1
}

fn state_bundle(f: &Fixture, key: &StateKey) -> StateBundle {
    let (block, certificate) = f.blocks.last().expect("the fixture has blocks");
    let state = &f.chain.state;
    assert_eq!(state.height(), block.header.height, "the state after it");
    let value = state.entries().find(|(k, _)| *k == key).map(|(_, v)| v);
    StateBundle {
        format: STATE_BUNDLE_FORMAT.into(),
        version: STATE_BUNDLE_VERSION,
        chain_id: CHAIN_ID.into(),
        genesis_hash: f.chain.genesis_hash,
        entry: BundleEntry::new(
            key,
            value,
            state.tree().prove(&ledger::state::key_hash(key)),
        ),
        block: StateBlock {
            header: BundleHeader::new(&block.header),
            certificate: certificate.clone(),
        },
        validator_set_changes: audit_bundle(f, 0).validator_set_changes,
        witnesses: Vec::new(),
    }
}

/// A genesis with each kind of entity, four validators and a full node.
fn small_genesis() -> Genesis {
    let entity = |id_: &str, kind, name: &str, parent: Option<&str>| GenesisEntity {
        id: id(id_),
        kind,
        name: name.into(),
        parent: parent.map(id),
        keys: vec![key(id_).public_key()],
        threshold: 1,
    };
    Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: ledger::testkit::GENESIS_TIME_MS,
        currency: Currency {
            code: "VND".into(),
            decimals: 0,
        },
        entities: vec![
            entity("MOF", EntityKind::Treasury, "Bộ Tài chính", None),
            entity("MOH", EntityKind::Ministry, "Bộ Y tế", None),
            entity(
                "MOH.BVBM",
                EntityKind::Department,
                "Bệnh viện Bạch Mai",
                Some("MOH"),
            ),
            entity(
                "V-0001",
                EntityKind::Vendor,
                "Công ty TNHH Thiết bị Y tế Hà Nội",
                None,
            ),
            entity("TTXVN", EntityKind::Observer, "Tòa soạn Minh Bạch", None),
            entity(
                "KBNN.KSC",
                EntityKind::Controller,
                "Phòng Kiểm soát chi, Kho bạc Nhà nước",
                None,
            ),
        ],
        validators: (0..4).map(validator).collect(),
        nodes: vec![ledger::state::NodeRecord {
            peer_id: peer("node-0"),
            operator: id("MOH"),
        }],
        rotation_delay: 100,
        control: vec![ledger::state::ControlRule {
            ministry: Some(id("MOH")),
            amount: ledger::Amount(1_000_000_000),
            controller: id("KBNN.KSC"),
        }],
    }
}

/// A full node's config serving the explorer behind reverse proxies, with
/// `[limits] trusted_proxies` set.
fn explorer_config() -> Config {
    let mut c = Config::default();
    c.node.name = "explorer".into();
    c.explorer.listen = Some("127.0.0.1:8081".parse().expect("a socket address"));
    c.limits.trusted_proxies = ["127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32"]
        .iter()
        .map(|r| r.parse().expect("an address or a range"))
        .collect();
    c
}

/// A validator's config as `minhbach testnet` writes one, with every
/// section set.
fn validator_config() -> Config {
    let mut c = Config::default();
    c.node.name = "validator-1".into();
    c.p2p.listen = "/ip4/127.0.0.1/tcp/26657".into();
    c.p2p.peers = vec![format!(
        "/ip4/127.0.0.1/tcp/26656/p2p/{}",
        peer("validator-0")
    )];
    c.api.listen = "127.0.0.1:8081".parse().expect("a socket address");
    c.explorer.listen = Some("0.0.0.0:8090".parse().expect("a socket address"));
    c.limits.block_txs = 5_000;
    c.consensus.block_interval_ms = 1_000;
    c.log.format = LogFormat::Json;
    c.log.level = "info,node=debug".into();
    c
}
