//! TLS client set-up shared by the IMAP ingest and the SMTP mailer: a rustls client
//! configuration trusting either exactly the operator's `ca_file` or the system's roots, with
//! the one crypto provider this program uses (ring), and the handshake over a socket the caller
//! opened (so the caller sets its own socket options, `TCP_NODELAY` and keepalive).
//!
//! Owns only configuration and the handshake; it never logs, and its errors name the file or
//! host at fault.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

/// A client TLS stream over our own TCP socket.
pub type ClientTls = tokio_rustls::client::TlsStream<TcpStream>;

/// A client configuration trusting only the certificates in `ca_file` (a private CA must not be
/// trusted alongside the public ones, nor the other way round), or, without one, the system's
/// roots.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("reading ca_file {}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "ca_file {} holds no PEM certificate",
                    path.display()
                ));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The TLS handshake with `host` (its certificate must name it) over `tcp`. No timeout: the
/// caller bounds it.
pub async fn handshake(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> Result<ClientTls, String> {
    let server_name =
        ServerName::try_from(host.to_string()).map_err(|e| format!("host {host:?}: {e}"))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {e}"))
}
