//! The connector's own certificate (generated once with rcgen, kept in the state directory,
//! key mode 0600) and the TLS listener it serves with when its public URL is `https://`.

use crate::pin;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

const CERT: &str = "tls-cert.der";
const KEY: &str = "tls-key.der";

/// The certificate and key, made on first use; and the certificate's fingerprint.
pub(super) fn load_or_make(
    state_dir: &Path,
) -> std::io::Result<(CertificateDer<'static>, PrivateKeyDer<'static>, String)> {
    let (cert_path, key_path) = (state_dir.join(CERT), state_dir.join(KEY));
    if let (Ok(cert), Ok(key)) = (std::fs::read(&cert_path), std::fs::read(&key_path)) {
        let fp = pin::fingerprint(&cert);
        return Ok((
            CertificateDer::from(cert),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            fp,
        ));
    }
    let made = rcgen::generate_simple_self_signed(vec!["tessera-connector".to_owned()])
        .map_err(std::io::Error::other)?;
    let cert = made.cert.der().to_vec();
    let key = made.key_pair.serialize_der();
    write_private(&key_path, &key)?;
    std::fs::write(&cert_path, &cert)?;
    let fp = pin::fingerprint(&cert);
    Ok((
        CertificateDer::from(cert),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        fp,
    ))
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Accepts TCP connections and completes their handshakes on their own tasks (a slow client
/// holds up nobody); handshakes that fail are dropped.
pub(super) struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, std::net::SocketAddr)>,
    local: std::net::SocketAddr,
}

impl TlsListener {
    pub(super) fn new(
        tcp: TcpListener,
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> std::io::Result<Self> {
        let mut config = rustls::ServerConfig::builder_with_provider(pin::provider())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(std::io::Error::other)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let local = tcp.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await;
                    if let Ok(Ok(tls)) = handshake {
                        let _ = tx.send((tls, addr)).await;
                    }
                });
            }
        });
        Ok(Self { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(x) = self.rx.recv().await {
                return x;
            }
            // The accept loop ended (it does not); wait rather than spin.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
