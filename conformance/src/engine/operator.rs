//! The operator under test, when kanon starts it (`--operator-cmd` or the suite file):
//! a child process with `KUBECONFIG` pointing at the cluster (through kanon's fault
//! proxy, see [`crate::faults`], when the run could start one), its output captured in
//! a log file for the reports, stopped (SIGTERM, then SIGKILL) when the run ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cluster::ClusterError;
use crate::cluster::process::{self, Supervised};

/// How long the operator gets to shut down cleanly on SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How often a readiness probe looks again (the log file or the HTTP endpoint).
const READY_PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// How kanon tells that the operator it started is ready, before any scenario runs.
#[derive(Debug, Clone)]
pub enum Readiness {
    /// A line of its output matches this regular expression.
    LogLine(regex::Regex),
    /// A plain-HTTP GET of this URL answers 2xx.
    Http(http::Uri),
}

impl PartialEq for Readiness {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::LogLine(a), Self::LogLine(b)) => a.as_str() == b.as_str(),
            (Self::Http(a), Self::Http(b)) => a == b,
            _ => false,
        }
    }
}

impl Readiness {
    /// Parses `log:REGEX` or an `http://` URL (the `--operator-ready` syntax).
    pub fn parse(spec: &str) -> Result<Self, String> {
        if let Some(pattern) = spec.strip_prefix("log:") {
            return Self::log_line(pattern);
        }
        if spec.starts_with("http://") {
            return Self::http(spec);
        }
        Err(format!(
            "{spec:?}: expected log:REGEX or an http:// URL (https is not supported)"
        ))
    }

    /// A log-line probe.
    pub fn log_line(pattern: &str) -> Result<Self, String> {
        regex::Regex::new(pattern)
            .map(Self::LogLine)
            .map_err(|e| format!("log pattern {pattern:?}: {e}"))
    }

    /// An HTTP probe; plain `http://` only.
    pub fn http(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("URL {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!("URL {url:?}: expected http://HOST[:PORT]/PATH"));
        }
        Ok(Self::Http(uri))
    }

    /// What it waits for, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::LogLine(r) => format!("a log line matching {:?}", r.as_str()),
            Self::Http(u) => format!("GET {u} answering 2xx"),
        }
    }
}

/// Whether some line of `log` matches `pattern`.
fn log_matches(log: &str, pattern: &regex::Regex) -> bool {
    log.lines().any(|l| pattern.is_match(l))
}

async fn http_ok(uri: &http::Uri) -> bool {
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    matches!(
        tokio::time::timeout(READY_PROBE_INTERVAL * 10, client.get(uri.clone())).await,
        Ok(Ok(resp)) if resp.status().is_success()
    )
}

/// A running operator process.
#[derive(Debug)]
pub struct OperatorProcess {
    proc: Option<Supervised>,
    log: PathBuf,
}

/// Splits a command line into words, honouring single and double quotes and `\`.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => match chars.next() {
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => return Err("the command ends with a lone \\".into()),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {q} in the command"));
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

/// Resolves a program name on PATH (or returns it as a path when it has a slash).
fn which(program: &str) -> PathBuf {
    if program.contains('/') {
        return PathBuf::from(program);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(program))
}

/// Checks, before anything starts, that the operator's program exists; the error says
/// what is missing and how to make it (for a cargo build output such as
/// `target/debug/NAME`: `cargo build --bin NAME`).
pub fn check_program(command: &[String]) -> Result<(), String> {
    let Some(program) = command.first() else {
        return Err("the operator command is empty".into());
    };
    let path = which(program);
    if path.is_file() {
        return Ok(());
    }
    if !program.contains('/') {
        return Err(format!(
            "the operator program {program} is not on PATH; install it, or give its path"
        ));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string());
    let profile = path
        .parent()
        .filter(|d| d.parent().and_then(Path::file_name) == Some("target".as_ref()))
        .and_then(Path::file_name)
        .and_then(|p| p.to_str());
    let hint = match (name, profile) {
        (Some(name), Some("debug")) => format!(
            "build it first with `cargo build --bin {name}` (with CARGO_TARGET_DIR set, cargo \
             builds elsewhere: pass --operator-cmd with that path)"
        ),
        (Some(name), Some("release")) => format!(
            "build it first with `cargo build --release --bin {name}` (with CARGO_TARGET_DIR \
             set, cargo builds elsewhere: pass --operator-cmd with that path)"
        ),
        _ => "build it first, or pass --operator-cmd with its path".to_string(),
    };
    Err(format!(
        "the operator program {} does not exist; {hint}",
        path.display()
    ))
}

impl OperatorProcess {
    /// Starts `command` (program and arguments) with `KUBECONFIG=kubeconfig` and `env`,
    /// its output in `log`.
    pub fn start(
        command: &[String],
        env: &[(String, String)],
        kubeconfig: &Path,
        log: &Path,
    ) -> Result<Self, ClusterError> {
        let (program, args) = command.split_first().ok_or_else(|| ClusterError::Spawn {
            name: "operator".into(),
            program: PathBuf::new(),
            detail: "empty command".into(),
        })?;
        let mut full_env = vec![(
            "KUBECONFIG".to_string(),
            kubeconfig.to_string_lossy().to_string(),
        )];
        full_env.extend(env.iter().cloned());
        let proc = Supervised::spawn_with_env("operator", &which(program), args, &full_env, log)?;
        Ok(Self {
            proc: Some(proc),
            log: log.to_path_buf(),
        })
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines the operator printed.
    pub fn log_tail(&self, lines: usize) -> String {
        process::log_tail(&self.log, lines)
    }

    /// Waits until `probe` passes; an error when the operator exits first or `timeout`
    /// passes, with the tail of its output.
    pub async fn wait_ready(&mut self, probe: &Readiness, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ready = match probe {
                Readiness::LogLine(pattern) => std::fs::read_to_string(&self.log)
                    .map(|log| log_matches(&log, pattern))
                    .unwrap_or(false),
                Readiness::Http(uri) => http_ok(uri).await,
            };
            if ready {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                return Err(format!(
                    "the operator exited ({status}) before {}; last lines:\n{}",
                    probe.describe(),
                    self.log_tail(20)
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "the operator was not ready within {timeout:?} (waited for {}); last lines:\n{}",
                    probe.describe(),
                    self.log_tail(20)
                ));
            }
            tokio::time::sleep(READY_PROBE_INTERVAL).await;
        }
    }

    /// `Some(status)` when the operator has exited (it should not during a run).
    pub fn exited(&mut self) -> Option<String> {
        self.proc
            .as_mut()
            .and_then(|p| p.exited())
            .map(|s| s.to_string())
    }

    /// Stops the operator: SIGTERM, a grace period, then SIGKILL.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            process::stop_all(std::slice::from_mut(&mut p), SHUTDOWN_GRACE);
        }
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("target/debug/nope-operator", "`cargo build --bin nope-operator`")]
    #[case("x/target/release/nope-op", "`cargo build --release --bin nope-op`")]
    #[case("bin/nope-op", "build it first, or pass --operator-cmd")]
    #[case("kanon-no-such-program", "not on PATH")]
    fn a_missing_operator_program_says_how_to_make_it(#[case] program: &str, #[case] hint: &str) {
        let e = check_program(&[program.to_string(), "run".into()]).unwrap_err();
        assert!(e.contains(program) && e.contains(hint), "{e}");
    }

    #[test]
    fn an_existing_operator_program_passes() {
        check_program(&["sh".into(), "-c".into(), "true".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("op");
        std::fs::write(&p, "").unwrap();
        check_program(&[p.display().to_string()]).unwrap();
    }

    #[rstest]
    #[case("op run", &["op", "run"])]
    #[case("  ./bin/op   --flag=1  ", &["./bin/op", "--flag=1"])]
    #[case("sh -c 'echo hi there'", &["sh", "-c", "echo hi there"])]
    #[case(r#"op --name "a b" --x=\"q\""#, &["op", "--name", "a b", "--x=\"q\""])]
    #[case("op ''", &["op", ""])]
    fn commands_split_like_a_shell(#[case] line: &str, #[case] words: &[&str]) {
        assert_eq!(split_command(line).unwrap(), words);
    }

    #[rstest]
    #[case("")]
    #[case("op 'unclosed")]
    #[case("op \\")]
    fn bad_commands_are_errors(#[case] line: &str) {
        assert!(split_command(line).is_err());
    }

    #[test]
    fn the_operator_sees_kubeconfig_and_its_output_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("operator.log");
        let kubeconfig = dir.path().join("kubeconfig");
        let cmd = split_command("sh -c 'echo kubeconfig=$KUBECONFIG extra=$EXTRA; exec sleep 30'")
            .unwrap();
        let mut op =
            OperatorProcess::start(&cmd, &[("EXTRA".into(), "yes".into())], &kubeconfig, &log)
                .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !op.log_tail(5).contains("extra=yes") && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(
            op.log_tail(5),
            format!("kubeconfig={} extra=yes", kubeconfig.display())
        );
        assert!(op.exited().is_none());
        let started = std::time::Instant::now();
        op.stop();
        assert!(started.elapsed() < SHUTDOWN_GRACE, "sleep exits on SIGTERM");
    }

    #[rstest]
    #[case("log:starting controllers", true)]
    #[case("http://127.0.0.1:8080/healthz", true)]
    #[case("log:(unclosed", false)]
    #[case("https://127.0.0.1/healthz", false)]
    #[case("healthz", false)]
    fn readiness_specs_parse(#[case] spec: &str, #[case] ok: bool) {
        assert_eq!(Readiness::parse(spec).is_ok(), ok, "{spec}");
    }

    #[test]
    fn log_probes_match_whole_lines() {
        let r = regex::Regex::new("^.*starting controllers").unwrap();
        assert!(log_matches("x\nINFO starting controllers\n", &r));
        assert!(!log_matches("x\nINFO starting\n", &r));
    }

    fn sh(script: &str, dir: &Path) -> OperatorProcess {
        OperatorProcess::start(
            &["sh".into(), "-c".into(), script.into()],
            &[],
            &dir.join("kubeconfig"),
            &dir.join("operator.log"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn waits_for_the_log_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut op = sh(
            "echo booting; echo 'INFO ready to reconcile'; exec sleep 30",
            dir.path(),
        );
        let probe = Readiness::parse("log:ready to reconcile").unwrap();
        op.wait_ready(&probe, Duration::from_secs(20))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_operator_that_exits_first_is_an_error_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let mut op = sh("echo 'fatal: no CRDs'; exit 3", dir.path());
        let probe = Readiness::parse("log:ready").unwrap();
        let err = op
            .wait_ready(&probe, Duration::from_secs(20))
            .await
            .unwrap_err();
        assert!(
            err.contains("exited") && err.contains("fatal: no CRDs"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_probe_that_never_passes_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut op = sh("echo still booting; exec sleep 30", dir.path());
        let probe = Readiness::parse("log:ready").unwrap();
        let err = op
            .wait_ready(&probe, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            err.contains("not ready within") && err.contains("still booting"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn http_probes_wait_for_a_2xx() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let mut op = sh("exec sleep 30", dir.path());
        let probe = Readiness::parse(&format!("http://127.0.0.1:{port}/healthz")).unwrap();
        op.wait_ready(&probe, Duration::from_secs(20))
            .await
            .unwrap();
    }
}
