//! Client authentication exactly as RFC 6749 §2.3.1 has it: the id and secret inside HTTP Basic
//! are form-encoded first (node `openid-client` does it), and raw ones (the Globus SDK) work too.

use crate::harness::{basic, Client, TestServer};
use tessera_core::client::{ClientCredential, ClientType};
use tessera_core::secret::SecretHash;
use tessera_store::Change;

/// What `oauth4webapi` does before Base64: `encodeURIComponent`, then `-_.!~*'()` too.
fn encode_all(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const CLIENT_CREDENTIALS: &str = "grant_type=client_credentials&scope=openid";

/// Gives `client` a further secret chosen by the test (generated ones have no `%` or `+`).
async fn add_secret(s: &TestServer, client: &Client, secret: &str) {
    let id = uuid::Uuid::parse_str(&client.id).unwrap();
    s.state
        .store
        .insert_credential(&ClientCredential {
            id: uuid::Uuid::new_v4(),
            client_id: id,
            name: "chosen".into(),
            secret_hash: SecretHash::of(secret),
            created_at: crate::harness::START,
        })
        .await
        .unwrap();
    s.state
        .publish(vec![Change::ClientChanged(id)])
        .await
        .unwrap();
}

#[tokio::test]
async fn basic_credentials_form_encoded_before_base64_authenticate() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    assert!(
        portal.secret.contains('_') && portal.id.contains('-'),
        "the encoding changes both"
    );
    let encoded = basic(&encode_all(&portal.id), &encode_all(&portal.secret));
    s.form("/v2/oauth2/token", Some(&encoded), CLIENT_CREDENTIALS)
        .await
        .ok();
    // Raw, as the Globus SDK sends them.
    s.form(
        "/v2/oauth2/token",
        Some(&portal.basic()),
        CLIENT_CREDENTIALS,
    )
    .await
    .ok();
    // client_secret_post is unchanged: the form is decoded once, as any form.
    s.form(
        "/v2/oauth2/token",
        None,
        &format!(
            "{CLIENT_CREDENTIALS}&client_id={}&client_secret={}",
            encode_all(&portal.id),
            encode_all(&portal.secret)
        ),
    )
    .await
    .ok();
    // The same parser serves the REST API's Basic callers.
    s.get(&format!("/v2/api/clients/{}", portal.id), Some(&encoded))
        .await
        .ok();
    // A form client_id alongside Basic is compared with the decoded id.
    s.form(
        "/v2/oauth2/token",
        Some(&encoded),
        &format!("{CLIENT_CREDENTIALS}&client_id={}", portal.id),
    )
    .await
    .ok();
}

#[tokio::test]
async fn a_raw_secret_with_percent_or_plus_still_authenticates() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let odd = "p+q%41/%zz";
    add_secret(&s, &portal, odd).await;
    for (why, secret) in [
        ("sent raw (not valid form-encoding)", odd.to_owned()),
        ("form-encoded", encode_all(odd)),
    ] {
        let r = s
            .form(
                "/v2/oauth2/token",
                Some(&basic(&portal.id, &secret)),
                CLIENT_CREDENTIALS,
            )
            .await;
        assert_eq!(r.status, 200, "{why}: {}", r.body);
    }

    // A raw secret that is also valid form-encoding of something else: both readings are tried.
    let plus = "a+b%41";
    add_secret(&s, &portal, plus).await;
    s.form(
        "/v2/oauth2/token",
        Some(&basic(&portal.id, plus)),
        CLIENT_CREDENTIALS,
    )
    .await
    .ok();
    // Its decoded reading is "a bA": a client registered with that secret sends it encoded.
    add_secret(&s, &portal, "c dA").await;
    s.form(
        "/v2/oauth2/token",
        Some(&basic(&portal.id, "c+d%41")),
        CLIENT_CREDENTIALS,
    )
    .await
    .ok();
}

#[tokio::test]
async fn wrong_or_malformed_basic_credentials_are_invalid_client() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let wrong = [
        basic(&portal.id, "tcs_wrong"),
        basic(&encode_all(&portal.id), &encode_all("tcs_wrong")),
        // The secret's decoded reading is not a reading of the real secret's encoding twice.
        basic(&portal.id, &encode_all(&encode_all(&portal.secret))),
        basic(&portal.id, &format!("{}%", portal.secret)),
        format!("Basic {}", "!!!"),
        "Basic bm8gY29sb24=".into(),
    ];
    for header in &wrong {
        let r = s
            .form("/v2/oauth2/token", Some(header), CLIENT_CREDENTIALS)
            .await;
        r.oauth_error(401, "invalid_client");
        assert!(r.headers.contains_key("www-authenticate"), "{header}");
    }
}
