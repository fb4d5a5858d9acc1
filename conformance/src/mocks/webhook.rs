//! The webhook mock: an HTTPS server with a per-mock CA, scripted responses, request
//! recording, HMAC signature checks (contract DP-4) and optional mTLS.
//!
//! Built on hyper + rustls rather than wiremock: the mock must terminate TLS with a
//! certificate from its own CA, see whether the client presented a certificate, and
//! verify signatures over the exact body bytes, all of which sit below wiremock's API.
//!
//! Each recorded request:
//!
//! ```yaml
//! method: POST
//! path: /validate
//! headers: {x-toolhive-signature: sha256=..., ...}   # lower-cased names
//! body: {version: v0.1.0, uid: ..., request: {...}}  # JSON when it parses, else a string
//! signatureValid: true          # only with hmacKey: DP-4 signature over "<ts>." + body
//! clientCertPresented: false
//! response: {status: 200}
//! ```
//!
//! Bindings: `url` (`https://127.0.0.1:PORT`), `caPem` (trust this), `certPem` / `keyPem`
//! (a client certificate the mock accepts), `requests`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::{Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::recorder::Recorder;
use super::server::{self, ConnInfo, Served};
use super::tls::MockPki;
use crate::scenario::parse_duration;

/// One scripted answer: the first whose `path` and `bodyContains` match is used.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScriptedResponse {
    /// Exact request path to match (any path when absent).
    #[serde(default)]
    pub path: Option<String>,
    /// A substring the raw body must contain (any body when absent).
    #[serde(default)]
    pub body_contains: Option<String>,
    /// HTTP status (200 when absent).
    #[serde(default)]
    pub status: Option<u16>,
    /// JSON body (`{"allowed": true}` when absent).
    #[serde(default)]
    pub body: Option<Value>,
    /// Wait this long before answering (`500ms`, `2s`), for timeout tests.
    #[serde(default)]
    pub delay: Option<String>,
}

/// The `webhook` mock's settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookConfig {
    /// Scripted answers, tried in order.
    #[serde(default)]
    pub responses: Vec<ScriptedResponse>,
    /// HMAC-SHA256 key: every request gets `signatureValid`.
    #[serde(default)]
    pub hmac_key: Option<String>,
    /// Require a client certificate issued by the mock's CA (mTLS).
    #[serde(default)]
    pub client_ca: bool,
}

/// Checks a DP-4 signature: `sha256=<hex HMAC-SHA256(key, "<timestamp>." + body)>`.
pub fn signature_valid(key: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Signs like DP-4 (for tests and for clients built on kanon).
pub fn sign(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A running webhook mock.
#[derive(Debug)]
pub struct WebhookMock {
    served: Served,
    recorder: Arc<Recorder>,
    pki: MockPki,
}

struct Script {
    responses: Vec<(ScriptedResponse, Option<Duration>)>,
    hmac_key: Option<Vec<u8>>,
}

impl WebhookMock {
    /// Starts the mock named `name` with `config`.
    pub async fn start(name: &str, config: &WebhookConfig) -> Result<Self, String> {
        let pki = MockPki::generate(&format!("kanon-mock-{name}"))?;
        let tls = pki.server_config(true, config.client_ca)?;
        let mut responses = Vec::new();
        for r in &config.responses {
            let delay = r
                .delay
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| format!("responses: delay {e}"))?;
            responses.push((r.clone(), delay));
        }
        let script = Arc::new(Script {
            responses,
            hmac_key: config.hmac_key.as_ref().map(|k| k.as_bytes().to_vec()),
        });
        let recorder = Arc::new(Recorder::default());
        let rec = recorder.clone();
        let served = server::serve(Some(tls), move |req, info| {
            let rec = rec.clone();
            let script = script.clone();
            async move { handle(&rec, &script, req, info).await }
        })
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        Ok(Self {
            served,
            recorder,
            pki,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.served.addr)
    }

    /// The TLS material (CA, client certificate and key).
    pub fn pki(&self) -> &MockPki {
        &self.pki
    }

    /// The recorder.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// Stops the server.
    pub fn stop(&self) {
        self.served.stop();
    }
}

async fn handle(
    rec: &Recorder,
    script: &Script,
    req: Request<Bytes>,
    info: ConnInfo,
) -> Response<Full<Bytes>> {
    let headers = server::headers_json(req.headers());
    let raw = req.body();
    let body: Value = serde_json::from_slice(raw)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(raw).to_string()));
    let signature_valid = script.hmac_key.as_ref().map(|key| {
        let ts = headers.get("x-toolhive-timestamp").and_then(Value::as_str);
        let sig = headers.get("x-toolhive-signature").and_then(Value::as_str);
        match (ts, sig) {
            (Some(ts), Some(sig)) => signature_valid(key, ts, raw, sig),
            _ => false,
        }
    });
    let path = req.uri().path().to_string();
    let raw_text = String::from_utf8_lossy(raw);
    let chosen = script.responses.iter().find(|(r, _)| {
        r.path.as_deref().is_none_or(|p| p == path)
            && r.body_contains
                .as_deref()
                .is_none_or(|s| raw_text.contains(s))
    });
    let status = chosen.and_then(|(r, _)| r.status).unwrap_or(200);
    let answer = chosen
        .and_then(|(r, _)| r.body.clone())
        .unwrap_or_else(|| json!({"allowed": true}));
    rec.push(json!({
        "method": req.method().as_str(),
        "path": path,
        "headers": headers,
        "body": body,
        "signatureValid": signature_valid,
        "clientCertPresented": info.client_cert_presented,
        "response": {"status": status},
        "time": crate::report::model::now_rfc3339(),
    }));
    if let Some((_, Some(delay))) = chosen {
        tokio::time::sleep(*delay).await;
    }
    server::response(
        status,
        "application/json",
        serde_json::to_vec(&answer).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2s", 2000)]
    #[case("500ms", 500)]
    #[case("1m30s", 90_000)]
    #[case("1.5s", 1500)]
    fn durations(#[case] s: &str, #[case] ms: u64) {
        assert_eq!(parse_duration(s).unwrap(), Duration::from_millis(ms));
    }

    #[rstest]
    #[case("")]
    #[case("5")]
    #[case("3 days")]
    #[case("1x")]
    fn bad_durations(#[case] s: &str) {
        assert!(parse_duration(s).is_err(), "{s}");
    }

    #[test]
    fn signatures_follow_dp4() {
        let sig = sign(b"key", "1700000000", b"{\"a\":1}");
        assert!(sig.starts_with("sha256="));
        assert!(signature_valid(b"key", "1700000000", b"{\"a\":1}", &sig));
        assert!(!signature_valid(b"other", "1700000000", b"{\"a\":1}", &sig));
        assert!(!signature_valid(b"key", "1700000001", b"{\"a\":1}", &sig));
        assert!(!signature_valid(b"key", "1700000000", b"{\"a\":2}", &sig));
        assert!(!signature_valid(
            b"key",
            "1700000000",
            b"{\"a\":1}",
            "md5=00"
        ));
        assert!(!signature_valid(
            b"key",
            "1700000000",
            b"{\"a\":1}",
            "sha256=zz"
        ));
    }
}
