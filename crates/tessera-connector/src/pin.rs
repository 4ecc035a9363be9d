//! TLS to connectors, trusting exactly one certificate: the one the connector made at its first
//! start (`agent/tls.rs`), known by its SHA-256 fingerprint, which the connector states at each
//! check-in (authenticated with its secret) and the service hands to whoever talks to it: its
//! own [`crate::service::Hub`], and a destination connector inside a pull job. The system CA
//! store is never consulted, the name in the certificate is not looked at: a certificate with
//! another fingerprint fails the handshake (and says so: [`mismatch`]), while the handshake's
//! signature still proves the peer holds the pinned certificate's key.
//!
//! Every connector serves TLS and plaintext on one port (the first byte of a connection tells
//! them apart), so a connector's TLS address is its public URL with `https://` ([`tls_url`]).

use ring::digest;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The words a pin mismatch's error carries (found again in the error chain by [`mismatch`]).
pub(crate) const MISMATCH: &str = "TLS certificate does not match the pin";

/// SHA-256 of a certificate's DER, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    digest::digest(&digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `s` is a fingerprint as [`fingerprint`] writes them (64 hex digits, any case).
pub fn is_fingerprint(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The URL a connector serves TLS at: its public URL, `https://` (the same port).
pub fn tls_url(public_url: &str) -> String {
    match public_url.strip_prefix("http://") {
        Some(rest) => format!("https://{rest}"),
        None => public_url.to_owned(),
    }
}

/// What [`reaches`] found at a public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reached {
    /// The connector itself, with its certificate.
    Itself,
    /// Nothing answered (why): not a refusal.
    Unreachable(String),
}

/// Whether the connector whose certificate is `fingerprint` answers at `public_url` over TLS
/// (its [`tls_url`]) with that certificate. `Err` only when something else answers there with
/// another certificate (a TLS-terminating proxy, another service): that address can never
/// carry the connector's pinned TLS. An unreachable address is not a refusal (it may come up
/// later; copies wait for it), only logged by the caller.
pub async fn reaches(
    clients: &Clients,
    public_url: &str,
    fingerprint: &str,
) -> Result<Reached, String> {
    let url = tls_url(public_url.trim_end_matches('/'));
    let client = clients.for_url(&url, Some(fingerprint))?;
    let sent = client
        .get(format!("{url}{}", crate::wire::routes::HEALTH))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    match sent {
        Ok(_) => Ok(Reached::Itself),
        Err(e) => match mismatch(&e) {
            Some(why) => Err(format!(
                "public URL {public_url}: what answers there over TLS is not this connector \
                 ({why}). A TLS-terminating proxy cannot be in the path: connectors trust each \
                 other only through the certificate the service pins; give the address of the \
                 connector's own listener"
            )),
            None => Ok(Reached::Unreachable(e.to_string())),
        },
    }
}

/// When `e` (or what caused it) is a pin mismatch: what it says.
pub fn mismatch(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if let Some(at) = text.find(MISMATCH) {
            return Some(text[at..].to_owned());
        }
        cur = err.source();
    }
    None
}

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = fingerprint(end_entity.as_ref());
        if got == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "{MISMATCH} the service gave: it is sha256 {got}, the pin is {}",
                self.fingerprint
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(32)
}

/// HTTP clients to connectors: one for plaintext, one per pinned certificate (kept).
pub struct Clients {
    plain: reqwest::Client,
    pinned: Mutex<HashMap<String, reqwest::Client>>,
}

impl Clients {
    pub fn new() -> Result<Self, reqwest::Error> {
        Ok(Self {
            plain: builder().build()?,
            pinned: Mutex::new(HashMap::new()),
        })
    }

    /// The client for `url`: plaintext for `http://`, pinned to `fingerprint` for `https://`
    /// (an `https://` URL without a fingerprint is refused: there is nothing to trust).
    pub fn for_url(&self, url: &str, fingerprint: Option<&str>) -> Result<reqwest::Client, String> {
        if url.starts_with("http://") {
            return Ok(self.plain.clone());
        }
        if !url.starts_with("https://") {
            return Err(format!("{url} is not an http(s) URL"));
        }
        let fp = fingerprint
            .filter(|f| is_fingerprint(f))
            .ok_or_else(|| format!("no certificate fingerprint is known for {url}"))?
            .to_ascii_lowercase();
        self.pinned(&fp)
    }

    fn pinned(&self, fp: &str) -> Result<reqwest::Client, String> {
        let mut cache = self
            .pinned
            .lock()
            .map_err(|_| "the client cache is poisoned".to_owned())?;
        if let Some(c) = cache.get(fp) {
            return Ok(c.clone());
        }
        let provider = provider();
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                fingerprint: fp.to_owned(),
                provider,
            }))
            .with_no_client_auth();
        let client = builder()
            .use_preconfigured_tls(config)
            .build()
            .map_err(|e| e.to_string())?;
        cache.insert(fp.to_owned(), client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_fingerprints() {
        assert_eq!(tls_url("http://10.0.0.2:7070"), "https://10.0.0.2:7070");
        assert_eq!(tls_url("https://h:1/"), "https://h:1/");
        let fp = fingerprint(b"x");
        assert!(is_fingerprint(&fp));
        assert!(!is_fingerprint(&fp[1..]));
        assert!(!is_fingerprint(&"g".repeat(64)));
        let clients = Clients::new().unwrap();
        assert!(clients.for_url("https://h:1", None).is_err());
        assert!(clients.for_url("https://h:1", Some("00")).is_err());
        assert!(clients.for_url("https://h:1", Some(&fp)).is_ok());
        assert!(clients.for_url("http://h:1", None).is_ok());
        assert!(clients.for_url("ftp://h:1", None).is_err());
    }

    #[test]
    fn a_mismatch_is_found_in_an_error_chain() {
        let inner = std::io::Error::other(rustls::Error::General(format!(
            "{MISMATCH} the service gave: it is sha256 aa, the pin is bb"
        )));
        let outer = std::io::Error::other(inner);
        let found = mismatch(&outer).unwrap();
        assert!(found.starts_with(MISMATCH), "{found}");
        assert!(found.contains("the pin is bb"), "{found}");
        assert!(mismatch(&std::io::Error::other("connection refused")).is_none());
    }
}
