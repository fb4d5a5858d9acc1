//! Source positions and positioned parse errors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a node of a scenario came from: `file:line:column` (1-based).
///
/// Every model node carries one, so that any later error (lint, runtime failure, report)
/// can point at its source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file the node was read from.
    pub file: Arc<PathBuf>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

impl Location {
    /// Builds a location in `file`.
    pub fn new(file: &Arc<PathBuf>, line: u32, column: u32) -> Self {
        Self {
            file: Arc::clone(file),
            line,
            column,
        }
    }

    /// Builds a location from a serde-saphyr location (line 0 when unknown).
    pub(crate) fn from_saphyr(file: &Arc<PathBuf>, loc: serde_saphyr::Location) -> Self {
        Self::new(file, loc.line() as u32, loc.column() as u32)
    }

    /// A parse error at this location.
    pub fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            file: self.file.as_ref().clone(),
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }

    /// The location `offset` characters further on the same line.
    pub fn shifted(&self, offset: usize) -> Self {
        Self {
            file: Arc::clone(&self.file),
            line: self.line,
            column: self.column.saturating_add(offset as u32),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A positioned error found while loading a scenario (YAML syntax, wrong type, unknown
/// field, bad duration, unparsable expression, missing referenced file...).
///
/// Displays as `file:line:column: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct ParseError {
    /// The file where the problem is.
    pub file: PathBuf,
    /// 1-based line (0 when the file itself cannot be read).
    pub line: u32,
    /// 1-based column (0 when the file itself cannot be read).
    pub column: u32,
    /// What is wrong, and when possible what to do about it.
    pub message: String,
}

impl ParseError {
    /// An error about a whole file (for example, one that cannot be read).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// Converts a serde-saphyr error into a positioned error in `file`.
    pub(crate) fn from_saphyr(file: &Path, err: &serde_saphyr::Error) -> Self {
        let (line, column) = err
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((0, 0));
        let text = err.without_snippet().to_string();
        Self {
            file: file.to_path_buf(),
            line,
            column,
            message: strip_saphyr_prefix(&text),
        }
    }
}

/// serde-saphyr renders `error: line L column C: message`; keep only `message`.
fn strip_saphyr_prefix(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text).trim();
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    let mut message = rest;
    if let Some(after_line) = rest.strip_prefix("line ")
        && let Some(idx) = after_line.find(": ")
        && after_line[..idx].contains("column")
    {
        message = &after_line[idx + 2..];
    }
    // The position is reported separately; drop serde-saphyr's own copy of it.
    if let Some(idx) = message.find(" at line ") {
        message = &message[..idx];
    }
    if message == "expected string scalar" {
        return "wrong type: expected a single value (string, number or boolean), found a sequence or a mapping".to_string();
    }
    message.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn display_is_file_line_column_message() {
        let loc = Location::new(&Arc::new(PathBuf::from("a/b.yaml")), 3, 7);
        assert_eq!(loc.to_string(), "a/b.yaml:3:7");
        assert_eq!(loc.error("boom").to_string(), "a/b.yaml:3:7: boom");
    }

    #[test]
    fn strips_saphyr_prefix() {
        assert_eq!(
            strip_saphyr_prefix("error: line 3 column 11: invalid boolean"),
            "invalid boolean"
        );
        assert_eq!(strip_saphyr_prefix("plain"), "plain");
        assert_eq!(
            strip_saphyr_prefix("unknown field `x` at line 3, column 4"),
            "unknown field `x`"
        );
    }
}
