//! The `kanon` command line: a thin layer over the `kanon` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kanon::cluster::{self, Cluster, ClusterKind, LocalOptions, install};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Parser)]
#[command(
    name = "kanon",
    version,
    about = "Declarative conformance harness for Kubernetes operators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios (with no paths: the suite file `kanon.yaml`'s).
    Test(Box<TestArgs>),
    /// Check one assertion file against the live cluster.
    Assert(AssertArgs),
    /// Check scenario files without a cluster (exit 1 on any error).
    Lint(LintArgs),
    /// Print the JSON Schema of scenario documents, of the suite file or of a Chainsaw
    /// Configuration (for editors).
    Schema {
        /// The suite file's schema instead.
        #[arg(long, conflicts_with = "config")]
        suite: bool,
        /// The Chainsaw Configuration's schema (as `--config` reads it) instead.
        #[arg(long)]
        config: bool,
    },
    /// Scaffold a new scenario folder with a commented example.
    New(NewArgs),
    /// Make, build or inspect throwaway clusters.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    /// Scenario files or folders (default: the suite file's); with a suite file they
    /// narrow what runs, its CRDs and operator still apply.
    paths: Vec<PathBuf>,
    /// The suite file (default: ./kanon.yaml when it exists).
    #[arg(long)]
    suite: Option<PathBuf>,
    /// Read no suite file: the paths run bare (no suite CRDs, operator or reports).
    #[arg(long, conflicts_with = "suite")]
    no_suite: bool,
    /// A Chainsaw Configuration file (chainsaw.kyverno.io/v1alpha1 or v1alpha2; default:
    /// ./.chainsaw.yaml when it exists). Flags override it; it overrides the suite file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run against this cluster instead of starting one.
    #[arg(long, env = "KANON_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Context of --kubeconfig.
    #[arg(long)]
    context: Option<String>,
    /// Provider: local (default without a kubeconfig), k3s, existing.
    #[arg(long, value_enum)]
    cluster: Option<ClusterKind>,
    /// CRD files or folders to install first (repeatable; replaces the suite's).
    #[arg(long)]
    crds: Vec<PathBuf>,
    /// Start this operator out-of-cluster with KUBECONFIG set (replaces the suite's).
    #[arg(long)]
    operator_cmd: Option<String>,
    /// When the started operator is ready: `log:REGEX` (a line of its output matches)
    /// or an `http://` URL answering 2xx; waited for up to 60s before any scenario runs
    /// (replaces the suite's `operator.ready`).
    #[arg(long, value_name = "log:REGEX|URL")]
    operator_ready: Option<String>,
    /// Do not start the suite's operator (it already runs in the cluster).
    #[arg(long)]
    no_operator: bool,
    /// Write junit.xml, report.json, conformance.md/json and evidence here.
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// Clause catalogue for the conformance report.
    #[arg(long)]
    catalogue: Option<PathBuf>,
    /// `$values` files (repeatable).
    #[arg(long = "values")]
    values: Vec<PathBuf>,
    /// `$values` overrides, `path.to.key=value` (repeatable).
    #[arg(long = "set")]
    set: Vec<String>,
    /// Scenarios at once (default: the number of cores).
    #[arg(long)]
    parallel: Option<usize>,
    /// Stop starting scenarios after the first failure (`--fail-fast=false` overrides a
    /// Chainsaw configuration's `failFast: true`).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    fail_fast: Option<bool>,
    /// Extra attempts for a failed scenario (passing on a retry marks it flaky).
    #[arg(long, default_value_t = 0)]
    retries: usize,
    /// Run each scenario this many times (default: 1).
    #[arg(long)]
    repeat: Option<usize>,
    /// Only scenarios whose labels match this selector.
    #[arg(long, short = 'l')]
    selector: Option<String>,
    /// Only scenarios whose name matches this regex.
    #[arg(long)]
    include: Option<String>,
    /// Skip scenarios whose name matches this regex.
    #[arg(long)]
    exclude: Option<String>,
    /// Failures and the summary only.
    #[arg(long, short)]
    quiet: bool,
    /// Keep what scenarios create (`--skip-delete=false` overrides a Chainsaw
    /// configuration's `skipDelete: true`).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    skip_delete: Option<bool>,
    /// Run every scenario in this namespace instead of a fresh one each.
    #[arg(long)]
    namespace: Option<String>,
}

#[derive(Debug, clap::Args)]
struct AssertArgs {
    /// YAML file of assertion trees (one per document).
    #[arg(long, short = 'f')]
    file: PathBuf,
    /// Kubeconfig (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Its context.
    #[arg(long)]
    context: Option<String>,
    /// Namespace for namespaced objects that name none.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// How long to wait for a match.
    #[arg(long, default_value = "30s")]
    timeout: String,
}

#[derive(Debug, clap::Args)]
struct LintArgs {
    /// Scenario files or folders (default: the suite file's scenarios, else `.`).
    paths: Vec<PathBuf>,
    /// The suite file (default: ./kanon.yaml when present).
    #[arg(long)]
    suite: Option<PathBuf>,
    /// Read no suite file.
    #[arg(long, conflicts_with = "suite")]
    no_suite: bool,
    /// Clause catalogue to check `clauses` against (default: the suite's, else
    /// scenarios/clauses.yaml when present).
    #[arg(long)]
    catalogue: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// The scenario name (lowercase letters, digits and `-`); also its folder name.
    name: String,
    /// The folder to create the scenario folder in.
    #[arg(long, default_value = "scenarios")]
    dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Build the pinned control plane (etcd, kube-apiserver, kube-controller-manager,
    /// kube-scheduler, kwok) from the official Go modules into kanon's cache.
    Install {
        /// Rebuild even when the binaries are cached.
        #[arg(long)]
        force: bool,
        /// Print errors only.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Print the pinned versions and where each binary is taken from.
    Info,
    /// Start a throwaway cluster for a dev loop; tear it down on Ctrl-C / SIGTERM.
    Up {
        /// Where to write the admin kubeconfig (must not exist unless --overwrite).
        #[arg(long, value_name = "FILE")]
        kubeconfig_out: PathBuf,
        /// Replace FILE when it exists.
        #[arg(long)]
        overwrite: bool,
        /// Provider: local (default) or k3s (needs Docker).
        #[arg(long, value_enum, default_value = "local")]
        cluster: ClusterKind,
    },
}

mod commands;

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KANON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test(args) => commands::test(*args).await,
        Command::Assert(args) => commands::assert(args).await,
        Command::Lint(args) => commands::lint(args),
        Command::New(args) => commands::new(args),
        Command::Schema { suite, config } => {
            if suite {
                print!("{}", kanon::engine::suite::suite_schema());
            } else if config {
                print!("{}", kanon::engine::chainsaw_config::config_schema());
            } else {
                print!("{}", kanon::scenario::schema::scenario_schema());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cluster(cmd) => run_cluster(cmd).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kanon: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_cluster(cmd: ClusterCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ClusterCommand::Install { force, quiet } => {
            let opts = install::InstallOptions { force, quiet };
            tokio::task::spawn_blocking(move || install::install(opts)).await??;
            Ok(ExitCode::SUCCESS)
        }
        ClusterCommand::Info => {
            let bin = cluster::assets::versioned_dir().join("bin");
            for c in cluster::assets::Component::ALL {
                let where_ = match cluster::assets::locate_component(c, &bin) {
                    cluster::assets::Location::FromEnv(p) => {
                        format!("{} (from environment)", p.display())
                    }
                    cluster::assets::Location::Cached(p) => format!("{} (cached)", p.display()),
                    cluster::assets::Location::Missing(p) => {
                        format!("missing; `kanon cluster install` builds {}", p.display())
                    }
                };
                println!("{:<24} {:<9} {where_}", c.binary(), c.version());
            }
            Ok(ExitCode::SUCCESS)
        }
        ClusterCommand::Up {
            kubeconfig_out,
            overwrite,
            cluster: kind,
        } => cluster_up(kubeconfig_out, overwrite, kind).await,
    }
}

async fn cluster_up(out: PathBuf, overwrite: bool, kind: ClusterKind) -> anyhow::Result<ExitCode> {
    if kind == ClusterKind::Existing {
        anyhow::bail!("`cluster up` starts a cluster: use --cluster local or --cluster k3s");
    }
    if out.exists() && !overwrite {
        anyhow::bail!(
            "{} already exists; kanon will not overwrite it (pass --overwrite, or choose another path)",
            out.display()
        );
    }
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let opts = LocalOptions {
        signal_teardown: false,
        ..LocalOptions::default()
    };
    let cluster = tokio::select! {
        c = Cluster::provision(Some(kind), None, None, opts) => c?,
        _ = sigint.recv() => { eprintln!("kanon: interrupted during startup; torn down"); return Ok(ExitCode::SUCCESS) }
        _ = sigterm.recv() => { eprintln!("kanon: terminated during startup; torn down"); return Ok(ExitCode::SUCCESS) }
    };
    let text = std::fs::read_to_string(cluster.kubeconfig_path())?;
    cluster::kubeconfig::write_private(&out, &text)?;
    match &cluster {
        Cluster::Local(c) => {
            let t = c.timings();
            println!(
                "kanon: cluster ready at {} (API ready in {:.1}s, usable in {:.1}s); kubeconfig: {}; Ctrl-C to tear down",
                c.server_url(),
                t.api_ready.as_secs_f64(),
                t.ready.as_secs_f64(),
                out.display()
            );
        }
        _ => println!(
            "kanon: cluster ready; kubeconfig: {}; Ctrl-C to tear down",
            out.display()
        ),
    }
    tokio::select! {
        _ = sigint.recv() => {}
        _ = sigterm.recv() => {}
    }
    let t = std::time::Instant::now();
    drop(cluster);
    let _ = std::fs::remove_file(&out);
    eprintln!(
        "kanon: cluster torn down in {:.2}s",
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
