//! `get`, `describe`, `events`, `podLogs`: what catch and finally blocks collect, natively.
//!
//! Each returns text for the report. Secret `data` / `stringData` values are redacted.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;

use super::{OpEnv, OpError};

/// Renders a value as YAML (JSON if that fails).
pub fn to_yaml(v: &Value) -> String {
    serde_saphyr::to_string(v)
        .unwrap_or_else(|_| serde_json::to_string_pretty(v).unwrap_or_default())
}

/// Replaces Secret values with `<redacted>` and drops managedFields (noise in reports).
pub fn redact(mut obj: Value) -> Value {
    let is_secret = obj.get("kind").and_then(Value::as_str) == Some("Secret");
    if let Some(map) = obj.as_object_mut() {
        if is_secret {
            for field in ["data", "stringData"] {
                if let Some(Value::Object(d)) = map.get_mut(field) {
                    for v in d.values_mut() {
                        *v = Value::String("<redacted>".into());
                    }
                }
            }
        }
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            meta.remove("managedFields");
            if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
                ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        }
    }
    obj
}

/// What `get` / `describe` look up.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// `apiVersion`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Name, or all objects when `None`.
    pub name: Option<String>,
    /// Label selector.
    pub selector: Option<String>,
    /// Namespace (the scenario's when the kind is namespaced and none is given).
    pub namespace: Option<String>,
}

async fn fetch(env: &OpEnv, l: &Lookup) -> Result<Vec<Value>, OpError> {
    let target = env
        .kind_target(&l.api_version, &l.kind, l.namespace.as_deref())
        .await?;
    let api = target.api(&env.client);
    let api_err = |source| OpError::Api {
        action: "get",
        object: l.kind.clone(),
        source,
    };
    let objs = match &l.name {
        Some(n) => api.get_opt(n).await.map_err(api_err)?.into_iter().collect(),
        None => {
            let lp = ListParams {
                label_selector: l.selector.clone(),
                ..Default::default()
            };
            api.list(&lp).await.map_err(api_err)?.items
        }
    };
    Ok(objs
        .iter()
        .map(|o| {
            let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
            if let Some(m) = v.as_object_mut() {
                m.insert("apiVersion".into(), Value::String(l.api_version.clone()));
                m.insert("kind".into(), Value::String(l.kind.clone()));
            }
            redact(v)
        })
        .collect())
}

/// The objects as YAML documents.
pub async fn get(env: &OpEnv, l: &Lookup) -> Result<String, OpError> {
    let objs = fetch(env, l).await?;
    if objs.is_empty() {
        return Ok(format!("# no {} found\n", l.kind));
    }
    Ok(objs.iter().map(to_yaml).collect::<Vec<_>>().join("---\n"))
}

/// The objects as YAML, each followed by the Events about it.
pub async fn describe(env: &OpEnv, l: &Lookup) -> Result<String, OpError> {
    let objs = fetch(env, l).await?;
    let mut out = String::new();
    for o in &objs {
        out.push_str(&to_yaml(o));
        let name = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let ns = o.pointer("/metadata/namespace").and_then(Value::as_str);
        out.push_str("Events:\n");
        out.push_str(&events_text(env, ns, Some(name)).await?);
        out.push_str("---\n");
    }
    if objs.is_empty() {
        out.push_str(&format!("# no {} found\n", l.kind));
    }
    Ok(out)
}

/// The Events of `namespace` (the scenario's when `None`), oldest first.
pub async fn events(env: &OpEnv, namespace: Option<&str>) -> Result<String, OpError> {
    events_text(env, Some(namespace.unwrap_or(&env.namespace)), None).await
}

async fn events_text(
    env: &OpEnv,
    namespace: Option<&str>,
    involved: Option<&str>,
) -> Result<String, OpError> {
    let api: Api<Event> = match namespace {
        Some(ns) => Api::namespaced(env.client.clone(), ns),
        None => Api::all(env.client.clone()),
    };
    let lp = ListParams {
        field_selector: involved.map(|n| format!("involvedObject.name={n}")),
        ..Default::default()
    };
    let mut list = api.list(&lp).await.map_err(|source| OpError::Api {
        action: "list",
        object: "events".into(),
        source,
    })?;
    list.items.sort_by_key(|e| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0.as_second())
            .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
            .unwrap_or(0)
    });
    Ok(list
        .items
        .iter()
        .map(|e| {
            format!(
                "{:<8} {:<24} {}/{}: {}\n",
                e.type_.as_deref().unwrap_or(""),
                e.reason.as_deref().unwrap_or(""),
                e.involved_object.kind.as_deref().unwrap_or(""),
                e.involved_object.name.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or("").trim()
            )
        })
        .collect())
}

/// The last `tail` lines of each selected pod's container logs.
pub async fn pod_logs(
    env: &OpEnv,
    name: Option<&str>,
    selector: Option<&str>,
    container: Option<&str>,
    tail: i64,
) -> Result<String, OpError> {
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
    let names: Vec<String> = match name {
        Some(n) => vec![n.to_string()],
        None => {
            let lp = ListParams {
                label_selector: selector.map(str::to_string),
                ..Default::default()
            };
            pods.list(&lp)
                .await
                .map_err(|source| OpError::Api {
                    action: "list",
                    object: "pods".into(),
                    source,
                })?
                .items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .collect()
        }
    };
    let mut out = String::new();
    for n in names {
        let lp = LogParams {
            container: container.map(str::to_string),
            tail_lines: Some(tail),
            ..Default::default()
        };
        out.push_str(&format!("== pod {n}\n"));
        match pods.logs(&n, &lp).await {
            Ok(text) => out.push_str(&text),
            Err(e) => out.push_str(&format!("(no logs: {})\n", crate::k8s::error::describe(&e))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_and_managed_fields_dropped() {
        let s = redact(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "managedFields": [{"manager": "x"}]},
            "data": {"token": "c2VjcmV0"}, "stringData": {"k": "secret"}
        }));
        let text = to_yaml(&s);
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("secret\n"),
            "{text}"
        );
        assert!(text.contains("<redacted>"));
        assert!(s.pointer("/metadata/managedFields").is_none());
        let cm = redact(json!({"kind": "ConfigMap", "data": {"k": "visible"}}));
        assert_eq!(cm["data"]["k"], "visible");
    }
}
