//! Scoped `$name` bindings.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::ClusterLookup;

/// An immutable, cheaply cloned chain of `$name → value` bindings.
///
/// `with` returns a child scope that shadows the parent, which stays untouched: the
/// engine derives config → scenario → step → operation scopes from each other, and an
/// assertion's `~index` / `->name` bindings live only in the subtree that made them.
/// A scope may also carry the [`ClusterLookup`] behind `x_k8s_*` functions.
#[derive(Clone, Default)]
pub struct Bindings {
    head: Option<Arc<Entry>>,
    cluster: Option<Arc<dyn ClusterLookup>>,
}

struct Entry {
    name: String,
    value: Value,
    parent: Option<Arc<Entry>>,
}

impl Bindings {
    /// An empty scope.
    pub fn new() -> Self {
        Self::default()
    }

    /// A child scope where `$name` is `value` (`name` with or without the `$`).
    #[must_use]
    pub fn with(&self, name: impl Into<String>, value: Value) -> Self {
        let name: String = name.into();
        let name = match name.strip_prefix('$') {
            Some(bare) => bare.to_string(),
            None => name,
        };
        Self {
            head: Some(Arc::new(Entry {
                name,
                value,
                parent: self.head.clone(),
            })),
            cluster: self.cluster.clone(),
        }
    }

    /// A scope with the same bindings whose `x_k8s_*` functions use `cluster`.
    #[must_use]
    pub fn with_cluster(&self, cluster: Arc<dyn ClusterLookup>) -> Self {
        Self {
            head: self.head.clone(),
            cluster: Some(cluster),
        }
    }

    /// The cluster lookup, if any.
    pub fn cluster(&self) -> Option<&Arc<dyn ClusterLookup>> {
        self.cluster.as_ref()
    }

    /// The innermost value bound to `name` (with or without the `$`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        let name = name.strip_prefix('$').unwrap_or(name);
        let mut cur = self.head.as_deref();
        while let Some(e) = cur {
            if e.name == name {
                return Some(&e.value);
            }
            cur = e.parent.as_deref();
        }
        None
    }

    /// Every visible binding (innermost wins), sorted by name.
    pub fn to_map(&self) -> serde_json::Map<String, Value> {
        let mut map = serde_json::Map::new();
        let mut cur = self.head.as_deref();
        while let Some(e) = cur {
            if !map.contains_key(&e.name) {
                map.insert(e.name.clone(), e.value.clone());
            }
            cur = e.parent.as_deref();
        }
        map
    }

    /// The bindings added on top of `base` (innermost wins), for exporting what a
    /// subtree bound.
    pub fn added_since(&self, base: &Bindings) -> Vec<(String, Value)> {
        let stop = base.head.as_ref().map(Arc::as_ptr);
        let mut out: Vec<(String, Value)> = Vec::new();
        let mut cur = self.head.as_ref();
        while let Some(e) = cur {
            if Some(Arc::as_ptr(e)) == stop {
                break;
            }
            if !out.iter().any(|(n, _)| n == &e.name) {
                out.push((e.name.clone(), e.value.clone()));
            }
            cur = e.parent.as_ref();
        }
        out.reverse();
        out
    }
}

impl fmt::Debug for Bindings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.to_map()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn child_scopes_shadow_without_touching_parents() {
        let root = Bindings::new().with("a", json!(1)).with("b", json!(2));
        let child = root.with("a", json!(10));
        assert_eq!(child.get("a"), Some(&json!(10)));
        assert_eq!(child.get("b"), Some(&json!(2)));
        assert_eq!(root.get("a"), Some(&json!(1)));
        assert_eq!(root.get("zz"), None);
        assert_eq!(root.get("$a"), Some(&json!(1)));
        assert_eq!(
            Bindings::new().with("$x", json!(3)).get("x"),
            Some(&json!(3))
        );
        assert_eq!(child.added_since(&root), vec![("a".to_string(), json!(10))]);
        assert_eq!(child.to_map().len(), 2);
    }
}
