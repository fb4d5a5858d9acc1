//! Interrupting a run (SIGINT, SIGTERM) so that it still reports what ran: scenarios
//! not started are reported skipped, running ones stop their `try` blocks and still
//! run their `finally` and cleanup, and the reports are written, marked interrupted.

use std::sync::Arc;

use tokio::sync::watch;

/// Shared between whoever catches the signal and the run; cheap to clone.
#[derive(Clone, Debug)]
pub struct Interrupt {
    tx: Arc<watch::Sender<Option<String>>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Self {
            tx: Arc::new(watch::channel(None).0),
        }
    }
}

impl Interrupt {
    /// Not interrupted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Interrupts the run because of `reason` (`SIGINT`); the first reason is kept.
    pub fn trigger(&self, reason: &str) {
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason.to_string());
                true
            } else {
                false
            }
        });
    }

    /// Why the run was interrupted, once it was.
    pub fn reason(&self) -> Option<String> {
        self.tx.borrow().clone()
    }

    /// Resolves once the run is interrupted, with the reason.
    pub async fn wait(&self) -> String {
        let mut rx = self.tx.subscribe();
        let reason = rx
            .wait_for(Option::is_some)
            .await
            .map(|r| r.clone().unwrap_or_default());
        match reason {
            Ok(r) => r,
            // The sender lives as long as `self`: unreachable, but never resolve early.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waiters_wake_with_the_first_reason() {
        let i = Interrupt::new();
        assert_eq!(i.reason(), None);
        let waiter = tokio::spawn({
            let i = i.clone();
            async move { i.wait().await }
        });
        i.trigger("SIGINT");
        i.trigger("SIGTERM");
        let got = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert_eq!(got.ok().and_then(Result::ok).as_deref(), Some("SIGINT"));
        // Already interrupted: resolves at once.
        assert_eq!(i.wait().await, "SIGINT");
    }
}
