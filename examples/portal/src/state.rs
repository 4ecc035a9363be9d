//! The shared state and the routes.

use crate::pages;
use crate::render::Pages;
use crate::session::Sessions;
use crate::Config;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use tessera_client::transfer::TRANSFER_ALL;
use tessera_client::{AuthClient, ClientCredentialsAuthorizer, TransferClient};

#[derive(Clone)]
pub(crate) struct Portal {
    pub(crate) config: Arc<Config>,
    /// Where Tessera sends people back: `<public url>/callback`.
    pub(crate) redirect_uri: Arc<str>,
    /// Cookies get `Secure` when the portal is served over HTTPS.
    pub(crate) secure_cookies: bool,
    /// The portal as a confidential client: code exchange, revocation.
    pub(crate) auth: AuthClient,
    /// Transfer as the portal itself (client credentials, renewed before expiry): the catalogue.
    pub(crate) catalogue: TransferClient,
    pub(crate) sessions: Sessions,
    pub(crate) pages: Pages,
    /// Calls to the graph service.
    pub(crate) http: reqwest::Client,
}

/// The portal's routes. `default_public_url` is used when the config names none.
pub fn router(config: Config, default_public_url: &str) -> anyhow::Result<Router> {
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| default_public_url.to_owned());
    let auth = AuthClient::new(
        &config.tessera_url,
        &config.client_id,
        &config.client_secret,
    )?;
    let catalogue = TransferClient::with_authorizer(
        &config.tessera_url,
        Arc::new(ClientCredentialsAuthorizer::new(auth.clone(), TRANSFER_ALL)),
    )?;
    let state = Portal {
        redirect_uri: format!("{}/callback", public.trim_end_matches('/')).into(),
        secure_cookies: public.starts_with("https://"),
        config: Arc::new(config),
        auth,
        catalogue,
        sessions: Sessions::default(),
        pages: Pages::new()?,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?,
    };
    Ok(Router::new()
        .route("/", get(pages::home::page))
        .route("/style.css", get(pages::home::style))
        .route("/signin", get(pages::signin::start))
        .route("/callback", get(pages::signin::callback))
        .route("/signout", post(pages::signout::signout))
        .route("/datasets", get(pages::datasets::page))
        .route(
            "/transfer",
            get(pages::transfer::page).post(pages::transfer::submit),
        )
        .route("/tasks/{id}", get(pages::task::page))
        .route("/graph", get(pages::graph::page))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state))
}

async fn security_headers(mut r: axum::response::Response) -> axum::response::Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' http: https:",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}
