//! The README's shell commands, run as written, so that the README cannot drift from
//! the product (`cargo test -p kanon --test readme`).
//!
//! Every ```` ```sh ```` block of `README.md` says in its info string what it does
//! when run; a block without a marker fails this test:
//!
//! - `skip="REASON"`: not run; the reason is printed. Today: `ci/test.sh` (it is the
//!   test run this harness is part of) and the third-party operator's commands (they
//!   name a binary and CRDs of an operator that is not in this repository).
//! - otherwise the block holds one command, run by `bash -c` from the repository root,
//!   and `exit=N` (default 0) and `expect="TEXT"` (repeatable: a line of its output
//!   holds TEXT) say how it must end;
//! - `narrow="ARGS"`: ARGS are appended to the command to keep this test short: the
//!   suite commands (`ci/contract.sh`, `kanon test` with `kanon.yaml`) run one scenario
//!   here, with the suite's CRDs, operator and reports as written; the whole suite runs
//!   in `cargo test --test contract`;
//! - `until="TEXT"`: the command runs until a line holds TEXT (it would run forever,
//!   as `kanon cluster up`), then gets SIGINT as from Ctrl-C, and must exit as
//!   `exit=` says; with `kubeconfig="~/FILE"` the cluster it serves is `~/.kube/config`
//!   for the blocks marked `cluster=dev` (run while it is up);
//! - `needs=docker`: on a machine where no Docker daemon answers, the command must
//!   exit 1 at once with a line that says Docker is missing; elsewhere it runs as
//!   its other attributes say.
//!
//! Commands run with a scratch `HOME` (so `~/.kube/config` is the dev cluster, and
//! nothing lands in the real home), the real Cargo, rustup and kanon caches, no
//! `KUBECONFIG`, and `target/` being this build's target directory (a symlink made for
//! the run, and removed after it, when `CARGO_TARGET_DIR` points elsewhere).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The languages of fenced blocks that hold commands.
const SHELL: &[&str] = &["sh", "bash", "shell", "console"];

/// How long one command may take at most (a cold `cargo build` included).
const COMMAND_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How long a command that got SIGINT may take to tear down.
const TEARDOWN_DEADLINE: Duration = Duration::from_secs(60);

/// A fenced block of the README.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string's first word.
    lang: String,
    /// The info string's other words: `key=value`, `key="value"` or `key`.
    attrs: Vec<(String, Option<String>)>,
    /// The lines between the fences.
    body: Vec<String>,
}

/// What the harness does with a shell block.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    Skip { line: usize, reason: String },
    Run(Spec),
}

/// A command to run and how it must end.
#[derive(Debug, Clone, PartialEq, Default)]
struct Spec {
    line: usize,
    /// The command as written (comment included).
    command: String,
    exit: i32,
    expect: Vec<String>,
    narrow: Option<String>,
    until: Option<String>,
    kubeconfig: Option<String>,
    cluster_dev: bool,
    needs_docker: bool,
}

impl Spec {
    /// Whether the command needs Docker and none answers here.
    fn docker_missing(&self, docker: bool) -> bool {
        self.needs_docker && !docker
    }
}

/// Splits an info string into words; `key="a b"` is one word (quotes removed).
fn info_words(info: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in info.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err(format!("unclosed quote in {info:?}"));
    }
    if started {
        words.push(word);
    }
    Ok(words)
}

/// Every fenced block of `text`.
fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        match open.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    let mut words = info_words(info)
                        .map_err(|e| format!("README.md:{}: {e}", i + 1))?
                        .into_iter();
                    let lang = words.next().unwrap_or_default();
                    let attrs = words
                        .map(|w| match w.split_once('=') {
                            Some((k, v)) => (k.to_string(), Some(v.to_string())),
                            None => (w, None),
                        })
                        .collect();
                    open = Some(Block {
                        line: i + 1,
                        lang,
                        attrs,
                        body: Vec::new(),
                    });
                }
            }
            Some(mut b) => {
                if line.trim_end() == "```" {
                    out.push(b);
                } else {
                    b.body.push(raw.to_string());
                    open = Some(b);
                }
            }
        }
    }
    match open {
        Some(b) => Err(format!("README.md:{}: unclosed code block", b.line)),
        None => Ok(out),
    }
}

/// The commands of a block: non-blank lines, `\` continuations joined.
fn commands(body: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in body {
        let trimmed = line.trim();
        if trimmed.is_empty() && current.is_empty() {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// The plan for each shell block (every problem, positioned).
fn plans(blocks: &[Block]) -> Result<Vec<Plan>, Vec<String>> {
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    for b in blocks.iter().filter(|b| SHELL.contains(&b.lang.as_str())) {
        match plan(b) {
            Ok(p) => plans.push(p),
            Err(e) => errors.push(format!("README.md:{}: {e}", b.line)),
        }
    }
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(errors)
    }
}

fn plan(b: &Block) -> Result<Plan, String> {
    let value = |k: &str, v: &Option<String>| {
        v.clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("`{k}` needs a value"))
    };
    let mut spec = Spec {
        line: b.line,
        ..Spec::default()
    };
    let mut skip = None;
    for (k, v) in &b.attrs {
        match k.as_str() {
            "skip" => skip = Some(value(k, v)?),
            "exit" => {
                spec.exit = value(k, v)?
                    .parse()
                    .map_err(|_| format!("exit={v:?}: not a number"))?
            }
            "expect" => spec.expect.push(value(k, v)?),
            "narrow" => spec.narrow = Some(value(k, v)?),
            "until" => spec.until = Some(value(k, v)?),
            "kubeconfig" => spec.kubeconfig = Some(value(k, v)?),
            "cluster" if v.as_deref() == Some("dev") => spec.cluster_dev = true,
            "needs" if v.as_deref() == Some("docker") => spec.needs_docker = true,
            other => return Err(format!("unknown marker `{other}`")),
        }
    }
    if let Some(reason) = skip {
        return Ok(Plan::Skip {
            line: b.line,
            reason,
        });
    }
    if b.attrs.is_empty() {
        return Err("a shell block without a marker: say how it runs (`exit=`, \
             `expect=`...) or why it is skipped (`skip=`); see conformance/tests/readme.rs"
            .into());
    }
    let mut cmds = commands(&b.body);
    if cmds.len() != 1 {
        return Err(format!(
            "a runnable block holds one command, this one {}",
            cmds.len()
        ));
    }
    if spec.expect.is_empty() {
        return Err("a runnable block names a line of its output with `expect=`".into());
    }
    if spec.kubeconfig.is_some() && spec.until.is_none() {
        return Err("`kubeconfig=` is for a block that runs `until=` a line".into());
    }
    spec.command = cmds.remove(0);
    Ok(Plan::Run(spec))
}

/// `command` without its trailing shell comment (a `#` starting a word, outside
/// quotes), as bash reads it.
fn strip_comment(command: &str) -> &str {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut prev = ' ';
    for (i, c) in command.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && !single {
            escaped = true;
        } else if c == '\'' && !double {
            single = !single;
        } else if c == '"' && !single {
            double = !double;
        } else if c == '#' && !single && !double && prev.is_whitespace() {
            return command[..i].trim_end();
        }
        prev = c;
    }
    command.trim_end()
}

/// The shell text the harness runs for `spec`.
fn shell_text(spec: &Spec) -> String {
    let code = strip_comment(&spec.command);
    match &spec.narrow {
        Some(args) => format!("{code} {args}"),
        None => code.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Running

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// This build's target directory: `<target>/debug/deps/<this test>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// `<repo>/target` as this build's target directory for the run: nothing to do when it
/// is; a symlink made (and removed on drop) when it is missing.
struct TargetLink(Option<PathBuf>);

impl TargetLink {
    fn make(repo: &Path, target: &Path) -> Result<Self, String> {
        let link = repo.join("target");
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same(&link, target) {
            return Ok(Self(None));
        }
        if link.symlink_metadata().is_ok() {
            return Err(format!(
                "the README's commands use target/debug/: {} exists and is not this build's \
                 target directory {} (CARGO_TARGET_DIR); remove it, or run without \
                 CARGO_TARGET_DIR",
                link.display(),
                target.display()
            ));
        }
        std::os::unix::fs::symlink(target, &link)
            .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
        Ok(Self(Some(link)))
    }
}

impl Drop for TargetLink {
    fn drop(&mut self) {
        if let Some(link) = &self.0 {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// Where and with what environment the commands run.
struct Env {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new() -> Self {
        let real_home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
        let from_env = |name: &str, default: PathBuf| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or(default)
        };
        let home = tempfile::Builder::new()
            .prefix("kanon-readme-home-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(home.path().join(".kube")).unwrap();
        let vars = vec![
            ("HOME", home.path().to_path_buf()),
            (
                "CARGO_HOME",
                from_env("CARGO_HOME", real_home.join(".cargo")),
            ),
            (
                "RUSTUP_HOME",
                from_env("RUSTUP_HOME", real_home.join(".rustup")),
            ),
            ("KANON_CACHE_DIR", kanon::cluster::assets::cache_root()),
            ("GOPATH", from_env("GOPATH", real_home.join("go"))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.display().to_string()))
        .collect();
        Self { home, vars }
    }

    /// `~/x` with this run's home.
    fn expand(&self, path: &str) -> PathBuf {
        match path.strip_prefix("~/") {
            Some(rest) => self.home.path().join(rest),
            None => PathBuf::from(path),
        }
    }
}

/// The variables `cargo test` sets for this test process: a user's shell has none of
/// them, and a `cargo build` that inherits them rebuilds every crate whose build script
/// watches one (`CARGO_PKG_NAME`...), then again in the user's shell.
fn set_by_cargo_test(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_BIN_", "CARGO_MANIFEST_"]
        .iter()
        .any(|p| name.starts_with(p))
        || [
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "OUT_DIR",
        ]
        .contains(&name)
}

/// A command started by `bash -c` in its own process group, its output lines arriving
/// on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    output: Vec<String>,
    started: Instant,
}

impl Running {
    fn start(text: &str, env: &Env) -> Self {
        let mut cmd = Command::new("bash");
        for (k, _) in std::env::vars_os() {
            if k.to_str().is_some_and(set_by_cargo_test) {
                cmd.env_remove(k);
            }
        }
        cmd.arg("-c")
            .arg(text)
            .current_dir(repo())
            .env_remove("KUBECONFIG")
            .env_remove("KANON_KUBECONFIG")
            .envs(env.vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().unwrap();
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(l);
            }
        });
        Self {
            child,
            lines: rx,
            output: Vec::new(),
            started: Instant::now(),
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with the child's process group id; no memory is involved.
        unsafe {
            libc::kill(-(self.child.id() as i32), sig);
        }
    }

    /// Reads output until a line holds `needle` (true) or the output ends or the
    /// deadline passes (false).
    fn wait_line(&mut self, needle: &str, deadline: Instant) -> bool {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    self.output.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Reads output to its end and waits for the exit; kills the process group at the
    /// deadline (None).
    fn finish(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.output.push(l),
                Err(RecvTimeoutError::Disconnected) => return self.child.wait().ok(),
                Err(RecvTimeoutError::Timeout) => {
                    self.signal(libc::SIGKILL);
                    let _ = self.child.wait();
                    return None;
                }
            }
        }
    }

    fn tail(&self) -> String {
        let from = self.output.len().saturating_sub(40);
        self.output[from..].join("\n")
    }
}

/// Checks how a command ended against `spec`; the problems, if any.
fn verdict(
    spec: &Spec,
    docker: bool,
    status: Option<ExitStatus>,
    output: &[String],
) -> Vec<String> {
    let mut problems = Vec::new();
    let (exit, expect) = if spec.docker_missing(docker) {
        (1, vec!["Docker".to_string()])
    } else {
        (spec.exit, spec.expect.clone())
    };
    match status.and_then(|s| s.code()) {
        Some(code) if code == exit => {}
        Some(code) => problems.push(format!("exit {code}, wanted {exit}")),
        None => problems.push(match status {
            None => "did not end in time".to_string(),
            Some(s) => format!("ended by {s}, wanted exit {exit}"),
        }),
    }
    for e in &expect {
        if !output.iter().any(|l| l.contains(e.as_str())) {
            problems.push(format!("no line holds {e:?}"));
        }
    }
    problems
}

/// Runs `spec` to its end; `during` runs once its `until` line appeared (and before
/// SIGINT). Returns the problems found, positioned.
fn run(
    spec: &Spec,
    env: &Env,
    docker: bool,
    during: impl FnOnce(&Env) -> Vec<String>,
) -> Vec<String> {
    let text = shell_text(spec);
    let mut proc = Running::start(&text, env);
    let deadline = Instant::now() + COMMAND_DEADLINE;
    let mut problems = Vec::new();
    let status = match &spec.until {
        Some(line) if !spec.docker_missing(docker) => {
            if proc.wait_line(line, deadline) {
                problems.extend(during(env));
                proc.signal(libc::SIGINT);
                proc.finish(Instant::now() + TEARDOWN_DEADLINE)
            } else {
                problems.push(format!("no line held {line:?}"));
                proc.finish(Instant::now())
            }
        }
        _ => proc.finish(deadline),
    };
    eprintln!(
        "readme: README.md:{} `{text}`: {} in {:.1}s",
        spec.line,
        status.map(|s| s.to_string()).unwrap_or("killed".into()),
        proc.started.elapsed().as_secs_f64()
    );
    problems.extend(verdict(spec, docker, status, &proc.output));
    if problems.is_empty() {
        return problems;
    }
    vec![format!(
        "README.md:{} `{text}`: {}\n--- last lines of its output:\n{}",
        spec.line,
        problems.join("; "),
        proc.tail()
    )]
}

/// Whether a Docker daemon answers (k3s needs one).
fn docker_available() -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let endpoint = kanon::cluster::k3s::docker_endpoint();
    rt.block_on(kanon::cluster::k3s::probe_docker(&endpoint))
        .is_ok()
}

#[test]
fn the_readme_commands_work_as_written() {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let plans = match blocks(&text).map_err(|e| vec![e]).and_then(|b| plans(&b)) {
        Ok(p) => p,
        Err(errors) => panic!("{}", errors.join("\n")),
    };
    let mut runs = Vec::new();
    for p in plans {
        match p {
            Plan::Skip { line, reason } => eprintln!("readme: README.md:{line}: skipped: {reason}"),
            Plan::Run(s) => runs.push(s),
        }
    }
    let _link = TargetLink::make(&repo(), &target_dir()).unwrap_or_else(|e| panic!("{e}"));
    let env = Env::new();
    let docker = docker_available();
    let (dev, rest): (Vec<Spec>, Vec<Spec>) = runs.into_iter().partition(|s| s.cluster_dev);
    let (servers, plain): (Vec<Spec>, Vec<Spec>) =
        rest.into_iter().partition(|s| s.kubeconfig.is_some());
    assert!(
        dev.is_empty() || !servers.is_empty(),
        "blocks marked cluster=dev need a block with kubeconfig= to serve the cluster"
    );
    let mut failures = Vec::new();
    for s in &plain {
        failures.extend(run(s, &env, docker, |_| Vec::new()));
    }
    let mut dev = Some(dev);
    for s in &servers {
        let for_dev = dev.take().unwrap_or_default();
        failures.extend(run(s, &env, docker, |env| {
            let config = env.home.path().join(".kube/config");
            let served = env.expand(s.kubeconfig.as_deref().unwrap_or_default());
            std::os::unix::fs::symlink(&served, &config).unwrap();
            let mut problems = Vec::new();
            for d in &for_dev {
                problems.extend(run(d, env, docker, |_| Vec::new()));
            }
            std::fs::remove_file(&config).unwrap();
            problems
        }));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------
// The parser, on its own.

#[test]
fn info_strings_split_into_quoted_words() {
    assert_eq!(
        info_words(r#"sh exit=0 expect="1 passed, 0 failed" narrow="--include '^a$'""#).unwrap(),
        [
            "sh",
            "exit=0",
            "expect=1 passed, 0 failed",
            "narrow=--include '^a$'"
        ]
    );
    assert!(info_words(r#"sh expect="open"#).is_err());
}

#[test]
fn markers_become_plans_and_mistakes_are_positioned() {
    let text = r#"intro
```sh exit=1 expect="boom" narrow="-q"
kanon test \
  --x   # a comment
```
```sh skip="needs a third-party operator"
a
b
```
```yaml
not: a command
```
```sh
unmarked
```
```sh exit=0 expect="x"
one
two
```
```sh exit=0 flavour=x expect="y"
a
```
"#;
    let b = blocks(text).unwrap();
    assert_eq!(b.len(), 6);
    let errors = plans(&b).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("README.md:13:") && errors[0].contains("without a marker"));
    assert!(errors[1].starts_with("README.md:16:") && errors[1].contains("one command"));
    assert!(errors[2].contains("unknown marker `flavour`"));
    let ok = plans(&b[..2]).unwrap();
    match &ok[0] {
        Plan::Run(s) => {
            assert_eq!(s.command, "kanon test  --x   # a comment");
            assert_eq!(
                (s.exit, s.expect.as_slice()),
                (1, &["boom".to_string()][..])
            );
            assert_eq!(shell_text(s), "kanon test  --x -q");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ok[1],
        Plan::Skip {
            line: 6,
            reason: "needs a third-party operator".into()
        }
    );
    assert!(blocks("```sh\nopen").unwrap_err().contains("unclosed"));
}

#[test]
fn comments_are_stripped_as_bash_reads_them() {
    assert_eq!(strip_comment("a b   # c"), "a b");
    assert_eq!(
        strip_comment("a 'x # y' \"#z\" b#c # d"),
        "a 'x # y' \"#z\" b#c"
    );
    assert_eq!(strip_comment("a \\# b"), "a \\# b");
    assert_eq!(strip_comment("plain"), "plain");
}

#[test]
fn verdicts_check_exit_codes_lines_and_missing_docker() {
    use std::os::unix::process::ExitStatusExt;
    let spec = Spec {
        exit: 0,
        expect: vec!["0 failed".into()],
        ..Spec::default()
    };
    let ok = ExitStatus::from_raw(0);
    let one = ExitStatus::from_raw(1 << 8);
    let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(verdict(&spec, false, Some(ok), &lines(&["3 passed, 0 failed"])).is_empty());
    let p = verdict(&spec, false, Some(one), &lines(&["1 failed"]));
    assert_eq!(p, ["exit 1, wanted 0", "no line holds \"0 failed\""]);
    assert_eq!(verdict(&spec, false, None, &[]).len(), 2);
    let docker = Spec {
        needs_docker: true,
        ..spec.clone()
    };
    let missing = lines(&["kanon: cluster: no Docker daemon answers at unix:///x"]);
    assert!(verdict(&docker, false, Some(one), &missing).is_empty());
    assert!(!verdict(&docker, true, Some(one), &missing).is_empty());
}
