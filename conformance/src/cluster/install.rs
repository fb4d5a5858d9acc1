//! `kanon cluster install`: builds the pinned control plane from the official Go modules.
//!
//! `k8s.io/kubernetes` cannot be `go install`ed directly: its `go.mod` replaces the
//! staging modules (`k8s.io/api`, `k8s.io/client-go`, ...) with local directories. kanon
//! writes a small wrapper module that requires `k8s.io/kubernetes` at the pinned release
//! and replaces every staging module with its published `v0.X.Y` twin, then builds the
//! three commands from it. etcd and kwok get a wrapper module each, so their dependency
//! graphs never mix with Kubernetes'. Versions are stamped with `-ldflags -X`, so
//! `/version` and `--version` report the real release.
//!
//! The Go build and module caches (`GOCACHE`, `GOMODCACHE`) are left at their defaults,
//! so a second install on the same machine reuses them; a component already in kanon's
//! cache is never rebuilt.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::ClusterError;
use super::assets::{
    self, Assets, Component, ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION, Location,
};

/// Oldest Go toolchain that builds the pinned releases (older ones fetch a newer
/// toolchain through the module proxy, which may not be reachable).
pub const MIN_GO: (u32, u32) = (1, 25);

/// How `install` reports progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstallOptions {
    /// Rebuild even when the binaries are already cached.
    pub force: bool,
    /// Print nothing but errors.
    pub quiet: bool,
}

/// A set of binaries built from one wrapper module.
struct BuildGroup {
    /// Directory name of the wrapper module.
    name: &'static str,
    components: &'static [Component],
}

const GROUPS: &[BuildGroup] = &[
    BuildGroup {
        name: "etcd",
        components: &[Component::Etcd],
    },
    BuildGroup {
        name: "kubernetes",
        components: &[
            Component::KubeApiserver,
            Component::KubeControllerManager,
            Component::KubeScheduler,
        ],
    },
    BuildGroup {
        name: "kwok",
        components: &[Component::Kwok],
    },
];

/// Makes sure every binary is available, building the missing ones into the cache.
/// Returns the resolved assets (environment overrides still win).
pub fn ensure_installed(opts: InstallOptions) -> Result<Assets, ClusterError> {
    if !opts.force
        && let Ok(assets) = assets::locate()
    {
        return Ok(assets);
    }
    install(opts)?;
    assets::locate().map_err(|missing| ClusterError::Install {
        step: "locate".into(),
        detail: format!(
            "still missing after install: {}",
            missing
                .iter()
                .map(|c| c.binary())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Builds every component missing from kanon's cache (all of them with `force`).
pub fn install(opts: InstallOptions) -> Result<(), ClusterError> {
    let root = assets::versioned_dir();
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| ClusterError::io(&bin, e))?;
    let _lock = DirLock::acquire(&root)?;

    let todo: Vec<&BuildGroup> = GROUPS
        .iter()
        .filter(|g| {
            opts.force
                || g.components
                    .iter()
                    .any(|c| !matches!(assets::locate_component(*c, &bin), Location::Cached(_)))
        })
        .collect();
    if todo.is_empty() {
        say(
            opts,
            &format!("control plane already installed in {}", bin.display()),
        );
        return Ok(());
    }
    let go = find_go()?;
    say(
        opts,
        &format!(
            "building the control plane (Kubernetes {KUBERNETES_VERSION}, etcd {ETCD_VERSION}, kwok {KWOK_VERSION}) with {} into {}; the first build takes several minutes",
            go.version,
            bin.display()
        ),
    );
    let started = Instant::now();
    for (i, group) in todo.iter().enumerate() {
        let names: Vec<&str> = group.components.iter().map(|c| c.binary()).collect();
        let label = format!("[{}/{}] {}", i + 1, todo.len(), names.join(", "));
        say(opts, &format!("{label}: preparing module"));
        let t = Instant::now();
        let module_dir = root.join("build").join(group.name);
        std::fs::create_dir_all(&module_dir).map_err(|e| ClusterError::io(&module_dir, e))?;
        let (go_mod, ldflags, packages) = match group.name {
            "kubernetes" => kubernetes_module(&go, &module_dir)?,
            "etcd" => etcd_module(),
            _ => kwok_module(),
        };
        write_file(&module_dir.join("go.mod"), &go_mod)?;
        let out_dir = module_dir.join("out");
        std::fs::create_dir_all(&out_dir).map_err(|e| ClusterError::io(&out_dir, e))?;
        go_build(
            &go,
            &module_dir,
            &out_dir,
            &ldflags,
            &packages,
            &label,
            opts,
        )?;
        for c in group.components {
            let built = out_dir.join(build_output_name(*c));
            let dest = bin.join(c.binary());
            std::fs::rename(&built, &dest).map_err(|e| ClusterError::io(&dest, e))?;
        }
        say(opts, &format!("{label}: built in {:.0?}", t.elapsed()));
    }
    write_file(
        &root.join("versions.txt"),
        &format!(
            "kubernetes {KUBERNETES_VERSION}\netcd {ETCD_VERSION}\nkwok {KWOK_VERSION}\ngo {}\n",
            go.version
        ),
    )?;
    say(
        opts,
        &format!("control plane installed in {:.0?}", started.elapsed()),
    );
    Ok(())
}

/// The file name `go build -o DIR/` gives a package's binary.
fn build_output_name(c: Component) -> &'static str {
    match c {
        // go.etcd.io/etcd/server/v3 builds as "v3"; kanon passes -o for it instead.
        Component::Etcd => "etcd",
        other => other.binary(),
    }
}

fn say(opts: InstallOptions, msg: &str) {
    if !opts.quiet {
        eprintln!("kanon: {msg}");
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), ClusterError> {
    std::fs::write(path, text).map_err(|e| ClusterError::io(path, e))
}

/// The Go toolchain found on PATH.
#[derive(Debug, Clone)]
pub struct GoToolchain {
    /// The `go` executable.
    pub program: PathBuf,
    /// e.g. `go1.26.8`.
    pub version: String,
}

/// Finds `go` (honouring `$GOROOT/bin`), checks it is new enough.
pub fn find_go() -> Result<GoToolchain, ClusterError> {
    let mut candidates = vec![PathBuf::from("go")];
    if let Some(root) = std::env::var_os("GOROOT") {
        candidates.push(PathBuf::from(root).join("bin").join("go"));
    }
    candidates.push(PathBuf::from("/usr/local/go/bin/go"));
    for program in candidates {
        let Ok(out) = Command::new(&program).arg("env").arg("GOVERSION").output() else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match parse_go_version(&version) {
            Some(v) if v >= MIN_GO => return Ok(GoToolchain { program, version }),
            _ => {
                return Err(ClusterError::GoMissing(format!(
                    "found {version} at {}, but building the control plane needs Go {}.{} or newer",
                    program.display(),
                    MIN_GO.0,
                    MIN_GO.1
                )));
            }
        }
    }
    Err(ClusterError::GoMissing(
        "no `go` command on PATH (nor in $GOROOT/bin or /usr/local/go/bin)".into(),
    ))
}

/// `go1.26.8` → `(1, 26)`.
pub fn parse_go_version(v: &str) -> Option<(u32, u32)> {
    let rest = v.trim().strip_prefix("go")?;
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// `v1.35.4` → `v0.35.4`, the staging modules' twin release.
pub fn staging_version(kubernetes: &str) -> String {
    match kubernetes.strip_prefix("v1.") {
        Some(rest) => format!("v0.{rest}"),
        None => kubernetes.to_string(),
    }
}

/// The staging replacements (`k8s.io/api => ./staging/src/k8s.io/api`) of an upstream
/// `go.mod`, as module paths.
pub fn staging_modules(upstream_go_mod: &str) -> Vec<String> {
    upstream_go_mod
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once("=>")?;
            let module = left.trim().trim_start_matches("replace").trim();
            right
                .trim()
                .starts_with("./staging/")
                .then(|| module.to_string())
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// The wrapper `go.mod` for Kubernetes, given the staging module list.
pub fn kubernetes_go_mod(staging: &[String], kubernetes: &str) -> String {
    let twin = staging_version(kubernetes);
    let mut s = format!(
        "// Generated by kanon: builds the Kubernetes control plane from the official modules.\nmodule kanon.local/controlplane/kubernetes\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes {kubernetes}\n\nreplace (\n"
    );
    for m in staging {
        s.push_str(&format!("\t{m} => {m} {twin}\n"));
    }
    s.push_str(")\n");
    s
}

fn kubernetes_ldflags(kubernetes: &str, commit: &str) -> String {
    let (major, minor) = kubernetes
        .trim_start_matches('v')
        .split_once('.')
        .map(|(a, b)| (a.to_string(), b.split('.').next().unwrap_or("").to_string()))
        .unwrap_or_default();
    let pkg = "k8s.io/component-base/version";
    let client_pkg = "k8s.io/client-go/pkg/version";
    let mut flags = vec!["-s".to_string(), "-w".to_string()];
    for p in [pkg, client_pkg] {
        flags.push(format!("-X {p}.gitVersion={kubernetes}"));
        flags.push(format!("-X {p}.gitMajor={major}"));
        flags.push(format!("-X {p}.gitMinor={minor}"));
        flags.push(format!("-X {p}.gitTreeState=clean"));
        if !commit.is_empty() {
            flags.push(format!("-X {p}.gitCommit={commit}"));
        }
    }
    flags.join(" ")
}

type ModulePlan = (String, String, Vec<String>);

fn kubernetes_module(go: &GoToolchain, module_dir: &Path) -> Result<ModulePlan, ClusterError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Download {
        go_mod: Option<String>,
        error: Option<String>,
        origin: Option<Origin>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Origin {
        hash: Option<String>,
    }
    let out = Command::new(&go.program)
        .args(["mod", "download", "-json"])
        .arg(format!("k8s.io/kubernetes@{KUBERNETES_VERSION}"))
        .current_dir(module_dir)
        .env("GOWORK", "off")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .map_err(|e| ClusterError::Install {
            step: "go mod download k8s.io/kubernetes".into(),
            detail: e.to_string(),
        })?;
    let dl: Download = serde_json::from_slice(&out.stdout).map_err(|e| ClusterError::Install {
        step: "go mod download k8s.io/kubernetes".into(),
        detail: format!(
            "{e}; go said: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    })?;
    if let Some(err) = dl.error {
        return Err(ClusterError::Install {
            step: "go mod download k8s.io/kubernetes".into(),
            detail: err,
        });
    }
    let go_mod_path = dl.go_mod.ok_or_else(|| ClusterError::Install {
        step: "go mod download k8s.io/kubernetes".into(),
        detail: "no go.mod reported".into(),
    })?;
    let upstream = std::fs::read_to_string(&go_mod_path)
        .map_err(|e| ClusterError::io(Path::new(&go_mod_path), e))?;
    let staging = staging_modules(&upstream);
    if staging.is_empty() {
        return Err(ClusterError::Install {
            step: "read k8s.io/kubernetes go.mod".into(),
            detail: "no staging replacements found".into(),
        });
    }
    let commit = dl.origin.and_then(|o| o.hash).unwrap_or_default();
    Ok((
        kubernetes_go_mod(&staging, KUBERNETES_VERSION),
        kubernetes_ldflags(KUBERNETES_VERSION, &commit),
        vec![
            "k8s.io/kubernetes/cmd/kube-apiserver".into(),
            "k8s.io/kubernetes/cmd/kube-controller-manager".into(),
            "k8s.io/kubernetes/cmd/kube-scheduler".into(),
        ],
    ))
}

fn etcd_module() -> ModulePlan {
    (
        format!(
            "// Generated by kanon.\nmodule kanon.local/controlplane/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"
        ),
        format!("-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA={ETCD_VERSION}"),
        vec!["go.etcd.io/etcd/server/v3".into()],
    )
}

fn kwok_module() -> ModulePlan {
    (
        format!(
            "// Generated by kanon.\nmodule kanon.local/controlplane/kwok\n\ngo 1.25.0\n\nrequire sigs.k8s.io/kwok {KWOK_VERSION}\n"
        ),
        format!("-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION}"),
        vec!["sigs.k8s.io/kwok/cmd/kwok".into()],
    )
}

/// Runs `go build`; on a terminal shows the package being compiled on one updating line.
fn go_build(
    go: &GoToolchain,
    module_dir: &Path,
    out_dir: &Path,
    ldflags: &str,
    packages: &[String],
    label: &str,
    opts: InstallOptions,
) -> Result<(), ClusterError> {
    let tty = !opts.quiet && std::io::stderr().is_terminal();
    let mut cmd = Command::new(&go.program);
    cmd.arg("build")
        .arg("-trimpath")
        .arg("-ldflags")
        .arg(ldflags);
    if packages.len() == 1 {
        // A single package: name the output file (etcd's package would build as "v3").
        let name = if packages[0].starts_with("go.etcd.io") {
            "etcd".to_string()
        } else {
            packages[0].rsplit('/').next().unwrap_or("out").to_string()
        };
        cmd.arg("-o").arg(out_dir.join(name));
    } else {
        cmd.arg("-o").arg(format!("{}/", out_dir.display()));
    }
    if tty {
        cmd.arg("-v");
    }
    cmd.args(packages)
        .current_dir(module_dir)
        .env("GOWORK", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("CGO_ENABLED", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| ClusterError::Install {
        step: format!("go build ({label})"),
        detail: e.to_string(),
    })?;
    let mut tail: Vec<String> = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        let mut count = 0usize;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tty && !line.starts_with("go: ") && !line.contains(' ') {
                count += 1;
                let mut short = line.clone();
                short.truncate(70);
                eprint!("\r\x1b[K{label}: {count} packages, {short}");
                let _ = std::io::stderr().flush();
            } else {
                tail.push(line);
                if tail.len() > 40 {
                    tail.remove(0);
                }
            }
        }
        if tty {
            eprint!("\r\x1b[K");
        }
    }
    let status = child.wait().map_err(|e| ClusterError::Install {
        step: format!("go build ({label})"),
        detail: e.to_string(),
    })?;
    if !status.success() {
        return Err(ClusterError::Install {
            step: format!("go build ({label})"),
            detail: format!("{status}\n{}", tail.join("\n")),
        });
    }
    Ok(())
}

/// An exclusive `flock` on `<dir>/.lock`, so two processes never build at once.
struct DirLock {
    _file: std::fs::File,
}

impl DirLock {
    fn acquire(dir: &Path) -> Result<Self, ClusterError> {
        use std::os::fd::AsRawFd;
        let path = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ClusterError::io(&path, e))?;
        // SAFETY: flock on a valid, owned file descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(ClusterError::io(&path, std::io::Error::last_os_error()));
        }
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_parse() {
        assert_eq!(parse_go_version("go1.26.8"), Some((1, 26)));
        assert_eq!(parse_go_version("go1.25rc1"), Some((1, 25)));
        assert_eq!(parse_go_version("devel"), None);
        assert!(parse_go_version("go1.24.3").unwrap() < MIN_GO);
    }

    #[test]
    fn staging_replacements_become_published_twins() {
        let upstream = "module k8s.io/kubernetes\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n\tgithub.com/x/y => github.com/x/y v1.0.0\n)\nreplace k8s.io/kms => ./staging/src/k8s.io/kms\n";
        let staging = staging_modules(upstream);
        assert_eq!(staging, ["k8s.io/api", "k8s.io/client-go", "k8s.io/kms"]);
        let go_mod = kubernetes_go_mod(&staging, "v1.35.4");
        assert!(go_mod.contains("require k8s.io/kubernetes v1.35.4"));
        assert!(go_mod.contains("\tk8s.io/api => k8s.io/api v0.35.4\n"));
        assert!(go_mod.contains("\tk8s.io/kms => k8s.io/kms v0.35.4\n"));
        assert!(!go_mod.contains("github.com/x/y"));
    }

    #[test]
    fn version_stamp_flags() {
        let flags = kubernetes_ldflags("v1.35.4", "abc");
        assert!(flags.contains("-X k8s.io/component-base/version.gitVersion=v1.35.4"));
        assert!(flags.contains("-X k8s.io/component-base/version.gitMajor=1"));
        assert!(flags.contains("-X k8s.io/component-base/version.gitMinor=35"));
        assert!(flags.contains("-X k8s.io/component-base/version.gitCommit=abc"));
        assert_eq!(staging_version("v1.35.4"), "v0.35.4");
    }
}
