//! The command line. Flags take `TESSERA_*` environment variables as fallbacks.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Identity, access and data transfer for research computing"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (Globus Auth API, OAuth2/OIDC).
    // Boxed: the settings outgrew the other commands (clippy::large_enum_variant).
    Serve(Box<ServeArgs>),
    /// Operator bootstrap, straight on the database (works while the server runs).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage scopes as a client (the seed script createscope.py).
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// Get, check and revoke tokens as a client (gettoken.py, minicatokencheck.py).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the calling client itself.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Groups (the Groups API v2), as the calling client or with a groups token.
    Group(GroupArgs),
    /// Copy files or directories between endpoints (the Transfer API): SRC_EP:PATH DST_EP:PATH.
    Transfer(TransferArgs),
    /// List a directory of an endpoint: EP:PATH.
    Ls(LsArgs),
    /// Show, wait for or cancel a transfer task.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Log in as a person (a browser sign-in, PKCE); `transfer`, `ls` and `task` then act as
    /// you.
    Login(LoginArgs),
    /// Revoke and forget the tokens `login` stored.
    Logout(LogoutArgs),
    /// Show who you are logged in as.
    Whoami(WhoamiArgs),
    /// A storage connector: the agent on a storage host that serves its endpoints.
    #[command(subcommand)]
    Connector(ConnectorCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// Run the connector: serve this host's endpoints at --listen to requests the service
    /// authorized, move data directly to and from other connectors, and check in with the
    /// service at --server. Its credentials come from TESSERA_CONNECTOR_ID and
    /// TESSERA_CONNECTOR_SECRET (`tessera admin connector add` prints them).
    Run(ConnectorRunArgs),
}

#[derive(Debug, Args)]
pub struct ConnectorRunArgs {
    /// The service's URL (its /connector/v1/poll).
    #[arg(long)]
    pub server: String,
    /// The address to listen on (e.g. 0.0.0.0:8443).
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// The URL the service and the other connectors reach this one at (http://HOST:PORT: the
    /// same port also serves TLS, which the service and the other connectors use, pinned to
    /// this connector's certificate; https:// to be reached over TLS only).
    #[arg(long)]
    pub public_url: String,
    /// Where the connector keeps its capability key, its reports, and its TLS certificate and
    /// key (made at the first start; their loss makes a new certificate, reported at the next
    /// check-in).
    #[arg(long)]
    pub state_dir: PathBuf,
    #[arg(long = "id", env = "TESSERA_CONNECTOR_ID")]
    pub id: String,
    #[arg(
        long = "secret",
        env = "TESSERA_CONNECTOR_SECRET",
        hide_env_values = true
    )]
    pub secret: String,
}

/// How the transfer commands authenticate: a transfer token, or the client's credentials.
#[derive(Debug, Args)]
pub struct TransferAuth {
    #[command(flatten)]
    pub client: ClientArgs,
    /// A bearer token for transfer.api.globus.org (instead of the client's own credentials).
    #[arg(long, env = "TESSERA_TRANSFER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Without a token or client credentials: the tokens of `tessera login`.
    #[command(flatten)]
    pub tokens: TokenFileArgs,
}

#[derive(Debug, Args)]
pub struct TransferArgs {
    #[command(flatten)]
    pub auth: TransferAuth,
    /// The source: ENDPOINT_ID:PATH.
    pub source: String,
    /// The destination: ENDPOINT_ID:PATH.
    pub destination: String,
    /// Copy a directory and everything under it.
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// Skip files already at the destination that match by: exists, size, mtime or checksum
    /// (or 0-3). Default: copy everything.
    #[arg(long, value_parser = parse_sync_level)]
    pub sync_level: Option<i64>,
    /// Verify each file's checksum after copying (the server's default).
    #[arg(long, overrides_with = "no_verify_checksum")]
    pub verify_checksum: bool,
    /// Do not verify checksums after copying.
    #[arg(long)]
    pub no_verify_checksum: bool,
    /// A label for the task.
    #[arg(long)]
    pub label: Option<String>,
    /// Wait for the task to end; exit 0 only if it SUCCEEDED.
    #[arg(long)]
    pub wait: bool,
}

/// `exists`, `size`, `mtime`, `checksum`, or their numbers 0 to 3.
pub fn parse_sync_level(s: &str) -> Result<i64, String> {
    match s {
        "exists" | "0" => Ok(0),
        "size" | "1" => Ok(1),
        "mtime" | "2" => Ok(2),
        "checksum" | "3" => Ok(3),
        _ => Err("one of exists, size, mtime, checksum (or 0-3)".into()),
    }
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub auth: TransferAuth,
    /// ENDPOINT_ID:PATH (PATH defaults to /).
    pub target: String,
    /// Print the listing document as JSON instead of one line per entry.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Print the task document as JSON.
    Show {
        task_id: String,
        #[command(flatten)]
        auth: TransferAuth,
    },
    /// Wait until the task ends; exit 0 only if it SUCCEEDED.
    Wait {
        task_id: String,
        #[command(flatten)]
        auth: TransferAuth,
    },
    /// Cancel the task; prints the server's answer. Exit 1 when it had already ended.
    Cancel {
        task_id: String,
        #[command(flatten)]
        auth: TransferAuth,
    },
}

#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// A bearer token for groups.api.globus.org (instead of the client's own credentials).
    #[arg(long, env = "TESSERA_GROUPS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// The groups with one of your memberships (active ones unless --statuses).
    List {
        /// Comma-separated statuses: active, invited, pending, rejected, removed, left, declined.
        #[arg(long, default_value = "")]
        statuses: String,
    },
    /// A group with its members (those you may see).
    Show { group: String },
    /// Create a group; you become its admin.
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        parent_id: Option<String>,
    },
    /// Delete a group (admins).
    Delete { group: String },
    /// Membership actions on IDENTITY (an identity id; the calling client's own id when left
    /// out, for accept, decline, join, request-join and leave).
    #[command(name = "member")]
    Member {
        /// add, invite, remove, approve, reject, change-role, accept, decline, join,
        /// request-join, leave.
        action: String,
        group: String,
        identity: Option<String>,
        /// member, manager or admin (add, invite, change-role).
        #[arg(long)]
        role: Option<String>,
    },
}

/// Where the data is: shared by `serve` and `admin`.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// A TOML configuration file.
    #[arg(long, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded SQLite database and the lock file.
    #[arg(long, env = "TESSERA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of the embedded SQLite database.
    #[arg(long, env = "TESSERA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "TESSERA_LISTEN")]
    pub listen: Option<String>,
    /// The URL clients use to reach this server (default: http://<listen address>).
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Access-token lifetime in seconds (default 172800, 48 hours).
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_LIFETIME")]
    pub access_token_lifetime: Option<i64>,
    /// Log format: text or json.
    #[arg(long, env = "TESSERA_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Seconds a refresh token lives unused (default 15811200, 183 days).
    #[arg(long, env = "TESSERA_REFRESH_TOKEN_IDLE_LIFETIME")]
    pub refresh_token_idle_lifetime: Option<i64>,
    /// Seconds a rotated refresh token is still accepted once, for a response lost on the
    /// network (default 0: never; a second use revokes the whole grant). At most 300.
    #[arg(long, env = "TESSERA_REFRESH_TOKEN_REUSE_GRACE")]
    pub refresh_token_reuse_grace: Option<i64>,
    /// ID-token signing algorithm: RS512 (default, what the Globus SDK expects) or RS256.
    #[arg(long, env = "TESSERA_ID_TOKEN_ALGORITHM")]
    pub id_token_algorithm: Option<String>,
    /// The DNS server (ip:port) that verifies client FQDNs (default: the system resolver).
    #[arg(long, env = "TESSERA_DNS_RESOLVER")]
    pub dns_resolver: Option<String>,
    /// Seconds between cleanup rounds deleting expired tokens, codes and sessions (default
    /// 600). With several nodes, each round runs on one of them.
    #[arg(long, env = "TESSERA_CLEANUP_INTERVAL")]
    pub cleanup_interval: Option<u64>,
    /// Address of the operator listener with /metrics, /healthz and /readyz (default: none).
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Usernames that may read the audit log through the API (comma-separated).
    #[arg(long, env = "TESSERA_ADMIN_USERNAMES", value_delimiter = ',')]
    pub admin_usernames: Option<Vec<String>>,
    /// Reverse proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For or
    /// Forwarded header names the client (default: none, the peer is the client).
    #[arg(long, env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Dynamic client registration (RFC 7591) at /v2/oauth2/register: off (default), open,
    /// or token (an initial access token from `tessera admin registration-token create`).
    #[arg(long, env = "TESSERA_REGISTRATION")]
    pub registration: Option<String>,
    /// Whether the sign-in page offers the built-in password form (default true); false leaves
    /// only the upstream identity providers (`tessera admin idp add`).
    #[arg(long, env = "TESSERA_PASSWORD_LOGIN")]
    pub password_login: Option<bool>,
    #[command(flatten)]
    pub retention: RetentionArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// What the cleanup keeps: shared by `serve` and `admin cleanup`.
#[derive(Debug, Args, Clone, Default)]
pub struct RetentionArgs {
    /// Seconds audit events are kept before the cleanup deletes them (default 31536000, 365
    /// days; 0: for ever).
    #[arg(long, env = "TESSERA_AUDIT_RETENTION")]
    pub audit_retention: Option<i64>,
}

/// How signing keys are kept: shared by `serve` and `admin keys`.
#[derive(Debug, Args, Clone, Default)]
pub struct KeyArgs {
    /// A file holding the 256-bit master key that encrypts signing keys at rest (base64 or hex).
    /// TESSERA_MASTER_KEY may hold the key itself. Default on SQLite: <data-dir>/master.key,
    /// created on first start.
    #[arg(long, env = "TESSERA_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// JWT access-token signing algorithm: ES256 (default) or EdDSA.
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_ALGORITHM")]
    pub access_token_algorithm: Option<String>,
    /// Seconds between signing-key rotations (default 2592000, 30 days; 0: never).
    #[arg(long, env = "TESSERA_KEY_ROTATION_INTERVAL")]
    pub key_rotation_interval: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    #[command(subcommand)]
    User(AdminUser),
    #[command(subcommand)]
    Client(AdminClient),
    /// Scopes granted by group: who may get a scope and the capabilities its tokens carry.
    #[command(subcommand)]
    Scope(AdminScope),
    /// Run one cleanup round now (expired tokens, codes, pending requests, sessions, audit
    /// events past the retention); prints what it deleted, or `{"skipped": true}` when another
    /// node is running one.
    Cleanup {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Print audit-log events, newest first, one JSON object a line.
    Audit {
        /// Only events at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z, or Unix
        /// seconds).
        #[arg(long)]
        since: Option<String>,
        /// Only events of this type (sign_in, sign_in_failed, token_issued, token_revoked,
        /// consent_granted, consent_rescinded, client_secret_created, client_secret_deleted,
        /// client_deleted, identity_linked, identity_unlinked, device_authorized, device_denied,
        /// client_registered).
        #[arg(long = "type")]
        event: Option<String>,
        /// At most this many events (1 to 1000, default 100).
        #[arg(long)]
        limit: Option<String>,
        /// Only events older than this event id (the next page).
        #[arg(long)]
        before: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    #[command(subcommand)]
    Keys(AdminKeys),
    /// Transfer endpoints (storage this server exposes through the Transfer API).
    #[command(subcommand)]
    Endpoint(AdminEndpoint),
    #[command(subcommand, name = "registration-token")]
    RegistrationToken(AdminRegistrationToken),
    /// Upstream OpenID Connect identity providers people sign in with.
    #[command(subcommand)]
    Idp(AdminIdp),
    /// Storage connectors (agents on storage hosts; `tessera connector run`).
    #[command(subcommand)]
    Connector(AdminConnector),
}

#[derive(Debug, Subcommand)]
pub enum AdminConnector {
    /// Register a connector; prints one JSON object with its id and its secret (shown this
    /// once; only its hash is stored).
    Add {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the connectors as JSON (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a connector (by id or name) that serves no endpoint.
    Remove {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminIdp {
    /// Add an upstream OpenID Connect IdP: its discovery document is fetched from --issuer now
    /// (and must name exactly that issuer). Register this server at the upstream first, with
    /// the redirect URI <public URL>/v2/web/idp/<id>/callback, where <id> is printed by
    /// `tessera admin idp id --issuer URL`. Reads the client secret from standard input and
    /// prints the IdP as JSON.
    Add {
        /// Shown as "Sign in with NAME" and as the identities' identity_provider_display_name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// Read the client secret from the first line of standard input.
        #[arg(long, required = true)]
        client_secret_stdin: bool,
        /// The domain of its people's usernames (local@DOMAIN; the first is used). Repeatable.
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// Scopes to ask for besides openid (e.g. profile, email). Repeatable.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The claim whose value is the username's local part (default preferred_username).
        #[arg(long)]
        username_claim: Option<String>,
        /// Count the upstream's amr/acr saying MFA as MFA here.
        #[arg(long)]
        trust_mfa: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Print the id (and callback path) an IdP with this issuer gets, before adding it.
    Id {
        #[arg(long)]
        issuer: String,
        /// Accepted like every admin command's; the id needs no database.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the registered IdPs as JSON (secrets never).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an IdP (by id, name or issuer); its people's identities stay.
    Remove {
        idp: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminEndpoint {
    /// Register a host endpoint whose "/" is the existing directory --path; prints the
    /// endpoint document as JSON. The running server sees it at once.
    Add {
        /// The display name.
        #[arg(long)]
        name: String,
        /// The directory on this machine that is the endpoint's "/" (with --connector: an
        /// absolute directory on the connector's host, which this machine never opens).
        #[arg(long)]
        path: PathBuf,
        /// Its owner: a username or a client id.
        #[arg(long)]
        owner: String,
        /// The storage connector (id) that serves it.
        #[arg(long)]
        connector: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change an endpoint's name, directory, owner or force_encryption; prints the endpoint
    /// document.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        path: Option<PathBuf>,
        #[arg(long)]
        owner: Option<String>,
        /// Every transfer to or from the endpoint (or its shares) runs with encrypt_data.
        #[arg(long)]
        force_encryption: Option<bool>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an endpoint (with its access rules, roles and shared endpoints); prints
    /// {"removed": id}.
    Remove {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminRegistrationToken {
    /// Create an initial access token for dynamic client registration (`registration =
    /// "token"`); prints it once, as JSON, with its expiry. Only its hash is stored.
    Create {
        /// How many registrations it allows (default 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..=10000))]
        uses: i64,
        /// Seconds it stays valid (default 86400, a day; at most 31536000).
        #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(i64).range(60..=31_536_000))]
        expires_in: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminKeys {
    /// Add the next signing keys now (ID tokens and access tokens); they are published at once
    /// and sign after the publication lead. Prints the keys and their states as JSON.
    ///
    /// With --now (a compromised key): new keys sign at once and every older key of the family
    /// leaves the JWKS at once; tokens they signed stop verifying. Running servers switch
    /// within their 5 s key poll.
    Rotate {
        /// Replace the keys at once instead of scheduling the next ones.
        #[arg(long)]
        now: bool,
        /// Which keys: id-token (the RSA key of ID tokens), access-token (the keys of JWT
        /// access tokens) or all (default).
        #[arg(long, default_value = "all", value_parser = ["all", "id-token", "access-token"])]
        family: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Print the signing keys and their states (next, current, retired) as JSON.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        keys: KeyArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminUser {
    /// Add a person to the built-in identity provider; prints the identity as JSON.
    Add {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        organization: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminClient {
    /// Register a client; prints client_id (and client_secret, once) as JSON.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, conflicts_with = "native", required_unless_present = "native")]
        confidential: bool,
        #[arg(long)]
        native: bool,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Access tokens for this client's scopes: opaque (default), jwt (RFC 9068) or scitoken
        /// (SciToken/WLCG profile, short-lived).
        #[arg(long, default_value = "opaque", value_parser = ["opaque", "jwt", "scitoken"])]
        access_token_format: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Which server and which client credentials the client-side commands use.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The auth server's base URL.
    #[arg(long, env = "TESSERA_AUTH_URL")]
    pub auth_url: Option<String>,
    #[arg(long, env = "TESSERA_CLIENT_ID")]
    pub client_id: Option<String>,
    #[arg(long, env = "TESSERA_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminScope {
    /// Set (or with --clear remove) a scope's group rule; prints the scope as JSON. On SQLite a
    /// running server sees the change after a restart; use PUT /v2/api/scopes/{id} there.
    Rule {
        /// The scope, by scope string or id.
        scope: String,
        /// A group whose members get the scope: tessera:<group id>, posix:<name> or
        /// ldap:<name> (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// A capability template such as read:/data or write:/home/{username} (repeatable).
        #[arg(long = "capability")]
        capabilities: Vec<String>,
        /// Remove the rule: anyone who consents gets the scope again.
        #[arg(long, conflicts_with_all = ["groups", "capabilities"])]
        clear: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Create a scope owned by the calling client; prints the scope as JSON.
    Create {
        #[arg(long)]
        suffix: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: String,
        /// A scope string this scope depends on (repeatable).
        #[arg(long = "dependent-scope")]
        dependent_scopes: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Client-credentials grant; prints the access token (one line per resource server).
    Get {
        #[arg(required = true)]
        scopes: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Introspect TOKEN; print its username and exit 0 if active, else the reason and exit 1.
    Check {
        token: String,
        /// Require the identity's username to end in @DOMAIN (repeatable: any of them).
        #[arg(long = "require-domain")]
        require_domains: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke TOKEN (RFC 7009).
    Revoke {
        token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// The DNS names of the calling client.
    #[command(subcommand)]
    Fqdn(FqdnCommand),
}

#[derive(Debug, Subcommand)]
pub enum FqdnCommand {
    /// Register FQDN for the calling client: the server looks for a DNS TXT record at FQDN
    /// whose value is the client id. Prints the client as JSON.
    Add {
        fqdn: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove FQDN from the calling client; prints the client as JSON.
    Remove {
        fqdn: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Where `tessera login` keeps tokens.
#[derive(Debug, Args, Clone, Default)]
pub struct TokenFileArgs {
    /// The token file (default: $XDG_CONFIG_HOME/tessera/tokens.json, else
    /// ~/.config/tessera/tokens.json).
    #[arg(long, env = "TESSERA_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server's base URL.
    #[arg(long, env = "TESSERA_AUTH_URL")]
    pub auth_url: Option<String>,
    /// The native app to log in with (default: the seeded Globus CLI app,
    /// 95fdeba8-fac2-42bd-a357-e068d82ff78e, which every Tessera registers on first start).
    #[arg(long, env = "TESSERA_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Print the URL and read the code the sign-in page shows, instead of receiving it on a
    /// local port (for a remote shell).
    #[arg(long)]
    pub no_local_server: bool,
    /// A scope to ask for (repeatable; default: openid, profile, email, view_identity_set,
    /// Transfer and Groups).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Log in again even when tokens are stored.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub tokens: TokenFileArgs,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The server's base URL (default: the only one logged in to).
    #[arg(long, env = "TESSERA_AUTH_URL")]
    pub auth_url: Option<String>,
    #[command(flatten)]
    pub tokens: TokenFileArgs,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// The server's base URL (default: the only one logged in to).
    #[arg(long, env = "TESSERA_AUTH_URL")]
    pub auth_url: Option<String>,
    /// Also list the identities linked with yours.
    #[arg(long)]
    pub linked_identities: bool,
    /// Print the userinfo document as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tokens: TokenFileArgs,
}
