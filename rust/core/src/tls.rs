//! Which certificate authorities a client trusts: one loader for the transport and the iDigi
//! push session, so both accept and refuse the same CA files with the same messages.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::error::Error;

/// System roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured) plus every certificate of the
/// caller's PEM bundle. Read on each call, so a changed environment is seen by new clients.
pub fn load_roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut roots = rustls_native_certs::load_native_certs().certs;
    if let Some(path) = ca_file {
        roots.extend(read_ca_file(path)?);
    }
    Ok(roots)
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read CA file {shown}: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Error::invalid(format!("invalid PEM in CA file {shown}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "CA file {shown} contains no certificate"
        )));
    }
    let (usable, _) = RootCertStore::empty().add_parsable_certificates(certs.iter().cloned());
    if usable == 0 {
        return Err(Error::invalid(format!(
            "CA file {shown} holds no usable CA certificate"
        )));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("ferrolink-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn bad_ca_files_are_invalid_arguments() {
        let missing = load_roots(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(missing.message.contains("cannot read CA file"), "{missing}");
        let empty = write("empty.pem", "no pem here\n");
        let err = load_roots(Some(&empty)).unwrap_err();
        assert!(err.message.contains("contains no certificate"), "{err}");
        let junk = write(
            "junk.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let err = load_roots(Some(&junk)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        let _ = std::fs::remove_file(empty);
        let _ = std::fs::remove_file(junk);
    }

    #[test]
    fn test_ca_is_usable() {
        let ca = crate::testca::generate(&["localhost".into()]).unwrap();
        let path = write("ca.pem", &ca.ca_cert_pem);
        let without = load_roots(None).unwrap().len();
        assert_eq!(load_roots(Some(&path)).unwrap().len(), without + 1);
        let _ = std::fs::remove_file(path);
    }
}
