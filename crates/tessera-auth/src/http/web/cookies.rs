//! Cookies and CSRF protection for the pages.
//!
//! The session cookie is HttpOnly and SameSite=Lax (Secure when the public URL is https). CSRF
//! uses a double-submit token: a random cookie that every form repeats in a hidden field,
//! compared in constant time; SameSite=Lax already keeps cross-site POSTs from carrying cookies.

use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

pub const SESSION: &str = "tessera_session";
pub const CSRF: &str = "tessera_csrf";

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value. `max_age` None: a browser-session cookie; `Some(0)`: delete it.
pub fn set(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if state.config.secure_cookies {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).ok()
}

/// The request's CSRF token, or a new one with the cookie that carries it.
pub fn csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match get(headers, CSRF).filter(|v| {
        v.len() == 43
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        Some(v) => (v, None),
        None => {
            let mut b = [0u8; 32];
            state.rng.fill(&mut b);
            let v = URL_SAFE_NO_PAD.encode(b);
            let cookie = set(state, CSRF, &v, None);
            (v, cookie)
        }
    }
}

/// Whether a submitted form's token matches the cookie.
pub fn csrf_ok(headers: &HeaderMap, submitted: Option<&str>) -> bool {
    match (get(headers, CSRF), submitted) {
        (Some(c), Some(s)) if !c.is_empty() => c.as_bytes().ct_eq(s.as_bytes()).into(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_session=tss_x; b=2"),
        );
        assert_eq!(get(&h, SESSION).as_deref(), Some("tss_x"));
        assert_eq!(get(&h, "c"), None);
    }

    #[test]
    fn csrf_needs_cookie_and_field_to_match() {
        let mut h = HeaderMap::new();
        assert!(!csrf_ok(&h, Some("x")));
        h.insert(header::COOKIE, HeaderValue::from_static("tessera_csrf=abc"));
        assert!(csrf_ok(&h, Some("abc")));
        assert!(!csrf_ok(&h, Some("abd")));
        assert!(!csrf_ok(&h, None));
    }
}
