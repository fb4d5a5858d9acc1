//! The console: one line per operation as it finishes, a line per scenario, and the
//! closing `N passed, N failed, N skipped` line.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use super::model::{OperationReport, ScenarioReport, Status, Totals, summary_line};

/// How much the console says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Every operation.
    #[default]
    Normal,
    /// Failures and the summary only.
    Quiet,
}

/// Writes progress lines; safe to share between parallel scenarios.
pub struct Console {
    out: Mutex<Box<dyn Write + Send>>,
    colour: bool,
    verbosity: Verbosity,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("colour", &self.colour)
            .field("verbosity", &self.verbosity)
            .finish()
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Console {
    /// A console on stdout, coloured when stdout is a terminal (and `NO_COLOR` is unset).
    pub fn stdout(verbosity: Verbosity) -> Self {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self::new(Box::new(std::io::stdout()), colour, verbosity)
    }

    /// A console on any writer.
    pub fn new(out: Box<dyn Write + Send>, colour: bool, verbosity: Verbosity) -> Self {
        Self {
            out: Mutex::new(out),
            colour,
            verbosity,
        }
    }

    fn paint(&self, colour: &str, text: &str) -> String {
        if self.colour {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn status_word(&self, s: Status) -> String {
        match s {
            Status::Passed => self.paint(GREEN, "PASS"),
            Status::Flaky => self.paint(YELLOW, "FLAKY"),
            Status::Failed => self.paint(RED, "FAIL"),
            Status::Skipped => self.paint(YELLOW, "SKIP"),
        }
    }

    /// Prints `text` as it is (messages outside the operation / scenario lines).
    pub fn line_raw(&self, text: &str) {
        self.line(text);
    }

    fn line(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    /// One finished operation.
    pub fn operation(&self, scenario: &str, step: &str, op: &OperationReport) {
        if self.verbosity == Verbosity::Quiet && op.status != Status::Failed {
            return;
        }
        let time = op.started.get(11..19).unwrap_or(&op.started);
        let mut text = format!(
            "{} {:<5} {} | {} | {:<8} {}{}",
            self.paint(DIM, time),
            self.status_word(op.status),
            scenario,
            step,
            op.operation,
            op.object.as_deref().unwrap_or(""),
            self.paint(DIM, &format!(" ({:.2}s)", op.duration.as_secs_f64()))
        );
        if op.operation == "disrupt" && !op.output.is_empty() {
            // What a disruption did (or, when lifted, what it injected).
            text.push_str(&format!("\n      {}", op.output));
        }
        if let Some(f) = &op.failure {
            text.push_str(&format!("\n      {}: {}", op.location, f.message));
            for e in &f.errors {
                text.push_str(&format!("\n      {e}"));
            }
            if !f.diff.is_empty() {
                for l in f.diff.lines() {
                    let painted = if l.starts_with('+') && !l.starts_with("+++") {
                        self.paint(GREEN, l)
                    } else if l.starts_with('-') && !l.starts_with("---") {
                        self.paint(RED, l)
                    } else {
                        l.to_string()
                    };
                    text.push_str(&format!("\n      {painted}"));
                }
            }
        }
        self.line(&text);
    }

    /// A step that was skipped (`skip: true`): none of its operations ran.
    pub fn step_skipped(&self, scenario: &str, step: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        let now = super::model::now_rfc3339();
        self.line(&format!(
            "{} {:<5} {} | {} | step skipped (skip: true)",
            self.paint(DIM, now.get(11..19).unwrap_or(&now)),
            self.status_word(Status::Skipped),
            scenario,
            step
        ));
    }

    /// One finished scenario.
    pub fn scenario(&self, s: &ScenarioReport) {
        if self.verbosity == Verbosity::Quiet && s.status.is_success() {
            return;
        }
        let retries = if s.attempts.len() > 1 {
            format!(" after {} attempts", s.attempts.len())
        } else {
            String::new()
        };
        let mut text = format!(
            "{} {} ({}){retries} in {:.2}s",
            self.status_word(s.status),
            s.name,
            s.file,
            s.duration().as_secs_f64()
        );
        if s.status == Status::Failed
            && let Some(f) = s.failure()
        {
            text.push_str(&format!("\n      {}", f.message));
            // Without steps (a file that did not load), nothing else showed the errors.
            if s.attempts.last().is_some_and(|a| a.steps.is_empty()) && f.errors.len() > 1 {
                for e in &f.errors {
                    text.push_str(&format!("\n      {e}"));
                }
            }
            if let Some(e) = &s.evidence {
                text.push_str(&format!("\n      evidence: {e}"));
            }
        }
        if s.status == Status::Skipped
            && let Some(r) = &s.skip_reason
        {
            text.push_str(&format!("\n      skipped: {r}"));
        }
        self.line(&text);
    }

    /// The closing line.
    pub fn summary(&self, t: &Totals) {
        let line = summary_line(t);
        let painted = if t.failed > 0 {
            self.paint(RED, &line)
        } else {
            self.paint(GREEN, &line)
        };
        self.line(&painted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Failure, SourceLocation};
    use std::sync::Arc;
    use std::time::Duration;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn op(status: Status) -> OperationReport {
        OperationReport {
            operation: "assert".into(),
            block: "try".into(),
            location: SourceLocation {
                file: "s.yaml".into(),
                line: 12,
                column: 7,
            },
            object: Some("v1/ConfigMap ns/a".into()),
            status,
            started: "2026-11-23T07:01:02.345Z".into(),
            duration: Duration::from_millis(1500),
            failure: (status == Status::Failed).then(|| Failure {
                message: "no object matched".into(),
                errors: vec!["data.k: expected 1, got 2".into()],
                diff: "--- expected\n+++ actual\n-k: 1\n+k: 2".into(),
            }),
            output: String::new(),
        }
    }

    #[test]
    fn lines_name_time_scenario_step_operation_status_and_object() {
        let buf = Buf::default();
        let c = Console::new(Box::new(buf.clone()), false, Verbosity::Normal);
        c.operation("scn", "step-1", &op(Status::Passed));
        c.operation("scn", "step-1", &op(Status::Failed));
        c.summary(&Totals {
            passed: 1,
            failed: 1,
            skipped: 0,
            flaky: 0,
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("07:01:02 PASS  scn | step-1 | assert   v1/ConfigMap ns/a (1.50s)"),
            "{text}"
        );
        assert!(text.contains("s.yaml:12:7: no object matched"), "{text}");
        assert!(text.contains("data.k: expected 1, got 2"));
        assert!(text.contains("+k: 2"));
        assert!(
            text.trim_end().ends_with("1 passed, 1 failed, 0 skipped"),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "no colour when not a terminal");
    }

    #[test]
    fn skipped_steps_get_a_line_of_their_own() {
        let buf = Buf::default();
        let c = Console::new(Box::new(buf.clone()), false, Verbosity::Normal);
        c.step_skipped("scn", "later");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("SKIP  scn | later | step skipped (skip: true)"),
            "{text}"
        );
        let quiet = Buf::default();
        Console::new(Box::new(quiet.clone()), false, Verbosity::Quiet).step_skipped("scn", "s");
        assert!(quiet.0.lock().unwrap().is_empty());
    }

    #[test]
    fn quiet_shows_failures_only() {
        let buf = Buf::default();
        let c = Console::new(Box::new(buf.clone()), true, Verbosity::Quiet);
        c.operation("scn", "s", &op(Status::Passed));
        c.operation("scn", "s", &op(Status::Failed));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches("assert").count(), 1, "{text}");
        assert!(text.contains(RED));
    }
}
