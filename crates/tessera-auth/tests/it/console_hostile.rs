//! The developer console against hostile forms: every POST route with only its CSRF token
//! (missing fields), and with every field huge. Each answer is a page with a 4xx or a redirect,
//! never a 5xx, and nothing huge is stored.

use crate::browser::{Browser, PASSWORD};
use crate::flows::alice;
use crate::harness::TestServer;
use axum::http::{header, StatusCode};
use uuid::Uuid;

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
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    b
}

fn id_after(location: &str, kind: &str) -> String {
    let rest = location.split(&format!("/{kind}/")).nth(1).unwrap();
    rest.split(['?', '/']).next().unwrap().to_owned()
}

#[tokio::test]
async fn console_forms_with_missing_or_huge_fields_are_refused_without_a_5xx() {
    let s = TestServer::new().await;
    let alice_id: Uuid = alice(&s).await.parse().unwrap();
    let mut b = signed_in(&s, "alice@example.org").await;
    let page = b.get("/v2/web/console").await;
    let csrf = Browser::hidden(&page, "csrf");
    let t = csrf.as_str();
    let r = b
        .post(
            "/v2/web/console",
            &[
                ("csrf", t),
                ("display_name", "Lab"),
                ("contact_email", "dev@example.org"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let loc = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let project = id_after(&loc, "projects");
    let r = b
        .post(
            &format!("/v2/web/console/projects/{project}/apps"),
            &[
                ("csrf", t),
                ("name", "Portal"),
                ("app_type", "confidential"),
                ("redirect_uris", "https://portal.example.org/cb"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let apps = s
        .state
        .store
        .clients_of_project(project.parse().unwrap())
        .await
        .unwrap();
    let app = apps[0].id.to_string();

    let huge = "a".repeat(2_500);
    let huge_uri = format!("https://example.org/{huge}");
    let huge_mail = format!("{huge}@example.org");
    let fields = [
        "display_name",
        "contact_email",
        "name",
        "app_type",
        "redirect_uris",
        "redirect_uri",
        "scope_suffix",
        "scope_string",
        "description",
        "admin",
        "identity_id",
        "group_id",
        "fqdn",
        "dependent",
        "visibility",
        "public_client",
        "domain_constraints_include",
        "domain_constraints_exclude",
        "authentication_assurance_timeout",
    ];
    let routes = [
        "/v2/web/console".to_owned(),
        format!("/v2/web/console/projects/{project}/edit"),
        format!("/v2/web/console/projects/{project}/admins"),
        format!("/v2/web/console/projects/{project}/admins/remove"),
        format!("/v2/web/console/projects/{project}/apps"),
        format!("/v2/web/console/projects/{project}/policies"),
        format!("/v2/web/console/apps/{app}/edit"),
        format!("/v2/web/console/apps/{app}/redirect-uris"),
        format!("/v2/web/console/apps/{app}/redirect-uris/remove"),
        format!("/v2/web/console/apps/{app}/secrets"),
        format!(
            "/v2/web/console/apps/{app}/secrets/{}/delete",
            Uuid::new_v4()
        ),
        format!("/v2/web/console/apps/{app}/secrets/not-an-id/delete"),
        format!("/v2/web/console/apps/{app}/fqdns"),
        format!("/v2/web/console/apps/{app}/fqdns/remove"),
        format!("/v2/web/console/apps/{app}/scopes"),
        format!("/v2/web/console/scopes/{}/edit", Uuid::new_v4()),
        format!("/v2/web/console/scopes/{}/dependents", Uuid::new_v4()),
        format!("/v2/web/console/policies/{}/edit", Uuid::new_v4()),
        "/v2/web/console/apps/not-an-id/edit".to_owned(),
        "/v2/web/console/projects/%ff/edit".to_owned(),
    ];
    for route in &routes {
        let r = b.post(route, &[("csrf", t)]).await;
        assert!(
            r.status.is_client_error() || r.status.is_redirection() || r.status == StatusCode::OK,
            "{route} with no fields: {} {}",
            r.status,
            r.text
        );
        for value in [huge.as_str(), huge_uri.as_str(), huge_mail.as_str()] {
            let mut form: Vec<(&str, &str)> = vec![("csrf", t)];
            form.extend(fields.iter().map(|f| (*f, value)));
            let r = b.post(route, &form).await;
            assert_ne!(
                r.status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{route}: reached the handler"
            );
            assert!(
                !r.status.is_server_error(),
                "{route} with huge fields: {} {}",
                r.status,
                &r.text[..r.text.len().min(300)]
            );
        }
    }
    // Nothing huge was stored.
    for p in s.state.store.projects_of_admins(&[alice_id]).await.unwrap() {
        assert!(p.display_name.len() < 1000, "project name stored huge");
        assert!(p.contact_email.len() < 1000, "contact email stored huge");
        for c in s.state.store.clients_of_project(p.id).await.unwrap() {
            assert!(c.name.len() < 1000, "app name stored huge");
            assert!(
                c.redirect_uris.iter().all(|u| u.len() < 10_000),
                "redirect uri stored huge"
            );
        }
    }
}
