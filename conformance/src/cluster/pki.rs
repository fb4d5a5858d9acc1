//! Certificates and keys for a local control plane, generated fresh per cluster with rcgen.
//!
//! One CA signs the API server's serving certificate and the admin client certificate
//! (`O=system:masters`); a separate key pair signs service-account tokens.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use super::ClusterError;

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

fn pki_err(what: &str, e: rcgen::Error) -> ClusterError {
    ClusterError::Pki(format!("{what}: {e}"))
}

fn dn(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, o);
    }
    dn
}

impl ClusterPki {
    /// Generates a fresh CA, serving and admin certificates and a service-account key.
    pub fn generate() -> Result<Self, ClusterError> {
        let ca_key = KeyPair::generate().map_err(|e| pki_err("CA key", e))?;
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = dn("kanon-ca", None);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(|e| pki_err("CA certificate", e))?;
        let ca_pem = ca_cert.pem();
        let ca_key_pem = ca_key.serialize_pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let serving_key = KeyPair::generate().map_err(|e| pki_err("serving key", e))?;
        let mut serving = CertificateParams::new(
            SERVING_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .map_err(|e| pki_err("serving names", e))?;
        serving.distinguished_name = dn("kube-apiserver", None);
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        serving.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let serving_cert = serving
            .signed_by(&serving_key, &issuer)
            .map_err(|e| pki_err("serving certificate", e))?;

        let admin_key = KeyPair::generate().map_err(|e| pki_err("admin key", e))?;
        let mut admin = CertificateParams::default();
        admin.distinguished_name = dn("kanon-admin", Some("system:masters"));
        admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        admin.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let admin_cert = admin
            .signed_by(&admin_key, &issuer)
            .map_err(|e| pki_err("admin certificate", e))?;

        let sa = KeyPair::generate().map_err(|e| pki_err("service-account key", e))?;

        Ok(Self {
            ca_cert: ca_pem,
            ca_key: ca_key_pem,
            serving_cert: serving_cert.pem(),
            serving_key: serving_key.serialize_pem(),
            admin_cert: admin_cert.pem(),
            admin_key: admin_key.serialize_pem(),
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
