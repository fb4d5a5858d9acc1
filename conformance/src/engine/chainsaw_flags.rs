//! `chainsaw test`'s flags that set what its `Configuration` sets (timeouts, discovery,
//! templating, deletion, report file, clusters), applied over a loaded configuration
//! (or an empty one) as Chainsaw applies them: a flag that is given replaces the
//! file's value. Flags kanon has its own name for (`--parallel`, `--include`...) are
//! read by the command line directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::chainsaw_config::ChainsawConfig;
use crate::cluster::ClusterKind;
use crate::expr::Compiler;
use crate::report::ReportFormat;
use crate::scenario::{ClusterDef, Location, PropagationPolicy, parse_duration};

/// The flags, as given (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct ChainsawFlags {
    /// `--test-file`.
    pub test_file: Option<String>,
    /// `--apply-timeout`.
    pub apply_timeout: Option<String>,
    /// `--assert-timeout`.
    pub assert_timeout: Option<String>,
    /// `--cleanup-timeout`.
    pub cleanup_timeout: Option<String>,
    /// `--delete-timeout`.
    pub delete_timeout: Option<String>,
    /// `--error-timeout`.
    pub error_timeout: Option<String>,
    /// `--exec-timeout`.
    pub exec_timeout: Option<String>,
    /// `--template`.
    pub template: Option<bool>,
    /// `--default-compiler`.
    pub default_compiler: Option<String>,
    /// `--deletion-propagation-policy`.
    pub deletion_propagation_policy: Option<String>,
    /// `--cleanup-delay`.
    pub cleanup_delay: Option<String>,
    /// `--force-termination-grace-period`.
    pub force_termination_grace_period: Option<String>,
    /// `--report-format`.
    pub report_format: Option<String>,
    /// `--report-path`.
    pub report_path: Option<PathBuf>,
    /// `--report-name`.
    pub report_name: Option<String>,
    /// `--full-name`.
    pub full_name: Option<bool>,
    /// `--no-cluster`.
    pub no_cluster: bool,
}

/// What the flags did not allow: errors stop the run (exit code 2), warnings are
/// printed and the run goes on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FlagFindings {
    /// `--flag: what is wrong`.
    pub errors: Vec<String>,
    /// `--flag: what kanon does instead`.
    pub warnings: Vec<String>,
}

impl ChainsawFlags {
    /// Whether a `--report-*` flag is given.
    fn report_given(&self) -> bool {
        self.report_format.is_some() || self.report_path.is_some() || self.report_name.is_some()
    }

    /// Applies the given flags over `config`.
    pub fn apply(&self, config: &mut ChainsawConfig) -> FlagFindings {
        let mut f = FlagFindings::default();
        let mut duration = |flag: &str, v: &Option<String>| {
            let v = v.as_deref()?;
            match parse_duration(v) {
                Ok(d) => Some(d),
                Err(e) => {
                    f.errors.push(format!("--{flag}: {e}"));
                    None
                }
            }
        };
        let t = &mut config.timeouts;
        for (flag, value, slot) in [
            ("apply-timeout", &self.apply_timeout, &mut t.apply),
            ("assert-timeout", &self.assert_timeout, &mut t.assert),
            ("cleanup-timeout", &self.cleanup_timeout, &mut t.cleanup),
            ("delete-timeout", &self.delete_timeout, &mut t.delete),
            ("error-timeout", &self.error_timeout, &mut t.error),
            ("exec-timeout", &self.exec_timeout, &mut t.exec),
        ] {
            if let Some(d) = duration(flag, value) {
                *slot = Some(d);
            }
        }
        let load = &mut config.load;
        if let Some(d) = duration("cleanup-delay", &self.cleanup_delay) {
            load.delay_before_cleanup = Some(d);
        }
        if let Some(d) = duration(
            "force-termination-grace-period",
            &self.force_termination_grace_period,
        ) {
            load.force_termination_grace_period = Some(d);
        }
        if let Some(t) = &self.test_file {
            load.test_file = Some(t.clone());
        }
        if let Some(t) = self.template {
            load.template = Some(t);
        }
        if let Some(c) = &self.default_compiler {
            match Compiler::from_name(c) {
                Some(c) => load.compiler = Some(c),
                None => f
                    .errors
                    .push(format!("--default-compiler: {c:?}: expected jp or cel")),
            }
        }
        if let Some(p) = &self.deletion_propagation_policy {
            match p.as_str() {
                "Orphan" => load.deletion_propagation_policy = Some(PropagationPolicy::Orphan),
                "Background" => {
                    load.deletion_propagation_policy = Some(PropagationPolicy::Background)
                }
                "Foreground" => {
                    load.deletion_propagation_policy = Some(PropagationPolicy::Foreground)
                }
                other => f.errors.push(format!(
                    "--deletion-propagation-policy: {other:?}: expected Orphan, Background or Foreground"
                )),
            }
        }
        if self.report_given() {
            // As Chainsaw: flags fill a JSON `chainsaw-report` when the file asked for none;
            // `--report-path` is relative to the working directory.
            let mut spec = config.report.clone().unwrap_or_default();
            if let Some(format) = &self.report_format {
                match ReportFormat::from_chainsaw(format) {
                    Ok((kind, warning)) => {
                        spec.format = kind;
                        f.warnings
                            .extend(warning.map(|w| format!("--report-format: {w}")));
                    }
                    Err(e) => f.errors.push(format!("--report-format: {e}")),
                }
            }
            if let Some(p) = &self.report_path {
                spec.dir = (!p.as_os_str().is_empty()).then(|| p.clone());
            }
            if let Some(n) = &self.report_name {
                spec.name = n.clone();
            }
            config.report = Some(spec);
        }
        if self.full_name == Some(true) {
            f.warnings.push(
                "--full-name is not supported by kanon, ignored: scenarios are named by metadata.name, else their folder's name".into(),
            );
        }
        if self.no_cluster {
            f.warnings.push(
                "--no-cluster is not supported by kanon, ignored: kanon runs against a cluster (a local one unless a kubeconfig is given)".into(),
            );
        }
        f
    }
}

/// One `--cluster` value: kanon's provider, or Chainsaw's `NAME=KUBECONFIG[:CONTEXT]`.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterFlag {
    /// `local`, `k3s`, `existing`.
    Provider(ClusterKind),
    /// A cluster tests can name with `cluster: NAME`.
    Named(ClusterDef),
}

impl ClusterFlag {
    /// Parses one value; a relative kubeconfig is relative to the working directory.
    pub fn parse(value: &str) -> Result<Self, String> {
        let Some((name, rest)) = value.split_once('=') else {
            return match value {
                "local" => Ok(Self::Provider(ClusterKind::Local)),
                "k3s" => Ok(Self::Provider(ClusterKind::K3s)),
                "existing" => Ok(Self::Provider(ClusterKind::Existing)),
                other => Err(format!(
                    "--cluster {other:?}: expected local, k3s or existing, or Chainsaw's NAME=KUBECONFIG[:CONTEXT]"
                )),
            };
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let (kubeconfig, context) = match parts.as_slice() {
            [k] => (*k, None),
            [k, c] => (*k, Some(c.to_string())),
            _ => {
                return Err(format!(
                    "--cluster {value:?}: expected NAME=KUBECONFIG[:CONTEXT]"
                ));
            }
        };
        if name.is_empty() || kubeconfig.is_empty() {
            return Err(format!(
                "--cluster {value:?}: expected NAME=KUBECONFIG[:CONTEXT]"
            ));
        }
        Ok(Self::Named(ClusterDef {
            location: Location::new(&Arc::new(PathBuf::from("--cluster")), 0, 0),
            name: name.to_string(),
            kubeconfig: Path::new(kubeconfig).to_path_buf(),
            context,
        }))
    }
}

/// Reads every `--cluster` value: at most one provider, and the named clusters, which
/// replace the configuration's of the same name.
pub fn apply_clusters(
    values: &[String],
    config: &mut ChainsawConfig,
) -> Result<Option<ClusterKind>, String> {
    let mut provider = None;
    for v in values {
        match ClusterFlag::parse(v)? {
            ClusterFlag::Provider(kind) => {
                if provider.replace(kind).is_some_and(|k| k != kind) {
                    return Err("--cluster: two providers given; pick one".into());
                }
            }
            ClusterFlag::Named(def) => {
                config.load.clusters.retain(|c| c.name != def.name);
                config.load.clusters.push(def);
            }
        }
    }
    Ok(provider)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn given_flags_replace_the_configuration_s_values() {
        let mut config = ChainsawConfig::parse(
            Path::new("cfg/.chainsaw.yaml"),
            "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  timeouts: {assert: 45s, apply: 7s}\n  reportFormat: XML\n  reportPath: out\n  template: false\n",
        )
        .unwrap();
        let flags = ChainsawFlags {
            assert_timeout: Some("2s".into()),
            cleanup_delay: Some("1s".into()),
            test_file: Some("kanon-test".into()),
            template: Some(true),
            default_compiler: Some("cel".into()),
            deletion_propagation_policy: Some("Foreground".into()),
            report_name: Some("mine".into()),
            ..Default::default()
        };
        assert_eq!(flags.apply(&mut config), FlagFindings::default());
        assert_eq!(config.timeouts.assert, Some(Duration::from_secs(2)));
        assert_eq!(config.timeouts.apply, Some(Duration::from_secs(7)), "kept");
        assert_eq!(
            config.load.delay_before_cleanup,
            Some(Duration::from_secs(1))
        );
        assert_eq!(config.load.test_file.as_deref(), Some("kanon-test"));
        assert_eq!(config.load.template, Some(true));
        assert_eq!(config.load.compiler, Some(Compiler::Cel));
        assert_eq!(
            config.load.deletion_propagation_policy,
            Some(PropagationPolicy::Foreground)
        );
        // The name replaced; the file's format and folder kept.
        assert_eq!(
            config.report.unwrap().file().path,
            PathBuf::from("cfg/out/mine.xml")
        );
    }

    #[test]
    fn report_flags_alone_write_chainsaw_s_default_report() {
        let mut config = ChainsawConfig::default();
        let flags = ChainsawFlags {
            report_path: Some("reports".into()),
            ..Default::default()
        };
        flags.apply(&mut config);
        let file = config.report.unwrap().file();
        assert_eq!(file.format, ReportFormat::Json);
        assert_eq!(file.path, PathBuf::from("reports/chainsaw-report.json"));
    }

    #[test]
    fn wrong_values_are_errors_and_unsupported_ones_warnings() {
        let mut config = ChainsawConfig::default();
        let f = ChainsawFlags {
            apply_timeout: Some("soon".into()),
            default_compiler: Some("go".into()),
            deletion_propagation_policy: Some("Later".into()),
            report_format: Some("JUNIT-STEP".into()),
            full_name: Some(true),
            no_cluster: true,
            ..Default::default()
        }
        .apply(&mut config);
        assert_eq!(f.errors.len(), 3, "{f:?}");
        assert!(f.errors[0].starts_with("--apply-timeout: "), "{f:?}");
        assert_eq!(
            f.errors[1],
            "--default-compiler: \"go\": expected jp or cel"
        );
        assert_eq!(f.warnings.len(), 3, "{f:?}");
        assert!(f.warnings[0].starts_with("--report-format: report format JUNIT-STEP"));
        assert!(f.warnings[1].starts_with("--full-name is not supported"));
        assert!(f.warnings[2].starts_with("--no-cluster is not supported"));
    }

    #[test]
    fn cluster_values_are_a_provider_or_chainsaw_registrations() {
        let mut config = ChainsawConfig::default();
        let provider = apply_clusters(
            &[
                "existing".into(),
                "other=kube/other.yaml:ctx".into(),
                "plain=kube/plain.yaml".into(),
            ],
            &mut config,
        )
        .unwrap();
        assert_eq!(provider, Some(ClusterKind::Existing));
        let defs: Vec<(&str, &Path, Option<&str>)> = config
            .load
            .clusters
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.kubeconfig.as_path(),
                    c.context.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            defs,
            [
                ("other", Path::new("kube/other.yaml"), Some("ctx")),
                ("plain", Path::new("kube/plain.yaml"), None)
            ]
        );
        assert!(apply_clusters(&["local".into(), "k3s".into()], &mut config).is_err());
        assert!(ClusterFlag::parse("kind").is_err());
        assert!(ClusterFlag::parse("a=b:c:d").is_err());
        assert!(ClusterFlag::parse("=b").is_err());
    }
}
