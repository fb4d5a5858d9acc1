//! The shared-config controller, generic over [`SharedConfig`]: one implementation for
//! `MCPTelemetryConfig` and `MCPWebhookConfig` (CFG-1..7).
//!
//! - the finalizer is added on the first reconcile;
//! - `status.configHash` is the SHA-256 of the canonical spec, `observedGeneration` follows;
//! - condition `Valid` reports the operator-side checks;
//! - `status.referencingServers` is computed from a watch cache of MCPServers, and MCPServer
//!   events are mapped to the configs they reference now and those that still list them, so
//!   adding, dropping or deleting a reference is seen within seconds;
//! - a referenced config being deleted is held by the finalizer (`DeletionBlocked`), which
//!   is removed as soon as the last reference goes.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use kube::core::object::{HasSpec, HasStatus};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::{Instrument, info, info_span};

use super::{ErrorBackoff, MANAGER, wait_ready, watch};
use crate::api::{ConfigStatus, MCPServer, MCPServerSpec};
use crate::conditions::{self, Desired};
use crate::metrics::Metrics;
use crate::{Error, Result, hash};

/// Condition type reporting the operator-side checks.
pub const CONDITION_VALID: &str = "Valid";
/// Condition type set while a delete is held back by references.
pub const CONDITION_DELETION_BLOCKED: &str = "DeletionBlocked";
/// Reason of `Valid=True`.
pub const REASON_VALID: &str = "ValidationSucceeded";
/// Reason of `Valid=False`.
pub const REASON_INVALID: &str = "ValidationFailed";
/// Reason of `DeletionBlocked=True`, also the Warning Event's reason is `DeletionBlocked`.
pub const REASON_REFERENCED: &str = "ReferencedByWorkloads";

/// A configuration kind that MCPServers reference by name.
pub trait SharedConfig:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + HasSpec
    + HasStatus<Status = ConfigStatus>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// Finalizer that holds the config while servers reference it (CFG-1).
    const FINALIZER: &'static str;
    /// Controller name in logs and metrics.
    const CONTROLLER: &'static str;

    /// The name of the config of this kind that `server` references, if any.
    fn referenced_name(server: &MCPServerSpec) -> Option<&str>;

    /// Operator-side checks beyond the schema (CFG-3); `Err` names the problem.
    fn validate(spec: &Self::Spec) -> Result<(), String>;
}

/// What a server may take from a config's `Valid` condition (TEL-1, WH-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validity<'a> {
    /// `Valid=True` for the config's current generation.
    Valid,
    /// `Valid=False` for the current generation, with its message.
    Invalid(&'a str),
    /// Not validated yet: no `Valid` condition, or one older than the current spec (its
    /// `observedGeneration` below `metadata.generation`, or missing). Nothing may be built
    /// from the config until the config controller has judged this spec.
    Pending,
}

/// The verdict on a config of `generation` whose status is `status`: a `Valid` condition
/// counts only when it was written for this generation.
pub fn validity(generation: Option<i64>, status: Option<&ConfigStatus>) -> Validity<'_> {
    let Some(valid) = status.and_then(|s| conditions::find(&s.conditions, CONDITION_VALID)) else {
        return Validity::Pending;
    };
    let current = match (valid.observed_generation, generation) {
        (Some(observed), Some(generation)) => observed >= generation,
        (observed, generation) => observed.is_none() && generation.is_none(),
    };
    match (current, valid.status.as_str()) {
        (true, "True") => Validity::Valid,
        (true, "False") => Validity::Invalid(&valid.message),
        _ => Validity::Pending,
    }
}

/// Names of the servers in `namespace` that reference config `name`, sorted.
pub fn referencing_servers<K: SharedConfig>(
    servers: &Store<MCPServer>,
    namespace: &str,
    name: &str,
) -> Vec<String> {
    let mut names: Vec<String> = servers
        .state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(namespace))
        .filter(|s| K::referenced_name(&s.spec) == Some(name))
        .map(|s| s.name_any())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Configs of kind `K` to reconcile when `server` changes: the one it references and every
/// one whose status still lists it (the one it used to reference, or all of them when it
/// was deleted).
pub fn configs_for_server<K: SharedConfig>(
    server: &MCPServer,
    configs: &Store<K>,
) -> Vec<ObjectRef<K>> {
    let Some(namespace) = server.namespace() else {
        return Vec::new();
    };
    let name = server.name_any();
    let mut refs: Vec<ObjectRef<K>> = K::referenced_name(&server.spec)
        .map(|cfg| ObjectRef::new(cfg).within(&namespace))
        .into_iter()
        .collect();
    refs.extend(
        configs
            .state()
            .iter()
            .filter(|c| c.namespace().as_deref() == Some(namespace.as_str()))
            .filter(|c| {
                c.status()
                    .is_some_and(|s| s.referencing_servers.contains(&name))
            })
            .map(|c| ObjectRef::from_obj(c.as_ref())),
    );
    refs
}

struct Context<K: SharedConfig> {
    client: Client,
    servers: Store<MCPServer>,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    backoff: ErrorBackoff,
    _kind: std::marker::PhantomData<fn() -> K>,
}

/// Run the controller of config kind `K` until `shutdown` resolves.
pub async fn run<K>(
    client: Client,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) where
    K::Spec: Serialize,
    K: SharedConfig,
{
    let (servers, server_events) = watch::cached(
        Api::<MCPServer>::all(client.clone()),
        watcher::Config::default(),
    );
    let (configs, config_events) =
        watch::cached(Api::<K>::all(client.clone()), watcher::Config::default());
    let controller = Controller::for_stream(watch::applied(config_events), configs.clone());
    let context = Arc::new(Context::<K> {
        client,
        servers,
        recorder,
        metrics,
        backoff: ErrorBackoff::default(),
        _kind: std::marker::PhantomData,
    });
    controller
        .watches_stream(watch::touched(server_events), move |server| {
            configs_for_server(&server, &configs)
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, context)
        .for_each(|_| futures::future::ready(()))
        .await;
}

fn error_policy<K: SharedConfig>(obj: Arc<K>, error: &Error, ctx: Arc<Context<K>>) -> Action {
    ctx.backoff
        .error_policy(obj.as_ref(), error, K::CONTROLLER, &ctx.metrics)
}

async fn reconcile<K>(obj: Arc<K>, ctx: Arc<Context<K>>) -> Result<Action>
where
    K: SharedConfig,
    K::Spec: Serialize,
{
    let namespace = obj
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let name = obj.name_any();
    let span =
        info_span!("reconcile", controller = K::CONTROLLER, namespace = %namespace, name = %name);
    async move {
        let _timer = ctx.metrics.reconcile_started(K::CONTROLLER);
        let action = apply::<K>(&obj, &namespace, &name, &ctx).await?;
        ctx.backoff.reset(obj.as_ref());
        Ok(action)
    }
    .instrument(span)
    .await
}

async fn apply<K>(obj: &K, namespace: &str, name: &str, ctx: &Context<K>) -> Result<Action>
where
    K: SharedConfig,
    K::Spec: Serialize,
{
    wait_ready(&ctx.servers, "MCPServer").await?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    let referencing = referencing_servers::<K>(&ctx.servers, namespace, name);
    let has_finalizer = obj.finalizers().iter().any(|f| f == K::FINALIZER);

    if obj.meta().deletion_timestamp.is_some() {
        if !has_finalizer {
            return Ok(Action::await_change());
        }
        if referencing.is_empty() {
            // CFG-6 / CFG-7: nothing references it any more, let the delete proceed.
            set_finalizer(&api, obj, false).await?;
            info!("finalizer removed, config deleted");
            return Ok(Action::await_change());
        }
    } else if !has_finalizer {
        set_finalizer(&api, obj, true).await?;
    }

    let generation = obj.meta().generation;
    let previous = obj.status().cloned().unwrap_or_default();
    let validation = K::validate(obj.spec());
    let mut desired = vec![match &validation {
        Ok(()) => Desired::new(CONDITION_VALID, true, REASON_VALID, "spec is valid"),
        Err(problem) => Desired::new(CONDITION_VALID, false, REASON_INVALID, problem.clone()),
    }];
    let blocked = obj.meta().deletion_timestamp.is_some();
    if blocked {
        desired.push(Desired::new(
            CONDITION_DELETION_BLOCKED,
            true,
            REASON_REFERENCED,
            format!(
                "deletion is blocked: referenced by MCPServers {}",
                referencing.join(", ")
            ),
        ));
    }
    let status = ConfigStatus {
        conditions: conditions::reconcile(
            &previous.conditions,
            desired,
            generation,
            &conditions::now(),
        ),
        observed_generation: generation,
        config_hash: Some(hash::spec_hash(obj.spec())?),
        referencing_servers: referencing.clone(),
    };

    // The Warning Event goes out when the delete is first held back.
    let newly_blocked =
        blocked && !conditions::is_true(&previous.conditions, CONDITION_DELETION_BLOCKED);
    if newly_blocked {
        let event = Event {
            type_: EventType::Warning,
            reason: "DeletionBlocked".into(),
            note: Some(format!(
                "deletion is blocked while referenced by MCPServers: {}",
                referencing.join(", ")
            )),
            action: "Delete".into(),
            secondary: None,
        };
        if let Err(error) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(%error, "could not publish the DeletionBlocked event");
        }
    }

    if status != previous {
        let patch = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": status,
        });
        api.patch_status(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
        info!(
            references = referencing.len(),
            valid = validation.is_ok(),
            "status updated"
        );
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// Add or remove the finalizer with a merge patch guarded by `resourceVersion`, so a
/// concurrent change fails with a conflict and is retried instead of being overwritten.
async fn set_finalizer<K: SharedConfig>(api: &Api<K>, obj: &K, present: bool) -> Result<()> {
    let mut finalizers: Vec<String> = obj
        .finalizers()
        .iter()
        .filter(|f| f.as_str() != K::FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(K::FINALIZER.to_string());
    }
    let patch = json!({
        "metadata": {
            "resourceVersion": obj.resource_version(),
            "finalizers": finalizers,
        }
    });
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{MCPTelemetryConfig, MCPTelemetryConfigSpec};
    use kube::runtime::watcher;

    use crate::controllers::fixtures::server;

    fn config(ns: &str, name: &str, listed: &[&str]) -> MCPTelemetryConfig {
        let mut config = MCPTelemetryConfig::new(name, MCPTelemetryConfigSpec::default());
        config.metadata.namespace = Some(ns.into());
        config.status = Some(ConfigStatus {
            referencing_servers: listed.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        });
        config
    }

    fn store<K>(objects: Vec<K>) -> Store<K>
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        let (reader, mut writer) = kube::runtime::reflector::store::<K>();
        for obj in objects {
            writer.apply_watcher_event(&watcher::Event::Apply(obj));
        }
        reader
    }

    fn judged(status: &str, observed: Option<i64>) -> ConfigStatus {
        ConfigStatus {
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: CONDITION_VALID.into(),
                status: status.into(),
                reason: "R".into(),
                message: "endpoint requires tracing".into(),
                observed_generation: observed,
                last_transition_time: conditions::now(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn validity_counts_only_a_valid_condition_of_the_current_generation() {
        // Absent: not validated yet.
        assert_eq!(validity(Some(1), None), Validity::Pending);
        assert_eq!(
            validity(Some(1), Some(&ConfigStatus::default())),
            Validity::Pending
        );
        // Current True / False.
        assert_eq!(
            validity(Some(2), Some(&judged("True", Some(2)))),
            Validity::Valid
        );
        assert_eq!(
            validity(Some(2), Some(&judged("False", Some(2)))),
            Validity::Invalid("endpoint requires tracing")
        );
        // Stale: judged an older spec, whichever way.
        assert_eq!(
            validity(Some(3), Some(&judged("True", Some(2)))),
            Validity::Pending
        );
        assert_eq!(
            validity(Some(3), Some(&judged("False", Some(2)))),
            Validity::Pending
        );
        // No observedGeneration on the condition: current only if the object has no generation.
        assert_eq!(
            validity(Some(1), Some(&judged("True", None))),
            Validity::Pending
        );
        assert_eq!(validity(None, Some(&judged("True", None))), Validity::Valid);
        // Unknown is not a verdict.
        assert_eq!(
            validity(Some(1), Some(&judged("Unknown", Some(1)))),
            Validity::Pending
        );
    }

    #[test]
    fn referencing_servers_are_sorted_and_namespaced() {
        let servers = store(vec![
            server("a", "zeta", Some("otel")),
            server("a", "alpha", Some("otel")),
            server("a", "other", Some("different")),
            server("a", "none", None),
            server("b", "elsewhere", Some("otel")),
        ]);
        assert_eq!(
            referencing_servers::<MCPTelemetryConfig>(&servers, "a", "otel"),
            ["alpha", "zeta"]
        );
        assert_eq!(
            referencing_servers::<MCPTelemetryConfig>(&servers, "b", "otel"),
            ["elsewhere"]
        );
        assert!(referencing_servers::<MCPTelemetryConfig>(&servers, "c", "otel").is_empty());
    }

    #[test]
    fn a_server_event_maps_to_its_current_and_former_configs() {
        let configs = store(vec![
            config("a", "old", &["fetch"]),
            config("a", "unrelated", &["someone-else"]),
            config("b", "old", &["fetch"]),
        ]);
        let names = |refs: Vec<ObjectRef<MCPTelemetryConfig>>| {
            let mut names: Vec<String> = refs
                .into_iter()
                .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
                .collect();
            names.sort();
            names
        };
        // Switched from "old" to "new": both are reconciled, in its namespace only.
        assert_eq!(
            names(configs_for_server(
                &server("a", "fetch", Some("new")),
                &configs
            )),
            ["a/new", "a/old"]
        );
        // Dropped the reference (or deleted): the config that still lists it.
        assert_eq!(
            names(configs_for_server(&server("a", "fetch", None), &configs)),
            ["a/old"]
        );
        assert!(configs_for_server(&server("c", "fetch", None), &configs).is_empty());
    }
}
