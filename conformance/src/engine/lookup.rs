//! `x_k8s_get`, `x_k8s_list`, `x_k8s_exists`, `x_k8s_resource_exists` and
//! `x_k8s_server_version` for expressions: cluster reads answered
//! by a thread with a runtime of its own, so synchronous expression evaluation can
//! block on them from any runtime flavor without stalling the caller's executor.

use std::sync::Mutex;
use std::sync::mpsc;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::expr::ClusterLookup;
use crate::k8s::Resolver;
use crate::k8s::error::describe;

enum Query {
    Get(String, String, String, String),
    List(String, String, String),
    ResourceExists(String, String),
    ServerVersion,
}

type Reply = mpsc::Sender<Result<Value, String>>;

/// A [`ClusterLookup`] over a kubeconfig.
pub struct KubeLookup {
    tx: Mutex<mpsc::Sender<(Query, Reply)>>,
}

impl std::fmt::Debug for KubeLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubeLookup")
    }
}

impl KubeLookup {
    /// Starts the lookup thread with a client built from `config`.
    pub fn start(config: kube::Config) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<(Query, Reply)>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("kanon-lookup".into())
            .spawn(move || {
                let client = rt.block_on(async { kube::Client::try_from(config) });
                let Ok(client) = client else { return };
                let resolver = Resolver::new(client.clone());
                for (q, reply) in rx {
                    let answer = rt.block_on(answer(&client, &resolver, q));
                    let _ = reply.send(answer);
                }
            })?;
        Ok(Self { tx: Mutex::new(tx) })
    }

    fn ask(&self, q: Query) -> Result<Value, String> {
        let (reply, rx) = mpsc::channel();
        self.tx
            .lock()
            .map_err(|_| "lookup thread lock poisoned".to_string())?
            .send((q, reply))
            .map_err(|_| "the lookup thread is gone".to_string())?;
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .map_err(|_| "cluster lookup timed out".to_string())?
    }
}

async fn answer(client: &kube::Client, resolver: &Resolver, q: Query) -> Result<Value, String> {
    let (api_version, kind, namespace) = match &q {
        Query::Get(a, k, n, _) | Query::List(a, k, n) => (a, k, n),
        Query::ResourceExists(a, k) => return resource_exists(client, a, k).await,
        Query::ServerVersion => {
            let info = client.apiserver_version().await.map_err(|e| describe(&e))?;
            return serde_json::to_value(info).map_err(|e| e.to_string());
        }
    };
    let r = resolver
        .resolve(api_version, kind)
        .await
        .map_err(|e| e.to_string())?;
    let api: Api<DynamicObject> = if r.namespaced && !namespace.is_empty() {
        Api::namespaced_with(client.clone(), namespace, &r.resource)
    } else {
        Api::all_with(client.clone(), &r.resource)
    };
    let with_types = |o: DynamicObject| {
        let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.insert("apiVersion".into(), Value::String(api_version.clone()));
            m.insert("kind".into(), Value::String(kind.clone()));
        }
        v
    };
    match &q {
        Query::Get(_, _, _, name) => Ok(api
            .get_opt(name)
            .await
            .map_err(|e| describe(&e))?
            .map(with_types)
            .unwrap_or(Value::Null)),
        Query::List(..) => Ok(Value::Array(
            api.list(&ListParams::default())
                .await
                .map_err(|e| describe(&e))?
                .items
                .into_iter()
                .map(with_types)
                .collect(),
        )),
        // Answered before the kind is resolved.
        Query::ResourceExists(..) | Query::ServerVersion => Ok(Value::Null),
    }
}

/// Whether the discovery document of `api_version` lists `kind` (a group version the
/// server does not serve answers `false`, as in Chainsaw).
async fn resource_exists(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
) -> Result<Value, String> {
    let list = if api_version.contains('/') {
        client.list_api_group_resources(api_version).await
    } else {
        client.list_core_api_resources(api_version).await
    };
    match list {
        Ok(list) => Ok(Value::Bool(list.resources.iter().any(|r| r.kind == kind))),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Value::Bool(false)),
        Err(e) => Err(describe(&e)),
    }
}

impl ClusterLookup for KubeLookup {
    fn resource_exists(&self, api_version: &str, kind: &str) -> Result<bool, String> {
        Ok(self.ask(Query::ResourceExists(api_version.into(), kind.into()))? == Value::Bool(true))
    }

    fn server_version(&self) -> Result<Value, String> {
        self.ask(Query::ServerVersion)
    }

    fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, String> {
        let v = self.ask(Query::Get(
            api_version.into(),
            kind.into(),
            namespace.into(),
            name.into(),
        ))?;
        Ok((!v.is_null()).then_some(v))
    }

    fn list(&self, api_version: &str, kind: &str, namespace: &str) -> Result<Vec<Value>, String> {
        match self.ask(Query::List(
            api_version.into(),
            kind.into(),
            namespace.into(),
        ))? {
            Value::Array(items) => Ok(items),
            _ => Ok(Vec::new()),
        }
    }
}
