//! The local provider: a real upstream control plane run as child processes on loopback.
//!
//! etcd, kube-apiserver (RBAC, service-account keys, generated PKI), kube-controller-manager,
//! kube-scheduler and kwok (one fake node, so Pods run and Deployments become Available)
//! start on random free loopback ports with their data in a temp dir. The handle owns
//! them: dropping it, a panic that unwinds through it, process exit, or (unless disabled)
//! SIGINT/SIGTERM stop every process and remove the temp dir.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::runtime::wait::await_condition;
use tokio::sync::OnceCell;

use super::assets::{Assets, Component};
use super::install::{InstallOptions, ensure_installed};
use super::pki::ClusterPki;
use super::probe::HealthProbe;
use super::process::{self, Cleanup, Supervised};
use super::{ClusterError, kubeconfig};

/// Name of the fake node kwok manages.
pub const NODE_NAME: &str = "kanon-node-0";
/// How long components get to exit on SIGTERM before SIGKILL. Their data is thrown
/// away, so there is nothing to flush; the grace only lets them exit quietly.
const TEARDOWN_GRACE: Duration = Duration::from_millis(300);
/// Prefix of the temp dirs local clusters live in (`<prefix><pid>-<random>`).
const DIR_PREFIX: &str = "kanon-local-";

/// How to start a local cluster.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Deadline for the API server to report ready.
    pub api_ready_timeout: Duration,
    /// Deadline, after the API is ready, for the node and controllers to be usable.
    pub nodes_ready_timeout: Duration,
    /// Install SIGINT/SIGTERM handlers that tear the cluster down before the process
    /// dies. Off for programs that handle signals themselves (the `kanon` CLI).
    pub signal_teardown: bool,
    /// Options for building missing binaries.
    pub install: InstallOptions,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            api_ready_timeout: Duration::from_secs(60),
            nodes_ready_timeout: Duration::from_secs(60),
            signal_teardown: true,
            install: InstallOptions::default(),
        }
    }
}

/// How long each startup phase took, measured from the call to `start`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartupTimings {
    /// Until the binaries were resolved (includes a build when they were missing).
    pub assets: Duration,
    /// Until `/readyz` answered `ok`.
    pub api_ready: Duration,
    /// Until the fake node was Ready and the controllers had made the default service account.
    pub ready: Duration,
}

/// Loopback ports of one cluster.
#[derive(Debug, Clone, Copy)]
struct Ports {
    etcd_client: u16,
    etcd_peer: u16,
    apiserver: u16,
    controller_manager: u16,
    scheduler: u16,
}

/// A running local control plane. See the module docs.
#[derive(Debug)]
pub struct LocalCluster {
    dir: PathBuf,
    kubeconfig_path: PathBuf,
    config: kube::Config,
    assets: Assets,
    apiserver_args: Vec<String>,
    controller_manager_args: Vec<String>,
    procs: Mutex<Vec<Supervised>>,
    registry_id: u64,
    timings: StartupTimings,
    probe: HealthProbe,
}

impl LocalCluster {
    /// Starts a cluster with default options.
    pub async fn start() -> Result<Self, ClusterError> {
        Self::start_with(LocalOptions::default()).await
    }

    /// One cluster per process, started on first use on a runtime of its own (so it
    /// outlives the caller's runtime, e.g. a `#[tokio::test]`) and torn down at exit.
    pub async fn shared() -> Result<&'static LocalCluster, ClusterError> {
        static SHARED: OnceCell<LocalCluster> = OnceCell::const_new();
        SHARED
            .get_or_try_init(|| async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::Builder::new()
                    .name("kanon-shared-cluster".into())
                    .spawn(move || {
                        let result = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(|e| ClusterError::io(Path::new("tokio runtime"), e))
                            .and_then(|rt| rt.block_on(LocalCluster::start()));
                        let _ = tx.send(result);
                    })
                    .map_err(|e| ClusterError::io(Path::new("thread"), e))?;
                rx.await.map_err(|_| ClusterError::NotReady {
                    what: "shared cluster".into(),
                    component: "kanon".into(),
                    timeout: Duration::ZERO,
                    log: "the startup thread ended without an answer".into(),
                })?
            })
            .await
    }

    /// Starts a cluster. Builds missing binaries first (see `kanon cluster install`).
    pub async fn start_with(opts: LocalOptions) -> Result<Self, ClusterError> {
        let t0 = Instant::now();
        if opts.signal_teardown {
            process::install_signal_teardown();
        }
        let install = opts.install;
        let assets = tokio::task::spawn_blocking(move || {
            sweep_stale_dirs();
            ensure_installed(install)
        })
        .await
        .map_err(|e| ClusterError::Install {
            step: "install".into(),
            detail: e.to_string(),
        })??;
        let assets_done = t0.elapsed();

        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| ClusterError::io(&std::env::temp_dir(), e))?
            .keep();
        let registry_id = process::register(Cleanup {
            pids: vec![],
            dir: Some(dir.clone()),
        });
        // From here on, an early return must undo what was made.
        let mut guard = StartGuard {
            registry_id,
            dir: dir.clone(),
            procs: Vec::new(),
            armed: true,
        };

        let pki = ClusterPki::generate()?;
        let files = write_pki(&dir, &pki)?;
        let ports = free_ports()?;
        let server = format!("https://127.0.0.1:{}", ports.apiserver);
        let kubeconfig_path = dir.join("kubeconfig");
        kubeconfig::write_private(
            &kubeconfig_path,
            &kubeconfig::render(
                "kanon-local",
                &server,
                &pki.ca_cert,
                &pki.admin_cert,
                &pki.admin_key,
            ),
        )?;
        let config = kubeconfig::load(&kubeconfig_path, None).await?;

        let etcd_args = etcd_args(&dir, &ports);
        let apiserver_args = apiserver_args(&dir, &files, &ports);
        guard.spawn(&assets, Component::Etcd, &etcd_args)?;
        guard.spawn(&assets, Component::KubeApiserver, &apiserver_args)?;
        let probe = HealthProbe::new(ports.apiserver, &pki.ca_cert)?;
        wait_api_ready(&probe, &mut guard.procs, opts.api_ready_timeout).await?;
        let client = kube::Client::try_from(config.clone())?;
        let api_ready = t0.elapsed();

        let kubeconfig_s = kubeconfig_path.to_string_lossy().to_string();
        let controller_manager_args = controller_manager_args(&kubeconfig_s, &files, &ports);
        guard.spawn(
            &assets,
            Component::KubeControllerManager,
            &controller_manager_args,
        )?;
        guard.spawn(
            &assets,
            Component::KubeScheduler,
            &scheduler_args(&kubeconfig_s, &ports),
        )?;
        let kwok_config = dir.join("kwok.yaml");
        std::fs::write(&kwok_config, KWOK_CONFIG).map_err(|e| ClusterError::io(&kwok_config, e))?;
        guard.spawn(
            &assets,
            Component::Kwok,
            &kwok_args(&kubeconfig_s, &kwok_config.to_string_lossy()),
        )?;
        create_fake_node(&client).await?;
        wait_usable(&client, &mut guard.procs, opts.nodes_ready_timeout).await?;
        let ready = t0.elapsed();

        let procs = guard.disarm();
        tracing::info!(
            server,
            api_ready_ms = api_ready.as_millis() as u64,
            ready_ms = ready.as_millis() as u64,
            "local cluster ready"
        );
        Ok(Self {
            dir,
            kubeconfig_path,
            config,
            assets,
            apiserver_args,
            controller_manager_args,
            procs: Mutex::new(procs),
            registry_id,
            probe,
            timings: StartupTimings {
                assets: assets_done,
                api_ready,
                ready,
            },
        })
    }

    /// A new client bound to the current tokio runtime.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        Ok(crate::k8s::warnings::client(self.config.clone())?)
    }

    /// The client configuration (admin credentials).
    pub fn kube_config(&self) -> &kube::Config {
        &self.config
    }

    /// Path of the admin kubeconfig (inside the cluster's temp dir).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The temp dir holding data, certificates and component logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The API server URL.
    pub fn server_url(&self) -> String {
        self.config.cluster_url.to_string()
    }

    /// How long startup took.
    pub fn timings(&self) -> StartupTimings {
        self.timings
    }

    /// Process ids of the running components, by name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.procs
            .lock()
            .map(|p| p.iter().map(|s| (s.name().to_string(), s.pid())).collect())
            .unwrap_or_default()
    }

    /// The log file of each component.
    pub fn logs(&self) -> Vec<(String, PathBuf)> {
        self.procs
            .lock()
            .map(|p| {
                p.iter()
                    .map(|s| (s.name().to_string(), s.log_path().to_path_buf()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops the API server and starts it again on the same port and storage, then waits
    /// until it is ready. Clients reconnect by themselves; watches resume.
    pub async fn restart_apiserver(&self) -> Result<(), ClusterError> {
        let mut fresh = self
            .respawn(Component::KubeApiserver, &self.apiserver_args)
            .await?;
        let ready = wait_api_ready(&self.probe, &mut fresh, Duration::from_secs(60)).await;
        self.adopt(fresh)?;
        ready
    }

    /// Restarts kube-controller-manager, so that its garbage collector knows resource
    /// kinds added since it started at once rather than at its next 30-second discovery
    /// resync: call it after installing CRDs whose objects own others.
    pub async fn restart_controller_manager(&self) -> Result<(), ClusterError> {
        let fresh = self
            .respawn(
                Component::KubeControllerManager,
                &self.controller_manager_args,
            )
            .await?;
        self.adopt(fresh)
    }

    /// Stops `component` (SIGTERM, then SIGKILL) and starts it again with `args`.
    async fn respawn(
        &self,
        component: Component,
        args: &[String],
    ) -> Result<Vec<Supervised>, ClusterError> {
        let old = {
            let mut procs = self.procs.lock().map_err(|_| poisoned())?;
            let idx = procs.iter().position(|p| p.name() == component.binary());
            idx.map(|i| procs.remove(i))
        };
        if let Some(mut old) = old {
            tokio::task::spawn_blocking(move || {
                process::stop_all(std::slice::from_mut(&mut old), Duration::from_secs(5))
            })
            .await
            .map_err(|e| {
                ClusterError::io(Path::new(component.binary()), std::io::Error::other(e))
            })?;
        }
        let log = self.dir.join(format!("{}.log", component.binary()));
        let restarted =
            Supervised::spawn(component.binary(), self.assets.path(component), args, &log)?;
        Ok(vec![restarted])
    }

    /// Puts restarted processes back into the table the teardown and the exit hooks use.
    fn adopt(&self, fresh: Vec<Supervised>) -> Result<(), ClusterError> {
        let mut procs = self.procs.lock().map_err(|_| poisoned())?;
        procs.extend(fresh);
        process::update(
            self.registry_id,
            Cleanup {
                pids: procs.iter().map(Supervised::pid).collect(),
                dir: Some(self.dir.clone()),
            },
        );
        Ok(())
    }

    /// Stops every component and removes the temp dir; what `drop` does, with the time it took.
    pub fn teardown(self) -> Duration {
        let t = Instant::now();
        drop(self);
        t.elapsed()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if let Ok(mut procs) = self.procs.lock() {
            process::stop_all(&mut procs, TEARDOWN_GRACE);
            procs.clear();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        process::deregister(self.registry_id);
    }
}

fn poisoned() -> ClusterError {
    ClusterError::io(
        Path::new("process table"),
        std::io::Error::other("lock poisoned"),
    )
}

/// Undoes a half-done start unless disarmed.
struct StartGuard {
    registry_id: u64,
    dir: PathBuf,
    procs: Vec<Supervised>,
    armed: bool,
}

impl StartGuard {
    fn spawn(
        &mut self,
        assets: &Assets,
        c: Component,
        args: &[String],
    ) -> Result<(), ClusterError> {
        let log = self.dir.join(format!("{}.log", c.binary()));
        let p = Supervised::spawn(c.binary(), assets.path(c), args, &log)?;
        self.procs.push(p);
        process::update(
            self.registry_id,
            Cleanup {
                pids: self.procs.iter().map(Supervised::pid).collect(),
                dir: Some(self.dir.clone()),
            },
        );
        Ok(())
    }

    fn disarm(mut self) -> Vec<Supervised> {
        self.armed = false;
        std::mem::take(&mut self.procs)
    }
}

impl Drop for StartGuard {
    fn drop(&mut self) {
        if self.armed {
            process::stop_all(&mut self.procs, Duration::from_millis(500));
            self.procs.clear();
            let _ = std::fs::remove_dir_all(&self.dir);
            process::deregister(self.registry_id);
        }
    }
}

/// Paths of the PKI files inside the cluster dir.
struct PkiFiles {
    ca_cert: String,
    ca_key: String,
    serving_cert: String,
    serving_key: String,
    sa_key: String,
    sa_pub: String,
}

fn write_pki(dir: &Path, pki: &ClusterPki) -> Result<PkiFiles, ClusterError> {
    let write = |name: &str, text: &str| -> Result<String, ClusterError> {
        let p = dir.join(name);
        kubeconfig::write_private(&p, text)?;
        Ok(p.to_string_lossy().to_string())
    };
    Ok(PkiFiles {
        ca_cert: write("ca.crt", &pki.ca_cert)?,
        ca_key: write("ca.key", &pki.ca_key)?,
        serving_cert: write("apiserver.crt", &pki.serving_cert)?,
        serving_key: write("apiserver.key", &pki.serving_key)?,
        sa_key: write("sa.key", &pki.sa_key)?,
        sa_pub: write("sa.pub", &pki.sa_pub)?,
    })
}

/// Picks distinct free loopback ports (held open together so they differ).
fn free_ports() -> Result<Ports, ClusterError> {
    let listeners: Vec<std::net::TcpListener> = (0..5)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
        .collect::<Result<_, _>>()
        .map_err(|e| ClusterError::io(Path::new("127.0.0.1:0"), e))?;
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| ClusterError::io(Path::new("127.0.0.1:0"), e))?;
    Ok(Ports {
        etcd_client: ports[0],
        etcd_peer: ports[1],
        apiserver: ports[2],
        controller_manager: ports[3],
        scheduler: ports[4],
    })
}

fn etcd_args(dir: &Path, p: &Ports) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", p.etcd_client);
    let peer = format!("http://127.0.0.1:{}", p.etcd_peer);
    vec![
        format!("--data-dir={}", dir.join("etcd").display()),
        "--name=kanon".into(),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=kanon={peer}"),
        "--unsafe-no-fsync=true".into(),
        "--log-level=warn".into(),
    ]
}

fn apiserver_args(dir: &Path, f: &PkiFiles, p: &Ports) -> Vec<String> {
    vec![
        format!("--etcd-servers=http://127.0.0.1:{}", p.etcd_client),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={}", p.apiserver),
        format!("--cert-dir={}", dir.join("apiserver-certs").display()),
        format!("--tls-cert-file={}", f.serving_cert),
        format!("--tls-private-key-file={}", f.serving_key),
        format!("--client-ca-file={}", f.ca_cert),
        "--authorization-mode=RBAC".into(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-key-file={}", f.sa_pub),
        format!("--service-account-signing-key-file={}", f.sa_key),
        // Room for thousands of Services (scale tests); 10.0.0.1 stays the API service IP.
        "--service-cluster-ip-range=10.0.0.0/16".into(),
        "--allow-privileged=true".into(),
        // Endpoints may not hold loopback addresses; nothing routes to the service anyway.
        "--endpoint-reconciler-type=none".into(),
        "--profiling=false".into(),
        "--v=1".into(),
    ]
}

fn controller_manager_args(kubeconfig: &str, f: &PkiFiles, p: &Ports) -> Vec<String> {
    vec![
        format!("--kubeconfig={kubeconfig}"),
        format!("--authentication-kubeconfig={kubeconfig}"),
        format!("--authorization-kubeconfig={kubeconfig}"),
        "--leader-elect=false".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", p.controller_manager),
        format!(
            "--cert-dir={}",
            Path::new(&f.ca_cert).with_file_name("kcm-certs").display()
        ),
        format!("--service-account-private-key-file={}", f.sa_key),
        format!("--root-ca-file={}", f.ca_cert),
        format!("--cluster-signing-cert-file={}", f.ca_cert),
        format!("--cluster-signing-key-file={}", f.ca_key),
        "--controllers=*".into(),
        "--use-service-account-credentials=false".into(),
        "--v=1".into(),
    ]
}

fn scheduler_args(kubeconfig: &str, p: &Ports) -> Vec<String> {
    vec![
        format!("--kubeconfig={kubeconfig}"),
        format!("--authentication-kubeconfig={kubeconfig}"),
        format!("--authorization-kubeconfig={kubeconfig}"),
        "--leader-elect=false".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", p.scheduler),
        "--v=1".into(),
    ]
}

/// kwok's own configuration: just enough that a user's `~/.kwok/kwok.yaml` is not read;
/// the built-in fast node and pod stages apply.
const KWOK_CONFIG: &str = "apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options: {}
";

fn kwok_args(kubeconfig: &str, config: &str) -> Vec<String> {
    vec![
        format!("--kubeconfig={kubeconfig}"),
        format!("--config={config}"),
        "--manage-all-nodes=false".into(),
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake".into(),
        "--node-lease-duration-seconds=40".into(),
        "--cidr=10.244.0.0/16".into(),
    ]
}

/// Polls `/readyz` until it answers `ok` (there is nothing to watch before the API is
/// up), failing fast when a component exits.
async fn wait_api_ready(
    probe: &HealthProbe,
    procs: &mut [Supervised],
    timeout: Duration,
) -> Result<(), ClusterError> {
    let deadline = Instant::now() + timeout;
    loop {
        check_alive(procs)?;
        if probe.ready("/readyz").await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(not_ready(procs, "kube-apiserver /readyz", timeout));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn check_alive(procs: &mut [Supervised]) -> Result<(), ClusterError> {
    for p in procs.iter_mut() {
        if let Some(status) = p.exited() {
            return Err(ClusterError::Exited {
                component: p.name().to_string(),
                status: status.to_string(),
                log: p.log_tail(30),
            });
        }
    }
    Ok(())
}

fn not_ready(procs: &[Supervised], what: &str, timeout: Duration) -> ClusterError {
    let component = procs
        .iter()
        .find(|p| what.starts_with(p.name()))
        .or(procs.last());
    ClusterError::NotReady {
        what: what.to_string(),
        component: component.map(|p| p.name().to_string()).unwrap_or_default(),
        timeout,
        log: component.map(|p| p.log_tail(30)).unwrap_or_default(),
    }
}

async fn create_fake_node(client: &kube::Client) -> Result<(), ClusterError> {
    let node: Node = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "kwok.x-k8s.io/node": "fake"
            },
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok"
            }
        },
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "1000"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "1000"}
        }
    }))
    .map_err(|e| ClusterError::Kubeconfig(format!("fake node manifest: {e}")))?;
    let nodes: Api<Node> = Api::all(client.clone());
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Waits (watch-driven) for the fake node to be Ready and for the controller manager to
/// have created the `default` service account, which pods need.
async fn wait_usable(
    client: &kube::Client,
    procs: &mut [Supervised],
    timeout: Duration,
) -> Result<(), ClusterError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let node_ready = await_condition(nodes, NODE_NAME, |n: Option<&Node>| {
        n.and_then(|n| n.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    let sa_made = await_condition(sas, "default", |sa: Option<&ServiceAccount>| sa.is_some());
    let both = async {
        let (a, b) = tokio::join!(node_ready, sa_made);
        a.and(b)
    };
    match tokio::time::timeout(timeout, both).await {
        Ok(Ok(_)) => check_alive(procs),
        Ok(Err(e)) => Err(ClusterError::NotReady {
            what: "fake node and default service account".into(),
            component: "kanon".into(),
            timeout,
            log: crate::k8s::error::describe_wait(&e),
        }),
        Err(_) => {
            check_alive(procs)?;
            Err(not_ready(
                procs,
                "kwok node Ready / kube-controller-manager service account",
                timeout,
            ))
        }
    }
}

/// Removes temp dirs of local clusters whose process is gone (e.g. killed with SIGKILL,
/// which no exit hook survives).
pub fn sweep_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !process::pid_alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
