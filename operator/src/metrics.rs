//! Prometheus metrics of the controllers, served on `/metrics`.

use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels naming a controller.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// `mcpserver`, `mcptelemetryconfig` or `mcpwebhookconfig`.
    pub controller: &'static str,
}

/// Labels of a failed reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The controller.
    pub controller: &'static str,
    /// Short error class, see [`crate::Error::metric_label`].
    pub error: &'static str,
}

/// Reconcile counters and durations.
pub struct Metrics {
    registry: Registry,
    reconciliations: Family<ControllerLabels, Counter>,
    failures: Family<ErrorLabels, Counter>,
    duration: Family<ControllerLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with the operator's metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mcp_operator");
        let reconciliations = Family::<ControllerLabels, Counter>::default();
        let failures = Family::<ErrorLabels, Counter>::default();
        let duration = Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        registry.register(
            "reconciliations",
            "Reconciliations started",
            reconciliations.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciliations that failed",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconciliations",
            duration.clone(),
        );
        Metrics {
            registry,
            reconciliations,
            failures,
            duration,
        }
    }

    /// Start timing a reconcile of `controller`; the duration is recorded when the guard drops.
    pub fn reconcile_started(&self, controller: &'static str) -> ReconcileTimer<'_> {
        let labels = ControllerLabels { controller };
        self.reconciliations.get_or_create(&labels).inc();
        ReconcileTimer {
            metrics: self,
            labels,
            start: Instant::now(),
        }
    }

    /// Count a failed reconcile.
    pub fn reconcile_failed(&self, controller: &'static str, error: &crate::Error) {
        self.failures
            .get_or_create(&ErrorLabels {
                controller,
                error: error.metric_label(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Records a reconcile's duration when dropped.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    labels: ControllerLabels,
    start: Instant,
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .duration
            .get_or_create(&self.labels)
            .observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counts_errors_and_durations() {
        let metrics = Metrics::new();
        drop(metrics.reconcile_started("mcpserver"));
        metrics.reconcile_failed("mcpserver", &crate::Error::CacheNotReady("servers"));
        let text = metrics.encode().unwrap();
        assert!(text.contains("mcp_operator_reconciliations_total{controller=\"mcpserver\"} 1"));
        assert!(text.contains("mcp_operator_reconcile_errors_total{controller=\"mcpserver\",error=\"cache_not_ready\"} 1"));
        assert!(
            text.contains(
                "mcp_operator_reconcile_duration_seconds_count{controller=\"mcpserver\"} 1"
            )
        );
    }
}
