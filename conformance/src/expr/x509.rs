//! `x509_decode`: a PEM certificate or certificate request as the object Kyverno (and
//! so Chainsaw) returns.
//!
//! Kyverno JSON-encodes Go's `crypto/x509.Certificate` (a `CERTIFICATE` block) or
//! `crypto/x509.CertificateRequest` (a `CERTIFICATE REQUEST` block), with the public key
//! replaced by `{N, E}` (the RSA modulus as a decimal string and the exponent), and only
//! accepts RSA keys. The field names and value shapes here are Go's: byte slices are
//! base64 strings, enums (`SignatureAlgorithm`, `PublicKeyAlgorithm`, `KeyUsage`,
//! `ExtKeyUsage`) are Go's numbers, object identifiers are arrays of integers, times are
//! RFC 3339, empty lists are `null`. Name constraints and `URIs` are not decoded
//! (always `null`). A request's `Attributes` (Go's deprecated view of them) holds its
//! extension request only: other attributes, such as a challenge password, are left out
//! as Go leaves them out.

use base64::Engine as _;
use serde_json::{Map, Value, json};
use x509_parser::der_parser::oid::Oid;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

/// Decodes the first PEM block of `text`, a `CERTIFICATE` or a `CERTIFICATE REQUEST`
/// with an RSA key.
pub fn decode(text: &str) -> Result<Value, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes())
        .map_err(|_| "failed to decode PEM block".to_string())?;
    match pem.label.as_str() {
        "CERTIFICATE" => {
            let (_, cert) = X509Certificate::from_der(&pem.contents).map_err(|e| e.to_string())?;
            certificate(&pem.contents, &cert)
        }
        "CERTIFICATE REQUEST" => {
            let (_, csr) =
                X509CertificationRequest::from_der(&pem.contents).map_err(|e| e.to_string())?;
            request(&pem.contents, &csr)
        }
        _ => Err("PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST".to_string()),
    }
}

/// Kyverno's `{N, E}` for an RSA subject public key (an error for any other key type,
/// as Kyverno's).
fn rsa_public_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<Value, String> {
    let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
        return Err("certificate should use rsa algorithm".to_string());
    };
    let exponent = rsa.exponent.iter().fold(0u64, |acc, b| {
        acc.saturating_mul(256).saturating_add(u64::from(*b))
    });
    Ok(json!({"N": decimal(rsa.modulus), "E": exponent}))
}

/// Go's `pkix.Extension`.
fn extension(ext: &X509Extension<'_>) -> Value {
    json!({
        "Id": oid(&ext.oid),
        "Critical": ext.critical,
        "Value": b64(ext.value),
    })
}

/// The DNS names, email addresses and IP addresses of a subject alternative name.
#[derive(Default)]
struct AltNames {
    dns: Vec<Value>,
    emails: Vec<Value>,
    ips: Vec<Value>,
}

impl AltNames {
    fn add(&mut self, san: &SubjectAlternativeName<'_>) {
        for n in &san.general_names {
            match n {
                GeneralName::DNSName(d) => self.dns.push(json!(d)),
                GeneralName::RFC822Name(e) => self.emails.push(json!(e)),
                GeneralName::IPAddress(b) => self.ips.push(ip(b)),
                _ => {}
            }
        }
    }
}

/// Go's `x509.CertificateRequest` (Kyverno's view of a `CERTIFICATE REQUEST`).
fn request(raw: &[u8], csr: &X509CertificationRequest<'_>) -> Result<Value, String> {
    let info = &csr.certification_request_info;
    let public_key = rsa_public_key(&info.subject_pki)?;
    let mut extensions = Vec::new();
    let mut attributes = Vec::new();
    let mut names = AltNames::default();
    for attr in info.iter_attributes() {
        // Go keeps the attributes that parse as a SET of SEQUENCEs of {type, value}:
        // the extension request; a critical extension's second element is its
        // `critical` flag, which Go's ANY does not decode (null).
        if let ParsedCriAttribute::ExtensionRequest(req) = attr.parsed_attribute() {
            let mut values = Vec::new();
            for ext in &req.extensions {
                extensions.push(extension(ext));
                values.push(json!({
                    "Type": oid(&ext.oid),
                    "Value": if ext.critical { Value::Null } else { b64(ext.value) },
                }));
                if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                    names.add(san);
                }
            }
            attributes.push(json!({"Type": oid(&attr.oid), "Value": [values]}));
        }
    }
    let fields: Vec<(&str, Value)> = vec![
        ("Raw", b64(raw)),
        ("RawTBSCertificateRequest", b64(info.raw)),
        ("RawSubjectPublicKeyInfo", b64(info.subject_pki.raw)),
        ("RawSubject", b64(info.subject.as_raw())),
        ("Version", json!(info.version.0)),
        ("Signature", b64(&csr.signature_value.data)),
        (
            "SignatureAlgorithm",
            json!(signature_algorithm(
                &csr.signature_algorithm.algorithm.to_id_string()
            )),
        ),
        ("PublicKeyAlgorithm", json!(1)),
        ("PublicKey", public_key),
        ("Subject", name(&info.subject)),
        ("Attributes", list(attributes)),
        ("Extensions", list(extensions)),
        ("ExtraExtensions", Value::Null),
        ("DNSNames", list(names.dns)),
        ("EmailAddresses", list(names.emails)),
        ("IPAddresses", list(names.ips)),
        ("URIs", Value::Null),
    ];
    Ok(Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    ))
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn oid(o: &Oid<'_>) -> Value {
    match o.iter() {
        Some(arcs) => Value::Array(arcs.map(|a| json!(a)).collect()),
        None => Value::Null,
    }
}

fn list(v: Vec<Value>) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Array(v)
    }
}

/// Big-endian unsigned bytes as a decimal string.
pub(crate) fn decimal(bytes: &[u8]) -> String {
    // Base 10^9 limbs, least significant first.
    let mut limbs: Vec<u32> = vec![0];
    for &b in bytes {
        let mut carry = u64::from(b);
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * 256 + carry;
            *limb = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    }
    let mut out = String::new();
    for (i, limb) in limbs.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&limb.to_string());
        } else {
            out.push_str(&format!("{limb:09}"));
        }
    }
    out
}

/// Big-endian unsigned bytes as a JSON number (a float when it exceeds `u64`, as Go's
/// round trip through `map[string]interface{}` makes it).
fn number(bytes: &[u8]) -> Value {
    let text = decimal(bytes);
    match text.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => text.parse::<f64>().map(|f| json!(f)).unwrap_or(Value::Null),
    }
}

/// Go's `x509.SignatureAlgorithm` number for a signature algorithm OID.
fn signature_algorithm(o: &str) -> u32 {
    match o {
        "1.2.840.113549.1.1.2" => 1,
        "1.2.840.113549.1.1.4" => 2,
        "1.2.840.113549.1.1.5" => 3,
        "1.2.840.113549.1.1.11" => 4,
        "1.2.840.113549.1.1.12" => 5,
        "1.2.840.113549.1.1.13" => 6,
        "1.2.840.10040.4.3" => 7,
        "2.16.840.1.101.3.4.3.2" => 8,
        "1.2.840.10045.4.1" => 9,
        "1.2.840.10045.4.3.2" => 10,
        "1.2.840.10045.4.3.3" => 11,
        "1.2.840.10045.4.3.4" => 12,
        "1.2.840.113549.1.1.10" => 13,
        "1.3.101.112" => 16,
        _ => 0,
    }
}

/// Go's `pkix.Name`: the usual attributes as lists, all of them under `Names`.
fn name(n: &X509Name<'_>) -> Value {
    let mut fields: Map<String, Value> = Map::new();
    let mut by_short: Vec<(&str, Vec<Value>)> = ["C", "O", "OU", "L", "ST", "street", "postalCode"]
        .iter()
        .map(|k| (*k, Vec::new()))
        .collect();
    let (mut serial, mut cn) = (String::new(), String::new());
    let mut names = Vec::new();
    for attr in n.iter_attributes() {
        let value = attr.as_str().map(str::to_string).unwrap_or_default();
        names.push(json!({"Type": oid(attr.attr_type()), "Value": value}));
        match attr.attr_type().to_id_string().as_str() {
            "2.5.4.3" => cn = value,
            "2.5.4.5" => serial = value,
            id => {
                let short = match id {
                    "2.5.4.6" => "C",
                    "2.5.4.10" => "O",
                    "2.5.4.11" => "OU",
                    "2.5.4.7" => "L",
                    "2.5.4.8" => "ST",
                    "2.5.4.9" => "street",
                    "2.5.4.17" => "postalCode",
                    _ => continue,
                };
                if let Some((_, v)) = by_short.iter_mut().find(|(k, _)| *k == short) {
                    v.push(Value::String(value));
                }
            }
        }
    }
    for (short, key) in [
        ("C", "Country"),
        ("O", "Organization"),
        ("OU", "OrganizationalUnit"),
        ("L", "Locality"),
        ("ST", "Province"),
        ("street", "StreetAddress"),
        ("postalCode", "PostalCode"),
    ] {
        let v = by_short
            .iter_mut()
            .find(|(k, _)| *k == short)
            .map(|(_, v)| std::mem::take(v))
            .unwrap_or_default();
        fields.insert(key.into(), list(v));
    }
    fields.insert("SerialNumber".into(), Value::String(serial));
    fields.insert("CommonName".into(), Value::String(cn));
    fields.insert("Names".into(), list(names));
    fields.insert("ExtraNames".into(), Value::Null);
    Value::Object(fields)
}

fn time(t: &ASN1Time) -> Value {
    jiff::Timestamp::from_second(t.timestamp())
        .map(|ts| Value::String(ts.to_string()))
        .unwrap_or(Value::Null)
}

fn certificate(raw: &[u8], cert: &X509Certificate<'_>) -> Result<Value, String> {
    let tbs = &cert.tbs_certificate;
    let spki = &tbs.subject_pki;
    let public_key = rsa_public_key(spki)?;
    let mut key_usage = 0u64;
    let mut ext_key_usage = Vec::new();
    let mut unknown_eku = Vec::new();
    let (mut basic_valid, mut is_ca, mut max_path_len, mut max_path_len_zero) =
        (false, false, 0i64, false);
    let (mut ski, mut aki) = (Value::Null, Value::Null);
    let mut names = AltNames::default();
    let (mut ocsp, mut issuers, mut crls, mut policies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut extensions = Vec::new();
    for ext in tbs.extensions() {
        extensions.push(extension(ext));
        match ext.parsed_extension() {
            ParsedExtension::KeyUsage(k) => key_usage = u64::from(k.flags),
            ParsedExtension::ExtendedKeyUsage(e) => {
                for (set, n) in [
                    (e.any, 0),
                    (e.server_auth, 1),
                    (e.client_auth, 2),
                    (e.code_signing, 3),
                    (e.email_protection, 4),
                    (e.time_stamping, 8),
                    (e.ocsp_signing, 9),
                ] {
                    if set {
                        ext_key_usage.push(json!(n));
                    }
                }
                unknown_eku.extend(e.other.iter().map(oid));
            }
            ParsedExtension::BasicConstraints(b) => {
                basic_valid = true;
                is_ca = b.ca;
                match b.path_len_constraint {
                    Some(n) => {
                        max_path_len = i64::from(n);
                        max_path_len_zero = n == 0;
                    }
                    None => max_path_len = -1,
                }
            }
            ParsedExtension::SubjectKeyIdentifier(k) => ski = b64(k.0),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                if let Some(k) = &a.key_identifier {
                    aki = b64(k.0);
                }
            }
            ParsedExtension::SubjectAlternativeName(san) => names.add(san),
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for d in &aia.accessdescs {
                    if let GeneralName::URI(u) = d.access_location {
                        match d.access_method.to_id_string().as_str() {
                            "1.3.6.1.5.5.7.48.1" => ocsp.push(json!(u)),
                            "1.3.6.1.5.5.7.48.2" => issuers.push(json!(u)),
                            _ => {}
                        }
                    }
                }
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for p in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                        for n in names {
                            if let GeneralName::URI(u) = n {
                                crls.push(json!(u));
                            }
                        }
                    }
                }
            }
            ParsedExtension::CertificatePolicies(ps) => {
                policies.extend(ps.iter().map(|p| oid(&p.policy_id)));
            }
            _ => {}
        }
    }
    let fields: Vec<(&str, Value)> = vec![
        ("Raw", b64(raw)),
        ("RawTBSCertificate", b64(tbs.as_ref())),
        ("RawSubjectPublicKeyInfo", b64(spki.raw)),
        ("RawSubject", b64(tbs.subject.as_raw())),
        ("RawIssuer", b64(tbs.issuer.as_raw())),
        ("Signature", b64(&cert.signature_value.data)),
        (
            "SignatureAlgorithm",
            json!(signature_algorithm(
                &cert.signature_algorithm.algorithm.to_id_string()
            )),
        ),
        ("PublicKeyAlgorithm", json!(1)),
        ("PublicKey", public_key),
        ("Version", json!(tbs.version.0 + 1)),
        ("SerialNumber", number(tbs.raw_serial())),
        ("Issuer", name(&tbs.issuer)),
        ("Subject", name(&tbs.subject)),
        ("NotBefore", time(&tbs.validity.not_before)),
        ("NotAfter", time(&tbs.validity.not_after)),
        ("KeyUsage", json!(key_usage)),
        ("Extensions", list(extensions)),
        ("ExtraExtensions", Value::Null),
        ("UnhandledCriticalExtensions", Value::Null),
        ("ExtKeyUsage", list(ext_key_usage)),
        ("UnknownExtKeyUsage", list(unknown_eku)),
        ("BasicConstraintsValid", json!(basic_valid)),
        ("IsCA", json!(is_ca)),
        ("MaxPathLen", json!(max_path_len)),
        ("MaxPathLenZero", json!(max_path_len_zero)),
        ("SubjectKeyId", ski),
        ("AuthorityKeyId", aki),
        ("OCSPServer", list(ocsp)),
        ("IssuingCertificateURL", list(issuers)),
        ("DNSNames", list(names.dns)),
        ("EmailAddresses", list(names.emails)),
        ("IPAddresses", list(names.ips)),
        ("URIs", Value::Null),
        ("PermittedDNSDomainsCritical", Value::Bool(false)),
        ("PermittedDNSDomains", Value::Null),
        ("ExcludedDNSDomains", Value::Null),
        ("PermittedIPRanges", Value::Null),
        ("ExcludedIPRanges", Value::Null),
        ("PermittedEmailAddresses", Value::Null),
        ("ExcludedEmailAddresses", Value::Null),
        ("PermittedURIDomains", Value::Null),
        ("ExcludedURIDomains", Value::Null),
        ("CRLDistributionPoints", list(crls)),
        ("PolicyIdentifiers", list(policies)),
    ];
    Ok(Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    ))
}

/// An IP address SAN as Go prints it.
fn ip(bytes: &[u8]) -> Value {
    match bytes.len() {
        4 => json!(std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            json!(std::net::Ipv6Addr::from(a).to_string())
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A self-signed RSA CA certificate made by rcgen (with ring, rcgen signs with RSA
    /// keys but cannot generate them: the key is a fixed test-only one).
    fn rsa_certificate() -> String {
        let key = rsa_key();
        let mut params =
            rcgen::CertificateParams::new(vec!["svc.example".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kanon test");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "kanon");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(1));
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.serial_number = Some(rcgen::SerialNumber::from(vec![0x01, 0x02]));
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn a_certificate_decodes_with_gos_field_names() {
        let v = decode(&rsa_certificate()).unwrap();
        assert_eq!(v["Subject"]["CommonName"], "kanon test");
        assert_eq!(v["Subject"]["Organization"], json!(["kanon"]));
        assert_eq!(v["Issuer"]["CommonName"], "kanon test");
        assert_eq!(v["Subject"]["Names"][0]["Type"], json!([2, 5, 4, 3]));
        assert_eq!(v["Version"], 3);
        assert_eq!(v["SerialNumber"], 258);
        assert_eq!(v["PublicKeyAlgorithm"], 1);
        assert_eq!(v["SignatureAlgorithm"], 4, "SHA256WithRSA");
        assert_eq!(v["PublicKey"]["E"], 65537);
        assert!(v["PublicKey"]["N"].as_str().unwrap().len() > 300);
        assert_eq!(v["IsCA"], true);
        assert_eq!(v["BasicConstraintsValid"], true);
        assert_eq!(v["MaxPathLen"], 1);
        assert_eq!(v["KeyUsage"], 1 | 32, "DigitalSignature | CertSign");
        assert_eq!(v["ExtKeyUsage"], json!([1]), "ServerAuth");
        assert_eq!(v["DNSNames"], json!(["svc.example"]));
        assert_eq!(v["IPAddresses"], json!(["127.0.0.1"]));
        assert_eq!(v["EmailAddresses"], Value::Null);
        assert!(v["NotBefore"].as_str().unwrap().ends_with('Z'));
        assert!(v["Raw"].as_str().unwrap().starts_with("MII"));
    }

    fn rsa_key() -> rcgen::KeyPair {
        rcgen::KeyPair::from_pem_and_sign_algo(
            include_str!("x509-test-key.pem"),
            &rcgen::PKCS_RSA_SHA256,
        )
        .unwrap()
    }

    /// A certificate request made by rcgen with the test RSA key: two SANs, a subject,
    /// a (critical) key usage and a challenge password attribute.
    fn rsa_request() -> String {
        let mut params =
            rcgen::CertificateParams::new(vec!["svc.example".to_string(), "10.0.0.1".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kanon request");
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "FR");
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        // challengePassword: SET { UTF8String "secret" }
        let password = rcgen::Attribute {
            oid: &[1, 2, 840, 113549, 1, 9, 7],
            values: vec![0x31, 0x08, 0x0c, 0x06, b's', b'e', b'c', b'r', b'e', b't'],
        };
        params
            .serialize_request_with_attributes(&rsa_key(), vec![password])
            .unwrap()
            .pem()
            .unwrap()
    }

    #[test]
    fn a_certificate_request_decodes_with_gos_field_names() {
        let v = decode(&rsa_request()).unwrap();
        let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for f in [
            "Raw",
            "RawTBSCertificateRequest",
            "RawSubjectPublicKeyInfo",
            "RawSubject",
            "Version",
            "Signature",
            "SignatureAlgorithm",
            "PublicKeyAlgorithm",
            "PublicKey",
            "Subject",
            "Attributes",
            "Extensions",
            "ExtraExtensions",
            "DNSNames",
            "EmailAddresses",
            "IPAddresses",
            "URIs",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        assert_eq!(fields.len(), 17, "exactly Go's exported fields: {fields:?}");
        assert_eq!(v["Version"], 0, "a request's raw version, as Go reports it");
        assert_eq!(v["Subject"]["CommonName"], "kanon request");
        assert_eq!(v["Subject"]["Country"], json!(["FR"]));
        assert_eq!(v["SignatureAlgorithm"], 4, "SHA256WithRSA");
        assert_eq!(v["PublicKeyAlgorithm"], 1);
        assert_eq!(v["PublicKey"]["E"], 65537);
        // The same key as the certificate's: the same modulus.
        let cert = decode(&rsa_certificate()).unwrap();
        assert_eq!(v["PublicKey"]["N"], cert["PublicKey"]["N"]);
        assert_eq!(v["DNSNames"], json!(["svc.example"]));
        assert_eq!(v["IPAddresses"], json!(["10.0.0.1"]));
        assert_eq!(v["EmailAddresses"], Value::Null);
        assert_eq!(v["URIs"], Value::Null);
        assert!(v["Raw"].as_str().unwrap().starts_with("MII"));
        // Extensions: key usage (critical) and SAN, as Go's pkix.Extension.
        let exts = v["Extensions"].as_array().unwrap();
        let ku = exts
            .iter()
            .find(|e| e["Id"] == json!([2, 5, 29, 15]))
            .expect("key usage extension");
        assert_eq!(ku["Critical"], true);
        assert!(ku["Value"].is_string());
        assert!(exts.iter().any(|e| e["Id"] == json!([2, 5, 29, 17])));
        // Attributes: the extension request only (the challenge password is left out,
        // as Go leaves it out); a critical extension's value is null there.
        let attrs = v["Attributes"].as_array().unwrap();
        assert_eq!(attrs.len(), 1, "{attrs:?}");
        assert_eq!(attrs[0]["Type"], json!([1, 2, 840, 113549, 1, 9, 14]));
        let values = attrs[0]["Value"][0].as_array().unwrap();
        assert_eq!(values.len(), exts.len());
        let ku_attr = values
            .iter()
            .find(|a| a["Type"] == json!([2, 5, 29, 15]))
            .unwrap();
        assert_eq!(ku_attr["Value"], Value::Null);
        let san_attr = values
            .iter()
            .find(|a| a["Type"] == json!([2, 5, 29, 17]))
            .unwrap();
        assert!(san_attr["Value"].is_string());
    }

    #[test]
    fn non_rsa_and_non_certificates_are_errors() {
        let ec = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
        let err = decode(&ec.cert.pem()).unwrap_err();
        assert!(err.contains("rsa"), "{err}");
        assert!(decode("not pem").is_err());
        assert!(decode(&ec.signing_key.serialize_pem()).is_err());
        // A request with an EC key: Kyverno's error too.
        let ec_key = rcgen::KeyPair::generate().unwrap();
        let csr = rcgen::CertificateParams::new(vec!["x".to_string()])
            .unwrap()
            .serialize_request(&ec_key)
            .unwrap()
            .pem()
            .unwrap();
        let err = decode(&csr).unwrap_err();
        assert!(err.contains("rsa"), "{err}");
        // A truncated request is an error, not a panic.
        let truncated = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBADCBpwIBADA=\n-----END CERTIFICATE REQUEST-----\n";
        assert!(decode(truncated).is_err());
    }

    #[test]
    fn decimal_conversion_handles_big_numbers() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(
            decimal(&[0xff; 16]),
            "340282366920938463463374607431768211455"
        );
    }
}
