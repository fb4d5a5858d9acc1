//! `kanon test`, `kanon assert`, `kanon lint` and `kanon new`: flags in, library calls, exit codes out
//! (0 all passed, 1 something failed, 2 the input is wrong).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kanon::assert::{self as trees, Tree};
use kanon::engine::chainsaw_config::{ChainsawConfig, config_path, warning_line};
use kanon::engine::chainsaw_flags::{ChainsawFlags, apply_clusters};
use kanon::engine::interrupt::Interrupt;
use kanon::engine::operator::Readiness;
use kanon::engine::operator::split_command;
use kanon::engine::run::{RunError, RunOptions, run};
use kanon::engine::schedule::Policy;
use kanon::engine::shard::Shard;
use kanon::engine::suite::{DEFAULT_READY_TIMEOUT, OperatorCommand, SUITE_FILE, Suite};
use kanon::expr::Bindings;
use kanon::ops::{OpEnv, assert as assert_op};
use kanon::report::ReportDir;
use kanon::scenario::parse_duration;

use super::{AssertArgs, LintArgs, MergeArgs, NewArgs, TestArgs};

/// The suite file a command reads: the one named by `--suite`, else `kanon.yaml` in the
/// working directory when it exists (whether or not scenario paths are given, as
/// Chainsaw reads `.chainsaw.yaml`); none with `--no-suite`.
/// `dir` is the working directory as a path prefix (`""` for the working directory).
fn suite_path(explicit: Option<&Path>, no_suite: bool, dir: &Path) -> Option<PathBuf> {
    if no_suite {
        return None;
    }
    explicit.map(Path::to_path_buf).or_else(|| {
        let p = dir.join(SUITE_FILE);
        p.is_file().then_some(p)
    })
}

/// The scenario files and folders a command runs: the given paths (which only narrow
/// what runs: the suite's setup still applies), else the suite's, else `.`.
fn scenario_paths(paths: &[PathBuf], suite: Option<&Suite>) -> Vec<PathBuf> {
    if !paths.is_empty() {
        paths.to_vec()
    } else if let Some(s) = suite {
        s.scenarios.clone()
    } else {
        vec![PathBuf::from(".")]
    }
}

/// The console line naming the suite file a run uses and what it sets up.
fn suite_line(path: &Path, suite: &Suite) -> String {
    let mut setup = Vec::new();
    if !suite.crds.is_empty() {
        let crds: Vec<String> = suite.crds.iter().map(|p| p.display().to_string()).collect();
        setup.push(format!("CRDs {}", crds.join(", ")));
    }
    if let Some(op) = &suite.operator {
        setup.push(format!(
            "operator {}",
            op.command.first().map(String::as_str).unwrap_or_default()
        ));
    }
    let setup = match setup.is_empty() {
        true => String::new(),
        false => format!(" ({})", setup.join("; ")),
    };
    format!(
        "kanon: using the suite file {}{setup}; --no-suite runs without it",
        path.display()
    )
}

fn input_error(e: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("{e}");
    Ok(ExitCode::from(2))
}

/// `chainsaw test`'s configuration-like flags, as the library reads them.
fn chainsaw_flags(a: &TestArgs) -> ChainsawFlags {
    let c = &a.chainsaw;
    ChainsawFlags {
        test_file: c.test_file.clone(),
        apply_timeout: c.apply_timeout.clone(),
        assert_timeout: c.assert_timeout.clone(),
        cleanup_timeout: c.cleanup_timeout.clone(),
        delete_timeout: c.delete_timeout.clone(),
        error_timeout: c.error_timeout.clone(),
        exec_timeout: c.exec_timeout.clone(),
        template: c.template,
        default_compiler: c.default_compiler.clone(),
        deletion_propagation_policy: c.deletion_propagation_policy.clone(),
        cleanup_delay: c.cleanup_delay.clone(),
        force_termination_grace_period: c.force_termination_grace_period.clone(),
        report_format: a.report_format.clone(),
        report_path: a.report_path.clone(),
        report_name: a.report_name.clone(),
        full_name: c.full_name,
        no_cluster: c.no_cluster,
    }
}

pub async fn test(a: TestArgs) -> anyhow::Result<ExitCode> {
    // Chainsaw's --test-dir folders run with the positional paths.
    let mut paths = a.test_dirs.clone();
    paths.extend(a.paths.iter().cloned());
    let suite_path = suite_path(a.suite.as_deref(), a.no_suite, Path::new(""));
    let suite = match &suite_path {
        Some(p) => match Suite::load(p) {
            Ok(s) => {
                eprintln!("{}", suite_line(p, &s));
                Some(s)
            }
            Err(e) => return input_error(e),
        },
        None => None,
    };
    let config = match config_path(a.config.as_deref()) {
        Some(p) => match ChainsawConfig::load(&p) {
            Ok(c) => {
                if a.config.is_none() {
                    eprintln!("kanon: using the Chainsaw configuration {}", p.display());
                }
                for w in &c.warnings {
                    eprintln!("{}", warning_line(w));
                }
                Some(c)
            }
            Err(errors) => {
                for e in errors {
                    eprintln!("{e}");
                }
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    if paths.is_empty() && suite.is_none() && config.is_none() {
        return input_error(format!(
            "kanon: no scenarios given and no {SUITE_FILE} here; pass scenario files or folders"
        ));
    }
    // Chainsaw's flags override its configuration's fields, as in Chainsaw.
    let had_config = config.is_some();
    let mut config = config.unwrap_or_default();
    let findings = chainsaw_flags(&a).apply(&mut config);
    let provider = match apply_clusters(&a.clusters, &mut config) {
        Ok(p) => p,
        Err(e) => return input_error(e),
    };
    for w in &findings.warnings {
        eprintln!("kanon: warning: {w}");
    }
    if !findings.errors.is_empty() {
        for e in &findings.errors {
            eprintln!("kanon: {e}");
        }
        return Ok(ExitCode::from(2));
    }
    let shard = match (
        &a.partition,
        Shard::from_flags(a.shard_index, a.shard_count),
    ) {
        (Some(p), _) => Shard::parse_partition(p).map(Some),
        (None, s) => s,
    };
    let shard = match shard {
        Ok(s) => s,
        Err(e) => {
            let flag = if a.partition.is_some() {
                "--partition"
            } else {
                "--shard-index"
            };
            return input_error(format!("kanon: {flag}: {e}"));
        }
    };
    let ready = match a
        .operator_ready
        .as_deref()
        .map(Readiness::parse)
        .transpose()
    {
        Ok(r) => r.map(|probe| (probe, DEFAULT_READY_TIMEOUT)),
        Err(e) => return input_error(format!("--operator-ready: {e}")),
    };
    let mut operator = if a.no_operator {
        None
    } else if let Some(cmd) = &a.operator_cmd {
        match split_command(cmd) {
            Ok(command) => Some(OperatorCommand {
                command,
                env: Vec::new(),
                ready: None,
            }),
            Err(e) => return input_error(format!("--operator-cmd: {e}")),
        }
    } else {
        suite.as_ref().and_then(|s| s.operator.clone())
    };
    if let (Some(op), Some(ready)) = (operator.as_mut(), ready) {
        op.ready = Some(ready);
    }
    let s = suite.as_ref();
    // The configuration's run options only when a file was read (its load defaults,
    // timeouts and report file may also come from flags alone).
    let c = had_config.then_some(&config);
    let selector = (!a.selector.is_empty()).then(|| a.selector.join(","));
    let interrupt = Interrupt::new();
    let opts = RunOptions {
        // As Chainsaw: with a configuration but no paths (and no suite), the tests under
        // the working directory.
        paths: scenario_paths(&paths, s),
        cluster: provider,
        kubeconfig: a.kubeconfig.clone(),
        context: a.context.clone(),
        crds: if a.crds.is_empty() {
            s.map(|s| s.crds.clone()).unwrap_or_default()
        } else {
            a.crds.clone()
        },
        operator,
        report_dir: a
            .report_dir
            .clone()
            .or_else(|| s.and_then(|s| s.report_dir.clone())),
        catalogue: a
            .catalogue
            .clone()
            .or_else(|| s.and_then(|s| s.catalogue.clone())),
        values_files: s
            .map(|s| s.values.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(a.values.iter().cloned())
            .collect(),
        set: a.set.clone(),
        set_string: a.set_string.clone(),
        // Flags, then the Chainsaw configuration, then the suite file.
        policy: Policy {
            parallel: if a.pause_on_failure {
                // As Chainsaw: pausing implies one test at a time.
                1
            } else {
                a.parallel
                    .filter(|n| *n > 0)
                    .or_else(|| c.and_then(|c| c.parallel))
                    .or_else(|| s.and_then(|s| s.parallel))
                    .unwrap_or_else(|| Policy::default().parallel)
            },
            fail_fast: a
                .fail_fast
                .or_else(|| c.and_then(|c| c.fail_fast))
                .unwrap_or(false),
            retries: a.retries,
            repeat: a
                .repeat
                .or_else(|| c.and_then(|c| c.repeat))
                .unwrap_or(1)
                .max(1),
        },
        selector,
        include: a
            .include
            .clone()
            .or_else(|| c.and_then(|c| c.include.clone())),
        exclude: a
            .exclude
            .clone()
            .or_else(|| c.and_then(|c| c.exclude.clone())),
        quiet: a.quiet,
        timeouts: config
            .timeouts
            .or(&s.map(|s| s.timeouts).unwrap_or_default()),
        skip_delete: a
            .skip_delete
            .or_else(|| c.and_then(|c| c.skip_delete))
            .unwrap_or(false),
        namespace: a
            .namespace
            .clone()
            .or_else(|| c.and_then(|c| c.namespace.clone())),
        load: config.load.clone(),
        report_file: config.report.as_ref().map(|r| r.file()),
        strict_load: a.strict_load,
        shard,
        await_namespace_deletion: a.fast_namespace_deletion == Some(false),
        pause_on_failure: a.pause_on_failure,
        colour: a.no_color.then_some(false),
        interrupt: interrupt.clone(),
    };
    let mut work = std::pin::pin!(run(opts));
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // The first signal interrupts the run, which stops its scenarios, cleans up and
    // writes its reports; a second one stops at once.
    let mut signalled: Option<u8> = None;
    let result = loop {
        let (signal, code) = tokio::select! {
            r = &mut work => break r,
            _ = sigint.recv() => ("SIGINT", 130),
            _ = sigterm.recv() => ("SIGTERM", 143),
        };
        if signalled.is_some() {
            eprintln!("kanon: {signal} again: stopped at once, without reports");
            return Ok(ExitCode::from(code));
        }
        eprintln!(
            "kanon: {signal}: stopping the scenarios, cleaning up and writing the reports ({signal} again to stop at once)"
        );
        interrupt.trigger(signal);
        signalled = Some(code);
    };
    match result {
        Ok(_) if let Some(code) = signalled => Ok(ExitCode::from(code)),
        Ok(report) if report.success() => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        Err(RunError::Input(errors)) => {
            for e in errors {
                eprintln!("{e}");
            }
            Ok(ExitCode::from(2))
        }
        Err(RunError::Setup(e)) => {
            eprintln!("kanon: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn assert(a: AssertArgs) -> anyhow::Result<ExitCode> {
    let timeout = match parse_duration(&a.timeout) {
        Ok(t) => t,
        Err(e) => return input_error(format!("--timeout: {e}")),
    };
    let docs = match kanon::scenario::load_documents(&a.file) {
        Ok(d) => d,
        Err(e) => return input_error(e),
    };
    let mut trees = Vec::new();
    for d in &docs {
        match Tree::from_node(d) {
            Ok(t) => trees.push((d.to_json(), t)),
            Err(errs) => {
                for e in errs {
                    eprintln!("{}: {e}", a.file.display());
                }
                return Ok(ExitCode::from(2));
            }
        }
    }
    let cluster =
        kanon::cluster::ExistingCluster::connect(a.kubeconfig.as_deref(), a.context.as_deref())
            .await?;
    let client = cluster.client().await?;
    let env = OpEnv::connect(
        client.clone(),
        a.namespace.clone(),
        cluster.kubeconfig_path(),
    );
    let bindings =
        Bindings::new().with("namespace", serde_json::Value::String(a.namespace.clone()));
    let mut failed = false;
    for (json, tree) in &trees {
        let outcome = assert_op::assert(&env, json, timeout, |actual| {
            trees::check(tree, actual, &bindings)
        })
        .await?;
        match outcome {
            Ok(m) => println!("PASS {} {}", json["kind"].as_str().unwrap_or(""), m.name),
            Err(u) => {
                failed = true;
                match u.candidates.into_iter().min_by_key(|(_, m)| m.errors.len()) {
                    None => println!(
                        "FAIL {}: no {} found within {}",
                        a.file.display(),
                        json["kind"].as_str().unwrap_or("object"),
                        kanon::scenario::format_duration(timeout)
                    ),
                    Some((name, m)) => {
                        println!(
                            "FAIL {}: {} {name} does not match",
                            a.file.display(),
                            json["kind"].as_str().unwrap_or("")
                        );
                        for e in &m.errors {
                            println!("  {e}");
                        }
                        println!("{}", m.diff);
                    }
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Where `kanon lint` looks for a catalogue when neither `--catalogue` nor the suite
/// names one.
const DEFAULT_CATALOGUE: &str = "scenarios/clauses.yaml";

pub fn lint(a: LintArgs) -> anyhow::Result<ExitCode> {
    use kanon::report::conformance::Catalogue;
    use kanon::scenario::lint::{self, LintOptions};

    let suite_path = suite_path(a.suite.as_deref(), a.no_suite, Path::new(""));
    let suite = match &suite_path {
        Some(p) => match Suite::load(p) {
            Ok(s) => Some(s),
            Err(e) => {
                println!("{}", lint::Finding::from(e));
                return Ok(ExitCode::FAILURE);
            }
        },
        None => None,
    };
    let paths = scenario_paths(&a.paths, suite.as_ref());
    let catalogue_path = a
        .catalogue
        .clone()
        .or_else(|| suite.as_ref().and_then(|s| s.catalogue.clone()))
        .or_else(|| {
            let p = PathBuf::from(DEFAULT_CATALOGUE);
            p.is_file().then_some(p)
        });
    let mut findings = Vec::new();
    let (clauses, values) = match &catalogue_path {
        Some(p) => match Catalogue::load(p) {
            Ok(c) => (
                Some(c.clauses.iter().map(|c| c.id.clone()).collect()),
                Some(c.values.iter().map(|v| v.name.clone()).collect()),
            ),
            Err(e) => {
                findings.push(lint::Finding {
                    file: p.clone(),
                    line: 0,
                    column: 0,
                    severity: lint::Severity::Error,
                    message: format!("cannot read the clause catalogue: {e}"),
                });
                (None, None)
            }
        },
        None => (None, None),
    };
    findings.extend(lint::lint(&paths, &LintOptions { clauses, values }));
    findings.sort();
    for f in &findings {
        println!("{f}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == lint::Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    eprintln!("kanon lint: {errors} error(s), {warnings} warning(s)");
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn new(a: NewArgs) -> anyhow::Result<ExitCode> {
    use kanon::scenario::scaffold;

    let folder = a.dir.join(&a.name);
    let schema = scaffold::schema_reference(&folder);
    match scaffold::scaffold(&a.dir, &a.name, &schema) {
        Ok(file) => {
            println!(
                "kanon: created {}; check it with `kanon lint {}`",
                file.display(),
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => input_error(format!("kanon: {e}")),
    }
}

/// Where `kanon report merge` writes when neither `--report-dir` nor the suite file
/// names a folder.
const DEFAULT_MERGED_DIR: &str = "kanon-report";

pub fn report_merge(a: MergeArgs) -> anyhow::Result<ExitCode> {
    use kanon::report::conformance::{Catalogue, ConformanceReport};
    use kanon::report::console::{Console, Verbosity};
    use kanon::report::merge;

    let suite = match suite_path(None, false, Path::new("")) {
        Some(p) => match Suite::load(&p) {
            Ok(s) => Some(s),
            Err(e) => return input_error(e),
        },
        None => None,
    };
    let out = a
        .report_dir
        .clone()
        .or_else(|| suite.as_ref().and_then(|s| s.report_dir.clone()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MERGED_DIR));
    let same = |x: &std::path::Path, y: &std::path::Path| match (x.canonicalize(), y.canonicalize())
    {
        (Ok(x), Ok(y)) => x == y,
        _ => x == y,
    };
    if let Some(d) = a.dirs.iter().find(|d| same(d, &out)) {
        return input_error(format!(
            "kanon: {} is a shard's report folder; write the merged report elsewhere (--report-dir)",
            d.display()
        ));
    }
    let mut shards = Vec::new();
    for d in &a.dirs {
        match merge::read(d) {
            Ok(s) => shards.push(s),
            Err(e) => return input_error(format!("kanon: {e}")),
        }
    }
    let merged = match merge::merge(&shards) {
        Ok(m) => m,
        Err(e) => return input_error(format!("kanon: {e}")),
    };
    for n in &merged.notes {
        eprintln!("kanon: warning: {n}");
    }
    // The catalogue: the one named, else the suite's, else the one the shards used
    // (read back from their conformance.json).
    let catalogue = match a
        .catalogue
        .clone()
        .or_else(|| suite.as_ref().and_then(|s| s.catalogue.clone()))
    {
        Some(p) => match Catalogue::load(&p) {
            Ok(c) => Some(c),
            Err(e) => return input_error(format!("kanon: {e}")),
        },
        None => shards.iter().find_map(|s| {
            let text = std::fs::read_to_string(s.dir.join("conformance.json")).ok()?;
            let used: ConformanceReport = serde_json::from_str(&text).ok()?;
            Some(used.catalogue())
        }),
    };
    let dir = match ReportDir::prepare(&out) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("kanon: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let files = dir.write_all(&merged.run, catalogue.as_ref())?;
    merge::copy_evidence(&shards, dir.path())?;
    let console = Console::new(
        Box::new(std::io::stdout()),
        false,
        if a.quiet {
            Verbosity::Quiet
        } else {
            Verbosity::Normal
        },
    );
    for s in &merged.run.scenarios {
        console.scenario(s);
        for w in &s.warnings {
            console.line_raw(&format!("kanon: warning: {} ({}): {w}", s.name, s.file));
        }
    }
    if let Some(why) = &merged.run.interrupted {
        console.line_raw(&format!("kanon: a shard was interrupted ({why})"));
    }
    console.line_raw(&format!(
        "kanon: merged {} report(s) into {}",
        shards.len(),
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    console.summary(&merged.run.totals());
    Ok(if merged.run.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SUITE: &str = "apiVersion: kanon.dev/v1alpha1
kind: Suite
metadata: {name: s}
spec:
  scenarios: [scenarios]
  crds: [crds]
  operator: {command: [bin/op, run]}
";

    fn dir_with_suite() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SUITE_FILE), SUITE).unwrap();
        dir
    }

    #[test]
    fn the_suite_file_applies_with_or_without_paths() {
        let dir = dir_with_suite();
        let found = Some(dir.path().join(SUITE_FILE));
        assert_eq!(suite_path(None, false, dir.path()), found);
        // Paths narrow the scenarios; they do not drop the suite's setup.
        let suite = Suite::load(&dir.path().join(SUITE_FILE)).unwrap();
        let narrowed = [PathBuf::from("elsewhere/one")];
        assert_eq!(scenario_paths(&narrowed, Some(&suite)), narrowed);
        assert_eq!(
            scenario_paths(&[], Some(&suite)),
            [dir.path().join("scenarios")]
        );
    }

    #[test]
    fn no_suite_and_an_explicit_suite_win_over_the_working_directory() {
        let dir = dir_with_suite();
        assert_eq!(suite_path(None, true, dir.path()), None);
        let other = Path::new("other/kanon.yaml");
        assert_eq!(
            suite_path(Some(other), false, dir.path()),
            Some(other.to_path_buf())
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(suite_path(None, false, empty.path()), None);
        assert_eq!(scenario_paths(&[], None), [PathBuf::from(".")]);
    }

    #[test]
    fn the_console_line_names_the_suite_file_and_its_setup() {
        let dir = dir_with_suite();
        let path = dir.path().join(SUITE_FILE);
        let line = suite_line(&path, &Suite::load(&path).unwrap());
        assert!(line.contains(&path.display().to_string()), "{line}");
        assert!(line.contains("CRDs ") && line.contains("crds"), "{line}");
        assert!(
            line.contains("operator ") && line.contains("bin/op"),
            "{line}"
        );
        assert!(line.contains("--no-suite"), "{line}");
    }
}
