//! `kanon schema`: the JSON Schema (draft 2020-12) of scenario documents, generated
//! from the serde types the loader reads, so editors (`# yaml-language-server:
//! $schema=...`) offer completion and hover docs for exactly what kanon accepts.

use super::raw::RawDocument;

/// The JSON Schema of a scenario document (a kanon `Scenario` or a Chainsaw `Test`),
/// pretty-printed with a trailing newline.
pub fn scenario_schema() -> String {
    let mut schema = schemars::schema_for!(RawDocument);
    schema.insert(
        "title".into(),
        serde_json::Value::String("kanon Scenario".into()),
    );
    schema.insert(
        "description".into(),
        serde_json::Value::String(
            "A kanon.dev/v1alpha1 Scenario or a chainsaw.kyverno.io/v1alpha1 Test.".into(),
        ),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
