//! Deterministic hashes: `status.configHash` of the shared configs and the
//! `toolhive.stacklok.dev/runconfig-checksum` pod-template annotation.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Canonical JSON of a value: object keys sorted at every level, no insignificant
/// whitespace. Two values that are equal as JSON have the same canonical form.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = String::new();
    write_canonical(&value, &mut out)?;
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut String) -> Result<(), serde_json::Error> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key)?);
                out.push(':');
                write_canonical(value, out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar)?),
    }
    Ok(())
}

/// Hash of a config `spec`: SHA-256 over its canonical JSON. Depends on the spec only,
/// so metadata and status changes leave it alone.
pub fn spec_hash<T: Serialize>(spec: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(canonical_json(spec)?.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{MCPTelemetryConfigSpec, OpenTelemetryConfig};
    use rstest::rstest;
    use serde_json::json;

    #[test]
    fn sha256_of_empty_input_matches_the_known_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[rstest]
    #[case(json!({"b": 1, "a": {"d": [2, 1], "c": null}}), r#"{"a":{"c":null,"d":[2,1]},"b":1}"#)]
    #[case(json!([{"z": "x", "y": true}]), r#"[{"y":true,"z":"x"}]"#)]
    #[case(json!("q\"uote"), r#""q\"uote""#)]
    fn canonical_json_sorts_keys_and_keeps_array_order(
        #[case] input: Value,
        #[case] expected: &str,
    ) {
        assert_eq!(canonical_json(&input).unwrap(), expected);
    }

    #[test]
    fn spec_hash_is_stable_and_independent_of_key_order() {
        let a = json!({"openTelemetry": {"enabled": true, "endpoint": "c:4318"}});
        let b = json!({"openTelemetry": {"endpoint": "c:4318", "enabled": true}});
        assert_eq!(spec_hash(&a).unwrap(), spec_hash(&b).unwrap());
        assert_eq!(spec_hash(&a).unwrap().len(), 64);
    }

    #[test]
    fn spec_hash_changes_with_the_spec() {
        let base = MCPTelemetryConfigSpec {
            open_telemetry: Some(OpenTelemetryConfig {
                endpoint: Some("collector:4318".into()),
                ..Default::default()
            }),
            prometheus: None,
        };
        let mut edited = base.clone();
        if let Some(otel) = edited.open_telemetry.as_mut() {
            otel.insecure = true;
        }
        assert_ne!(spec_hash(&base).unwrap(), spec_hash(&edited).unwrap());
        assert_eq!(spec_hash(&base).unwrap(), spec_hash(&base.clone()).unwrap());
    }
}
