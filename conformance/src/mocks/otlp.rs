//! The OTLP mock: an OTLP/HTTP receiver on loopback that records every export.
//!
//! `POST /v1/traces`, `/v1/metrics`, `/v1/logs` with `application/x-protobuf` or
//! `application/json` bodies, optionally gzip-encoded, are decoded with
//! opentelemetry-proto into JSON records:
//!
//! ```yaml
//! signal: traces            # traces | metrics | logs
//! path: /v1/traces
//! contentType: application/x-protobuf
//! headers: {x-api-key: ...} # lower-cased names
//! serviceName: my-server    # service.name of the first resource
//! resourceAttributes: {service.name: my-server, ...}   # of the first resource
//! resources: [{attributes: {...}}]
//! spans: [{name, kind, scope, attributes: {...}, status: {code, message}, traceId, spanId}]
//! metrics: [{name, scope, points: [{attributes: {...}, value}]}]
//! logs: [{body, severityText, attributes: {...}}]
//! error: null               # or why the body did not decode (then the answer is 400)
//! ```
//!
//! Bindings: `endpoint` (`http://127.0.0.1:PORT`, what an exporter's base endpoint is)
//! and `records`.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Map, Value, json};

use super::recorder::Recorder;
use super::server::{self, ConnInfo, Served};

/// A running OTLP receiver.
#[derive(Debug)]
pub struct OtlpMock {
    served: Served,
    recorder: Arc<Recorder>,
}

impl OtlpMock {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let recorder = Arc::new(Recorder::default());
        let rec = recorder.clone();
        let served = server::serve(None, move |req, info| {
            let rec = rec.clone();
            async move { handle(&rec, req, info) }
        })
        .await?;
        Ok(Self { served, recorder })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.served.addr)
    }

    /// The recorder.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// Stops the receiver.
    pub fn stop(&self) {
        self.served.stop();
    }
}

/// Which signal a path carries.
fn signal_of(path: &str) -> Option<&'static str> {
    match path.trim_end_matches('/') {
        "/v1/traces" => Some("traces"),
        "/v1/metrics" => Some("metrics"),
        "/v1/logs" => Some("logs"),
        _ => None,
    }
}

fn handle(rec: &Recorder, req: Request<Bytes>, _info: ConnInfo) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(signal) = signal_of(&path) else {
        return server::text_response(404, "OTLP paths are /v1/traces, /v1/metrics, /v1/logs");
    };
    let headers = server::headers_json(req.headers());
    let content_type = headers
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or("application/x-protobuf")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let gzip = headers
        .get("content-encoding")
        .and_then(Value::as_str)
        .is_some_and(|e| e.eq_ignore_ascii_case("gzip"));
    let json_body = content_type == "application/json";
    let mut record = json!({
        "signal": signal,
        "path": path,
        "contentType": content_type,
        "headers": headers,
        "error": null,
    });
    let decoded = body_bytes(req.body(), gzip).and_then(|b| decode(signal, &b, json_body));
    match decoded {
        Ok(fields) => {
            if let (Some(r), Value::Object(f)) = (record.as_object_mut(), fields) {
                r.extend(f);
            }
            rec.push(record);
            let body = match (signal, json_body) {
                (_, true) => b"{}".to_vec(),
                ("traces", false) => ExportTraceServiceResponse::default().encode_to_vec(),
                ("metrics", false) => ExportMetricsServiceResponse::default().encode_to_vec(),
                _ => ExportLogsServiceResponse::default().encode_to_vec(),
            };
            let ct = if json_body {
                "application/json"
            } else {
                "application/x-protobuf"
            };
            server::response(200, ct, body)
        }
        Err(e) => {
            record["error"] = Value::String(e.clone());
            rec.push(record);
            server::text_response(400, &e)
        }
    }
}

fn body_bytes(body: &Bytes, gzip: bool) -> Result<Vec<u8>, String> {
    if !gzip {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}

fn parse<T: Message + Default + serde::de::DeserializeOwned>(
    b: &[u8],
    json: bool,
) -> Result<T, String> {
    if json {
        serde_json::from_slice(b).map_err(|e| format!("OTLP/JSON: {e}"))
    } else {
        T::decode(b).map_err(|e| format!("OTLP/protobuf: {e}"))
    }
}

/// Decodes one export into the record's signal fields.
pub fn decode(signal: &str, b: &[u8], json: bool) -> Result<Value, String> {
    match signal {
        "traces" => {
            let req: ExportTraceServiceRequest = parse(b, json)?;
            let mut resources = Vec::new();
            let mut spans = Vec::new();
            for rs in &req.resource_spans {
                resources.push(resource_json(rs.resource.as_ref()));
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        let status = s
                            .status
                            .as_ref()
                            .map(|st| json!({"code": st.code, "message": st.message}));
                        spans.push(json!({
                            "name": s.name,
                            "kind": s.kind,
                            "scope": scope_name(ss.scope.as_ref()),
                            "attributes": attributes(&s.attributes),
                            "status": status,
                            "traceId": hex::encode(&s.trace_id),
                            "spanId": hex::encode(&s.span_id),
                        }));
                    }
                }
            }
            Ok(with_resources(resources, "spans", spans))
        }
        "metrics" => {
            let req: ExportMetricsServiceRequest = parse(b, json)?;
            let mut resources = Vec::new();
            let mut metrics = Vec::new();
            for rm in &req.resource_metrics {
                resources.push(resource_json(rm.resource.as_ref()));
                for sm in &rm.scope_metrics {
                    for m in &sm.metrics {
                        metrics.push(json!({
                            "name": m.name,
                            "scope": scope_name(sm.scope.as_ref()),
                            "points": points(m.data.as_ref()),
                        }));
                    }
                }
            }
            Ok(with_resources(resources, "metrics", metrics))
        }
        _ => {
            let req: ExportLogsServiceRequest = parse(b, json)?;
            let mut resources = Vec::new();
            let mut logs = Vec::new();
            for rl in &req.resource_logs {
                resources.push(resource_json(rl.resource.as_ref()));
                for sl in &rl.scope_logs {
                    for l in &sl.log_records {
                        logs.push(json!({
                            "body": l.body.as_ref().map(any_value).unwrap_or(Value::Null),
                            "severityText": l.severity_text,
                            "scope": scope_name(sl.scope.as_ref()),
                            "attributes": attributes(&l.attributes),
                        }));
                    }
                }
            }
            Ok(with_resources(resources, "logs", logs))
        }
    }
}

fn with_resources(resources: Vec<Value>, key: &str, items: Vec<Value>) -> Value {
    let first = resources
        .first()
        .and_then(|r| r.get("attributes"))
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let service = first.get("service.name").cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("serviceName".into(), service);
    out.insert("resourceAttributes".into(), first);
    out.insert("resources".into(), Value::Array(resources));
    out.insert(key.into(), Value::Array(items));
    Value::Object(out)
}

fn resource_json(r: Option<&Resource>) -> Value {
    json!({"attributes": r.map(|r| attributes(&r.attributes)).unwrap_or_default()})
}

fn scope_name(s: Option<&InstrumentationScope>) -> Value {
    s.map(|s| Value::String(s.name.clone()))
        .unwrap_or(Value::Null)
}

/// Attributes as a JSON map.
pub fn attributes(kvs: &[KeyValue]) -> Map<String, Value> {
    kvs.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(any_value).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// An OTLP AnyValue as JSON.
pub fn any_value(v: &AnyValue) -> Value {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => json!(i),
        Some(any_value::Value::DoubleValue(d)) => json!(d),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(any_value).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(attributes(&kv.values)),
        Some(any_value::Value::BytesValue(b)) => Value::String(hex::encode(b)),
        Some(any_value::Value::StringValueStrindex(i)) => json!({"stringIndex": i}),
        None => Value::Null,
    }
}

fn points(data: Option<&metric::Data>) -> Value {
    let number = |dps: &[opentelemetry_proto::tonic::metrics::v1::NumberDataPoint]| {
        dps.iter()
            .map(|p| {
                let value = match p.value {
                    Some(number_data_point::Value::AsDouble(d)) => json!(d),
                    Some(number_data_point::Value::AsInt(i)) => json!(i),
                    None => Value::Null,
                };
                json!({"attributes": attributes(&p.attributes), "value": value})
            })
            .collect::<Vec<_>>()
    };
    let list = match data {
        Some(metric::Data::Gauge(g)) => number(&g.data_points),
        Some(metric::Data::Sum(s)) => number(&s.data_points),
        Some(metric::Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| json!({"attributes": attributes(&p.attributes), "count": p.count, "sum": p.sum}))
            .collect(),
        Some(metric::Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| json!({"attributes": attributes(&p.attributes), "count": p.count, "sum": p.sum}))
            .collect(),
        Some(metric::Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| json!({"attributes": attributes(&p.attributes), "count": p.count, "sum": p.sum}))
            .collect(),
        None => Vec::new(),
    };
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        let err = decode("traces", b"\xff\xff\xff", false).unwrap_err();
        assert!(err.contains("protobuf"), "{err}");
        let err = decode("metrics", b"{not json", true).unwrap_err();
        assert!(err.contains("JSON"), "{err}");
        assert!(body_bytes(&Bytes::from_static(b"not gzip"), true).is_err());
    }

    #[test]
    fn any_values_become_json() {
        let v = AnyValue {
            value: Some(any_value::Value::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::IntValue(3)),
                        },
                        AnyValue {
                            value: Some(any_value::Value::StringValue("x".into())),
                        },
                    ],
                },
            )),
        };
        assert_eq!(any_value(&v), json!([3, "x"]));
        assert_eq!(signal_of("/v1/traces/"), Some("traces"));
        assert_eq!(signal_of("/v2/traces"), None);
    }
}
