//! JWT access tokens (RFC 9068) for resource servers that choose them, and the key lifecycle:
//! the ID-token key stays `keys[0]`, a next key is published before it signs, a retired key
//! stays published while what it signed can live.

use crate::harness::{Client, TestServer, START};
use axum::http::Method;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use tessera_auth::keys::KeyPolicy;
use tessera_core::client::ClientType;
use tessera_core::clock::Clock as _;

async fn choose_jwt(s: &TestServer, rs: &Client) {
    let r = s
        .json(
            Method::PUT,
            &format!("/v2/api/clients/{}", rs.id),
            Some(&rs.basic()),
            Some(json!({"client": {"access_token_format": "jwt"}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["client"]["access_token_format"], "jwt");
}

pub(crate) fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The kids of a JWKS, in order.
fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

pub(crate) fn tamper(jwt: &str) -> String {
    let mut b = jwt.as_bytes().to_vec();
    let i = b.len() - 3;
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[tokio::test]
async fn a_resource_server_that_chose_jwts_gets_rfc9068_tokens_that_introspect_and_revoke() {
    let s = TestServer::new().await;
    let api = s.client("api", ClientType::Confidential).await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let r = s
        .get(&format!("/v2/api/clients/{}", api.id), Some(&api.basic()))
        .await;
    assert_eq!(r.body["client"]["access_token_format"], "opaque");
    // Only the client itself (or its parent) may choose; only known values; no unknown fields.
    let s = &s;
    let put = |who: &Client, body: Value| {
        let auth = who.basic();
        let path = format!("/v2/api/clients/{}", api.id);
        async move {
            s.json(Method::PUT, &path, Some(&auth), Some(body))
                .await
                .status
                .as_u16()
        }
    };
    assert_eq!(
        put(&portal, json!({"client": {"access_token_format": "jwt"}})).await,
        403
    );
    assert_eq!(
        put(&api, json!({"client": {"access_token_format": "paseto"}})).await,
        400
    );
    assert_eq!(
        put(&api, json!({"client": {"no_such_field": "x"}})).await,
        400
    );
    let scope = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = s.token(&portal, &scope).await;
    assert!(!before.contains('.'), "opaque by default");
    choose_jwt(s, &api).await;

    let jwt = s.token(&portal, &scope).await;
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::ES256);
    let jwks = s.get("/jwk.json", None).await.body;
    assert_eq!(
        jwks["keys"][0]["kty"], "RSA",
        "the ID-token key stays keys[0]"
    );
    let ec = &jwks["keys"][1];
    assert_eq!(
        (ec["kty"].clone(), ec["crv"].clone()),
        (json!("EC"), json!("P-256"))
    );
    assert_eq!(header.kid.as_deref(), ec["kid"].as_str());
    let key = DecodingKey::from_ec_components(ec["x"].as_str().unwrap(), ec["y"].as_str().unwrap())
        .unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[&api.id]);
    v.set_issuer(&["http://tessera.test"]);
    v.validate_exp = false; // the test clock is not the wall clock
    let c = jsonwebtoken::decode::<Value>(&jwt, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(c["sub"], portal.id.as_str());
    assert_eq!(c["client_id"], portal.id.as_str());
    assert_eq!(c["scope"], scope.as_str());
    assert_eq!(c["iat"], START);
    assert_eq!(c["exp"], START + 48 * 3600);
    assert!(c["jti"].is_string());
    assert!(c.get("username").is_none(), "a client is no person");

    // Introspection answers for it as for an opaque token; forgeries are inactive.
    let seen = s.introspect(&api, &jwt).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["aud"][0], api.id.as_str());
    assert_eq!(s.introspect(&api, &tamper(&jwt)).await["active"], false);
    assert_eq!(s.introspect(&api, "a.b.c").await["active"], false);
    // A token for both servers: the Auth token stays opaque, the API's is a JWT.
    let body = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("scope", &format!("openid {scope}")),
    ])
    .unwrap();
    let both = s
        .form("/v2/oauth2/token", Some(&portal.basic()), &body)
        .await;
    both.ok();
    let all: Vec<&str> = std::iter::once(&both.body)
        .chain(both.body["other_tokens"].as_array().unwrap())
        .map(|t| t["access_token"].as_str().unwrap())
        .collect();
    assert_eq!(all.iter().filter(|t| t.contains('.')).count(), 1);

    // Revocation ends it; expiry too.
    let r = s
        .form(
            "/v2/oauth2/token/revoke",
            Some(&portal.basic()),
            &format!("token={jwt}"),
        )
        .await;
    r.ok();
    assert_eq!(s.introspect(&api, &jwt).await["active"], false);
    let other = s.token(&portal, &scope).await;
    assert_eq!(s.introspect(&api, &other).await["active"], true);
    s.clock.advance(48 * 3600 + 1);
    assert_eq!(s.introspect(&api, &other).await["active"], false);
}

#[tokio::test]
async fn rotation_publishes_the_next_key_after_the_current_one_and_keeps_the_retired_one() {
    let s = TestServer::new().await;
    let api = s.client("api", ClientType::Confidential).await;
    let portal = s.client("portal", ClientType::Confidential).await;
    choose_jwt(&s, &api).await;
    let scope = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = kids(&s.get("/jwk.json", None).await.body);
    assert_eq!(first.len(), 2);
    let old_jwt = s.token(&portal, &scope).await;

    s.clock.advance(10);
    let policy = KeyPolicy {
        rotation_interval: 1000,
        publish_ahead: 100,
        retain: 500,
    };
    let added = s
        .state
        .keys
        .rotate_now(
            s.state.store.as_ref(),
            START + 10,
            policy,
            &tessera_auth::keys::KeyFamily::ALL,
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 2, "one RSA and one access-token key");
    // Published at once, after the key that signs; nothing signs with them yet.
    let next = kids(&s.get("/jwk.json", None).await.body);
    assert_eq!(
        next,
        vec![
            first[0].clone(),
            added[0].clone(),
            first[1].clone(),
            added[1].clone()
        ]
    );
    assert_eq!(kid_of(&s.token(&portal, &scope).await), first[1]);

    // From activation on, the new keys sign and come first; the old ones stay published.
    s.clock.advance(100);
    let now = kids(&s.get("/jwk.json", None).await.body);
    assert_eq!(
        now,
        vec![
            added[0].clone(),
            first[0].clone(),
            added[1].clone(),
            first[1].clone()
        ]
    );
    let new_jwt = s.token(&portal, &scope).await;
    assert_eq!(kid_of(&new_jwt), added[1]);
    assert_eq!(s.introspect(&api, &old_jwt).await["active"], true);
    assert_eq!(s.introspect(&api, &new_jwt).await["active"], true);

    // Past the retention the old keys are removed; a second rotation is not due yet.
    s.clock.advance(501);
    s.state
        .keys
        .maintain(s.state.store.as_ref(), START + 611, policy)
        .await
        .unwrap();
    let later = kids(&s.get("/jwk.json", None).await.body);
    assert_eq!(later, vec![added[0].clone(), added[1].clone()]);
    // Past the interval a maintenance round adds the next keys itself.
    s.clock.advance(1000);
    s.state
        .keys
        .maintain(s.state.store.as_ref(), START + 1611, policy)
        .await
        .unwrap();
    let rotated = kids(&s.get("/jwk.json", None).await.body);
    assert_eq!(rotated.len(), 4);
    assert_eq!(
        rotated[0], added[0],
        "the current key stays first until the next activates"
    );
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest_and_clear_rows_of_old_databases_are_sealed_on_start() {
    use std::sync::Arc;
    use tessera_auth::keys::MasterKey;
    use tessera_auth::{AppState, AuthConfig};
    use tessera_core::clock::FixedClock;
    use tessera_core::random::SeededRandom;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let start = |master: Option<MasterKey>| {
        let url = url.clone();
        async move {
            let mut config = AuthConfig::new("http://tessera.test");
            config.master_key = master;
            AppState::new(
                config,
                tessera_store::connect(&url).await.unwrap(),
                Arc::new(FixedClock::new(START)),
                Arc::new(SeededRandom::new(1)),
            )
            .await
        }
    };
    // A database from before encryption at rest: keys in clear.
    let old = start(None).await.unwrap();
    let jwks = old.keys.jwks(START);
    let rows = old.store.signing_keys().await.unwrap();
    assert!(rows.iter().all(|k| k.private_pem.contains("PRIVATE KEY")));
    drop(old);

    let master = MasterKey::generate().unwrap();
    let sealed = start(Some(master.clone())).await.unwrap();
    assert_eq!(sealed.keys.jwks(START), jwks, "the same keys, now sealed");
    for row in sealed.store.signing_keys().await.unwrap() {
        assert!(row.private_pem.starts_with("sealed:v1:"));
        assert!(!row.private_pem.contains("PRIVATE KEY"));
        let clear = &rows.iter().find(|r| r.kid == row.kid).unwrap().private_pem;
        let body_line = clear.lines().nth(1).unwrap();
        assert!(
            !row.private_pem.contains(body_line),
            "no part of the key either"
        );
    }
    drop(sealed);
    // Another master key cannot open them, and without one the server does not start.
    assert!(start(Some(MasterKey::generate().unwrap())).await.is_err());
    assert!(start(None).await.is_err());
    assert!(start(Some(master)).await.is_ok());
}

/// Two nodes on one PostgreSQL database: one rotates, the other publishes the new key within
/// its poll interval and both switch to it at its activation.
#[tokio::test]
async fn two_postgres_nodes_agree_on_a_rotation_one_of_them_made() {
    use std::sync::Arc;
    use tessera_auth::keys::MasterKey;
    use tessera_auth::{AppState, AuthConfig};
    use tessera_core::clock::{Clock, SystemClock};
    use tessera_core::random::OsRandom;
    let Ok(base) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        eprintln!("notice: TESSERA_TEST_POSTGRES_URL is not set; PostgreSQL node test skipped");
        return;
    };
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let db = format!("tessera_keys_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{db}");
    let master = MasterKey::generate().unwrap();
    let node = |url: String, master: MasterKey| async move {
        let mut config = AuthConfig::new("http://tessera.test");
        config.master_key = Some(master);
        config.key_poll_interval = 1;
        AppState::new(
            config,
            tessera_store::connect(&url).await.unwrap(),
            Arc::new(SystemClock),
            Arc::new(OsRandom),
        )
        .await
        .unwrap()
    };
    // Started at once: one key per family between them.
    let (a, b) = tokio::join!(node(url.clone(), master.clone()), node(url.clone(), master));
    let kids = |n: &AppState| -> Vec<String> {
        n.keys
            .jwks(SystemClock.now())
            .keys
            .into_iter()
            .map(|k| k.kid)
            .collect()
    };
    assert_eq!(kids(&a), kids(&b));
    assert_eq!(kids(&a).len(), 2);

    let policy = tessera_auth::keys::KeyPolicy {
        rotation_interval: 3600,
        publish_ahead: 3,
        retain: 3600,
    };
    let added = a
        .keys
        .rotate_now(
            a.store.as_ref(),
            SystemClock.now(),
            policy,
            &tessera_auth::keys::KeyFamily::ALL,
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 2);
    // b publishes them within its poll interval, before they sign.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while kids(&b).len() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "b never saw the rotation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        SystemClock.now()
            < a.keys
                .summary(SystemClock.now())
                .iter()
                .map(|k| k.activates_at)
                .max()
                .unwrap(),
        "published before it signs"
    );
    // After activation both sign ID tokens with the new RSA key, which both publish first.
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    let now = SystemClock.now();
    for n in [&a, &b] {
        let jwt = n.keys.sign(now, &json!({"sub": "x"})).unwrap().jwt;
        assert_eq!(
            jsonwebtoken::decode_header(&jwt).unwrap().kid.unwrap(),
            added[0]
        );
        assert_eq!(kids(n)[0], added[0]);
    }
    drop((a, b));
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&admin)
        .await;
}

#[tokio::test]
async fn an_emergency_rotation_signs_with_the_new_key_at_once_and_what_the_old_one_signed_is_refused(
) {
    let s = TestServer::new().await;
    let api = s.client("api", ClientType::Confidential).await;
    let portal = s.client("portal", ClientType::Confidential).await;
    choose_jwt(&s, &api).await;
    let scope = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = kids(&s.get("/jwk.json", None).await.body);
    let old_jwt = s.token(&portal, &scope).await;
    // Introspected once: its record is cached.
    assert_eq!(s.introspect(&api, &old_jwt).await["active"], true);

    let replaced = s
        .state
        .keys
        .replace_now(
            s.state.store.as_ref(),
            s.clock.now(),
            &[tessera_auth::keys::KeyFamily::AccessToken],
        )
        .await
        .unwrap();
    assert_eq!(replaced.removed, vec![first[1].clone()]);
    let new_at = replaced.added[0].clone();
    assert_eq!(
        kids(&s.get("/jwk.json", None).await.body),
        vec![first[0].clone(), new_at.clone()],
        "the old key is gone at once; the ID-token key stays keys[0]"
    );
    let new_jwt = s.token(&portal, &scope).await;
    assert_eq!(kid_of(&new_jwt), new_at, "the new key signs at once");
    assert_eq!(s.introspect(&api, &new_jwt).await["active"], true);
    assert_eq!(
        s.introspect(&api, &old_jwt).await["active"],
        false,
        "refused although its record was cached"
    );

    // The ID-token key: replaced, keys[0] at once, and it signs.
    let replaced = s
        .state
        .keys
        .replace_now(
            s.state.store.as_ref(),
            s.clock.now(),
            &[tessera_auth::keys::KeyFamily::IdToken],
        )
        .await
        .unwrap();
    assert_eq!(replaced.removed, vec![first[0].clone()]);
    assert_eq!(
        kids(&s.get("/jwk.json", None).await.body),
        vec![replaced.added[0].clone(), new_at]
    );
    let signed = s
        .state
        .keys
        .sign(s.clock.now(), &json!({"sub": "x"}))
        .unwrap();
    assert_eq!(kid_of(&signed.jwt), replaced.added[0]);
    assert!(signed.not_before.is_none());
}
