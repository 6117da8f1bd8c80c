//! Approvals end to end, against a one-validator network of a real node
//! process on loopback: an entity of several keys acts only when enough of
//! them sign, a payment over a control rule's amount needs the controller's
//! signature too, and both are gathered with transaction files (`--unsigned
//! --out`, `tx sign`, `tx submit`) or with `--key` repeated.

mod support;

use std::path::Path;

use ledger::crypto::SigningKey;
use node::testnet::Governance;
use support::net::{mri_award, Net, TX_WAIT};
use support::{key_file, Run};

/// A one-validator network of the devnet story's entities.
fn start(chain_id: &str) -> Net {
    Net::start(chain_id, &Governance::default())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A rejection: exit 1 naming `code`.
fn assert_rejected(run: &Run, code: &str) {
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains(code), "{code} not in: {run:?}");
}

#[test]
fn an_entity_of_three_keys_acts_when_two_sign_a_file_in_turn() {
    let net = start("minhbach-kofn");
    let dir = net.dir.path();
    let (a_path, a) = key_file(dir, "a.key", 31);
    let (b_path, b) = key_file(dir, "b.key", 32);
    let (c_path, c) = key_file(dir, "c.key", 33);
    let hex = |k: &SigningKey| k.public_key().to_hex();
    let (d_path, d) = key_file(dir, "d.key", 34);
    let (e_path, e) = key_file(dir, "e.key", 35);
    let btc = net.key("BTC");
    net.tx_ok(&[
        "register-entity",
        "--key",
        &btc,
        "--signer",
        "BTC",
        "--id",
        "V-0100",
        "--kind",
        "vendor",
        "--name",
        "Công ty TNHH Ba Chữ Ký",
        "--public-key",
        &hex(&a),
        "--public-key",
        &hex(&b),
        "--public-key",
        &hex(&c),
        "--threshold",
        "2",
        "--wait",
        "--timeout",
        TX_WAIT,
    ]);

    // The vendor replaces its keys with two new ones, both to sign: the file
    // goes from one official to the next, each checking it against the node.
    let file = net.path("set-keys.json");
    net.tx_ok(&[
        "set-keys",
        "--signer",
        "V-0100",
        "--entity",
        "V-0100",
        "--public-key",
        &hex(&d),
        "--public-key",
        &hex(&e),
        "--threshold",
        "2",
        "--unsigned",
        "--out",
        s(&file),
    ]);
    net.tx_ok(&["sign", s(&file), "--key", s(&a_path)]);
    // One of three keys is not enough; the node says so.
    let once = net.path("set-keys-once.json");
    std::fs::copy(&file, &once).unwrap();
    net.tx_ok(&["sign", s(&file), "--key", s(&c_path)]);
    let shown = net.tx_ok(&["show", s(&file)]);
    assert!(
        shown.stdout.contains("signatures    2 (in key order)"),
        "{shown:?}"
    );
    assert_rejected(
        &net.tx(&["submit", s(&once), "--wait", "--timeout", TX_WAIT]),
        "threshold_not_met",
    );
    let run = net.tx_ok(&["submit", s(&file), "--wait", "--timeout", TX_WAIT]);
    assert!(run.stdout.contains("committed at height"), "{run:?}");

    // The new keys are the vendor's now: the old ones are foreign, one new
    // one is short of the threshold, both new ones act.
    let foreign = net.tx(&[
        "cancel-keys",
        "--key",
        s(&a_path),
        "--key",
        s(&b_path),
        "--signer",
        "V-0100",
        "--entity",
        "V-0100",
        "--wait",
        "--timeout",
        TX_WAIT,
    ]);
    assert_rejected(&foreign, "foreign_signature");
    let short = net.tx(&[
        "cancel-keys",
        "--key",
        s(&d_path),
        "--signer",
        "V-0100",
        "--entity",
        "V-0100",
        "--wait",
        "--timeout",
        TX_WAIT,
    ]);
    assert_rejected(&short, "threshold_not_met");
    // Nothing is pending, so the cancel itself is refused as changing
    // nothing, once its signatures are enough.
    let enough = net.tx(&[
        "cancel-keys",
        "--key",
        s(&d_path),
        "--key",
        s(&e_path),
        "--signer",
        "V-0100",
        "--entity",
        "V-0100",
        "--wait",
        "--timeout",
        TX_WAIT,
    ]);
    assert_rejected(&enough, "no_op");
}

#[test]
fn a_payment_over_the_control_amount_needs_the_controllers_signature() {
    let net = start("minhbach-control");
    let (btc, bvbm, kbnn) = (net.key("BTC"), net.key("BYT-BVBM"), net.key("KBNN"));
    let wait = ["--wait", "--timeout", TX_WAIT];
    let signed = |key: &str, signer: &str, op: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = vec![op[0].into(), "--key".into(), key.into()];
        args.extend(["--signer".into(), signer.into()]);
        args.extend(op[1..].iter().map(|a| a.to_string()));
        args.extend(wait.map(str::to_owned));
        args
    };
    let run = |args: Vec<String>| net.tx(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let ok = |args: Vec<String>| {
        let r = run(args);
        assert_eq!(r.code, Some(0), "{r:?}\nthe node said:\n{}", net.said());
    };
    net.fund_hospital("100.000.000.000", "80.000.000.000");
    ok(signed(
        &btc,
        "BTC",
        &[
            "set-control",
            "--ministry",
            "BYT",
            "--amount",
            "50.000.000.000",
            "--controller",
            "KBNN",
        ],
    ));
    let award = mri_award("60.000.000.000");
    assert_rejected(&run(signed(&bvbm, "BYT-BVBM", &award)), "approval_required");

    // The hospital prepares the award; the hospital and the controller sign.
    let file = net.path("award.json");
    let mut unsigned: Vec<String> = award.map(str::to_owned).to_vec();
    unsigned.extend(["--signer", "BYT-BVBM", "--unsigned", "--out", s(&file)].map(str::to_owned));
    ok(unsigned);
    let shown = net.tx_ok(&["show", s(&file)]);
    assert!(
        shown.stdout.contains("amount        60,000,000,000 đồng"),
        "{shown:?}"
    );
    net.tx_ok(&["sign", s(&file), "--key", &bvbm]);
    net.tx_ok(&["sign", s(&file), "--key", &kbnn]);
    let run_submit = net.tx_ok(&["submit", s(&file), "--wait", "--timeout", TX_WAIT]);
    assert!(
        run_submit.stdout.contains("committed at height"),
        "{run_submit:?}"
    );

    // A payment over the amount, both keys at once on the command line.
    let pay = [
        "pay",
        "--contract",
        "C-1",
        "--amount",
        "55.000.000.000",
        "--reference",
        "HĐ-01",
        "--key",
        &kbnn,
    ];
    ok(signed(&bvbm, "BYT-BVBM", &pay));
    // Under the amount, the hospital alone.
    ok(signed(
        &bvbm,
        "BYT-BVBM",
        &[
            "pay",
            "--contract",
            "C-1",
            "--amount",
            "1.000.000",
            "--reference",
            "HĐ-02",
        ],
    ));
}
