//! The developer console (`/v2/web/console`): signed out it sends people to sign in; every
//! POST needs the CSRF token; a person sees and changes only the projects they administer
//! (anyone else gets a 403 or 404 page and nothing changes); a refused redirect URI comes back
//! beside its field as typed; a new app's secret is shown once and works.

use crate::browser::{Browser, PASSWORD};
use crate::flows::alice;
use crate::harness::{basic, Reply, TestServer};
use axum::http::{header, StatusCode};
use tessera_auth::service::admin::{self, Profile};
use tessera_core::secret::Secret;
use uuid::Uuid;

fn text(page: &Reply) -> String {
    page.text
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

fn location(r: &Reply) -> String {
    r.headers
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no redirect ({}): {}", r.status, r.text))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The id in a redirect to `.../{kind}/{id}?done=...`.
fn id_in(r: &Reply, kind: &str) -> String {
    let loc = location(r);
    let rest = loc.split(&format!("/{kind}/")).nth(1).unwrap();
    rest.split(['?', '/']).next().unwrap().to_owned()
}

/// The client id an app's page shows.
fn app_id(page: &Reply) -> String {
    let t = text(page);
    let marker = "<code id=\"client-id\">";
    let start = t
        .find(marker)
        .unwrap_or_else(|| panic!("no client id: {t}"))
        + marker.len();
    t[start..start + 36].to_owned()
}

async fn bob(s: &TestServer) -> Uuid {
    admin::add_user(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        "bob@example.org",
        &Secret::new(PASSWORD),
        Profile::default(),
    )
    .await
    .unwrap()
    .id
}

/// A browser signed in as `username`.
async fn signed_in<'a>(s: &'a TestServer, username: &str) -> Browser<'a> {
    let mut b = Browser::new(s);
    let login = b.get("/v2/web/login?next=%2Fv2%2Fweb%2Fconsole").await;
    let csrf = Browser::hidden(&login, "csrf");
    let r = b
        .post(
            "/v2/web/login",
            &[
                ("csrf", csrf.as_str()),
                ("request", ""),
                ("next", "/v2/web/console"),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&r), "/v2/web/console");
    b
}

/// The CSRF token of a page the browser fetches.
async fn csrf(b: &mut Browser<'_>, path: &str) -> String {
    let page = b.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    Browser::hidden(&page, "csrf")
}

async fn new_project(b: &mut Browser<'_>, name: &str) -> String {
    let token = csrf(b, "/v2/web/console").await;
    let r = b
        .post(
            "/v2/web/console",
            &[
                ("csrf", token.as_str()),
                ("display_name", name),
                ("contact_email", "dev@example.org"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    id_in(&r, "projects")
}

#[tokio::test]
async fn signed_out_the_console_sends_people_to_sign_in_and_back() {
    let s = TestServer::new().await;
    for path in [
        "/v2/web/console",
        "/v2/web/console/projects/00000000-0000-4000-8000-000000000000",
    ] {
        let r = s.get(path, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let loc = location(&r);
        assert!(
            loc.starts_with("/v2/web/login?next=%2Fv2%2Fweb%2Fconsole"),
            "{loc}"
        );
    }
}

#[tokio::test]
async fn every_console_form_needs_the_csrf_token_and_a_forged_one_changes_nothing() {
    let s = TestServer::new().await;
    let alice_id: Uuid = alice(&s).await.parse().unwrap();
    let mut b = signed_in(&s, "alice@example.org").await;
    let page = b.get("/v2/web/console").await;
    assert!(text(&page).contains("No projects yet"), "{}", page.text);
    for token in [None, Some("forged-token-forged-token-forged-token-abc")] {
        let mut form = vec![("display_name", "Lab"), ("contact_email", "a@example.org")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let r = b.post("/v2/web/console", &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert!(text(&r).contains("Nothing was changed"));
    }
    assert!(s
        .state
        .store
        .projects_of_admins(&[alice_id])
        .await
        .unwrap()
        .is_empty());

    // With the token, the same form works; then a forged delete leaves the project alone.
    let project = new_project(&mut b, "Lab").await;
    let r = b
        .post(
            &format!("/v2/web/console/projects/{project}/delete"),
            &[("csrf", "nope")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(s
        .state
        .store
        .project(project.parse().unwrap())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn nobody_sees_or_changes_a_project_they_do_not_administer() {
    let s = TestServer::new().await;
    alice(&s).await;
    bob(&s).await;
    let mut a = signed_in(&s, "alice@example.org").await;
    let project = new_project(&mut a, "Alice's lab").await;
    let token = csrf(&mut a, &format!("/v2/web/console/projects/{project}")).await;
    let r = a
        .post(
            &format!("/v2/web/console/projects/{project}/apps"),
            &[
                ("csrf", token.as_str()),
                ("name", "Portal"),
                ("app_type", "confidential"),
                ("redirect_uris", "https://portal.example.org/cb"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let app = app_id(&r);

    let mut b = signed_in(&s, "bob@example.org").await;
    let list = text(&b.get("/v2/web/console").await);
    assert!(!list.contains("Alice's lab") && list.contains("No projects yet"));
    for path in [
        format!("/v2/web/console/projects/{project}"),
        format!("/v2/web/console/projects/{project}/delete"),
        format!("/v2/web/console/apps/{app}"),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(!text(&r).contains("Alice's lab") && !text(&r).contains("Portal"));
    }
    let r = b
        .get("/v2/web/console/projects/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Bob's own CSRF token is valid; the permission check still refuses every change.
    let token = csrf(&mut b, "/v2/web/console").await;
    let t = token.as_str();
    let attempts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/v2/web/console/projects/{project}/edit"),
            vec![
                ("csrf", t),
                ("display_name", "Bob's now"),
                ("contact_email", "b@example.org"),
            ],
        ),
        (
            format!("/v2/web/console/projects/{project}/delete"),
            vec![("csrf", t)],
        ),
        (
            format!("/v2/web/console/projects/{project}/admins"),
            vec![("csrf", t), ("admin", "bob@example.org")],
        ),
        (
            format!("/v2/web/console/projects/{project}/apps"),
            vec![("csrf", t), ("name", "Intruder"), ("app_type", "public")],
        ),
        (
            format!("/v2/web/console/apps/{app}/secrets"),
            vec![("csrf", t), ("name", "mine")],
        ),
        (
            format!("/v2/web/console/apps/{app}/redirect-uris"),
            vec![("csrf", t), ("redirect_uri", "https://evil.example/cb")],
        ),
        (
            format!("/v2/web/console/apps/{app}/delete"),
            vec![("csrf", t)],
        ),
        (
            format!("/v2/web/console/apps/{app}/scopes"),
            vec![
                ("csrf", t),
                ("scope_suffix", "x"),
                ("name", "X"),
                ("description", "X"),
            ],
        ),
    ];
    for (path, form) in &attempts {
        let r = b.post(path, form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
    }
    let p = s
        .state
        .store
        .project(project.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.display_name, "Alice's lab");
    assert_eq!(p.admin_ids.len(), 1);
    let app_id: Uuid = app.parse().unwrap();
    let clients = s.state.store.clients_of_project(p.id).await.unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!(
        clients[0].redirect_uris,
        vec!["https://portal.example.org/cb"]
    );
    assert_eq!(s.state.store.credentials(app_id).await.unwrap().len(), 1);
    assert!(s
        .state
        .store
        .scopes_of_client(app_id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_refused_redirect_uri_comes_back_beside_its_field_as_typed() {
    let s = TestServer::new().await;
    alice(&s).await;
    let mut a = signed_in(&s, "alice@example.org").await;
    let project = new_project(&mut a, "Lab").await;
    let token = csrf(&mut a, &format!("/v2/web/console/projects/{project}")).await;
    let r = a
        .post(
            &format!("/v2/web/console/projects/{project}/apps"),
            &[
                ("csrf", token.as_str()),
                ("name", "CLI"),
                ("app_type", "public"),
                ("redirect_uris", "http://localhost:8080/cb"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let app = app_id(&r);
    assert!(
        !text(&r).contains("id=\"new-secret\""),
        "a public app has no secret"
    );

    let r = a
        .post(
            &format!("/v2/web/console/apps/{app}/redirect-uris"),
            &[
                ("csrf", token.as_str()),
                ("redirect_uri", "http://example.org/cb"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = text(&r);
    assert!(page.contains("class=\"field-error\""), "{page}");
    assert!(
        page.contains("plain http is allowed only for loopback hosts"),
        "{page}"
    );
    assert!(
        page.contains("value=\"http://example.org/cb\""),
        "what was typed is kept"
    );
    let c = s
        .state
        .store
        .client(app.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.redirect_uris, vec!["http://localhost:8080/cb"]);
}

#[tokio::test]
async fn a_new_apps_secret_is_shown_once_and_authenticates_the_app() {
    let s = TestServer::new().await;
    alice(&s).await;
    let mut a = signed_in(&s, "alice@example.org").await;
    let project = new_project(&mut a, "Lab").await;
    let token = csrf(&mut a, &format!("/v2/web/console/projects/{project}")).await;
    let r = a
        .post(
            &format!("/v2/web/console/projects/{project}/apps"),
            &[
                ("csrf", token.as_str()),
                ("name", "Portal"),
                ("app_type", "confidential"),
                ("redirect_uris", "https://portal.example.org/cb"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let app = app_id(&r);
    let page = text(&r);
    let marker = "id=\"new-secret\" class=\"secret\">";
    let start = page.find(marker).unwrap() + marker.len();
    let secret = page[start..start + page[start..].find('<').unwrap()].to_owned();
    assert!(secret.len() > 20, "{secret}");
    assert_eq!(
        page.matches("<script").count(),
        1,
        "one script, at the end: {page}"
    );
    assert!(page.contains("<title>Portal · Tessera</title>"), "{page}");

    let reload = text(&a.get(&format!("/v2/web/console/apps/{app}")).await);
    assert!(reload.contains("Portal") && !reload.contains(&secret));

    let r = s
        .form(
            "/v2/oauth2/token",
            Some(&basic(&app, &secret)),
            "grant_type=client_credentials&scope=openid",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["access_token"].is_string());
}

#[tokio::test]
async fn admins_are_added_by_username_and_a_project_keeps_one() {
    let s = TestServer::new().await;
    let alice_id: Uuid = alice(&s).await.parse().unwrap();
    let bob_id = bob(&s).await;
    let mut a = signed_in(&s, "alice@example.org").await;
    let project = new_project(&mut a, "Lab").await;
    let path = format!("/v2/web/console/projects/{project}");
    let token = csrf(&mut a, &path).await;

    let r = a
        .post(
            &format!("{path}/admins"),
            &[("csrf", token.as_str()), ("admin", "nobody@example.org")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(text(&r).contains("nobody has the username"), "{}", r.text);
    assert!(text(&r).contains("value=\"nobody@example.org\""));

    let r = a
        .post(
            &format!("{path}/admins"),
            &[("csrf", token.as_str()), ("admin", "Bob@Example.org")],
        )
        .await;
    assert_eq!(location(&r), format!("{path}?done=admin-added"));
    let p = s
        .state
        .store
        .project(project.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.admin_ids, vec![alice_id, bob_id]);

    // Bob now sees it; Alice removes herself and goes back to her (empty) list.
    let mut b = signed_in(&s, "bob@example.org").await;
    assert_eq!(b.get(&path).await.status, StatusCode::OK);
    let alice = alice_id.to_string();
    let r = a
        .post(
            &format!("{path}/admins/remove"),
            &[("csrf", token.as_str()), ("identity_id", alice.as_str())],
        )
        .await;
    assert_eq!(location(&r), "/v2/web/console?done=admin-removed");
    assert_eq!(a.get(&path).await.status, StatusCode::FORBIDDEN);

    // The last admin cannot go.
    let token = csrf(&mut b, &path).await;
    let bob = bob_id.to_string();
    let r = b
        .post(
            &format!("{path}/admins/remove"),
            &[("csrf", token.as_str()), ("identity_id", bob.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(text(&r).contains("at least one admin"), "{}", r.text);
    let p = s.state.store.project(p.id).await.unwrap().unwrap();
    assert_eq!(p.admin_ids, vec![bob_id]);
}

#[tokio::test]
async fn a_policy_is_made_and_changed_from_its_forms() {
    let s = TestServer::new().await;
    alice(&s).await;
    let mut a = signed_in(&s, "alice@example.org").await;
    let project = new_project(&mut a, "Lab").await;
    let path = format!("/v2/web/console/projects/{project}");
    let token = csrf(&mut a, &path).await;
    let r = a
        .post(
            &format!("{path}/policies"),
            &[
                ("csrf", token.as_str()),
                ("display_name", "Staff only"),
                ("description", ""),
                ("high_assurance", "on"),
                ("authentication_assurance_timeout", "soon"),
                ("domain_constraints_include", "example.org"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = text(&r);
    assert!(
        page.contains("whole number of seconds") && page.contains("value=\"soon\""),
        "{page}"
    );

    let r = a
        .post(
            &format!("{path}/policies"),
            &[
                ("csrf", token.as_str()),
                ("display_name", "Staff only"),
                ("description", ""),
                ("high_assurance", "on"),
                ("authentication_assurance_timeout", "3600"),
                ("domain_constraints_include", "example.org\n*.example.org"),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("{path}?done=policy-created"));
    let policies = s
        .state
        .store
        .policies_of_projects(&[project.parse().unwrap()])
        .await
        .unwrap();
    assert_eq!(policies.len(), 1);
    let p = &policies[0];
    assert!(p.high_assurance && !p.required_mfa);
    assert_eq!(p.authentication_assurance_timeout, Some(3600));
    assert_eq!(
        p.domain_constraints_include.as_deref(),
        Some(&["example.org".to_owned(), "*.example.org".to_owned()][..])
    );

    let edit = format!("/v2/web/console/policies/{}", p.id);
    assert!(text(&a.get(&edit).await).contains("Staff only"));
    let r = a
        .post(
            &format!("{edit}/edit"),
            &[
                ("csrf", token.as_str()),
                ("display_name", "Staff with MFA"),
                ("description", "Two steps"),
                ("required_mfa", "on"),
                ("authentication_assurance_timeout", ""),
                ("domain_constraints_include", ""),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("{edit}?done=policy-saved"));
    let p = s.state.store.policy(p.id).await.unwrap().unwrap();
    assert_eq!(p.display_name, "Staff with MFA");
    assert!(p.required_mfa && !p.high_assurance);
    assert_eq!(p.authentication_assurance_timeout, None);
    assert_eq!(p.domain_constraints_include, None);

    let r = a
        .post(&format!("{edit}/delete"), &[("csrf", token.as_str())])
        .await;
    assert_eq!(location(&r), format!("{path}?done=policy-deleted"));
    assert!(s.state.store.policy(p.id).await.unwrap().is_none());
}

#[tokio::test]
async fn deletions_ask_first_and_a_project_goes_only_once_empty() {
    let s = TestServer::new().await;
    alice(&s).await;
    let mut a = signed_in(&s, "alice@example.org").await;
    let project = new_project(&mut a, "Lab").await;
    let path = format!("/v2/web/console/projects/{project}");
    let token = csrf(&mut a, &path).await;
    let r = a
        .post(
            &format!("{path}/apps"),
            &[
                ("csrf", token.as_str()),
                ("name", "CLI"),
                ("app_type", "public"),
            ],
        )
        .await;
    let app = app_id(&r);

    // The confirmation pages name what goes and post back to themselves.
    let confirm = text(&a.get(&format!("{path}/delete")).await);
    assert!(confirm.contains("Delete this project?") && confirm.contains("<strong>Lab</strong>"));
    assert!(
        confirm.contains(&format!("action=\"{path}/delete\"")),
        "{confirm}"
    );

    let r = a
        .post(&format!("{path}/delete"), &[("csrf", token.as_str())])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        text(&r).contains("still has clients or policies"),
        "{}",
        r.text
    );
    assert!(s
        .state
        .store
        .project(project.parse().unwrap())
        .await
        .unwrap()
        .is_some());

    let app_path = format!("/v2/web/console/apps/{app}");
    assert!(text(&a.get(&format!("{app_path}/delete")).await).contains("Delete this app?"));
    let r = a
        .post(&format!("{app_path}/delete"), &[("csrf", token.as_str())])
        .await;
    assert_eq!(location(&r), format!("{path}?done=app-deleted"));
    assert_eq!(a.get(&app_path).await.status, StatusCode::NOT_FOUND);

    let r = a
        .post(&format!("{path}/delete"), &[("csrf", token.as_str())])
        .await;
    assert_eq!(location(&r), "/v2/web/console?done=project-deleted");
    assert!(s
        .state
        .store
        .project(project.parse().unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(text(&a.get("/v2/web/console").await).contains("No projects yet"));
}
