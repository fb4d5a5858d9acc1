//! Shared setup and wait helpers.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kanon::cluster::LocalCluster;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::OnceCell;

/// Deadline of every wait.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// Deadline of what the contract says happens "within seconds" (watch-driven).
pub const QUICK: Duration = Duration::from_secs(15);

/// A running operator on its own thread and runtime; dropping the stop sender ends it.
pub struct Operator {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Operator {
    /// Start the operator against `config` on a dedicated thread.
    pub fn start(config: kube::Config) -> Operator {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .try_init();
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mcp-operator".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("operator runtime");
                runtime.block_on(async move {
                    let client = Client::try_from(config).expect("operator client");
                    mcp_operator::run(client, async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("operator runs");
                });
            })
            .expect("operator thread");
        Operator {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stop the operator and wait for its thread.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

static SHARED_OPERATOR: OnceCell<()> = OnceCell::const_new();

/// The shared cluster with CRDs installed and the operator running; a client for the
/// caller's runtime.
pub async fn client() -> Client {
    let cluster = LocalCluster::shared().await.expect("local cluster starts");
    let client = cluster.client().await.expect("client");
    SHARED_OPERATOR
        .get_or_init(|| async {
            install_crds(&client).await;
            // Garbage collection of MCPServer children without the 30 s discovery resync.
            cluster
                .restart_controller_manager()
                .await
                .expect("controller manager restarts");
            // Runs until the process exits; the cluster is torn down then too.
            std::mem::forget(Operator::start(cluster.kube_config().clone()));
        })
        .await;
    client
}

/// Apply the operator's CRDs and wait until they are established.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in mcp_operator::api::crds() {
        let name = crd.metadata.name.clone().expect("crd name");
        crds.patch(
            &name,
            &PatchParams::apply("kanon-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("CRD applied");
        within(
            &format!("CRD {name} established"),
            await_condition(
                crds.clone(),
                &name,
                |crd: Option<&CustomResourceDefinition>| {
                    crd.and_then(|c| c.status.as_ref())
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| {
                            c.iter()
                                .any(|c| c.type_ == "Established" && c.status == "True")
                        })
                },
            ),
            DEADLINE,
        )
        .await
        .expect("watch works");
    }
}

/// Create namespace `name` (tests use one each).
pub async fn namespace(client: &Client, name: &str) -> String {
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
    name.to_string()
}

/// `f` within `deadline`, or a panic naming `what`.
pub async fn within<F: std::future::Future>(what: &str, f: F, deadline: Duration) -> F::Output {
    tokio::time::timeout(deadline, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {deadline:?}"))
}

/// Wait until object `name` satisfies `cond`; on timeout, panic showing the object.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    deadline: Duration,
    cond: impl Fn(Option<&K>) -> bool,
) where
    K: Resource + Clone + Debug + DeserializeOwned + Serialize + Send + 'static,
{
    let waited = tokio::time::timeout(deadline, await_condition(api.clone(), name, cond)).await;
    match waited {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => panic!("{what}: watch failed: {error}"),
        Err(_) => {
            let current = api.get_opt(name).await.ok().flatten();
            let shown = current
                .map(|o| serde_json::to_string_pretty(&o).unwrap_or_default())
                .unwrap_or_else(|| "<absent>".into());
            panic!("{what}: not within {deadline:?}; object {name} is now:\n{shown}");
        }
    }
}

/// Create a typed object from JSON.
pub async fn create<K>(api: &Api<K>, value: serde_json::Value) -> K
where
    K: Resource + Clone + Debug + DeserializeOwned + Serialize,
{
    let obj: K = serde_json::from_value(value).expect("valid object");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("object created")
}

/// Merge-patch an object.
pub async fn merge<K>(api: &Api<K>, name: &str, patch: serde_json::Value) -> K
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patched")
}

/// Wait for an Event with `reason` about object `regarding` in `ns`.
pub async fn wait_event(
    client: &Client,
    ns: &str,
    regarding: &str,
    reason: &str,
) -> k8s_openapi::api::events::v1::Event {
    use futures::TryStreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects();
    let mut stream = std::pin::pin!(stream);
    let found = within(
        &format!("Event {reason} about {regarding}"),
        async {
            while let Some(event) = stream.try_next().await.expect("event watch") {
                if event.reason.as_deref() == Some(reason)
                    && event.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(regarding)
                {
                    return Some(event);
                }
            }
            None
        },
        QUICK,
    )
    .await;
    found.expect("event stream ended")
}

/// All Events with `reason` about `regarding` in `ns` right now.
pub async fn events(
    client: &Client,
    ns: &str,
    regarding: &str,
    reason: &str,
) -> Vec<k8s_openapi::api::events::v1::Event> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    api.list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(regarding))
        .collect()
}
