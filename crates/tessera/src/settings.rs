//! Settings from flags, `TESSERA_*` environment variables and a TOML file, in that order of
//! precedence, validated once at start with messages that say what to fix.

use crate::cli::{KeyArgs, RetentionArgs, ServeArgs, StoreArgs};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tessera_auth::client_addr::TrustedProxies;
use tessera_auth::config::{Registration, DEFAULT_KEY_ROTATION_S};
use tessera_auth::config::{MAX_TOKEN_LIFETIME_S, MIN_TOKEN_LIFETIME_S};
use tessera_auth::keys::{AccessTokenAlgorithm, MasterKey, SigningAlgorithm};
use tessera_store::maintenance::DEFAULT_AUDIT_RETENTION_S;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8421";
pub const DEFAULT_DATA_DIR: &str = "tessera-data";

/// The configuration file. Unknown keys are errors: a typo must not be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub access_token_lifetime: Option<i64>,
    pub log_format: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub id_token_algorithm: Option<String>,
    pub refresh_token_idle_lifetime: Option<i64>,
    pub dns_resolver: Option<String>,
    pub cleanup_interval: Option<u64>,
    pub metrics_listen: Option<String>,
    pub admin_usernames: Option<Vec<String>>,
    pub master_key_file: Option<PathBuf>,
    pub access_token_algorithm: Option<String>,
    pub key_rotation_interval: Option<i64>,
    pub audit_retention: Option<i64>,
    pub refresh_token_reuse_grace: Option<i64>,
    pub trusted_proxies: Option<Vec<String>>,
    pub registration: Option<String>,
    pub scitoken_lifetime: Option<i64>,
    pub group_sources: Option<crate::group_settings::GroupSourcesFile>,
    pub password_login: Option<bool>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text)
            .with_context(|| format!("{} is not a valid Tessera configuration", path.display()))
    }

    /// The file's text, read as TOML into the known settings (nothing checked beyond types).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

/// Where the database is.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite { data_dir: PathBuf },
    Postgres { url: String },
}

impl Database {
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite { data_dir } => {
                format!("sqlite://{}", data_dir.join("tessera.db").display())
            }
            Self::Postgres { url } => url.clone(),
        }
    }

    /// Creates the data directory (private to this user) when it is SQLite's.
    pub fn prepare(&self) -> Result<()> {
        if let Self::Sqlite { data_dir } = self {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
                    .with_context(|| format!("restricting {}", data_dir.display()))?;
            }
        }
        Ok(())
    }
}

pub fn database(args: &StoreArgs, file: &FileConfig) -> Result<Database> {
    if let Some(url) = args
        .database_url
        .clone()
        .or_else(|| file.database_url.clone())
    {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("database_url must be a postgres:// URL (leave it unset for the embedded SQLite database)");
        }
        return Ok(Database::Postgres { url });
    }
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
    Ok(Database::Sqlite { data_dir })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub database: Database,
    pub public_url: Option<String>,
    pub access_token_lifetime: i64,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    pub id_token_algorithm: SigningAlgorithm,
    pub refresh_token_idle_lifetime: i64,
    /// Seconds a rotated refresh token is still honoured once (0: never).
    pub refresh_token_reuse_grace: i64,
    /// `None`: the system resolver.
    pub dns_resolver: Option<SocketAddr>,
    /// Seconds between background cleanup rounds (expired tokens, codes, sessions).
    pub cleanup_interval: u64,
    /// Where /metrics (and the health checks) are served; none: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Normalised usernames of the audit log's readers.
    pub admin_usernames: Vec<String>,
    /// Seconds audit events are kept (0: for ever).
    pub audit_retention: i64,
    pub keys: KeySettings,
    /// Reverse proxies believed about the client's address.
    pub trusted_proxies: TrustedProxies,
    /// Who may register clients at /v2/oauth2/register (RFC 7591).
    pub registration: Registration,
    /// Group sources for scopes granted by group, and the SciToken lifetime.
    pub group_sources: tessera_auth::group_sources::GroupSourcesConfig,
    /// Whether the sign-in page offers the built-in password form (upstream IdPs only when
    /// not).
    pub password_login: bool,
}

/// How signing keys are sealed, signed with and rotated.
#[derive(Debug)]
pub struct KeySettings {
    pub master_key: MasterKey,
    pub access_token_algorithm: AccessTokenAlgorithm,
    pub key_rotation_interval: i64,
}

/// The master key: TESSERA_MASTER_KEY, else the master-key file, else (SQLite only)
/// `<data-dir>/master.key`, created 0600 on first use. PostgreSQL nodes share keys, so each must
/// be given the same master key: none is made up.
pub fn keys(args: &KeyArgs, file: &FileConfig, db: &Database) -> Result<KeySettings> {
    key_settings(args, file, master_key(args, file, db)?)
}

/// The master key (see [`keys`]): read from the environment or a file, or created in the data
/// directory.
fn master_key(args: &KeyArgs, file: &FileConfig, db: &Database) -> Result<MasterKey> {
    Ok(if let Ok(text) = std::env::var("TESSERA_MASTER_KEY") {
        MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("TESSERA_MASTER_KEY: {e}"))?
    } else if let Some(path) = args
        .master_key_file
        .clone()
        .or(file.master_key_file.clone())
    {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the master key file {}", path.display()))?;
        MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        match db {
            Database::Sqlite { data_dir } => data_dir_master_key(data_dir)?,
            Database::Postgres { .. } => bail!(
                "PostgreSQL needs a master key to encrypt the signing keys at rest, the same on \
                 every node: set master_key_file (--master-key-file, TESSERA_MASTER_KEY_FILE) or \
                 TESSERA_MASTER_KEY to 32 random bytes in base64 (e.g. `openssl rand -base64 32`)"
            ),
        }
    })
}

/// The signing settings around a master key: the access-token algorithm and the rotation
/// interval, checked. No IO.
pub fn key_settings(
    args: &KeyArgs,
    file: &FileConfig,
    master_key: MasterKey,
) -> Result<KeySettings> {
    let alg = args
        .access_token_algorithm
        .clone()
        .or(file.access_token_algorithm.clone())
        .unwrap_or_else(|| "ES256".into());
    let access_token_algorithm = AccessTokenAlgorithm::parse(&alg)
        .with_context(|| format!("access_token_algorithm must be ES256 or EdDSA, not {alg:?}"))?;
    let interval = args
        .key_rotation_interval
        .or(file.key_rotation_interval)
        .unwrap_or(DEFAULT_KEY_ROTATION_S);
    if interval != 0 && !(60..=10 * 365 * 24 * 3600).contains(&interval) {
        bail!("key_rotation_interval must be 0 (never) or between 60 seconds and 10 years, not {interval}");
    }
    Ok(KeySettings {
        master_key,
        access_token_algorithm,
        key_rotation_interval: interval,
    })
}

/// Seconds audit events are kept: 0 (for ever), or from a day to a century. Under a day is
/// refused: `365` is more likely days written as seconds than a wish to keep six minutes.
pub fn audit_retention(args: &RetentionArgs, file: &FileConfig) -> Result<i64> {
    let retention = args
        .audit_retention
        .or(file.audit_retention)
        .unwrap_or(DEFAULT_AUDIT_RETENTION_S);
    if retention != 0 && !(24 * 3600..=100 * 365 * 24 * 3600).contains(&retention) {
        bail!(
            "audit_retention is in seconds: 0 (keep audit events for ever) or between 86400 (a \
             day) and 3153600000 (100 years), not {retention}"
        );
    }
    Ok(retention)
}

fn data_dir_master_key(data_dir: &Path) -> Result<MasterKey> {
    let path = data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            return MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key = MasterKey::generate().map_err(anyhow::Error::msg)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            writeln!(f, "{}", key.encode())
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

pub fn serve(args: &ServeArgs) -> Result<ServeSettings> {
    let file = FileConfig::load(args.store.config.as_deref())?;
    resolve(args, &file, keys)
}

/// A configuration file's text checked as `tessera serve` checks it with no flags, except that
/// a fixed master key stands in for the one `serve` would read or create: no IO, no
/// environment. For the fuzz target and its corpus test (`fuzz/`), and for tests.
pub fn check_file(text: &str) -> Result<ServeSettings> {
    let file = FileConfig::parse(text).context("not a valid Tessera configuration")?;
    let stand_in = MasterKey::parse(&"00".repeat(32)).map_err(anyhow::Error::msg)?;
    resolve(&ServeArgs::default(), &file, |args, file, _| {
        key_settings(args, file, stand_in)
    })
}

/// What `serve` decides from its flags and the parsed file; `keys` settles the signing keys
/// (finding the master key is the one step that reads and creates files).
pub fn resolve(
    args: &ServeArgs,
    file: &FileConfig,
    keys: impl FnOnce(&KeyArgs, &FileConfig, &Database) -> Result<KeySettings>,
) -> Result<ServeSettings> {
    let listen = args
        .listen
        .clone()
        .or(file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.into());
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("listen: {listen:?} is not an address like 127.0.0.1:8421"))?;
    let public_url = args.public_url.clone().or(file.public_url.clone());
    if let Some(url) = &public_url {
        validate_public_url(url)?;
    }
    let lifetime = args
        .access_token_lifetime
        .or(file.access_token_lifetime)
        .unwrap_or(48 * 3600);
    if !(MIN_TOKEN_LIFETIME_S..=MAX_TOKEN_LIFETIME_S).contains(&lifetime) {
        bail!("access_token_lifetime must be between {MIN_TOKEN_LIFETIME_S} and {MAX_TOKEN_LIFETIME_S} seconds, not {lifetime}");
    }
    let log_format = match args
        .log_format
        .clone()
        .or(file.log_format.clone())
        .as_deref()
    {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => bail!("log_format must be text or json, not {other:?}"),
    };
    let max_body_bytes = file.max_body_bytes.unwrap_or(64 * 1024);
    if !(16 * 1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
        bail!("max_body_bytes must be between 16 KiB and 16 MiB");
    }
    let alg = args
        .id_token_algorithm
        .clone()
        .or(file.id_token_algorithm.clone())
        .unwrap_or_else(|| "RS512".into());
    let id_token_algorithm = SigningAlgorithm::parse(&alg)
        .with_context(|| format!("id_token_algorithm must be RS512 or RS256, not {alg:?}"))?;
    let refresh = args
        .refresh_token_idle_lifetime
        .or(file.refresh_token_idle_lifetime)
        .unwrap_or(tessera_core::grant::refresh::DEFAULT_IDLE_LIFETIME_S);
    if !(3600..=5 * 365 * 24 * 3600).contains(&refresh) {
        bail!(
            "refresh_token_idle_lifetime must be between 3600 seconds and 5 years, not {refresh}"
        );
    }
    let refresh_token_reuse_grace =
        refresh_token_reuse_grace(args.refresh_token_reuse_grace, file)?;
    let database = database(&args.store, file)?;
    let keys = keys(&args.keys, file, &database)?;
    let dns_resolver = args
        .dns_resolver
        .clone()
        .or(file.dns_resolver.clone())
        .map(|s| parse_dns_resolver(&s))
        .transpose()?;
    let cleanup_interval = args
        .cleanup_interval
        .or(file.cleanup_interval)
        .unwrap_or(600);
    if !(1..=24 * 3600).contains(&cleanup_interval) {
        bail!("cleanup_interval must be between 1 second and 1 day, not {cleanup_interval}");
    }
    let metrics_listen = args
        .metrics_listen
        .clone()
        .or(file.metrics_listen.clone())
        .map(|m| {
            m.parse::<SocketAddr>().with_context(|| {
                format!("metrics_listen: {m:?} is not an address like 127.0.0.1:9421")
            })
        })
        .transpose()?;
    let audit_retention = audit_retention(&args.retention, file)?;
    if metrics_listen.is_some_and(|m| m == listen && m.port() != 0) {
        bail!("metrics_listen must differ from listen");
    }
    let mut admin_usernames = Vec::new();
    for name in args
        .admin_usernames
        .clone()
        .or(file.admin_usernames.clone())
        .unwrap_or_default()
    {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if tessera_core::identity::validate_username(name).is_err() {
            bail!("admin_usernames: {name:?} is not a username like alice@example.org");
        }
        admin_usernames.push(tessera_core::identity::normalize_username(name));
    }
    let trusted_proxies = trusted_proxies(args, file)?;
    let registration = registration(args.registration.as_deref(), file)?;
    let group_sources = crate::group_settings::group_sources(file)?;
    let password_login = args.password_login.or(file.password_login).unwrap_or(true);
    Ok(ServeSettings {
        group_sources,
        keys,
        password_login,
        registration,
        trusted_proxies,
        listen,
        metrics_listen,
        admin_usernames,
        audit_retention,
        database,
        public_url,
        access_token_lifetime: lifetime,
        log_format,
        max_body_bytes,
        id_token_algorithm,
        refresh_token_idle_lifetime: refresh,
        refresh_token_reuse_grace,
        dns_resolver,
        cleanup_interval,
    })
}

/// Seconds a rotated refresh token is honoured once more: 0 (the default: never; its reuse
/// revokes the family, RFC 9700 §4.14.2) up to 5 minutes. A lost response is retried within
/// seconds; a longer window only gives a thief longer to go unnoticed.
pub fn refresh_token_reuse_grace(flag: Option<i64>, file: &FileConfig) -> Result<i64> {
    let grace = flag
        .or(file.refresh_token_reuse_grace)
        .unwrap_or(tessera_core::grant::refresh::DEFAULT_GRACE_S);
    if !(0..=300).contains(&grace) {
        bail!(
            "refresh_token_reuse_grace must be between 0 (no grace: a reused refresh token \
             revokes its family at once) and 300 seconds, not {grace}"
        );
    }
    Ok(grace)
}

/// Dynamic client registration (RFC 7591): `off` (the default), `open`, or `token` (an initial
/// access token from `tessera admin registration-token create` is required).
pub fn registration(flag: Option<&str>, file: &FileConfig) -> Result<Registration> {
    let value = flag
        .map(str::to_owned)
        .or(file.registration.clone())
        .unwrap_or_else(|| "off".into());
    Registration::parse(value.trim())
        .with_context(|| format!("registration must be off, open or token, not {value:?}"))
}

/// The reverse proxies believed about the client's address: the flag's list, else the file's.
pub fn trusted_proxies(args: &ServeArgs, file: &FileConfig) -> Result<TrustedProxies> {
    TrustedProxies::parse(
        &args
            .trusted_proxies
            .clone()
            .or(file.trusted_proxies.clone())
            .unwrap_or_default(),
    )
    .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))
}

/// `ip:port`, or a bare IP for port 53.
pub fn parse_dns_resolver(s: &str) -> Result<SocketAddr> {
    s.parse::<SocketAddr>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| {
            anyhow::anyhow!(
                "dns_resolver: {s:?} is not a DNS server address like 192.0.2.53:53 (leave it unset for the system resolver)"
            )
        })
}

/// An absolute http(s) URL with a host and no query or fragment.
pub fn validate_public_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .with_context(|| format!("public_url {url:?} must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || url.contains(['?', '#']) || url.chars().any(char::is_whitespace) {
        bail!("public_url {url:?} must have a host and no query, fragment or spaces");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_checked() {
        assert!(validate_public_url("https://auth.example.org").is_ok());
        assert!(validate_public_url("http://127.0.0.1:8421/").is_ok());
        for bad in [
            "auth.example.org",
            "https://",
            "https://x.org/?a=1",
            "ftp://x.org",
        ] {
            assert!(validate_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dns_resolvers_are_addresses() {
        assert_eq!(
            parse_dns_resolver("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(parse_dns_resolver("192.0.2.1").unwrap().port(), 53);
        assert_eq!(parse_dns_resolver("[::1]:53").unwrap().port(), 53);
        for bad in ["", "dns.example.org", "127.0.0.1:99999", "system"] {
            assert!(parse_dns_resolver(bad).is_err(), "{bad}");
        }
        assert!(toml::from_str::<FileConfig>("dns_resolver = \"127.0.0.1:53\"").is_ok());
    }

    #[test]
    fn audit_retention_is_a_year_by_default_zero_keeps_for_ever_and_days_are_refused() {
        let from = |flag: Option<i64>, toml: &str| {
            let file: FileConfig = toml::from_str(toml).unwrap();
            audit_retention(
                &RetentionArgs {
                    audit_retention: flag,
                },
                &file,
            )
        };
        assert_eq!(from(None, "").unwrap(), 31_536_000);
        assert_eq!(from(None, "audit_retention = 0").unwrap(), 0);
        assert_eq!(from(None, "audit_retention = 86400").unwrap(), 86_400);
        // The flag (or its environment variable) wins over the file.
        assert_eq!(
            from(Some(7 * 86_400), "audit_retention = 0").unwrap(),
            604_800
        );
        for bad in [365, 86_399, -1, 100 * 365 * 86_400 + 1] {
            let e = from(Some(bad), "").unwrap_err().to_string();
            assert!(
                e.contains("audit_retention") && e.contains(&bad.to_string()),
                "{e}"
            );
        }
        let e = from(None, "audit_retention = 30").unwrap_err().to_string();
        assert!(e.contains("audit_retention"), "{e}");
    }

    #[test]
    fn refresh_token_reuse_grace_is_none_by_default_and_at_most_five_minutes() {
        let from = |flag: Option<i64>, toml: &str| {
            refresh_token_reuse_grace(flag, &toml::from_str::<FileConfig>(toml).unwrap())
        };
        assert_eq!(from(None, "").unwrap(), 0);
        assert_eq!(from(None, "refresh_token_reuse_grace = 60").unwrap(), 60);
        assert_eq!(
            from(Some(5), "refresh_token_reuse_grace = 60").unwrap(),
            5,
            "the flag (or its environment variable) wins over the file"
        );
        for bad in [-1, 301, 86_400] {
            let e = from(Some(bad), "").unwrap_err().to_string();
            assert!(
                e.contains("refresh_token_reuse_grace") && e.contains(&bad.to_string()),
                "{e}"
            );
        }
    }

    #[test]
    fn trusted_proxies_come_from_the_flag_or_the_file_and_bad_ones_are_named() {
        let from = |flag: &[&str], toml: &str| {
            let file: FileConfig = toml::from_str(toml).unwrap();
            let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(
                ["tessera", "serve"].into_iter().chain(flag.iter().copied()),
            )
            .unwrap();
            let crate::cli::Command::Serve(args) = cli.command else {
                unreachable!()
            };
            trusted_proxies(&args, &file).map_err(|e| e.to_string())
        };
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(from(&[], "").unwrap().is_empty());
        let file = from(&[], "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]").unwrap();
        assert!(file.contains(ip("10.1.2.3")) && file.contains(ip("::1")));
        let flag = from(
            &["--trusted-proxies", "192.0.2.0/24,198.51.100.7"],
            "trusted_proxies = [\"10.0.0.0/8\"]",
        )
        .unwrap();
        assert!(flag.contains(ip("198.51.100.7")) && !flag.contains(ip("10.1.2.3")));
        let e = from(&["--trusted-proxies", "10.0.0.0/8,proxy.example.org"], "").unwrap_err();
        assert!(e.contains("proxy.example.org"), "{e}");
    }

    #[test]
    fn config_files_refuse_unknown_keys() {
        assert!(toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"").is_ok());
        assert!(toml::from_str::<FileConfig>("lisen = \"127.0.0.1:1\"").is_err());
    }

    #[test]
    fn registration_is_off_by_default_and_only_three_values_are_accepted() {
        let file = |t: &str| -> FileConfig { toml::from_str(t).unwrap() };
        assert_eq!(registration(None, &file("")).unwrap(), Registration::Off);
        assert_eq!(
            registration(None, &file("registration = \"open\"")).unwrap(),
            Registration::Open
        );
        assert_eq!(
            registration(Some("token"), &file("registration = \"open\"")).unwrap(),
            Registration::Token
        );
        let e = registration(Some("yes"), &file(""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("off, open or token"), "{e}");
    }
}
