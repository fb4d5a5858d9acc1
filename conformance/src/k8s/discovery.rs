//! Resolving `apiVersion` / `kind` to an API resource, with a cache.

use std::collections::HashMap;
use std::sync::Mutex;

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
    /// The server does not serve this kind.
    #[error("the cluster does not serve kind {kind} in {api_version}: {detail}")]
    Unknown {
        /// The `apiVersion` asked for.
        api_version: String,
        /// The kind asked for.
        kind: String,
        /// The discovery error.
        detail: String,
    },
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
        let (resource, caps) =
            pinned_kind(&self.client, &gvk)
                .await
                .map_err(|e| ResolveError::Unknown {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    detail: e.to_string(),
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
