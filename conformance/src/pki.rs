//! Throwaway certificate authorities, generated with rcgen: one per local cluster (its
//! API server and admin certificates) and one per TLS mock (its server and mTLS client
//! certificates). Keys live in memory and in the files their owner writes, never longer.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// What failed while generating certificates: the part, and rcgen's reason.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct PkiError {
    /// The key or certificate being made.
    pub what: String,
    /// rcgen's error.
    pub source: rcgen::Error,
}

fn context(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> PkiError {
    let what = what.into();
    move |source| PkiError { what, source }
}

/// A subject with a common name and, optionally, an organization (for Kubernetes, the
/// client certificate's group).
fn subject(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, o);
    }
    dn
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

/// A self-signed CA that issues leaf certificates.
pub struct Ca {
    /// The CA certificate, for whoever must trust it.
    pub cert_pem: String,
    /// The CA key (the local cluster's controller manager signs CSRs with it).
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

impl Ca {
    /// A fresh CA with its own key, named `common_name`.
    pub fn generate(common_name: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate().map_err(context("CA key"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(common_name, None);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params
            .self_signed(&key)
            .map_err(context("CA certificate"))?;
        Ok(Ca {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server(&self, common_name: &str, names: &[&str]) -> Result<Issued, PkiError> {
        self.issue(
            common_name,
            None,
            names,
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate for `common_name`, in `organization` when given.
    pub fn client(
        &self,
        common_name: &str,
        organization: Option<&str>,
    ) -> Result<Issued, PkiError> {
        self.issue(
            common_name,
            organization,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn issue(
        &self,
        common_name: &str,
        organization: Option<&str>,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<Issued, PkiError> {
        let key = KeyPair::generate().map_err(context(format!("{common_name} key")))?;
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .map_err(context(format!("{common_name} names")))?;
        params.distinguished_name = subject(common_name, organization);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(context(format!("{common_name} certificate")))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_issues_distinct_leaves_it_has_signed() {
        let ca = Ca::generate("test CA").unwrap();
        let server = ca.server("srv", &["127.0.0.1", "localhost"]).unwrap();
        let client = ca.client("me", Some("system:masters")).unwrap();
        assert!(ca.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(server.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_ne!(server.cert_pem, client.cert_pem);
        assert_ne!(server.key_pem, client.key_pem);
        let other = Ca::generate("test CA").unwrap();
        assert_ne!(ca.cert_pem, other.cert_pem, "each CA has its own key");
    }
}
