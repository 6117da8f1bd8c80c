//! `minhbach proof state` and the state proofs `minhbach verify proof`
//! reads: one state entry after a block, with its path to that block's
//! certified state root. Verifying is
//! [`ledger::proof::StateBundle::verify`], which trusts only the genesis
//! file.

use std::path::Path;

use genesis::Genesis;
use ledger::proof::{StateBundle, STATE_BUNDLE_FORMAT};
use serde_json::{json, Value};

use crate::render::render;
use crate::verdict::{
    authority_words, certified_summary, invalid, save_fetched, too_few_witnesses, Certified,
};
use crate::Output;
use tools::client::Client;

/// Fetches the proof of `key` (`entity:ID`, `line:YEAR/LINE/ENTITY`,
/// `contract:ID`) after block `height` and writes it to `out`.
pub fn fetch(
    client: &Client,
    output: Output,
    key: &str,
    height: Option<u64>,
    out: &Path,
    force: bool,
) -> anyhow::Result<u8> {
    let mut path = format!("/v1/state-proof?key={key}");
    if let Some(h) = height {
        path.push_str(&format!("&height={h}"));
    }
    let bundle = client.get(&path)?;
    let height = &bundle["block"]["header"]["view"]["height"];
    let summary = json!({"key": key, "height": height, "out": out.display().to_string()});
    save_fetched(&bundle, out, force, output, summary)?;
    let held = if bundle["entry"]["value"].is_null() {
        "its absence"
    } else {
        "its value"
    };
    eprintln!(
        "wrote the proof of {key} ({held} after block {height}) to {}",
        out.display()
    );
    Ok(0)
}

/// Whether `bytes` are a state proof (by its `format` field), rather than
/// a transaction's bundle.
pub fn is_state_proof(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("format").and_then(Value::as_str) == Some(STATE_BUNDLE_FORMAT))
}

/// Verifies a state proof: 0 when it holds (and, with `required`, enough
/// witnesses stand behind its block), 1 with `invalid: <what>` when not.
pub fn verify(
    output: Output,
    bytes: &[u8],
    genesis: &Genesis,
    required: Option<usize>,
) -> anyhow::Result<u8> {
    let verdict =
        StateBundle::decode(bytes).and_then(|bundle| bundle.verify(&genesis.trust_anchor()));
    let v = match verdict {
        Ok(v) => v,
        Err(e) => return Ok(invalid(output, &e.to_string(), json!({}))),
    };
    let certified = Certified {
        height: v.height,
        block_hash: v.block_hash,
        time_ms: v.time_ms,
        signed_power: v.signed_power,
        total_power: v.total_power,
        set_changes: v.set_changes,
        witnesses: &v.witnesses,
        uncounted: &v.uncounted_witnesses,
    };
    let mut summary = certified_summary(genesis, &certified);
    summary["key"] = ledger::proof::key_view(&v.key);
    summary["value"] = v
        .value
        .as_ref()
        .map_or(Value::Null, ledger::proof::value_view);
    summary["state_root"] = json!(v.state_root);
    if let Some(k) = required {
        summary["witnesses_required"] = k.into();
        if v.witnesses.len() < k {
            return Ok(invalid(output, &too_few_witnesses(&certified, k), summary));
        }
    }
    print!("{}", render(&summary, output, None));
    if output == Output::Table {
        let held = match &v.value {
            Some(_) => "held the value shown",
            None => "held nothing",
        };
        eprintln!(
            "valid: after block {}, the state {held} under this key, by its path to the \
             block's state root, {}",
            v.height,
            authority_words(&certified),
        );
    }
    Ok(0)
}
