//! Failure evidence: for a failed scenario, a folder under the report dir holding what a
//! reader needs to see why without re-running:
//!
//! - `objects/<kind>.<namespace>.<name>.yaml`: the final state of every object the
//!   scenario created or asserted on (Secrets redacted, managedFields dropped);
//! - `events.txt`: the Events of the scenario's namespace;
//! - `failure.txt`: the failing operation, its errors and its diff;
//! - `logs/<process>.log`: the log tail of each process kanon started (operator, scripts).

use std::path::{Path, PathBuf};

use super::ReportError;
use super::model::{Failure, SourceLocation};
use crate::ops::diagnostics::{self, Lookup};
use crate::ops::{ObjectRef, OpEnv};

/// What to put into an evidence folder.
#[derive(Debug, Clone, Default)]
pub struct EvidenceInput {
    /// Objects the scenario created or asserted on.
    pub objects: Vec<ObjectRef>,
    /// The failing operation's location.
    pub location: Option<SourceLocation>,
    /// The failure.
    pub failure: Failure,
    /// `(process name, log tail)` of processes kanon started.
    pub logs: Vec<(String, String)>,
}

/// A file-name-safe rendering of `s`.
pub fn safe_name(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() { "_".into() } else { out }
}

fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ReportError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the evidence of one failed scenario into `dir` (created). A lookup that fails
/// (the cluster is gone, the kind was deleted) is written down instead of aborting.
pub async fn collect(
    env: &OpEnv,
    dir: &Path,
    input: &EvidenceInput,
) -> Result<PathBuf, ReportError> {
    let mut failure = String::new();
    if let Some(loc) = &input.location {
        failure.push_str(&format!("{loc}: "));
    }
    failure.push_str(&input.failure.message);
    failure.push('\n');
    for e in &input.failure.errors {
        failure.push_str(&format!("  {e}\n"));
    }
    if !input.failure.diff.is_empty() {
        failure.push('\n');
        failure.push_str(&input.failure.diff);
        failure.push('\n');
    }
    write(&dir.join("failure.txt"), &failure)?;

    let mut seen = Vec::new();
    for r in &input.objects {
        if seen.contains(r) {
            continue;
        }
        seen.push(r.clone());
        let lookup = Lookup {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            name: Some(r.name.clone()),
            selector: None,
            namespace: r.namespace.clone(),
        };
        let text = match diagnostics::get(env, &lookup).await {
            Ok(t) => t,
            Err(e) => format!("# could not read {r}: {e}\n"),
        };
        let file = format!(
            "{}.{}.{}.yaml",
            safe_name(&r.kind.to_lowercase()),
            safe_name(r.namespace.as_deref().unwrap_or("_cluster")),
            safe_name(&r.name)
        );
        write(&dir.join("objects").join(file), &text)?;
    }

    let events = match diagnostics::events(env, None).await {
        Ok(t) if t.is_empty() => "(no events)\n".to_string(),
        Ok(t) => t,
        Err(e) => format!("could not list events: {e}\n"),
    };
    write(&dir.join("events.txt"), &events)?;

    for (name, tail) in &input.logs {
        write(
            &dir.join("logs").join(format!("{}.log", safe_name(name))),
            tail,
        )?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(safe_name("kanon-ns/a b:c"), "kanon-ns_a_b_c");
        assert_eq!(safe_name(""), "_");
        assert_eq!(safe_name("MCPServer.v1"), "MCPServer.v1");
    }
}
