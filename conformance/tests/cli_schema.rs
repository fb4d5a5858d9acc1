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
