//! A minimal HTTPS health probe for a starting API server.
//!
//! It speaks to `/readyz` anonymously (the bootstrap RBAC policy lets anyone read it)
//! over TLS verified against the cluster CA. It does not use the kube client, whose
//! tracing reports every refused connection and 500 answer of a server that is still
//! booting as an error.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ClusterError;

/// Probes `https://127.0.0.1:<port><path>`; `Ok(true)` for a 200 answer with body `ok`.
#[derive(Clone)]
pub struct HealthProbe {
    port: u16,
    connector: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for HealthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthProbe")
            .field("port", &self.port)
            .finish()
    }
}

impl HealthProbe {
    /// A probe for the API server on `port` whose serving certificate `ca_pem` issued.
    pub fn new(port: u16, ca_pem: &str) -> Result<Self, ClusterError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            let cert = cert.map_err(|e| ClusterError::Pki(format!("CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ClusterError::Pki(format!("CA certificate: {e}")))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClusterError::Pki(format!("TLS config: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            port,
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// One GET of `path`; any failure is "not ready" (`false`).
    pub async fn ready(&self, path: &str) -> bool {
        let attempt = async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
            let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
            let mut tls = self.connector.connect(name, tcp).await?;
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            tls.write_all(req.as_bytes()).await?;
            let mut buf = Vec::new();
            tls.read_to_end(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(buf)) => {
                let text = String::from_utf8_lossy(&buf);
                text.starts_with("HTTP/1.1 200") && text.trim_end().ends_with("ok")
            }
            _ => false,
        }
    }
}
