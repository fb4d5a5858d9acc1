//! The webhook mock over real TLS: CA trust, HMAC signatures, mTLS, scripted answers and
//! delays.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use kanon::mocks::webhook::{WebhookConfig, WebhookMock, sign};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};

/// How a client is set up.
struct Client {
    ca_pem: Option<String>,
    client_cert: Option<(String, String)>,
    timeout: Duration,
}

/// POSTs `body` with `headers` to `url` + `path`; `Err` carries the TLS or timeout error.
async fn post(
    c: &Client,
    url: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Result<(u16, Value), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = &c.ca_pem {
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match &c.client_cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let addr = url.trim_start_matches("https://").to_string();
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(
                ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
                tcp,
            )
            .await
            .map_err(|e| format!("tls: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let mut req = hyper::Request::post(path)
            .header("host", addr.as_str())
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap())
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    };
    tokio::time::timeout(c.timeout, attempt)
        .await
        .map_err(|_| "timed out".to_string())?
}

fn trusting(mock: &WebhookMock) -> Client {
    Client {
        ca_pem: Some(mock.pki().ca_pem.clone()),
        client_cert: None,
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn tls_is_verified_against_the_bound_ca() {
    let mock = WebhookMock::start("hooks", &WebhookConfig::default())
        .await
        .unwrap();
    let (status, body) = post(
        &trusting(&mock),
        &mock.url(),
        "/validate",
        &[],
        r#"{"uid":"1"}"#,
    )
    .await
    .unwrap();
    assert_eq!((status, body), (200, json!({"allowed": true})));
    let stranger = Client {
        ca_pem: None,
        client_cert: None,
        timeout: Duration::from_secs(10),
    };
    let err = post(&stranger, &mock.url(), "/validate", &[], "{}")
        .await
        .unwrap_err();
    assert!(err.contains("tls"), "{err}");
    let records = mock.recorder().records();
    assert_eq!(records.len(), 1, "the untrusted attempt never reached HTTP");
    assert_eq!(records[0]["body"]["uid"], "1");
    assert_eq!(records[0]["path"], "/validate");
    assert_eq!(
        records[0]["signatureValid"],
        Value::Null,
        "no key, no verdict"
    );
}

#[tokio::test]
async fn hmac_signatures_are_checked() {
    let config = WebhookConfig {
        hmac_key: Some("s3cret".into()),
        ..Default::default()
    };
    let mock = WebhookMock::start("signed", &config).await.unwrap();
    let body = r#"{"version":"v0.1.0","uid":"u1","request":{"method":"tools/call"}}"#;
    let ts = "1763900000".to_string();
    let good = sign(b"s3cret", &ts, body.as_bytes());
    let bad = sign(b"wrong", &ts, body.as_bytes());
    let c = trusting(&mock);
    for sig in [good, bad] {
        post(
            &c,
            &mock.url(),
            "/v",
            &[
                ("X-ToolHive-Timestamp", ts.clone()),
                ("X-ToolHive-Signature", sig),
            ],
            body,
        )
        .await
        .unwrap();
    }
    post(&c, &mock.url(), "/v", &[], body).await.unwrap();
    let records = mock
        .recorder()
        .wait_until(Duration::from_secs(5), |r| r.len() == 3)
        .await
        .unwrap();
    let verdicts: Vec<&Value> = records.iter().map(|r| &r["signatureValid"]).collect();
    assert_eq!(verdicts, [&json!(true), &json!(false), &json!(false)]);
    assert!(
        !format!("{records:?}").contains("s3cret"),
        "the key is never recorded"
    );
}

#[tokio::test]
async fn mtls_requires_the_client_certificate() {
    let config = WebhookConfig {
        client_ca: true,
        ..Default::default()
    };
    let mock = WebhookMock::start("mtls", &config).await.unwrap();
    let without = trusting(&mock);
    assert!(post(&without, &mock.url(), "/", &[], "{}").await.is_err());
    let with = Client {
        client_cert: Some((
            mock.pki().client_cert_pem.clone(),
            mock.pki().client_key_pem.clone(),
        )),
        ..trusting(&mock)
    };
    let (status, _) = post(&with, &mock.url(), "/", &[], "{}").await.unwrap();
    assert_eq!(status, 200);
    let records = mock.recorder().records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["clientCertPresented"], true);
}

#[tokio::test]
async fn scripted_answers_and_delays() {
    let config: WebhookConfig = serde_json::from_value(json!({
        "responses": [
            {"path": "/deny", "status": 200, "body": {"allowed": false, "reason": "blocked"}},
            {"bodyContains": "boom", "status": 500, "body": {"error": "boom"}},
            {"path": "/slow", "delay": "3s"}
        ]
    }))
    .unwrap();
    let mock = WebhookMock::start("scripted", &config).await.unwrap();
    let c = trusting(&mock);
    assert_eq!(
        post(&c, &mock.url(), "/deny", &[], "{}").await.unwrap(),
        (200, json!({"allowed": false, "reason": "blocked"}))
    );
    assert_eq!(
        post(&c, &mock.url(), "/x", &[], r#"{"m":"boom"}"#)
            .await
            .unwrap()
            .0,
        500
    );
    assert_eq!(
        post(&c, &mock.url(), "/x", &[], "{}").await.unwrap(),
        (200, json!({"allowed": true}))
    );
    let impatient = Client {
        timeout: Duration::from_millis(300),
        ..trusting(&mock)
    };
    let started = std::time::Instant::now();
    assert_eq!(
        post(&impatient, &mock.url(), "/slow", &[], "{}")
            .await
            .unwrap_err(),
        "timed out"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}
