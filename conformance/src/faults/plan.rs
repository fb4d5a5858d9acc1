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

/// A request path of the Kubernetes API, split into what fault rules match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiPath<'a> {
    /// The resource plural (`mcptelemetryconfigs`, `namespaces`).
    pub resource: &'a str,
    /// The object's name, when the path names one.
    pub name: Option<&'a str>,
    /// The subresource (`status`, `log`), when the path names one.
    pub subresource: Option<&'a str>,
}

/// Splits `/api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]]` and
/// `/apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]`; `None` for anything else
/// (`/version`, discovery documents).
pub fn api_path(path: &str) -> Option<ApiPath<'_>> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return None,
    };
    let (resource, name, subresource) = match rest {
        [] => return None,
        ["namespaces"] => ("namespaces", None, None),
        ["namespaces", name] => ("namespaces", Some(*name), None),
        ["namespaces", name, sub] if is_namespace_subresource(sub) => {
            ("namespaces", Some(*name), Some(*sub))
        }
        ["namespaces", _ns, resource, tail @ ..] => {
            (*resource, tail.first().copied(), tail.get(1).copied())
        }
        [resource, tail @ ..] => (*resource, tail.first().copied(), tail.get(1).copied()),
    };
    if resource.is_empty() {
        return None;
    }
    Some(ApiPath {
        resource,
        name: name.filter(|n| !n.is_empty()),
        subresource: subresource.filter(|s| !s.is_empty()),
    })
}

/// Subresources of a Namespace object (`/api/v1/namespaces/NAME/status`), told apart
/// from namespaced collections (`/api/v1/namespaces/NS/pods`).
fn is_namespace_subresource(segment: &str) -> bool {
    matches!(segment, "status" | "finalize")
}

/// The resource (plural) of a request that reads one named object: a `GET` of
/// `.../RESOURCE/NAME`, not a watch, not a subresource. Lists and watches are `None`:
/// `failReads` never breaks an informer, only the direct lookups an operator makes.
pub fn named_read<'a>(
    method: &http::Method,
    path: &'a str,
    query: Option<&str>,
) -> Option<&'a str> {
    if method != http::Method::GET {
        return None;
    }
    let watch = query.is_some_and(|q| {
        q.split('&')
            .any(|kv| matches!(kv, "watch=true" | "watch=1" | "watch"))
    });
    if watch {
        return None;
    }
    match api_path(path)? {
        ApiPath {
            resource,
            name: Some(_),
            subresource: None,
        } => Some(resource),
        _ => None,
    }
}

/// Seed of the failure pattern: fixed, so a run fails the same writes every time.
pub const SEED: u64 = 0x6b61_6e6f_6e2d_6661;

/// Whether the write numbered `n` (0-based, counted since the fault started) fails when
/// a `ratio` of writes fail: a pseudo-random draw from (`seed`, `n`), the same on every
/// run. Not a regular stride on purpose: with "every second write" an operator that
/// always writes A then B would see every A pass and every B fail forever; a draw gives
/// each write the same odds. 1.0 fails all writes, 0.0 (or less, or NaN) none.
pub fn fails(n: u64, ratio: f64, seed: u64) -> bool {
    if ratio.is_nan() || ratio <= 0.0 {
        return false;
    }
    if ratio >= 1.0 {
        return true;
    }
    // The top 53 bits as a uniform fraction in [0, 1).
    let draw = (splitmix64(seed ^ n) >> 11) as f64 / (1u64 << 53) as f64;
    draw < ratio
}

/// SplitMix64 (Steele, Lea, Flood 2014): a well-mixed 64-bit value from any 64-bit input.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
    /// Injected errors on writes, by status code.
    pub failed_by_status: BTreeMap<u16, u64>,
    /// Reads of named objects answered with an injected error (`failReads`).
    pub failed_reads: u64,
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
            failed_reads: self.failed_reads.saturating_sub(earlier.failed_reads),
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
            "failedReads": self.failed_reads,
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
        if self.failed_reads > 0 {
            parts.push(format!(
                "failed {} read{} of named objects",
                self.failed_reads,
                if self.failed_reads == 1 { "" } else { "s" }
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

    #[rstest]
    #[case("/api/v1/namespaces", "namespaces", None, None)]
    #[case("/api/v1/namespaces/a", "namespaces", Some("a"), None)]
    #[case(
        "/api/v1/namespaces/a/finalize",
        "namespaces",
        Some("a"),
        Some("finalize")
    )]
    #[case("/api/v1/namespaces/a/pods", "pods", None, None)]
    #[case("/api/v1/namespaces/a/pods/p/log", "pods", Some("p"), Some("log"))]
    #[case(
        "/apis/toolhive.stacklok.dev/v1alpha1/namespaces/a/mcptelemetryconfigs/o/status",
        "mcptelemetryconfigs",
        Some("o"),
        Some("status")
    )]
    #[case("/apis/apps/v1/deployments", "deployments", None, None)]
    #[case("/api/v1/nodes/n1/status", "nodes", Some("n1"), Some("status"))]
    fn api_paths_split_into_resource_name_and_subresource(
        #[case] path: &str,
        #[case] resource: &str,
        #[case] name: Option<&str>,
        #[case] subresource: Option<&str>,
    ) {
        assert_eq!(
            api_path(path),
            Some(ApiPath {
                resource,
                name,
                subresource
            })
        );
    }

    #[test]
    fn non_resource_paths_are_not_api_paths() {
        assert_eq!(api_path("/version"), None);
        assert_eq!(api_path("/apis/apps/v1"), None);
        assert_eq!(api_path("/healthz"), None);
    }

    #[rstest]
    #[case(
        "GET",
        "/apis/toolhive.stacklok.dev/v1alpha1/namespaces/a/mcptelemetryconfigs/otel",
        None,
        Some("mcptelemetryconfigs")
    )]
    #[case(
        "GET",
        "/api/v1/namespaces/a/secrets/s",
        Some("timeout=10s"),
        Some("secrets")
    )]
    #[case("GET", "/api/v1/nodes/n1", None, Some("nodes"))]
    #[case("GET", "/api/v1/namespaces/a", None, Some("namespaces"))]
    #[case("GET", "/apis/apps/v1/namespaces/a/deployments", None, None)]
    #[case(
        "GET",
        "/apis/apps/v1/deployments",
        Some("watch=true&resourceVersion=1"),
        None
    )]
    #[case(
        "GET",
        "/api/v1/namespaces/a/pods/p",
        Some("watch=1&fieldSelector=metadata.name%3Dp"),
        None
    )]
    #[case("GET", "/api/v1/namespaces/a/pods/p/log", None, None)]
    #[case("GET", "/apis/apps/v1/namespaces/a/deployments/d/status", None, None)]
    #[case("PATCH", "/api/v1/namespaces/a/configmaps/c", None, None)]
    #[case("GET", "/version", None, None)]
    fn named_reads_are_gets_of_one_object(
        #[case] method: &str,
        #[case] path: &str,
        #[case] query: Option<&str>,
        #[case] want: Option<&str>,
    ) {
        let method: http::Method = method.parse().unwrap();
        assert_eq!(named_read(&method, path, query), want);
    }

    fn failures(ratio: f64, n: u64) -> Vec<u64> {
        (0..n).filter(|i| fails(*i, ratio, SEED)).collect()
    }

    #[rstest]
    #[case(1.0, 10)]
    #[case(7.0, 10)]
    #[case(0.0, 0)]
    #[case(-1.0, 0)]
    #[case(f64::NAN, 0)]
    fn all_or_nothing_at_the_bounds(#[case] ratio: f64, #[case] expected: usize) {
        assert_eq!(failures(ratio, 10).len(), expected);
    }

    #[test]
    fn the_pattern_is_the_same_on_every_run_and_differs_by_seed() {
        assert_eq!(failures(0.5, 200), failures(0.5, 200));
        let other: Vec<u64> = (0..200).filter(|i| fails(*i, 0.5, SEED + 1)).collect();
        assert_ne!(failures(0.5, 200), other);
    }

    #[test]
    fn the_share_of_failures_matches_the_ratio() {
        // 10,000 draws: the standard deviation of the count is at most 50.
        for ratio in [0.1, 0.3, 0.5, 0.9] {
            let n = failures(ratio, 10_000).len() as f64;
            assert!((n - 10_000.0 * ratio).abs() <= 250.0, "{ratio}: {n}");
        }
    }

    #[test]
    fn alternating_writers_both_get_through_and_both_get_hit() {
        // An operator that always writes A then B: neither lane may be starved or spared.
        let failed = failures(0.5, 400);
        for lane in [0, 1] {
            let hits = failed.iter().filter(|n| *n % 2 == lane).count();
            assert!(
                (50..150).contains(&hits),
                "lane {lane}: {hits} of 200 failed"
            );
        }
    }

    #[test]
    fn no_long_streak_of_failures_at_half() {
        let failed = failures(0.5, 1000);
        let longest = failed
            .windows(2)
            .fold((1, 1), |(run, best), w| {
                let run = if w[1] == w[0] + 1 { run + 1 } else { 1 };
                (run, best.max(run))
            })
            .1;
        assert!(longest <= 12, "{longest} writes in a row failed");
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
            failed_reads: 3,
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
            "failed 4 of 8 writes (409: 2, 500: 2); failed 3 reads of named objects; 1 outage cut 3 connections, refused 2"
        );
        assert_eq!(d.to_json()["failedByStatus"]["409"], 2);
        assert_eq!(d.to_json()["failedReads"], 3);
        assert_eq!(FaultCounts::default().summary(), "");
    }
}
