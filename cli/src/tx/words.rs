//! A transaction in words, for the officials who sign it: one sentence
//! saying what it does, and each field of its operation with its value
//! (amounts in đồng with thousands separators).

use ledger::tx::Op;
use ledger::{Amount, EntityId, PublicKey, TxBody};

/// An amount as people read it: `1,250,000,000 đồng`.
pub fn dong(amount: Amount) -> String {
    format!("{amount} đồng")
}

/// What the transaction does, in one sentence.
pub fn sentence(body: &TxBody) -> String {
    let who = &body.signer;
    match &body.op {
        Op::RegisterEntity {
            id,
            kind,
            name,
            parent,
            keys,
            threshold,
        } => format!(
            "{who} registers the {} {id} ({name:?}){}, {}",
            kind.as_str(),
            parent
                .as_ref()
                .map(|p| format!(" under {p}"))
                .unwrap_or_default(),
            key_set(keys, *threshold)
        ),
        Op::SetStatus { entity, status } => {
            format!("{who} sets the status of {entity} to {}", status.as_str())
        }
        Op::RotateKey { entity, .. } => {
            format!("{who} replaces the keys of {entity} with one new key")
        }
        Op::SetKeys {
            entity,
            keys,
            threshold,
        } => {
            let when = if entity == who {
                "at once"
            } else {
                "after the chain's rotation delay if the treasury signs it"
            };
            format!(
                "{who} replaces the keys of {entity}: {}, taking effect {when}",
                key_set(keys, *threshold)
            )
        }
        Op::CancelKeys { entity } => {
            format!("{who} cancels the pending change of the keys of {entity}")
        }
        Op::Appropriate {
            year,
            line,
            to,
            amount,
            legal_ref,
        } => format!(
            "{who} appropriates {} to {to} on budget line {line} of {year}, under {legal_ref:?}",
            dong(*amount)
        ),
        Op::Allocate {
            year,
            line,
            to,
            amount,
        } => format!(
            "{who} allocates {} to {to} on budget line {line} of {year}",
            dong(*amount)
        ),
        Op::ReturnFunds { year, line, amount } => format!(
            "{who} returns {} of budget line {line} of {year} to its parent",
            dong(*amount)
        ),
        Op::Award {
            contract,
            year,
            line,
            vendor,
            amount,
            title,
            ..
        } => format!(
            "{who} awards contract {contract} ({title:?}) to {vendor} for {}, on budget line \
             {line} of {year}",
            dong(*amount)
        ),
        Op::AmendContract {
            contract,
            amount,
            reason,
            ..
        } => format!(
            "{who} changes the amount of contract {contract} to {} ({reason:?})",
            dong(*amount)
        ),
        Op::Pay {
            contract,
            amount,
            reference,
            ..
        } => format!(
            "{who} pays {} to the vendor of contract {contract} (reference {reference:?})",
            dong(*amount)
        ),
        Op::ConfirmDelivery {
            contract,
            milestone,
            ..
        } => format!("{who} records the delivery of {milestone:?} under contract {contract}"),
        Op::AddValidator { name, power, .. } => {
            format!("{who} adds the validator {name:?} with voting power {power}")
        }
        Op::RemoveValidator { consensus_key } => {
            format!("{who} removes the validator of consensus key {consensus_key}")
        }
        Op::RegisterNode { peer_id, operator } => {
            format!("{who} lets the node {peer_id} of {operator} connect")
        }
        Op::RemoveNode { peer_id } => format!("{who} revokes the node {peer_id}"),
        Op::SetControl {
            ministry,
            amount,
            controller,
        } => format!(
            "{who} requires {controller} to co-sign every payment and award of {} or more by {}",
            dong(*amount),
            scope(ministry.as_ref())
        ),
        Op::RemoveControl { ministry } => format!(
            "{who} removes the control rule of {}",
            scope(ministry.as_ref())
        ),
        Op::CloseYear { year } => {
            format!("{who} closes the fiscal year {year}: its budget lines become final")
        }
        Op::AcknowledgePayment { contract, payment } => format!(
            "{who} acknowledges receiving payment {payment} of contract {contract} (0 is the \
             first)"
        ),
        Op::ScheduleUpgrade { height, version } => format!(
            "{who} schedules protocol version {version} from height {height}: nodes that do \
             not run it stop before that height"
        ),
    }
}

/// Each field of the operation as `(label, value)`, in the operation's
/// order; a list of keys gives one line per key.
pub fn fields(op: &Op) -> Vec<(&'static str, String)> {
    let doc =
        |h: &Option<ledger::Hash>| h.map_or_else(|| "none".to_owned(), |h| format!("SHA-256 {h}"));
    match op {
        Op::RegisterEntity {
            id,
            kind,
            name,
            parent,
            keys,
            threshold,
        } => {
            let mut out = vec![
                ("id", id.to_string()),
                ("kind", kind.as_str().to_owned()),
                ("name", name.clone()),
                ("parent", or_none(parent.as_ref())),
            ];
            out.extend(keys_fields(keys, *threshold));
            out
        }
        Op::SetStatus { entity, status } => vec![
            ("entity", entity.to_string()),
            ("status", status.as_str().to_owned()),
        ],
        Op::RotateKey { entity, public_key } => vec![
            ("entity", entity.to_string()),
            ("public key", public_key.to_hex()),
        ],
        Op::SetKeys {
            entity,
            keys,
            threshold,
        } => {
            let mut out = vec![("entity", entity.to_string())];
            out.extend(keys_fields(keys, *threshold));
            out
        }
        Op::CancelKeys { entity } => vec![("entity", entity.to_string())],
        Op::Appropriate {
            year,
            line,
            to,
            amount,
            legal_ref,
        } => vec![
            ("year", year.to_string()),
            ("line", line.to_string()),
            ("to", to.to_string()),
            ("amount", dong(*amount)),
            ("legal reference", legal_ref.clone()),
        ],
        Op::Allocate {
            year,
            line,
            to,
            amount,
        } => vec![
            ("year", year.to_string()),
            ("line", line.to_string()),
            ("to", to.to_string()),
            ("amount", dong(*amount)),
        ],
        Op::ReturnFunds { year, line, amount } => vec![
            ("year", year.to_string()),
            ("line", line.to_string()),
            ("amount", dong(*amount)),
        ],
        Op::Award {
            contract,
            year,
            line,
            vendor,
            amount,
            title,
            document_hash,
        } => vec![
            ("contract", contract.to_string()),
            ("year", year.to_string()),
            ("line", line.to_string()),
            ("vendor", vendor.to_string()),
            ("amount", dong(*amount)),
            ("title", title.clone()),
            ("document", doc(document_hash)),
        ],
        Op::AmendContract {
            contract,
            amount,
            reason,
            document_hash,
        } => vec![
            ("contract", contract.to_string()),
            ("new amount", dong(*amount)),
            ("reason", reason.clone()),
            ("document", doc(document_hash)),
        ],
        Op::Pay {
            contract,
            amount,
            reference,
            document_hash,
        } => vec![
            ("contract", contract.to_string()),
            ("amount", dong(*amount)),
            ("reference", reference.clone()),
            ("document", doc(document_hash)),
        ],
        Op::ConfirmDelivery {
            contract,
            milestone,
            note,
        } => vec![
            ("contract", contract.to_string()),
            ("milestone", milestone.clone()),
            ("note", note.clone()),
        ],
        Op::AddValidator {
            name,
            consensus_key,
            peer_id,
            power,
        } => vec![
            ("name", name.clone()),
            ("consensus key", consensus_key.to_hex()),
            ("peer id", peer_id.to_string()),
            ("power", power.to_string()),
        ],
        Op::RemoveValidator { consensus_key } => {
            vec![("consensus key", consensus_key.to_hex())]
        }
        Op::RegisterNode { peer_id, operator } => vec![
            ("peer id", peer_id.to_string()),
            ("operator", operator.to_string()),
        ],
        Op::RemoveNode { peer_id } => vec![("peer id", peer_id.to_string())],
        Op::SetControl {
            ministry,
            amount,
            controller,
        } => vec![
            ("ministry", ministry_or_all(ministry.as_ref())),
            ("from amount", dong(*amount)),
            ("controller", controller.to_string()),
        ],
        Op::RemoveControl { ministry } => {
            vec![("ministry", ministry_or_all(ministry.as_ref()))]
        }
        Op::CloseYear { year } => vec![("year", year.to_string())],
        Op::ScheduleUpgrade { height, version } => vec![
            ("height", height.to_string()),
            ("version", version.to_string()),
        ],
        Op::AcknowledgePayment { contract, payment } => vec![
            ("contract", contract.to_string()),
            ("payment", format!("{payment} (0 is the contract's first)")),
        ],
    }
}

fn key_set(keys: &[PublicKey], threshold: u8) -> String {
    match keys.len() {
        1 => "with one key".to_owned(),
        n => format!("with {n} keys, {threshold} of which must sign"),
    }
}

fn keys_fields(keys: &[PublicKey], threshold: u8) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = keys.iter().map(|k| ("key", k.to_hex())).collect();
    out.push(("threshold", format!("{threshold} of {} keys", keys.len())));
    out
}

fn or_none(id: Option<&EntityId>) -> String {
    id.map_or_else(|| "none".to_owned(), EntityId::to_string)
}

fn ministry_or_all(ministry: Option<&EntityId>) -> String {
    ministry.map_or_else(
        || "all (every ministry without a rule of its own)".to_owned(),
        EntityId::to_string,
    )
}

fn scope(ministry: Option<&EntityId>) -> String {
    match ministry {
        Some(m) => format!("{m} and its departments"),
        None => "every ministry without a rule of its own, and its departments".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use ledger::testkit::id;
    use ledger::ContractId;

    use super::*;

    #[test]
    fn a_payment_reads_in_dong_with_thousands_separators() {
        let body = TxBody {
            chain_id: "c".into(),
            signer: id("BYT-BVBM"),
            nonce: 3,
            op: Op::Pay {
                contract: ContractId::new("C-17").unwrap(),
                amount: Amount(1_250_000_000),
                reference: "INV-9".into(),
                document_hash: None,
            },
        };
        assert_eq!(
            sentence(&body),
            "BYT-BVBM pays 1,250,000,000 đồng to the vendor of contract C-17 (reference \"INV-9\")"
        );
        assert_eq!(
            fields(&body.op),
            [
                ("contract", "C-17".to_owned()),
                ("amount", "1,250,000,000 đồng".to_owned()),
                ("reference", "INV-9".to_owned()),
                ("document", "none".to_owned()),
            ]
        );
    }
}
