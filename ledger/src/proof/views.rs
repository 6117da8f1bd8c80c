//! Comparing a bundle's readable views with its signed bytes, to name the
//! first field where they differ, in an auditor's words.

use serde::Serialize;
use serde_json::Value;

use super::ProofError;
use crate::types::Amount;

pub(super) fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("ledger types serialise to JSON")
}

/// The first place where `shown` and `signed` differ: fills `path` with the
/// keys leading there and returns the two values (`None` where absent).
pub(super) fn first_difference<'a>(
    shown: &'a Value,
    signed: &'a Value,
    path: &mut Vec<String>,
) -> Option<(Option<&'a Value>, Option<&'a Value>)> {
    match (shown, signed) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, b_value) in b {
                path.push(key.clone());
                let Some(a_value) = a.get(key) else {
                    return Some((None, Some(b_value)));
                };
                if let Some(d) = first_difference(a_value, b_value, path) {
                    return Some(d);
                }
                path.pop();
            }
            let extra = a.iter().find(|(key, _)| !b.contains_key(*key))?;
            path.push(extra.0.clone());
            Some((Some(extra.1), None))
        }
        (a, b) if a == b => None,
        (a, b) => Some((Some(a), Some(b))),
    }
}

/// The error for a transaction view that differs from the signed bytes.
pub(super) fn view_mismatch(shown: &Value, signed: &Value) -> Option<ProofError> {
    // The operation's type first: with another type, every field differs.
    let (shown_type, signed_type) = (&shown["op"]["type"], &signed["op"]["type"]);
    let (mut path, values) = if shown_type != signed_type {
        (
            vec!["op".to_owned(), "type".to_owned()],
            (Some(shown_type), Some(signed_type)),
        )
    } else {
        let mut path = Vec::new();
        let values = first_difference(shown, signed, &mut path)?;
        (path, values)
    };
    let key = path.pop().unwrap_or_default();
    let show = |v: Option<&Value>| -> String {
        let amount = |s: &str| {
            s.parse::<u64>()
                .ok()
                .filter(|_| key == "amount")
                .map(|n| Amount(n).to_string())
        };
        match v {
            None => "(absent)".into(),
            Some(Value::Null) => "(none)".into(),
            Some(Value::String(s)) => amount(s).unwrap_or_else(|| s.clone()),
            Some(Value::Number(n)) => amount(&n.to_string()).unwrap_or_else(|| n.to_string()),
            Some(other) => other.to_string(),
        }
    };
    if values.1.is_none() {
        return Some(ProofError::TxViewExtra {
            shown: show(values.0),
            field: key,
        });
    }
    Some(ProofError::TxViewMismatch {
        field: field_words(&key),
        shown: show(values.0),
        signed: show(values.1),
    })
}

/// A view field's name in words.
fn field_words(key: &str) -> String {
    match key {
        "type" => "operation".into(),
        "to" => "recipient".into(),
        "legal_ref" => "legal reference".into(),
        "" => "view".into(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_names_the_field_and_both_values() {
        let signed = json!({"signer": "MOH", "op": {"type": "pay", "amount": "3000000"}});
        let shown = json!({"signer": "MOH", "op": {"type": "pay", "amount": "5000000"}});
        assert_eq!(
            view_mismatch(&shown, &signed).unwrap().to_string(),
            "the transaction's amount 5,000,000 does not match its signed bytes (3,000,000)"
        );
        let shown = json!({"signer": "MOH", "op": {"type": "award", "amount": "5000000"}});
        assert_eq!(
            view_mismatch(&shown, &signed).unwrap().to_string(),
            "the transaction's operation award does not match its signed bytes (pay)"
        );
        let shown = json!({"signer": "MOH", "op": {"type": "pay", "amount": "3000000", "x": 1}});
        assert_eq!(
            view_mismatch(&shown, &signed).unwrap().to_string(),
            "the transaction's view shows a field x (1) that its signed bytes do not have"
        );
        assert!(view_mismatch(&signed, &signed).is_none());
    }
}
