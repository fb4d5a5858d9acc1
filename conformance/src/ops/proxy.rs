//! `proxy`: a GET through the API server's proxy subresource of a Service, Pod or Node.
//!
//! Chainsaw runs `kubectl get --raw /api/v1/namespaces/<ns>/<resource>/<name>:<port>/proxy/<path>`;
//! kanon sends the same request with the scenario's client, the resource name found by
//! discovery from `apiVersion` / `kind` (`/apis/<group>/<version>` for a kind outside
//! the core group, no `namespaces/<ns>` for a cluster-scoped kind such as Node). The
//! answer is what a command would have printed: the body on a 2xx answer, else an
//! error naming the request, the status code and the server's message.

use std::time::Duration;

use kube::core::ApiResource;

use super::{OpEnv, OpError};

/// What to proxy to, with every `(expr)` already evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySpec {
    /// `apiVersion` of the object (`v1`).
    pub api_version: String,
    /// `kind` of the object (`Service`, `Pod`, `Node`).
    pub kind: String,
    /// Namespace (`None`: the scenario's; ignored for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// Name of the object.
    pub name: String,
    /// Port name or number (`None`: the object's default port).
    pub port: Option<String>,
    /// Path on the target (`None`: `/`).
    pub path: Option<String>,
}

/// The answer of a proxied GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAnswer {
    /// The request path sent to the API server.
    pub url: String,
    /// The body of a 2xx answer (empty otherwise).
    pub body: String,
    /// Why it failed: `GET <url>: <code> <message>` (none on a 2xx answer).
    pub error: Option<String>,
    /// The server's message on failure (what `kubectl` prints on stderr).
    pub message: String,
}

/// The API server path of the proxy subresource of `name` (of kind `resource`), with
/// `port` and `path` on the target.
pub fn proxy_path(
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    port: Option<&str>,
    path: Option<&str>,
) -> String {
    let mut url = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    if let Some(ns) = namespace {
        url.push_str(&format!("/namespaces/{ns}"));
    }
    url.push_str(&format!("/{}/{name}", resource.plural));
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        url.push(':');
        url.push_str(p);
    }
    url.push_str("/proxy/");
    url.push_str(path.unwrap_or("").trim_start_matches('/'));
    url
}

/// Sends the GET `spec` describes through `env`'s cluster, within `timeout`. An answer
/// outside 2xx is an [`ProxyAnswer::error`], not an `Err`: like a failing command, it
/// is for `check` to judge. `Err` means the request could not be made (unknown kind,
/// no answer in time, a connection error).
pub async fn proxy(
    env: &OpEnv,
    spec: &ProxySpec,
    timeout: Duration,
) -> Result<ProxyAnswer, OpError> {
    if spec.name.is_empty() {
        return Err(OpError::InvalidObject(format!(
            "proxy to {}/{} without a name",
            spec.api_version, spec.kind
        )));
    }
    let target = env
        .kind_target(&spec.api_version, &spec.kind, spec.namespace.as_deref())
        .await?;
    let url = proxy_path(
        &target.resolved.resource,
        target.namespace.as_deref(),
        &spec.name,
        spec.port.as_deref(),
        spec.path.as_deref(),
    );
    let what = || match &target.namespace {
        Some(ns) => format!("{}/{} {ns}/{}", spec.api_version, spec.kind, spec.name),
        None => format!("{}/{} {}", spec.api_version, spec.kind, spec.name),
    };
    let request = http::Request::get(&url)
        .body(Vec::new())
        .map_err(|e| OpError::InvalidObject(format!("proxy to {}: {e}", what())))?;
    let answer = match tokio::time::timeout(timeout, env.client.request_text(request)).await {
        Err(_) => {
            return Err(OpError::Timeout {
                what: format!("proxy to {} (GET {url})", what()),
                timeout,
                last: None,
            });
        }
        Ok(a) => a,
    };
    Ok(match answer {
        Ok(body) => ProxyAnswer {
            url,
            body,
            error: None,
            message: String::new(),
        },
        Err(kube::Error::Api(status)) => {
            let message = status.message.trim().to_string();
            ProxyAnswer {
                error: Some(format!(
                    "proxy to {}: GET {url}: {}",
                    what(),
                    crate::k8s::error::describe_status(&status)
                )),
                url,
                body: String::new(),
                message,
            }
        }
        Err(e) => {
            let message = crate::k8s::error::describe(&e);
            ProxyAnswer {
                error: Some(format!("proxy to {}: GET {url}: {message}", what())),
                url,
                body: String::new(),
                message,
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resource(group: &str, version: &str, plural: &str) -> ApiResource {
        ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: if group.is_empty() {
                version.into()
            } else {
                format!("{group}/{version}")
            },
            kind: "X".into(),
            plural: plural.into(),
        }
    }

    #[test]
    fn paths_follow_kubectl_get_raw() {
        let svc = resource("", "v1", "services");
        assert_eq!(
            proxy_path(
                &svc,
                Some("default"),
                "kubernetes",
                Some("https"),
                Some("/version")
            ),
            "/api/v1/namespaces/default/services/kubernetes:https/proxy/version"
        );
        assert_eq!(
            proxy_path(&svc, Some("ns"), "web", None, None),
            "/api/v1/namespaces/ns/services/web/proxy/"
        );
        assert_eq!(
            proxy_path(&svc, Some("ns"), "web", Some("8080"), Some("metrics/")),
            "/api/v1/namespaces/ns/services/web:8080/proxy/metrics/"
        );
    }

    #[test]
    fn cluster_scoped_and_grouped_kinds_get_their_own_prefix() {
        let nodes = resource("", "v1", "nodes");
        assert_eq!(
            proxy_path(&nodes, None, "n1", Some("10250"), Some("/healthz")),
            "/api/v1/nodes/n1:10250/proxy/healthz"
        );
        let grouped = resource("example.com", "v1", "things");
        assert_eq!(
            proxy_path(&grouped, Some("ns"), "t", None, Some("/")),
            "/apis/example.com/v1/namespaces/ns/things/t/proxy/"
        );
    }
}
