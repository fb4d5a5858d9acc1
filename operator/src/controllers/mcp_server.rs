//! The MCPServer controller (SRV, TEL, WH and REC clauses).
//!
//! For each MCPServer it resolves the referenced configs (from watch caches, confirming a
//! miss with the API), builds the ConfigMap, Deployment and Service with the pure builders
//! of [`crate::resources`], server-side applies the ones that differ from the cache, and
//! writes the status when it changed. Config changes are mapped to the servers of the same
//! namespace that reference the config, and only when something a server depends on
//! changed (generation, `configHash`, `Valid`, deletion).

use std::collections::HashSet;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, Patch, PatchParams};
use kube::core::object::HasStatus;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use tracing::{Instrument, info, info_span};

use super::config::{CONDITION_VALID, SharedConfig, Validity, validity};
use super::{AppliedChild, ErrorBackoff, LastWrites, MANAGER, apply_if_changed, wait_ready, watch};
use crate::api::{
    ConfigStatus, MCPServer, MCPServerStatus, MCPTelemetryConfig, MCPWebhookConfig, Phase,
};
use crate::conditions::{self, Desired, Status};
use crate::metrics::Metrics;
use crate::resources::{self, CHILD_SELECTOR, ProxyInputs, TelemetrySource};
use crate::{Error, Result};

/// Controller name in logs and metrics.
pub const CONTROLLER: &str = "mcpserver";

/// Reconciles running at once, by default. Bounded so that a cold start with many servers
/// does not flood the API server into throttling (and the reconciles into error backoff).
/// Measured with `ci/bench-operator.sh` (1,000 servers, 2 cores): throughput plateaus from
/// 8 to 32 while reconcile p99 doubles with each doubling (the writes queue in the API
/// server), so 16 is the knee.
pub const DEFAULT_CONCURRENCY: u16 = 16;

/// Condition mirroring the phase.
pub const CONDITION_READY: &str = "Ready";
/// Condition reporting the telemetry reference (TEL-1).
pub const CONDITION_TELEMETRY_REF: &str = "TelemetryConfigRefValidated";
/// Condition reporting the webhook reference (WH-1).
pub const CONDITION_WEBHOOK_REF: &str = "WebhookConfigRefValidated";
/// Condition recording that the deprecated inline telemetry is in use (TEL-9); its
/// appearance is what emits the `DeprecatedField` Warning Event exactly once.
pub const CONDITION_DEPRECATED: &str = "DeprecatedField";

/// Settings of the MCPServer controller.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Image of the proxy container.
    pub proxy_image: String,
    /// MCPServer reconciles running at once (at least 1).
    pub concurrency: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            proxy_image: resources::DEFAULT_PROXY_IMAGE.to_string(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

struct Context {
    client: Client,
    settings: Settings,
    telemetry: Store<MCPTelemetryConfig>,
    webhooks: Store<MCPWebhookConfig>,
    deployments: Store<Deployment>,
    services: Store<Service>,
    configmaps: Store<ConfigMap>,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    backoff: ErrorBackoff,
    /// The last child writes and status writes, so a reconcile that runs before the
    /// caches show them does not repeat them.
    written_deployments: LastWrites<AppliedChild<Deployment>>,
    written_services: LastWrites<AppliedChild<Service>>,
    written_configmaps: LastWrites<AppliedChild<ConfigMap>>,
    written_statuses: LastWrites<MCPServerStatus>,
    /// UIDs of servers warned about inline telemetry by this process. The persistent record
    /// is the `DeprecatedField` condition; this covers the moment between writing it and
    /// the cache showing it.
    warned: Mutex<HashSet<String>>,
}

/// Fingerprint of what a server takes from a config: spec generation, `configHash`, the
/// `Valid` condition (with the generation it judged: a server waits for the verdict on
/// the current spec) and whether it is being deleted.
fn config_fingerprint<K: SharedConfig>(config: &K) -> u64 {
    let status: Option<&ConfigStatus> = config.status();
    let valid = status
        .and_then(|s| conditions::find(&s.conditions, CONDITION_VALID))
        .map(|c| {
            (
                c.status.clone(),
                c.reason.clone(),
                c.message.clone(),
                c.observed_generation,
            )
        });
    let mut hasher = DefaultHasher::new();
    (
        config.meta().uid.as_deref(),
        config.meta().generation,
        status.and_then(|s| s.config_hash.as_deref()),
        valid,
        config.meta().deletion_timestamp.is_some(),
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// A cached watch of config kind `K` that only yields changes relevant to servers, so
/// `referencingServers` updates do not wake every referencing server. Deletions always pass.
fn relevant_config_changes<K: SharedConfig>(
    client: &Client,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
) {
    let (store, events) = watch::cached(Api::<K>::all(client.clone()), watcher::Config::default());
    (store, watch::changed(events, config_fingerprint::<K>))
}

/// Fingerprint of what a server's reconcile reads from the server itself: the spec
/// (generation), labels, annotations and deletion. The controller's own status writes do
/// not change it, so they do not trigger another reconcile.
fn server_fingerprint(server: &MCPServer) -> u64 {
    let mut hasher = DefaultHasher::new();
    (
        server.meta().uid.as_deref(),
        server.meta().generation,
        &server.meta().labels,
        &server.meta().annotations,
        server.meta().deletion_timestamp.is_some(),
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// Fingerprint of what a server's reconcile reads from its Deployment: the spec
/// (generation), labels and annotations (drift to correct), whether it is available and
/// whether it is being deleted. Rollout progress updates of the status do not change it.
fn deployment_fingerprint(deployment: &Deployment) -> u64 {
    let mut hasher = DefaultHasher::new();
    (
        deployment.meta().uid.as_deref(),
        deployment.meta().generation,
        &deployment.meta().labels,
        &deployment.meta().annotations,
        deployment_available(deployment),
        deployment.meta().deletion_timestamp.is_some(),
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// Servers in the config's namespace whose reference of kind `K` names it.
fn servers_for_config<K: SharedConfig>(
    config: &K,
    servers: &Store<MCPServer>,
) -> Vec<ObjectRef<MCPServer>> {
    let Some(namespace) = config.namespace() else {
        return Vec::new();
    };
    let name = config.name_any();
    servers
        .state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|s| K::referenced_name(&s.spec) == Some(name.as_str()))
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

/// Run the MCPServer controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    settings: Settings,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let children = watcher::Config::default().labels(CHILD_SELECTOR);
    let (deployments, deployment_events) =
        watch::cached(Api::<Deployment>::all(client.clone()), children.clone());
    let (services, service_events) =
        watch::cached(Api::<Service>::all(client.clone()), children.clone());
    let (configmaps, configmap_events) =
        watch::cached(Api::<ConfigMap>::all(client.clone()), children);
    let (telemetry, telemetry_events) = relevant_config_changes::<MCPTelemetryConfig>(&client);
    let (webhooks, webhook_events) = relevant_config_changes::<MCPWebhookConfig>(&client);

    let (servers, server_events) = watch::cached(
        Api::<MCPServer>::all(client.clone()),
        watcher::Config::default(),
    );
    let controller = Controller::for_stream(
        watch::applied_changed(server_events, server_fingerprint),
        servers.clone(),
    );
    let servers_for_webhooks = servers.clone();
    let concurrency = settings.concurrency.max(1);
    let context = Arc::new(Context {
        client,
        settings,
        telemetry,
        webhooks,
        deployments,
        services,
        configmaps,
        recorder,
        metrics,
        backoff: ErrorBackoff::default(),
        written_deployments: LastWrites::default(),
        written_services: LastWrites::default(),
        written_configmaps: LastWrites::default(),
        written_statuses: LastWrites::default(),
        warned: Mutex::default(),
    });
    controller
        .owns_stream(watch::changed(deployment_events, deployment_fingerprint))
        .owns_stream(watch::touched(service_events))
        .owns_stream(watch::touched(configmap_events))
        .watches_stream(telemetry_events, move |cfg| {
            servers_for_config(&cfg, &servers)
        })
        .watches_stream(webhook_events, move |cfg| {
            servers_for_config(&cfg, &servers_for_webhooks)
        })
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, context)
        .for_each(|_| futures::future::ready(()))
        .await;
}

fn error_policy(obj: Arc<MCPServer>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.backoff
        .error_policy(obj.as_ref(), error, CONTROLLER, &ctx.metrics)
}

async fn reconcile(server: Arc<MCPServer>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = server
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let name = server.name_any();
    let span =
        info_span!("reconcile", controller = CONTROLLER, namespace = %namespace, name = %name);
    async move {
        let _timer = ctx.metrics.reconcile_started(CONTROLLER);
        let action = apply(&server, &namespace, &name, &ctx).await?;
        ctx.backoff.reset(server.as_ref());
        Ok(action)
    }
    .instrument(span)
    .await
}

/// The outcome of resolving one reference.
enum Resolved<K> {
    /// Found, and judged valid for its current spec.
    Valid(Arc<K>),
    /// Found, but its current spec has not been judged yet (see [`Validity::Pending`]):
    /// the config's name. The config's status change wakes the server again.
    Pending,
    /// A condition saying why not, and the error to retry on for API failures.
    Failed(Desired, Option<Error>),
}

/// The reference condition while a config is not validated yet: the server's previous
/// verdict when it was reached for the server's current spec (a config edit does not
/// un-judge it), else `Unknown` / `<prefix>Pending`.
fn pending_condition(
    previous: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    generation: Option<i64>,
    condition: &'static str,
    reason_prefix: &str,
    kind: &str,
    name: &str,
) -> Desired {
    match conditions::find(previous, condition) {
        Some(kept) if kept.observed_generation == generation => Desired::kept(condition, kept),
        _ => Desired::new(
            condition,
            Status::Unknown,
            format!("{reason_prefix}Pending"),
            format!("waiting for {kind} {name:?} to be validated"),
        ),
    }
}

/// Look a config up: the cache first, the API to confirm a miss (so a stale cache is never
/// reported as not found and API errors are told apart).
async fn lookup<K: SharedConfig>(
    store: &Store<K>,
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Arc<K>>, kube::Error> {
    if let Some(found) = store.get(&ObjectRef::new(name).within(namespace)) {
        return Ok(Some(found));
    }
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    Ok(api.get_opt(name).await?.map(Arc::new))
}

/// Resolve a reference into the `<Kind>RefValidated` condition (TEL-1, WH-1).
async fn resolve<K: SharedConfig>(
    store: &Store<K>,
    ctx: &Context,
    namespace: &str,
    name: &str,
    condition: &'static str,
    reason_prefix: &str,
) -> Resolved<K> {
    let kind = K::kind(&());
    if let Err(error) = wait_ready(store, "config").await {
        let message = format!("cannot look up {kind} {name:?}: {error}");
        return Resolved::Failed(
            Desired::new(condition, false, format!("{reason_prefix}Error"), message),
            Some(error),
        );
    }
    match lookup(store, &ctx.client, namespace, name).await {
        Ok(Some(config)) => match validity(config.meta().generation, config.status()) {
            Validity::Valid => Resolved::Valid(config),
            Validity::Invalid(message) => Resolved::Failed(
                Desired::new(
                    condition,
                    false,
                    format!("{reason_prefix}Invalid"),
                    format!("{kind} {name:?} is invalid: {message}"),
                ),
                None,
            ),
            Validity::Pending => Resolved::Pending,
        },
        Ok(None) => Resolved::Failed(
            Desired::new(
                condition,
                false,
                format!("{reason_prefix}NotFound"),
                format!("{kind} {name:?} not found in namespace {namespace}"),
            ),
            None,
        ),
        Err(source) => {
            let message = format!("cannot look up {kind} {name:?}: {source}");
            Resolved::Failed(
                Desired::new(condition, false, format!("{reason_prefix}Error"), message),
                Some(Error::ConfigLookup {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    source,
                }),
            )
        }
    }
}

/// The `Ready` condition of a server whose config `name` of `kind` awaits its verdict.
fn pending_ready(name: &str, kind: &str) -> Desired {
    Desired::new(
        CONDITION_READY,
        false,
        "ConfigNotValidated",
        format!("waiting for {kind} {name:?} to be validated"),
    )
}

fn deployment_available(deployment: &Deployment) -> bool {
    deployment
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Available" && c.status == "True")
        })
}

async fn apply(server: &MCPServer, namespace: &str, name: &str, ctx: &Context) -> Result<Action> {
    if server.meta().deletion_timestamp.is_some() {
        // Being deleted: garbage collection removes the children; recreating them would
        // hold up a foreground deletion.
        return Ok(Action::await_change());
    }
    let spec = &server.spec;
    let generation = server.meta().generation;
    let previous = server.status().cloned().unwrap_or_default();
    let mut desired_conditions = Vec::new();
    let mut failure: Option<Desired> = None;
    // The first reference whose config has not been judged yet.
    let mut waiting: Option<Desired> = None;
    let mut retry_error: Option<Error> = None;

    // Telemetry by reference (TEL-1, TEL-2).
    let mut telemetry_config = None;
    if let Some(reference) = &spec.telemetry_config_ref {
        match resolve::<MCPTelemetryConfig>(
            &ctx.telemetry,
            ctx,
            namespace,
            &reference.name,
            CONDITION_TELEMETRY_REF,
            "TelemetryConfigRef",
        )
        .await
        {
            Resolved::Valid(config) => {
                desired_conditions.push(Desired::new(
                    CONDITION_TELEMETRY_REF,
                    true,
                    "TelemetryConfigRefValid",
                    format!("MCPTelemetryConfig {:?} is valid", reference.name),
                ));
                telemetry_config = Some(config);
            }
            Resolved::Pending => {
                let condition = pending_condition(
                    &previous.conditions,
                    generation,
                    CONDITION_TELEMETRY_REF,
                    "TelemetryConfigRef",
                    MCPTelemetryConfig::kind(&()).as_ref(),
                    &reference.name,
                );
                waiting.get_or_insert_with(|| pending_ready(&reference.name, "MCPTelemetryConfig"));
                desired_conditions.push(condition);
            }
            Resolved::Failed(condition, error) => {
                failure.get_or_insert_with(|| condition.clone());
                desired_conditions.push(condition);
                retry_error = retry_error.or(error);
            }
        }
    }

    // Webhooks by reference (WH-1, WH-2).
    let mut webhook_config = None;
    if let Some(reference) = &spec.webhook_config_ref {
        match resolve::<MCPWebhookConfig>(
            &ctx.webhooks,
            ctx,
            namespace,
            &reference.name,
            CONDITION_WEBHOOK_REF,
            "WebhookConfigRef",
        )
        .await
        {
            Resolved::Valid(config) => {
                desired_conditions.push(Desired::new(
                    CONDITION_WEBHOOK_REF,
                    true,
                    "WebhookConfigRefValid",
                    format!("MCPWebhookConfig {:?} is valid", reference.name),
                ));
                webhook_config = Some(config);
            }
            Resolved::Pending => {
                let condition = pending_condition(
                    &previous.conditions,
                    generation,
                    CONDITION_WEBHOOK_REF,
                    "WebhookConfigRef",
                    MCPWebhookConfig::kind(&()).as_ref(),
                    &reference.name,
                );
                waiting.get_or_insert_with(|| pending_ready(&reference.name, "MCPWebhookConfig"));
                desired_conditions.push(condition);
            }
            Resolved::Failed(condition, error) => {
                failure.get_or_insert_with(|| condition.clone());
                desired_conditions.push(condition);
                retry_error = retry_error.or(error);
            }
        }
    }

    // Deprecated inline telemetry (TEL-9).
    let inline = spec
        .telemetry
        .as_ref()
        .filter(|_| spec.telemetry_config_ref.is_none());
    if inline.is_some() {
        desired_conditions.push(Desired::new(
            CONDITION_DEPRECATED,
            true,
            "InlineTelemetry",
            "spec.telemetry is deprecated; use spec.telemetryConfigRef",
        ));
        let first_time = conditions::find(&previous.conditions, CONDITION_DEPRECATED).is_none()
            && ctx
                .warned
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(server.uid().unwrap_or_default());
        if first_time {
            let event = Event {
                type_: EventType::Warning,
                reason: "DeprecatedField".into(),
                note: Some("spec.telemetry is deprecated; migrate to spec.telemetryConfigRef and an MCPTelemetryConfig".into()),
                action: "Reconcile".into(),
                secondary: None,
            };
            if let Err(error) = ctx.recorder.publish(&event, &server.object_ref(&())).await {
                tracing::warn!(%error, "could not publish the DeprecatedField event");
            }
        }
    }

    if inline.is_none() {
        ctx.warned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&server.uid().unwrap_or_default());
    }

    // While a config awaits its verdict nothing is built from it: the children stay as
    // the last verdict left them, and so do the phase and the hashes (for the server's
    // current spec; a server never judged, or since edited, is Pending).
    let kept = waiting.is_some()
        && failure.is_none()
        && previous.observed_generation == generation
        && previous.phase.is_some();
    let (phase, ready, message) = match (&failure, &waiting) {
        (None, Some(waiting_ready)) if kept => {
            let phase = previous.phase.unwrap_or(Phase::Pending);
            let ready = conditions::find(&previous.conditions, CONDITION_READY)
                .map(|c| Desired::kept(CONDITION_READY, c))
                .unwrap_or_else(|| waiting_ready.clone());
            (phase, ready, previous.message.clone().unwrap_or_default())
        }
        (None, Some(ready)) => (Phase::Pending, ready.clone(), ready.message.clone()),
        (Some(condition), _) => (
            Phase::Failed,
            Desired::new(
                CONDITION_READY,
                false,
                condition.reason.clone(),
                condition.message.clone(),
            ),
            condition.message.clone(),
        ),
        (None, None) => {
            let telemetry = match (&telemetry_config, inline) {
                (Some(config), _) => Some(TelemetrySource::Ref {
                    config: &config.spec,
                    service_name: spec
                        .telemetry_config_ref
                        .as_ref()
                        .and_then(|r| r.service_name.as_deref()),
                }),
                (None, Some(inline)) => Some(TelemetrySource::Inline(inline)),
                (None, None) => None,
            };
            let inputs = ProxyInputs {
                name,
                namespace,
                spec,
                telemetry,
                webhooks: webhook_config.as_ref().map(|c| &c.spec),
                proxy_image: &ctx.settings.proxy_image,
            };
            let deployment = apply_children(server, &inputs, ctx).await?;
            if deployment_available(&deployment) {
                (
                    Phase::Ready,
                    Desired::new(
                        CONDITION_READY,
                        true,
                        "ProxyAvailable",
                        "the proxy Deployment is available",
                    ),
                    "the proxy is ready".to_string(),
                )
            } else {
                (
                    Phase::Pending,
                    Desired::new(
                        CONDITION_READY,
                        false,
                        "ProxyNotReady",
                        "waiting for the proxy Deployment to become available",
                    ),
                    "waiting for the proxy".to_string(),
                )
            }
        }
    };
    desired_conditions.insert(0, ready);

    let status = MCPServerStatus {
        phase: Some(phase),
        message: Some(message),
        conditions: conditions::reconcile(
            &previous.conditions,
            desired_conditions,
            generation,
            &conditions::now(),
        ),
        observed_generation: generation,
        telemetry_config_hash: if kept {
            previous.telemetry_config_hash.clone()
        } else {
            telemetry_config
                .as_ref()
                .and_then(|c| c.status().and_then(|s| s.config_hash.clone()))
        },
        webhook_config_hash: if kept {
            previous.webhook_config_hash.clone()
        } else {
            webhook_config
                .as_ref()
                .and_then(|c| c.status().and_then(|s| s.config_hash.clone()))
        },
        url: Some(resources::proxy_url(name, namespace, spec.proxy_port)),
    };
    let status_key = server.uid().unwrap_or_default();
    let cached_version = server.meta().resource_version.clone();
    let just_written = ctx
        .written_statuses
        .pending(&status_key, cached_version.as_deref())
        .is_some_and(|written| written == status);
    if status != previous && !just_written {
        let patch = json!({
            "apiVersion": MCPServer::api_version(&()),
            "kind": MCPServer::kind(&()),
            "status": status,
        });
        Api::<MCPServer>::namespaced(ctx.client.clone(), namespace)
            .patch_status(
                name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await?;
        ctx.written_statuses
            .record(status_key, cached_version, status);
        info!(phase = phase.as_str(), "status updated");
    }

    match (retry_error, waiting) {
        (Some(error), _) => Err(error),
        // The config's status change (its verdict) wakes this server: no polling.
        (None, Some(_)) => Ok(Action::await_change()),
        (None, None) => Ok(Action::requeue(Duration::from_secs(300))),
    }
}

/// Apply ConfigMap, Deployment and Service (each only when it differs from the cache) and
/// return the Deployment as it now is.
async fn apply_children(
    server: &MCPServer,
    inputs: &ProxyInputs<'_>,
    ctx: &Context,
) -> Result<Arc<Deployment>> {
    let owner = server
        .controller_owner_ref(&())
        .ok_or(Error::MissingField("metadata.uid"))?;
    let namespace = inputs.namespace;

    let configmap = resources::configmap::build(inputs, &owner)?;
    let checksum = resources::configmap::checksum(&configmap)?;
    let service = resources::service::build(inputs, &owner);
    let deployment = resources::deployment::build(inputs, &owner, &checksum);
    // One after the other: the ConfigMap exists before the Deployment whose Pods mount
    // it, and a failed write ends the reconcile before the next (it is retried whole).
    let (configmaps, services, deployments) = (
        Api::namespaced(ctx.client.clone(), namespace),
        Api::namespaced(ctx.client.clone(), namespace),
        Api::namespaced(ctx.client.clone(), namespace),
    );
    apply_if_changed(
        &configmaps,
        &ctx.configmaps,
        &ctx.written_configmaps,
        &configmap,
    )
    .await?;
    apply_if_changed(&services, &ctx.services, &ctx.written_services, &service).await?;
    let deployment = apply_if_changed(
        &deployments,
        &ctx.deployments,
        &ctx.written_deployments,
        &deployment,
    )
    .await?;
    Ok(deployment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::MCPTelemetryConfigSpec;
    use crate::controllers::fixtures::server;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

    fn config(generation: i64, hash: Option<&str>, valid: Option<&str>) -> MCPTelemetryConfig {
        let mut config = MCPTelemetryConfig::new("otel", MCPTelemetryConfigSpec::default());
        config.metadata.namespace = Some("a".into());
        config.metadata.uid = Some("uid-1".into());
        config.metadata.generation = Some(generation);
        config.status = Some(ConfigStatus {
            config_hash: hash.map(String::from),
            conditions: valid
                .map(|status| Condition {
                    type_: CONDITION_VALID.into(),
                    status: status.into(),
                    reason: "R".into(),
                    message: String::new(),
                    observed_generation: Some(generation),
                    last_transition_time: conditions::now(),
                })
                .into_iter()
                .collect(),
            ..Default::default()
        });
        config
    }

    #[test]
    fn deployment_fingerprint_ignores_rollout_progress_but_not_availability_or_drift() {
        let deployment = |generation: i64,
                          ready: i32,
                          available: &str,
                          label: &str|
         -> Deployment {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "d", "uid": "u", "generation": generation, "labels": {"a": label}},
                "status": {
                    "readyReplicas": ready,
                    "conditions": [{"type": "Available", "status": available}]
                }
            }))
            .expect("deployment")
        };
        let base = deployment_fingerprint(&deployment(1, 0, "False", "x"));
        assert_eq!(
            base,
            deployment_fingerprint(&deployment(1, 1, "False", "x"))
        );
        assert_ne!(base, deployment_fingerprint(&deployment(1, 1, "True", "x")));
        assert_ne!(
            base,
            deployment_fingerprint(&deployment(2, 0, "False", "x"))
        );
        assert_ne!(
            base,
            deployment_fingerprint(&deployment(1, 0, "False", "y"))
        );
    }

    #[test]
    fn fingerprint_ignores_referencing_servers_but_not_what_servers_use() {
        let base = config(1, Some("h1"), Some("True"));
        let mut listed = base.clone();
        if let Some(status) = listed.status.as_mut() {
            status.referencing_servers = vec!["fetch".into()];
        }
        assert_eq!(config_fingerprint(&base), config_fingerprint(&listed));
        assert_ne!(
            config_fingerprint(&base),
            config_fingerprint(&config(2, Some("h1"), Some("True")))
        );
        assert_ne!(
            config_fingerprint(&base),
            config_fingerprint(&config(1, Some("h2"), Some("True")))
        );
        assert_ne!(
            config_fingerprint(&base),
            config_fingerprint(&config(1, Some("h1"), Some("False")))
        );
        // The verdict catching up with the spec wakes the servers waiting for it.
        let mut stale = config(2, Some("h1"), Some("True"));
        let judged = stale.clone();
        if let Some(status) = stale.status.as_mut() {
            status.conditions[0].observed_generation = Some(1);
        }
        assert_ne!(config_fingerprint(&stale), config_fingerprint(&judged));
    }

    #[test]
    fn a_pending_reference_keeps_the_verdict_reached_for_the_same_server_spec() {
        let previous = conditions::reconcile(
            &[],
            vec![Desired::new(
                CONDITION_TELEMETRY_REF,
                true,
                "TelemetryConfigRefValid",
                "ok",
            )],
            Some(3),
            &conditions::now(),
        );
        let kept = pending_condition(
            &previous,
            Some(3),
            CONDITION_TELEMETRY_REF,
            "TelemetryConfigRef",
            "MCPTelemetryConfig",
            "otel",
        );
        assert_eq!(kept.status, Status::True);
        assert_eq!(kept.reason, "TelemetryConfigRefValid");
        // The server's spec changed since (its reference may have): no verdict yet.
        let fresh = pending_condition(
            &previous,
            Some(4),
            CONDITION_TELEMETRY_REF,
            "TelemetryConfigRef",
            "MCPTelemetryConfig",
            "otel",
        );
        assert_eq!(fresh.status, Status::Unknown);
        assert_eq!(fresh.reason, "TelemetryConfigRefPending");
        // First sight.
        let first = pending_condition(
            &[],
            Some(1),
            CONDITION_WEBHOOK_REF,
            "WebhookConfigRef",
            "MCPWebhookConfig",
            "hooks",
        );
        assert_eq!(first.status, Status::Unknown);
        assert_eq!(first.reason, "WebhookConfigRefPending");
    }

    #[test]
    fn config_events_map_to_referencing_servers_of_the_same_namespace() {
        let (servers, mut writer) = kube::runtime::reflector::store::<MCPServer>();
        for (ns, name, reference) in [
            ("a", "x", Some("otel")),
            ("a", "y", None),
            ("b", "z", Some("otel")),
        ] {
            writer.apply_watcher_event(&watcher::Event::Apply(server(ns, name, reference)));
        }
        let refs = servers_for_config(&config(1, None, None), &servers);
        assert_eq!(refs.len(), 1);
        assert_eq!(
            (refs[0].name.as_str(), refs[0].namespace.as_deref()),
            ("x", Some("a"))
        );
    }
}
