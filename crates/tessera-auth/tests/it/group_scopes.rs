//! Scopes granted by group (`group_rule` on scopes) and SciToken access tokens: Tessera groups,
//! the host's POSIX groups (a group and user made with groupadd/useradd when root) and a real
//! `slapd` started here on a loopback port. A member gets the scope with its capabilities at
//! consent and at refresh; a non-member is refused at consent; a removed member's refresh is
//! refused with `invalid_scope` until the membership returns.

use crate::browser::{location_params, Browser, PASSWORD};
use crate::harness::{Client, Reply, TestServer};
use axum::http::Method;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use tessera_auth::group_sources::ldap::{BindPassword, LdapConfig};
use tessera_auth::service::admin::{self, Profile};
use tessera_core::client::ClientType;
use tessera_core::group::{Group, Membership, Policies, Role, Status};
use tessera_core::secret::Secret;
use uuid::Uuid;

const CB: &str = "https://portal.example.org/cb";

struct Setup {
    s: TestServer,
    api: Client,
    portal: Client,
    scope: String,
    scope_id: String,
}

async fn setup(adjust: impl FnOnce(&mut tessera_auth::AuthConfig)) -> Setup {
    let s = TestServer::with_config(adjust).await;
    let api = s.client("storage", ClientType::Confidential).await;
    let r = s
        .json(
            Method::PUT,
            &format!("/v2/api/clients/{}", api.id),
            Some(&api.basic()),
            Some(json!({"client": {"access_token_format": "scitoken"}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["client"]["access_token_format"], "scitoken");
    let scope = s.scope(&api, "data").await;
    let portal = crate::flows::register_redirect(&s, CB).await;
    Setup {
        scope: scope["scope_string"].as_str().unwrap().to_owned(),
        scope_id: scope["id"].as_str().unwrap().to_owned(),
        s,
        api,
        portal,
    }
}

async fn user(s: &TestServer, username: &str) -> Uuid {
    admin::add_user(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        username,
        &Secret::new(PASSWORD),
        Profile::default(),
    )
    .await
    .unwrap()
    .id
}

impl Setup {
    async fn set_rule(&self, rule: Value) -> Reply {
        self.s
            .json(
                Method::PUT,
                &format!("/v2/api/scopes/{}", self.scope_id),
                Some(&self.api.basic()),
                Some(json!({"scope": {"group_rule": rule}})),
            )
            .await
    }

    /// Signs in as `username`, allows, and returns the redirect's parameters.
    async fn authorize(&self, username: &str) -> std::collections::HashMap<String, String> {
        let q = serde_urlencoded::to_string([
            ("client_id", self.portal.id.as_str()),
            ("redirect_uri", CB),
            ("scope", self.scope.as_str()),
            ("response_type", "code"),
            ("state", "st8"),
            ("access_type", "offline"),
        ])
        .unwrap();
        let mut b = Browser::new(&self.s);
        location_params(&b.authorize(&q, username).await)
    }

    /// The whole flow for a member: the token response.
    async fn tokens(&self, username: &str) -> Value {
        let p = self.authorize(username).await;
        let code = p
            .get("code")
            .unwrap_or_else(|| panic!("no code: {p:?}"))
            .clone();
        let r = self.s.redeem(&self.portal, &code, CB).await;
        r.ok();
        r.body
    }

    async fn refresh(&self, rt: &str) -> Reply {
        let body =
            serde_urlencoded::to_string([("grant_type", "refresh_token"), ("refresh_token", rt)])
                .unwrap();
        self.s
            .form("/v2/oauth2/token", Some(&self.portal.basic()), &body)
            .await
    }

    /// The claims of a SciToken, its signature checked against our published JWKS by `kid`.
    async fn verified(&self, jwt: &str) -> Value {
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.alg, Algorithm::ES256);
        let jwks = self.s.get("/jwk.json", None).await.body;
        let kid = header.kid.unwrap();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("the kid is published")
            .clone();
        let key =
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&[&self.api.id]);
        v.set_issuer(&["http://tessera.test"]);
        v.validate_exp = false; // the test clock is not the wall clock
        v.validate_nbf = false;
        jsonwebtoken::decode::<Value>(jwt, &key, &v).unwrap().claims
    }
}

fn group(name: &str) -> Group {
    Group {
        id: Uuid::new_v4(),
        name: name.into(),
        description: None,
        parent_id: None,
        terms_and_conditions: None,
        policies: Policies::default(),
        subscription_id: None,
        subscription_admin_verified_id: None,
        created_at: 1,
        updated_at: 1,
    }
}

fn membership(g: &Group, who: Uuid, role: Role, status: Status) -> Membership {
    Membership {
        group_id: g.id,
        identity_id: who,
        role,
        status,
        status_reason: None,
        invite_email_address: None,
        invite_time: None,
        updated: 1,
    }
}

#[tokio::test]
async fn a_tessera_group_grants_a_path_scope_and_removal_ends_it_at_the_next_refresh() {
    let t = setup(|_| {}).await;
    let s = &t.s;
    let owner = user(s, "owner@example.org").await;
    let alice = user(s, "alice@example.org").await;
    user(s, "bob@example.org").await;
    let lab = group("lab");
    s.state
        .store
        .insert_group(&lab, &membership(&lab, owner, Role::Admin, Status::Active))
        .await
        .unwrap();
    let member = membership(&lab, alice, Role::Member, Status::Active);
    s.state
        .store
        .write_memberships(lab.id, &[(None, member.clone())], 2)
        .await
        .unwrap();

    // Bad rules are refused with the API envelope and change nothing.
    for bad in [
        json!({"groups": [], "capabilities": ["read:/data"]}),
        json!({"groups": ["nis:x"]}),
        json!({"groups": ["posix:x"], "capabilities": ["read:/data/../etc"]}),
        json!({"groups": ["posix:x"], "capabilities": ["read:/x/{nope}"]}),
        json!({"groups": ["posix:x"], "extra": 1}),
    ] {
        t.set_rule(bad.clone()).await.api_error(400, "BAD_REQUEST");
    }
    let rule = json!({
        "groups": [format!("urn:globus:groups:id:{}", lab.id)],
        "capabilities": ["read:/data", "write:/home/{username}", "read:/groups/{group}"],
    });
    let r = t.set_rule(rule.clone()).await;
    r.ok();
    assert_eq!(r.body["scope"]["group_rule"]["groups"], rule["groups"]);
    let shown = s
        .get(
            &format!("/v2/api/scopes/{}", t.scope_id),
            Some(&t.api.basic()),
        )
        .await;
    assert_eq!(
        shown.body["scope"]["group_rule"]["capabilities"],
        rule["capabilities"]
    );

    // A non-member is refused at consent, with nothing consented.
    let p = t.authorize("bob@example.org").await;
    assert_eq!(p["error"], "invalid_scope", "{p:?}");
    assert!(p["error_description"].contains(&t.scope), "{p:?}");
    assert_eq!(p["state"], "st8");

    // The member gets a SciToken with the expanded capabilities.
    let body = t.tokens("alice@example.org").await;
    assert_eq!(body["scope"], t.scope.as_str());
    assert_eq!(body["expires_in"], 1200, "SciTokens are short-lived");
    let at = body["access_token"].as_str().unwrap();
    let c = t.verified(at).await;
    assert_eq!(c["ver"], "scitoken:2.0");
    assert_eq!(c["wlcg.ver"], "1.0");
    assert_eq!(c["aud"], t.api.id.as_str());
    assert_eq!(c["sub"], alice.to_string());
    assert_eq!(
        c["scope"],
        "read:/data write:/home/alice@example.org read:/groups/lab"
    );
    assert_eq!(c["wlcg.groups"], json!(["/lab"]));
    assert_eq!(c["nbf"], c["iat"]);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        1200
    );
    assert!(c["jti"].is_string());
    // It is ours: introspection knows it.
    let i = s.introspect(&t.api, at).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["scope"], t.scope.as_str());

    // Refresh while a member: a new SciToken.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let r = t.refresh(&rt).await;
    r.ok();
    let rt = r.body["refresh_token"].as_str().unwrap_or(&rt).to_owned();

    // Removed from the group: the next refresh is refused, the refresh token is kept.
    let mut removed = member.clone();
    removed.status = Status::Removed;
    s.state
        .store
        .write_memberships(lab.id, &[(Some(member.clone()), removed.clone())], 3)
        .await
        .unwrap();
    t.refresh(&rt).await.oauth_error(400, "invalid_scope");
    t.refresh(&rt).await.oauth_error(400, "invalid_scope");
    // Back in the group: the same refresh token works again.
    s.state
        .store
        .write_memberships(lab.id, &[(Some(removed), member)], 4)
        .await
        .unwrap();
    t.refresh(&rt).await.ok();

    // Clearing the rule opens the scope to anyone who consents.
    t.set_rule(Value::Null).await.ok();
    let p = t.authorize("bob@example.org").await;
    assert!(p.contains_key("code"), "{p:?}");
}

/// Runs a command; true when it succeeded.
fn run(cmd: &str, args: &[&str]) -> bool {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A POSIX group and account made for the test, removed when dropped.
struct PosixFixture {
    user: String,
    group: String,
}

impl Drop for PosixFixture {
    fn drop(&mut self) {
        run("userdel", &[&self.user]);
        run("groupdel", &[&self.group]);
    }
}

#[tokio::test]
async fn a_posix_group_grants_a_path_scope_with_the_uid_and_refuses_a_non_member() {
    if uzers::get_current_uid() != 0 || !run("sh", &["-c", "command -v useradd"]) {
        eprintln!("NOTICE: skipping the POSIX group test: it creates a group and a user (needs root and useradd)");
        return;
    }
    let tag = std::process::id();
    let fx = PosixFixture {
        user: format!("tgs{tag}"),
        group: format!("tgsgrp{tag}"),
    };
    assert!(run("groupadd", &[&fx.group]), "groupadd");
    assert!(
        run(
            "useradd",
            &[
                "-M",
                "-N",
                "-s",
                "/usr/sbin/nologin",
                "-G",
                &fx.group,
                &fx.user
            ]
        ),
        "useradd"
    );
    let uid = uzers::get_user_by_name(&fx.user).unwrap().uid();

    let t = setup(|c| c.group_sources.local_domain = Some("example.org".into())).await;
    let s = &t.s;
    user(s, &format!("{}@example.org", fx.user)).await;
    // root exists everywhere and is not in the fresh group; nobody@elsewhere is no local account.
    user(s, "root@example.org").await;
    user(s, &format!("{}@elsewhere.org", fx.user)).await;
    t.set_rule(json!({
        "groups": [format!("posix:{}", fx.group)],
        "capabilities": ["write:/home/{username}", "read:/uid/{posix_uid}", "storage.read:/store/{group}"],
    }))
    .await
    .ok();

    let body = t.tokens(&format!("{}@example.org", fx.user)).await;
    let c = t.verified(body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        c["scope"],
        format!(
            "write:/home/{u} read:/uid/{uid} storage.read:/store/{g}",
            u = fx.user,
            g = fx.group
        )
    );
    assert_eq!(c["wlcg.groups"], json!([format!("/{}", fx.group)]));

    let p = t.authorize("root@example.org").await;
    assert_eq!(p["error"], "invalid_scope", "{p:?}");
    // The same local name in another domain is a stranger.
    let p = t.authorize(&format!("{}@elsewhere.org", fx.user)).await;
    assert_eq!(p["error"], "invalid_scope", "{p:?}");
}

/// A `slapd` on a loopback port with a temporary configuration and database, stopped when
/// dropped.
struct Slapd {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SUFFIX: &str = "dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PW: &str = "slapd test password";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Slapd {
    fn start() -> Option<Self> {
        let slapd = ["/usr/sbin/slapd", "/usr/local/sbin/slapd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        if !std::path::Path::new("/etc/ldap/schema/nis.schema").exists()
            || !run("sh", &["-c", "command -v ldapadd"])
        {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        let conf = dir.path().join("slapd.conf");
        let modules = [
            "/usr/lib/ldap",
            "/usr/lib/x86_64-linux-gnu/ldap",
            "/usr/lib/aarch64-linux-gnu/ldap",
        ]
        .into_iter()
        .find(|p| {
            std::path::Path::new(&format!("{p}/back_mdb.la")).exists()
                || std::path::Path::new(&format!("{p}/back_mdb.so")).exists()
        })
        .unwrap_or("/usr/lib/ldap");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/nis.schema\n\
                 modulepath {modules}\n\
                 moduleload back_mdb\n\
                 pidfile {pid}\n\
                 database mdb\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"{ROOT_DN}\"\n\
                 rootpw \"{ROOT_PW}\"\n\
                 directory {db}\n",
                pid = dir.path().join("slapd.pid").display(),
                db = db.display(),
            ),
        )
        .unwrap();
        let port = free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let child = std::process::Command::new(slapd)
            .args(["-d", "0", "-f"])
            .arg(&conf)
            .args(["-h", &format!("{url}/")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let me = Self {
            child,
            url,
            _dir: dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(me)
    }

    fn add(&self, ldif: &str) {
        use std::io::Write;
        let mut child = std::process::Command::new("ldapadd")
            .args(["-x", "-H", &self.url, "-D", ROOT_DN, "-w", ROOT_PW])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "ldapadd failed");
    }
}

#[tokio::test]
async fn an_ldap_group_grants_a_path_scope_and_refuses_a_non_member() {
    let Some(ldap) = Slapd::start() else {
        eprintln!("NOTICE: skipping the LDAP group test: slapd and ldap-utils are not installed (apt-get install -y slapd ldap-utils)");
        return;
    };
    ldap.add(&format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: cn=physics,ou=groups,{SUFFIX}\nobjectClass: posixGroup\ncn: physics\ngidNumber: 5001\nmemberUid: carol\nmemberUid: erin\n\n\
         dn: cn=chemistry,ou=groups,{SUFFIX}\nobjectClass: posixGroup\ncn: chemistry\ngidNumber: 5002\nmemberUid: dave\n"
    ));
    let url = ldap.url.clone();
    let t = setup(move |c| {
        c.group_sources.local_domain = Some("example.org".into());
        let mut l = LdapConfig::new(&url, &format!("ou=groups,{SUFFIX}"));
        l.bind_dn = Some(ROOT_DN.into());
        l.bind_password = Some(BindPassword(ROOT_PW.into()));
        c.group_sources.ldap = Some(l);
    })
    .await;
    let s = &t.s;
    user(s, "carol@example.org").await;
    user(s, "dave@example.org").await;
    t.set_rule(json!({
        "groups": ["ldap:physics"],
        "capabilities": ["read:/store/{group}", "write:/store/{group}/user/{username}"],
    }))
    .await
    .ok();
    let body = t.tokens("carol@example.org").await;
    let c = t.verified(body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        c["scope"],
        "read:/store/physics write:/store/physics/user/carol"
    );
    assert_eq!(c["wlcg.groups"], json!(["/physics"]));
    let p = t.authorize("dave@example.org").await;
    assert_eq!(p["error"], "invalid_scope", "{p:?}");

    // The directory down: group-granted scopes are refused (fail closed), never granted.
    drop(ldap);
    user(s, "erin@example.org").await;
    let p = t.authorize("erin@example.org").await;
    assert_eq!(p["error"], "invalid_scope", "{p:?}");
}
