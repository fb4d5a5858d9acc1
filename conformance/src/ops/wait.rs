//! `wait`: for a condition, a JSONPath value, deletion or creation, natively (what
//! `kubectl wait` does, without kubectl), watch-driven.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube::api::DynamicObject;
use serde_json::Value;
use tokio::time::Instant;

use super::jsonpath::{JsonPath, scalar_text};
use super::{OpEnv, OpError};
use crate::k8s::selector::LabelSelector;
use crate::k8s::{WaitOutcome, wait_for};

/// What to wait for.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `status.conditions[type=name].status == value` (`"True"` when no value is given).
    Condition {
        /// Condition type.
        name: String,
        /// Expected status.
        value: Option<String>,
    },
    /// The path selects a value equal to `value` (or, without one, selects anything).
    JsonPath {
        /// Compiled path.
        path: JsonPath,
        /// Expected value, compared as kubectl prints it.
        value: Option<String>,
    },
    /// Every selected object is gone.
    Deletion,
    /// At least one object is selected.
    Creation,
}

/// Which objects to wait on.
#[derive(Debug, Clone)]
pub struct WaitSpec {
    /// `apiVersion`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// One object by name, or (when `None`) all objects matching `selector`.
    pub name: Option<String>,
    /// Label selector (empty: every object of the kind in the namespace).
    pub selector: LabelSelector,
    /// Namespace (scenario's when the kind is namespaced and none is given).
    pub namespace: Option<String>,
    /// The condition.
    pub for_: WaitFor,
}

fn labels_of(o: &DynamicObject) -> BTreeMap<String, String> {
    o.metadata.labels.clone().unwrap_or_default()
}

/// Whether one object meets a condition / path requirement; `Err` says what it shows.
fn object_meets(o: &DynamicObject, for_: &WaitFor) -> Result<(), String> {
    let name = o.metadata.name.clone().unwrap_or_default();
    match for_ {
        WaitFor::Condition { name: cond, value } => {
            let want = value.as_deref().unwrap_or("True");
            let status = o.data["status"]["conditions"]
                .as_array()
                .and_then(|cs| {
                    cs.iter().find(|c| {
                        c["type"]
                            .as_str()
                            .is_some_and(|t| t.eq_ignore_ascii_case(cond))
                    })
                })
                .map(|c| scalar_text(&c["status"]));
            match status {
                Some(s) if s.eq_ignore_ascii_case(want) => Ok(()),
                Some(s) => Err(format!("{name}: condition {cond} is {s}, want {want}")),
                None => Err(format!("{name}: no condition {cond}")),
            }
        }
        WaitFor::JsonPath { path, value } => {
            let whole = serde_json::to_value(o).unwrap_or(Value::Null);
            let found = path.select(&whole);
            match (value, found.first()) {
                (None, Some(_)) => Ok(()),
                (Some(want), Some(v)) if scalar_text(v) == *want => Ok(()),
                (Some(want), Some(v)) => {
                    Err(format!("{name}: value is {}, want {want}", scalar_text(v)))
                }
                (_, None) => Err(format!("{name}: path selects nothing")),
            }
        }
        WaitFor::Deletion | WaitFor::Creation => Ok(()),
    }
}

/// Evaluates `spec` over the watched objects (pure, for tests and for `wait`).
pub fn evaluate(spec: &WaitSpec, objs: &[Arc<DynamicObject>]) -> Result<usize, String> {
    let selected: Vec<&Arc<DynamicObject>> = objs
        .iter()
        .filter(|o| match &spec.name {
            Some(n) => o.metadata.name.as_deref() == Some(n.as_str()),
            None => spec.selector.matches(&labels_of(o)),
        })
        .collect();
    match &spec.for_ {
        WaitFor::Deletion => {
            if selected.is_empty() {
                Ok(0)
            } else {
                Err(format!("{} still present", selected.len()))
            }
        }
        WaitFor::Creation => {
            if selected.is_empty() {
                Err("nothing created yet".into())
            } else {
                Ok(selected.len())
            }
        }
        other => {
            if selected.is_empty() {
                return Err(format!("no {} selected", spec.kind));
            }
            let failures: Vec<String> = selected
                .iter()
                .filter_map(|o| object_meets(o, other).err())
                .collect();
            if failures.is_empty() {
                Ok(selected.len())
            } else {
                Err(failures.join("; "))
            }
        }
    }
}

/// Waits until `spec` holds; returns how many objects it held for.
pub async fn wait(env: &OpEnv, spec: &WaitSpec, timeout: Duration) -> Result<usize, OpError> {
    let target = env
        .kind_target(&spec.api_version, &spec.kind, spec.namespace.as_deref())
        .await?;
    let deadline = Instant::now() + timeout;
    let mut sub = env.watch(&target, timeout).await?;
    match wait_for(&mut sub, deadline, |objs| evaluate(spec, objs)).await {
        WaitOutcome::Passed(n) => Ok(n),
        WaitOutcome::TimedOut(last) => Err(OpError::Timeout {
            what: format!(
                "wait for {} {}",
                spec.kind,
                spec.name.as_deref().unwrap_or("(selector)")
            ),
            timeout,
            last: Some(last),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(name: &str, labels: Value, status: Value) -> Arc<DynamicObject> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Thing",
                "metadata": {"name": name, "labels": labels},
                "status": status
            }))
            .unwrap(),
        )
    }

    fn spec(name: Option<&str>, selector: &str, for_: WaitFor) -> WaitSpec {
        WaitSpec {
            api_version: "v1".into(),
            kind: "Thing".into(),
            name: name.map(str::to_string),
            selector: LabelSelector::parse(selector).unwrap(),
            namespace: None,
            for_,
        }
    }

    #[test]
    fn condition_on_every_selected_object() {
        let ready = json!({"conditions": [{"type": "Ready", "status": "True"}]});
        let not_ready = json!({"conditions": [{"type": "Ready", "status": "False"}]});
        let objs = vec![
            obj("a", json!({"app": "x"}), ready.clone()),
            obj("b", json!({"app": "x"}), not_ready),
            obj("c", json!({"app": "y"}), ready),
        ];
        let cond = || WaitFor::Condition {
            name: "ready".into(),
            value: None,
        };
        assert_eq!(evaluate(&spec(Some("a"), "", cond()), &objs), Ok(1));
        let err = evaluate(&spec(None, "app=x", cond()), &objs).unwrap_err();
        assert!(err.contains("b: condition ready is False"), "{err}");
        assert_eq!(evaluate(&spec(None, "app=y", cond()), &objs), Ok(1));
        assert!(evaluate(&spec(Some("zzz"), "", cond()), &objs).is_err());
    }

    #[test]
    fn jsonpath_creation_and_deletion() {
        let objs = vec![obj("a", json!({}), json!({"phase": "Running"}))];
        let jp = |v: Option<&str>| WaitFor::JsonPath {
            path: JsonPath::parse("{.status.phase}").unwrap(),
            value: v.map(str::to_string),
        };
        assert_eq!(
            evaluate(&spec(Some("a"), "", jp(Some("Running"))), &objs),
            Ok(1)
        );
        assert!(evaluate(&spec(Some("a"), "", jp(Some("Failed"))), &objs).is_err());
        assert_eq!(evaluate(&spec(Some("a"), "", jp(None)), &objs), Ok(1));
        assert_eq!(
            evaluate(&spec(Some("a"), "", WaitFor::Creation), &objs),
            Ok(1)
        );
        assert!(evaluate(&spec(Some("a"), "", WaitFor::Deletion), &objs).is_err());
        assert_eq!(
            evaluate(&spec(Some("b"), "", WaitFor::Deletion), &objs),
            Ok(0)
        );
    }
}
