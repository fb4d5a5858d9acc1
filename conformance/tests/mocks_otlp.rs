//! Real OTLP traffic from the opentelemetry-otlp exporter at the OTLP mock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use kanon::mocks::otlp::OtlpMock;
use opentelemetry::KeyValue;
use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Exports one span with the blocking HTTP client, off the async runtime.
fn export_span(endpoint: String, protocol: Protocol) {
    std::thread::spawn(move || {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(format!("{endpoint}/v1/traces"))
            .with_headers(HashMap::from([(
                "X-API-Key".to_string(),
                "k-123".to_string(),
            )]))
            .build()
            .unwrap();
        let provider = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder()
                    .with_service_name("mcp-fetch")
                    .with_attribute(KeyValue::new("deployment.environment", "conformance"))
                    .build(),
            )
            .with_simple_exporter(exporter)
            .build();
        let tracer = provider.tracer("kanon-test");
        tracer.in_span("tools/call", |_cx| {});
        provider.force_flush().unwrap();
        provider.shutdown().unwrap();
    })
    .join()
    .unwrap();
}

async fn exported_via(protocol: Protocol, content_type: &str) {
    let mock = OtlpMock::start().await.unwrap();
    let endpoint = mock.endpoint();
    tokio::task::spawn_blocking(move || export_span(endpoint, protocol))
        .await
        .unwrap();
    let records = mock
        .recorder()
        .wait_until(Duration::from_secs(10), |r| !r.is_empty())
        .await
        .expect("an export arrives");
    let r = &records[0];
    assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    assert_eq!(r["signal"], "traces");
    assert_eq!(r["contentType"], content_type);
    assert_eq!(r["serviceName"], "mcp-fetch");
    assert_eq!(
        r["resourceAttributes"]["deployment.environment"],
        "conformance"
    );
    assert_eq!(
        r["headers"]["x-api-key"], "k-123",
        "headers arrive, names lower-cased"
    );
    assert_eq!(r["spans"][0]["name"], "tools/call");
    assert_eq!(r["spans"][0]["scope"], "kanon-test");
    assert_eq!(r["spans"][0]["traceId"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn protobuf_exports_are_decoded() {
    exported_via(Protocol::HttpBinary, "application/x-protobuf").await;
}

#[tokio::test]
async fn json_exports_are_decoded() {
    exported_via(Protocol::HttpJson, "application/json").await;
}

async fn post(
    endpoint: &str,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> u16 {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req =
        hyper::Request::post(format!("{endpoint}{path}")).header("content-type", content_type);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let resp = client
        .request(req.body(Full::new(bytes::Bytes::from(body))).unwrap())
        .await
        .unwrap();
    resp.status().as_u16()
}

#[tokio::test]
async fn malformed_bodies_are_recorded_as_decode_errors_and_gzip_works() {
    let mock = OtlpMock::start().await.unwrap();
    let ep = mock.endpoint();
    assert_eq!(
        post(
            &ep,
            "/v1/traces",
            "application/x-protobuf",
            None,
            b"\xff\x00garbage".to_vec()
        )
        .await,
        400
    );
    assert_eq!(
        post(
            &ep,
            "/v1/metrics",
            "application/json",
            None,
            b"{nope".to_vec()
        )
        .await,
        400
    );
    assert_eq!(
        post(&ep, "/v2/other", "application/json", None, b"{}".to_vec()).await,
        404
    );
    // A valid, gzip-compressed JSON export still decodes after the bad ones.
    let json = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gz"}}]},"scopeLogs":[{"logRecords":[{"severityText":"INFO","body":{"stringValue":"hello"}}]}]}]}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, json).unwrap();
    let body = gz.finish().unwrap();
    assert_eq!(
        post(&ep, "/v1/logs", "application/json", Some("gzip"), body).await,
        200
    );
    let records = mock.recorder().records();
    assert_eq!(records.len(), 3, "the 404 is not an export");
    assert!(records[0]["error"].as_str().unwrap().contains("protobuf"));
    assert!(records[1]["error"].as_str().unwrap().contains("JSON"));
    assert_eq!(records[2]["error"], serde_json::Value::Null);
    assert_eq!(records[2]["serviceName"], "gz");
    assert_eq!(records[2]["logs"][0]["body"], "hello");
}
