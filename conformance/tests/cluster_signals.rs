//! SIGINT and SIGTERM tear a local cluster down: through `kanon cluster up` (which exits
//! 0) and through the library's own signal handling (an example program).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kanon::cluster::process::pid_alive;

/// Lines of the child's stdout, read on a thread, so waits can have deadlines.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line_containing(rx: &mpsc::Receiver<String>, needle: &str, deadline: Instant) -> String {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line with {needle:?} in time"));
        if line.contains(needle) {
            return line;
        }
    }
}

fn wait_exit(child: &mut Child, deadline: Instant) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "process did not exit in time");
        std::thread::yield_now();
    }
}

/// Processes whose parent is `parent` (from `/proc/*/stat`).
fn component_pids_of_children(parent: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a valid pid and signal.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

#[test]
fn cluster_up_tears_down_on_sigterm_and_exits_zero() {
    let out = tempfile::tempdir().unwrap();
    let kubeconfig = out.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args(["cluster", "up", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let deadline = Instant::now() + Duration::from_secs(600);
    next_line_containing(&rx, "ready", deadline);
    assert!(kubeconfig.is_file(), "kubeconfig written before `ready`");
    let components = component_pids_of_children(child.id());
    assert_eq!(components.len(), 5, "five components run: {components:?}");
    signal(child.id(), libc::SIGTERM);
    let status = wait_exit(&mut child, Instant::now() + Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "exit 0 after a signal");
    for pid in components {
        assert!(!pid_alive(pid), "component {pid} survived");
    }
    assert!(
        !kubeconfig.exists(),
        "the kubeconfig of a dead cluster is removed"
    );
}

#[test]
fn cluster_up_refuses_to_overwrite_a_file() {
    let out = tempfile::tempdir().unwrap();
    let precious = out.path().join("config");
    std::fs::write(&precious, "mine").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args(["cluster", "up", "--kubeconfig-out"])
        .arg(&precious)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "mine");
}

#[test]
fn library_signal_handling_tears_down_on_sigint() {
    let example = PathBuf::from(env!("CARGO_BIN_EXE_kanon"))
        .parent()
        .unwrap()
        .join("examples/hold_cluster");
    if !example.is_file() {
        // `cargo test` builds examples; a lone `--test cluster_signals` run may not have.
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "kanon", "--example", "hold_cluster"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let mut child = Command::new(&example)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let deadline = Instant::now() + Duration::from_secs(600);
    let pids: Vec<u32> = next_line_containing(&rx, "pids ", deadline)
        .trim_start_matches("pids ")
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let dir = PathBuf::from(next_line_containing(&rx, "dir ", deadline).trim_start_matches("dir "));
    next_line_containing(&rx, "ready", deadline);
    assert!(dir.is_dir());
    signal(child.id(), libc::SIGINT);
    let status = wait_exit(&mut child, Instant::now() + Duration::from_secs(30));
    assert!(!status.success(), "ends with the signal's default action");
    for pid in pids {
        assert!(!pid_alive(pid), "component {pid} survived");
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}
