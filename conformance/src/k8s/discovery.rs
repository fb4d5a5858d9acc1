//! Resolving `apiVersion` / `kind`, or a `kubectl`-style resource name (`deployments`,
//! `deploy`, `deployment`, `deployments.apps`), to an API resource, with a cache.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};

/// A resolved kind: how to reach it and whether it lives in namespaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Group, version, kind, plural.
    pub resource: ApiResource,
    /// Namespaced (`true`) or cluster-scoped.
    pub namespaced: bool,
}

/// Errors resolving a kind.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// `apiVersion` is not `group/version` or `version`.
    #[error("invalid apiVersion {0:?}")]
    InvalidApiVersion(String),
    /// The server does not serve this kind: its group/version is unknown, or has no
    /// such kind.
    #[error("{}", unknown_kind_message(api_version, kind, *version_served))]
    Unknown {
        /// The `apiVersion` asked for.
        api_version: String,
        /// The kind asked for.
        kind: String,
        /// Whether the group/version is served (without this kind).
        version_served: bool,
    },
    /// Asking the discovery API about a kind failed.
    #[error("cannot look up kind {kind} in {api_version}: {detail}")]
    Lookup {
        /// The `apiVersion` asked for.
        api_version: String,
        /// The kind asked for.
        kind: String,
        /// The client error, in words.
        detail: String,
    },
    /// No served resource has this plural, singular or short name (or kind).
    #[error(
        "the cluster serves no resource named {name:?} (looked for a plural, singular or short name, or a kind{}); use apiVersion and kind, or check the spelling",
        group.as_deref().map(|g| format!(" in group {g:?}")).unwrap_or_default()
    )]
    UnknownResource {
        /// The name asked for.
        name: String,
        /// The group suffix asked for (`deployments.apps`), if any.
        group: Option<String>,
    },
    /// Listing the served resources failed.
    #[error("discovery failed: {0}")]
    Discovery(String),
}

/// Why `kind` of `api_version` is not served, and what to check: a group with a dot
/// that is not Kubernetes' own belongs to a custom resource, so the likely cause is its
/// CRD not being installed.
fn unknown_kind_message(api_version: &str, kind: &str, version_served: bool) -> String {
    let why = if version_served {
        format!("{api_version} has no such kind")
    } else {
        format!("it serves no {api_version} API")
    };
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let hint = if group.contains('.') && !group.ends_with(".k8s.io") {
        "is its CRD installed? Pass `--crds DIR`, or run with the suite file that installs \
         it (kanon.yaml in the working directory, or `--suite FILE`)"
    } else {
        "check the apiVersion and kind"
    };
    format!("the cluster does not serve kind {kind} ({api_version}): {why}; {hint}")
}

/// One group/version's resource list, as the discovery API returns it.
#[derive(Debug, Clone)]
pub struct ServedResources {
    /// The group (empty for the core group).
    pub group: String,
    /// The version.
    pub version: String,
    /// The resources.
    pub list: APIResourceList,
}

/// Finds the resource a `kubectl`-style name means among `served` (in priority order:
/// the core group first, each group's preferred version first), as `kubectl` does:
/// `NAME[.GROUP]` where NAME is a plural, singular or short name, or a kind
/// (case-insensitive). Subresources (`pods/log`) never match.
pub fn match_resource(served: &[ServedResources], query: &str) -> Option<Resolved> {
    let query = query.trim().to_ascii_lowercase();
    let (name, group) = match query.split_once('.') {
        Some((n, g)) => (n.to_string(), Some(g.to_string())),
        None => (query.clone(), None),
    };
    if name.is_empty() {
        return None;
    }
    let candidates = || {
        served
            .iter()
            .filter(|s| match &group {
                // `deployments.apps` or `deployments.v1.apps`.
                Some(g) => s.group == *g || format!("{}.{}", s.version, s.group) == *g,
                None => true,
            })
            .flat_map(|s| s.list.resources.iter().map(move |r| (s, r)))
            .filter(|(_, r)| !r.name.contains('/'))
    };
    let exact = |(_, r): &(
        &ServedResources,
        &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource,
    )| {
        r.name == name
            || r.singular_name.eq_ignore_ascii_case(&name)
            || r.short_names
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&name))
    };
    let found = candidates()
        .find(exact)
        .or_else(|| candidates().find(|(_, r)| r.kind.eq_ignore_ascii_case(&name)))?;
    let (s, r) = found;
    let gvk = GroupVersionKind::gvk(&s.group, &s.version, &r.kind);
    Some(Resolved {
        resource: ApiResource::from_gvk_with_plural(&gvk, &r.name),
        namespaced: r.namespaced,
    })
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> Result<(String, String), ResolveError> {
    let parts: Vec<&str> = api_version.split('/').collect();
    match parts.as_slice() {
        [v] if !v.is_empty() => Ok((String::new(), v.to_string())),
        [g, v] if !g.is_empty() && !v.is_empty() => Ok((g.to_string(), v.to_string())),
        _ => Err(ResolveError::InvalidApiVersion(api_version.to_string())),
    }
}

/// Resolves kinds through the discovery API, caching answers for the client's lifetime.
pub struct Resolver {
    client: kube::Client,
    cache: Mutex<HashMap<(String, String), Resolved>>,
    names: Mutex<HashMap<String, Resolved>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.cache.lock().map(|c| c.len()).unwrap_or(0);
        f.debug_struct("Resolver").field("cached", &n).finish()
    }
}

impl Resolver {
    /// A resolver over `client`.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
        }
    }

    /// The resource behind `api_version` + `kind`. Unknown kinds are asked for again
    /// each time (a CRD may have been installed since), known ones come from the cache.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, ResolveError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(hit);
        }
        let (group, version) = split_api_version(api_version)?;
        let gvk = GroupVersionKind::gvk(&group, &version, kind);
        let (resource, caps) = pinned_kind(&self.client, &gvk).await.map_err(|e| {
            let unknown = |version_served| ResolveError::Unknown {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                version_served,
            };
            match e {
                kube::Error::Api(s) if s.code == 404 => unknown(false),
                kube::Error::Discovery(kube::error::DiscoveryError::MissingKind(_)) => {
                    unknown(true)
                }
                e => ResolveError::Lookup {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    detail: super::error::describe(&e),
                },
            }
        })?;
        let resolved = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, resolved.clone());
        }
        Ok(resolved)
    }

    /// The resource behind a `kubectl`-style name (`deployments`, `deploy`,
    /// `deployment`, `Deployment`, `deployments.apps`), found through the discovery
    /// API (see [`match_resource`]). Known names come from the cache; unknown ones are
    /// looked up again each time, as a CRD may have been installed since.
    pub async fn resolve_resource(&self, name: &str) -> Result<Resolved, ResolveError> {
        if let Some(hit) = self.names.lock().ok().and_then(|c| c.get(name).cloned()) {
            return Ok(hit);
        }
        let served = self.served().await?;
        let resolved = match_resource(&served, name).ok_or_else(|| {
            let lower = name.trim().to_ascii_lowercase();
            let (n, g) = match lower.split_once('.') {
                Some((n, g)) => (n.to_string(), Some(g.to_string())),
                None => (lower, None),
            };
            ResolveError::UnknownResource { name: n, group: g }
        })?;
        if let Ok(mut c) = self.names.lock() {
            c.insert(name.to_string(), resolved.clone());
        }
        Ok(resolved)
    }

    /// Every served resource list: the core group, then each group's preferred version
    /// followed by its other versions.
    async fn served(&self) -> Result<Vec<ServedResources>, ResolveError> {
        let err = |e: kube::Error| ResolveError::Discovery(super::error::describe(&e));
        let mut out = Vec::new();
        let core = self.client.list_core_api_versions().await.map_err(err)?;
        for v in core.versions {
            let list = self.client.list_core_api_resources(&v).await.map_err(err)?;
            out.push(ServedResources {
                group: String::new(),
                version: v,
                list,
            });
        }
        let groups = self.client.list_api_groups().await.map_err(err)?;
        for g in groups.groups {
            let preferred = g
                .preferred_version
                .as_ref()
                .map(|p| p.group_version.clone());
            let mut versions: Vec<_> = g.versions.iter().map(|v| v.group_version.clone()).collect();
            versions.sort_by_key(|gv| Some(gv) != preferred.as_ref());
            for gv in versions {
                // A group version may vanish between the two calls (CRD deleted): skip it.
                let Ok(list) = self.client.list_api_group_resources(&gv).await else {
                    continue;
                };
                let version = gv.rsplit('/').next().unwrap_or_default().to_string();
                out.push(ServedResources {
                    group: g.name.clone(),
                    version,
                    list,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("v1", "", "v1")]
    #[case("apps/v1", "apps", "v1")]
    #[case("toolhive.stacklok.dev/v1alpha1", "toolhive.stacklok.dev", "v1alpha1")]
    fn api_versions_split(#[case] input: &str, #[case] group: &str, #[case] version: &str) {
        assert_eq!(
            split_api_version(input).unwrap(),
            (group.to_string(), version.to_string())
        );
    }

    fn res(name: &str, singular: &str, kind: &str, short: &[&str]) -> serde_json::Value {
        serde_json::json!({"name": name, "singularName": singular, "kind": kind,
            "namespaced": true, "verbs": ["get"], "shortNames": short})
    }

    fn served() -> Vec<ServedResources> {
        let list = |gv: &str, resources: Vec<serde_json::Value>| -> APIResourceList {
            serde_json::from_value(serde_json::json!({"groupVersion": gv, "resources": resources}))
                .unwrap()
        };
        vec![
            ServedResources {
                group: String::new(),
                version: "v1".into(),
                list: list(
                    "v1",
                    vec![
                        res("pods", "pod", "Pod", &["po"]),
                        res("pods/log", "", "Pod", &[]),
                        res("configmaps", "configmap", "ConfigMap", &["cm"]),
                        res("events", "event", "Event", &["ev"]),
                    ],
                ),
            },
            ServedResources {
                group: "apps".into(),
                version: "v1".into(),
                list: list(
                    "apps/v1",
                    vec![res("deployments", "deployment", "Deployment", &["deploy"])],
                ),
            },
            ServedResources {
                group: "events.k8s.io".into(),
                version: "v1".into(),
                list: list(
                    "events.k8s.io/v1",
                    vec![res("events", "event", "Event", &["ev"])],
                ),
            },
        ]
    }

    #[rstest]
    #[case("deployments", "apps/v1", "Deployment")]
    #[case("deploy", "apps/v1", "Deployment")]
    #[case("deployment", "apps/v1", "Deployment")]
    #[case("Deployment", "apps/v1", "Deployment")]
    #[case("deployments.apps", "apps/v1", "Deployment")]
    #[case("deployments.v1.apps", "apps/v1", "Deployment")]
    #[case("cm", "v1", "ConfigMap")]
    #[case("po", "v1", "Pod")]
    #[case("events", "v1", "Event")]
    #[case("events.events.k8s.io", "events.k8s.io/v1", "Event")]
    fn resource_names_resolve(#[case] query: &str, #[case] api_version: &str, #[case] kind: &str) {
        let r = match_resource(&served(), query).unwrap();
        assert_eq!(
            (r.resource.api_version.as_str(), r.resource.kind.as_str()),
            (api_version, kind),
            "{query}"
        );
        assert!(r.namespaced);
    }

    #[rstest]
    #[case("deploymnts")]
    #[case("log")]
    #[case("pods/log")]
    #[case("deployments.batch")]
    #[case("")]
    fn unknown_resource_names_do_not_resolve(#[case] query: &str) {
        assert!(match_resource(&served(), query).is_none(), "{query}");
    }

    #[rstest]
    #[case(
        "toolhive.stacklok.dev/v1alpha1",
        "MCPTelemetryConfig",
        false,
        "the cluster does not serve kind MCPTelemetryConfig (toolhive.stacklok.dev/v1alpha1): it serves no toolhive.stacklok.dev/v1alpha1 API; is its CRD installed? Pass `--crds DIR`, or run with the suite file that installs it (kanon.yaml in the working directory, or `--suite FILE`)"
    )]
    #[case(
        "apps/v1",
        "Deploymnt",
        true,
        "the cluster does not serve kind Deploymnt (apps/v1): apps/v1 has no such kind; check the apiVersion and kind"
    )]
    #[case("v1", "Pod", true, "(v1): v1 has no such kind; check the apiVersion")]
    #[case(
        "networking.k8s.io/v9",
        "Ingress",
        false,
        "no networking.k8s.io/v9 API; check"
    )]
    fn unknown_kinds_read_as_words(
        #[case] api_version: &str,
        #[case] kind: &str,
        #[case] version_served: bool,
        #[case] expected: &str,
    ) {
        let e = ResolveError::Unknown {
            api_version: api_version.into(),
            kind: kind.into(),
            version_served,
        };
        let text = e.to_string();
        assert!(text.contains(expected), "{text}");
    }

    #[rstest]
    #[case("")]
    #[case("a/b/c")]
    #[case("/v1")]
    #[case("apps/")]
    fn bad_api_versions_are_rejected(#[case] input: &str) {
        assert!(matches!(
            split_api_version(input),
            Err(ResolveError::InvalidApiVersion(_))
        ));
    }
}
