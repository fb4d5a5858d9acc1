//! Namespace teardown off the critical path.
//!
//! Chainsaw waits, at the end of every test, until the test's namespace is gone: a few
//! seconds of the namespace controller's work per test, during which the next test
//! cannot use the slot. kanon asks for the deletion and goes on; the deletion is
//! followed in the background ([`super::namespace::wait_gone`]), and the run ends only
//! when every namespace it made is gone, or says, for the scenario that made it, what
//! is left and why (a warning in every report). A scenario or a run can still ask for
//! Chainsaw's blocking behaviour (`fastNamespaceDeletion: false`,
//! `--fast-namespace-deletion=false`).

use std::sync::Mutex;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::namespace::{self, NamespaceLeft};

/// A namespace a scenario made that did not go away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The scenario run (its report's name) that made it.
    pub scenario: String,
    /// What is left and why.
    pub left: NamespaceLeft,
}

impl Leftover {
    /// The warning its scenario's report carries.
    pub fn warning(&self) -> String {
        self.left.to_string()
    }
}

struct Pending {
    scenario: String,
    task: JoinHandle<Result<(), NamespaceLeft>>,
}

/// The namespace deletions of a run that are still being followed.
#[derive(Default)]
pub struct Teardown {
    pending: Mutex<Vec<Pending>>,
}

impl std::fmt::Debug for Teardown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teardown")
            .field("pending", &self.pending())
            .finish()
    }
}

impl Teardown {
    /// Follows the deletion of namespace `name` (of `uid`, already requested) in the
    /// background, for `timeout`, on behalf of `scenario`.
    pub fn follow(
        &self,
        client: &kube::Client,
        scenario: &str,
        name: &str,
        uid: Option<String>,
        timeout: Duration,
    ) {
        let (client, name) = (client.clone(), name.to_string());
        let task = tokio::spawn(async move {
            namespace::wait_gone(&client, &name, uid.as_deref(), timeout).await
        });
        if let Ok(mut p) = self.pending.lock() {
            p.push(Pending {
                scenario: scenario.to_string(),
                task,
            });
        }
    }

    /// How many deletions are still followed (finished ones included until
    /// [`Teardown::finish`]).
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .map(|p| p.iter().filter(|p| !p.task.is_finished()).count())
            .unwrap_or(0)
    }

    /// Waits for every deletion followed so far; returns the namespaces that did not go
    /// away, in the order their deletions were asked for.
    pub async fn finish(&self) -> Vec<Leftover> {
        let pending = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let mut out = Vec::new();
        for p in pending {
            match p.task.await {
                Ok(Ok(())) => {}
                Ok(Err(left)) => out.push(Leftover {
                    scenario: p.scenario,
                    left,
                }),
                Err(e) => tracing::warn!("following a namespace deletion: {e}"),
            }
        }
        out
    }

    /// Stops following (an interrupted run): nothing is reported.
    pub fn abandon(&self) {
        if let Ok(mut p) = self.pending.lock() {
            for p in p.drain(..) {
                p.task.abort();
            }
        }
    }
}

/// Adds each leftover's warning to the report of the scenario that made it.
pub fn attach(reports: &mut [crate::report::ScenarioReport], leftovers: &[Leftover]) {
    for l in leftovers {
        if let Some(r) = reports.iter_mut().find(|r| r.name == l.scenario) {
            r.warnings.push(l.warning());
        }
    }
}
