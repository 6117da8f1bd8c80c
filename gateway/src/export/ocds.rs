//! The OCDS export (`/v1/export/ocds.json`): an OCDS 1.1.5 release package
//! with one release per contract, naming the height and block hash it was
//! taken at (see docs/exports.md for the mapping).

use ledger::{Amount, ContractId};
use serde_json::{json, Value};

use super::{Committed, ContractExport, Export, ExportError, Party};
use crate::time::rfc3339;

/// Prefix of every OCDS `ocid` this chain publishes. OCDS asks publishers to
/// register a prefix `ocds-xxxxxx`; until one is registered, `mb0000` marks
/// Minh Bạch. The chain id follows it, so two chains never share an ocid.
pub const OCID_PREFIX: &str = "ocds-mb0000";

/// The OCDS schema version the package follows (1.1.5 is a patch of 1.1).
pub const OCDS_VERSION: &str = "1.1";

/// The licence of the published data: Creative Commons Attribution 4.0.
pub const LICENSE_URI: &str = "https://creativecommons.org/licenses/by/4.0/";

impl ContractExport {
    /// The most recent commit that touched the contract.
    fn last_change(&self) -> Committed {
        let mut last = self.award.at;
        let later = self
            .amendments
            .iter()
            .map(|a| a.at)
            .chain(self.payments.iter().map(|p| p.at))
            .chain(self.deliveries.iter().map(|d| d.at));
        for at in later {
            if (at.height, at.index) > (last.height, last.index) {
                last = at;
            }
        }
        last
    }
}

impl Export {
    /// The OCDS 1.1.5 release package: one release per contract (see
    /// docs/exports.md for the mapping). Fails with
    /// [`ExportError::NoContracts`] when there is no contract, as a package
    /// needs at least one release.
    pub fn to_ocds(&self) -> Result<Value, ExportError> {
        if self.contracts.is_empty() {
            return Err(ExportError::NoContracts {
                year: self.year,
                height: self.as_of.height,
            });
        }
        let a = &self.as_of;
        let year = self.year.map(|y| format!(":{y}")).unwrap_or_default();
        let publisher = self
            .publisher
            .as_ref()
            .map_or_else(|| a.chain_id.clone(), |p| p.name.clone());
        Ok(json!({
            "uri": format!("urn:minhbach:{}:ocds:{}:{}{year}", a.chain_id, a.height.0, a.block_hash),
            "version": OCDS_VERSION,
            "publishedDate": rfc3339(a.time_ms),
            "publisher": {"name": publisher},
            "license": LICENSE_URI,
            "publicationPolicy": self.publication_policy(),
            "minhbach": {
                "chainId": a.chain_id,
                "height": a.height.0,
                "blockHash": a.block_hash,
                "blockTime": rfc3339(a.time_ms),
                "fiscalYear": self.year.map(|y| y.0),
            },
            "releases": self.contracts.iter().map(|c| self.release(c)).collect::<Vec<_>>(),
        }))
    }

    /// The publication policy, as a `data:` URI since the schema asks for a
    /// URI: where the package comes from and the height it was taken at.
    fn publication_policy(&self) -> String {
        let a = &self.as_of;
        let text = format!(
            "Trích xuất theo yêu cầu từ sổ cái Minh Bạch (chuỗi {chain}) tại khối {h}, \
             mã băm {hash}. Mỗi hợp đồng là một bản phát hành; số tiền tính bằng đơn vị nhỏ nhất \
             của {cur}. Generated on demand from the Minh Bạch ledger (chain {chain}) at block \
             {h}, hash {hash}. One release per contract; check it with `minhbach verify chain`.",
            chain = a.chain_id,
            h = a.height.0,
            hash = a.block_hash,
            cur = self.currency.code,
        );
        format!("data:text/plain;charset=utf-8,{}", percent_encode(&text))
    }

    /// An OCDS `Value`: the amount in major units, as a JSON number.
    fn value(&self, amount: Amount) -> Value {
        let decimals = self.currency.decimals;
        // OCDS amounts are JSON numbers. With no minor unit (VND) the integer
        // is exact; with decimals, an f64 is exact up to 2^53 minor units.
        let number = if decimals == 0 {
            json!(amount.0)
        } else {
            json!(amount.0 as f64 / 10f64.powi(i32::from(decimals)))
        };
        json!({"amount": number, "currency": self.currency.code})
    }

    fn ocid(&self, id: &ContractId) -> String {
        format!("{OCID_PREFIX}-{}-{id}", self.as_of.chain_id)
    }

    fn release(&self, c: &ContractExport) -> Value {
        let k = &c.contract;
        let last = c.last_change();
        let mut tag = vec!["award", "contract"];
        if !c.amendments.is_empty() {
            tag.push("contractAmendment");
        }
        if !c.payments.is_empty() || !c.deliveries.is_empty() {
            tag.push("implementation");
        }
        let reference = |p: &Party| json!({"id": p.id, "name": p.name});
        let award_id = format!("{}-award", k.id);
        let transactions: Vec<Value> = c
            .payments
            .iter()
            .map(|p| {
                without_nulls(json!({
                    "id": p.at.tx_hash,
                    "date": rfc3339(p.at.time_ms),
                    "value": self.value(p.amount),
                    "payer": reference(&c.department),
                    "payee": reference(&c.vendor),
                    "reference": p.reference,
                    "documentHash": p.document_hash,
                    "blockHeight": p.at.height.0,
                }))
            })
            .collect();
        let milestones: Vec<Value> = c
            .deliveries
            .iter()
            .enumerate()
            .map(|(n, d)| {
                json!({
                    "id": format!("{}-delivery-{}", k.id, n + 1),
                    "title": d.milestone,
                    "description": d.note,
                    "type": "delivery",
                    "status": "met",
                    "dateMet": rfc3339(d.at.time_ms),
                    "txHash": d.at.tx_hash,
                    "blockHeight": d.at.height.0,
                })
            })
            .collect();
        let amendments: Vec<Value> = c
            .amendments
            .iter()
            .map(|m| {
                without_nulls(json!({
                    "id": m.at.tx_hash,
                    "date": rfc3339(m.at.time_ms),
                    "rationale": m.reason,
                    "description": format!(
                        "Giá trị hợp đồng thay đổi từ {} thành {} {}",
                        m.previous.0, m.amount.0, self.currency.code
                    ),
                    "documentHash": m.document_hash,
                    "blockHeight": m.at.height.0,
                }))
            })
            .collect();
        let documents: Vec<Value> = c
            .award
            .document_hash
            .iter()
            .map(|h| {
                json!({
                    "id": format!("sha256:{h}"),
                    "documentType": "contractSigned",
                    "description": "SHA-256 của văn bản hợp đồng; văn bản không lưu trên sổ cái",
                    "datePublished": rfc3339(c.award.at.time_ms),
                })
            })
            .collect();
        let mut contract = json!({
            "id": k.id,
            "awardID": award_id,
            "title": k.title,
            "status": "active",
            "value": self.value(k.amount),
            "dateSigned": rfc3339(c.award.at.time_ms),
        });
        // OCDS discourages empty lists: leave out what did not happen.
        let mut implementation = serde_json::Map::new();
        for (field, list) in [("transactions", transactions), ("milestones", milestones)] {
            if !list.is_empty() {
                implementation.insert(field.into(), Value::Array(list));
            }
        }
        if !implementation.is_empty() {
            contract["implementation"] = Value::Object(implementation);
        }
        if !amendments.is_empty() {
            contract["amendments"] = Value::Array(amendments);
        }
        if !documents.is_empty() {
            contract["documents"] = Value::Array(documents);
        }
        json!({
            "ocid": self.ocid(&k.id),
            "id": format!("{}-h{}", k.id, last.height.0),
            "date": rfc3339(last.time_ms),
            "tag": tag,
            "initiationType": "tender",
            "language": "vi",
            "parties": self.parties(c),
            "buyer": reference(&c.department),
            "planning": {
                "budget": {
                    "id": format!("{}/{}", k.year, k.line),
                    "description": format!(
                        "Dòng ngân sách {} năm {} của {}",
                        k.line, k.year, c.department.name
                    ),
                    "amount": self.value(k.amount),
                    "project": k.line,
                },
            },
            "awards": [{
                "id": award_id,
                "title": k.title,
                "status": "active",
                "date": rfc3339(c.award.at.time_ms),
                "value": self.value(c.award.amount),
                "suppliers": [reference(&c.vendor)],
            }],
            "contracts": [contract],
        })
    }

    /// The parties with their OCDS roles: the department buys and pays, the
    /// vendor supplies and is paid, the ministry and the treasury fund.
    fn parties(&self, c: &ContractExport) -> Vec<Value> {
        let mut roles: Vec<(&Party, Vec<&str>)> = vec![
            (&c.department, vec!["buyer", "payer"]),
            (&c.vendor, vec!["supplier", "payee"]),
        ];
        for funder in [c.ministry.as_ref(), self.publisher.as_ref()]
            .into_iter()
            .flatten()
        {
            match roles.iter_mut().find(|(p, _)| p.id == funder.id) {
                Some((_, r)) => r.push("funder"),
                None => roles.push((funder, vec!["funder"])),
            }
        }
        roles
            .into_iter()
            .map(|(p, r)| json!({"id": p.id, "name": p.name, "roles": r}))
            .collect()
    }
}

/// `v` without its fields that are null.
fn without_nulls(mut v: Value) -> Value {
    if let Value::Object(fields) = &mut v {
        fields.retain(|_, f| !f.is_null());
    }
    v
}

/// Percent-encodes every byte but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(percent_encode("a b/ạ"), "a%20b%2F%E1%BA%A1");
    }
}
