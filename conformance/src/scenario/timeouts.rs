//! Timeout classes, their defaults and their inheritance
//! (configuration → scenario → step → operation).

use std::time::Duration;

/// The timeout classes of Chainsaw, one per kind of operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeoutClass {
    /// apply, create, update, patch (default 5s).
    Apply,
    /// assert, consistently, wait (default 30s).
    Assert,
    /// error (default 30s).
    Error,
    /// delete (default 15s).
    Delete,
    /// automatic deletion of what a scenario created, and cleanup blocks (default 30s).
    Cleanup,
    /// command, script, get, describe, events, podLogs (default 5s).
    Exec,
}

/// Per-class timeouts at one level (configuration, scenario or step); `None` inherits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Timeout for apply-class operations.
    pub apply: Option<Duration>,
    /// Timeout for assert-class operations.
    pub assert: Option<Duration>,
    /// Timeout for error operations.
    pub error: Option<Duration>,
    /// Timeout for delete operations.
    pub delete: Option<Duration>,
    /// Timeout for cleanup.
    pub cleanup: Option<Duration>,
    /// Timeout for command-like operations.
    pub exec: Option<Duration>,
}

impl Timeouts {
    /// Chainsaw's defaults: apply 5s, assert 30s, error 30s, delete 15s, cleanup 30s,
    /// exec 5s.
    pub const DEFAULTS: Timeouts = Timeouts {
        apply: Some(Duration::from_secs(5)),
        assert: Some(Duration::from_secs(30)),
        error: Some(Duration::from_secs(30)),
        delete: Some(Duration::from_secs(15)),
        cleanup: Some(Duration::from_secs(30)),
        exec: Some(Duration::from_secs(5)),
    };

    /// The timeout set at this level for `class`, if any.
    pub fn get(&self, class: TimeoutClass) -> Option<Duration> {
        match class {
            TimeoutClass::Apply => self.apply,
            TimeoutClass::Assert => self.assert,
            TimeoutClass::Error => self.error,
            TimeoutClass::Delete => self.delete,
            TimeoutClass::Cleanup => self.cleanup,
            TimeoutClass::Exec => self.exec,
        }
    }

    /// This level's values where set, `parent`'s otherwise.
    pub fn or(&self, parent: &Timeouts) -> Timeouts {
        Timeouts {
            apply: self.apply.or(parent.apply),
            assert: self.assert.or(parent.assert),
            error: self.error.or(parent.error),
            delete: self.delete.or(parent.delete),
            cleanup: self.cleanup.or(parent.cleanup),
            exec: self.exec.or(parent.exec),
        }
    }
}

/// Resolves the effective timeout of an operation of `class`: the operation's own
/// `timeout` if set, else the step's, else the scenario's, else the configuration's,
/// else Chainsaw's default.
pub fn resolve_timeout(
    class: TimeoutClass,
    operation: Option<Duration>,
    step: &Timeouts,
    scenario: &Timeouts,
    config: &Timeouts,
) -> Duration {
    operation
        .or_else(|| step.get(class))
        .or_else(|| scenario.get(class))
        .or_else(|| config.get(class))
        .or_else(|| Timeouts::DEFAULTS.get(class))
        .unwrap_or(Duration::from_secs(30))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[rstest]
    #[case(TimeoutClass::Apply, 5)]
    #[case(TimeoutClass::Assert, 30)]
    #[case(TimeoutClass::Error, 30)]
    #[case(TimeoutClass::Delete, 15)]
    #[case(TimeoutClass::Cleanup, 30)]
    #[case(TimeoutClass::Exec, 5)]
    fn defaults(#[case] class: TimeoutClass, #[case] expected: u64) {
        let none = Timeouts::default();
        assert_eq!(
            resolve_timeout(class, None, &none, &none, &none),
            Duration::from_secs(expected)
        );
    }

    #[rstest]
    #[case(secs(1), secs(2), secs(3), secs(4), 1)]
    #[case(None, secs(2), secs(3), secs(4), 2)]
    #[case(None, None, secs(3), secs(4), 3)]
    #[case(None, None, None, secs(4), 4)]
    fn inner_levels_win(
        #[case] op: Option<Duration>,
        #[case] step: Option<Duration>,
        #[case] scenario: Option<Duration>,
        #[case] config: Option<Duration>,
        #[case] expected: u64,
    ) {
        let t = |d| Timeouts {
            assert: d,
            ..Timeouts::default()
        };
        assert_eq!(
            resolve_timeout(TimeoutClass::Assert, op, &t(step), &t(scenario), &t(config)),
            Duration::from_secs(expected)
        );
    }

    #[test]
    fn or_merges_per_class() {
        let a = Timeouts {
            apply: secs(1),
            ..Timeouts::default()
        };
        let merged = a.or(&Timeouts::DEFAULTS);
        assert_eq!(merged.apply, secs(1));
        assert_eq!(merged.delete, secs(15));
    }
}
