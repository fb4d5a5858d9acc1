//! The pure part of fault injection: which requests to fail, what a failure looks like,
//! and the counters a report shows. No I/O, so every rule is unit-tested.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Status codes `failWrites` may inject, and what the API server would call them.
pub const INJECTABLE: &[(u16, &str)] = &[
    (409, "Conflict"),
    (429, "TooManyRequests"),
    (500, "InternalError"),
    (503, "ServiceUnavailable"),
];

/// Seconds a client is told to wait in the `Retry-After` of an injected 429.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// The `reason` of a metav1.Status for an injectable code, `None` for any other code.
pub fn reason(code: u16) -> Option<&'static str> {
    INJECTABLE.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
}

/// Whether a request with `method` writes (POST, PUT, PATCH, DELETE). Reads, lists and
/// watches are never failed by `failWrites`.
pub fn is_write(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH | http::Method::DELETE
    )
}

/// Whether the write numbered `n` (0-based, counted since the fault started) fails when
/// a `ratio` of writes fail. Deterministic and evenly spread: write `n` fails when
/// `floor((n + 1) * ratio)` exceeds `floor(n * ratio)`, so ratio 0.5 fails every second
/// write, 1/3 every third, 1.0 all of them and 0.0 none.
pub fn fails(n: u64, ratio: f64) -> bool {
    if ratio.is_nan() || ratio <= 0.0 {
        return false;
    }
    if ratio >= 1.0 {
        return true;
    }
    // The epsilon keeps ratios such as 1/3 from landing just below a whole number.
    const EPSILON: f64 = 1e-9;
    let before = (n as f64 * ratio + EPSILON).floor();
    let after = ((n + 1) as f64 * ratio + EPSILON).floor();
    after > before
}

/// The status code of the `k`-th injected failure (0-based): `statuses` in turn.
pub fn status_for(k: u64, statuses: &[u16]) -> u16 {
    if statuses.is_empty() {
        return 500;
    }
    statuses[(k % statuses.len() as u64) as usize]
}

/// The metav1.Status body the API server would send for `code`, naming the request.
pub fn status_body(code: u16, method: &str, path: &str) -> Value {
    let reason = reason(code).unwrap_or("InternalError");
    let message = match code {
        409 => format!(
            "Operation cannot be fulfilled on {path}: the object has been modified; please apply your changes to the latest version and try again (injected by kanon)"
        ),
        429 => format!("too many requests: {method} {path} (injected by kanon)"),
        503 => format!(
            "the server is currently unable to handle the request: {method} {path} (injected by kanon)"
        ),
        _ => format!("Internal error occurred: {method} {path} (injected by kanon)"),
    };
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if code == 429 {
        status["details"] = json!({"retryAfterSeconds": RETRY_AFTER_SECONDS});
    }
    status
}

/// What the proxy did, counted since it started. Differences of two snapshots are what
/// happened in between (see [`FaultCounts::since`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Requests the proxy received.
    pub requests: u64,
    /// Of those, writes (POST, PUT, PATCH, DELETE).
    pub writes: u64,
    /// Writes answered with an injected error instead of being forwarded.
    pub failed_writes: u64,
    /// Injected errors by status code.
    pub failed_by_status: BTreeMap<u16, u64>,
    /// Outages started.
    pub outages: u64,
    /// Open connections cut by an outage.
    pub connections_cut: u64,
    /// Connections refused during an outage.
    pub connections_refused: u64,
}

impl FaultCounts {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &FaultCounts) -> FaultCounts {
        let mut by = BTreeMap::new();
        for (code, n) in &self.failed_by_status {
            let d = n.saturating_sub(earlier.failed_by_status.get(code).copied().unwrap_or(0));
            if d > 0 {
                by.insert(*code, d);
            }
        }
        FaultCounts {
            requests: self.requests.saturating_sub(earlier.requests),
            writes: self.writes.saturating_sub(earlier.writes),
            failed_writes: self.failed_writes.saturating_sub(earlier.failed_writes),
            failed_by_status: by,
            outages: self.outages.saturating_sub(earlier.outages),
            connections_cut: self.connections_cut.saturating_sub(earlier.connections_cut),
            connections_refused: self
                .connections_refused
                .saturating_sub(earlier.connections_refused),
        }
    }

    /// As bound to scenarios under `$faults.operatorApi`.
    pub fn to_json(&self) -> Value {
        let by: serde_json::Map<String, Value> = self
            .failed_by_status
            .iter()
            .map(|(c, n)| (c.to_string(), json!(n)))
            .collect();
        json!({
            "requests": self.requests,
            "writes": self.writes,
            "failedWrites": self.failed_writes,
            "failedByStatus": by,
            "outages": self.outages,
            "connectionsCut": self.connections_cut,
            "connectionsRefused": self.connections_refused,
        })
    }

    /// One line for reports: `failed 7 of 15 writes (409: 4, 500: 3); 1 outage cut 3
    /// connections, refused 2`. Empty when nothing was injected.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.failed_writes > 0 {
            let by = self
                .failed_by_status
                .iter()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(format!(
                "failed {} of {} writes ({by})",
                self.failed_writes, self.writes
            ));
        }
        if self.outages > 0 {
            parts.push(format!(
                "{} outage{} cut {} connection{}, refused {}",
                self.outages,
                if self.outages == 1 { "" } else { "s" },
                self.connections_cut,
                if self.connections_cut == 1 { "" } else { "s" },
                self.connections_refused
            ));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn failures(ratio: f64, n: u64) -> Vec<u64> {
        (0..n).filter(|i| fails(*i, ratio)).collect()
    }

    #[rstest]
    #[case(0.5, vec![1, 3, 5, 7, 9])]
    #[case(1.0, (0..10).collect())]
    #[case(0.0, vec![])]
    #[case(0.25, vec![3, 7])]
    #[case(1.0 / 3.0, vec![2, 5, 8])]
    #[case(-1.0, vec![])]
    #[case(f64::NAN, vec![])]
    #[case(7.0, (0..10).collect())]
    fn failures_are_deterministic_and_evenly_spread(
        #[case] ratio: f64,
        #[case] expected: Vec<u64>,
    ) {
        assert_eq!(failures(ratio, 10), expected);
    }

    #[test]
    fn the_share_of_failures_matches_the_ratio() {
        for ratio in [0.1, 0.3, 0.5, 0.9] {
            let n = failures(ratio, 1000).len() as f64;
            assert!((n - 1000.0 * ratio).abs() <= 1.0, "{ratio}: {n}");
        }
    }

    #[test]
    fn statuses_take_turns() {
        let s = [409, 500];
        let got: Vec<u16> = (0..5).map(|k| status_for(k, &s)).collect();
        assert_eq!(got, [409, 500, 409, 500, 409]);
        assert_eq!(status_for(3, &[]), 500);
    }

    #[rstest]
    #[case(http::Method::POST, true)]
    #[case(http::Method::PUT, true)]
    #[case(http::Method::PATCH, true)]
    #[case(http::Method::DELETE, true)]
    #[case(http::Method::GET, false)]
    #[case(http::Method::HEAD, false)]
    #[case(http::Method::OPTIONS, false)]
    fn writes_are_the_mutating_methods(#[case] m: http::Method, #[case] write: bool) {
        assert_eq!(is_write(&m), write);
    }

    #[test]
    fn status_bodies_are_metav1_statuses() {
        let b = status_body(409, "PATCH", "/api/v1/namespaces/a/configmaps/b");
        assert_eq!(b["kind"], "Status");
        assert_eq!(b["apiVersion"], "v1");
        assert_eq!(b["status"], "Failure");
        assert_eq!(b["reason"], "Conflict");
        assert_eq!(b["code"], 409);
        assert!(
            b["message"]
                .as_str()
                .unwrap()
                .contains("the object has been modified")
        );
        // kube-rs decodes it as an API error with the code and reason.
        let s: kube::core::Status = serde_json::from_value(b).unwrap();
        assert_eq!(s.code, 409);
        assert_eq!(s.reason, "Conflict");

        let b = status_body(429, "POST", "/x");
        assert_eq!(b["reason"], "TooManyRequests");
        assert_eq!(b["details"]["retryAfterSeconds"], RETRY_AFTER_SECONDS);
        assert_eq!(status_body(500, "PUT", "/x")["reason"], "InternalError");
        assert_eq!(
            status_body(503, "PUT", "/x")["reason"],
            "ServiceUnavailable"
        );
        assert_eq!(reason(418), None);
    }

    #[test]
    fn counts_subtract_and_summarise() {
        let before = FaultCounts {
            requests: 10,
            writes: 4,
            failed_writes: 1,
            failed_by_status: [(409, 1)].into(),
            ..Default::default()
        };
        let after = FaultCounts {
            requests: 30,
            writes: 12,
            failed_writes: 5,
            failed_by_status: [(409, 3), (500, 2)].into(),
            outages: 1,
            connections_cut: 3,
            connections_refused: 2,
        };
        let d = after.since(&before);
        assert_eq!(d.requests, 20);
        assert_eq!(d.failed_writes, 4);
        assert_eq!(d.failed_by_status, [(409, 2), (500, 2)].into());
        assert_eq!(
            d.summary(),
            "failed 4 of 8 writes (409: 2, 500: 2); 1 outage cut 3 connections, refused 2"
        );
        assert_eq!(d.to_json()["failedByStatus"]["409"], 2);
        assert_eq!(FaultCounts::default().summary(), "");
    }
}
