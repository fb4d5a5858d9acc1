//! One fresh namespace per scenario: created with kanon's labels, deleted (and waited
//! for) at the end. Namespaces kanon did not create are never deleted.

use std::time::Duration;

use serde_json::json;

use crate::ops::delete::{DeleteSpec, delete};
use crate::ops::{OpEnv, OpError};

/// Label on every namespace kanon creates.
pub const CREATED_BY_LABEL: &str = "kanon.dev/created-by";

/// A DNS-1123 label for `scenario`: lower-case, `-` for anything else, at most 63
/// characters with a random suffix.
pub fn namespace_name(scenario: &str, suffix: &str) -> String {
    let mut slug: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let slug = slug.trim_matches('-');
    let room = 63 - "kanon-".len() - 1 - suffix.len();
    let slug: String = slug.chars().take(room).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("kanon-{suffix}")
    } else {
        format!("kanon-{slug}-{suffix}")
    }
}

/// A short random suffix (lower-case letters and digits).
pub fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let mut n = h.finish();
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..5)
        .map(|_| {
            let c = alphabet[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

/// Creates namespace `name` labelled as kanon's.
pub async fn create(env: &OpEnv, name: &str, run_id: &str) -> Result<(), OpError> {
    create_from(env, name, run_id, None).await
}

/// Creates namespace `name` from `template` (a rendered `namespaceTemplate`: its labels,
/// annotations and spec are kept; name and kanon's labels are set over it).
pub async fn create_from(
    env: &OpEnv,
    name: &str,
    run_id: &str,
    template: Option<serde_json::Value>,
) -> Result<(), OpError> {
    let mut ns = template.unwrap_or_else(|| json!({}));
    if !ns.is_object() {
        ns = json!({});
    }
    ns["apiVersion"] = json!("v1");
    ns["kind"] = json!("Namespace");
    if !ns["metadata"].is_object() {
        ns["metadata"] = json!({});
    }
    ns["metadata"]["name"] = json!(name);
    if !ns["metadata"]["labels"].is_object() {
        ns["metadata"]["labels"] = json!({});
    }
    ns["metadata"]["labels"][CREATED_BY_LABEL] = json!("kanon");
    ns["metadata"]["labels"]["kanon.dev/run"] = json!(run_id);
    crate::ops::apply::create(env, ns, Default::default()).await?;
    // The namespace is removed by the scenario's last cleanup step, after its content.
    env.forget_created(&crate::ops::ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.to_string(),
    });
    Ok(())
}

/// Deletes namespace `name` and waits until it is gone (its finalizers done).
pub async fn delete_namespace(env: &OpEnv, name: &str, timeout: Duration) -> Result<(), OpError> {
    let spec = DeleteSpec {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        name: Some(name.to_string()),
        ..Default::default()
    };
    delete(env, &spec, timeout).await?;
    Ok(())
}

/// Asks for namespace `name` to be deleted without waiting for it to go.
pub async fn request_namespace_deletion(env: &OpEnv, name: &str) -> Result<(), OpError> {
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(env.client.clone());
    match api.delete(name, &Default::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(OpError::Api {
            action: "delete",
            object: format!("v1/Namespace {name}"),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "Config deletion blocked",
        "abc12",
        "kanon-config-deletion-blocked-abc12"
    )]
    #[case("cel/CEL-1_mutual", "x", "kanon-cel-cel-1-mutual-x")]
    #[case("???", "z9", "kanon-z9")]
    fn names_are_dns_labels(#[case] scenario: &str, #[case] suffix: &str, #[case] want: &str) {
        assert_eq!(namespace_name(scenario, suffix), want);
    }

    #[test]
    fn long_names_are_cut_to_63() {
        let n = namespace_name(&"a".repeat(200), "abcde");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("-abcde"));
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
