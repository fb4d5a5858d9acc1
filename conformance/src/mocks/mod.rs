//! Mock servers a scenario declares in `spec.mocks`, started before its first step and
//! stopped after its cleanup, bound as `$mocks.<name>`.
//!
//! ```yaml
//! spec:
//!   mocks:
//!   - name: collector
//!     type: otlp                 # $mocks.collector.endpoint, .records
//!   - name: hooks
//!     type: webhook              # $mocks.hooks.url, .caPem, .certPem, .keyPem, .requests
//!     hmacKey: s3cret            # each request gets signatureValid (contract DP-4)
//!     clientCa: true             # require a client certificate (mTLS)
//!     responses:                 # first match wins; default 200 {"allowed": true}
//!     - path: /validate
//!       bodyContains: tools/call
//!       status: 200
//!       body: {allowed: false, reason: denied by policy}
//!       delay: 2s
//! ```
//!
//! Assertions on mocks (`assert` / `error` / `consistently` with `mock: NAME`) evaluate
//! assertion trees against the recorded requests, re-evaluated on each new request via
//! [`recorder::Recorder::subscribe`] (no polling).
//!
//! Reachability: mocks listen on 127.0.0.1 only. Workloads that run as local processes
//! (an operator under test started by kanon, scripts, the local control plane) reach
//! them at the bound address. Pods of a k3s container cannot reach the host's loopback;
//! they would need the container network's gateway address and a mock bound to it, which
//! kanon does not do (tests here never listen beyond loopback).

pub mod otlp;
pub mod recorder;
pub mod server;
pub mod tls;
pub mod webhook;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use otlp::OtlpMock;
use recorder::Recorder;
use webhook::{WebhookConfig, WebhookMock};

/// Errors declaring, starting or naming mocks.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MockError {
    /// A mock entry is malformed.
    #[error("mock {name:?}: {message}")]
    Config {
        /// The mock's name (empty when it has none).
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A mock could not start (e.g. no port to bind).
    #[error("mock {name:?} cannot start: {message}")]
    Start {
        /// The mock's name.
        name: String,
        /// Why.
        message: String,
    },
    /// An assertion names a mock the scenario does not declare.
    #[error("no mock named {name:?}; this scenario declares {}", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    Unknown {
        /// The name asked for.
        name: String,
        /// The declared names.
        known: Vec<String>,
    },
}

/// What kind of mock, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum MockKindConfig {
    /// An OTLP/HTTP receiver.
    Otlp,
    /// An HTTPS webhook server.
    Webhook(WebhookConfig),
}

/// One validated `spec.mocks` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct MockSpec {
    /// Bound as `$mocks.<name>`.
    pub name: String,
    /// Kind and settings.
    pub config: MockKindConfig,
}

impl MockSpec {
    /// Validates one entry: `{name, type: otlp | webhook, ...settings}`.
    pub fn from_json(entry: &Value) -> Result<Self, MockError> {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let err = |message: String| MockError::Config {
            name: name.clone(),
            message,
        };
        if name.is_empty() {
            return Err(err("needs a name".into()));
        }
        let mut rest: Map<String, Value> = entry
            .as_object()
            .cloned()
            .ok_or_else(|| err("must be a mapping".into()))?;
        rest.remove("name");
        let kind = rest
            .remove("type")
            .and_then(|t| t.as_str().map(str::to_string))
            .ok_or_else(|| err("needs a type: otlp or webhook".into()))?;
        let config = match kind.as_str() {
            "otlp" => {
                if let Some(k) = rest.keys().next() {
                    return Err(err(format!("unknown field {k:?} for an otlp mock")));
                }
                MockKindConfig::Otlp
            }
            "webhook" => {
                let c: WebhookConfig =
                    serde_json::from_value(Value::Object(rest)).map_err(|e| err(e.to_string()))?;
                for r in &c.responses {
                    if let Some(d) = &r.delay {
                        crate::scenario::parse_duration(d)
                            .map_err(|e| err(format!("responses: delay {e}")))?;
                    }
                }
                MockKindConfig::Webhook(c)
            }
            other => return Err(err(format!("unknown type {other:?}; use otlp or webhook"))),
        };
        Ok(Self { name, config })
    }
}

enum Mock {
    Otlp(OtlpMock),
    Webhook(WebhookMock),
}

/// The running mocks of one scenario. Dropping it stops them.
pub struct MockSet {
    mocks: Vec<(String, Mock)>,
}

impl std::fmt::Debug for MockSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.mocks.iter().map(|(n, _)| n))
            .finish()
    }
}

impl MockSet {
    /// Starts every mock (none when `specs` is empty).
    pub async fn start(specs: &[MockSpec]) -> Result<Self, MockError> {
        let mut mocks: Vec<(String, Mock)> = Vec::new();
        for spec in specs {
            if mocks.iter().any(|(n, _)| n == &spec.name) {
                return Err(MockError::Config {
                    name: spec.name.clone(),
                    message: "declared twice".into(),
                });
            }
            let start_err = |message: String| MockError::Start {
                name: spec.name.clone(),
                message,
            };
            let mock = match &spec.config {
                MockKindConfig::Otlp => Mock::Otlp(
                    OtlpMock::start()
                        .await
                        .map_err(|e| start_err(e.to_string()))?,
                ),
                MockKindConfig::Webhook(c) => {
                    Mock::Webhook(WebhookMock::start(&spec.name, c).await.map_err(start_err)?)
                }
            };
            mocks.push((spec.name.clone(), mock));
        }
        Ok(Self { mocks })
    }

    /// `{<name>: {...}}` for `$mocks`, with the records as of now.
    pub fn bindings(&self) -> Value {
        let mut out = Map::new();
        for (name, mock) in &self.mocks {
            let v = match mock {
                Mock::Otlp(m) => json!({
                    "type": "otlp",
                    "endpoint": m.endpoint(),
                    "records": m.recorder().records(),
                }),
                Mock::Webhook(m) => json!({
                    "type": "webhook",
                    "url": m.url(),
                    "caPem": m.pki().ca_pem,
                    "certPem": m.pki().client_cert_pem,
                    "keyPem": m.pki().client_key_pem,
                    "requests": m.recorder().records(),
                }),
            };
            out.insert(name.clone(), v);
        }
        Value::Object(out)
    }

    /// The recorder of the mock `name`, for assertions.
    pub fn recorder(&self, name: &str) -> Result<&Arc<Recorder>, MockError> {
        self.mocks
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| match m {
                Mock::Otlp(m) => m.recorder(),
                Mock::Webhook(m) => m.recorder(),
            })
            .ok_or_else(|| MockError::Unknown {
                name: name.to_string(),
                known: self.mocks.iter().map(|(n, _)| n.clone()).collect(),
            })
    }

    /// Stops every mock.
    pub fn stop(&self) {
        for (_, m) in &self.mocks {
            match m {
                Mock::Otlp(m) => m.stop(),
                Mock::Webhook(m) => m.stop(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(json!({"type": "otlp"}), "needs a name")]
    #[case(json!({"name": "c"}), "needs a type")]
    #[case(json!({"name": "c", "type": "smtp"}), "unknown type \"smtp\"")]
    #[case(json!({"name": "c", "type": "otlp", "port": 1}), "unknown field \"port\"")]
    #[case(json!({"name": "w", "type": "webhook", "hmac": "x"}), "unknown field `hmac`")]
    #[case(json!({"name": "w", "type": "webhook", "responses": [{"delay": "soon"}]}), "delay")]
    #[case(json!({"name": "w", "type": "webhook", "responses": [{"status": "ok"}]}), "invalid type")]
    fn malformed_entries_are_named_errors(#[case] entry: Value, #[case] needle: &str) {
        let err = MockSpec::from_json(&entry).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }

    #[tokio::test]
    async fn unknown_mock_names_list_the_declared_ones() {
        let specs = vec![
            MockSpec::from_json(&json!({"name": "collector", "type": "otlp"})).unwrap(),
            MockSpec::from_json(&json!({"name": "hooks", "type": "webhook"})).unwrap(),
        ];
        let set = MockSet::start(&specs).await.unwrap();
        let err = set.recorder("colector").unwrap_err().to_string();
        assert_eq!(
            err,
            "no mock named \"colector\"; this scenario declares collector, hooks"
        );
        let b = set.bindings();
        assert!(
            b["collector"]["endpoint"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        assert!(
            b["hooks"]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://127.0.0.1:")
        );
        assert!(
            b["hooks"]["caPem"]
                .as_str()
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );
        let dup = MockSet::start(&[specs[0].clone(), specs[0].clone()])
            .await
            .unwrap_err();
        assert!(dup.to_string().contains("declared twice"));
    }
}
