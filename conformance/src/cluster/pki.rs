//! Certificates and keys for a local control plane, generated fresh per cluster with rcgen.
//!
//! One CA signs the API server's serving certificate and the admin client certificate
//! (`O=system:masters`); a separate key pair signs service-account tokens.

use super::ClusterError;
use crate::pki::{Ca, PkiError};

/// PEM material for one cluster.
#[derive(Debug, Clone)]
pub struct ClusterPki {
    /// CA certificate (trusted by clients and used as client CA by the API server).
    pub ca_cert: String,
    /// CA private key (kept for signing CSRs in kube-controller-manager).
    pub ca_key: String,
    /// API server serving certificate.
    pub serving_cert: String,
    /// API server serving key.
    pub serving_key: String,
    /// Admin client certificate (`CN=kanon-admin, O=system:masters`).
    pub admin_cert: String,
    /// Admin client key.
    pub admin_key: String,
    /// Service-account token signing key (private).
    pub sa_key: String,
    /// Service-account token verification key (public).
    pub sa_pub: String,
}

/// Names the serving certificate answers to, besides the loopback addresses.
const SERVING_NAMES: &[&str] = &[
    "127.0.0.1",
    "::1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "10.0.0.1",
];

impl From<PkiError> for ClusterError {
    fn from(e: PkiError) -> Self {
        ClusterError::Pki(e.to_string())
    }
}

impl ClusterPki {
    /// Generates a fresh CA, serving and admin certificates and a service-account key.
    pub fn generate() -> Result<Self, ClusterError> {
        let ca = Ca::generate("kanon-ca")?;
        let serving = ca.server("kube-apiserver", SERVING_NAMES)?;
        let admin = ca.client("kanon-admin", Some("system:masters"))?;
        let sa = rcgen::KeyPair::generate()
            .map_err(|e| ClusterError::Pki(format!("service-account key: {e}")))?;
        Ok(Self {
            ca_cert: ca.cert_pem,
            ca_key: ca.key_pem,
            serving_cert: serving.cert_pem,
            serving_key: serving.key_pem,
            admin_cert: admin.cert_pem,
            admin_key: admin.key_pem,
            sa_key: sa.serialize_pem(),
            sa_pub: sa.public_key_pem(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_distinct_pem_material() {
        let a = ClusterPki::generate().unwrap();
        let b = ClusterPki::generate().unwrap();
        for pem in [&a.ca_cert, &a.serving_cert, &a.admin_cert] {
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        }
        for pem in [&a.ca_key, &a.serving_key, &a.admin_key, &a.sa_key] {
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        }
        assert!(a.sa_pub.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_ne!(a.ca_cert, b.ca_cert, "each cluster gets its own CA");
    }
}
