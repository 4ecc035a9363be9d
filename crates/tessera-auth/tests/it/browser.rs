//! A tiny browser over `oneshot`: keeps cookies, fills the sign-in and consent forms, and stops
//! at redirects that leave the server.

use crate::harness::{Reply, TestServer};
use axum::body::Body;
use axum::http::{header, Method, Request};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub(crate) struct Browser<'a> {
    pub(crate) server: &'a TestServer,
    pub(crate) cookies: HashMap<String, String>,
    /// The TCP peer every request comes from (none: the server knows no address).
    pub(crate) peer: Option<std::net::SocketAddr>,
    /// Headers sent with every request (e.g. `X-Forwarded-For`).
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            cookies: HashMap::new(),
            peer: None,
            headers: Vec::new(),
        }
    }

    async fn send(&mut self, method: Method, uri: &str, form: Option<&[(&str, &str)]>) -> Reply {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(peer) = self.peer {
            b = b.extension(axum::extract::ConnectInfo(peer));
        }
        for (name, value) in &self.headers {
            b = b.header(*name, value);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            b = b.header(header::COOKIE, jar.join("; "));
        }
        let body = match form {
            Some(pairs) => {
                b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(pairs).unwrap())
            }
            None => Body::empty(),
        };
        let reply = self.server.send(b.body(body).unwrap()).await;
        for c in reply.headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        reply
    }

    pub(crate) async fn get(&mut self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None).await
    }

    pub(crate) async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, uri, Some(form)).await
    }

    /// Follows same-server redirects; stops at a page or at a redirect elsewhere.
    pub(crate) async fn follow(&mut self, mut reply: Reply) -> Reply {
        for _ in 0..10 {
            let Some(loc) = reply
                .headers
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned())
            else {
                return reply;
            };
            let local = loc
                .strip_prefix("http://tessera.test")
                .unwrap_or(&loc)
                .to_owned();
            if !local.starts_with('/') || local.starts_with("/v2/web/auth-code") {
                return reply;
            }
            reply = self.get(&local).await;
        }
        panic!("too many redirects");
    }

    /// The value of hidden input `name` in the page.
    pub(crate) fn hidden(page: &Reply, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", page.text))
            + marker.len();
        let end = start + page.text[start..].find('"').unwrap();
        page.text[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
    }

    pub(crate) async fn sign_in(&mut self, page: &Reply, username: &str, password: &str) -> Reply {
        let csrf = Self::hidden(page, "csrf");
        let request = Self::hidden(page, "request");
        let r = self
            .post(
                "/v2/web/login",
                &[
                    ("csrf", &csrf),
                    ("request", &request),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        self.follow(r).await
    }

    pub(crate) async fn decide(&mut self, page: &Reply, decision: &str) -> Reply {
        let csrf = Self::hidden(page, "csrf");
        let request = Self::hidden(page, "request");
        self.post(
            "/v2/web/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", decision),
            ],
        )
        .await
    }

    /// Opens an authorize URL and signs in and allows as needed; returns the final redirect.
    pub(crate) async fn authorize(&mut self, query: &str, username: &str) -> Reply {
        let r = self.get(&format!("/v2/oauth2/authorize?{query}")).await;
        let mut page = self.follow(r).await;
        for _ in 0..4 {
            if page.status.is_redirection() {
                return page;
            }
            if page.text.contains(">Sign in</button>") {
                page = self.sign_in(&page, username, PASSWORD).await;
            } else if page.text.contains(">Allow</button>") {
                page = self.decide(&page, "allow").await;
            } else {
                return page;
            }
        }
        page
    }
}

/// The query parameters of a redirect.
pub(crate) fn location_params(reply: &Reply) -> HashMap<String, String> {
    let loc = reply
        .headers
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no redirect: {}", reply.text))
        .to_str()
        .unwrap();
    let query = loc.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(query).unwrap()
}
