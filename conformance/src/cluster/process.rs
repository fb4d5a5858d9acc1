//! Supervised child processes and the process-wide teardown registry.
//!
//! Every control-plane process is spawned from one long-lived spawner thread with
//! `PR_SET_PDEATHSIG(SIGKILL)`: Linux delivers that signal when the *thread* that spawned
//! the child exits, so spawning from short-lived test or runtime threads would kill the
//! children early. The spawner thread lives as long as the process, so the children die
//! exactly when the process does, however it ends (even `SIGKILL`).
//!
//! On top of that, every live cluster registers its processes and its temp dir in a
//! registry that an `atexit` hook and (optionally) a SIGINT/SIGTERM handler drain, so that
//! an ordinary exit, a signal or a static cluster that is never dropped still removes
//! every process and every file it made.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use super::ClusterError;

/// A child process that is stopped when dropped.
#[derive(Debug)]
pub struct Supervised {
    name: String,
    child: Child,
    log: PathBuf,
}

type SpawnReply = mpsc::Sender<std::io::Result<Child>>;

fn spawner() -> &'static Mutex<mpsc::Sender<(Command, SpawnReply)>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<(Command, SpawnReply)>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(Command, SpawnReply)>();
        std::thread::Builder::new()
            .name("kanon-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("cannot start the process spawner thread: {e}"));
        Mutex::new(tx)
    })
}

impl Supervised {
    /// Starts `program` with `args`, stdout and stderr appended to `log`.
    ///
    /// The child gets its own process group (so a terminal's Ctrl-C reaches kanon, which
    /// then tears down in order) and dies with the kanon process.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<Self, ClusterError> {
        Self::spawn_with_env(name, program, args, &[], log)
    }

    /// As [`Supervised::spawn`], with extra environment variables.
    pub fn spawn_with_env(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Self, ClusterError> {
        let out = File::create(log).map_err(|e| ClusterError::io(log, e))?;
        let err = out.try_clone().map_err(|e| ClusterError::io(log, e))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: only async-signal-safe calls (prctl, setpgid) run between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (reply_tx, reply_rx) = mpsc::channel();
        let spawn_failed = |detail: String| ClusterError::Spawn {
            name: name.to_string(),
            program: program.to_path_buf(),
            detail,
        };
        spawner()
            .lock()
            .map_err(|_| spawn_failed("spawner lock poisoned".into()))?
            .send((cmd, reply_tx))
            .map_err(|_| spawn_failed("spawner thread is gone".into()))?;
        let child = reply_rx
            .recv()
            .map_err(|_| spawn_failed("spawner thread is gone".into()))?
            .map_err(|e| spawn_failed(e.to_string()))?;
        tracing::debug!(name, pid = child.id(), "started");
        Ok(Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        })
    }

    /// The component name, e.g. `kube-apiserver`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Path of the file that receives the process's output.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `Some(status)` when the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the process's log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        stop_all(std::slice::from_mut(self), Duration::from_millis(500));
    }
}

/// Sends SIGTERM to every process, waits up to `grace` for all of them, then SIGKILLs
/// the rest and reaps them. Returns once every process is gone.
pub fn stop_all(procs: &mut [Supervised], grace: Duration) {
    for p in procs.iter_mut() {
        if p.exited().is_none() {
            signal(p.pid(), libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && procs.iter_mut().any(|p| p.exited().is_none()) {
        std::thread::sleep(Duration::from_millis(5));
    }
    for p in procs.iter_mut() {
        if p.exited().is_none() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// The last `lines` lines of a log file (empty when unreadable).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What the exit hooks must undo for one live cluster.
#[derive(Debug, Default, Clone)]
pub struct Cleanup {
    /// Processes to kill.
    pub pids: Vec<u32>,
    /// Directory to remove.
    pub dir: Option<PathBuf>,
}

fn registry() -> &'static Mutex<HashMap<u64, Cleanup>> {
    static REGISTRY: OnceLock<Mutex<HashMap<u64, Cleanup>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers what to undo at process exit; returns the key for [`update`] / [`deregister`].
pub fn register(cleanup: Cleanup) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    install_atexit();
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut map) = registry().lock() {
        map.insert(id, cleanup);
    }
    id
}

/// Replaces what to undo for `id` (e.g. after a process restart).
pub fn update(id: u64, cleanup: Cleanup) {
    if let Ok(mut map) = registry().lock() {
        map.insert(id, cleanup);
    }
}

/// Forgets `id`: its owner has torn down by itself.
pub fn deregister(id: u64) {
    if let Ok(mut map) = registry().lock() {
        map.remove(&id);
    }
}

/// Kills every registered process and removes every registered directory. Safe to call
/// from an exit hook or a signal-handling thread; idempotent.
pub fn teardown_all() {
    let entries: Vec<Cleanup> = match registry().try_lock() {
        Ok(mut map) => map.drain().map(|(_, c)| c).collect(),
        Err(_) => return,
    };
    for c in &entries {
        for pid in &c.pids {
            signal(*pid, libc::SIGKILL);
        }
    }
    for c in &entries {
        for pid in &c.pids {
            if let Ok(pid) = libc::pid_t::try_from(*pid) {
                // SAFETY: waitpid on our own child; a null status pointer is allowed.
                unsafe {
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            }
        }
        if let Some(dir) = &c.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

extern "C" fn teardown_at_exit() {
    teardown_all();
}

fn install_atexit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registering a plain extern "C" fn with no captured state.
        unsafe {
            libc::atexit(teardown_at_exit);
        }
    });
}

/// Installs a SIGINT/SIGTERM handler that tears down every registered cluster and then
/// ends the process with the signal's default action. Library users that handle signals
/// themselves (the `kanon` CLI does) do not call this.
pub fn install_signal_teardown() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ]);
        match signals {
            Ok(mut signals) => {
                let spawned = std::thread::Builder::new()
                    .name("kanon-signals".into())
                    .spawn(move || {
                        if let Some(sig) = signals.forever().next() {
                            teardown_all();
                            let _ = signal_hook::low_level::emulate_default_handler(sig);
                            std::process::exit(128 + sig);
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!("cannot start the signal thread: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot install signal handlers: {e}"),
        }
    });
}

/// Whether a process with this pid exists.
pub fn pid_alive(pid: u32) -> bool {
    match libc::pid_t::try_from(pid) {
        // SAFETY: signal 0 only checks for existence.
        Ok(pid) => unsafe { libc::kill(pid, 0) == 0 },
        Err(_) => false,
    }
}
