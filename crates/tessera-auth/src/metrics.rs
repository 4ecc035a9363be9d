//! Prometheus metrics: what is counted, the request layer that times every request, and the
//! text exposition served on the metrics listener.
//!
//! Every hot-path update is an atomic add on a counter resolved once (tokens issued, sign-ins)
//! or a label lookup in the `prometheus` crate's read-locked map (requests by route and status).
//! Routes are labelled by their template (`/v2/api/scopes/{id}`), never the raw path, so label
//! cardinality is bounded by the router. Each [`Metrics`] has its own registry: two servers in
//! one process (tests) do not share counts.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::proto::{Counter, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Latency buckets in seconds: the hot paths answer in well under a millisecond, sign-ins take
/// tens of milliseconds (argon2id).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The grants tokens are issued by, as metric labels and audit details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    DependentToken,
    /// RFC 8628.
    DeviceCode,
}

impl GrantKind {
    const ALL: [GrantKind; 5] = [
        Self::ClientCredentials,
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::DependentToken,
        Self::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::DependentToken => "dependent_token",
            Self::DeviceCode => "device_code",
        }
    }
}

/// Why tokens were revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// RFC 7009, by the client (with the tokens of a revoked refresh token's grant).
    Revocation,
    /// An authorization code was presented twice: its family dies.
    CodeReplayed,
    /// A rotated refresh token was presented again (after the grace window, if one is set): its
    /// family dies.
    RefreshReused,
    /// A rotation's answer was lost and the old refresh token came back: its children die.
    RotationRepeated,
    /// The user rescinded the consent the tokens came from.
    ConsentRescinded,
}

impl RevokeReason {
    const ALL: [RevokeReason; 5] = [
        Self::Revocation,
        Self::CodeReplayed,
        Self::RefreshReused,
        Self::RotationRepeated,
        Self::ConsentRescinded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::CodeReplayed => "code_replayed",
            Self::RefreshReused => "refresh_reused",
            Self::RotationRepeated => "rotation_repeated",
            Self::ConsentRescinded => "consent_rescinded",
        }
    }
}

/// How a sign-in attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInResult {
    Succeeded,
    /// Unknown user or wrong password.
    Failed,
    /// Refused before the password was checked: too many recent failures.
    Throttled,
}

impl SignInResult {
    const ALL: [SignInResult; 3] = [Self::Succeeded, Self::Failed, Self::Throttled];

    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Throttled => "throttled",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    /// Requests by method, route template and status; its `_count` is the request counter.
    http: HistogramVec,
    /// Access tokens issued, by grant (index: `GrantKind::ALL`).
    access_issued: Vec<IntCounter>,
    /// Refresh tokens issued, by grant.
    refresh_issued: Vec<IntCounter>,
    revoked: Vec<IntCounter>,
    sign_ins: Vec<IntCounter>,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http = HistogramVec::new(
            HistogramOpts::new(
                "tessera_http_request_duration_seconds",
                "HTTP requests by method, route template and status, and how long they took",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(http.clone()))?;
        let issued = IntCounterVec::new(
            Opts::new(
                "tessera_tokens_issued_total",
                "Tokens issued, by grant type and token type",
            ),
            &["grant_type", "token_type"],
        )?;
        registry.register(Box::new(issued.clone()))?;
        let resolve = |v: &IntCounterVec, labels: &[&str]| v.get_metric_with_label_values(labels);
        let mut access_issued = Vec::new();
        let mut refresh_issued = Vec::new();
        for g in GrantKind::ALL {
            access_issued.push(resolve(&issued, &[g.as_str(), "access_token"])?);
            refresh_issued.push(resolve(&issued, &[g.as_str(), "refresh_token"])?);
        }
        let revoked_vec = IntCounterVec::new(
            Opts::new("tessera_tokens_revoked_total", "Tokens revoked, by reason"),
            &["reason"],
        )?;
        registry.register(Box::new(revoked_vec.clone()))?;
        let revoked = RevokeReason::ALL
            .iter()
            .map(|r| resolve(&revoked_vec, &[r.as_str()]))
            .collect::<Result<_, _>>()?;
        let sign_in_vec = IntCounterVec::new(
            Opts::new(
                "tessera_sign_ins_total",
                "Password sign-ins at the built-in identity provider, by result",
            ),
            &["result"],
        )?;
        registry.register(Box::new(sign_in_vec.clone()))?;
        let sign_ins = SignInResult::ALL
            .iter()
            .map(|r| resolve(&sign_in_vec, &[r.as_str()]))
            .collect::<Result<_, _>>()?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            http,
            access_issued,
            refresh_issued,
            revoked,
            sign_ins,
        })
    }

    pub fn issued(&self, grant: GrantKind, access: u64, refresh: u64) {
        let i = GrantKind::ALL.iter().position(|g| *g == grant).unwrap_or(0);
        if let (Some(a), Some(r)) = (self.access_issued.get(i), self.refresh_issued.get(i)) {
            a.inc_by(access);
            r.inc_by(refresh);
        }
    }

    pub fn revoked(&self, reason: RevokeReason, n: u64) {
        let i = RevokeReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        if let Some(c) = self.revoked.get(i) {
            c.inc_by(n);
        }
    }

    pub fn sign_in(&self, result: SignInResult) {
        let i = SignInResult::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        if let Some(c) = self.sign_ins.get(i) {
            c.inc();
        }
    }

    fn observe(&self, method: &Method, route: &str, status: StatusCode, seconds: f64) {
        let method = match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::DELETE => "DELETE",
            Method::PATCH => "PATCH",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        if let Ok(h) = self
            .http
            .get_metric_with_label_values(&[method, route, status.as_str()])
        {
            h.observe(seconds);
        }
    }
}

/// The request layer: times the request, labels it with its route template, and makes the
/// client's address ([`crate::client_addr`]) known to the audit log and the throttle for its duration.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    // Unmatched paths share one label: a scanner must not create a series per path.
    let route = request.extensions().get::<MatchedPath>().cloned();
    // The one place that reads the request's address (see `client_addr`).
    let addr = state.config.trusted_proxies.of(&request);
    let response = crate::client_addr::scope(addr, next.run(request)).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = response.status();
    if status.is_server_error() {
        // Request spans are at debug level (see `http::router`): this is what says where.
        tracing::warn!(%method, route, status = status.as_u16(), "request failed");
    }
    state
        .metrics
        .observe(&method, route, status, started.elapsed().as_secs_f64());
    response
}

fn counter_family(name: &str, help: &str, samples: &[(&[(&str, &str)], u64)]) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name.to_owned());
    family.set_help(help.to_owned());
    family.set_field_type(MetricType::COUNTER);
    for (labels, value) in samples {
        let mut metric = Metric::default();
        metric.set_label(
            labels
                .iter()
                .map(|(k, v)| {
                    let mut l = LabelPair::default();
                    l.set_name((*k).to_owned());
                    l.set_value((*v).to_owned());
                    l
                })
                .collect(),
        );
        let mut c = Counter::default();
        c.set_value(*value as f64);
        metric.set_counter(c);
        family.mut_metric().push(metric);
    }
    family
}

/// Everything in the Prometheus text exposition format (version 0.0.4).
pub fn render(state: &AppState) -> Result<String, prometheus::Error> {
    let mut families = state.metrics.registry.gather();
    let caches = [
        ("client", &state.clients.stats),
        ("token", &state.tokens.stats),
        ("scope", &state.scopes.stats),
        ("identity", &state.identities.stats),
        ("introspection_answer", &state.answers.stats),
    ];
    let mut samples: Vec<(&[(&str, &str)], u64)> = Vec::new();
    let labels: Vec<[(&str, &str); 2]> = caches
        .iter()
        .flat_map(|(name, _)| {
            [
                [("cache", *name), ("result", "hit")],
                [("cache", *name), ("result", "miss")],
            ]
        })
        .collect();
    for (i, (_, stats)) in caches.iter().enumerate() {
        samples.push((&labels[2 * i], stats.hits()));
        samples.push((&labels[2 * i + 1], stats.misses()));
    }
    families.push(counter_family(
        "tessera_cache_requests_total",
        "Cache lookups by cache and result (hit: answered from memory; miss: read from the database)",
        &samples,
    ));
    families.push(counter_family(
        "tessera_audit_events_dropped_total",
        "Audit events lost because the audit queue was full",
        &[(&[], state.audit.dropped())],
    ));
    families.sort_by(|a, b| a.name().cmp(b.name()));
    let mut out = Vec::new();
    TextEncoder::new().encode(&families, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `GET /metrics` on the metrics listener.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match render(&state) {
        Ok(body) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
