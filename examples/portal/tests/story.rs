//! The portal's whole story end to end: the real `tessera serve` binary on 127.0.0.1:0 with a
//! fresh data directory, the graph and the portal on 127.0.0.1:0 in this process, and a person
//! driven over HTTP (cookies kept, redirects followed) through Tessera's real sign-in and
//! consent pages: their name and identities, the datasets, a transfer to their endpoint that
//! finishes with the files on disk, a plot from the graph, and a sign-out after which the old
//! token introspects inactive.
//!
//! The `tessera` binary comes from this workspace's target directory (`cargo test --workspace`
//! builds it; alone: `cargo build -p tessera` first) or `TESSERA_BIN`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_client::transfer::TRANSFER_ALL;
use tessera_client::{AuthClient, ClientCredentialsAuthorizer, TransferClient};

const PASSWORD: &str = "a long enough password";

fn bin() -> PathBuf {
    if let Ok(b) = std::env::var("TESSERA_BIN") {
        return b.into();
    }
    // target/debug/deps/story-… → target/debug/tessera
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let b = dir.join("tessera");
    assert!(
        b.exists(),
        "{} is missing: run `cargo build -p tessera` (cargo test --workspace builds it)",
        b.display()
    );
    b
}

/// `tessera serve` on a free loopback port, killed on drop.
struct Tessera {
    child: Child,
    url: String,
    data: tempfile::TempDir,
}

impl Drop for Tessera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clean(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars() {
        if k.starts_with("TESSERA_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

impl Tessera {
    fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut child = clean(&mut Command::new(bin()))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        Self { child, url, data }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        let mut child = clean(&mut Command::new(bin()))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `tessera ARGS --data-dir DIR`, its one JSON object.
    fn admin(&self, args: &[&str], stdin: &str) -> Value {
        let mut a = args.to_vec();
        let dir = self.data.path().display().to_string();
        a.extend(["--data-dir", &dir]);
        json(&self.run(&a, &[], stdin))
    }
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A browser without JavaScript: one cookie jar for every origin (all on 127.0.0.1, cookie
/// names differ), redirects followed by hand.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            cookies: HashMap::new(),
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
            let kv = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }

    /// Follows redirects from `first`; (final URL, status, page).
    async fn follow(
        &mut self,
        mut url: String,
        first: (u16, Option<String>, String),
    ) -> (String, u16, String) {
        let (mut status, mut location, mut body) = first;
        for _ in 0..10 {
            let Some(l) = location.take() else {
                return (url, status, body);
            };
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(&l)
                .unwrap()
                .to_string();
            (status, location, body) = self.send(self.http.get(&url)).await;
        }
        panic!("too many redirects at {url}");
    }

    async fn get(&mut self, url: &str) -> (String, u16, String) {
        let first = self.send(self.http.get(url)).await;
        self.follow(url.to_owned(), first).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (String, u16, String) {
        let first = self.send(self.http.post(url).form(form)).await;
        self.follow(url.to_owned(), first).await
    }
}

fn hidden(page: &str, name: &str) -> String {
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

fn origin(url: &str) -> String {
    let u = reqwest::Url::parse(url).unwrap();
    u.origin().ascii_serialization()
}

fn write_tree(root: &Path) {
    let ocean = root.join("datasets/ocean");
    std::fs::create_dir_all(&ocean).unwrap();
    let mut csv = String::from("day,temperature,salinity\n");
    for d in 0..30 {
        csv.push_str(&format!(
            "{d},{:.2},{:.2}\n",
            14.0 + (d as f64 / 5.0).sin() * 3.0,
            35.0 + d as f64 / 30.0
        ));
    }
    std::fs::write(ocean.join("temps.csv"), csv).unwrap();
    std::fs::write(ocean.join("README.txt"), "Ocean temperatures, 30 days.\n").unwrap();
    std::fs::create_dir_all(root.join("datasets/empty")).unwrap();
    // Listed in the catalogue (the portal's token sees it) but readable by nobody else.
    std::fs::create_dir_all(root.join("datasets/restricted")).unwrap();
    std::fs::write(root.join("datasets/restricted/secret.csv"), "x,y\n1,2\n").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_see_identities_transfer_a_dataset_plot_it_and_sign_out_revoking_the_tokens() {
    let deadline = Instant::now() + Duration::from_secs(120);
    let tessera = Tessera::start();
    let base = tessera.url.clone();
    let (datasets_dir, home_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(datasets_dir.path());

    // The operator: a person, the portal and graph clients, two endpoints, a scope, a rule.
    let alice = tessera.admin(
        &[
            "admin",
            "user",
            "add",
            "alice@example.org",
            "--password-stdin",
            "--name",
            "Alice Liddell",
            "--email",
            "alice@example.org",
        ],
        &format!("{PASSWORD}\n"),
    );
    let portal_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let portal_url = format!("http://{}", portal_listener.local_addr().unwrap());
    let portal_client = tessera.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "Research Data Portal",
            "--confidential",
            "--redirect-uri",
            &format!("{portal_url}/callback"),
        ],
        "",
    );
    let graph_client = tessera.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "Graph service",
            "--confidential",
        ],
        "",
    );
    let (portal_id, portal_secret) = (
        portal_client["client_id"].as_str().unwrap().to_owned(),
        portal_client["client_secret"].as_str().unwrap().to_owned(),
    );
    let (graph_id, graph_secret) = (
        graph_client["client_id"].as_str().unwrap().to_owned(),
        graph_client["client_secret"].as_str().unwrap().to_owned(),
    );
    let datasets = tessera.admin(
        &[
            "admin",
            "endpoint",
            "add",
            "--name",
            "Portal datasets",
            "--path",
            &datasets_dir.path().display().to_string(),
            "--owner",
            &portal_id,
        ],
        "",
    );
    let dataset_ep = datasets["id"].as_str().unwrap().to_owned();
    let home = tessera.admin(
        &[
            "admin",
            "endpoint",
            "add",
            "--name",
            "Alice's laptop",
            "--path",
            &home_dir.path().display().to_string(),
            "--owner",
            "alice@example.org",
        ],
        "",
    );
    let home_ep = home["id"].as_str().unwrap().to_owned();
    // The portal's own Transfer client (it owns the dataset endpoint).
    let owner = TransferClient::with_authorizer(
        &base,
        Arc::new(ClientCredentialsAuthorizer::new(
            AuthClient::new(&base, &portal_id, &portal_secret).unwrap(),
            TRANSFER_ALL,
        )),
    )
    .unwrap();
    // The graph reads the dataset over the endpoint's HTTPS access, so its scope depends on
    // the endpoint's https scope.
    let https_server = owner.get_endpoint(&dataset_ep).await.unwrap().https_server;
    assert!(
        https_server.is_some(),
        "the dataset endpoint has no https_server"
    );
    let https_scope = tessera_client::https::https_scope(&dataset_ep);
    let scope_args = vec![
        "scope",
        "create",
        "--suffix",
        "plot",
        "--name",
        "Plot datasets",
        "--description",
        "Draw plots of the portal's datasets",
        "--dependent-scope",
        TRANSFER_ALL,
        "--dependent-scope",
        &https_scope,
    ];
    let scope = json(&tessera.run(
        &scope_args,
        &[
            ("TESSERA_AUTH_URL", &base),
            ("TESSERA_CLIENT_ID", &graph_id),
            ("TESSERA_CLIENT_SECRET", &graph_secret),
        ],
        "",
    ));
    let graph_scope = scope["scope_string"].as_str().unwrap().to_owned();
    assert_eq!(
        graph_scope,
        format!("https://auth.globus.org/scopes/{graph_id}/plot")
    );
    // Everyone signed in may read the datasets (the portal owns the endpoint), except
    // "restricted", which no rule opens.
    for open in ["/datasets/ocean/", "/datasets/empty/"] {
        owner
            .add_access_rule(&dataset_ep, "all_authenticated_users", "", open, "r")
            .await
            .unwrap();
    }

    // The graph and the portal.
    let graph_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let graph_url = format!("http://{}", graph_listener.local_addr().unwrap());
    tokio::spawn(tessera_example_graph::serve(
        graph_listener,
        tessera_example_graph::Config {
            tessera_url: base.clone(),
            client_id: graph_id.clone(),
            client_secret: graph_secret.clone(),
            dataset_endpoint: dataset_ep.clone(),
            scope: None,
            https_server: None,
        },
    ));
    // The portal calls the graph through a recording pass-through (see `recording_proxy`).
    let seen_tokens = Arc::new(Mutex::new(Vec::new()));
    let proxy_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy_listener.local_addr().unwrap());
    tokio::spawn(recording_proxy(
        proxy_listener,
        graph_url.clone(),
        seen_tokens.clone(),
    ));

    tokio::spawn(tessera_example_portal::serve(
        portal_listener,
        tessera_example_portal::Config {
            tessera_url: base.clone(),
            client_id: portal_id.clone(),
            client_secret: portal_secret.clone(),
            public_url: None,
            dataset_endpoint: dataset_ep.clone(),
            dataset_path: "/datasets/".into(),
            graph_url: proxy_url.clone(),
            graph_scope: graph_scope.clone(),
        },
    ));

    let mut b = Browser::new();
    // Signed out: an invitation, and the pages behind sign-in send there.
    let (_, status, page) = b.get(&format!("{portal_url}/")).await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/signin\""), "{page}");

    // Sign in: through Tessera's login and consent pages and back.
    let (url, _, page) = b.get(&format!("{portal_url}/signin")).await;
    assert_eq!(origin(&url), base, "not on Tessera's sign-in page: {url}");
    let authorize = b.cookies.clone();
    assert!(authorize.contains_key("portal_session"));
    let (url, _, page) = b
        .post(
            &format!("{base}/v2/web/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("request", &hidden(&page, "request")),
                ("username", "alice@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(
        page.contains(">Allow</button>"),
        "no consent page at {url}: {page}"
    );
    assert!(
        page.contains("Plot datasets"),
        "the graph scope is not on the consent page: {page}"
    );
    let (url, status, page) = b
        .post(
            &format!("{base}/v2/web/consent"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("request", &hidden(&page, "request")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(
        (url.as_str(), status),
        (format!("{portal_url}/").as_str(), 200),
        "{page}"
    );
    assert_ne!(
        b.cookies["portal_session"], authorize["portal_session"],
        "the session id was not renewed"
    );
    assert!(page.contains("Hello, Alice Liddell"), "{page}");
    assert!(
        page.contains("id=\"username\">alice@example.org<"),
        "{page}"
    );
    assert!(page.contains("id=\"identities\""), "{page}");
    assert!(
        page.contains("<td>alice@example.org</td><td>Alice Liddell</td>"),
        "{page}"
    );
    let csrf = hidden(&page, "csrf");

    // The catalogue.
    let (_, status, page) = b.get(&format!("{portal_url}/datasets")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-name=\"ocean\""), "{page}");
    assert!(page.contains("data-name=\"empty\""), "{page}");
    assert!(page.contains("temps.csv"), "{page}");
    assert!(page.contains("This dataset has no files yet."), "{page}");

    // Transfer to my endpoint: Alice's own endpoints are offered, not the portal's.
    let (_, status, page) = b.get(&format!("{portal_url}/transfer?dataset=ocean")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("value=\"{home_ep}\"")), "{page}");
    assert!(!page.contains(&format!("value=\"{dataset_ep}\"")), "{page}");
    // A forged form (no CSRF token) changes nothing.
    let (_, status, _) = b
        .post(
            &format!("{portal_url}/transfer"),
            &[
                ("dataset", "ocean"),
                ("endpoint", &home_ep),
                ("path", "/~/"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    // No endpoint chosen: the form again with the reason.
    let (_, status, page) = b
        .post(
            &format!("{portal_url}/transfer"),
            &[("csrf", &csrf), ("dataset", "ocean"), ("path", "/~/")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("Choose the endpoint"), "{page}");
    let (url, _, page) = b
        .post(
            &format!("{portal_url}/transfer"),
            &[
                ("csrf", &csrf),
                ("dataset", "ocean"),
                ("endpoint", &home_ep),
                ("path", "/incoming"),
            ],
        )
        .await;
    assert!(
        url.starts_with(&format!("{portal_url}/tasks/")),
        "{url}: {page}"
    );
    let mut page = page;
    while !page.contains("data-status=\"SUCCEEDED\"") {
        assert!(!page.contains("data-status=\"FAILED\""), "{page}");
        assert!(
            page.contains("http-equiv=\"refresh\""),
            "an active task's page must refresh: {page}"
        );
        assert!(
            Instant::now() < deadline,
            "the transfer did not finish: {page}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        page = b.get(&url).await.2;
    }
    assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
    assert!(page.contains("2 of 2 files"), "{page}");
    let copied = home_dir.path().join("incoming/ocean");
    assert_eq!(
        std::fs::read(copied.join("temps.csv")).unwrap(),
        std::fs::read(datasets_dir.path().join("datasets/ocean/temps.csv")).unwrap()
    );
    assert!(copied.join("README.txt").exists());
    // What the person may not read, Transfer refuses them, whatever the portal itself may see.
    let (_, status, page) = b
        .post(
            &format!("{portal_url}/transfer"),
            &[
                ("csrf", &csrf),
                ("dataset", "restricted"),
                ("endpoint", &home_ep),
                ("path", "/incoming"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Transfer refused the copy"), "{page}");
    assert!(!home_dir.path().join("incoming/restricted").exists());

    // The graph: an SVG drawn from the CSV, read with Alice's dependent token.
    let (_, status, page) = b
        .get(&format!("{portal_url}/graph?dataset=ocean&file=temps.csv"))
        .await;
    assert_eq!(status, 200, "{page}");
    let start =
        page.find("data:image/svg+xml;base64,").expect(&page) + "data:image/svg+xml;base64,".len();
    let end = start + page[start..].find('"').unwrap();
    use base64::Engine;
    let svg = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&page[start..end])
            .unwrap(),
    )
    .unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
    assert!(
        svg.contains(">temperature<") && svg.contains(">salinity<"),
        "{svg}"
    );
    // The graph reads as the person: the access rules refuse them "restricted".
    let (_, status, page) = b
        .get(&format!(
            "{portal_url}/graph?dataset=restricted&file=secret.csv"
        ))
        .await;
    assert_eq!(status, 502, "{page}");
    assert!(
        page.contains("You may not read &#x2f;datasets&#x2f;restricted&#x2f;secret.csv."),
        "{page}"
    );
    let seen = seen_tokens.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the portal never called the graph");
    // The graph's own refusals: no token, a token meant for another service (the portal's
    // own Transfer token: introspection tells the graph nothing about it), and paths it will
    // not read even for a good token.
    let plot = |token: Option<String>, path: &str| {
        let mut r = reqwest::Client::new()
            .get(format!("{graph_url}/api/plot"))
            .query(&[("path", path)]);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let csv = "/datasets/ocean/temps.csv";
    assert_eq!(plot(None, csv).await.unwrap().status(), 401);
    let portal_token = AuthClient::new(&base, &portal_id, &portal_secret)
        .unwrap()
        .client_credentials(TRANSFER_ALL)
        .await
        .unwrap()
        .top
        .access_token;
    let r = plot(Some(portal_token), csv).await.unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    for bad in [
        "datasets/x.csv",
        "/datasets/../x.csv",
        "/datasets/ocean/README.txt",
    ] {
        let r = plot(Some(seen[0].clone()), bad).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "BadPath");
    }
    // Sign out: the tokens are revoked. The token the portal sent the graph was active...
    let graph_auth = AuthClient::new(&base, &graph_id, &graph_secret).unwrap();
    for t in &seen {
        assert_eq!(
            graph_auth.introspect(t, None).await.unwrap()["active"],
            true
        );
    }
    // A forged sign-out (no CSRF token) signs nobody out.
    let (_, status, _) = b.post(&format!("{portal_url}/signout"), &[]).await;
    assert_eq!(status, 403);
    let (url, status, page) = b
        .post(&format!("{portal_url}/signout"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (status, url.as_str()),
        (200, format!("{portal_url}/?signed_out=1").as_str())
    );
    assert!(page.contains("You are signed out"), "{page}");
    assert!(!b.cookies.contains_key("portal_session"));
    // Signed out, the catalogue sends to sign-in again (still signed in at Tessera, the
    // person would come straight back: the portal's sign-out is the portal's).
    let (status, location, _) = b.send(b.http.get(format!("{portal_url}/datasets"))).await;
    assert_eq!((status, location.as_deref()), (303, Some("/signin")));
    // ... and is not any more.
    for t in &seen {
        assert_eq!(
            graph_auth.introspect(t, None).await.unwrap()["active"],
            false
        );
    }
    assert_eq!(alice["username"], "alice@example.org");
}

/// A pass-through in front of the graph that keeps the bearer tokens it sees: the test's
/// window on the tokens the portal holds for a person.
async fn recording_proxy(
    listener: tokio::net::TcpListener,
    graph_url: String,
    seen: Arc<Mutex<Vec<String>>>,
) {
    use axum::extract::{RawQuery, State};
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    type S = (String, Arc<Mutex<Vec<String>>>);
    async fn plot(
        State((graph, seen)): State<S>,
        headers: HeaderMap,
        RawQuery(q): RawQuery,
    ) -> axum::response::Response {
        let auth = headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        seen.lock()
            .unwrap()
            .push(auth.trim_start_matches("Bearer ").to_owned());
        let r = reqwest::Client::new()
            .get(format!("{graph}/api/plot?{}", q.unwrap_or_default()))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        let status = axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, [("content-type", ct)], r.bytes().await.unwrap()).into_response()
    }
    let app = axum::Router::new()
        .route("/api/plot", axum::routing::get(plot))
        .with_state((graph_url, seen));
    axum::serve(listener, app).await.unwrap();
}
