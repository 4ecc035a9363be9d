//! DNS TXT lookups, for proving that a client controls an FQDN. The service sees only the
//! [`TxtLookup`] trait; the server uses [`HickoryTxt`], pointed at the resolver the deployment
//! names (`dns_resolver`) or at the system's (`/etc/resolv.conf`).

use async_trait::async_trait;
use hickory_resolver::config::{
    NameServerConfig, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{Name, ResolveErrorKind, TokioResolver};
use std::net::SocketAddr;
use std::time::Duration;

/// A definitive answer about the TXT records of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtAnswer {
    /// The name exists; these are its TXT records (possibly none), each record's
    /// character-strings joined.
    Records(Vec<String>),
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
}

/// No definitive answer: nothing is known about the name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("the DNS resolver did not answer in time")]
    Timeout,
    #[error("the DNS lookup failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait TxtLookup: Send + Sync {
    /// The TXT records at `fqdn`, an absolute name (no search domains are tried).
    async fn txt(&self, fqdn: &str) -> Result<TxtAnswer, DnsError>;
}

/// Lookups through hickory-resolver. Answers are never cached: a record added after a failed
/// attempt must count at once.
pub struct HickoryTxt {
    resolver: TokioResolver,
}

impl HickoryTxt {
    /// A resolver that asks `server` (UDP, TCP for truncated answers), or the system's
    /// resolvers when `None`. Each query waits `timeout`, and is tried twice.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<Self, String> {
        let mut builder = match server {
            Some(addr) => {
                let mut group = NameServerConfigGroup::new();
                group.push(NameServerConfig::new(addr, Protocol::Udp));
                group.push(NameServerConfig::new(addr, Protocol::Tcp));
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], group),
                    TokioConnectionProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = 2;
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        Ok(Self {
            resolver: builder.build(),
        })
    }
}

#[async_trait]
impl TxtLookup for HickoryTxt {
    async fn txt(&self, fqdn: &str) -> Result<TxtAnswer, DnsError> {
        let mut name =
            Name::from_ascii(fqdn).map_err(|e| DnsError::Failed(format!("bad name: {e}")))?;
        name.set_fqdn(true);
        match self.resolver.txt_lookup(name).await {
            Ok(lookup) => Ok(TxtAnswer::Records(
                lookup
                    .iter()
                    .map(|txt| {
                        txt.txt_data()
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect()
                    })
                    .collect(),
            )),
            Err(e) => match e.kind() {
                ResolveErrorKind::Proto(p) => match p.kind() {
                    ProtoErrorKind::NoRecordsFound { response_code, .. } => match *response_code {
                        ResponseCode::NXDomain => Ok(TxtAnswer::NoSuchName),
                        ResponseCode::NoError => Ok(TxtAnswer::Records(vec![])),
                        other => Err(DnsError::Failed(format!("the resolver answered {other}"))),
                    },
                    ProtoErrorKind::Timeout => Err(DnsError::Timeout),
                    _ => Err(DnsError::Failed(p.to_string())),
                },
                _ => Err(DnsError::Failed(e.to_string())),
            },
        }
    }
}

/// Stands in when no resolver could be set up (no readable system configuration): every
/// lookup fails with the reason, and everything else keeps working.
pub struct NoResolver(pub String);

#[async_trait]
impl TxtLookup for NoResolver {
    async fn txt(&self, _fqdn: &str) -> Result<TxtAnswer, DnsError> {
        Err(DnsError::Failed(self.0.clone()))
    }
}
