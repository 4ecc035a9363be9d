//! The operator and client commands against a running server.

use crate::process::{json, run, Server};

#[tokio::test]
async fn admin_and_seed_commands_follow_the_contract() {
    let server = Server::start();
    let alice = json(&server.admin(
        &[
            "admin",
            "user",
            "add",
            "alice@example.org",
            "--password-stdin",
            "--name",
            "Alice",
            "--organization",
            "Uni",
        ],
        Some("a long enough password\n"),
    ));
    assert_eq!(alice["username"], "alice@example.org");
    assert_eq!(alice["organization"], "Uni");

    // Bad bootstrap input: clear message, exit 2, nothing created.
    let dup = server.admin(
        &[
            "admin",
            "user",
            "add",
            "ALICE@example.org",
            "--password-stdin",
        ],
        Some("another password\n"),
    );
    assert_eq!(dup.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists already"));
    let short = server.admin(
        &[
            "admin",
            "user",
            "add",
            "bob@example.org",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert_eq!(short.status.code(), Some(2));
    let bad_uri = server.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "x",
            "--native",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        None,
    );
    assert_eq!(bad_uri.status.code(), Some(2));
    let native = json(&server.admin(
        &["admin", "client", "add", "--name", "cli", "--native"],
        None,
    ));
    assert!(
        native.get("client_secret").is_none(),
        "native clients have no secret"
    );

    let api = json(&server.admin(
        &["admin", "client", "add", "--name", "api", "--confidential"],
        None,
    ));
    let portal = json(&server.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "portal",
            "--confidential",
        ],
        None,
    ));
    let as_client = |c: &serde_json::Value| {
        vec![
            ("TESSERA_AUTH_URL", server.url.clone()),
            (
                "TESSERA_CLIENT_ID",
                c["client_id"].as_str().unwrap().to_owned(),
            ),
            (
                "TESSERA_CLIENT_SECRET",
                c["client_secret"].as_str().unwrap().to_owned(),
            ),
        ]
    };
    let env = |c: &serde_json::Value| as_client(c);
    let with = |c: &serde_json::Value, args: &[&str]| {
        let vars = env(c);
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(args, None, None, &pairs)
    };

    let base = json(&with(
        &api,
        &[
            "scope",
            "create",
            "--suffix",
            "base",
            "--name",
            "Base",
            "--description",
            "Base access",
        ],
    ));
    let scope = json(&with(
        &api,
        &[
            "scope",
            "create",
            "--suffix",
            "data",
            "--name",
            "Data",
            "--description",
            "Data access",
            "--dependent-scope",
            base["scope_string"].as_str().unwrap(),
        ],
    ));
    assert!(
        scope.get("scope").is_none(),
        "the bare scope, not an envelope"
    );
    assert_eq!(scope["dependent_scopes"][0]["scope"], base["id"]);
    let missing = with(
        &api,
        &[
            "scope",
            "create",
            "--suffix",
            "x",
            "--name",
            "X",
            "--description",
            "X",
            "--dependent-scope",
            "urn:nope",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));

    let scope_string = scope["scope_string"].as_str().unwrap();
    let got = with(&portal, &["token", "get", scope_string]);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let token = String::from_utf8(got.stdout).unwrap().trim().to_owned();

    let check = with(&api, &["token", "check", &token]);
    assert_eq!(check.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        format!(
            "{}@clients.auth.globus.org",
            portal["client_id"].as_str().unwrap()
        )
    );
    let domain = with(
        &api,
        &["token", "check", &token, "--require-domain", "example.org"],
    );
    assert_eq!(domain.status.code(), Some(1));
    assert!(!domain.stderr.is_empty() && domain.stdout.is_empty());

    assert!(with(&portal, &["token", "revoke", &token]).status.success());
    let after = with(&api, &["token", "check", &token]);
    assert_eq!(after.status.code(), Some(1));

    let unset = run(&["token", "get", "openid"], None, None, &[]);
    assert_eq!(unset.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unset.stderr).contains("TESSERA_AUTH_URL"));
}

/// A browser over real HTTP: keeps cookies, never follows redirects by itself.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: std::collections::HashMap<String, String>,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: Default::default(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let r = req.header("cookie", jar.join("; ")).send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let kv = c.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }

    /// GETs `path` and follows redirects on this server; returns the page or the foreign
    /// redirect.
    pub(crate) async fn open(&mut self, path: &str) -> (Option<String>, String) {
        let mut path = path.to_owned();
        for _ in 0..10 {
            let url = format!("{}{path}", self.base);
            let (_, location, body) = self.send(self.http.get(url)).await;
            match location {
                Some(l) if l.starts_with('/') => path = l,
                Some(l) if l.starts_with(&self.base) => path = l[self.base.len()..].to_owned(),
                other => return (other, body),
            }
        }
        panic!("too many redirects");
    }

    pub(crate) async fn submit(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (Option<String>, String) {
        let url = format!("{}{path}", self.base);
        let (_, location, body) = self.send(self.http.post(url).form(form)).await;
        match location {
            Some(l) if l.starts_with('/') => self.open(&l).await,
            other => (other, body),
        }
    }
}

pub(crate) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// `token check --require-domain` judges the effective identity: a person signed in as
/// alice@example.org who linked alice@other.org for a client whose policy wants other.org
/// passes for other.org and fails for example.org, although both are in the identity set.
#[tokio::test]
async fn token_check_require_domain_uses_the_effective_identity() {
    let server = Server::start();
    for u in ["alice@example.org", "alice@other.org"] {
        server.admin(
            &["admin", "user", "add", u, "--password-stdin"],
            Some("a long enough password\n"),
        );
    }
    let developer = json(&server.admin(
        &["admin", "client", "add", "--name", "dev", "--confidential"],
        None,
    ));
    let http = reqwest::Client::new();
    let url = server.url.trim_end_matches('/').to_owned();
    let t: serde_json::Value = http
        .post(format!("{url}/v2/oauth2/token"))
        .basic_auth(
            developer["client_id"].as_str().unwrap(),
            developer["client_secret"].as_str(),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "scope",
                "urn:globus:auth:scope:auth.globus.org:manage_projects",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let post = |path: &'static str, body: serde_json::Value| {
        let req = http
            .post(format!("{url}{path}"))
            .header("authorization", &bearer)
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let project = post(
        "/v2/api/projects",
        serde_json::json!({"project": {"display_name": "P", "contact_email": "dev@example.org"}}),
    )
    .await["project"]["id"]
        .clone();
    let policy = post(
        "/v2/api/policies",
        serde_json::json!({"policy": {"project_id": project, "display_name": "Partners",
            "description": "", "domain_constraints_include": ["other.org"]}}),
    )
    .await["policy"]["id"]
        .clone();
    let created = post(
        "/v2/api/clients",
        serde_json::json!({"client": {"name": "portal", "project": project, "public_client": false,
            "redirect_uris": ["https://portal.example.org/callback"], "authentication_policy": policy}}),
    )
    .await;
    let portal_id = created["client"]["id"].as_str().unwrap().to_owned();
    let portal_secret = created["included"]["client_credential"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // Sign in as alice@example.org; asked for other.org; link it; allow.
    let mut b = Browser::new(&url);
    let q = format!(
        "/v2/oauth2/authorize?client_id={portal_id}&redirect_uri=https%3A%2F%2Fportal.example.org%2Fcallback\
         &scope=openid%20profile&response_type=code"
    );
    let (_, page) = b.open(&q).await;
    let sign_in = |page: &str, username: &'static str, link: bool| {
        let mut f = vec![
            ("csrf", hidden(page, "csrf")),
            ("request", hidden(page, "request")),
            ("username", username.to_owned()),
            ("password", "a long enough password".to_owned()),
        ];
        if link {
            f.push(("link", "1".to_owned()));
        }
        f
    };
    let f = sign_in(&page, "alice@example.org", false);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, page) = b.submit("/v2/web/login", &pairs).await;
    assert!(
        page.contains("Sign in with an identity from other.org"),
        "{page}"
    );
    let f = sign_in(&page, "alice@other.org", true);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, page) = b.submit("/v2/web/login", &pairs).await;
    assert!(page.contains(">Allow</button>"), "{page}");
    let (csrf, request) = (hidden(&page, "csrf"), hidden(&page, "request"));
    let (location, _) = b
        .submit(
            "/v2/web/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    let location = location.unwrap();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();
    let tokens: serde_json::Value = http
        .post(format!("{url}/v2/oauth2/token"))
        .basic_auth(&portal_id, Some(&portal_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://portal.example.org/callback"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();

    let env = [
        ("TESSERA_AUTH_URL", server.url.as_str()),
        ("TESSERA_CLIENT_ID", portal_id.as_str()),
        ("TESSERA_CLIENT_SECRET", portal_secret.as_str()),
    ];
    let ok = run(
        &["token", "check", &token, "--require-domain", "other.org"],
        None,
        None,
        &env,
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).trim(),
        "alice@other.org"
    );
    let no = run(
        &["token", "check", &token, "--require-domain", "example.org"],
        None,
        None,
        &env,
    );
    assert_eq!(no.status.code(), Some(1));
    assert!(no.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&no.stderr).contains("alice@other.org is not from example.org"),
        "{}",
        String::from_utf8_lossy(&no.stderr)
    );
}
