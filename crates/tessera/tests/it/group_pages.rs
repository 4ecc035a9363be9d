//! The groups pages on the `tessera serve` listener, over plain HTTP with a cookie jar: signed
//! out, forged and hostile forms (refused, nothing changed, never a 5xx), the page headers, and a
//! private group kept from a stranger. The whole flow in a real browser is
//! tests/browser/groups.test.mjs.

use crate::process::Server;
use std::collections::HashMap;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A browser without JavaScript: cookies, no automatic redirects (the transfer pages' tests
/// use it too).
pub(crate) struct Jar<'a> {
    server: &'a Server,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) text: String,
}

impl<'a> Jar<'a> {
    pub(crate) fn new(server: &'a Server) -> Self {
        Self {
            server,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let url = format!("{}{path}", self.server.url);
        let mut req = match form {
            Some(f) => self.http.post(url).form(f),
            None => self.http.get(url),
        };
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        let r = req.send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let kv = c.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            headers: r.headers().clone(),
            text: r.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        self.send(path, None).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(path, Some(form)).await
    }

    pub(crate) fn csrf(&self) -> String {
        self.cookies
            .get("tessera_csrf")
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) async fn sign_in(&mut self, username: &str) {
        let page = self.get("/v2/web/login?next=%2F").await;
        assert_eq!(page.status, 200);
        let request = hidden(&page, "request");
        let csrf = self.csrf();
        let r = self
            .post(
                "/v2/web/login",
                &[
                    ("csrf", &csrf),
                    ("request", &request),
                    ("next", "/"),
                    ("username", username),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text);
        assert!(self.cookies.contains_key("tessera_session"));
    }
}

fn hidden(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let Some(start) = page.text.find(&marker).map(|s| s + marker.len()) else {
        return String::new();
    };
    let end = start + page.text[start..].find('"').unwrap();
    page.text[start..end].to_owned()
}

pub(crate) fn user(server: &Server, name: &str) {
    let out = server.admin(
        &["admin", "user", "add", name, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test]
async fn group_pages_refuse_forged_and_hostile_forms_and_hide_private_groups() {
    let server = Server::start();
    user(&server, "ada@example.org");
    user(&server, "cy@example.org");

    // Signed out: to the sign-in page, which comes back.
    let mut ada = Jar::new(&server);
    let r = ada.get("/v2/web/groups").await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location.as_deref(),
        Some("/v2/web/login?next=%2Fv2%2Fweb%2Fgroups")
    );

    ada.sign_in("ada@example.org").await;
    let home = ada.get("/").await;
    assert!(
        home.text
            .contains("href=\"&#x2f;v2&#x2f;web&#x2f;groups\">Your groups</a>"),
        "no link from the front door to the groups"
    );
    let list = ada.get("/v2/web/groups").await;
    assert_eq!(list.status, 200);
    for (h, want) in [
        ("cache-control", "no-store"),
        ("content-type", "text/html; charset=utf-8"),
    ] {
        assert_eq!(list.headers[h], want);
    }
    assert!(list.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(!list.text.contains("<script"));
    assert!(list.text.contains("not a member of any group yet"));

    // A form without its CSRF token, or with another, changes nothing.
    for token in ["", "forged-token-forged-token-forged-token-for"] {
        let r = ada
            .post(
                "/v2/web/groups",
                &[
                    ("csrf", token),
                    ("name", "Forged"),
                    ("visibility", "private"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{token:?}");
        assert!(r.text.contains("This form has expired"));
    }
    assert!(!ada.get("/v2/web/groups").await.text.contains("Forged"));

    // Hostile values: refused with the service's reason, never a 5xx, nothing created.
    let csrf = ada.csrf();
    for (form, why) in [
        (vec![("name", "   ")], "must not be empty"),
        (
            vec![("name", "x"), ("visibility", "everyone")],
            "group_visibility",
        ),
        (
            vec![("name", "x"), ("members_visibility", "<script>")],
            "group_members_visibility",
        ),
    ] {
        let mut f = vec![("csrf", csrf.as_str())];
        f.extend(form);
        let r = ada.post("/v2/web/groups", &f).await;
        assert_eq!(r.status, 400, "{f:?}: {}", r.text);
        assert!(r.text.contains(why), "{why}: {}", r.text);
        assert!(!r.text.contains("<script>"));
    }
    let long = "n".repeat(201);
    let r = ada
        .post("/v2/web/groups", &[("csrf", &csrf), ("name", &long)])
        .await;
    assert_eq!(r.status, 400);
    assert!(ada
        .get("/v2/web/groups")
        .await
        .text
        .contains("not a member of any group yet"));

    // A private group, created through the page.
    let r = ada
        .post(
            "/v2/web/groups",
            &[
                ("csrf", &csrf),
                ("name", "Board <b>secret</b>"),
                ("visibility", "private"),
                ("members_visibility", "managers"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let group_path = r.location.unwrap();
    assert!(group_path.starts_with("/v2/web/groups/"));
    let page = ada.get(&group_path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Board &lt;b&gt;secret&lt;&#x2f;b&gt;"),
        "escaped"
    );
    let members = format!("{group_path}/members");

    // Bad actions and identities on the members form: 4xx with the reason, never 5xx.
    for (action, identity, status) in [
        ("promote", "00000000-0000-4000-8000-000000000001", 400),
        ("remove", "not-a-uuid", 400),
        ("", "", 400),
        ("approve", "00000000-0000-4000-8000-000000000001", 409),
        ("leave", &ada_identity(&page), 409),
    ] {
        let r = ada
            .post(
                &members,
                &[
                    ("csrf", &csrf),
                    ("action", action),
                    ("identity_id", identity),
                ],
            )
            .await;
        assert_eq!(r.status, status, "{action} {identity}: {}", r.text);
        assert!(r.text.contains("Nothing was changed"), "{}", r.text);
    }
    // The last admin is still there.
    assert!(ada.get(&group_path).await.text.contains("Active member"));
    let r = ada
        .post(
            &format!("{group_path}/invite"),
            &[("csrf", &csrf), ("username", &"u".repeat(10_000))],
        )
        .await;
    assert_eq!(r.status, 400);
    let r = ada
        .post(
            "/v2/web/groups/not-a-uuid/members",
            &[("csrf", &csrf), ("action", "leave")],
        )
        .await;
    assert_eq!(r.status, 404);

    // A stranger sees neither the group nor its name, and cannot act on it.
    let mut cy = Jar::new(&server);
    cy.sign_in("cy@example.org").await;
    let r = cy.get(&group_path).await;
    assert_eq!(r.status, 403);
    assert!(!r.text.contains("Board"));
    let cy_csrf = cy.csrf();
    let r = cy
        .post(
            &members,
            &[
                ("csrf", &cy_csrf),
                ("action", "request_join"),
                ("identity_id", "x"),
            ],
        )
        .await;
    assert!(matches!(r.status, 400 | 403), "{}", r.status);
    assert!(!r.text.contains("Board"));
    let r = cy
        .post(
            &format!("{group_path}/invite"),
            &[("csrf", &cy_csrf), ("username", "cy@example.org")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(!cy.get("/v2/web/groups").await.text.contains("Board"));
}

/// The identity id in the page's own-membership forms (the leave form's, or the role form's).
fn ada_identity(page: &Page) -> String {
    let marker = "<h3 class=\"app-name\">ada@example.org";
    let at = page.text.find(marker).expect("ada's entry");
    let rest = &page.text[at..];
    let m = "name=\"identity_id\" value=\"";
    let start = rest.find(m).unwrap() + m.len();
    rest[start..start + 36].to_owned()
}
