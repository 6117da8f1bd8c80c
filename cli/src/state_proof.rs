//! `minhbach proof state` and the state proofs `minhbach verify proof`
//! reads: one state entry after a block, with its path to that block's
//! certified state root. Verifying is
//! [`ledger::proof::StateBundle::verify`], which trusts only the genesis
//! file.

use std::path::Path;

use genesis::Genesis;
use ledger::proof::{StateBundle, VerifiedEntry, STATE_BUNDLE_FORMAT};
use serde_json::{json, Value};

use crate::render::render;
use crate::verdict::{
    invalid, save_fetched, time_words, too_few_witnesses, witness_list, witnesses_words, Backing,
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
    let backing = Backing {
        height: v.height,
        witnesses: &v.witnesses,
        uncounted: &v.uncounted_witnesses,
    };
    let mut summary = summary(genesis, &v);
    if let Some(k) = required {
        summary["witnesses_required"] = k.into();
        if v.witnesses.len() < k {
            return Ok(invalid(output, &too_few_witnesses(&backing, k), summary));
        }
    }
    print!("{}", render(&summary, output, None));
    if output == Output::Table {
        let held = match &v.value {
            Some(_) => "held the value shown",
            None => "held nothing",
        };
        let changes = match v.set_changes {
            1 => "1 validator-set change".to_owned(),
            n => format!("{n} validator-set changes"),
        };
        eprintln!(
            "valid: after block {}, the state {held} under this key, by its path to the \
             block's state root, signed off by validators holding {} of {} voting power, \
             whose authority was traced from the genesis file through {changes}. {}",
            v.height,
            v.signed_power,
            v.total_power,
            witnesses_words(&backing),
        );
    }
    Ok(0)
}

/// What a valid state proof established, for `--output`.
fn summary(genesis: &Genesis, v: &VerifiedEntry) -> Value {
    json!({
        "valid": true,
        "chain_id": genesis.chain_id,
        "key": ledger::proof::key_view(&v.key),
        "value": v.value.as_ref().map_or(Value::Null, ledger::proof::value_view),
        "height": v.height.0,
        "block_hash": v.block_hash,
        "state_root": v.state_root,
        "time": time_words(v.time_ms),
        "signed_power": v.signed_power,
        "total_power": v.total_power,
        "validator_set_changes": v.set_changes,
        "currency": genesis.currency.code,
        "witness_count": v.witnesses.len(),
        "witnesses": witness_list(genesis, &v.witnesses),
    })
}
