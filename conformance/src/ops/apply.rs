//! `apply`, `create`, `update`: write whole objects.

use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use serde_json::Value;

use super::{FIELD_MANAGER, OpEnv, OpError, with_namespace};

/// How `apply` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplyMode {
    /// Server-side apply with kanon's field manager (forcing conflicts): kanon's default.
    #[default]
    ServerSide,
    /// Create, or merge-patch what exists: what Chainsaw files mean by `apply`.
    Merge,
}

/// Options shared by the write operations.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// How `apply` writes.
    pub mode: ApplyMode,
    /// Ask the server to validate and admit without storing.
    pub dry_run: bool,
}

/// Sets the pods' `terminationGracePeriodSeconds` of `obj` to `seconds` when it is a
/// kind that carries pods (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob), as
/// Chainsaw's `forceTerminationGracePeriod` does before apply, create and update, so a
/// test's pods go fast; other kinds, and 0 seconds, are left alone.
pub fn force_termination_grace_period(obj: &mut Value, seconds: i64) {
    if seconds == 0 {
        return;
    }
    let path: &[&str] = match obj.get("kind").and_then(Value::as_str) {
        Some("Pod") => &["spec"],
        Some("Deployment" | "StatefulSet" | "DaemonSet" | "Job") => &["spec", "template", "spec"],
        Some("CronJob") => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return,
    };
    let mut at = obj;
    for key in path {
        let Some(map) = at.as_object_mut() else {
            return;
        };
        at = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    if let Some(spec) = at.as_object_mut() {
        spec.insert("terminationGracePeriodSeconds".into(), seconds.into());
    }
}

fn to_dynamic(obj: &Value) -> Result<DynamicObject, OpError> {
    serde_json::from_value(obj.clone()).map_err(|e| OpError::InvalidObject(e.to_string()))
}

fn to_value(obj: &DynamicObject) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

/// Applies `obj`; returns the object as stored. Records it for cleanup when it did not
/// exist before.
pub async fn apply(env: &OpEnv, obj: Value, opts: WriteOptions) -> Result<Value, OpError> {
    let target = env.target(&obj).await?;
    let r = target.object_ref()?;
    let obj = with_namespace(obj, target.namespace.as_deref());
    let api = target.api(&env.client);
    let api_err = |source| OpError::Api {
        action: "apply",
        object: r.to_string(),
        source,
    };
    let existed = api.get_opt(&r.name).await.map_err(api_err)?.is_some();
    let stored = match (opts.mode, existed) {
        (ApplyMode::ServerSide, _) => {
            let mut pp = PatchParams::apply(FIELD_MANAGER).force();
            pp.dry_run = opts.dry_run;
            api.patch(&r.name, &pp, &Patch::Apply(&obj)).await
        }
        (ApplyMode::Merge, true) => {
            let pp = PatchParams {
                dry_run: opts.dry_run,
                field_manager: Some(FIELD_MANAGER.into()),
                ..Default::default()
            };
            api.patch(&r.name, &pp, &Patch::Merge(&obj)).await
        }
        (ApplyMode::Merge, false) => {
            let pp = PostParams {
                dry_run: opts.dry_run,
                field_manager: Some(FIELD_MANAGER.into()),
            };
            api.create(&pp, &to_dynamic(&obj)?).await
        }
    }
    .map_err(api_err)?;
    if !existed && !opts.dry_run {
        env.record_created(r);
    }
    Ok(to_value(&stored))
}

/// Creates `obj`; fails when it exists.
pub async fn create(env: &OpEnv, obj: Value, opts: WriteOptions) -> Result<Value, OpError> {
    let target = env.target(&obj).await?;
    let r = target.object_ref()?;
    let obj = with_namespace(obj, target.namespace.as_deref());
    let pp = PostParams {
        dry_run: opts.dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    let stored = target
        .api(&env.client)
        .create(&pp, &to_dynamic(&obj)?)
        .await
        .map_err(|source| OpError::Api {
            action: "create",
            object: r.to_string(),
            source,
        })?;
    if !opts.dry_run {
        env.record_created(r);
    }
    Ok(to_value(&stored))
}

/// How often `update` re-reads the live resourceVersion after a conflict on it.
const UPDATE_CONFLICT_ATTEMPTS: u32 = 5;

/// Replaces an existing object with `obj` (taking the live resourceVersion unless `obj`
/// names one, so a stale one is a conflict; a conflict on the live one, from a writer in
/// between, is retried with a fresh read).
pub async fn update(env: &OpEnv, obj: Value, opts: WriteOptions) -> Result<Value, OpError> {
    let target = env.target(&obj).await?;
    let r = target.object_ref()?;
    let mut obj = with_namespace(obj, target.namespace.as_deref());
    let api = target.api(&env.client);
    let api_err = |source| OpError::Api {
        action: "update",
        object: r.to_string(),
        source,
    };
    let pp = PostParams {
        dry_run: opts.dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    // A resourceVersion the scenario gives is its own precondition: a conflict on it is
    // the answer. One kanon reads from the live object only says "the current one", so a
    // conflict there (a controller wrote in between) is answered with a fresh read.
    let pinned = obj.pointer("/metadata/resourceVersion").is_some();
    let mut attempt = 1;
    let stored = loop {
        if !pinned {
            let live = api.get(&r.name).await.map_err(api_err)?;
            if let (Some(rv), Some(meta)) = (
                live.metadata.resource_version,
                obj.get_mut("metadata").and_then(Value::as_object_mut),
            ) {
                meta.insert("resourceVersion".into(), Value::String(rv));
            }
        }
        match api.replace(&r.name, &pp, &to_dynamic(&obj)?).await {
            Err(kube::Error::Api(e))
                if e.code == 409 && !pinned && attempt < UPDATE_CONFLICT_ATTEMPTS =>
            {
                attempt += 1;
            }
            result => break result.map_err(api_err)?,
        }
    };
    Ok(to_value(&stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[rstest::rstest]
    #[case(json!({"kind": "Pod", "spec": {"containers": []}}), Some("/spec/terminationGracePeriodSeconds"))]
    #[case(json!({"kind": "Deployment", "spec": {"template": {"spec": {}}}}), Some("/spec/template/spec/terminationGracePeriodSeconds"))]
    #[case(json!({"kind": "StatefulSet", "spec": {}}), Some("/spec/template/spec/terminationGracePeriodSeconds"))]
    #[case(json!({"kind": "Job"}), Some("/spec/template/spec/terminationGracePeriodSeconds"))]
    #[case(json!({"kind": "CronJob", "spec": {"jobTemplate": {}}}), Some("/spec/jobTemplate/spec/template/spec/terminationGracePeriodSeconds"))]
    #[case(json!({"kind": "ConfigMap", "data": {}}), None)]
    fn grace_period_lands_in_the_pod_spec(#[case] mut obj: Value, #[case] at: Option<&str>) {
        let before = obj.clone();
        force_termination_grace_period(&mut obj, 5);
        match at {
            Some(path) => assert_eq!(obj.pointer(path), Some(&json!(5)), "{obj}"),
            None => assert_eq!(obj, before),
        }
        let mut untouched = before.clone();
        force_termination_grace_period(&mut untouched, 0);
        assert_eq!(untouched, before, "0 seconds changes nothing");
    }

    #[test]
    fn a_spec_of_the_wrong_type_is_left_alone() {
        let mut obj = json!({"kind": "Pod", "spec": "oops"});
        force_termination_grace_period(&mut obj, 5);
        assert_eq!(obj, json!({"kind": "Pod", "spec": "oops"}));
    }
}
