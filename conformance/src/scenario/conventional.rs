//! Chainsaw's conventional (KUTTL-like) layout: a folder without a test file whose
//! files are named `<index>-<name>.yaml` (or `.yml`) is one test, one step per index.
//!
//! As in Chainsaw's discovery (`^(\d+)-(.*)\.(?:yaml|yml)$`): steps are ordered by
//! their index text and named `step-<index>`; within a step, `<index>-assert.yaml`
//! files become `assert` operations, `<index>-errors.yaml` files `error` operations,
//! `<index>-cleanup.yaml` files are ignored (Chainsaw collects but never runs them), and
//! every other file is applied, in this order: apply files, then asserts, then errors,
//! each group in file-name order. The test is named after the folder, lower-cased with
//! `_` turned into `-`, and behaves as a Chainsaw `Test`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::load::load_documents;
use super::model::*;
use super::timeouts::Timeouts;
use super::validate::validate_tree_with;
use super::{Location, ParseError};
use crate::expr::Compiler;

/// The role a step file plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    /// Applied.
    Apply,
    /// Asserted.
    Assert,
    /// Must not match (`errors`).
    Error,
    /// Chainsaw ignores it.
    Cleanup,
}

/// Splits a step file name into its index and role (`None`: not a step file).
pub(crate) fn step_file(name: &str) -> Option<(String, Role)> {
    let stem = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))?;
    let (index, rest) = stem.split_once('-')?;
    if index.is_empty() || !index.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let role = match rest {
        "assert" => Role::Assert,
        "errors" => Role::Error,
        "cleanup" => Role::Cleanup,
        _ => Role::Apply,
    };
    Some((index.to_string(), role))
}

/// The step files directly in `dir`, sorted by name (empty when there are none).
pub(crate) fn step_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| step_file(n).is_some())
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Loads `dir` as a conventional test from its step `files` (see [`step_files`]); the
/// unprefixed `(expr)` strings of its files are in `compiler` (a run configuration's
/// default, else JMESPath).
pub(crate) fn load_conventional(
    dir: &Path,
    files: &[PathBuf],
    compiler: Compiler,
) -> Result<Scenario, Vec<ParseError>> {
    let mut errors = Vec::new();
    let mut steps: BTreeMap<String, Vec<(Role, PathBuf)>> = BTreeMap::new();
    for f in files {
        let Some((index, role)) = f.file_name().and_then(|n| n.to_str()).and_then(step_file) else {
            continue;
        };
        steps.entry(index).or_default().push((role, f.clone()));
    }
    let Some(first) = files.first() else {
        return Err(vec![ParseError::file(dir, "no step files in folder")]);
    };
    let location = Location::new(&Arc::new(first.clone()), 1, 1);
    let mut model_steps = Vec::new();
    for (index, mut group) in steps {
        group.sort();
        let mut try_ = Vec::new();
        for (role, path) in group {
            if role == Role::Cleanup {
                continue;
            }
            let file = Arc::new(path.clone());
            let docs = match load_documents(&path) {
                Ok(d) => d,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for node in &docs {
                for (line, column, message) in validate_tree_with(node, compiler) {
                    errors.push(Location::new(&file, line, column).error(message));
                }
            }
            let at = docs
                .first()
                .map(|d| d.location(&file))
                .unwrap_or_else(|| Location::new(&file, 1, 1));
            let manifests: Vec<Manifest> = docs
                .into_iter()
                .map(|node| Manifest {
                    file: Arc::clone(&file),
                    node,
                    source: ManifestSource::File(path.clone()),
                })
                .collect();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let operation = match role {
                Role::Apply => Operation::Apply(ResourceOp {
                    location: at.clone(),
                    resources: manifests,
                    file: Some(name),
                    template: None,
                    dry_run: None,
                    bindings: vec![],
                    outputs: vec![],
                    expect: vec![],
                    timeout: None,
                    cluster: None,
                    subresource: None,
                }),
                Role::Assert | Role::Error => {
                    let check = CheckOp {
                        location: at.clone(),
                        trees: manifests,
                        file: Some(name),
                        template: None,
                        bindings: vec![],
                        timeout: None,
                        cluster: None,
                        mock: None,
                    };
                    if role == Role::Assert {
                        Operation::Assert(check)
                    } else {
                        Operation::Error(check)
                    }
                }
                Role::Cleanup => continue,
            };
            try_.push(StepOperation {
                location: at,
                description: None,
                continue_on_error: false,
                compiler,
                clusters: vec![],
                operation,
            });
        }
        model_steps.push(Step {
            name: format!("step-{index}"),
            location: try_
                .first()
                .map(|o: &StepOperation| o.location.clone())
                .unwrap_or_else(|| location.clone()),
            description: None,
            timeouts: Timeouts::default(),
            skip_delete: None,
            template: None,
            bindings: vec![],
            try_,
            catch: vec![],
            finally: vec![],
            cleanup: vec![],
            deletion_propagation_policy: None,
            cluster: None,
            clusters: vec![],
            skip: false,
            template_file: None,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase().replace('_', "-"))
        .unwrap_or_else(|| "scenario".into());
    Ok(Scenario {
        flavor: Flavor::Chainsaw,
        name,
        location,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        description: None,
        clauses: vec![],
        mocks: vec![],
        values: None,
        timeouts: Timeouts::default(),
        timeout: None,
        skip: false,
        concurrent: None,
        skip_delete: None,
        fail_fast: None,
        template: None,
        namespace: None,
        namespace_template: None,
        namespace_template_compiler: compiler,
        bindings: vec![],
        binding_sets: vec![],
        steps: model_steps,
        catch: vec![],
        deletion_propagation_policy: None,
        delay_before_cleanup: None,
        fast_namespace_deletion: None,
        force_termination_grace_period: None,
        cluster: None,
        clusters: Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("00-configmap.yaml", Some(("00", Role::Apply)))]
    #[case("01-assert.yaml", Some(("01", Role::Assert)))]
    #[case("02-errors.yml", Some(("02", Role::Error)))]
    #[case("03-cleanup.yaml", Some(("03", Role::Cleanup)))]
    #[case("10-my-assert.yaml", Some(("10", Role::Apply)))]
    #[case("1-x.yaml", Some(("1", Role::Apply)))]
    #[case("chainsaw-test.yaml", None)]
    #[case("01.yaml", None)]
    #[case("01-a.json", None)]
    #[case("a1-x.yaml", None)]
    fn step_files_are_recognised(#[case] name: &str, #[case] expected: Option<(&str, Role)>) {
        assert_eq!(
            step_file(name),
            expected.map(|(i, r)| (i.to_string(), r)),
            "{name}"
        );
    }

    #[test]
    fn a_folder_becomes_one_step_per_index() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("My_Test");
        std::fs::create_dir(&root).unwrap();
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
        for (name, text) in [
            ("00-configmap.yaml", cm),
            ("00-assert.yaml", cm),
            ("01-update.yaml", cm),
            ("01-errors.yaml", cm),
            ("01-cleanup.yaml", cm),
            ("README.md", "not yaml: ["),
        ] {
            std::fs::write(root.join(name), text).unwrap();
        }
        let files = step_files(&root);
        assert_eq!(files.len(), 5);
        let s = load_conventional(&root, &files, Compiler::Jp).unwrap();
        assert_eq!(s.name, "my-test");
        assert_eq!(s.flavor, Flavor::Chainsaw);
        let shape: Vec<(String, Vec<&str>)> = s
            .steps
            .iter()
            .map(|st| {
                (
                    st.name.clone(),
                    st.try_.iter().map(|o| o.operation.name()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("step-00".to_string(), vec!["apply", "assert"]),
                ("step-01".to_string(), vec!["apply", "error"]),
            ]
        );
    }

    #[test]
    fn a_bad_expression_in_a_step_file_is_positioned() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("00-assert.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  (a.): x\n",
        )
        .unwrap();
        let errs =
            load_conventional(dir.path(), &step_files(dir.path()), Compiler::Jp).unwrap_err();
        let text = errs[0].to_string();
        assert!(text.contains("00-assert.yaml:5:"), "{text}");
    }
}
