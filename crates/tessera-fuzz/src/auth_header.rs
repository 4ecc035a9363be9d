//! The `Authorization` header parsers: the server's (tessera-auth, Basic and Bearer) and the
//! guard's (Bearer). They agree on every Bearer token; Basic credentials encoded as RFC 6749
//! §2.3.1 says come back as they were, and credentials sent raw are always among the readings.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tessera_auth::http::extract::Presented;
use tessera_guard::fuzzing::bearer;
use url::form_urlencoded::byte_serialize;

/// `MAX_CREDENTIAL_LEN` of tessera-auth, and the guard's longest token.
const MAX_CREDENTIAL_LEN: usize = 1024;
const MAX_BEARER_LEN: usize = 4096;

fn presented(value: &[u8]) -> Option<Presented> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    Some(Presented::from_headers(&headers))
}

/// The header value as the guard's extractor reads it (`HeaderValue::to_str`: visible ASCII).
fn guard_text(value: &[u8]) -> Option<&str> {
    HeaderValue::from_bytes(value).ok()?.to_str().ok()?;
    std::str::from_utf8(value).ok()
}

/// The client id and the secret's readings of a Basic header.
fn basic(value: &[u8]) -> Result<(String, Vec<String>), &'static str> {
    match presented(value) {
        Some(Presented::Basic { client_id, secret }) => Ok((
            client_id,
            secret.readings().map(|s| s.expose().to_owned()).collect(),
        )),
        Some(Presented::Malformed(why)) => Err(why),
        other => panic!("a Basic header read as {other:?}"),
    }
}

/// Input: a mode byte, then (0) a whole header value, (1) an id and a secret separated by a
/// newline, or (2) the bytes to put in Basic credentials.
pub fn auth_header(data: &[u8]) {
    let Some((mode, rest)) = crate::split_mode(data) else {
        return;
    };
    match mode % 3 {
        0 => raw_header(rest),
        1 => round_trip(rest),
        _ => match basic(&basic_header(rest)) {
            Ok((_, readings)) => assert!(!readings.is_empty()),
            Err(why) => assert!(!why.is_empty()),
        },
    }
}

fn basic_header(credentials: impl AsRef<[u8]>) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(credentials)).into_bytes()
}

fn raw_header(value: &[u8]) {
    let Some(server) = presented(value) else {
        return;
    };
    // Bytes a header may carry but `to_str` refuses (obs-text): the guard sees no token.
    let guard = guard_text(value).map_or(Err(()), |text| bearer(text).map_err(drop));
    let text = String::from_utf8_lossy(value);
    match &server {
        Presented::Bearer(token) if token.expose().len() <= MAX_BEARER_LEN => {
            assert_eq!(guard.ok(), Some(token.expose()), "{text:?}");
        }
        _ => assert!(guard.is_err(), "only the guard read a token in {text:?}"),
    }
    if let Presented::Basic { client_id, secret } = &server {
        assert!(client_id.len() <= MAX_CREDENTIAL_LEN);
        assert!(secret.readings().count() >= 1);
    }
}

fn round_trip(rest: &[u8]) {
    let text = String::from_utf8_lossy(rest);
    let (id, secret) = text.split_once('\n').unwrap_or((&text, ""));
    // RFC 6749 §2.3.1: each form-urlencoded, then joined with ':' and Base64'd.
    let enc_id: String = byte_serialize(id.as_bytes()).collect();
    let enc_secret: String = byte_serialize(secret.as_bytes()).collect();
    let got = basic(&basic_header(format!("{enc_id}:{enc_secret}")));
    if enc_id.len() > MAX_CREDENTIAL_LEN || enc_secret.len() > MAX_CREDENTIAL_LEN {
        assert_eq!(got, Err("Basic credentials are too long"));
    } else {
        let (client_id, readings) = got.unwrap_or_else(|e| panic!("{id:?}:{secret:?}: {e}"));
        assert_eq!(client_id, id);
        assert_eq!(readings.first().map(String::as_str), Some(secret));
    }
    // Sent raw, as the Globus SDK does: the id is read as sent unless it has '%' or '+', and
    // the secret as sent is always one of the readings.
    if id.contains(':') || id.len() > MAX_CREDENTIAL_LEN || secret.len() > MAX_CREDENTIAL_LEN {
        return;
    }
    let (client_id, readings) = basic(&basic_header(format!("{id}:{secret}")))
        .unwrap_or_else(|e| panic!("raw {id:?}:{secret:?}: {e}"));
    if !id.contains(['%', '+']) {
        assert_eq!(client_id, id);
    }
    assert!(readings.iter().any(|r| r == secret), "{readings:?}");
}
