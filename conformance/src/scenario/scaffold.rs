//! `kanon new NAME`: a new scenario folder with a commented example that lints clean.

use std::path::{Path, PathBuf};

/// Why a scenario could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name cannot be a folder and scenario name.
    #[error(
        "invalid scenario name {0:?}: use lowercase letters, digits and `-` (a Kubernetes-style name)"
    )]
    InvalidName(String),
    /// The folder is already there.
    #[error("{} already exists; kanon new will not overwrite it (choose another name or remove it)", .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Where the scenario schema is checked in, relative to the repository root.
pub const SCHEMA_PATH: &str = "fixtures/schema/scenario.schema.json";

/// Creates `dir/name/scenario.yaml` and returns its path. `schema` is the schema URL or
/// path written in the `# yaml-language-server: $schema=` header.
pub fn scaffold(dir: &Path, name: &str, schema: &str) -> Result<PathBuf, ScaffoldError> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        return Err(ScaffoldError::InvalidName(name.to_string()));
    }
    let folder = dir.join(name);
    if folder.exists() {
        return Err(ScaffoldError::Exists(folder));
    }
    std::fs::create_dir_all(&folder).map_err(|source| ScaffoldError::Io {
        path: folder.clone(),
        source,
    })?;
    let file = folder.join("scenario.yaml");
    std::fs::write(&file, template(name, schema)).map_err(|source| ScaffoldError::Io {
        path: file.clone(),
        source,
    })?;
    Ok(file)
}

/// The relative path from `folder` (where the scenario goes) to the checked-in schema,
/// when the repository root is found above it (a folder holding `fixtures/schema`).
pub fn schema_reference(folder: &Path) -> String {
    let abs = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
    let mut ups = String::new();
    for dir in abs.ancestors() {
        if dir.join(SCHEMA_PATH).is_file() {
            return format!("{ups}{SCHEMA_PATH}");
        }
        ups.push_str("../");
    }
    SCHEMA_PATH.to_string()
}

/// The scenario text.
pub fn template(name: &str, schema: &str) -> String {
    format!(
        r#"# yaml-language-server: $schema={schema}
#
# A kanon scenario: `kanon lint` checks it without a cluster, `kanon test PATH` runs it.
# Every operation waits for its condition (watch-driven) up to its timeout; nothing
# sleeps. Objects created here live in a fresh namespace (`$namespace`) that kanon
# deletes at the end, so there is no cleanup to write for them: `cleanup` blocks are
# for what lives outside the namespace.
apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata:
  name: {name}
spec:
  description: Describe what this scenario shows about the operator.
  # Contract clauses this scenario checks (IDs from the suite's clause catalogue).
  clauses: []
  # Bindings are visible as `$name` in every `(expression)` below.
  bindings:
  - name: greeting
    value: hello
  steps:
  - name: create
    try:
    # Create or update an object (inline here; `file: some.yaml` works too).
    - apply:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: example
          data:
            greeting: ($greeting)
    # Wait until the live object matches this partial tree.
    - assert:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: example
          data:
            (length(greeting) > `0`): true
    # Wait until no object matches this tree.
    - error:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: example
          data:
            greeting: goodbye
    # Runs only when a `try` operation failed: gather what explains the failure.
    catch:
    - events: {{}}
    - describe:
        apiVersion: v1
        kind: ConfigMap
        name: example
"#
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_names_and_existing_folders() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            scaffold(dir.path(), "Bad Name", SCHEMA_PATH),
            Err(ScaffoldError::InvalidName(_))
        ));
        let file = scaffold(dir.path(), "demo", SCHEMA_PATH).unwrap();
        assert!(file.ends_with("demo/scenario.yaml"));
        assert!(matches!(
            scaffold(dir.path(), "demo", SCHEMA_PATH),
            Err(ScaffoldError::Exists(_))
        ));
    }

    #[test]
    fn scaffold_lints_clean() {
        let text = template("demo", SCHEMA_PATH);
        let findings = super::super::lint::lint_str(Path::new("demo/scenario.yaml"), &text, None);
        assert!(findings.is_empty(), "{findings:?}");
    }
}
