//! Installing CRDs before a run: every YAML document in the given files and folders is
//! applied (server-side), then kanon waits, watch-driven, until each CRD is Established.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::k8s::selector::LabelSelector;
use crate::ops::apply::{WriteOptions, apply};
use crate::ops::wait::{WaitFor, WaitSpec, wait};
use crate::ops::{OpEnv, OpError};

/// Errors installing CRDs.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not YAML.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The server refused a CRD or it never became Established.
    #[error("{}: {source}", path.display())]
    Apply {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: Box<OpError>,
    },
}

/// The YAML files named by `paths`: files as given, folders' `*.yaml` / `*.yml` sorted.
pub fn yaml_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CrdError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|source| CrdError::Io {
                    path: p.clone(),
                    source,
                })?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(CrdError::Io {
                path: p.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            });
        }
    }
    Ok(out)
}

/// Every non-empty YAML document of `path`.
pub fn documents(path: &Path) -> Result<Vec<Value>, CrdError> {
    let text = std::fs::read_to_string(path).map_err(|source| CrdError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| CrdError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Applies every document of `paths` and waits for the CRDs among them to be
/// Established. Returns the CRD names.
pub async fn install(
    env: &OpEnv,
    paths: &[PathBuf],
    timeout: Duration,
) -> Result<Vec<String>, CrdError> {
    let mut crds = Vec::new();
    for file in yaml_files(paths)? {
        for doc in documents(&file)? {
            let is_crd =
                doc.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
            let name = doc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string);
            apply(env, doc, WriteOptions::default())
                .await
                .map_err(|source| CrdError::Apply {
                    path: file.clone(),
                    source: Box::new(source),
                })?;
            if let (true, Some(name)) = (is_crd, name) {
                crds.push((file.clone(), name));
            }
        }
    }
    for (file, name) in &crds {
        let spec = WaitSpec {
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            name: Some(name.clone()),
            selector: LabelSelector::default(),
            namespace: None,
            for_: WaitFor::Condition {
                name: "Established".into(),
                value: Some("True".into()),
            },
        };
        wait(env, &spec, timeout)
            .await
            .map_err(|source| CrdError::Apply {
                path: file.clone(),
                source: Box::new(source),
            })?;
    }
    Ok(crds.into_iter().map(|(_, n)| n).collect())
}
