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
}
