//! The OCDS release package: valid against the OCDS 1.1.5 release package
//! schema (the copy in `tests/ocds-1.1.5/`, offline), broken copies of it
//! fail that validation, and its releases map the contracts, payments,
//! amendments and deliveries that were submitted.

use std::collections::BTreeMap;

use ledger::testkit::CHAIN_ID;
use serde_json::{json, Value};

use crate::fixture::{block_time, name, Fixture, HEALTH};

const PACKAGE_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ocds-1.1.5/release-package-schema.json"
);
pub(crate) const RELEASE_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ocds-1.1.5/release-schema.json"
);
const DEREFERENCED_RELEASE_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ocds-1.1.5/dereferenced-release-schema.json"
);
const RELEASE_SCHEMA_URL: &str =
    "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";

/// Serves the release schema from the repository copy; anything else is an
/// error, so validation never touches the network.
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str() == RELEASE_SCHEMA_URL {
            Ok(read_json(RELEASE_SCHEMA))
        } else {
            Err(format!("{uri} is not a local schema").into())
        }
    }
}

pub(crate) fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn validator(schema_path: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .with_retriever(LocalSchemas)
        .build(&read_json(schema_path))
        .expect("the OCDS schema compiles")
}

/// The OCDS 1.1.5 release package schema.
pub(crate) fn package_validator() -> jsonschema::Validator {
    validator(PACKAGE_SCHEMA)
}

/// The schema errors of `instance`, one line each.
pub(crate) fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_ocds_package_is_valid_against_the_ocds_1_1_5_schema() {
    let f = Fixture::standard();
    let package = f.export(None).to_ocds().unwrap();
    let errors = schema_errors(&validator(PACKAGE_SCHEMA), &package);
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
    // Each release against the dereferenced schema too.
    let release = validator(DEREFERENCED_RELEASE_SCHEMA);
    for r in package["releases"].as_array().unwrap() {
        let errors = schema_errors(&release, r);
        assert!(errors.is_empty(), "{}:\n{}", r["ocid"], errors.join("\n"));
    }
    // A year's package too.
    let package = f.export(Some(2027)).to_ocds().unwrap();
    assert_eq!(package["releases"].as_array().unwrap().len(), 1);
    let errors = schema_errors(&validator(PACKAGE_SCHEMA), &package);
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
}

#[test]
fn broken_copies_of_the_package_fail_the_schema() {
    let f = Fixture::standard();
    let good = f.export(None).to_ocds().unwrap();
    let v = validator(PACKAGE_SCHEMA);
    assert!(schema_errors(&v, &good).is_empty());
    type Break = fn(&mut Value);
    // What is broken, where the schema must say so, and how.
    let breaks: [(&str, &str, Break); 7] = [
        (
            "an amount as a string, as the rest of the API writes it",
            "/releases/0/contracts/0/implementation/transactions/0/value/amount",
            |p| {
                p["releases"][0]["contracts"][0]["implementation"]["transactions"][0]["value"]
                    ["amount"] = json!("200000000");
            },
        ),
        ("a release without an ocid", "/releases/1", |p| {
            p["releases"][1].as_object_mut().unwrap().remove("ocid");
        }),
        (
            "another initiation type",
            "/releases/0/initiationType",
            |p| p["releases"][0]["initiationType"] = json!("direct"),
        ),
        ("no releases", "/releases", |p| p["releases"] = json!([])),
        ("a version that is not major.minor", "/version", |p| {
            p["version"] = json!("1.1.5");
        }),
        (
            "a publication policy that is not a URI",
            "/publicationPolicy",
            |p| p["publicationPolicy"] = json!("taken at height 8"),
        ),
        (
            "a milestone status outside the codelist",
            "/releases/0/contracts/0/implementation/milestones/0/status",
            |p| {
                p["releases"][0]["contracts"][0]["implementation"]["milestones"][0]["status"] =
                    json!("done");
            },
        ),
    ];
    for (what, path, change) in breaks {
        let mut broken = good.clone();
        change(&mut broken);
        assert_ne!(broken, good, "{what}: the copy is changed");
        let errors = schema_errors(&v, &broken);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}: "))),
            "{what}: the schema did not report {path}; it said {errors:?}"
        );
    }
}

#[test]
fn the_ocds_package_maps_contracts_payments_amendments_and_deliveries() {
    let f = Fixture::standard();
    let p = f.export(None).to_ocds().unwrap();
    let last = f.last_hash().to_hex();
    assert_eq!(p["version"], "1.1");
    assert_eq!(p["publisher"]["name"], "Bộ Tài chính");
    assert_eq!(p["publishedDate"], block_time(8));
    // The snapshot is on every release (the extension's `minhbach`).
    assert!(p.get("minhbach").is_none());
    for r in p["releases"].as_array().unwrap() {
        assert_eq!(r["minhbach"]["height"], 8);
        assert_eq!(r["minhbach"]["blockHash"], last);
        assert_eq!(r["minhbach"]["chainId"], CHAIN_ID);
        assert_eq!(r["minhbach"]["blockTime"], block_time(8));
        assert_eq!(r["minhbach"]["fiscalYear"], Value::Null);
    }
    assert!(p["uri"].as_str().unwrap().contains(&last));
    let policy = p["publicationPolicy"].as_str().unwrap();
    assert!(policy.starts_with("data:text/plain"), "{policy}");
    assert!(
        policy.contains(&last),
        "the policy names the block: {policy}"
    );

    let releases = p["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 3);
    let r = &releases[0];
    assert_eq!(r["ocid"], format!("ocds-mb0000-{CHAIN_ID}-C-2026-001"));
    assert_eq!(r["initiationType"], "tender");
    assert_eq!(
        r["date"],
        block_time(7),
        "its last change, the delivery in block 7"
    );
    assert_eq!(
        r["tag"],
        json!(["award", "contract", "contractAmendment", "implementation"])
    );
    assert_eq!(
        r["buyer"],
        json!({"id": "MOH.BVBM", "name": "Bệnh viện Bạch Mai"})
    );
    let roles: BTreeMap<String, Value> = r["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p["roles"].clone()))
        .collect();
    assert_eq!(roles["MOH.BVBM"], json!(["buyer", "payer"]));
    assert_eq!(roles["V-0001"], json!(["supplier", "payee"]));
    assert_eq!(roles["MOH"], json!(["funder"]));
    assert_eq!(roles["MOF"], json!(["funder"]));
    assert_eq!(roles.len(), 4);
    for party in r["parties"].as_array().unwrap() {
        assert_eq!(party["name"], name(party["id"].as_str().unwrap()));
    }
    assert_eq!(r["planning"]["budget"]["id"], format!("2026/{HEALTH}"));
    assert_eq!(r["planning"]["budget"]["project"], HEALTH);

    // The award keeps the amount awarded; the contract has the amended one.
    let award = &r["awards"][0];
    assert_eq!(
        award["value"],
        json!({"amount": 500_000_000u64, "currency": "VND"})
    );
    assert_eq!(award["status"], "active");
    assert_eq!(award["date"], block_time(4));
    assert_eq!(
        award["suppliers"],
        json!([{"id": "V-0001", "name": name("V-0001")}])
    );
    let contract = &r["contracts"][0];
    assert_eq!(contract["awardID"], award["id"]);
    assert_eq!(contract["value"]["amount"], 650_000_000u64);
    assert_eq!(contract["dateSigned"], block_time(4));
    let amendments = contract["amendments"].as_array().unwrap();
    assert_eq!(amendments.len(), 1);
    let (amend_tx, _, reason) = &f.amendments["C-2026-001"][0];
    assert_eq!(amendments[0]["id"], amend_tx.to_hex());
    assert_eq!(amendments[0]["rationale"], *reason);
    assert_eq!(amendments[0]["date"], block_time(6));

    // Transactions are the payments submitted, by transaction hash.
    let txs = contract["implementation"]["transactions"]
        .as_array()
        .unwrap();
    let expected = f.payments_of("C-2026-001");
    assert_eq!(txs.len(), expected.len());
    for (t, paid) in txs.iter().zip(expected) {
        assert_eq!(t["id"], paid.tx_hash.to_hex());
        assert_eq!(t["value"]["amount"], paid.amount);
        assert_eq!(t["date"], block_time(paid.height));
        assert_eq!(t["payer"]["id"], "MOH.BVBM");
        assert_eq!(t["payee"]["id"], "V-0001");
        assert_eq!(t["reference"], paid.reference);
    }
    // Milestones are the confirmed deliveries.
    let ms = contract["implementation"]["milestones"].as_array().unwrap();
    let delivered = &f.deliveries["C-2026-001"];
    assert_eq!(ms.len(), delivered.len());
    for (m, (_, milestone, note, h)) in ms.iter().zip(delivered) {
        assert_eq!(m["status"], "met");
        assert_eq!(m["title"], *milestone);
        assert_eq!(m["description"], *note);
        assert_eq!(m["dateMet"], block_time(*h));
    }

    // Totals across the package equal what was paid.
    let total: u64 = releases
        .iter()
        .flat_map(|r| {
            r["contracts"][0]["implementation"]["transactions"]
                .as_array()
                .unwrap()
        })
        .map(|t| t["value"]["amount"].as_u64().unwrap())
        .sum();
    assert_eq!(total, f.payments.iter().map(|p| p.amount).sum::<u64>());
    // A contract with no amendment has none, and no amendment tag; one with
    // no delivery has no milestones; a payment without a document has no hash.
    assert!(releases[2]["contracts"][0].get("amendments").is_none());
    assert_eq!(
        releases[2]["tag"],
        json!(["award", "contract", "implementation"])
    );
    let implementation = releases[1]["contracts"][0]["implementation"]
        .as_object()
        .unwrap();
    assert!(!implementation.contains_key("milestones"));
    assert!(implementation["transactions"][0]
        .get("documentHash")
        .is_none());
    assert_eq!(txs[0]["documentHash"].as_str().unwrap().len(), 64);
}
