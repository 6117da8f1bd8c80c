//! The OCDS export (`/v1/export/ocds.json`): an OCDS 1.1.5 release package
//! with one release per contract, naming the height and block hash it was
//! taken at (see docs/exports.md for the mapping).

use std::io::Write;

use ledger::{Amount, ContractId};
use serde_json::{json, Map, Value};

use super::{Committed, ContractExport, Export, ExportError, Party};
use crate::time::rfc3339;

/// Default prefix of every OCDS `ocid` this chain publishes (`[exports]
/// ocid_prefix` changes it). OCDS asks publishers to register a prefix
/// `ocds-xxxxxx`; until one is registered, `mb0000` marks Minh Bạch. The
/// chain id follows it, so two chains never share an ocid.
pub const OCID_PREFIX: &str = wire::config::OCID_PREFIX_DEFAULT;

/// The OCDS extension that declares the fields the package adds to OCDS
/// (`extension.json`, served at [`EXTENSION_PATH`]).
pub const EXTENSION_JSON: &str = include_str!("ocds_extension/extension.json");
/// Its JSON Merge Patch of the release schema (served at
/// [`EXTENSION_RELEASE_SCHEMA_PATH`], next to `extension.json` as OCDS
/// tools look for it).
pub const EXTENSION_RELEASE_SCHEMA: &str = include_str!("ocds_extension/release-schema.json");
/// Where each listener serves [`EXTENSION_JSON`].
pub const EXTENSION_PATH: &str = "/v1/export/ocds/extension.json";
/// Where each listener serves [`EXTENSION_RELEASE_SCHEMA`].
pub const EXTENSION_RELEASE_SCHEMA_PATH: &str = "/v1/export/ocds/release-schema.json";

/// How a package is published: what the node's `[exports]` section says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcdsOptions {
    /// The `ocid` prefix, `ocds-` and 6 lowercase letters or digits.
    pub ocid_prefix: String,
    /// The absolute URL of the extension's `extension.json`, listed in the
    /// package's `extensions`; none lists no extension.
    pub extension_url: Option<String>,
}

impl Default for OcdsOptions {
    /// The default prefix, and no extension URL.
    fn default() -> Self {
        OcdsOptions {
            ocid_prefix: OCID_PREFIX.into(),
            extension_url: None,
        }
    }
}

impl OcdsOptions {
    /// The options of a node served at `base` (`https://host[/path]`, no
    /// trailing `/`): its extension is at `<base>`[`EXTENSION_PATH`].
    pub fn served_at(ocid_prefix: &str, base: Option<&str>) -> OcdsOptions {
        OcdsOptions {
            ocid_prefix: ocid_prefix.into(),
            extension_url: base.map(|b| format!("{b}{EXTENSION_PATH}")),
        }
    }
}

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
    /// The OCDS 1.1.5 release package with the default options: the default
    /// `ocid` prefix and no `extensions` (see [`Export::to_ocds_with`]).
    pub fn to_ocds(&self) -> Result<Value, ExportError> {
        self.to_ocds_with(&OcdsOptions::default())
    }

    /// The OCDS 1.1.5 release package: one release per contract (see
    /// docs/exports.md for the mapping), every field outside OCDS declared
    /// by the extension at `options.extension_url`. Fails with
    /// [`ExportError::NoContracts`] when there is no contract, as a package
    /// needs at least one release.
    pub fn to_ocds_with(&self, options: &OcdsOptions) -> Result<Value, ExportError> {
        self.check_not_empty()?;
        let mut package = self.package_head(options);
        let snapshot = self.snapshot();
        let releases = self
            .contracts
            .iter()
            .map(|c| self.stamped_release(c, &options.ocid_prefix, &snapshot))
            .collect();
        package.insert("releases".into(), Value::Array(releases));
        Ok(Value::Object(package))
    }

    /// Writes [`Export::to_ocds_with`]'s package to `out` as
    /// `serde_json::to_writer_pretty` would, one release at a time.
    pub fn write_ocds<W: Write>(&self, options: &OcdsOptions, out: W) -> Result<W, ExportError> {
        self.check_not_empty()?;
        let mut w = OcdsWriter::start(out, self, options)?;
        for c in &self.contracts {
            w.release(c)?;
        }
        w.finish()
    }

    fn check_not_empty(&self) -> Result<(), ExportError> {
        if self.contracts.is_empty() {
            return Err(ExportError::NoContracts {
                year: self.year,
                height: self.as_of.height,
            });
        }
        Ok(())
    }

    /// The package's fields, with `releases` empty: what precedes and
    /// follows the releases, in the order they are written.
    fn package_head(&self, options: &OcdsOptions) -> Map<String, Value> {
        let a = &self.as_of;
        let year = self.year.map(|y| format!(":{y}")).unwrap_or_default();
        let publisher = self
            .publisher
            .as_ref()
            .map_or_else(|| a.chain_id.clone(), |p| p.name.clone());
        let mut package = Map::new();
        let fields = [
            (
                "uri",
                json!(format!(
                    "urn:minhbach:{}:ocds:{}:{}{year}",
                    a.chain_id, a.height.0, a.block_hash
                )),
            ),
            ("version", json!(OCDS_VERSION)),
            ("publishedDate", json!(rfc3339(a.time_ms))),
            ("publisher", json!({ "name": publisher })),
            ("license", json!(LICENSE_URI)),
            ("publicationPolicy", json!(self.publication_policy())),
            ("releases", json!([])),
        ];
        for (key, value) in fields {
            package.insert(key.into(), value);
        }
        if let Some(url) = &options.extension_url {
            package.insert("extensions".into(), json!([url]));
        }
        package
    }

    /// The snapshot each release carries: an extension patches the release
    /// schema, and the package schema has no place for it.
    fn snapshot(&self) -> Value {
        let a = &self.as_of;
        json!({
            "chainId": a.chain_id,
            "height": a.height.0,
            "blockHash": a.block_hash,
            "blockTime": rfc3339(a.time_ms),
            "fiscalYear": self.year.map(|y| y.0),
        })
    }

    fn stamped_release(&self, c: &ContractExport, ocid_prefix: &str, snapshot: &Value) -> Value {
        let mut r = self.release(c, ocid_prefix);
        r["minhbach"] = snapshot.clone();
        r
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

    fn ocid(&self, prefix: &str, id: &ContractId) -> String {
        format!("{prefix}-{}-{id}", self.as_of.chain_id)
    }

    fn release(&self, c: &ContractExport, ocid_prefix: &str) -> Value {
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
            "ocid": self.ocid(ocid_prefix, &k.id),
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

/// Writes a release package as `serde_json::to_writer_pretty` writes it,
/// a release at a time: the fields before `releases` at once, each release
/// as it is given, then the fields after.
pub(super) struct OcdsWriter<'a, W> {
    out: W,
    publication: &'a Export,
    ocid_prefix: String,
    snapshot: Value,
    /// The fields after `releases`.
    tail: Vec<(String, Value)>,
    releases: usize,
}

impl<'a, W: Write> OcdsWriter<'a, W> {
    /// Writes the package's fields up to its `releases`. `publication`
    /// gives the package's facts; its contracts are not read.
    pub(super) fn start(
        mut out: W,
        publication: &'a Export,
        options: &OcdsOptions,
    ) -> Result<Self, ExportError> {
        let mut tail = Vec::new();
        let mut at_releases = false;
        out.write_all(b"{")?;
        for (n, (key, value)) in publication.package_head(options).into_iter().enumerate() {
            if n > 0 && !at_releases {
                out.write_all(b",")?;
            }
            if at_releases {
                tail.push((key, value));
            } else if key == "releases" {
                write!(out, "\n  {}: [", Value::String(key))?;
                at_releases = true;
            } else {
                write_field(&mut out, &key, &value)?;
            }
        }
        Ok(OcdsWriter {
            out,
            publication,
            ocid_prefix: options.ocid_prefix.clone(),
            snapshot: publication.snapshot(),
            tail,
            releases: 0,
        })
    }

    /// Writes the release of `c`.
    pub(super) fn release(&mut self, c: &ContractExport) -> Result<(), ExportError> {
        let release = self
            .publication
            .stamped_release(c, &self.ocid_prefix, &self.snapshot);
        if self.releases > 0 {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\n    ")?;
        write_indented(&mut self.out, &release, 4)?;
        self.releases += 1;
        Ok(())
    }

    /// Closes `releases` and writes the fields after it.
    pub(super) fn finish(mut self) -> Result<W, ExportError> {
        let close: &[u8] = if self.releases > 0 { b"\n  ]" } else { b"]" };
        self.out.write_all(close)?;
        for (key, value) in std::mem::take(&mut self.tail) {
            self.out.write_all(b",")?;
            write_field(&mut self.out, &key, &value)?;
        }
        self.out.write_all(b"\n}")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One field of the package's top level, pretty-printed in place.
fn write_field(out: &mut impl Write, key: &str, value: &Value) -> Result<(), ExportError> {
    write!(out, "\n  {}: ", Value::String(key.to_owned()))?;
    write_indented(out, value, 2)
}

/// `value` pretty-printed, each line after the first indented by `by`
/// spaces more: JSON strings hold no raw line break, so every one is
/// serde_json's own.
fn write_indented(out: &mut impl Write, value: &Value, by: usize) -> Result<(), ExportError> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::from)?;
    let indent = format!("\n{}", " ".repeat(by));
    out.write_all(text.replace('\n', &indent).as_bytes())?;
    Ok(())
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
    fn the_shipped_extension_files_are_json_with_their_paths_side_by_side() {
        let meta: Value = serde_json::from_str(EXTENSION_JSON).unwrap();
        assert_eq!(meta["compatibility"], json!(["1.1"]));
        assert_eq!(meta["schemas"], json!(["release-schema.json"]));
        let _: Value = serde_json::from_str(EXTENSION_RELEASE_SCHEMA).unwrap();
        assert_eq!(
            EXTENSION_PATH.replace("extension.json", "release-schema.json"),
            EXTENSION_RELEASE_SCHEMA_PATH
        );
        assert!(wire::config::is_ocid_prefix(OCID_PREFIX));
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(percent_encode("a b/ạ"), "a%20b%2F%E1%BA%A1");
    }
}
