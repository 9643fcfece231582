//! TLS for `https://`: rustls with the system's root certificates and, optionally, the
//! CA certificates of a PEM file.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::error::PushError;

/// The system's root certificates, read once per process.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        if let Some(error) = found.errors.first() {
            log::debug!("expvar: reading the system's root certificates: {error}");
        }
        found.certs
    })
}

/// The TLS client settings the pushers use: the system's root certificates, plus those
/// of the PEM file `ca_file` if given; TLS 1.2 and 1.3 with ring's cryptography.
///
/// Programs that also fetch over HTTPS can share them (the `expvar` command does, for
/// its `https://` targets and `--ca-file`).
///
/// ```
/// let config = expvar::push::tls_config(None).unwrap();
/// assert!(config.alpn_protocols.is_empty());
///
/// let err = expvar::push::tls_config(Some("/no/such/ca.pem".as_ref())).unwrap_err();
/// assert!(err.to_string().contains("/no/such/ca.pem"));
/// ```
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, PushError> {
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(path) = ca_file {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|error| {
            PushError::config(format!("CA file {shown} cannot be read")).with_source(error)
        })?;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|error| {
                PushError::config(format!("CA file {shown} is not PEM")).with_source(error)
            })?;
            roots.add(cert).map_err(|error| {
                PushError::config(format!(
                    "CA file {shown} holds a certificate rustls refuses"
                ))
                .with_source(error)
            })?;
            found += 1;
        }
        if found == 0 {
            return Err(PushError::config(format!(
                "CA file {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            )));
        }
    } else if added == 0 {
        log::warn!(
            "expvar: no system root certificates found; https:// will fail unless a CA file is given"
        );
    }
    // Deprecated in rustls 0.23.48 for lacking post-quantum key exchange, which only
    // aws-lc-rs has; ring is kept for its build (no cmake, no C toolchain beyond cc)
    // and size. Metrics pushes do not need to outlast a quantum adversary.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| PushError::config("TLS settings").with_source(error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("expvar-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = tls_config(Some(&path)).unwrap_err();
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
