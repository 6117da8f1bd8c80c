//! `minhbach tx <operation>` flags parse into exactly the operation they name,
//! for every operation of the ledger; bad values are refused while parsing;
//! the flags of signing, of transaction files and of `tx sign`, `show` and
//! `submit` parse; and a signed transaction decodes and verifies.

use std::collections::BTreeSet;
use std::time::Duration;

use cli::tx::{parse_args, sign, SignArgs, TxCommand};
use ledger::crypto::SigningKey;
use ledger::testkit::id;
use ledger::tx::{EntityKind, Op, Status};
use ledger::{Amount, ContractId, Hash, LineCode, PeerId, PublicKey, SignedTx, Year};

const SIGN: [&str; 4] = ["--key", "k.json", "--signer", "MOF"];

fn contract(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

fn line(s: &str) -> LineCode {
    LineCode::new(s).unwrap()
}

fn public_key(seed: u8) -> PublicKey {
    SigningKey::from_seed([seed; 32]).public_key()
}

fn peer(seed: u8) -> PeerId {
    PeerId::from_ed25519(&public_key(seed)).unwrap()
}

/// Parses `tx <op> --key k.json --signer MOF <flags>`.
fn parse(op: &str, flags: &[&str]) -> (SignArgs, Op) {
    let args: Vec<&str> = [op].iter().chain(&SIGN).chain(flags).copied().collect();
    match parse_args(&args) {
        Ok(TxCommand::Op(command)) => command.into_parts(),
        Ok(other) => panic!("{args:?} parsed as {other:?}"),
        Err(e) => panic!("{args:?}: {e}"),
    }
}

fn parse_err(op: &str, flags: &[&str]) -> String {
    let args: Vec<&str> = [op].iter().chain(&SIGN).chain(flags).copied().collect();
    match parse_args(&args) {
        Ok(command) => panic!("{args:?} parsed as {command:?}"),
        Err(e) => e.to_string(),
    }
}

/// Ties each operation to a number; a new operation fails to compile here
/// until a case below covers it.
fn variant(op: &Op) -> usize {
    match op {
        Op::RegisterEntity { .. } => 0,
        Op::SetStatus { .. } => 1,
        Op::RotateKey { .. } => 2,
        Op::Appropriate { .. } => 3,
        Op::Allocate { .. } => 4,
        Op::ReturnFunds { .. } => 5,
        Op::Award { .. } => 6,
        Op::AmendContract { .. } => 7,
        Op::Pay { .. } => 8,
        Op::ConfirmDelivery { .. } => 9,
        Op::AddValidator { .. } => 10,
        Op::RemoveValidator { .. } => 11,
        Op::RegisterNode { .. } => 12,
        Op::RemoveNode { .. } => 13,
        Op::SetKeys { .. } => 14,
        Op::CancelKeys { .. } => 15,
        Op::SetControl { .. } => 16,
        Op::RemoveControl { .. } => 17,
        Op::CloseYear { .. } => 18,
        Op::AcknowledgePayment { .. } => 19,
        Op::ScheduleUpgrade { .. } => 20,
    }
}
const VARIANTS: usize = 21;

#[test]
fn every_operation_parses_into_its_fields() {
    let doc = "ab".repeat(32);
    let doc_hash = Hash::from_hex(&doc).unwrap();
    let k7 = public_key(7).to_hex();
    let k8 = public_key(8).to_hex();
    let p9 = peer(9).to_string();
    let cases: Vec<(&str, Vec<&str>, Op)> = vec![
        (
            "register-entity",
            vec![
                "--id",
                "MOH.BVBM",
                "--kind",
                "department",
                "--name",
                "Bệnh viện Bạch Mai",
                "--parent",
                "MOH",
                "--public-key",
                &k7,
            ],
            Op::RegisterEntity {
                id: id("MOH.BVBM"),
                kind: EntityKind::Department,
                name: "Bệnh viện Bạch Mai".into(),
                parent: Some(id("MOH")),
                keys: vec![public_key(7)],
                threshold: 1,
            },
        ),
        (
            "set-status",
            vec!["--entity", "V-0042", "--status", "suspended"],
            Op::SetStatus {
                entity: id("V-0042"),
                status: Status::Suspended,
            },
        ),
        (
            "rotate-key",
            vec!["--entity", "V-0042", "--public-key", &k8],
            Op::RotateKey {
                entity: id("V-0042"),
                public_key: public_key(8),
            },
        ),
        (
            "appropriate",
            vec![
                "--year",
                "2026",
                "--line",
                "0402-HEALTH-INFRA",
                "--to",
                "MOH",
                "--amount",
                "50.000.000.000",
                "--legal-ref",
                "Nghị quyết 104/2025/QH15",
            ],
            Op::Appropriate {
                year: Year(2026),
                line: line("0402-HEALTH-INFRA"),
                to: id("MOH"),
                amount: Amount(50_000_000_000),
                legal_ref: "Nghị quyết 104/2025/QH15".into(),
            },
        ),
        (
            "allocate",
            vec![
                "--year",
                "2026",
                "--line",
                "0402-HEALTH-INFRA",
                "--to",
                "MOH.BVBM",
                "--amount",
                "7,500,000",
            ],
            Op::Allocate {
                year: Year(2026),
                line: line("0402-HEALTH-INFRA"),
                to: id("MOH.BVBM"),
                amount: Amount(7_500_000),
            },
        ),
        (
            "return-funds",
            vec!["--year", "2027", "--line", "L-1", "--amount", "1"],
            Op::ReturnFunds {
                year: Year(2027),
                line: line("L-1"),
                amount: Amount(1),
            },
        ),
        (
            "award",
            vec![
                "--contract",
                "C-17",
                "--year",
                "2026",
                "--line",
                "0402-HEALTH-INFRA",
                "--vendor",
                "V-0042",
                "--amount",
                "3000000",
                "--title",
                "Máy thở",
                "--document-hash",
                &doc,
            ],
            Op::Award {
                contract: contract("C-17"),
                year: Year(2026),
                line: line("0402-HEALTH-INFRA"),
                vendor: id("V-0042"),
                amount: Amount(3_000_000),
                title: "Máy thở".into(),
                document_hash: Some(doc_hash),
            },
        ),
        (
            "amend-contract",
            vec![
                "--contract",
                "C-17",
                "--amount",
                "2.500.000",
                "--reason",
                "bớt một máy",
            ],
            Op::AmendContract {
                contract: contract("C-17"),
                amount: Amount(2_500_000),
                reason: "bớt một máy".into(),
                document_hash: None,
            },
        ),
        (
            "pay",
            vec![
                "--contract",
                "C-17",
                "--amount",
                "300000",
                "--reference",
                "INV-9",
            ],
            Op::Pay {
                contract: contract("C-17"),
                amount: Amount(300_000),
                reference: "INV-9".into(),
                document_hash: None,
            },
        ),
        (
            "confirm-delivery",
            vec![
                "--contract",
                "C-17",
                "--milestone",
                "đợt 1",
                "--note",
                "đủ 3 máy",
            ],
            Op::ConfirmDelivery {
                contract: contract("C-17"),
                milestone: "đợt 1".into(),
                note: "đủ 3 máy".into(),
            },
        ),
        (
            "add-validator",
            vec![
                "--name",
                "val-4",
                "--consensus-key",
                &k7,
                "--peer-id",
                &p9,
                "--power",
                "10",
            ],
            Op::AddValidator {
                name: "val-4".into(),
                consensus_key: public_key(7),
                peer_id: peer(9),
                power: 10,
            },
        ),
        (
            "remove-validator",
            vec!["--consensus-key", &k8],
            Op::RemoveValidator {
                consensus_key: public_key(8),
            },
        ),
        (
            "register-node",
            vec!["--peer-id", &p9, "--operator", "OBS.TUOITRE"],
            Op::RegisterNode {
                peer_id: peer(9),
                operator: id("OBS.TUOITRE"),
            },
        ),
        (
            "remove-node",
            vec!["--peer-id", &p9],
            Op::RemoveNode { peer_id: peer(9) },
        ),
        (
            "set-keys",
            vec![
                "--entity",
                "MOH",
                "--public-key",
                &k8,
                "--public-key",
                &k7,
                "--threshold",
                "2",
            ],
            Op::SetKeys {
                entity: id("MOH"),
                keys: vec![public_key(8), public_key(7)],
                threshold: 2,
            },
        ),
        (
            "cancel-keys",
            vec!["--entity", "MOH"],
            Op::CancelKeys { entity: id("MOH") },
        ),
        (
            "set-control",
            vec![
                "--ministry",
                "MOH",
                "--amount",
                "50.000.000.000",
                "--controller",
                "KBNN",
            ],
            Op::SetControl {
                ministry: Some(id("MOH")),
                amount: Amount(50_000_000_000),
                controller: id("KBNN"),
            },
        ),
        (
            "remove-control",
            vec!["--ministry", "MOH"],
            Op::RemoveControl {
                ministry: Some(id("MOH")),
            },
        ),
        (
            "close-year",
            vec!["--year", "2026"],
            Op::CloseYear { year: Year(2026) },
        ),
        (
            "acknowledge-payment",
            vec!["--contract", "C-17", "--payment", "2"],
            Op::AcknowledgePayment {
                contract: contract("C-17"),
                payment: 2,
            },
        ),
        (
            "schedule-upgrade",
            vec!["--height", "5000", "--version", "2"],
            Op::ScheduleUpgrade {
                height: ledger::Height(5000),
                version: 2,
            },
        ),
    ];
    let mut covered = BTreeSet::new();
    for (name, flags, expected) in cases {
        let (sign, op) = parse(name, &flags);
        assert_eq!(op, expected, "tx {name}");
        assert_eq!(
            op.name(),
            name,
            "the subcommand is named after the operation"
        );
        assert_eq!(sign.signer, id("MOF"));
        assert_eq!(sign.key, [std::path::PathBuf::from("k.json")]);
        assert_eq!(
            (sign.unsigned, sign.out, sign.offline),
            (false, None, false)
        );
        covered.insert(variant(&op));
    }
    assert_eq!(
        covered,
        (0..VARIANTS).collect(),
        "every operation has a case"
    );
}

#[test]
fn optional_fields_default_to_absent() {
    let (_, op) = parse(
        "register-entity",
        &[
            "--id",
            "V-0042",
            "--kind",
            "vendor",
            "--name",
            "Công ty TNHH Thiết bị Y tế Hà Nội",
            "--public-key",
            &public_key(3).to_hex(),
        ],
    );
    assert!(matches!(
        op,
        Op::RegisterEntity {
            parent: None,
            kind: EntityKind::Vendor,
            ..
        }
    ));
    let (_, op) = parse(
        "confirm-delivery",
        &["--contract", "C-1", "--milestone", "m"],
    );
    assert!(matches!(op, Op::ConfirmDelivery { ref note, .. } if note.is_empty()));
}

#[test]
fn signing_flags_parse() {
    let (sign, _) = parse("remove-node", &["--peer-id", &peer(1).to_string()]);
    assert_eq!(
        (sign.nonce, sign.wait, sign.timeout),
        (None, false, Duration::from_secs(60))
    );
    let (sign, _) = parse(
        "remove-node",
        &[
            "--peer-id",
            &peer(1).to_string(),
            "--nonce",
            "42",
            "--wait",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(
        (sign.nonce, sign.wait, sign.timeout),
        (Some(42), true, Duration::from_secs(120))
    );
}

#[test]
fn a_document_file_is_put_on_chain_as_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hop-dong.pdf");
    std::fs::write(&path, b"abc").unwrap();
    let (_, op) = parse(
        "pay",
        &[
            "--contract",
            "C-17",
            "--amount",
            "1",
            "--reference",
            "INV-1",
            "--document",
            path.to_str().unwrap(),
        ],
    );
    // SHA-256("abc"), from FIPS 180-2.
    let expected =
        Hash::from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").unwrap();
    assert!(matches!(op, Op::Pay { document_hash: Some(h), .. } if h == expected));

    let err = parse_err(
        "pay",
        &[
            "--contract",
            "C-17",
            "--amount",
            "1",
            "--reference",
            "INV-1",
            "--document",
            path.to_str().unwrap(),
            "--document-hash",
            &"00".repeat(32),
        ],
    );
    assert!(err.contains("cannot be used with"), "{err}");
    let missing = dir.path().join("missing.pdf");
    let err = parse_err(
        "pay",
        &[
            "--contract",
            "C-17",
            "--amount",
            "1",
            "--reference",
            "INV-1",
            "--document",
            missing.to_str().unwrap(),
        ],
    );
    assert!(err.contains("--document"), "{err}");
}

#[test]
fn bad_values_are_refused_naming_the_flag() {
    let cases: [(&str, &[&str], &str); 9] = [
        (
            "pay",
            &["--contract", "c-17", "--amount", "1", "--reference", "r"],
            "--contract",
        ),
        (
            "pay",
            &["--contract", "C-17", "--amount", "1.5", "--reference", "r"],
            "--amount",
        ),
        (
            "pay",
            &["--contract", "C-17", "--amount", "-1", "--reference", "r"],
            "--amount",
        ),
        (
            "allocate",
            &[
                "--year", "1999", "--line", "L1", "--to", "MOH.X", "--amount", "1",
            ],
            "--year",
        ),
        (
            "allocate",
            &[
                "--year", "2026", "--line", "l 1", "--to", "MOH.X", "--amount", "1",
            ],
            "--line",
        ),
        (
            "rotate-key",
            &["--entity", "MOH", "--public-key", "xyz"],
            "--public-key",
        ),
        ("remove-node", &["--peer-id", "not-a-peer"], "--peer-id"),
        (
            "set-status",
            &["--entity", "MOH", "--status", "deleted"],
            "--status",
        ),
        (
            "register-entity",
            &[
                "--id",
                "MOF2",
                "--kind",
                "treasury",
                "--name",
                "x",
                "--public-key",
                "00",
            ],
            "--kind",
        ),
    ];
    for (op, flags, flag) in cases {
        let err = parse_err(op, flags);
        assert!(err.contains(flag), "tx {op} {flags:?}: {err}");
    }
    // The identity point is 64 good hex digits but a small-order key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let err = parse_err(
        "remove-validator",
        &["--consensus-key", &hex::encode(identity)],
    );
    assert!(
        err.contains("--consensus-key") && err.contains("small order"),
        "{err}"
    );
    // The signer too is an id.
    let err = parse_args([
        "pay",
        "--key",
        "k",
        "--signer",
        "mof",
        "--contract",
        "C-1",
        "--amount",
        "1",
        "--reference",
        "r",
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("--signer"), "{err}");
}

#[test]
fn a_signed_transaction_decodes_and_verifies() {
    let key = SigningKey::from_seed([5; 32]);
    let op = Op::Pay {
        contract: contract("C-17"),
        amount: Amount(300_000),
        reference: "INV-9".into(),
        document_hash: None,
    };
    let tx = sign("minhbach-test", id("MOH.BVBM"), 12, op.clone(), &key);
    let bytes = tx.encode();
    let decoded = SignedTx::decode(&bytes).unwrap();
    assert_eq!(decoded.body.chain_id, "minhbach-test");
    assert_eq!(decoded.body.signer, id("MOH.BVBM"));
    assert_eq!(decoded.body.nonce, 12);
    assert_eq!(decoded.body.op, op);
    assert_eq!(decoded.signatures.len(), 1);
    assert_eq!(decoded.signatures[0].key, key.public_key());
    assert!(decoded.verify_signatures());
    // A signature that names another key does not verify.
    let mut forged = decoded.clone();
    forged.signatures[0].key = public_key(6);
    assert!(!forged.verify_signatures());
    // The hash is SHA-256 of the signed bytes.
    assert_eq!(decoded.hash(), Hash::digest(&bytes));
    // Signing binds the chain: the same body for another chain is another signature.
    let other = sign("minhbach-other", id("MOH.BVBM"), 12, op, &key);
    assert_ne!(other.signatures[0].signature, tx.signatures[0].signature);
}

#[test]
fn entities_of_several_keys_and_control_rules_of_all_ministries_parse() {
    let keys: Vec<String> = (1..=3).map(|i| public_key(i).to_hex()).collect();
    let (_, op) = parse(
        "register-entity",
        &[
            "--id",
            "KBNN",
            "--kind",
            "controller",
            "--name",
            "Kho bạc Nhà nước",
            "--public-key",
            &keys[0],
            "--public-key",
            &keys[1],
            "--public-key",
            &keys[2],
            "--threshold",
            "2",
        ],
    );
    assert_eq!(
        op,
        Op::RegisterEntity {
            id: id("KBNN"),
            kind: EntityKind::Controller,
            name: "Kho bạc Nhà nước".into(),
            parent: None,
            keys: vec![public_key(1), public_key(2), public_key(3)],
            threshold: 2,
        }
    );
    // No --ministry: the rule of all ministries.
    let (_, op) = parse(
        "set-control",
        &["--amount", "1,000,000", "--controller", "KBNN"],
    );
    assert_eq!(
        op,
        Op::SetControl {
            ministry: None,
            amount: Amount(1_000_000),
            controller: id("KBNN"),
        }
    );
    let (_, op) = parse("remove-control", &[]);
    assert_eq!(op, Op::RemoveControl { ministry: None });
    // register-entity needs a key; set-keys a key and a threshold.
    for (op, flags, flag) in [
        (
            "register-entity",
            &["--id", "V-1", "--kind", "vendor", "--name", "v"][..],
            "--public-key",
        ),
        (
            "set-keys",
            &["--entity", "V-1", "--threshold", "1"],
            "--public-key",
        ),
        (
            "set-keys",
            &["--entity", "V-1", "--public-key", &keys[0]],
            "--threshold",
        ),
        ("set-control", &["--amount", "1"], "--controller"),
        (
            "set-control",
            &["--amount", "1.5", "--controller", "K"],
            "--amount",
        ),
        ("cancel-keys", &[], "--entity"),
    ] {
        let err = parse_err(op, flags);
        assert!(err.contains(flag), "tx {op} {flags:?}: {err}");
    }
}

/// Parses `tx remove-node --peer-id P --signer MOF <flags>` (no `--key`
/// unless `flags` has one).
fn parse_remove_node(flags: &[&str]) -> Result<SignArgs, String> {
    let p = peer(1).to_string();
    let mut args = vec!["remove-node", "--peer-id", &p, "--signer", "MOF"];
    args.extend(flags);
    match parse_args(&args) {
        Ok(TxCommand::Op(command)) => Ok(command.into_parts().0),
        Ok(other) => panic!("{args:?} parsed as {other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn keys_repeat_and_a_transaction_can_be_written_unsigned_to_a_file() {
    let sign = parse_remove_node(&["--key", "a.json", "--key", "b.json"]).unwrap();
    assert_eq!(sign.key, ["a.json", "b.json"].map(std::path::PathBuf::from));
    assert_eq!(sign.out, None);

    let sign = parse_remove_node(&["--unsigned", "--out", "tx.json"]).unwrap();
    assert!(sign.unsigned && sign.key.is_empty());
    assert_eq!(sign.out, Some("tx.json".into()));
    assert!(!sign.offline);
    let sign = parse_remove_node(&[
        "--unsigned",
        "--out",
        "tx.json",
        "--offline",
        "--nonce",
        "4",
    ])
    .unwrap();
    assert_eq!((sign.offline, sign.nonce), (true, Some(4)));
    // Signed by a key but written to a file rather than submitted.
    let sign = parse_remove_node(&["--key", "a.json", "--out", "tx.json"]).unwrap();
    assert_eq!((sign.unsigned, sign.out), (false, Some("tx.json".into())));

    for (flags, flag) in [
        (&[][..], "--key"),
        (&["--unsigned"], "--out"),
        (&["--unsigned", "--out", "t", "--key", "a"], "--key"),
        (&["--key", "a", "--out", "t", "--wait"], "--wait"),
        (&["--unsigned", "--out", "t", "--offline"], "--nonce"),
        (&["--key", "a", "--offline", "--nonce", "1"], "--out"),
    ] {
        let err = parse_remove_node(flags).unwrap_err();
        assert!(err.contains(flag), "{flags:?}: {err}");
    }
}

#[test]
fn sign_show_and_submit_take_a_file() {
    match parse_args(["sign", "tx.json", "--key", "a.json", "--key", "b.json"]) {
        Ok(TxCommand::Sign(a)) => {
            assert_eq!(a.file.to_str(), Some("tx.json"));
            assert_eq!(a.key, ["a.json", "b.json"].map(std::path::PathBuf::from));
            assert!(!a.offline);
        }
        other => panic!("{other:?}"),
    }
    match parse_args(["sign", "tx.json", "--key", "a.json", "--offline"]) {
        Ok(TxCommand::Sign(a)) => assert!(a.offline),
        other => panic!("{other:?}"),
    }
    match parse_args(["show", "tx.json"]) {
        Ok(TxCommand::Show(a)) => assert_eq!(a.file.to_str(), Some("tx.json")),
        other => panic!("{other:?}"),
    }
    match parse_args(["submit", "tx.json"]) {
        Ok(TxCommand::Submit(a)) => {
            assert_eq!(a.file.to_str(), Some("tx.json"));
            assert_eq!((a.wait, a.timeout), (false, Duration::from_secs(60)));
        }
        other => panic!("{other:?}"),
    }
    match parse_args(["submit", "tx.json", "--wait", "--timeout", "2m"]) {
        Ok(TxCommand::Submit(a)) => {
            assert_eq!((a.wait, a.timeout), (true, Duration::from_secs(120)))
        }
        other => panic!("{other:?}"),
    }
    for (args, flag) in [
        (&["sign", "tx.json"][..], "--key"),
        (&["sign", "--key", "a.json"], "<FILE>"),
        (&["show"], "<FILE>"),
        (&["submit", "--wait"], "<FILE>"),
    ] {
        let err = parse_args(args).unwrap_err().to_string();
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}
