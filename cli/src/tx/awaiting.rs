//! Gathering signatures on a node instead of passing a file around:
//! `minhbach tx submit FILE --awaiting` leaves a transaction that needs more
//! signatures with the node (`POST /v1/awaiting`), and `minhbach tx fetch ID
//! --out FILE` writes one that waits there as a transaction file, for a
//! co-signer to read (`tx show`), sign (`tx sign`) and send back (`tx submit
//! --awaiting`, or `tx submit` once complete).
//!
//! The node merges the signatures offered for the same signed bytes, so the
//! department posts the payment with its own signature and the controller
//! posts the fetched file with its own; once they suffice the node submits
//! the transaction. Nothing the node sends is trusted: a fetched
//! transaction must hash to the id asked for, say what the readable fields
//! of the answer say, and carry only signatures that verify.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ledger::{Hash, PublicKey, SignedTx};
use serde_json::{json, Value};
use tools::client::{Client, Offered};

use super::chain::{ChainFlags, CHAIN_ID_ENV};
use super::file::{from_hex, TxFile};
use super::parse::parse_hash;
use super::submit::follow;
use super::words;
use crate::{Output, UsageError};

/// `minhbach tx fetch ID --out FILE`.
#[derive(Args, Clone, Debug)]
pub struct FetchArgs {
    /// The id of the transaction awaiting signatures (64 hex digits), as
    /// `tx submit --awaiting` or `query awaiting` shows it.
    #[arg(value_name = "ID", value_parser = parse_hash)]
    pub id: Hash,
    /// Where to write it, as a transaction file; refused if FILE exists.
    #[arg(long, value_name = "FILE", required = true)]
    pub out: PathBuf,
}

/// Offers `tx` to gather signatures on the node and prints what became of
/// it: its id and what it still needs, or, once its signatures suffice, its
/// hash (and with `wait`, its fate, as `tx submit --wait` does).
pub(super) fn offer(
    client: &Client,
    output: Output,
    tx: &SignedTx,
    wait: Option<Duration>,
) -> anyhow::Result<u8> {
    match client.offer(tx)? {
        Offered::Submitted { hash } => {
            eprintln!("its signatures suffice: the node submitted it");
            if wait.is_some() {
                return follow(client, output, hash, wait);
            }
            match output {
                Output::Json => {
                    println!("{:#}", json!({"status": "submitted", "hash": hash}))
                }
                Output::Csv => println!("status,hash\nsubmitted,{hash}"),
                Output::Table => println!("{hash}"),
            }
            Ok(0)
        }
        Offered::Awaiting {
            id,
            code,
            message,
            signatures,
        } => {
            print!("{}", render_kept(output, &id, &code, &message, &signatures));
            if wait.is_some() {
                eprintln!("--wait: nothing to wait for until its signatures suffice");
            }
            eprintln!(
                "the node keeps it until its signatures suffice; a co-signer writes it to a file \
                 with `minhbach tx fetch {id} --out FILE`, signs it with `minhbach tx sign FILE \
                 --key KEYFILE` and sends it back with `minhbach tx submit FILE --awaiting`"
            );
            Ok(0)
        }
    }
}

/// What `tx submit --awaiting` prints for a transaction the node keeps.
fn render_kept(
    output: Output,
    id: &str,
    code: &str,
    message: &str,
    signatures: &[String],
) -> String {
    match output {
        Output::Json => format!(
            "{:#}\n",
            json!({
                "status": "awaiting",
                "id": id,
                "needs": {"code": code, "message": message},
                "signatures": signatures,
            })
        ),
        Output::Csv => format!(
            "status,id,needs,message,signatures\nawaiting,{id},{code},{},{}\n",
            csv_field(message),
            signatures.join(" ")
        ),
        Output::Table => {
            let mut out = format!(
                "awaiting    {id}\nneeds       {code}: {}\nsignatures  {} (in key order)\n",
                crate::watch::event::sanitize(message),
                signatures.len()
            );
            for key in signatures {
                out.push_str(&format!("  {key}\n"));
            }
            out
        }
    }
}

/// Runs `minhbach tx fetch`.
pub fn fetch(
    client: &Client,
    output: Output,
    chain: &ChainFlags,
    args: FetchArgs,
) -> anyhow::Result<u8> {
    if args.out.exists() {
        return Err(UsageError {
            flag: "--out",
            message: format!(
                "{} exists; a transaction file is never overwritten",
                args.out.display()
            ),
        }
        .into());
    }
    let answer = client.awaiting_entry(&args.id)?;
    let tx = entry_tx(&args.id, &answer).map_err(|e| {
        anyhow::anyhow!(
            "the node at {} answered for {} with a transaction that does not hold together: \
             {e}; nothing was written",
            client.base(),
            args.id
        )
    })?;
    if let Some(named) = chain.named(std::env::var_os(CHAIN_ID_ENV))? {
        if named.chain_id != tx.body.chain_id {
            return Err(UsageError {
                flag: named.by,
                message: format!(
                    "{} is a transaction for chain {}, not {}; nothing was written",
                    args.id, tx.body.chain_id, named.chain_id
                ),
            }
            .into());
        }
    }
    let file = TxFile { tx };
    file.save(&args.out, false).map_err(|e| UsageError {
        flag: "--out",
        message: format!("{e:#}"),
    })?;
    print!("{}", render_fetched(output, &args.out, &file, &answer));
    let body = &file.tx.body;
    eprintln!(
        "wrote {}: {} (nonce {}, chain {}), signed by {} so far; it needs: {}. Check it with \
         `minhbach tx show {0}`, sign it with `minhbach tx sign {0} --key KEYFILE`, then send it \
         back with `minhbach tx submit {0} --awaiting`.",
        args.out.display(),
        words::sentence(body),
        body.nonce,
        body.chain_id,
        match file.tx.signatures.len() {
            1 => "1 key".to_owned(),
            n => format!("{n} keys"),
        },
        crate::watch::event::sanitize(answer["needs"]["message"].as_str().unwrap_or("?")),
    );
    Ok(0)
}

/// What `tx fetch` prints.
fn render_fetched(output: Output, path: &Path, file: &TxFile, answer: &Value) -> String {
    let body = &file.tx.body;
    let keys: Vec<String> = file.tx.signing_keys().map(PublicKey::to_hex).collect();
    match output {
        Output::Json => format!(
            "{:#}\n",
            json!({
                "file": path.display().to_string(),
                "id": answer["id"],
                "chain_id": body.chain_id,
                "signer": body.signer,
                "nonce": body.nonce,
                "needs": answer["needs"],
                "signatures": keys,
            })
        ),
        Output::Csv => format!("file\n{}\n", csv_field(&path.display().to_string())),
        Output::Table => format!("{}\n", path.display()),
    }
}

/// The transaction of a `GET /v1/awaiting/{id}` answer, checked: `tx`
/// decodes, its signed bytes are `signing_bytes` and hash to `id` (the one
/// asked for), its signer, nonce, operation and signing keys are those the
/// answer states, and each of its signatures verifies.
pub fn entry_tx(id: &Hash, answer: &Value) -> Result<SignedTx, String> {
    let hex = |field: &str| -> Result<Vec<u8>, String> {
        let text = answer[field]
            .as_str()
            .ok_or_else(|| format!("it has no \"{field}\" string"))?;
        from_hex(text).map_err(|e| format!("\"{field}\": {e}"))
    };
    let tx = SignedTx::decode(&hex("tx")?)
        .map_err(|e| format!("\"tx\" is not a signed transaction: {e}"))?;
    let signing = tx.body.signing_bytes();
    if hex("signing_bytes")? != signing {
        return Err("\"signing_bytes\" are not the bytes its transaction signs".into());
    }
    if Hash::digest(&signing) != *id {
        return Err(format!(
            "its signed bytes hash to {}, not to the id asked for",
            Hash::digest(&signing)
        ));
    }
    if answer["id"].as_str() != Some(id.to_hex().as_str()) {
        return Err(format!("it names another id: {}", answer["id"]));
    }
    let op = serde_json::to_value(&tx.body.op).map_err(|e| e.to_string())?;
    let keys: Vec<Value> = tx.signing_keys().map(|k| Value::from(k.to_hex())).collect();
    let stated = [
        ("signer", Value::from(tx.body.signer.as_str())),
        ("nonce", Value::from(tx.body.nonce)),
        ("op", op),
        ("signatures", Value::from(keys)),
    ];
    for (field, want) in stated {
        if answer[field] != want {
            return Err(format!(
                "its \"{field}\" is {}, its transaction says {want}",
                answer[field]
            ));
        }
    }
    if let Some(key) = (TxFile { tx: tx.clone() }).invalid_signatures().first() {
        return Err(format!("the signature of key {key} does not verify"));
    }
    Ok(tx)
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use ledger::crypto::SigningKey;
    use ledger::testkit::id;
    use ledger::tx::{Op, TxBody};

    use super::super::file::to_hex;
    use super::*;

    fn entry() -> (Hash, Value) {
        let tx = TxBody {
            chain_id: "minhbach-test".into(),
            signer: id("BYT-BVBM"),
            nonce: 4,
            op: Op::Pay {
                contract: ledger::ContractId::new("C-1").unwrap(),
                amount: ledger::Amount(60_000_000_000),
                reference: "HĐ-01".into(),
                document_hash: None,
            },
        }
        .sign(&SigningKey::from_seed([7; 32]));
        let signing = tx.body.signing_bytes();
        let id = Hash::digest(&signing);
        let answer = json!({
            "id": id.to_hex(),
            "signer": "BYT-BVBM",
            "nonce": 4,
            "op": serde_json::to_value(&tx.body.op).unwrap(),
            "needs": {"code": "approval_required", "message": "KBNN"},
            "waits_for": {"entity": "KBNN", "threshold": 1, "signed": 0},
            "signatures": [SigningKey::from_seed([7; 32]).public_key().to_hex()],
            "since": 3,
            "tx": to_hex(&tx.encode()),
            "signing_bytes": to_hex(&signing),
        });
        (id, answer)
    }

    #[test]
    fn an_answer_that_holds_together_gives_its_transaction() {
        let (id, answer) = entry();
        let tx = entry_tx(&id, &answer).unwrap();
        assert_eq!(tx.body.nonce, 4);
        assert_eq!(tx.signatures.len(), 1);
    }

    #[test]
    fn an_answer_whose_parts_disagree_is_refused() {
        let (id, answer) = entry();
        let other = Hash::digest(b"another");
        assert!(entry_tx(&other, &answer)
            .unwrap_err()
            .contains("not to the id asked for"));
        let cases: [(&str, Value, &str); 6] = [
            ("nonce", json!(5), "\"nonce\""),
            ("signer", json!("BYT"), "\"signer\""),
            ("op", json!({"type": "pay"}), "\"op\""),
            ("signatures", json!([]), "\"signatures\""),
            ("signing_bytes", json!("00"), "signing_bytes"),
            ("tx", json!("zz"), "\"tx\""),
        ];
        for (field, value, said) in cases {
            let mut bad = answer.clone();
            bad[field] = value;
            let err = entry_tx(&id, &bad).unwrap_err();
            assert!(err.contains(said), "{field}: {err}");
        }
        // A signature that does not verify over the body.
        let mut bytes = from_hex(answer["tx"].as_str().unwrap()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let mut bad = answer.clone();
        bad["tx"] = Value::from(to_hex(&bytes));
        let err = entry_tx(&id, &bad).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");
    }

    #[test]
    fn what_the_node_keeps_is_printed_in_each_output() {
        let keys = vec!["aa".to_owned(), "bb".to_owned()];
        let table = render_kept(Output::Table, "ff", "approval_required", "KBNN", &keys);
        assert_eq!(
            table,
            "awaiting    ff\nneeds       approval_required: KBNN\nsignatures  2 (in key \
             order)\n  aa\n  bb\n"
        );
        let csv = render_kept(Output::Csv, "ff", "approval_required", "a, b", &keys);
        assert_eq!(
            csv,
            "status,id,needs,message,signatures\nawaiting,ff,approval_required,\"a, b\",aa bb\n"
        );
        let json: Value =
            serde_json::from_str(&render_kept(Output::Json, "ff", "x", "m", &keys)).unwrap();
        assert_eq!(json["status"], "awaiting");
        assert_eq!(json["needs"]["code"], "x");
    }
}
