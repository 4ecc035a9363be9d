//! Signing in through an upstream OpenID Connect IdP: a second real `tessera serve` is the
//! upstream, registered with `tessera admin idp add`; a confidential client of the upstream
//! (made with its own CLI) is how the first server signs people in there.

use crate::commands::{hidden, Browser};
use crate::process::{json, run, Server};
use serde_json::Value;

const PASSWORD: &str = "a long enough password";
const PORTAL_REDIRECT: &str = "https://portal.example.org/callback";

struct Pair {
    /// The server people sign in to.
    down: Server,
    /// The upstream IdP.
    up: Server,
    idp_id: String,
    /// The downstream's client at the upstream.
    client_id: String,
    client_secret: String,
}

fn setup() -> Pair {
    let up = Server::start();
    let down = Server::start();
    json(&up.admin(
        &[
            "admin",
            "user",
            "add",
            "bob@lab.example.org",
            "--password-stdin",
            "--name",
            "Bob Upstream",
            "--email",
            "bob@lab.example.org",
            "--organization",
            "The Lab",
        ],
        Some(&format!("{PASSWORD}\n")),
    ));
    json(&down.admin(
        &[
            "admin",
            "user",
            "add",
            "alice@down.example.org",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    ));
    // The callback URL is known before the IdP is added: the upstream needs it first.
    let id = json(&run(
        &["admin", "idp", "id", "--issuer", &up.url],
        None,
        None,
        &[],
    ));
    let idp_id = id["id"].as_str().unwrap().to_owned();
    let callback = format!("{}{}", down.url, id["callback_path"].as_str().unwrap());
    assert_eq!(
        callback,
        format!("{}/v2/web/idp/{idp_id}/callback", down.url)
    );
    let client = json(&up.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "Downstream portal",
            "--confidential",
            "--redirect-uri",
            &callback,
        ],
        None,
    ));
    let added = json(&down.admin(
        &[
            "admin",
            "idp",
            "add",
            "--name",
            "The Lab",
            "--issuer",
            &up.url,
            "--client-id",
            client["client_id"].as_str().unwrap(),
            "--client-secret-stdin",
            "--domain",
            "lab.example.org",
            "--scope",
            "profile",
            "--scope",
            "email",
        ],
        Some(&format!("{}\n", client["client_secret"].as_str().unwrap())),
    ));
    assert_eq!(added["id"], idp_id);
    assert!(!added
        .to_string()
        .contains(client["client_secret"].as_str().unwrap()));
    Pair {
        down,
        up,
        idp_id,
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        client_secret: client["client_secret"].as_str().unwrap().to_owned(),
    }
}

impl Pair {
    /// From a page of the downstream sign-in form: press "Sign in with The Lab"; returns the
    /// upstream URL the browser is sent to.
    async fn press(&self, b: &mut Browser, page: &str, link: bool) -> String {
        assert!(page.contains("Sign in with The Lab"), "{page}");
        let (csrf, request) = (hidden(page, "csrf"), hidden(page, "request"));
        let next = if page.contains("name=\"next\"") {
            hidden(page, "next")
        } else {
            String::new()
        };
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("request", request.as_str()),
            ("next", next.as_str()),
        ];
        if link {
            form.push(("link", "1"));
        }
        let (location, body) = b
            .submit(&format!("/v2/web/idp/{}/start", self.idp_id), &form)
            .await;
        let location = location.unwrap_or_else(|| panic!("not sent upstream: {body}"));
        assert!(location.starts_with(&self.up.url), "{location}");
        for p in [
            "code_challenge_method=S256",
            "code_challenge=",
            "nonce=",
            "state=",
        ] {
            assert!(location.contains(p), "{p} missing from {location}");
        }
        location
    }

    /// At the upstream: signs in as bob (unless signed in there already) and answers the
    /// consent page when asked; returns the callback URL it sends the browser to.
    async fn upstream(&self, up: &mut Browser, authorize: &str, decision: &str) -> String {
        let (mut location, mut page) = up.open(&authorize[self.up.url.len()..]).await;
        if location.is_none() && page.contains("name=\"password\"") {
            (location, page) = up
                .submit(
                    "/v2/web/login",
                    &[
                        ("csrf", &hidden(&page, "csrf")),
                        ("request", &hidden(&page, "request")),
                        ("username", "bob@lab.example.org"),
                        ("password", PASSWORD),
                    ],
                )
                .await;
        }
        if location.is_none() {
            assert!(page.contains(">Allow</button>"), "{page}");
            (location, page) = up
                .submit(
                    "/v2/web/consent",
                    &[
                        ("csrf", &hidden(&page, "csrf")),
                        ("request", &hidden(&page, "request")),
                        ("decision", decision),
                    ],
                )
                .await;
        }
        let location = location.unwrap_or_else(|| panic!("no callback: {page}"));
        assert!(
            location.starts_with(&format!(
                "{}/v2/web/idp/{}/callback?",
                self.down.url, self.idp_id
            )),
            "{location}"
        );
        location
    }

    fn path<'a>(&self, url: &'a str) -> &'a str {
        &url[self.down.url.len()..]
    }
}

/// A raw GET with exactly these cookies, for what a browser would not do on its own.
async fn raw_get(url: &str, cookies: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .header("cookie", cookies)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A query parameter, decoded.
fn param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// `url` with parameter `name` set to `value` (or removed, for `None`).
fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(name, v);
        }
    }
    u.to_string()
}

#[tokio::test]
async fn an_upstream_tessera_signs_people_in_first_time_returning_and_through_an_application() {
    let p = setup();
    let http = reqwest::Client::new();
    let portal = json(&p.down.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "Portal",
            "--confidential",
            "--redirect-uri",
            PORTAL_REDIRECT,
        ],
        None,
    ));
    let (portal_id, portal_secret) = (
        portal["client_id"].as_str().unwrap().to_owned(),
        portal["client_secret"].as_str().unwrap().to_owned(),
    );

    // First sign-in, for an application: its pending request continues after the callback.
    let mut b = Browser::new(&p.down.url);
    let mut up = Browser::new(&p.up.url);
    let (_, page) = b
        .open(&format!(
            "/v2/oauth2/authorize?client_id={portal_id}&redirect_uri={}&scope=openid%20profile%20email&response_type=code",
            "https%3A%2F%2Fportal.example.org%2Fcallback"
        ))
        .await;
    assert!(
        page.contains("name=\"password\""),
        "the password form is on by default"
    );
    let authorize = p.press(&mut b, &page, false).await;
    let callback = p.upstream(&mut up, &authorize, "allow").await;
    assert_eq!(param(&callback, "iss"), p.up.url);
    let (location, page) = b.open(p.path(&callback)).await;
    assert!(location.is_none(), "{location:?}");
    assert!(
        page.contains(">Allow</button>"),
        "the portal's consent: {page}"
    );
    let (location, _) = b
        .submit(
            "/v2/web/consent",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("request", &hidden(&page, "request")),
                ("decision", "allow"),
            ],
        )
        .await;
    let code = param(location.as_deref().unwrap(), "code");
    let tokens: Value = http
        .post(format!("{}/v2/oauth2/token", p.down.url))
        .basic_auth(&portal_id, Some(&portal_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PORTAL_REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let info: Value = http
        .get(format!("{}/v2/oauth2/userinfo", p.down.url))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["preferred_username"], "bob@lab.example.org", "{info}");
    assert_eq!(info["name"], "Bob Upstream");
    assert_eq!(info["email"], "bob@lab.example.org");
    assert_eq!(info["organization"], "The Lab");
    assert_eq!(info["identity_provider"], p.idp_id.as_str());
    assert_eq!(info["identity_provider_display_name"], "The Lab");

    // A returning user (a new browser, signing in upstream again) is the same identity,
    // found by (issuer, sub).
    let mut b2 = Browser::new(&p.down.url);
    let mut up2 = Browser::new(&p.up.url);
    let (_, page) = b2.open("/v2/web/login?next=/v2/web/account").await;
    let authorize = p.press(&mut b2, &page, false).await;
    let callback = p.upstream(&mut up2, &authorize, "allow").await;
    let (_, page) = b2.open(p.path(&callback)).await;
    assert!(page.contains("bob@lab.example.org"), "{page}");
    assert!(page.contains("Signed in with this identity"), "{page}");
    // (A second identity would have needed the same username, which is unique: the page
    // would say it is taken.)
    assert!(!page.contains("already taken"), "{page}");

    // The registry as the operator sees it; no secret in it.
    let list = json(&p.down.admin(&["admin", "idp", "list"], None));
    assert_eq!(list["identity_providers"][0]["name"], "The Lab");
    assert!(list["identity_providers"][0].get("client_secret").is_none());
}

#[tokio::test]
async fn linking_refusals_mixups_forgeries_and_replays() {
    let p = setup();
    // Refused upstream (first, while bob has not consented there): the person denies consent at
    // the upstream; a clear page here.
    let mut b3 = Browser::new(&p.down.url);
    let mut up3 = Browser::new(&p.up.url);
    let (_, page) = b3.open("/v2/web/login").await;
    let authorize = p.press(&mut b3, &page, false).await;
    let callback = p.upstream(&mut up3, &authorize, "deny").await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let (_, page) = b3.open(p.path(&callback)).await;
    assert!(page.contains("Sign-in refused"), "{page}");
    assert!(page.contains("The Lab did not sign you in."), "{page}");

    // Linking: alice signs in with her password, then links her upstream identity.
    let mut b = Browser::new(&p.down.url);
    let mut up = Browser::new(&p.up.url);
    let (_, page) = b.open("/v2/web/login?next=/v2/web/account").await;
    let (_, page) = b
        .submit(
            "/v2/web/login",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("request", ""),
                ("next", "/v2/web/account"),
                ("username", "alice@down.example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(page.contains("alice@down.example.org"), "{page}");
    let (_, page) = b.open("/v2/web/login?link=1").await;
    assert!(page.contains("Link another identity"), "{page}");
    let authorize = p.press(&mut b, &page, true).await;
    let callback = p.upstream(&mut up, &authorize, "allow").await;
    let (_, page) = b.open(p.path(&callback)).await;
    assert!(page.contains("alice@down.example.org"), "{page}");
    assert!(page.contains("bob@lab.example.org"), "linked: {page}");

    // Replayed callback: in the same browser (binding spent) and with the binding cookie put
    // back (the state was used): refused, nothing changes.
    let (status, page) = raw_get(&callback, "").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("not started in this browser"), "{page}");
    let binding = {
        use base64::Engine;
        let hash = tessera_core::secret::SecretHash::of(&param(&callback, "state"));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.as_bytes())
    };
    let (status, page) = raw_get(&callback, &format!("tessera_upstream={binding}")).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("expired or was already used"), "{page}");

    // Mixed-up or forged responses, each on a fresh sign-in (the state is spent by the try).
    let mut attempts = 0;
    let mut fresh = || {
        attempts += 1;
        (Browser::new(&p.down.url), Browser::new(&p.up.url))
    };
    // A wrong RFC 9207 issuer.
    let (mut b, mut up) = fresh();
    let (_, page) = b.open("/v2/web/login").await;
    let authorize = p.press(&mut b, &page, false).await;
    let callback = p.upstream(&mut up, &authorize, "allow").await;
    let forged = with_param(&callback, "iss", Some("https://evil.example.org"));
    let (_, page) = b.open(p.path(&forged)).await;
    assert!(page.contains("names another issuer"), "{page}");
    // The upstream supports `iss`: a response without it is refused.
    let (mut b, mut up) = fresh();
    let (_, page) = b.open("/v2/web/login").await;
    let authorize = p.press(&mut b, &page, false).await;
    let callback = p.upstream(&mut up, &authorize, "allow").await;
    let stripped = with_param(&callback, "iss", None);
    let (_, page) = b.open(p.path(&stripped)).await;
    assert!(page.contains("lacks the issuer"), "{page}");
    // A state that is not this browser's (an attacker's response pushed to the victim).
    let (mut b, mut up) = fresh();
    let (_, page) = b.open("/v2/web/login").await;
    let authorize = p.press(&mut b, &page, false).await;
    let callback = p.upstream(&mut up, &authorize, "allow").await;
    let (mut victim, _) = fresh();
    let (_, _) = victim.open("/v2/web/login").await;
    let (_, page) = victim.open(p.path(&callback)).await;
    assert!(page.contains("not started in this browser"), "{page}");
    // A response delivered to another IdP's callback address (mix-up).
    let other = format!("/v2/web/idp/{}/callback", uuid::Uuid::new_v4());
    let moved = callback.replace(&format!("/v2/web/idp/{}/callback", p.idp_id), &other);
    let (_, page) = b.open(p.path(&moved)).await;
    assert!(page.contains("another identity provider"), "{page}");
    // A forged code (the upstream refuses it at the token endpoint).
    let (mut b, mut up) = fresh();
    let (_, page) = b.open("/v2/web/login").await;
    let authorize = p.press(&mut b, &page, false).await;
    let callback = p.upstream(&mut up, &authorize, "allow").await;
    let forged = with_param(&callback, "code", Some("tac_forged"));
    let (_, page) = b.open(p.path(&forged)).await;
    assert!(page.contains("refused the authorization code"), "{page}");
    assert!(attempts >= 5);

    // The password form can be switched off: the buttons stay, the form and its POST go.
    drop(b);
    let off = Server::start_flags(&["--password-login", "false"]);
    json(&off.admin(
        &[
            "admin",
            "idp",
            "add",
            "--name",
            "The Lab",
            "--issuer",
            &p.up.url,
            "--client-id",
            &p.client_id,
            "--client-secret-stdin",
            "--domain",
            "lab.example.org",
        ],
        Some(&format!("{}\n", p.client_secret)),
    ));
    let mut b = Browser::new(&off.url);
    let (_, page) = b.open("/v2/web/login").await;
    assert!(!page.contains("name=\"password\""), "{page}");
    assert!(page.contains("Sign in with The Lab"), "{page}");
    let (_, page) = b
        .submit(
            "/v2/web/login",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("request", ""),
                ("username", "x@y.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(page.contains("Password sign-in is off"), "{page}");
}
