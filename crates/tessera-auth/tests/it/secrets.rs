//! Secrets never reach the log.

use crate::harness::TestServer;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tessera_core::client::ClientType;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_secret_or_token_appears_in_trace_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let token = s.token(&portal, "openid profile").await;
    s.introspect(&portal, &token).await;
    s.form(
        "/v2/oauth2/token",
        Some(&crate::harness::basic(&portal.id, "tcs_wrong_secret")),
        "grant_type=client_credentials&scope=openid",
    )
    .await;
    s.get(
        &format!("/v2/api/identities?ids={}", portal.id),
        Some(&format!("Bearer {token}")),
    )
    .await;
    s.form(
        "/v2/oauth2/token/revoke",
        Some(&portal.basic()),
        &format!("token={token}"),
    )
    .await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("token revoked"), "the log was captured: {log}");
    for secret in [portal.secret.as_str(), token.as_str(), "tcs_wrong_secret"] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}
