//! Extractors that turn every malformed input into the endpoint's own standard error, instead
//! of axum's default plain-text rejections (which the SDK cannot parse).

use super::error::{ApiError, OAuthError};
use crate::service::client_auth::PresentedSecret;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use tessera_core::secret::Secret;
use tessera_proto::api::ApiErrorCode;

/// The longest client id or secret accepted in a header or form, before any lookup.
const MAX_CREDENTIAL_LEN: usize = 1024;

fn content_type_is(headers: &HeaderMap, wanted: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(wanted))
}

fn too_large(r: &BytesRejection) -> bool {
    r.status() == StatusCode::PAYLOAD_TOO_LARGE
}

/// The parameters of a form-encoded OAuth request (RFC 6749 §3.2: each at most once). A few
/// pairs, searched in order: cheaper than hashing them on every request.
#[derive(Debug)]
pub struct OAuthForm(Vec<(String, String)>);

impl OAuthForm {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("the {name} parameter is required")))
    }

    /// The longest form accepted, in pairs: OAuth requests have a handful.
    const MAX_PAIRS: usize = 64;

    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::invalid_request(format!(
                    "the {k} parameter was given more than once"
                )));
            }
            if pairs.len() == Self::MAX_PAIRS {
                return Err(OAuthError::invalid_request(
                    "the form has too many parameters",
                ));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(pairs))
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, OAuthError> {
        if !content_type_is(req.headers(), "application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|r| {
            if too_large(&r) {
                OAuthError::invalid_request("the request body is too large")
                    .with_status(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
        Self::parse(&body)
    }
}

/// A JSON body of the REST API.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !content_type_is(req.headers(), "application/json") {
            return Err(ApiError::bad_request("the body must be application/json"));
        }
        let body = Bytes::from_request(req, state).await.map_err(|r| {
            if too_large(&r) {
                ApiError::new(
                    ApiErrorCode::PayloadTooLarge,
                    "the request body is too large",
                )
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
        serde_json::from_slice(&body)
            .map(ApiJson)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// What the `Authorization` header presents.
#[derive(Debug)]
pub enum Presented {
    None,
    /// RFC 7617 Basic: the id and secret, split at the first `:` (secrets may contain `:`,
    /// `=`, `+`, `/`; spec §0.2), each form-decoded as RFC 6749 §2.3.1 encodes them; the
    /// secret is also kept as sent (see [`PresentedSecret`]).
    Basic {
        client_id: String,
        secret: PresentedSecret,
    },
    /// RFC 6750 §2.1.
    Bearer(Secret),
    /// A header that is there but unusable; the reason is safe to show.
    Malformed(&'static str),
}

impl Presented {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Self::None;
        };
        let Ok(value) = value.to_str() else {
            return Self::Malformed("the Authorization header is not ASCII");
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            Self::basic(rest)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if rest.is_empty() {
                return Self::Malformed("the Bearer token is empty");
            }
            Self::Bearer(Secret::new(rest))
        } else {
            Self::Malformed("unsupported Authorization scheme")
        }
    }

    /// The credentials of `Basic <credentials>`.
    fn basic(credentials: &str) -> Self {
        let Ok(decoded) = STANDARD.decode(credentials) else {
            return Self::Malformed("Basic credentials are not base64");
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return Self::Malformed("Basic credentials are not UTF-8");
        };
        // An encoded id or secret has no ':' (it is `%3A`), and a raw id never has one.
        let Some((id, secret)) = decoded.split_once(':') else {
            return Self::Malformed("Basic credentials lack a ':'");
        };
        if id.len() > MAX_CREDENTIAL_LEN || secret.len() > MAX_CREDENTIAL_LEN {
            return Self::Malformed("Basic credentials are too long");
        }
        Self::Basic {
            // Client ids are UUIDs: no reading of one differs but the decoded one (`%2D`).
            client_id: form_decode(id).unwrap_or_else(|| id.to_owned()),
            secret: PresentedSecret::basic(secret, form_decode(secret)),
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space, `%XX` a byte),
/// strictly: `None` for a `%` without two hex digits after it or bytes that are not UTF-8,
/// which the lenient decoders of `url` and `percent-encoding` pass through instead. Such a
/// value was not encoded, and is read only as sent.
fn form_decode(s: &str) -> Option<String> {
    if !s.contains(['%', '+']) {
        return Some(s.to_owned());
    }
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => {
                let hi = hex(bytes.next()?)?;
                let lo = hex(bytes.next()?)?;
                u8::try_from(hi * 16 + lo).ok()?
            }
            b => b,
        });
    }
    String::from_utf8(out).ok()
}

impl<S: Send + Sync> FromRequestParts<S> for Presented {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// Query parameters as a map, parsed leniently (unknown ones are ignored) but with errors in
/// the REST envelope.
#[derive(Debug)]
pub struct ApiQuery(pub HashMap<String, String>);

impl ApiQuery {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(ApiQuery)
            .map_err(|_| ApiError::bad_request("invalid query string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    /// The id and the secret's readings, or why the header is malformed.
    type Parsed = Result<(String, Vec<String>), &'static str>;

    /// What a Basic header with these credentials came to.
    fn basic(credentials: &[u8]) -> Parsed {
        let h = with_auth(&format!("Basic {}", STANDARD.encode(credentials)));
        match Presented::from_headers(&h) {
            Presented::Basic { client_id, secret } => Ok((
                client_id,
                secret.readings().map(|s| s.expose().to_owned()).collect(),
            )),
            Presented::Malformed(why) => Err(why),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded_and_also_read_as_sent() {
        let ok = |id: &str, readings: &[&str]| -> Parsed {
            Ok((
                id.to_owned(),
                readings.iter().map(|r| (*r).to_owned()).collect(),
            ))
        };
        let uuid = "0b5c1f36-6d0a-4d7b-9c2a-2f2e5f1c7a10";
        let cases: &[(&[u8], Parsed)] = &[
            // What the Globus SDK sends: nothing encoded, one reading.
            (b"id:tcs_abc.def-1~", ok("id", &["tcs_abc.def-1~"])),
            // Split at the first ':' only; '=' and '/' are not special.
            (b"id:se:cr=t/", ok("id", &["se:cr=t/"])),
            // What oauth4webapi sends (RFC 6749 §2.3.1): '-', '_', '.', '~' encoded.
            (
                b"0b5c1f36%2D6d0a%2D4d7b%2D9c2a%2D2f2e5f1c7a10:tcs%5Fabc%2Edef%2D1%7E",
                ok(uuid, &["tcs_abc.def-1~", "tcs%5Fabc%2Edef%2D1%7E"]),
            ),
            // Lower-case hex digits decode too.
            (b"id:a%2fb", ok("id", &["a/b", "a%2fb"])),
            // '+' is a space when decoded; a raw secret with '+' still works as sent.
            (b"id:a+b", ok("id", &["a b", "a+b"])),
            // An encoded ':' in the secret (the first ':' splits).
            (b"id:a%3Ab", ok("id", &["a:b", "a%3Ab"])),
            // UTF-8 encoded byte by byte.
            (
                b"id:%C3%A9t%C3%A9",
                ok("id", &["\u{e9}t\u{e9}", "%C3%A9t%C3%A9"]),
            ),
            // '%' without two hex digits after it: not encoded, read only as sent.
            (b"id:100%", ok("id", &["100%"])),
            (b"id:%4", ok("id", &["%4"])),
            (b"id:%zz+", ok("id", &["%zz+"])),
            (b"id:%%41", ok("id", &["%%41"])),
            (b"i%d:x", ok("i%d", &["x"])),
            // Decoding to bytes that are not UTF-8: read only as sent.
            (b"id:%FF%FE", ok("id", &["%FF%FE"])),
            (b"id:%C3", ok("id", &["%C3"])),
            // An empty secret is a reading like any other (and matches nothing).
            (b"id:", ok("id", &[""])),
            // Malformed.
            (b"no colon", Err("Basic credentials lack a ':'")),
            (b"", Err("Basic credentials lack a ':'")),
            (b"id:\xff\xfe", Err("Basic credentials are not UTF-8")),
            (b"\xc3:x", Err("Basic credentials are not UTF-8")),
        ];
        for (credentials, want) in cases {
            assert_eq!(
                &basic(credentials),
                want,
                "{}",
                String::from_utf8_lossy(credentials)
            );
        }
        let long = format!("id:{}", "x".repeat(MAX_CREDENTIAL_LEN + 1));
        assert_eq!(
            basic(long.as_bytes()),
            Err("Basic credentials are too long")
        );
    }

    #[test]
    fn form_decoding_is_strict() {
        for (encoded, want) in [
            ("", Some("")),
            ("plain", Some("plain")),
            ("a+b%20c", Some("a b c")),
            ("%41%42", Some("AB")),
            ("%", None),
            ("%4", None),
            ("%4g", None),
            ("%g4", None),
            ("%\u{e9}", None),
            ("%80", None),
        ] {
            assert_eq!(form_decode(encoded).as_deref(), want, "{encoded}");
        }
    }

    #[test]
    fn bad_authorization_headers_are_malformed_not_panics() {
        for v in [
            "Basic !!!",
            "Basic aWQ=",
            "Basic aWQ6eA",
            "Basic aWQ6eA==junk",
            "Bearer",
            "Digest x",
            "Basic",
        ] {
            assert!(
                matches!(
                    Presented::from_headers(&with_auth(v)),
                    Presented::Malformed(_)
                ),
                "{v}"
            );
        }
        assert!(matches!(
            Presented::from_headers(&HeaderMap::new()),
            Presented::None
        ));
        assert!(matches!(
            Presented::from_headers(&with_auth("bearer abc")),
            Presented::Bearer(_)
        ));
    }

    #[test]
    fn repeated_form_parameters_are_refused() {
        assert!(OAuthForm::parse(b"a=1&b=2").is_ok());
        let e = OAuthForm::parse(b"scope=a&scope=b").unwrap_err();
        assert_eq!(
            e.code(),
            tessera_proto::oauth::OAuthErrorCode::InvalidRequest
        );
        let f = OAuthForm::parse(b"a=&b=x").unwrap();
        assert_eq!(f.get("a"), None, "an empty value counts as absent");
    }
}

/// The client's address ([`crate::client_addr`]), when the server was started with connect
/// info (not in `oneshot` tests that give none).
#[derive(Debug)]
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(crate::client_addr::current().map(|a| a.to_string())))
    }
}
