//! The package's own OCDS extension (`gateway/src/export/ocds_extension/`):
//! every field the package writes is declared, either by OCDS 1.1.5 or by
//! the extension's release schema patch, and the `ocid` prefix is the one
//! the node is configured with.

use gateway::export::{OcdsOptions, EXTENSION_JSON, EXTENSION_RELEASE_SCHEMA, OCID_PREFIX};
use ledger::testkit::CHAIN_ID;
use serde_json::{json, Map, Value};

use crate::fixture::Fixture;
use crate::ocds::{read_json, schema_errors, RELEASE_SCHEMA};

/// RFC 7386 JSON Merge Patch: `patch` applied to `target`.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let object = target.as_object_mut().unwrap();
    for (name, value) in fields {
        if value.is_null() {
            object.remove(name);
        } else {
            merge_patch(object.entry(name.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The OCDS 1.1.5 release schema with the extension applied.
fn patched_release_schema() -> Value {
    let mut schema = read_json(RELEASE_SCHEMA);
    let patch: Value = serde_json::from_str(EXTENSION_RELEASE_SCHEMA).unwrap();
    merge_patch(&mut schema, &patch);
    schema
}

/// `schema` with its local `$ref` followed.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("{r} is not a local definition"));
        schema = &root["definitions"][name];
    }
    schema
}

/// The paths of the fields of `instance` that `schema` (a part of `root`)
/// does not declare, walking objects and arrays together with it.
fn undeclared(root: &Value, schema: &Value, instance: &Value, path: &str, out: &mut Vec<String>) {
    let schema = resolve(root, schema);
    match instance {
        Value::Object(fields) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                out.push(format!("{path}: an object where the schema declares none"));
                return;
            };
            for (name, value) in fields {
                let here = format!("{path}/{name}");
                match properties.get(name) {
                    Some(field) => undeclared(root, field, value, &here, out),
                    None => out.push(here),
                }
            }
        }
        Value::Array(items) => {
            let Some(item) = schema.get("items") else {
                out.push(format!("{path}: an array where the schema declares none"));
                return;
            };
            for (n, value) in items.iter().enumerate() {
                undeclared(root, item, value, &format!("{path}/{n}"), out);
            }
        }
        _ => {}
    }
}

fn undeclared_in(schema: &Value, release: &Value) -> Vec<String> {
    let mut out = Vec::new();
    undeclared(schema, schema, release, "", &mut out);
    out
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(schema)
        .expect("the patched schema compiles")
}

#[test]
fn merge_patch_follows_rfc_7386() {
    // RFC 7386 appendix A, a few of its cases.
    for (target, patch, result) in [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (json!(["a", "b"]), json!({"a": "b"}), json!({"a": "b"})),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ] {
        let mut t = target.clone();
        merge_patch(&mut t, &patch);
        assert_eq!(t, result, "{target} + {patch}");
    }
}

#[test]
fn every_field_of_the_package_is_declared_by_ocds_or_the_extension() {
    let f = Fixture::standard();
    let plain = read_json(RELEASE_SCHEMA);
    let patched = patched_release_schema();
    let strict = validator(&patched);
    for year in [None, Some(2027)] {
        let package = f.export(year).to_ocds().unwrap();
        let releases = package["releases"].as_array().unwrap();
        // The fixture has what the extension declares: without it, those
        // fields are undeclared.
        let mut missing: Vec<String> = releases
            .iter()
            .flat_map(|r| undeclared_in(&plain, r))
            .collect();
        missing.sort();
        missing.dedup_by(|a, b| a.rsplit('/').next() == b.rsplit('/').next());
        if year.is_none() {
            let names: Vec<&str> = missing
                .iter()
                .map(|p| p.rsplit('/').next().unwrap())
                .collect();
            for field in [
                "minhbach",
                "reference",
                "documentHash",
                "blockHeight",
                "txHash",
            ] {
                assert!(
                    names.contains(&field),
                    "{field} is not in the fixture: {missing:?}"
                );
            }
        }
        for r in releases {
            let fields = undeclared_in(&patched, r);
            assert!(fields.is_empty(), "{}: undeclared {fields:?}", r["ocid"]);
            let errors = schema_errors(&strict, r);
            assert!(errors.is_empty(), "{}:\n{}", r["ocid"], errors.join("\n"));
        }
    }
    // A field that neither declares fails.
    let mut release = f.export(None).to_ocds().unwrap()["releases"][0].clone();
    release["contracts"][0]["implementation"]["milestones"][0]["blockHash"] = json!("00");
    release["minhbach"]["round"] = json!(0);
    assert_eq!(
        undeclared_in(&patched, &release),
        [
            "/contracts/0/implementation/milestones/0/blockHash",
            "/minhbach/round"
        ]
    );
    // And a declared field of the wrong type fails the patched schema.
    release["contracts"][0]["implementation"]["transactions"][0]["blockHeight"] = json!("4");
    let errors = schema_errors(&strict, &release);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/contracts/0/implementation/transactions/0/blockHeight: ")),
        "{errors:?}"
    );
}

#[test]
fn the_extension_metadata_names_its_schema_and_ocds_1_1() {
    let meta: Value = serde_json::from_str(EXTENSION_JSON).unwrap();
    for field in ["name", "description", "documentationUrl"] {
        assert!(
            meta[field]["en"].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    assert_eq!(meta["compatibility"], json!(["1.1"]));
    assert_eq!(meta["schemas"], json!(["release-schema.json"]));
    // The patch only adds: it never removes or replaces an OCDS field.
    let plain = read_json(RELEASE_SCHEMA);
    let patch: Value = serde_json::from_str(EXTENSION_RELEASE_SCHEMA).unwrap();
    for (object, fields) in [
        (&plain["properties"], &patch["properties"]),
        (
            &plain["definitions"]["Transaction"]["properties"],
            &patch["definitions"]["Transaction"]["properties"],
        ),
        (
            &plain["definitions"]["Milestone"]["properties"],
            &patch["definitions"]["Milestone"]["properties"],
        ),
        (
            &plain["definitions"]["Amendment"]["properties"],
            &patch["definitions"]["Amendment"]["properties"],
        ),
    ] {
        for (name, field) in fields.as_object().unwrap() {
            assert!(object.get(name).is_none(), "{name} is an OCDS field");
            for key in ["title", "description", "type"] {
                assert!(field.get(key).is_some(), "{name} has no {key}");
            }
        }
    }
}

#[test]
fn the_package_lists_its_extension_and_uses_the_configured_ocid_prefix() {
    let f = Fixture::standard();
    let export = f.export(None);
    let default = export.to_ocds().unwrap();
    assert!(default.get("extensions").is_none(), "no URL, no extension");
    for r in default["releases"].as_array().unwrap() {
        let ocid = r["ocid"].as_str().unwrap();
        assert!(
            ocid.starts_with(&format!("{OCID_PREFIX}-{CHAIN_ID}-")),
            "{ocid}"
        );
    }

    let options = OcdsOptions::served_at("ocds-vn1234", Some("https://explorer.example.vn"));
    let package = export.to_ocds_with(&options).unwrap();
    assert_eq!(
        package["extensions"],
        json!(["https://explorer.example.vn/v1/export/ocds/extension.json"])
    );
    let releases = package["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 3);
    for (r, d) in releases.iter().zip(default["releases"].as_array().unwrap()) {
        let ocid = r["ocid"].as_str().unwrap();
        let contract = r["contracts"][0]["id"].as_str().unwrap();
        assert_eq!(ocid, format!("ocds-vn1234-{CHAIN_ID}-{contract}"));
        // Nothing else changes.
        let mut same = r.clone();
        same["ocid"] = d["ocid"].clone();
        assert_eq!(&same, d);
    }
    let errors = schema_errors(&crate::ocds::package_validator(), &package);
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
}
