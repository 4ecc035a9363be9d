//! TLS between the service and its connectors, and between two connectors, trusting exactly
//! the certificate the connector generated: its SHA-256 fingerprint, which the connector states
//! at check-in and the service hands to whoever talks to it. The system CA store is never
//! consulted; a certificate with another fingerprint fails the handshake.

use ring::digest;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// SHA-256 of a certificate's DER, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    digest::digest(&digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
        if fingerprint(end_entity.as_ref()) == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the connector's certificate is not the one the service pinned".into(),
            ))
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

/// HTTP clients: one for plain `http://` connectors, one per pinned certificate.
pub(crate) struct Clients {
    plain: reqwest::Client,
    pinned: Mutex<HashMap<String, reqwest::Client>>,
}

impl Clients {
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        Ok(Self {
            plain: builder().build()?,
            pinned: Mutex::new(HashMap::new()),
        })
    }

    /// The client for `url`: plain for `http://`, pinned to `fingerprint` for `https://` (an
    /// `https://` connector without a known fingerprint cannot be reached).
    pub(crate) fn for_url(
        &self,
        url: &str,
        fingerprint: Option<&str>,
    ) -> Result<reqwest::Client, String> {
        if !url.starts_with("https://") {
            return Ok(self.plain.clone());
        }
        let fp = fingerprint
            .ok_or_else(|| format!("no certificate fingerprint is known for {url}"))?
            .to_ascii_lowercase();
        let mut cache = self
            .pinned
            .lock()
            .map_err(|_| "the client cache is poisoned".to_owned())?;
        if let Some(c) = cache.get(&fp) {
            return Ok(c.clone());
        }
        let provider = provider();
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                fingerprint: fp.clone(),
                provider,
            }))
            .with_no_client_auth();
        let client = builder()
            .use_preconfigured_tls(config)
            .build()
            .map_err(|e| e.to_string())?;
        cache.insert(fp, client.clone());
        Ok(client)
    }
}
