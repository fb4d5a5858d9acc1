//! `command` and `script`: run a process with the scenario's cluster and namespace.
//!
//! The process gets `KUBECONFIG` (the scenario's kubeconfig) and `NAMESPACE` in its
//! environment, runs in its own process group, and is killed with all its children when
//! it outlives its timeout. Its output is what `check` sees as `$stdout`, `$stderr` and
//! `$error` (Chainsaw's names).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use super::{OpEnv, OpError};

/// Most bytes kept of each output stream.
const MAX_OUTPUT: usize = 1 << 20;

/// A process to run.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The program (looked up on PATH).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Working directory (the scenario's folder, usually).
    pub work_dir: Option<PathBuf>,
    /// Killed after this long.
    pub timeout: Duration,
}

impl ProcessSpec {
    /// A shell script: `sh -c <content>`.
    pub fn script(content: &str, timeout: Duration) -> Self {
        Self {
            program: "sh".into(),
            args: vec!["-c".into(), content.into()],
            env: Vec::new(),
            work_dir: None,
            timeout,
        }
    }
}

/// What a process did.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessOutput {
    /// Standard output (at most 1 MiB).
    pub stdout: String,
    /// Standard error (at most 1 MiB).
    pub stderr: String,
    /// Exit code; `None` when killed by a signal or timed out.
    pub exit_code: Option<i32>,
    /// Why it failed: a non-zero exit, a signal, a timeout.
    pub error: Option<String>,
    /// How long it ran.
    pub duration: Duration,
}

impl ProcessOutput {
    /// `{"$stdout", "$stderr", "$error"}` for `check` and `outputs`.
    pub fn bindings(&self) -> Value {
        json!({
            "$stdout": self.stdout,
            "$stderr": self.stderr,
            "$error": self.error,
        })
    }

    /// Whether the process exited 0 within its timeout.
    pub fn success(&self) -> bool {
        self.error.is_none()
    }
}

async fn read_capped(mut r: impl AsyncReadExt + Unpin) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if buf.len() < MAX_OUTPUT {
                    let room = MAX_OUTPUT - buf.len();
                    buf.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Runs `spec`. A failing process is an outcome (`error` set), not an `Err`; `Err` means
/// it could not be started.
pub async fn run(env: &OpEnv, spec: &ProcessSpec) -> Result<ProcessOutput, OpError> {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(&spec.program);
    cmd.args(&spec.args)
        .env("KUBECONFIG", &env.kubeconfig)
        .env("NAMESPACE", &env.namespace)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.work_dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| OpError::Process(format!("cannot run {}: {e}", spec.program)))?;
    let pid = child.id();
    let out = child.stdout.take();
    let err = child.stderr.take();
    let readers = async {
        let o = async {
            match out {
                Some(o) => read_capped(o).await,
                None => String::new(),
            }
        };
        let e = async {
            match err {
                Some(e) => read_capped(e).await,
                None => String::new(),
            }
        };
        tokio::join!(o, e)
    };
    let waited = tokio::time::timeout(spec.timeout, async {
        let (stdout, stderr) = readers.await;
        let status = child.wait().await;
        (stdout, stderr, status)
    })
    .await;
    match waited {
        Ok((stdout, stderr, status)) => {
            let status = status
                .map_err(|e| OpError::Process(format!("waiting for {}: {e}", spec.program)))?;
            let error = (!status.success()).then(|| match status.code() {
                Some(code) => format!("exit status {code}"),
                None => format!("terminated: {status}"),
            });
            Ok(ProcessOutput {
                stdout,
                stderr,
                exit_code: status.code(),
                error,
                duration: started.elapsed(),
            })
        }
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
                // SAFETY: kill(2) on the process group we created; no memory involved.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            Ok(ProcessOutput {
                stdout: String::new(),
                stderr: String::new(),
                exit_code: None,
                error: Some(format!("timed out after {:?}", spec.timeout)),
                duration: started.elapsed(),
            })
        }
    }
}
