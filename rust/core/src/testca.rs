//! A throwaway certificate authority for the offline sandbox.
//!
//! The sandbox serves real TLS on loopback; clients trust it through the CA file it writes.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// PEM-encoded material for one sandbox run.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate clients must trust.
    pub ca_cert_pem: String,
    /// The server (leaf) certificate, signed by the CA.
    pub server_cert_pem: String,
    /// The server's private key (PKCS#8).
    pub server_key_pem: String,
}

/// Error from certificate generation (bad host name, crypto failure).
#[derive(Debug)]
pub struct TestCaError(pub String);

impl std::fmt::Display for TestCaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot generate the sandbox CA: {}", self.0)
    }
}

impl std::error::Error for TestCaError {}

impl From<rcgen::Error> for TestCaError {
    fn from(e: rcgen::Error) -> Self {
        TestCaError(e.to_string())
    }
}

/// Generate a fresh CA and a server certificate valid for `hosts` (DNS names or IP addresses).
pub fn generate(hosts: &[String]) -> Result<TestCa, TestCaError> {
    if hosts.is_empty() {
        return Err(TestCaError("at least one host name is required".into()));
    }
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ferrolink sandbox CA (throwaway)");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::default();
    server_params
        .distinguished_name
        .push(DnType::CommonName, hosts[0].as_str());
    server_params.subject_alt_names = hosts
        .iter()
        .map(|h| match h.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(h.as_str().try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // Python 3.13+ verifies with VERIFY_X509_STRICT, which requires the AKI extension.
    server_params.use_authority_key_identifier_extension = true;
    let server_cert = server_params.signed_by(&server_key, &issuer)?;

    Ok(TestCa {
        ca_cert_pem: ca_cert.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_material() {
        let ca = generate(&["127.0.0.1".into(), "localhost".into()]).unwrap();
        assert!(ca.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(ca
            .server_cert_pem
            .starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(ca.server_key_pem.contains("PRIVATE KEY"));
    }

    #[test]
    fn rejects_no_hosts() {
        assert!(generate(&[]).is_err());
    }
}
