//! `assert`, `error` and `consistently` on cluster objects.
//!
//! The assertion tree's literal `apiVersion`, `kind`, `metadata.namespace` and
//! `metadata.name` pick the candidates (every object of the kind in the namespace when
//! no name is given); the caller's `check` (the assertion-tree matcher) decides whether
//! one candidate matches. Checks run on every watch event of that kind and namespace.
//!
//! - `assert` passes as soon as one candidate matches;
//! - `error` passes as soon as no candidate matches (Chainsaw's meaning);
//! - `consistently` requires a match on every event for the whole duration.

use std::sync::Arc;
use std::time::Duration;

use kube::api::DynamicObject;
use serde_json::Value;
use tokio::time::Instant;

use super::{OpEnv, OpError, Target};
use crate::k8s::{WaitOutcome, hold_for, wait_for};

/// Why no candidate matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched<M> {
    /// Each candidate's name and the check's failure for it; empty when no object of
    /// the kind (and name) exists.
    pub candidates: Vec<(String, M)>,
}

/// What matched although it should not have.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched<T> {
    /// The matching object's name.
    pub name: String,
    /// The check's value (e.g. bindings).
    pub value: T,
    /// The object.
    pub object: Value,
}

/// A candidate object as the check sees it: `apiVersion` and `kind` filled in (list and
/// watch items may omit them).
fn as_checked(target: &Target, o: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Some(map) = v.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            Value::String(target.api_version.clone()),
        );
        map.insert("kind".into(), Value::String(target.kind.clone()));
    }
    v
}

fn literal_name(tree: &Value) -> Option<String> {
    tree.pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn evaluate<T, M>(
    target: &Target,
    name: Option<&str>,
    objs: &[Arc<DynamicObject>],
    check: &mut impl FnMut(&Value) -> Result<T, M>,
) -> Result<Matched<T>, Unmatched<M>> {
    let mut candidates = Vec::new();
    for o in objs {
        let oname = o.metadata.name.clone().unwrap_or_default();
        if name.is_some_and(|n| n != oname) {
            continue;
        }
        let object = as_checked(target, o);
        match check(&object) {
            Ok(value) => {
                return Ok(Matched {
                    name: oname,
                    value,
                    object,
                });
            }
            Err(m) => candidates.push((oname, m)),
        }
    }
    Err(Unmatched { candidates })
}

async fn subscribe(
    env: &OpEnv,
    tree: &Value,
    timeout: Duration,
) -> Result<(Target, crate::k8s::Subscription), OpError> {
    let target = env.target(tree).await?;
    let sub = env.watch(&target, timeout).await?;
    Ok((target, sub))
}

/// Waits until a candidate matches; `Ok(Err(..))` is a failed assertion with every
/// candidate's last failure.
pub async fn assert<T, M>(
    env: &OpEnv,
    tree: &Value,
    timeout: Duration,
    mut check: impl FnMut(&Value) -> Result<T, M>,
) -> Result<Result<Matched<T>, Unmatched<M>>, OpError> {
    let deadline = Instant::now() + timeout;
    let (target, mut sub) = subscribe(env, tree, timeout).await?;
    let name = literal_name(tree);
    let outcome = wait_for(&mut sub, deadline, |objs| {
        evaluate(&target, name.as_deref(), objs, &mut check)
    })
    .await;
    Ok(match outcome {
        WaitOutcome::Passed(m) => Ok(m),
        WaitOutcome::TimedOut(u) => Err(u),
    })
}

/// Waits until no candidate matches; `Ok(Err(..))` names the object that still did
/// when time ran out.
pub async fn error<T, M>(
    env: &OpEnv,
    tree: &Value,
    timeout: Duration,
    mut check: impl FnMut(&Value) -> Result<T, M>,
) -> Result<Result<(), Matched<T>>, OpError> {
    let deadline = Instant::now() + timeout;
    let (target, mut sub) = subscribe(env, tree, timeout).await?;
    let name = literal_name(tree);
    let outcome = wait_for(&mut sub, deadline, |objs| {
        match evaluate(&target, name.as_deref(), objs, &mut check) {
            Ok(matched) => Err(matched),
            Err(_) => Ok(()),
        }
    })
    .await;
    Ok(match outcome {
        WaitOutcome::Passed(()) => Ok(()),
        WaitOutcome::TimedOut(m) => Err(m),
    })
}

/// Requires a matching candidate on every event for `duration`; `Ok(Err(..))` is the
/// first moment none matched.
pub async fn consistently<T, M>(
    env: &OpEnv,
    tree: &Value,
    duration: Duration,
    sync_timeout: Duration,
    mut check: impl FnMut(&Value) -> Result<T, M>,
) -> Result<Result<(), Unmatched<M>>, OpError> {
    let (target, mut sub) = subscribe(env, tree, sync_timeout).await?;
    let name = literal_name(tree);
    Ok(hold_for(&mut sub, duration, |objs| {
        evaluate(&target, name.as_deref(), objs, &mut check).map(|_| ())
    })
    .await)
}
