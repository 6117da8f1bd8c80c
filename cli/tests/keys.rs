//! `minhbach keys`: files are private, `show` prints the key and peer id, and
//! a key file that others can read is refused.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn minhbach(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .args(args)
        .output()
        .expect("run minhbach")
}

#[test]
fn new_writes_a_private_key_that_show_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("treasury.key");
    let p = path.to_str().unwrap();
    let out = minhbach(&["keys", "new", "--out", p, "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["type"], "ed25519");
    assert_eq!(file["public_key"], created["public_key"]);
    assert_eq!(file["secret_key"].as_str().unwrap().len(), 64);

    let shown = minhbach(&["keys", "show", p, "--output", "json"]);
    assert!(shown.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown, created);
    // An ed25519 libp2p peer id is an identity multihash in base58: "12D3KooW...".
    assert!(
        shown["peer_id"].as_str().unwrap().starts_with("12D3KooW"),
        "{shown}"
    );

    // Never overwrite a key.
    let again = minhbach(&["keys", "new", "--out", p]);
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn show_refuses_a_key_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let p = path.to_str().unwrap();
    assert!(minhbach(&["keys", "new", "--out", p]).status.success());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = minhbach(&["keys", "show", p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(minhbach(&["keys", "new"]).status.code(), Some(2));
    assert_eq!(minhbach(&["frobnicate"]).status.code(), Some(2));
}
