//! Key rotation under load, measured: the driver of `bench/rotation.sh`.
//!
//! For a fixed time, several workers get JWT access tokens by client credentials (alternating
//! between the nodes given) and validate each one at once with [`tessera_guard::Guard`], as a
//! resource server would: offline, against the JWKS it fetched, fetching it again on an unknown
//! `kid`. ID-token workers (when a username is given) sign in once, then repeat the
//! authorization-code flow on their session and verify every ID token twice: as the Globus SDK
//! does (a fresh JWKS right after the exchange, `keys[0]`, no `kid` matching) and as a caching
//! OIDC client does (its JWKS until a `kid` is unknown). The first time a node signs with a key,
//! every node's `/jwk.json` is read directly and must publish that key.
//!
//! The resource server and the SDK reach the nodes through the deployment's public URL, which
//! this program serves itself: a round-robin HTTP proxy to the nodes (a load balancer), so that
//! JWKS fetches land on every node in turn. Start the nodes with `--public-url` naming it.
//!
//! Counts issued tokens, validations, failures and the distinct `kid`s seen; prints a summary
//! and exits 1 if any validation failed or fewer than `ROTATION_MIN_KIDS` keys signed.
//!
//! ```sh
//! ROTATION_NODES=http://127.0.0.1:8421,http://127.0.0.1:8422 ROTATION_PUBLIC_LISTEN=127.0.0.1:8420 \
//! ROTATION_CLIENT_ID=<portal> ROTATION_CLIENT_SECRET=<secret> ROTATION_SCOPE=<scope of a jwt resource server> \
//! ROTATION_RS_ID=<resource server> ROTATION_RS_SECRET=<secret> \
//! ROTATION_USERNAME=alice@example.org ROTATION_PASSWORD=<password> ROTATION_REDIRECT_URI=<portal's redirect URI> \
//! cargo run --release -p tessera-guard --example rotation_load
//! ```

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_guard::Guard;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}: {v:?} is not a valid value")),
        Err(_) => Ok(default),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Access,
    Id,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Self::Access => "access-token",
            Self::Id => "ID-token",
        }
    }
}

#[derive(Debug)]
struct Seen {
    first: f64,
    last: f64,
    count: u64,
    nodes: BTreeSet<usize>,
}

#[derive(Default)]
struct Stats {
    at_issued: AtomicU64,
    at_valid: AtomicU64,
    at_failed: AtomicU64,
    at_issue_failed: AtomicU64,
    id_issued: AtomicU64,
    id_sdk_failed: AtomicU64,
    id_kid_failed: AtomicU64,
    id_flow_failed: AtomicU64,
    cross_node_missing: AtomicU64,
    cross_node_checks: AtomicU64,
    kids: Mutex<BTreeMap<(Family, String), Seen>>,
    notes: Mutex<Vec<String>>,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

struct Ctx {
    name: String,
    nodes: Vec<String>,
    public: String,
    client_id: String,
    client_secret: String,
    scope: String,
    login: Option<(String, String, String)>,
    http: reqwest::Client,
    guard: Guard,
    started: Instant,
    deadline: Instant,
    stats: Stats,
}

impl Ctx {
    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Keeps the first failures for the summary.
    fn note(&self, what: String) {
        let line = format!("{:7.2} s  {what}", self.elapsed());
        eprintln!("[{}] FAILURE {line}", self.name);
        let mut notes = self.notes();
        if notes.len() < 20 {
            notes.push(line);
        }
    }

    fn notes(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.stats.notes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn kids(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Family, String), Seen>> {
        self.stats.kids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `node` signed with `kid`; the first time, every node must publish it.
    async fn saw(&self, family: Family, kid: &str, node: usize) {
        let t = self.elapsed();
        let first_from_node = {
            let mut kids = self.kids();
            let seen = kids
                .entry((family, kid.to_owned()))
                .or_insert_with(|| Seen {
                    first: t,
                    last: t,
                    count: 0,
                    nodes: BTreeSet::new(),
                });
            seen.count += 1;
            seen.last = t;
            seen.nodes.insert(node)
        };
        if first_from_node {
            for (i, base) in self.nodes.iter().enumerate() {
                bump(&self.stats.cross_node_checks);
                match fetch_jwks(&self.http, &format!("{base}/jwk.json")).await {
                    Ok(jwks) if jwks.iter().any(|k| k["kid"] == kid) => {}
                    Ok(_) => {
                        bump(&self.stats.cross_node_missing);
                        self.note(format!(
                            "node {node} signs {} tokens with {kid}, which node {i} does not publish",
                            family.name()
                        ));
                    }
                    Err(e) => {
                        bump(&self.stats.cross_node_missing);
                        self.note(format!("node {i}'s JWKS could not be read: {e}"));
                    }
                }
            }
        }
    }
}

fn kid_of(jwt: &str) -> Option<String> {
    jsonwebtoken::decode_header(jwt).ok()?.kid
}

async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<Vec<Value>, String> {
    let v: Value = http
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    match v.get("keys").and_then(Value::as_array) {
        Some(keys) => Ok(keys.clone()),
        None => Err("no keys in the JWKS".into()),
    }
}

/// POSTs `form` to node `node`'s token endpoint as the confidential client and returns `field`
/// of a successful answer; a failure is noted and gives `None`.
async fn token_field(
    ctx: &Ctx,
    http: &reqwest::Client,
    node: usize,
    form: &[(&str, &str)],
    field: &str,
) -> Option<String> {
    let answer = http
        .post(format!("{}/v2/oauth2/token", ctx.nodes[node]))
        .basic_auth(&ctx.client_id, Some(&ctx.client_secret))
        .form(form)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => r
            .json::<Value>()
            .await
            .ok()
            .and_then(|v| v[field].as_str().map(str::to_owned)),
        Ok(r) => {
            ctx.note(format!(
                "node {node}: the token endpoint ({}) answered {}",
                form[0].1,
                r.status()
            ));
            None
        }
        Err(e) => {
            ctx.note(format!(
                "node {node}: the token endpoint ({}) failed: {e}",
                form[0].1
            ));
            None
        }
    }
}

/// Gets JWT access tokens and validates each with the guard, until the deadline.
async fn access_worker(ctx: Arc<Ctx>, worker: usize) {
    let mut turn = worker;
    while Instant::now() < ctx.deadline {
        let node = turn % ctx.nodes.len();
        turn += 1;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", ctx.scope.as_str()),
        ];
        let token = token_field(&ctx, &ctx.http, node, &form, "access_token").await;
        let Some((token, kid)) = token.and_then(|t| kid_of(&t).map(|k| (t, k))) else {
            bump(&ctx.stats.at_issue_failed);
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        bump(&ctx.stats.at_issued);
        match ctx.guard.validate(&token).await {
            Ok(info) if info.scopes.iter().any(|s| *s == ctx.scope) => {
                bump(&ctx.stats.at_valid);
            }
            Ok(_) => {
                bump(&ctx.stats.at_failed);
                ctx.note(format!(
                    "node {node}, kid {kid}: valid, but without the scope"
                ));
            }
            Err(e) => {
                bump(&ctx.stats.at_failed);
                ctx.note(format!(
                    "node {node}, kid {kid}: the guard refused a fresh access token: {e}"
                ));
            }
        }
        ctx.saw(Family::Access, &kid, node).await;
    }
}

/// A browser of one: cookies, the sign-in and consent forms, no redirects followed blindly.
struct Browser {
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn remember(&mut self, headers: &HeaderMap) {
        for c in headers.get_all(header::SET_COOKIE) {
            let Ok(c) = c.to_str() else { continue };
            let kv = c.split(';').next().unwrap_or("");
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            if c.contains("Max-Age=0") {
                self.cookies.remove(k.trim());
            } else {
                self.cookies.insert(k.trim().to_owned(), v.to_owned());
            }
        }
    }

    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, HeaderMap, String), String> {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let r = request
            .header(header::COOKIE, jar.join("; "))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let (status, headers) = (r.status(), r.headers().clone());
        self.remember(&headers);
        let text = r.text().await.map_err(|e| e.to_string())?;
        Ok((status, headers, text))
    }

    /// A code for the login client, from `node`: signs in and allows the first time, then the
    /// session and the remembered consent give one at once.
    async fn code(
        &mut self,
        ctx: &Ctx,
        http: &reqwest::Client,
        node: &str,
    ) -> Result<String, String> {
        let Some((username, password, redirect_uri)) = &ctx.login else {
            return Err("no login configured".into());
        };
        let mut reply = self
            .send(http.get(format!("{node}/v2/oauth2/authorize")).query(&[
                ("client_id", ctx.client_id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", redirect_uri.as_str()),
                ("scope", "openid profile email"),
                ("state", "rotation"),
            ]))
            .await?;
        for _ in 0..10 {
            let (status, headers, text) = &reply;
            if status.is_redirection() {
                let loc = headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or("a redirect without a location")?;
                if loc.starts_with(redirect_uri.as_str()) {
                    let url = reqwest::Url::parse(loc).map_err(|e| e.to_string())?;
                    return url
                        .query_pairs()
                        .find(|(k, _)| k == "code")
                        .map(|(_, v)| v.into_owned())
                        .ok_or_else(|| format!("no code in {loc}"));
                }
                let path = loc.strip_prefix(&ctx.public).unwrap_or(loc);
                if !path.starts_with('/') {
                    return Err(format!("a redirect elsewhere: {loc}"));
                }
                reply = self.send(http.get(format!("{node}{path}"))).await?;
            } else if text.contains(">Sign in</button>") {
                let form = [
                    ("csrf", hidden(text, "csrf")?),
                    ("request", hidden(text, "request")?),
                    ("username", username.clone()),
                    ("password", password.clone()),
                ];
                reply = self
                    .send(http.post(format!("{node}/v2/web/login")).form(&form))
                    .await?;
            } else if text.contains(">Allow</button>") {
                let form = [
                    ("csrf", hidden(text, "csrf")?),
                    ("request", hidden(text, "request")?),
                    ("decision", "allow".to_owned()),
                ];
                reply = self
                    .send(http.post(format!("{node}/v2/web/consent")).form(&form))
                    .await?;
            } else {
                let start: String = text.chars().take(200).collect();
                return Err(format!("unexpected answer {status}: {start}"));
            }
        }
        Err("too many steps".into())
    }
}

/// The value of hidden input `name` of a page.
fn hidden(page: &str, name: &str) -> Result<String, String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .ok_or_else(|| format!("no {name} in the page"))?
        + marker.len();
    let end = start + page[start..].find('"').ok_or("an unterminated value")?;
    Ok(page[start..end]
        .replace("&#x2f;", "/")
        .replace("&#x3d;", "=")
        .replace("&amp;", "&"))
}

fn rsa_key(jwk: &Value) -> Option<DecodingKey> {
    if jwk["kty"] != "RSA" {
        return None;
    }
    DecodingKey::from_rsa_components(jwk["n"].as_str()?, jwk["e"].as_str()?).ok()
}

/// Gets ID tokens by the authorization-code flow and verifies each as the SDK and as a
/// caching OIDC client would, until the deadline.
async fn id_worker(ctx: Arc<Ctx>, worker: usize) {
    // Redirects are part of the flow: the browser reads them itself.
    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            ctx.note(format!("no HTTP client: {e}"));
            return;
        }
    };
    let mut browser = Browser {
        cookies: BTreeMap::new(),
    };
    let mut cache: HashMap<String, DecodingKey> = HashMap::new();
    let mut validation = Validation::new(Algorithm::RS512);
    validation.set_audience(&[&ctx.client_id]);
    validation.set_issuer(&[&ctx.public]);
    validation.leeway = 300; // the SDK's
    let Some((_, _, redirect_uri)) = ctx.login.clone() else {
        return;
    };
    let mut turn = worker;
    while Instant::now() < ctx.deadline {
        let (a, b) = (turn % ctx.nodes.len(), (turn + 1) % ctx.nodes.len());
        turn += 1;
        let code = match browser.code(&ctx, &http, &ctx.nodes[a]).await {
            Ok(c) => c,
            Err(e) => {
                bump(&ctx.stats.id_flow_failed);
                ctx.note(format!("node {a}: no authorization code: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ];
        let id_token = token_field(&ctx, &http, b, &form, "id_token").await;
        let Some((id_token, kid)) = id_token.and_then(|t| kid_of(&t).map(|k| (t, k))) else {
            bump(&ctx.stats.id_flow_failed);
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        bump(&ctx.stats.id_issued);
        // The Globus SDK: the JWKS fetched right after the exchange, its first key.
        match fetch_jwks(&http, &format!("{}/jwk.json", ctx.public)).await {
            Ok(keys) => {
                let first = keys.first().and_then(rsa_key);
                let ok = first.is_some_and(|k| {
                    jsonwebtoken::decode::<Value>(&id_token, &k, &validation).is_ok()
                });
                if !ok {
                    bump(&ctx.stats.id_sdk_failed);
                    let first_kid = keys.first().map_or(Value::Null, |k| k["kid"].clone());
                    ctx.note(format!(
                        "node {b}: an ID token signed with {kid} does not verify with keys[0] ({first_kid}) of the JWKS fetched right after"
                    ));
                }
            }
            Err(e) => {
                bump(&ctx.stats.id_sdk_failed);
                ctx.note(format!("the JWKS could not be fetched: {e}"));
            }
        }
        // A caching client: its keys until a kid is unknown.
        if !cache.contains_key(&kid) {
            if let Ok(keys) = fetch_jwks(&http, &format!("{}/jwk.json", ctx.public)).await {
                cache = keys
                    .iter()
                    .filter_map(|k| Some((k["kid"].as_str()?.to_owned(), rsa_key(k)?)))
                    .collect();
            }
        }
        let ok = cache
            .get(&kid)
            .is_some_and(|k| jsonwebtoken::decode::<Value>(&id_token, k, &validation).is_ok());
        if !ok {
            bump(&ctx.stats.id_kid_failed);
            ctx.note(format!(
                "node {b}: an ID token signed with {kid} does not verify by kid"
            ));
        }
        ctx.saw(Family::Id, &kid, b).await;
    }
}

/// The deployment's public URL: every request goes to the next node in turn.
#[derive(Clone)]
struct Proxy {
    nodes: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    jwks_fetches: Arc<Vec<AtomicU64>>,
    http: reqwest::Client,
}

async fn forward(State(p): State<Proxy>, request: Request) -> Response {
    let i = p.next.fetch_add(1, Ordering::Relaxed) % p.nodes.len();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if parts.uri.path() == "/jwk.json" {
        if let Some(c) = p.jwks_fetches.get(i) {
            bump(c);
        }
    }
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut headers = parts.headers;
    for h in [header::HOST, header::CONTENT_LENGTH, header::CONNECTION] {
        headers.remove(h);
    }
    let answer = p
        .http
        .request(parts.method, format!("{}{path}", p.nodes[i]))
        .headers(headers)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(r) => {
            let status = r.status();
            let mut headers = r.headers().clone();
            for h in [
                header::CONTENT_LENGTH,
                header::TRANSFER_ENCODING,
                header::CONNECTION,
            ] {
                headers.remove(h);
            }
            match r.bytes().await {
                Ok(b) => (status, headers, b).into_response(),
                Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<bool, String> {
    let name = env_or("ROTATION_NAME", "tessera".to_owned())?;
    let nodes: Vec<String> = env("ROTATION_NODES")?
        .split(',')
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if nodes.is_empty() {
        return Err("ROTATION_NODES names no node".into());
    }
    let listen = env("ROTATION_PUBLIC_LISTEN")?;
    let seconds: u64 = env_or("ROTATION_SECONDS", 200)?;
    let workers: usize = env_or("ROTATION_WORKERS", 4)?;
    let id_workers: usize = env_or("ROTATION_ID_WORKERS", 1)?;
    let min_kids: usize = env_or("ROTATION_MIN_KIDS", 3)?;
    let login = match std::env::var("ROTATION_USERNAME") {
        Ok(u) if id_workers > 0 => {
            Some((u, env("ROTATION_PASSWORD")?, env("ROTATION_REDIRECT_URI")?))
        }
        _ => None,
    };
    let id_workers = if login.is_some() { id_workers } else { 0 };

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let proxy = Proxy {
        nodes: Arc::new(nodes.clone()),
        next: Arc::new(AtomicUsize::new(0)),
        jwks_fetches: Arc::new(nodes.iter().map(|_| AtomicU64::new(0)).collect()),
        http: http.clone(),
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let public = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let router = Router::new().fallback(forward).with_state(proxy.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("the proxy stopped: {e}");
        }
    });

    let guard = Guard::builder(
        &public,
        &env("ROTATION_RS_ID")?,
        &env("ROTATION_RS_SECRET")?,
    )
    .build()
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let ctx = Arc::new(Ctx {
        name: name.clone(),
        nodes: nodes.clone(),
        public: public.clone(),
        client_id: env("ROTATION_CLIENT_ID")?,
        client_secret: env("ROTATION_CLIENT_SECRET")?,
        scope: env("ROTATION_SCOPE")?,
        login,
        http,
        guard,
        started,
        deadline: started + Duration::from_secs(seconds),
        stats: Stats::default(),
    });
    eprintln!(
        "[{name}] {seconds} s: {workers} access-token workers, {id_workers} ID-token workers, {} node(s), public URL {public}",
        nodes.len()
    );
    let mut tasks = Vec::new();
    for w in 0..workers {
        tasks.push(tokio::spawn(access_worker(ctx.clone(), w)));
    }
    for w in 0..id_workers {
        tasks.push(tokio::spawn(id_worker(ctx.clone(), w)));
    }
    let progress = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = &ctx.stats;
                let (a, i) = {
                    let kids = ctx.kids();
                    (
                        kids.keys().filter(|(f, _)| *f == Family::Access).count(),
                        kids.keys().filter(|(f, _)| *f == Family::Id).count(),
                    )
                };
                eprintln!(
                    "[{}] {:5.0} s: access tokens {} validated, {} failed; ID tokens {} ({} failed); kids: {a} access, {i} ID",
                    ctx.name,
                    ctx.elapsed(),
                    get(&s.at_valid),
                    get(&s.at_failed) + get(&s.at_issue_failed),
                    get(&s.id_issued),
                    get(&s.id_sdk_failed) + get(&s.id_kid_failed) + get(&s.id_flow_failed),
                );
            }
        })
    };
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    progress.abort();
    Ok(report(&ctx, &proxy, id_workers > 0, min_kids))
}

/// Prints the summary; true when the run passed.
fn report(ctx: &Ctx, proxy: &Proxy, ids: bool, min_kids: usize) -> bool {
    let s = &ctx.stats;
    let duration = ctx.elapsed();
    let kids = ctx.kids();
    let count = |f: Family| kids.keys().filter(|(k, _)| *k == f).count();
    let (access_kids, id_kids) = (count(Family::Access), count(Family::Id));
    let failed_validations = get(&s.at_failed) + get(&s.id_sdk_failed) + get(&s.id_kid_failed);
    let other_failures =
        get(&s.at_issue_failed) + get(&s.id_flow_failed) + get(&s.cross_node_missing);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rotation [{}]: {:.0} s, {} node(s)",
        ctx.name,
        duration,
        ctx.nodes.len()
    );
    let _ = writeln!(
        out,
        "  JWT access tokens: {} issued, {} validated by tessera-guard, {} failed validations, {} failed requests ({:.0}/s)",
        get(&s.at_issued),
        get(&s.at_valid),
        get(&s.at_failed),
        get(&s.at_issue_failed),
        get(&s.at_issued) as f64 / duration.max(1.0)
    );
    if ids {
        let _ = writeln!(
            out,
            "  ID tokens: {} issued, {} failed keys[0] (SDK) validations, {} failed kid validations, {} failed flows ({:.1}/s)",
            get(&s.id_issued),
            get(&s.id_sdk_failed),
            get(&s.id_kid_failed),
            get(&s.id_flow_failed),
            get(&s.id_issued) as f64 / duration.max(1.0)
        );
    }
    let jwks: Vec<String> = proxy
        .jwks_fetches
        .iter()
        .map(|c| get(c).to_string())
        .collect();
    let _ = writeln!(
        out,
        "  cross-node checks (a key's first use, every node's JWKS): {}, missing {}; guard JWKS fetches {}; JWKS requests per node through the public URL [{}]",
        get(&s.cross_node_checks),
        get(&s.cross_node_missing),
        ctx.guard.jwks_fetches(),
        jwks.join(", ")
    );
    let mut by_time: Vec<_> = kids.iter().collect();
    by_time.sort_by(|((fa, _), a), ((fb, _), b)| fa.cmp(fb).then(a.first.total_cmp(&b.first)));
    for ((family, kid), seen) in by_time {
        let nodes: Vec<String> = seen.nodes.iter().map(usize::to_string).collect();
        let _ = writeln!(
            out,
            "  {:>12} kid {kid}: {:8} tokens, {:6.1} s to {:6.1} s, from node(s) {}",
            family.name(),
            seen.count,
            seen.first,
            seen.last,
            nodes.join(",")
        );
    }
    let mut pass = failed_validations == 0 && other_failures == 0;
    let mut verdict = Vec::new();
    if access_kids < min_kids {
        pass = false;
        verdict.push(format!(
            "only {access_kids} access-token keys signed (need {min_kids})"
        ));
    }
    if ids && id_kids < min_kids {
        pass = false;
        verdict.push(format!(
            "only {id_kids} ID-token keys signed (need {min_kids})"
        ));
    }
    let _ = writeln!(
        out,
        "  result: {} — {failed_validations} failed validations, {other_failures} other failures, {} access-token and {} ID-token rotations under load{}",
        if pass { "PASS" } else { "FAIL" },
        access_kids.saturating_sub(1),
        id_kids.saturating_sub(1),
        if verdict.is_empty() {
            String::new()
        } else {
            format!("; {}", verdict.join("; "))
        }
    );
    let notes = ctx.notes();
    if !notes.is_empty() {
        let _ = writeln!(out, "  first failures:");
        for n in notes.iter() {
            let _ = writeln!(out, "    {n}");
        }
    }
    print!("{out}");
    pass
}
