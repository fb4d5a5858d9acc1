//! TLS material for a webhook mock: a CA generated per mock, a server certificate for
//! the loopback names, and a client certificate for mTLS, all from rcgen.

use std::sync::Arc;

use crate::pki::Ca;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// PEM material of one mock.
#[derive(Debug, Clone)]
pub struct MockPki {
    /// The CA certificate clients trust (`caPem`).
    pub ca_pem: String,
    /// The server certificate.
    pub server_cert_pem: String,
    /// The server key.
    pub server_key_pem: String,
    /// A client certificate the mock accepts for mTLS (`certPem`).
    pub client_cert_pem: String,
    /// Its key (`keyPem`).
    pub client_key_pem: String,
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl MockPki {
    /// Generates a CA named `cn` and the server and client certificates it issues.
    pub fn generate(cn: &str) -> Result<Self, String> {
        let issue = || -> Result<Self, crate::pki::PkiError> {
            let ca = Ca::generate(&format!("{cn} CA"))?;
            let server = ca.server(cn, &["127.0.0.1", "::1", "localhost"])?;
            let client = ca.client(&format!("{cn}-client"), None)?;
            Ok(Self {
                ca_pem: ca.cert_pem,
                server_cert_pem: server.cert_pem,
                server_key_pem: server.key_pem,
                client_cert_pem: client.cert_pem,
                client_key_pem: client.key_pem,
            })
        };
        issue().map_err(|e| e.to_string())
    }

    /// A rustls server config; with `client_auth`, clients may present a certificate
    /// issued by this CA, and must when `require_client_cert`.
    pub fn server_config(
        &self,
        client_auth: bool,
        require_client_cert: bool,
    ) -> Result<Arc<rustls::ServerConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| err("server certificate", e))?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| err("server key", e))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| err("TLS versions", e))?;
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
                roots
                    .add(c.map_err(|e| err("CA", e))?)
                    .map_err(|e| err("CA", e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder
                .with_client_cert_verifier(verifier.build().map_err(|e| err("client verifier", e))?)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(|e| err("server certificate", e))?;
        Ok(Arc::new(config))
    }
}
