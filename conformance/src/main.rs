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
    /// Work on written reports.
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Join the reports of a sharded suite's shards (each `--report-dir` of `kanon test
    /// --shard-index I --shard-count N`) into one: console summary, junit.xml,
    /// report.json, conformance.md and conformance.json, clause verdicts computed again
    /// from every shard's scenarios. Exit code 1 when a scenario failed.
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// The shards' report folders (each holds a report.json).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Write the merged reports here (default: the suite file's report folder, else
    /// ./kanon-report).
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// Clause catalogue for conformance.md / conformance.json (default: the suite
    /// file's, else the one the shards' conformance.json were written with).
    #[arg(long)]
    catalogue: Option<PathBuf>,
    /// Failures and the summary only.
    #[arg(long, short)]
    quiet: bool,
}

/// `kanon test`'s flags. Chainsaw's `chainsaw test` flags are accepted too (its
/// spellings as aliases where kanon has its own), so a CI job can swap the command.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Options")]
struct TestArgs {
    /// Scenario files or folders (default: the suite file's, else `.`); with a suite
    /// file they narrow what runs, its CRDs and operator still apply.
    paths: Vec<PathBuf>,
    /// Folders to discover tests in, as Chainsaw's (repeatable, or comma-separated);
    /// run with the positional paths.
    #[arg(long = "test-dir", value_name = "DIR", value_delimiter = ',')]
    test_dirs: Vec<PathBuf>,
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
    #[arg(long, visible_alias = "kube-context")]
    context: Option<String>,
    /// Provider: local (default without a kubeconfig), k3s, existing. As Chainsaw's,
    /// `NAME=KUBECONFIG[:CONTEXT]` registers a cluster tests can name (repeatable).
    #[arg(long = "cluster", value_name = "PROVIDER|NAME=KUBECONFIG[:CONTEXT]")]
    clusters: Vec<String>,
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
    /// Also write one report file, as Chainsaw's: JSON (kanon's report.json), XML or
    /// JUNIT-TEST (kanon's junit.xml); JUNIT-STEP and JUNIT-OPERATION write JUNIT-TEST.
    #[arg(long, value_name = "FORMAT")]
    report_format: Option<String>,
    /// The folder of that file (default: the configuration's, else `.`).
    #[arg(long, value_name = "DIR")]
    report_path: Option<PathBuf>,
    /// Its name, `.json` / `.xml` added without an extension (default: chainsaw-report).
    #[arg(long, value_name = "NAME")]
    report_name: Option<String>,
    /// Clause catalogue for the conformance report.
    #[arg(long)]
    catalogue: Option<PathBuf>,
    /// `$values` files (repeatable, or comma-separated).
    #[arg(long = "values", value_delimiter = ',')]
    values: Vec<PathBuf>,
    /// `$values` overrides, `path.to.key=value` (repeatable).
    #[arg(long = "set")]
    set: Vec<String>,
    /// `$values` overrides whose value stays a string, `path.to.key=value` (repeatable).
    #[arg(long = "set-string")]
    set_string: Vec<String>,
    /// Scenarios at once (default, or 0: the number of cores).
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
    #[arg(long, visible_alias = "repeat-count")]
    repeat: Option<usize>,
    /// Only scenarios whose labels match this selector (repeatable: all must match).
    #[arg(long, short = 'l')]
    selector: Vec<String>,
    /// Only scenarios whose name matches this regex.
    #[arg(long, visible_alias = "include-test-regex")]
    include: Option<String>,
    /// Skip scenarios whose name matches this regex.
    #[arg(long, visible_alias = "exclude-test-regex")]
    exclude: Option<String>,
    /// Run shard INDEX (from 0) of --shard-count: the scenario runs sorted by name and
    /// dealt round-robin, so every scenario runs in exactly one shard.
    #[arg(long, value_name = "INDEX", default_value_t = 0)]
    shard_index: usize,
    /// Split the scenarios into this many shards (0: no sharding).
    #[arg(long, value_name = "COUNT", default_value_t = 0)]
    shard_count: usize,
    /// nextest's spelling of a shard: `count:M/N` is shard M (from 1) of N.
    #[arg(long, value_name = "count:M/N", conflicts_with_all = ["shard_index", "shard_count"])]
    partition: Option<String>,
    /// A scenario file that does not load stops the run before any cluster is touched
    /// (exit code 2), instead of failing as a test of its own.
    #[arg(long)]
    strict_load: bool,
    /// Failures and the summary only.
    #[arg(long, short)]
    quiet: bool,
    /// No colour on the console.
    #[arg(long)]
    no_color: bool,
    /// Keep what scenarios create (`--skip-delete=false` overrides a Chainsaw
    /// configuration's `skipDelete: true`).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    skip_delete: Option<bool>,
    /// Run every scenario in this namespace instead of a fresh one each.
    #[arg(long)]
    namespace: Option<String>,
    /// Namespace deletions are followed in the background and the run waits for them
    /// at its end (the default, true); `=false` waits at the end of each scenario until
    /// its namespace is gone, as Chainsaw does by default.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    fast_namespace_deletion: Option<bool>,
    /// After a failed operation, wait for ENTER before catch and cleanup (one scenario
    /// at a time).
    #[arg(long)]
    pause_on_failure: bool,
    #[command(flatten)]
    chainsaw: ChainsawTestFlags,
}

/// The rest of `chainsaw test`'s flags, mapped onto what its configuration file sets.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Chainsaw options")]
struct ChainsawTestFlags {
    /// Another scenario file name looked for in folders (Chainsaw's `testFile`).
    #[arg(long, value_name = "NAME")]
    test_file: Option<String>,
    /// Default apply timeout.
    #[arg(long, value_name = "DURATION")]
    apply_timeout: Option<String>,
    /// Default assert timeout.
    #[arg(long, value_name = "DURATION")]
    assert_timeout: Option<String>,
    /// Default cleanup timeout.
    #[arg(long, value_name = "DURATION")]
    cleanup_timeout: Option<String>,
    /// Default delete timeout.
    #[arg(long, value_name = "DURATION")]
    delete_timeout: Option<String>,
    /// Default error timeout.
    #[arg(long, value_name = "DURATION")]
    error_timeout: Option<String>,
    /// Default exec timeout.
    #[arg(long, value_name = "DURATION")]
    exec_timeout: Option<String>,
    /// Whether resources are templated, for tests that do not say (default: true).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    template: Option<bool>,
    /// The default language of `(expr)`: jp or cel.
    #[arg(long, value_name = "jp|cel")]
    default_compiler: Option<String>,
    /// How deletions propagate, for tests that do not say: Background, Foreground or
    /// Orphan.
    #[arg(long, value_name = "POLICY")]
    deletion_propagation_policy: Option<String>,
    /// A delay between the end of a test and its cleanup.
    #[arg(long, value_name = "DURATION")]
    cleanup_delay: Option<String>,
    /// The termination grace period set on the pods tests create.
    #[arg(long, value_name = "DURATION")]
    force_termination_grace_period: Option<String>,
    /// Accepted; kanon's YAML reader resolves anchors, aliases and merge keys already.
    #[arg(long)]
    remarshal: bool,
    /// Not supported (tests are named by metadata.name, else their folder): a warning.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    full_name: Option<bool>,
    /// Not supported (kanon runs against a cluster, a local one by default): a warning.
    #[arg(long)]
    no_cluster: bool,
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
        Command::Report(ReportCommand::Merge(args)) => commands::report_merge(args),
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn test_args(args: &[&str]) -> TestArgs {
        let mut argv = vec!["kanon", "test"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)
            .unwrap_or_else(|e| panic!("{e}"))
            .command
        {
            Command::Test(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_chainsaw_test_flag_is_accepted() {
        // `chainsaw test`'s flags (v0.2.15, pkg/commands/test), Chainsaw's spellings.
        let a = test_args(&[
            "--config",
            "c.yaml",
            "--test-dir",
            "a,b",
            "--test-dir",
            "c",
            "--apply-timeout",
            "5s",
            "--assert-timeout",
            "30s",
            "--cleanup-timeout",
            "30s",
            "--delete-timeout",
            "15s",
            "--error-timeout",
            "30s",
            "--exec-timeout",
            "5s",
            "--test-file",
            "chainsaw-test",
            "--full-name",
            "--include-test-regex",
            "^a",
            "--exclude-test-regex",
            "^b",
            "--fail-fast",
            "--parallel",
            "4",
            "--repeat-count",
            "2",
            "--force-termination-grace-period",
            "5s",
            "--namespace",
            "ns",
            "--fast-namespace-deletion",
            "--template",
            "--default-compiler",
            "cel",
            "--skip-delete",
            "--cleanup-delay",
            "1s",
            "--deletion-propagation-policy",
            "Foreground",
            "--report-format",
            "XML",
            "--report-name",
            "r",
            "--report-path",
            "out",
            "--cluster",
            "other=k.yaml:ctx",
            "--pause-on-failure",
            "--no-cluster",
            "--selector",
            "a=b",
            "--selector",
            "c=d",
            "--values",
            "v1.yaml,v2.yaml",
            "--set",
            "a=1,b=2",
            "--set-string",
            "c=3",
            "--shard-index",
            "1",
            "--shard-count",
            "3",
            "--no-color",
            "--remarshal",
            "--quiet",
            "--kube-context",
            "kind",
        ]);
        assert_eq!(a.test_dirs, [PathBuf::from("a"), "b".into(), "c".into()]);
        assert_eq!(a.include.as_deref(), Some("^a"));
        assert_eq!(a.exclude.as_deref(), Some("^b"));
        assert_eq!(a.repeat, Some(2));
        assert_eq!(a.selector, ["a=b", "c=d"]);
        assert_eq!(a.values, [PathBuf::from("v1.yaml"), "v2.yaml".into()]);
        assert_eq!(a.set, ["a=1,b=2"], "--set is not split here");
        assert_eq!(a.set_string, ["c=3"]);
        assert_eq!((a.shard_index, a.shard_count), (1, 3));
        assert_eq!(a.fast_namespace_deletion, Some(true));
        assert_eq!(a.context.as_deref(), Some("kind"));
        assert_eq!(a.clusters, ["other=k.yaml:ctx"]);
        assert_eq!(a.chainsaw.full_name, Some(true));
        assert_eq!(a.chainsaw.template, Some(true));
        assert!(a.chainsaw.no_cluster && a.chainsaw.remarshal && a.no_color);
        assert!(a.pause_on_failure && a.quiet);
    }

    #[test]
    fn kanon_s_own_spellings_stay() {
        let a = test_args(&[
            "--include",
            "x",
            "--exclude",
            "y",
            "--repeat",
            "3",
            "-l",
            "k=v",
            "--fast-namespace-deletion=false",
            "--cluster",
            "local",
            "--partition",
            "count:1/2",
            "--strict-load",
        ]);
        assert_eq!(a.include.as_deref(), Some("x"));
        assert_eq!(a.repeat, Some(3));
        assert_eq!(a.fast_namespace_deletion, Some(false));
        assert_eq!(a.partition.as_deref(), Some("count:1/2"));
        assert!(a.strict_load);
        let err = Cli::try_parse_from([
            "kanon",
            "test",
            "--partition",
            "count:1/2",
            "--shard-count",
            "2",
        ]);
        assert!(err.is_err(), "--partition and --shard-* exclude each other");
    }

    #[test]
    fn report_merge_takes_shard_folders() {
        let cli =
            Cli::try_parse_from(["kanon", "report", "merge", "r0", "r1", "--report-dir", "m"])
                .unwrap();
        match cli.command {
            Command::Report(ReportCommand::Merge(m)) => {
                assert_eq!(m.dirs, [PathBuf::from("r0"), "r1".into()]);
                assert_eq!(m.report_dir, Some(PathBuf::from("m")));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["kanon", "report", "merge"]).is_err());
    }
}
