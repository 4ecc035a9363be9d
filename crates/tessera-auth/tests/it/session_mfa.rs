//! The Globus session model with TOTP: enrolment on the account page, the second factor at
//! sign-in (replays refused, guesses throttled, recovery codes once), `session_info` with the
//! factor, and a 30-minute high-assurance + MFA policy judged at use: an old session is
//! refused, and `prompt=login` / the step-up page with MFA makes it good again.

use crate::browser::{challenge, location_params, Browser, PASSWORD, VERIFIER};
use crate::harness::{TestServer, START};
use serde_json::Value;
use tessera_auth::service::admin::{self, Profile};
use tessera_core::auth_policy::AuthPolicy;
use tessera_core::client::ClientType;
use tessera_core::project::Project;
use tessera_core::secret::Secret;
use tessera_core::totp::{step_of, TotpSecret};
use uuid::Uuid;

const AUTH_CODE: &str = "http://tessera.test/v2/web/auth-code";

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let i = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    &text[i..i + text[i..].find(end).unwrap()]
}

fn code(s: &TestServer, secret: &TotpSecret) -> String {
    secret.code_at_step(step_of(s.clock.now()))
}

trait Now {
    fn now(&self) -> i64;
}
impl Now for tessera_core::clock::FixedClock {
    fn now(&self) -> i64 {
        tessera_core::clock::Clock::now(self)
    }
}

async fn mfa_step(
    b: &mut Browser<'_>,
    page: &crate::harness::Reply,
    code: &str,
) -> crate::harness::Reply {
    assert!(page.text.contains("Two-step verification"), "{}", page.text);
    let csrf = Browser::hidden(page, "csrf");
    let request = Browser::hidden(page, "request");
    let r = b
        .post(
            "/v2/web/mfa",
            &[("csrf", &csrf), ("request", &request), ("code", code)],
        )
        .await;
    b.follow(r).await
}

#[tokio::test]
async fn totp_enrolment_sign_in_and_a_policy_judged_at_use() {
    let s = TestServer::new().await;
    let store = s.state.store.as_ref();
    let alice = admin::add_user(
        store,
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        "alice@uni.edu",
        &Secret::new(PASSWORD),
        Profile::default(),
    )
    .await
    .unwrap();
    let project = Project {
        id: Uuid::new_v4(),
        display_name: "Lab".into(),
        contact_email: "lab@uni.edu".into(),
        admin_ids: vec![alice.id],
        admin_group_ids: None,
        created_at: START,
    };
    store.insert_project(&project).await.unwrap();
    let policy = AuthPolicy {
        id: Uuid::new_v4(),
        project_id: project.id,
        display_name: "Sensitive".into(),
        description: String::new(),
        high_assurance: true,
        authentication_assurance_timeout: Some(1800),
        required_mfa: true,
        domain_constraints_include: Some(vec!["uni.edu".into()]),
        domain_constraints_exclude: None,
        created_at: START,
    };
    store.insert_policy(&policy).await.unwrap();
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let api = s.client("api", ClientType::Confidential).await;
    let data = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();

    // Sign in with the password (no second factor yet) and enrol on the account page.
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    b.sign_in(&page, "alice@uni.edu", PASSWORD).await;
    let page = b.get("/v2/web/account/mfa").await;
    assert!(page.text.contains("<svg"), "a QR code: {}", page.text);
    let secret = TotpSecret::from_base32(between(
        &page.text,
        "id=\"totp-secret\" class=\"secret\">",
        "<",
    ))
    .unwrap();
    let wrong = b
        .post(
            "/v2/web/account/mfa",
            &[
                ("csrf", &Browser::hidden(&page, "csrf")),
                ("pending", &Browser::hidden(&page, "pending")),
                ("code", "000000"),
            ],
        )
        .await;
    assert!(wrong.text.contains("not correct"), "{}", wrong.text);
    assert!(store.totp_credential(alice.id).await.unwrap().is_none());
    let enrolment_code = code(&s, &secret);
    let done = b
        .post(
            "/v2/web/account/mfa",
            &[
                ("csrf", &Browser::hidden(&page, "csrf")),
                ("pending", &Browser::hidden(&page, "pending")),
                ("code", &enrolment_code),
            ],
        )
        .await;
    let recovery: Vec<String> = done
        .text
        .split("class=\"recovery-code\">")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{}", done.text);
    let stored = store.totp_credential(alice.id).await.unwrap().unwrap();
    assert!(
        stored.secret.starts_with("clear:") || stored.secret.starts_with("sealed:"),
        "no master key in this test: stored like signing keys"
    );

    // A fresh browser: the password alone no longer signs in; the code just used is a replay.
    let mut b = Browser::new(&s);
    let query = |extra: &[(&str, &str)]| {
        let scope = format!("openid {data}");
        let challenge = challenge(VERIFIER);
        let mut q = vec![
            ("client_id", native.id.as_str()),
            ("redirect_uri", AUTH_CODE),
            ("scope", scope.as_str()),
            ("response_type", "code"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        q.extend_from_slice(extra);
        serde_urlencoded::to_string(q).unwrap()
    };
    let policies = policy.id.to_string();
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&[
                ("prompt", "login"),
                ("session_required_policies", &policies)
            ])
        ))
        .await;
    let page = b.follow(r).await;
    let page = b.sign_in(&page, "alice@uni.edu", PASSWORD).await;
    assert!(
        !b.cookies.contains_key("tessera_session"),
        "no session before the code"
    );
    let page = mfa_step(&mut b, &page, &enrolment_code).await;
    assert!(page.text.contains("used already"), "{}", page.text);
    for _ in 0..2 {
        let again = mfa_step(&mut b, &page, "123456").await;
        assert!(again.text.contains("not correct"), "{}", again.text);
    }
    s.clock.advance(30);
    let page = mfa_step(&mut b, &page, &code(&s, &secret)).await;
    let page = b.decide(&page, "allow").await;
    let code1 = location_params(&page)["code"].clone();
    let redeem = |code: String| {
        serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", AUTH_CODE),
            ("code_verifier", VERIFIER),
            ("client_id", native.id.as_str()),
        ])
        .unwrap()
    };
    let tokens = s.form("/v2/oauth2/token", None, &redeem(code1)).await.body;
    let api_token = tokens["other_tokens"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let introspect = async |token: &str| -> Value {
        s.form(
            "/v2/oauth2/token/introspect",
            Some(&api.basic()),
            &format!(
                "token={token}&include=session_info&authentication_policies={}",
                policy.id
            ),
        )
        .await
        .body
    };
    let v = introspect(&api_token).await;
    assert_eq!(
        v["policy_evaluations"][&policies]["evaluation"], true,
        "{v}"
    );
    let auth = &v["session_info"]["authentications"][alice.id.to_string()];
    assert_eq!(auth["amr"], serde_json::json!(["pwd", "otp", "mfa"]), "{v}");
    assert_eq!(auth["auth_time"], s.clock.now());

    // 30 minutes on, the same token no longer satisfies the policy.
    s.clock.advance(1801);
    let v = introspect(&api_token).await;
    assert_eq!(v["active"], true);
    assert_eq!(
        v["policy_evaluations"][&policies]["evaluation"], false,
        "{v}"
    );

    // The application asks again with the policy (what `globus session update` does): the
    // step-up page, the password, the second factor; the new token satisfies it.
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&[("session_required_policies", &policies)])
        ))
        .await;
    let page = b.follow(r).await;
    assert!(page.text.contains("Sign in again"), "{}", page.text);
    let r = b
        .post(
            "/v2/web/login",
            &[
                ("csrf", &Browser::hidden(&page, "csrf")),
                ("request", &Browser::hidden(&page, "request")),
                ("step_up", "1"),
                ("username", "alice@uni.edu"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let page = b.follow(r).await;
    // A recovery code stands in for the app, once.
    let page = mfa_step(&mut b, &page, &recovery[0].to_uppercase()).await;
    let code2 = location_params(&page)["code"].clone();
    let tokens = s.form("/v2/oauth2/token", None, &redeem(code2)).await.body;
    let fresh = tokens["other_tokens"][0]["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(fresh).await["policy_evaluations"][&policies]["evaluation"],
        true
    );
    assert_eq!(store.recovery_codes_left(alice.id).await.unwrap(), 9);
    assert!(!store
        .use_recovery_code(
            alice.id,
            &tessera_core::secret::SecretHash::of(&recovery[0]),
            s.clock.now()
        )
        .await
        .unwrap());

    // A malformed requirement goes back to the client as invalid_request.
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&[("session_required_mfa", "maybe")])
        ))
        .await;
    assert_eq!(location_params(&r)["error"], "invalid_request");
}
