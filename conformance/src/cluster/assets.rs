//! Where the control-plane binaries come from: envtest-style variables, or kanon's cache.
//!
//! Resolution per component, first hit wins:
//! 1. `TEST_ASSET_<COMPONENT>` (e.g. `TEST_ASSET_KUBE_APISERVER`), a path to the binary;
//! 2. `KUBEBUILDER_ASSETS/<binary>`, the envtest directory convention;
//! 3. kanon's versioned cache, filled by `kanon cluster install`.

use std::path::{Path, PathBuf};

/// The pinned Kubernetes release built from `k8s.io/kubernetes`.
pub const KUBERNETES_VERSION: &str = "v1.35.4";
/// The pinned etcd release built from `go.etcd.io/etcd/server/v3`.
pub const ETCD_VERSION: &str = "v3.6.16";
/// The pinned kwok release built from `sigs.k8s.io/kwok`.
pub const KWOK_VERSION: &str = "v0.7.0";

/// One control-plane program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// etcd, the API server's storage.
    Etcd,
    /// kube-apiserver.
    KubeApiserver,
    /// kube-controller-manager (garbage collector, namespace, deployment ... controllers).
    KubeControllerManager,
    /// kube-scheduler.
    KubeScheduler,
    /// kwok, which plays the kubelet for fake nodes.
    Kwok,
}

impl Component {
    /// Every component, in start order.
    pub const ALL: [Component; 5] = [
        Component::Etcd,
        Component::KubeApiserver,
        Component::KubeControllerManager,
        Component::KubeScheduler,
        Component::Kwok,
    ];

    /// The binary's file name.
    pub fn binary(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::KubeApiserver => "kube-apiserver",
            Component::KubeControllerManager => "kube-controller-manager",
            Component::KubeScheduler => "kube-scheduler",
            Component::Kwok => "kwok",
        }
    }

    /// The envtest-style variable that names this binary directly.
    pub fn env_var(self) -> &'static str {
        match self {
            Component::Etcd => "TEST_ASSET_ETCD",
            Component::KubeApiserver => "TEST_ASSET_KUBE_APISERVER",
            Component::KubeControllerManager => "TEST_ASSET_KUBE_CONTROLLER_MANAGER",
            Component::KubeScheduler => "TEST_ASSET_KUBE_SCHEDULER",
            Component::Kwok => "TEST_ASSET_KWOK",
        }
    }

    /// The pinned version this component is built at.
    pub fn version(self) -> &'static str {
        match self {
            Component::Etcd => ETCD_VERSION,
            Component::Kwok => KWOK_VERSION,
            _ => KUBERNETES_VERSION,
        }
    }
}

/// Resolved paths of every control-plane binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assets {
    /// etcd.
    pub etcd: PathBuf,
    /// kube-apiserver.
    pub kube_apiserver: PathBuf,
    /// kube-controller-manager.
    pub kube_controller_manager: PathBuf,
    /// kube-scheduler.
    pub kube_scheduler: PathBuf,
    /// kwok.
    pub kwok: PathBuf,
}

impl Assets {
    /// The path of one component.
    pub fn path(&self, c: Component) -> &Path {
        match c {
            Component::Etcd => &self.etcd,
            Component::KubeApiserver => &self.kube_apiserver,
            Component::KubeControllerManager => &self.kube_controller_manager,
            Component::KubeScheduler => &self.kube_scheduler,
            Component::Kwok => &self.kwok,
        }
    }
}

/// The root of kanon's cache: `$KANON_CACHE_DIR`, else `$XDG_CACHE_HOME/kanon`, else
/// `$HOME/.cache/kanon`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = non_empty_env("KANON_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = non_empty_env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty_env("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kanon")
}

/// The versioned directory the pinned binaries are installed into.
pub fn versioned_dir() -> PathBuf {
    cache_root().join("controlplane").join(format!(
        "k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}"
    ))
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Where one component would be found, and whether it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Named by an environment variable (and present).
    FromEnv(PathBuf),
    /// In kanon's cache (and present).
    Cached(PathBuf),
    /// Not found; the cache path it would be built to.
    Missing(PathBuf),
}

/// Looks one component up in the process environment (see the module docs for the order).
pub fn locate_component(c: Component, cache_bin: &Path) -> Location {
    locate_component_with(c, cache_bin, non_empty_env)
}

/// Looks one component up with `env` as the environment (pure but for file checks).
pub fn locate_component_with(
    c: Component,
    cache_bin: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Location {
    if let Some(p) = env(c.env_var()).map(PathBuf::from)
        && p.is_file()
    {
        return Location::FromEnv(p);
    }
    if let Some(dir) = env("KUBEBUILDER_ASSETS") {
        let p = Path::new(&dir).join(c.binary());
        if p.is_file() {
            return Location::FromEnv(p);
        }
    }
    let p = cache_bin.join(c.binary());
    if p.is_file() {
        Location::Cached(p)
    } else {
        Location::Missing(p)
    }
}

/// Resolves every component; `Err` lists the missing ones.
pub fn locate() -> Result<Assets, Vec<Component>> {
    let bin = versioned_dir().join("bin");
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for c in Component::ALL {
        match locate_component(c, &bin) {
            Location::FromEnv(p) | Location::Cached(p) => found.push(p),
            Location::Missing(p) => {
                missing.push(c);
                found.push(p);
            }
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut it = found.into_iter();
    let mut next = || it.next().unwrap_or_default();
    Ok(Assets {
        etcd: next(),
        kube_apiserver: next(),
        kube_controller_manager: next(),
        kube_scheduler: next(),
        kwok: next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_is_versioned() {
        let dir = versioned_dir();
        let s = dir.to_string_lossy();
        assert!(
            s.contains(KUBERNETES_VERSION) && s.contains(ETCD_VERSION) && s.contains(KWOK_VERSION)
        );
    }

    #[test]
    fn resolution_order_env_then_kubebuilder_then_cache() {
        let cache = tempfile::tempdir().unwrap();
        let kb = tempfile::tempdir().unwrap();
        let direct = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        assert_eq!(
            locate_component_with(Component::Kwok, cache.path(), none),
            Location::Missing(cache.path().join("kwok"))
        );
        std::fs::write(cache.path().join("kwok"), b"").unwrap();
        assert_eq!(
            locate_component_with(Component::Kwok, cache.path(), none),
            Location::Cached(cache.path().join("kwok"))
        );
        std::fs::write(kb.path().join("kwok"), b"").unwrap();
        let kb_dir = kb.path().to_string_lossy().to_string();
        let with_kb = |k: &str| (k == "KUBEBUILDER_ASSETS").then(|| kb_dir.clone());
        assert_eq!(
            locate_component_with(Component::Kwok, cache.path(), with_kb),
            Location::FromEnv(kb.path().join("kwok"))
        );
        let bin = direct.path().join("my-kwok");
        std::fs::write(&bin, b"").unwrap();
        let bin_s = bin.to_string_lossy().to_string();
        let both = |k: &str| match k {
            "TEST_ASSET_KWOK" => Some(bin_s.clone()),
            "KUBEBUILDER_ASSETS" => Some(kb_dir.clone()),
            _ => None,
        };
        assert_eq!(
            locate_component_with(Component::Kwok, cache.path(), both),
            Location::FromEnv(bin.clone())
        );
        // A variable naming a file that does not exist falls through.
        let dangling = |k: &str| (k == "TEST_ASSET_KWOK").then(|| "/nonexistent/kwok".to_string());
        assert_eq!(
            locate_component_with(Component::Kwok, cache.path(), dangling),
            Location::Cached(cache.path().join("kwok"))
        );
    }
}
