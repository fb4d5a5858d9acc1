//! The checked-in scenario schema matches the one generated from the Rust types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn checked_in_scenario_schema_is_fresh() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/schema/scenario.schema.json");
    let generated = kanon::scenario::schema::scenario_schema();
    if std::env::var_os("KANON_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: regenerate with `cargo run -p kanon -- schema > fixtures/schema/scenario.schema.json`",
        path.display()
    );
}

#[test]
fn schema_forbids_unknown_fields() {
    let schema: serde_json::Value =
        serde_json::from_str(&kanon::scenario::schema::scenario_schema()).unwrap();
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
    assert!(schema["$defs"]["RawOperation"]["properties"]["apply"].is_object());
}

#[test]
fn checked_in_suite_schema_is_fresh_and_describes_the_suite() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/schema/suite.schema.json");
    let generated = kanon::engine::suite::suite_schema();
    if std::env::var_os("KANON_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: regenerate with `cargo run -p kanon -- schema --suite > fixtures/schema/suite.schema.json`",
        path.display()
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
    let spec = &schema["$defs"]["RawSpec"]["properties"];
    for field in [
        "scenarios",
        "catalogue",
        "crds",
        "operator",
        "reportDir",
        "values",
        "parallel",
        "timeouts",
    ] {
        assert!(spec[field].is_object(), "{field} in the suite schema");
        assert!(
            spec[field]["description"].is_string(),
            "{field} has hover docs"
        );
    }
}

#[test]
fn checked_in_chainsaw_config_schema_is_fresh_and_takes_both_versions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/schema/chainsaw-config.schema.json");
    let generated = kanon::engine::chainsaw_config::config_schema();
    if std::env::var_os("KANON_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: regenerate with `cargo run -p kanon -- schema --config > fixtures/schema/chainsaw-config.schema.json`",
        path.display()
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixture: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root.join("fixtures/chainsaw-config/.chainsaw.yaml")).unwrap(),
    )
    .unwrap();
    assert!(v.is_valid(&fixture), "the fixture configuration is valid");
    let v2: serde_json::Value = serde_saphyr::from_str(
        "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nspec:\n  execution: {parallel: 2}\n  report: {format: XML}\n",
    )
    .unwrap();
    assert!(v.is_valid(&v2), "a v1alpha2 configuration is valid");
    for bad in [
        "unknown-field.yaml",
        "v1alpha1-field-in-v1alpha2.yaml",
        "wrong-type.yaml",
        "zero-parallel.yaml",
        "bad-report-format.yaml",
        "unknown-kind.yaml",
    ] {
        let doc: serde_json::Value = serde_saphyr::from_str(
            &std::fs::read_to_string(root.join("fixtures/bad-input/config").join(bad)).unwrap(),
        )
        .unwrap();
        assert!(!v.is_valid(&doc), "{bad} is rejected by the schema");
    }
}

/// Every object property (at the root and in `$defs`, however deeply nested) of `schema`
/// that has no `description`, as JSON-pointer-like paths.
fn undocumented_properties(schema: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                    for (name, prop) in props {
                        let documented = prop
                            .get("description")
                            .and_then(serde_json::Value::as_str)
                            .is_some_and(|d| !d.trim().is_empty());
                        if !documented {
                            missing.push(format!("{path}/properties/{name}"));
                        }
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{path}/{key}"), missing);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{i}"), missing);
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    walk(schema, "#", &mut missing);
    missing
}

#[test]
fn every_property_has_hover_docs() {
    for (name, text) in [
        ("scenario", kanon::scenario::schema::scenario_schema()),
        ("suite", kanon::engine::suite::suite_schema()),
        (
            "chainsaw configuration",
            kanon::engine::chainsaw_config::config_schema(),
        ),
    ] {
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        let missing = undocumented_properties(&schema);
        assert!(
            missing.is_empty(),
            "{name} schema properties without a description (add a doc comment to the field): {missing:#?}"
        );
        // Every definition a property points at is documented too.
        for (def, body) in schema["$defs"].as_object().unwrap() {
            assert!(
                body["description"].is_string(),
                "{name} schema: $defs/{def} has no description"
            );
        }
    }
}

#[test]
fn the_description_check_can_fail() {
    let schema = serde_json::json!({
        "properties": {"a": {"description": "documented"}, "b": {"type": "string"}},
        "$defs": {"X": {"properties": {"c": {"description": " "}}}}
    });
    assert_eq!(
        undocumented_properties(&schema),
        ["#/properties/b", "#/$defs/X/properties/c"]
    );
}
