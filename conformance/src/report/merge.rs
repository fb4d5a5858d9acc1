//! `kanon report merge`: the `report.json` of every shard of one suite (run on several
//! machines with `--shard-index` / `--shard-count`) joined into one run report, from
//! which the usual reports are written again. Clause verdicts are not merged: they are
//! computed again from the joined scenarios by the same function a run uses
//! ([`super::conformance::build`]), so a clause passes only if every scenario behind
//! it passed, in whichever shard ran it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::model::RunReport;

/// The report file each shard's report folder holds.
pub const REPORT_JSON: &str = "report.json";

/// Why shard reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A report folder has no readable `report.json`.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A `report.json` is not a kanon run report.
    #[error("{}: not a kanon report.json: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Nothing to merge.
    #[error("no report folders given")]
    Empty,
    /// Some reports come from shards and some do not.
    #[error("{} is not a shard's report (it has no shard) while {} is: merge the reports of one sharded suite", unsharded.display(), sharded.display())]
    Mixed {
        /// A report without a shard.
        unsharded: PathBuf,
        /// A report with one.
        sharded: PathBuf,
    },
    /// The shards do not split the suite the same way.
    #[error("{} is shard {index} of {count} while {} splits the suite into {other}", first.display(), second.display())]
    Counts {
        /// One report.
        first: PathBuf,
        /// Its shard index.
        index: usize,
        /// Its shard count.
        count: usize,
        /// A report with another count.
        second: PathBuf,
        /// That count.
        other: usize,
    },
    /// One shard given twice.
    #[error("shard index {index} is given twice: {} and {}", first.display(), second.display())]
    Duplicate {
        /// The index.
        index: usize,
        /// One report.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Shards missing: their scenarios would be missing from the verdicts.
    #[error("shard index(es) {} of {count} missing: every shard's report folder is needed, or clauses could pass on the scenarios of some shards only", missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    Missing {
        /// The missing indices.
        missing: Vec<usize>,
        /// The shard count.
        count: usize,
    },
}

/// One shard's report and the folder it was read from.
#[derive(Debug, Clone)]
pub struct ShardReport {
    /// Its report folder.
    pub dir: PathBuf,
    /// Its `report.json`.
    pub run: RunReport,
}

/// Reads `dir/report.json`.
pub fn read(dir: &Path) -> Result<ShardReport, MergeError> {
    let path = dir.join(REPORT_JSON);
    let text = std::fs::read_to_string(&path).map_err(|source| MergeError::Read {
        path: path.clone(),
        source,
    })?;
    let run = serde_json::from_str(&text).map_err(|e| MergeError::Parse {
        path,
        message: e.to_string(),
    })?;
    Ok(ShardReport {
        dir: dir.to_path_buf(),
        run,
    })
}

/// The joined run, with what the caller should say about it.
#[derive(Debug, Clone)]
pub struct Merged {
    /// Every shard's scenarios, shard by shard.
    pub run: RunReport,
    /// Things worth a warning (a scenario run by two shards, differing values or
    /// versions); none of them stops the merge.
    pub notes: Vec<String>,
}

/// Joins `shards` into one run: every scenario of every shard, in shard order; started
/// when the first shard started, as long as the longest shard; interrupted when one
/// was. Sharded reports must be the complete set of one split (each index once, one
/// count); reports of unsharded runs are joined as they are.
pub fn merge(shards: &[ShardReport]) -> Result<Merged, MergeError> {
    let Some(first) = shards.first() else {
        return Err(MergeError::Empty);
    };
    let mut ordered: Vec<&ShardReport> = shards.iter().collect();
    match shards.iter().find(|s| s.run.shard.is_some()) {
        None => {}
        Some(sharded) => {
            if let Some(u) = shards.iter().find(|s| s.run.shard.is_none()) {
                return Err(MergeError::Mixed {
                    unsharded: u.dir.clone(),
                    sharded: sharded.dir.clone(),
                });
            }
            let info = |s: &ShardReport| {
                s.run
                    .shard
                    .unwrap_or(super::model::ShardInfo { index: 0, count: 0 })
            };
            let one = info(sharded);
            let mut by_index: BTreeMap<usize, &ShardReport> = BTreeMap::new();
            for s in shards {
                let i = info(s);
                if i.count != one.count {
                    return Err(MergeError::Counts {
                        first: sharded.dir.clone(),
                        index: one.index,
                        count: one.count,
                        second: s.dir.clone(),
                        other: i.count,
                    });
                }
                if let Some(prev) = by_index.insert(i.index, s) {
                    return Err(MergeError::Duplicate {
                        index: i.index,
                        first: prev.dir.clone(),
                        second: s.dir.clone(),
                    });
                }
            }
            let missing: Vec<usize> = (0..one.count)
                .filter(|i| !by_index.contains_key(i))
                .collect();
            if !missing.is_empty() {
                return Err(MergeError::Missing {
                    missing,
                    count: one.count,
                });
            }
            ordered = by_index.into_values().collect();
        }
    }
    let mut notes = Vec::new();
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for s in &ordered {
        for sc in &s.run.scenarios {
            if let Some(other) = seen.insert(sc.name.as_str(), &s.dir) {
                notes.push(format!(
                    "scenario {} is in {} and in {}: both runs count",
                    sc.name,
                    other.display(),
                    s.dir.display()
                ));
            }
        }
        if s.run.values != first.run.values {
            notes.push(format!(
                "{} ran with other documented $values than {}; the merged report shows {}'s",
                s.dir.display(),
                first.dir.display(),
                first.dir.display()
            ));
        }
        if s.run.kanon_version != first.run.kanon_version {
            notes.push(format!(
                "{} was written by kanon {}, {} by kanon {}",
                s.dir.display(),
                s.run.kanon_version,
                first.dir.display(),
                first.run.kanon_version
            ));
        }
    }
    let run = RunReport {
        kanon_version: first.run.kanon_version.clone(),
        started: ordered
            .iter()
            .map(|s| s.run.started.clone())
            .min()
            .unwrap_or_default(),
        duration: ordered
            .iter()
            .map(|s| s.run.duration)
            .max()
            .unwrap_or_default(),
        scenarios: ordered
            .iter()
            .flat_map(|s| s.run.scenarios.iter().cloned())
            .collect(),
        values: first.run.values.clone(),
        interrupted: ordered.iter().find_map(|s| {
            s.run
                .interrupted
                .as_ref()
                .map(|why| format!("{why} in {}", s.dir.display()))
        }),
        shard: None,
    };
    Ok(Merged { run, notes })
}

/// Copies each failed scenario's evidence folder from its shard's report folder into
/// `out` (same relative path), so the merged report folder stands alone.
pub fn copy_evidence(shards: &[ShardReport], out: &Path) -> std::io::Result<()> {
    for s in shards {
        for sc in &s.run.scenarios {
            let Some(rel) = &sc.evidence else { continue };
            let from = s.dir.join(rel);
            if from.is_dir() {
                copy_tree(&from, &out.join(rel))?;
            }
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::conformance::{self, Catalogue, Clause, Verdict};
    use crate::report::model::{Attempt, ScenarioReport, ShardInfo, Status};
    use std::time::Duration;

    fn scenario(name: &str, clauses: &[&str], status: Status) -> ScenarioReport {
        ScenarioReport {
            name: name.into(),
            file: format!("{name}.yaml"),
            clauses: clauses.iter().map(|c| c.to_string()).collect(),
            labels: Default::default(),
            namespace: String::new(),
            status,
            attempts: vec![Attempt {
                started: "t".into(),
                duration: Duration::from_secs(1),
                status,
                steps: vec![],
                failure: None,
            }],
            evidence: None,
            skip_reason: None,
            warnings: Vec::new(),
        }
    }

    fn shard(dir: &str, index: usize, count: usize, scenarios: Vec<ScenarioReport>) -> ShardReport {
        ShardReport {
            dir: PathBuf::from(dir),
            run: RunReport {
                kanon_version: "0.1.0".into(),
                started: format!("2026-01-01T00:00:0{index}Z"),
                duration: Duration::from_secs(10 + index as u64),
                scenarios,
                values: Default::default(),
                interrupted: None,
                shard: Some(ShardInfo { index, count }),
            },
        }
    }

    #[test]
    fn a_clause_passes_only_if_every_scenario_behind_it_passed_in_any_shard() {
        let shards = [
            shard("s1", 1, 2, vec![scenario("b", &["A-1"], Status::Failed)]),
            shard(
                "s0",
                0,
                2,
                vec![
                    scenario("a", &["A-1", "A-2"], Status::Passed),
                    scenario("c", &["A-3"], Status::Skipped),
                ],
            ),
        ];
        let merged = merge(&shards).unwrap();
        assert!(merged.notes.is_empty(), "{:?}", merged.notes);
        let names: Vec<&str> = merged
            .run
            .scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["a", "c", "b"], "in shard order");
        assert_eq!(merged.run.started, "2026-01-01T00:00:00Z");
        assert_eq!(merged.run.duration, Duration::from_secs(11));
        assert_eq!(merged.run.shard, None);
        let cat = Catalogue {
            contract: "c".into(),
            clauses: ["A-1", "A-2", "A-3"]
                .iter()
                .map(|id| Clause {
                    id: id.to_string(),
                    title: id.to_string(),
                    section: String::new(),
                    note: None,
                })
                .collect(),
            values: vec![],
        };
        let verdicts: Vec<Verdict> = conformance::build(&cat, &merged.run)
            .clauses
            .iter()
            .map(|c| c.verdict)
            .collect();
        assert_eq!(
            verdicts,
            [Verdict::Fail, Verdict::Pass, Verdict::NotCovered]
        );
    }

    #[test]
    fn an_incomplete_or_inconsistent_set_of_shards_is_refused() {
        let a = shard("s0", 0, 3, vec![]);
        let c = shard("s2", 2, 3, vec![]);
        let err = merge(&[a.clone(), c.clone()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "shard index(es) 1 of 3 missing: every shard's report folder is needed, or clauses could pass on the scenarios of some shards only"
        );
        assert!(matches!(
            merge(&[a.clone(), a.clone()]),
            Err(MergeError::Duplicate { index: 0, .. })
        ));
        assert!(matches!(
            merge(&[a.clone(), shard("x", 1, 2, vec![])]),
            Err(MergeError::Counts { .. })
        ));
        let mut plain = shard("plain", 0, 1, vec![]);
        plain.run.shard = None;
        assert!(matches!(
            merge(&[a, plain.clone()]),
            Err(MergeError::Mixed { .. })
        ));
        assert!(matches!(merge(&[]), Err(MergeError::Empty)));
        // Unsharded runs join as they are.
        let mut other = plain.clone();
        other.dir = PathBuf::from("other");
        other.run.scenarios = vec![scenario("x", &[], Status::Passed)];
        other.run.interrupted = Some("SIGTERM".into());
        let m = merge(&[plain, other]).unwrap();
        assert_eq!(m.run.scenarios.len(), 1);
        assert_eq!(m.run.interrupted.as_deref(), Some("SIGTERM in other"));
    }

    #[test]
    fn a_scenario_in_two_shards_is_noted() {
        let m = merge(&[
            shard("s0", 0, 2, vec![scenario("a", &[], Status::Passed)]),
            shard("s1", 1, 2, vec![scenario("a", &[], Status::Passed)]),
        ])
        .unwrap();
        assert_eq!(m.notes, ["scenario a is in s0 and in s1: both runs count"]);
    }

    #[test]
    fn reports_and_evidence_are_read_from_shard_folders() {
        let dir = tempfile::tempdir().unwrap();
        let s0 = dir.path().join("s0");
        std::fs::create_dir_all(s0.join("evidence/a")).unwrap();
        std::fs::write(s0.join("evidence/a/failure.txt"), "why").unwrap();
        let mut failed = scenario("a", &[], Status::Failed);
        failed.evidence = Some("evidence/a".into());
        let report = shard("ignored", 0, 1, vec![failed]).run;
        std::fs::write(
            s0.join(REPORT_JSON),
            serde_json::to_string(&report).unwrap(),
        )
        .unwrap();
        let read_back = read(&s0).unwrap();
        assert_eq!(read_back.run, report);
        let out = dir.path().join("out");
        copy_evidence(&[read_back], &out).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("evidence/a/failure.txt")).unwrap(),
            "why"
        );
        assert!(matches!(
            read(&dir.path().join("nope")),
            Err(MergeError::Read { .. })
        ));
        std::fs::write(s0.join(REPORT_JSON), "{}").unwrap();
        assert!(matches!(read(&s0), Err(MergeError::Parse { .. })));
    }
}
