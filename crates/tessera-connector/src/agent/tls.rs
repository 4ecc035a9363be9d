//! The connector's own certificate and the listener that serves TLS and plaintext on one port.
//!
//! - The certificate is self-signed (rcgen, ECDSA P-256), made at the first start and kept in
//!   the state directory (`tls-key.der` mode 0600, `tls-cert.der`); its SHA-256 is what the
//!   connector states at check-in and what the service pins (`crate::pin`). A restart keeps it;
//!   a lost state directory makes a new one, which the next check-in reports.
//! - Each accepted connection is told apart by its first byte: `0x16` opens a TLS handshake
//!   (completed on its own task, with a time limit), anything else is plaintext HTTP. The
//!   connection's kind travels to the handlers as [`Peer`] (axum's `ConnectInfo`), where a
//!   capability that demands TLS is refused on plaintext (`server.rs`).

use crate::pin;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

const CERT: &str = "tls-cert.der";
const KEY: &str = "tls-key.der";
/// The first byte of a TLS record carrying a handshake.
const HANDSHAKE: u8 = 0x16;
/// How long a new connection may take to say its first byte, and to finish a handshake.
const FIRST_BYTES: Duration = Duration::from_secs(10);

/// The connector's certificate and key.
pub(super) struct Identity {
    pub(super) cert: CertificateDer<'static>,
    pub(super) key: PrivateKeyDer<'static>,
    /// SHA-256 of the certificate (hex).
    pub(super) fingerprint: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The certificate and key kept in `state_dir`, made (and kept) when there are none.
pub(super) fn load_or_make(state_dir: &Path) -> std::io::Result<Identity> {
    let (cert_path, key_path) = (state_dir.join(CERT), state_dir.join(KEY));
    if let (Ok(cert), Ok(key)) = (std::fs::read(&cert_path), std::fs::read(&key_path)) {
        let id = identity(cert, key);
        // A pair that does not make a server (a torn write, a changed file) is made anew.
        if server_config(&id).is_ok() {
            return Ok(id);
        }
        tracing::warn!(
            "the TLS key or certificate in the state directory is unusable; making new ones"
        );
    }
    let made = rcgen::generate_simple_self_signed(vec!["tessera-connector".to_owned()])
        .map_err(std::io::Error::other)?;
    let cert = made.cert.der().to_vec();
    let key = made.key_pair.serialize_der();
    // The key first: a certificate on disk always has its key beside it.
    write_atomic(&key_path, &key, 0o600)?;
    write_atomic(&cert_path, &cert, 0o644)?;
    let id = identity(cert, key);
    tracing::info!(fingerprint = %id.fingerprint, "made this connector's TLS certificate");
    Ok(id)
}

fn identity(cert: Vec<u8>, key: Vec<u8>) -> Identity {
    Identity {
        fingerprint: pin::fingerprint(&cert),
        cert: CertificateDer::from(cert),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    }
}

fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

fn server_config(id: &Identity) -> std::io::Result<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(pin::provider())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![id.cert.clone()], id.key.clone_key())
        .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Who a request came from, and whether over TLS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: bool,
}

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        *stream.remote_addr()
    }
}

/// One accepted connection.
pub(super) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Accepts TCP connections and sorts them (TLS or plaintext) on their own tasks, so a slow or
/// silent client holds up nobody; a connection that says nothing in time, or whose handshake
/// fails, is dropped.
pub(super) struct Listener {
    rx: tokio::sync::mpsc::Receiver<(Conn, Peer)>,
    local: SocketAddr,
}

impl Listener {
    pub(super) fn new(tcp: TcpListener, id: &Identity) -> std::io::Result<Self> {
        let acceptor = TlsAcceptor::from(Arc::new(server_config(id)?));
        let local = tcp.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors, mostly: wait rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let _ = stream.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Some(conn) = sort(stream, addr, &acceptor).await {
                        let _ = tx.send(conn).await;
                    }
                });
            }
        });
        Ok(Self { rx, local })
    }
}

async fn sort(stream: TcpStream, addr: SocketAddr, acceptor: &TlsAcceptor) -> Option<(Conn, Peer)> {
    let mut first = [0u8; 1];
    let n = tokio::time::timeout(FIRST_BYTES, stream.peek(&mut first))
        .await
        .ok()?
        .ok()?;
    if n == 0 {
        return None;
    }
    if first[0] != HANDSHAKE {
        return Some((Conn::Plain(stream), Peer { addr, tls: false }));
    }
    match tokio::time::timeout(FIRST_BYTES, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some((Conn::Tls(Box::new(tls)), Peer { addr, tls: true })),
        Ok(Err(e)) => {
            tracing::debug!(%addr, error = %e, "a TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(x) = self.rx.recv().await {
                return x;
            }
            // The accept loop ended (it does not); wait rather than spin.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.local,
            tls: false,
        })
    }
}
