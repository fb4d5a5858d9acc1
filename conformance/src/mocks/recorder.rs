//! A list of recorded requests that waiters can follow without polling.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

/// Recorded requests plus a counter bumped on every new one.
#[derive(Debug)]
pub struct Recorder {
    records: Mutex<Vec<Value>>,
    tick: watch::Sender<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            records: Mutex::new(Vec::new()),
            tick: watch::channel(0).0,
        }
    }
}

impl Recorder {
    /// Appends a record and wakes every waiter.
    pub fn push(&self, record: Value) {
        if let Ok(mut r) = self.records.lock() {
            r.push(record);
        }
        self.tick.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Every record so far, oldest first.
    pub fn records(&self) -> Vec<Value> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// A receiver that changes on every new record.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tick.subscribe()
    }

    /// Waits until `pred` holds for the records (checked now and on each new record);
    /// returns the records then, or `None` when `timeout` passes first.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&[Value]) -> bool,
    ) -> Option<Vec<Value>> {
        let mut rx = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            let now = self.records();
            if pred(&now) {
                return Some(now);
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return None; },
                _ = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn waiters_wake_on_new_records() {
        let r = Arc::new(Recorder::default());
        let writer = r.clone();
        tokio::spawn(async move {
            for i in 0..3 {
                tokio::task::yield_now().await;
                writer.push(serde_json::json!({"n": i}));
            }
        });
        let got = r
            .wait_until(Duration::from_secs(5), |rs| rs.len() == 3)
            .await
            .expect("three records arrive");
        assert_eq!(got[2]["n"], 2);
        assert!(
            r.wait_until(Duration::from_millis(50), |rs| rs.len() == 4)
                .await
                .is_none()
        );
    }
}
