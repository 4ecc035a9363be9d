//! The SQL of every repository, written once and expanded for SQLite and PostgreSQL.
//!
//! Both dialects accept `$N` placeholders, `ON CONFLICT … DO NOTHING` and the column types used
//! here (TEXT, 64-bit integers, booleans, byte strings), so one text serves both; the macro
//! only substitutes the concrete `sqlx` database type.

use crate::StoreError;
use tessera_core::client::{AccessTokenFormat, ClientType, Visibility};
use tessera_core::identity::{IdentityStatus, IdentityType, CLIENTS_IDP_ID};
use tessera_core::scope::DependentScope;
use uuid::Uuid;

pub(crate) fn uuid(table: &'static str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt {
        table,
        detail: format!("bad uuid {s:?}: {e}"),
    })
}

pub(crate) fn opt_uuid(table: &'static str, s: Option<String>) -> Result<Option<Uuid>, StoreError> {
    s.map(|s| uuid(table, &s)).transpose()
}

pub(crate) fn json_list(table: &'static str, s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        table,
        detail: format!("bad JSON list: {e}"),
    })
}

/// A scope's group rule as stored (`NULL`: none).
pub(crate) fn group_rule_to_json(
    rule: Option<&tessera_core::scope_rule::GroupRule>,
) -> Option<String> {
    rule.map(to_json)
}

pub(crate) fn group_rule_from_json(
    s: Option<String>,
) -> Result<Option<tessera_core::scope_rule::GroupRule>, StoreError> {
    s.map(|s| {
        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt {
            table: "scopes",
            detail: format!("bad group_rule: {e}"),
        })
    })
    .transpose()
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serialising a Vec<String> or a Vec of plain structs cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct DependentScopeRow {
    scope: Uuid,
    optional: bool,
    requires_refresh_token: bool,
}

pub(crate) fn dependents_to_json(d: &[DependentScope]) -> String {
    to_json(
        &d.iter()
            .map(|d| DependentScopeRow {
                scope: d.scope_id,
                optional: d.optional,
                requires_refresh_token: d.requires_refresh_token,
            })
            .collect::<Vec<_>>(),
    )
}

pub(crate) fn dependents_from_json(s: &str) -> Result<Vec<DependentScope>, StoreError> {
    let rows: Vec<DependentScopeRow> =
        serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
            table: "scopes",
            detail: format!("bad dependent_scopes: {e}"),
        })?;
    Ok(rows
        .into_iter()
        .map(|r| DependentScope {
            scope_id: r.scope,
            optional: r.optional,
            requires_refresh_token: r.requires_refresh_token,
        })
        .collect())
}

pub(crate) fn client_type(s: &str) -> Result<ClientType, StoreError> {
    ClientType::parse(s).ok_or_else(|| StoreError::Corrupt {
        table: "clients",
        detail: format!("client_type {s:?}"),
    })
}

pub(crate) fn access_token_format(s: &str) -> Result<AccessTokenFormat, StoreError> {
    AccessTokenFormat::parse(s).ok_or_else(|| StoreError::Corrupt {
        table: "clients",
        detail: format!("access_token_format {s:?}"),
    })
}

pub(crate) fn visibility(s: &str) -> Result<Visibility, StoreError> {
    Visibility::parse(s).ok_or_else(|| StoreError::Corrupt {
        table: "clients",
        detail: format!("visibility {s:?}"),
    })
}

pub(crate) fn identity_status(s: &str) -> Result<IdentityStatus, StoreError> {
    IdentityStatus::parse(s).ok_or_else(|| StoreError::Corrupt {
        table: "identities",
        detail: format!("status {s:?}"),
    })
}

pub(crate) fn identity_type(idp: Uuid) -> IdentityType {
    if idp == CLIENTS_IDP_ID {
        IdentityType::Client
    } else {
        IdentityType::Login
    }
}

/// The columns of `tokens`, in the order every statement lists them.
pub(crate) const TOKEN_COLUMNS: &str = "hash, kind, client_id, subject, subject_kind, resource_server, \
    scope, issued_at, expires_at, revoked_at, family_id, session_id, auth_time, parent, rotated_at, \
    effective_identity";

/// The `pg_advisory_xact_lock` key that serialises signing-key rotations across nodes.
pub(crate) const SIGNING_KEY_LOCK: i64 = 0x7465_7373_6b65_7973; // "tesskeys"

/// Maps a unique-key violation to `Conflict`, anything else to `Database`.
pub(crate) fn conflict(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

/// Expands every repository trait for `$store`, whose `reader` and `writer` fields are pools of
/// `$db`. Reads go to `reader`, writes to `writer` (for SQLite, a pool of one connection: the
/// single writer).
macro_rules! impl_repositories {
    ($store:ty, $db:ty, $row:ty) => {
        use ::async_trait::async_trait;
        use ::sqlx::{QueryBuilder, Row};
        use ::tessera_core::client::{AccessTokenFormat, Client, ClientCredential, Links};
        use ::tessera_core::clock::UnixTime;
        use ::tessera_core::consent::Consent;
        use ::tessera_core::grant::authorization_code::{AuthorizationCode, PendingAuthorization};
        use ::tessera_core::grant::{SubjectKind, TokenRecord};
        use ::tessera_core::session::BrowserSession;
        use ::tessera_core::identity::Identity;
        use ::tessera_core::auth_policy::AuthPolicy;
        use ::tessera_core::project::Project;
        use ::tessera_core::scope::Scope;
        use ::tessera_core::secret::SecretHash;
        use ::tessera_core::token::TokenKind;
        use ::uuid::Uuid;
        use $crate::sql::{self as q, conflict};
        use $crate::{
            AuditEvent, AuditQuery, AuditRecord, AuditRepository, AuthorizationRepository, ClientRepository, ConsentParent,
            ConsentRepository, Expired, FqdnRepository, IdentityRepository, KeyRepository, MaintenanceRepository, NewConsent,
            ProjectRepository, ScopeRepository, SessionRepository, StoreError, StoredKey, TokenRepository,
        };

        const IDENTITY_COLUMNS: &str =
            "id, username, name, email, organization, identity_provider, status, created_at";
        const CLIENT_COLUMNS: &str = "id, name, client_type, visibility, redirect_uris, fqdns, privacy_policy, \
            terms_and_conditions, parent_client, project, required_idp, preselect_idp, allows_templating, \
            resource_server_name, created_at, authentication_policy, userinfo_from_effective_identity, access_token_format";
        const SCOPE_COLUMNS: &str = "id, client_id, resource_server, scope_string, name, description, advertised, \
            allows_refresh_token, required_domains, dependent_scopes, created_at, group_rule";
        const TOKEN_COLUMNS: &str = crate::sql::TOKEN_COLUMNS;
        const CODE_COLUMNS: &str = "hash, client_id, redirect_uri, scope, code_challenge, identity_id, session_id, \
            auth_time, offline, nonce, family_id, created_at, expires_at, exchanged_at, effective_identity";
        const PENDING_COLUMNS: &str = "id, client_id, redirect_uri, scope, state, code_challenge, nonce, offline, \
            force_login, created_at, expires_at";
        const CONSENT_COLUMNS: &str = "id, identity_id, client_id, scope_id, scope_string, dependency_path, created_at, \
            updated_at, last_used_at, allows_refresh, auto_approved, effective_identity";
        const PROJECT_COLUMNS: &str = "id, display_name, contact_email, admin_ids, admin_group_ids, created_at";
        const POLICY_COLUMNS: &str = "id, project_id, display_name, description, high_assurance, \
            authentication_assurance_timeout, required_mfa, domain_constraints_include, domain_constraints_exclude, \
            created_at";

        fn identity_from_row(r: &$row) -> Result<Identity, StoreError> {
            let idp = q::uuid("identities", &r.try_get::<String, _>("identity_provider")?)?;
            Ok(Identity {
                id: q::uuid("identities", &r.try_get::<String, _>("id")?)?,
                username: r.try_get("username")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                organization: r.try_get("organization")?,
                identity_provider: idp,
                identity_type: q::identity_type(idp),
                status: q::identity_status(&r.try_get::<String, _>("status")?)?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn client_from_row(r: &$row) -> Result<Client, StoreError> {
            Ok(Client {
                id: q::uuid("clients", &r.try_get::<String, _>("id")?)?,
                name: r.try_get("name")?,
                client_type: q::client_type(&r.try_get::<String, _>("client_type")?)?,
                visibility: q::visibility(&r.try_get::<String, _>("visibility")?)?,
                redirect_uris: q::json_list("clients", &r.try_get::<String, _>("redirect_uris")?)?,
                fqdns: q::json_list("clients", &r.try_get::<String, _>("fqdns")?)?,
                links: Links {
                    privacy_policy: r.try_get("privacy_policy")?,
                    terms_and_conditions: r.try_get("terms_and_conditions")?,
                },
                parent_client: q::opt_uuid("clients", r.try_get("parent_client")?)?,
                project: q::opt_uuid("clients", r.try_get("project")?)?,
                required_idp: q::opt_uuid("clients", r.try_get("required_idp")?)?,
                preselect_idp: q::opt_uuid("clients", r.try_get("preselect_idp")?)?,
                allows_templating: r.try_get("allows_templating")?,
                resource_server_name: r.try_get("resource_server_name")?,
                access_token_format: q::access_token_format(&r.try_get::<String, _>("access_token_format")?)?,
                created_at: r.try_get("created_at")?,
                authentication_policy: q::opt_uuid("clients", r.try_get("authentication_policy")?)?,
                userinfo_from_effective_identity: r.try_get("userinfo_from_effective_identity")?,
            })
        }

        fn credential_from_row(r: &$row) -> Result<ClientCredential, StoreError> {
            let hash: Vec<u8> = r.try_get("secret_hash")?;
            Ok(ClientCredential {
                id: q::uuid("client_credentials", &r.try_get::<String, _>("id")?)?,
                client_id: q::uuid("client_credentials", &r.try_get::<String, _>("client_id")?)?,
                name: r.try_get("name")?,
                secret_hash: SecretHash::from_slice(&hash).ok_or(StoreError::Corrupt {
                    table: "client_credentials",
                    detail: "secret_hash is not 32 bytes".into(),
                })?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn scope_from_row(r: &$row) -> Result<Scope, StoreError> {
            Ok(Scope {
                id: q::uuid("scopes", &r.try_get::<String, _>("id")?)?,
                client_id: q::uuid("scopes", &r.try_get::<String, _>("client_id")?)?,
                resource_server: r.try_get("resource_server")?,
                scope_string: r.try_get("scope_string")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                advertised: r.try_get("advertised")?,
                allows_refresh_token: r.try_get("allows_refresh_token")?,
                required_domains: q::json_list("scopes", &r.try_get::<String, _>("required_domains")?)?,
                dependent_scopes: q::dependents_from_json(&r.try_get::<String, _>("dependent_scopes")?)?,
                created_at: r.try_get("created_at")?,
                group_rule: q::group_rule_from_json(r.try_get::<Option<String>, _>("group_rule")?)?,
            })
        }

        fn token_from_row(r: &$row) -> Result<TokenRecord, StoreError> {
            let corrupt = |detail: String| StoreError::Corrupt { table: "tokens", detail };
            let hash: Vec<u8> = r.try_get("hash")?;
            let kind: String = r.try_get("kind")?;
            let subject_kind: String = r.try_get("subject_kind")?;
            Ok(TokenRecord {
                hash: SecretHash::from_slice(&hash).ok_or_else(|| corrupt("hash is not 32 bytes".into()))?,
                kind: TokenKind::parse_name(&kind).ok_or_else(|| corrupt(format!("kind {kind:?}")))?,
                client_id: q::uuid("tokens", &r.try_get::<String, _>("client_id")?)?,
                subject: q::uuid("tokens", &r.try_get::<String, _>("subject")?)?,
                subject_kind: SubjectKind::parse(&subject_kind)
                    .ok_or_else(|| corrupt(format!("subject_kind {subject_kind:?}")))?,
                resource_server: r.try_get("resource_server")?,
                scope: r.try_get("scope")?,
                issued_at: r.try_get("issued_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
                family_id: q::opt_uuid("tokens", r.try_get("family_id")?)?,
                session_id: q::opt_uuid("tokens", r.try_get("session_id")?)?,
                auth_time: r.try_get("auth_time")?,
                parent: r
                    .try_get::<Option<Vec<u8>>, _>("parent")?
                    .map(|p| SecretHash::from_slice(&p).ok_or_else(|| corrupt("parent is not 32 bytes".into())))
                    .transpose()?,
                rotated_at: r.try_get("rotated_at")?,
                effective_identity: q::opt_uuid("tokens", r.try_get("effective_identity")?)?,
            })
        }

        fn hash_from_row(r: &$row) -> Result<SecretHash, StoreError> {
            let h: Vec<u8> = r.try_get("hash")?;
            SecretHash::from_slice(&h)
                .ok_or(StoreError::Corrupt { table: "tokens", detail: "hash is not 32 bytes".into() })
        }

        fn hash32(table: &'static str, r: &$row) -> Result<SecretHash, StoreError> {
            SecretHash::from_slice(&r.try_get::<Vec<u8>, _>("hash")?)
                .ok_or(StoreError::Corrupt { table, detail: "hash is not 32 bytes".into() })
        }

        fn code_from_row(r: &$row) -> Result<AuthorizationCode, StoreError> {
            let t = "authorization_codes";
            Ok(AuthorizationCode {
                hash: hash32(t, r)?,
                client_id: q::uuid(t, &r.try_get::<String, _>("client_id")?)?,
                redirect_uri: r.try_get("redirect_uri")?,
                scope: r.try_get("scope")?,
                code_challenge: r.try_get("code_challenge")?,
                identity_id: q::uuid(t, &r.try_get::<String, _>("identity_id")?)?,
                session_id: q::uuid(t, &r.try_get::<String, _>("session_id")?)?,
                auth_time: r.try_get("auth_time")?,
                offline: r.try_get("offline")?,
                nonce: r.try_get("nonce")?,
                family_id: q::uuid(t, &r.try_get::<String, _>("family_id")?)?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                exchanged_at: r.try_get("exchanged_at")?,
                effective_identity: q::opt_uuid(t, r.try_get("effective_identity")?)?,
            })
        }

        fn pending_from_row(r: &$row) -> Result<PendingAuthorization, StoreError> {
            let t = "authorization_requests";
            Ok(PendingAuthorization {
                id: q::uuid(t, &r.try_get::<String, _>("id")?)?,
                client_id: q::uuid(t, &r.try_get::<String, _>("client_id")?)?,
                redirect_uri: r.try_get("redirect_uri")?,
                scope: r.try_get("scope")?,
                state: r.try_get("state")?,
                code_challenge: r.try_get("code_challenge")?,
                nonce: r.try_get("nonce")?,
                offline: r.try_get("offline")?,
                force_login: r.try_get("force_login")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        }

        fn session_from_row(r: &$row) -> Result<BrowserSession, StoreError> {
            let t = "sessions";
            Ok(BrowserSession {
                id: q::uuid(t, &r.try_get::<String, _>("id")?)?,
                hash: hash32(t, r)?,
                identity_id: q::uuid(t, &r.try_get::<String, _>("identity_id")?)?,
                auth_time: r.try_get("auth_time")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        }

        fn consent_from_row(r: &$row) -> Result<Consent, StoreError> {
            let t = "consents";
            let path: String = r.try_get("dependency_path")?;
            Ok(Consent {
                id: r.try_get("id")?,
                identity_id: q::uuid(t, &r.try_get::<String, _>("identity_id")?)?,
                client_id: q::uuid(t, &r.try_get::<String, _>("client_id")?)?,
                scope_id: q::uuid(t, &r.try_get::<String, _>("scope_id")?)?,
                scope_string: r.try_get("scope_string")?,
                dependency_path: ::serde_json::from_str(&path)
                    .map_err(|e| StoreError::Corrupt { table: t, detail: format!("dependency_path: {e}") })?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                last_used_at: r.try_get("last_used_at")?,
                allows_refresh: r.try_get("allows_refresh")?,
                auto_approved: r.try_get("auto_approved")?,
                effective_identity: q::opt_uuid(t, r.try_get("effective_identity")?)?,
            })
        }

        fn uuid_list(table: &'static str, s: &str) -> Result<Vec<Uuid>, StoreError> {
            q::json_list(table, s)?.iter().map(|u| q::uuid(table, u)).collect()
        }

        fn project_from_row(r: &$row) -> Result<Project, StoreError> {
            let t = "projects";
            Ok(Project {
                id: q::uuid(t, &r.try_get::<String, _>("id")?)?,
                display_name: r.try_get("display_name")?,
                contact_email: r.try_get("contact_email")?,
                admin_ids: uuid_list(t, &r.try_get::<String, _>("admin_ids")?)?,
                admin_group_ids: r
                    .try_get::<Option<String>, _>("admin_group_ids")?
                    .map(|s| uuid_list(t, &s))
                    .transpose()?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn policy_from_row(r: &$row) -> Result<AuthPolicy, StoreError> {
            let t = "auth_policies";
            let list = |c: &str| -> Result<Option<Vec<String>>, StoreError> {
                r.try_get::<Option<String>, _>(c)?.map(|s| q::json_list(t, &s)).transpose()
            };
            Ok(AuthPolicy {
                id: q::uuid(t, &r.try_get::<String, _>("id")?)?,
                project_id: q::uuid(t, &r.try_get::<String, _>("project_id")?)?,
                display_name: r.try_get("display_name")?,
                description: r.try_get("description")?,
                high_assurance: r.try_get("high_assurance")?,
                authentication_assurance_timeout: r.try_get("authentication_assurance_timeout")?,
                required_mfa: r.try_get("required_mfa")?,
                domain_constraints_include: list("domain_constraints_include")?,
                domain_constraints_exclude: list("domain_constraints_exclude")?,
                created_at: r.try_get("created_at")?,
            })
        }

        /// `SELECT <columns> FROM <table> WHERE <column> IN (<values>)`; nothing for no values.
        async fn select_in<T, V, F>(
            pool: &::sqlx::Pool<$db>,
            columns: &str,
            table: &str,
            column: &str,
            values: &[V],
            map: F,
        ) -> Result<Vec<T>, StoreError>
        where
            V: ToString,
            F: Fn(&$row) -> Result<T, StoreError>,
        {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            let mut out = Vec::with_capacity(values.len());
            // Bounded batches keep under every driver's bind-parameter limit.
            for chunk in values.chunks(500) {
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {columns} FROM {table} WHERE {column} IN ("));
                let mut sep = qb.separated(", ");
                for v in chunk {
                    sep.push_bind(v.to_string());
                }
                qb.push(")");
                for row in qb.build().fetch_all(pool).await? {
                    out.push(map(&row)?);
                }
            }
            Ok(out)
        }

        #[async_trait]
        impl IdentityRepository for $store {
            async fn insert_identity(&self, i: &Identity, password_hash: Option<&str>) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO identities (id, username, username_normalized, name, email, organization, \
                     identity_provider, status, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(i.id.to_string())
                .bind(&i.username)
                .bind(::tessera_core::identity::normalize_username(&i.username))
                .bind(&i.name)
                .bind(&i.email)
                .bind(&i.organization)
                .bind(i.identity_provider.to_string())
                .bind(i.status.as_str())
                .bind(password_hash)
                .bind(i.created_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("an identity with this username"))?;
                Ok(())
            }

            async fn identities_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Identity>, StoreError> {
                select_in(&self.reader, IDENTITY_COLUMNS, "identities", "id", ids, identity_from_row).await
            }

            async fn identities_by_usernames(&self, normalized: &[String]) -> Result<Vec<Identity>, StoreError> {
                select_in(&self.reader, IDENTITY_COLUMNS, "identities", "username_normalized", normalized, identity_from_row)
                    .await
            }

            async fn identity_set(&self, identity: Uuid) -> Result<Vec<Identity>, StoreError> {
                let cols = IDENTITY_COLUMNS.split(", ").map(|c| format!("i.{c}")).collect::<Vec<_>>().join(", ");
                let rows = ::sqlx::query(&format!(
                    "SELECT {cols} FROM identities i JOIN identity_links l ON l.identity_id = i.id \
                     WHERE l.set_id = (SELECT set_id FROM identity_links WHERE identity_id = $1) \
                     ORDER BY l.linked_at, i.id"
                ))
                .bind(identity.to_string())
                .fetch_all(&self.reader)
                .await?;
                let set: Vec<Identity> = rows.iter().map(identity_from_row).collect::<Result<_, _>>()?;
                if set.iter().any(|i| i.id == identity) {
                    return Ok(set);
                }
                self.identities_by_ids(&[identity]).await
            }

            async fn link_identities(&self, identity: Uuid, other: Uuid, at: UnixTime) -> Result<(), StoreError> {
                let mut tx = self.writer.begin().await?;
                // The set of `identity` (created if it stood alone) ...
                ::sqlx::query("INSERT INTO identity_links (identity_id, set_id, linked_at) VALUES ($1, $1, $2) ON CONFLICT DO NOTHING")
                    .bind(identity.to_string())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                let set: String = ::sqlx::query("SELECT set_id FROM identity_links WHERE identity_id = $1")
                    .bind(identity.to_string())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("set_id")?;
                // ... takes in every member of the set `other` is in, or `other` alone.
                ::sqlx::query(
                    "UPDATE identity_links SET set_id = $1, linked_at = $3 WHERE set_id = \
                     (SELECT set_id FROM identity_links WHERE identity_id = $2) AND set_id <> $1",
                )
                .bind(&set)
                .bind(other.to_string())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                ::sqlx::query("INSERT INTO identity_links (identity_id, set_id, linked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(other.to_string())
                    .bind(&set)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn unlink_identity(&self, identity: Uuid) -> Result<(), StoreError> {
                ::sqlx::query("DELETE FROM identity_links WHERE identity_id = $1")
                    .bind(identity.to_string())
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn login_identity(&self, normalized: &str) -> Result<Option<(Identity, Option<String>)>, StoreError> {
                let row = ::sqlx::query(&format!(
                    "SELECT {IDENTITY_COLUMNS}, password_hash FROM identities WHERE username_normalized = $1"
                ))
                .bind(normalized)
                .fetch_optional(&self.reader)
                .await?;
                match row {
                    None => Ok(None),
                    Some(r) => Ok(Some((identity_from_row(&r)?, r.try_get("password_hash")?))),
                }
            }
        }

        impl $store {
            async fn write_client(&self, c: &Client, seed: bool) -> Result<(), StoreError> {
                Self::write_client_on(&self.writer, c, seed).await
            }

            /// [`Self::write_client`] on any executor (a transaction's connection).
            async fn write_client_on<'e, E>(e: E, c: &Client, seed: bool) -> Result<(), StoreError>
            where
                E: ::sqlx::Executor<'e, Database = $db>,
            {
                let sql = format!(
                    "INSERT INTO clients ({CLIENT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18){}",
                    if seed { " ON CONFLICT (id) DO NOTHING" } else { "" }
                );
                ::sqlx::query(&sql)
                    .bind(c.id.to_string())
                    .bind(&c.name)
                    .bind(c.client_type.as_str())
                    .bind(c.visibility.as_str())
                    .bind(q::to_json(&c.redirect_uris))
                    .bind(q::to_json(&c.fqdns))
                    .bind(&c.links.privacy_policy)
                    .bind(&c.links.terms_and_conditions)
                    .bind(c.parent_client.map(|u| u.to_string()))
                    .bind(c.project.map(|u| u.to_string()))
                    .bind(c.required_idp.map(|u| u.to_string()))
                    .bind(c.preselect_idp.map(|u| u.to_string()))
                    .bind(c.allows_templating)
                    .bind(&c.resource_server_name)
                    .bind(c.created_at)
                    .bind(c.authentication_policy.map(|u| u.to_string()))
                    .bind(c.userinfo_from_effective_identity)
                    .bind(c.access_token_format.as_str())
                    .execute(e)
                    .await
                    .map_err(conflict("a client with this id"))?;
                Ok(())
            }

            async fn write_scope(&self, s: &Scope, seed: bool) -> Result<(), StoreError> {
                let sql = format!(
                    "INSERT INTO scopes ({SCOPE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12){}",
                    if seed { " ON CONFLICT DO NOTHING" } else { "" }
                );
                ::sqlx::query(&sql)
                    .bind(s.id.to_string())
                    .bind(s.client_id.to_string())
                    .bind(&s.resource_server)
                    .bind(&s.scope_string)
                    .bind(&s.name)
                    .bind(&s.description)
                    .bind(s.advertised)
                    .bind(s.allows_refresh_token)
                    .bind(q::to_json(&s.required_domains))
                    .bind(q::dependents_to_json(&s.dependent_scopes))
                    .bind(s.created_at)
                    .bind(q::group_rule_to_json(s.group_rule.as_ref()))
                    .execute(&self.writer)
                    .await
                    .map_err(conflict("a scope with this scope string"))?;
                Ok(())
            }
        }

        #[async_trait]
        impl ClientRepository for $store {
            async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
                self.write_client(c, false).await
            }

            async fn seed_client(&self, c: &Client) -> Result<(), StoreError> {
                self.write_client(c, true).await
            }

            async fn client(&self, id: Uuid) -> Result<Option<Client>, StoreError> {
                let row = ::sqlx::query(&format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(client_from_row).transpose()
            }

            async fn update_client(&self, c: &Client) -> Result<bool, StoreError> {
                // `fqdns` is not written here: only `FqdnRepository` changes it (with
                // `client_fqdns` and the scopes' resource server, in one transaction).
                let done = ::sqlx::query(
                    "UPDATE clients SET name = $2, visibility = $3, redirect_uris = $4, privacy_policy = $5, \
                     terms_and_conditions = $6, project = $7, required_idp = $8, preselect_idp = $9, \
                     authentication_policy = $10, userinfo_from_effective_identity = $11, access_token_format = $12 \
                     WHERE id = $1",
                )
                .bind(c.id.to_string())
                .bind(&c.name)
                .bind(c.visibility.as_str())
                .bind(q::to_json(&c.redirect_uris))
                .bind(&c.links.privacy_policy)
                .bind(&c.links.terms_and_conditions)
                .bind(c.project.map(|u| u.to_string()))
                .bind(c.required_idp.map(|u| u.to_string()))
                .bind(c.preselect_idp.map(|u| u.to_string()))
                .bind(c.authentication_policy.map(|u| u.to_string()))
                .bind(c.userinfo_from_effective_identity)
                .bind(c.access_token_format.as_str())
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn clients_of_project(&self, project: Uuid) -> Result<Vec<Client>, StoreError> {
                ::sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE project = $1 ORDER BY created_at, id"
                ))
                .bind(project.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(client_from_row)
                .collect()
            }

            async fn insert_credential(&self, c: &ClientCredential) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO client_credentials (id, client_id, name, secret_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(c.id.to_string())
                .bind(c.client_id.to_string())
                .bind(&c.name)
                .bind(c.secret_hash.as_bytes().to_vec())
                .bind(c.created_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("a credential with this id"))?;
                Ok(())
            }

            async fn credentials(&self, client_id: Uuid) -> Result<Vec<ClientCredential>, StoreError> {
                ::sqlx::query(
                    "SELECT id, client_id, name, secret_hash, created_at FROM client_credentials \
                     WHERE client_id = $1 ORDER BY created_at, id",
                )
                .bind(client_id.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(credential_from_row)
                .collect()
            }

            async fn set_access_token_format(&self, id: Uuid, format: AccessTokenFormat) -> Result<bool, StoreError> {
                let done = ::sqlx::query("UPDATE clients SET access_token_format = $1 WHERE id = $2")
                    .bind(format.as_str())
                    .bind(id.to_string())
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_client(&self, id: Uuid, at: UnixTime) -> Result<Option<$crate::DeletedClient>, StoreError> {
                self.delete_client_cascade(id, at).await
            }

            async fn delete_credential(
                &self,
                client_id: Uuid,
                id: Uuid,
            ) -> Result<Option<ClientCredential>, StoreError> {
                let row = ::sqlx::query(
                    "DELETE FROM client_credentials WHERE client_id = $1 AND id = $2 \
                     RETURNING id, client_id, name, secret_hash, created_at",
                )
                .bind(client_id.to_string())
                .bind(id.to_string())
                .fetch_optional(&self.writer)
                .await?;
                row.as_ref().map(credential_from_row).transpose()
            }
        }

        $crate::sql_clients::impl_client_deletion!($store, $db, $row);
        $crate::sql_device::impl_device_grants!($store, $db, $row);
        $crate::sql_registration::impl_registrations!($store, $db, $row);
        $crate::sql_upstream::impl_upstream!($store, $db, $row);
        $crate::sql_session_model::impl_session_model!($store, $db, $row);

        impl $store {
            /// Deletes row `id` (`delete`) in one transaction with the check that nothing refers to
            /// it (`count` yields `n`); `Conflict(what)` when something does, false when unknown.
            async fn delete_unless_used(
                &self,
                id: Uuid,
                count: &str,
                delete: &str,
                what: &'static str,
            ) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                let used: i64 = ::sqlx::query(count)
                    .bind(id.to_string())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if used > 0 {
                    return Err(StoreError::Conflict(what));
                }
                let done = ::sqlx::query(delete)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn write_admins(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                p: &Project,
            ) -> Result<(), StoreError> {
                ::sqlx::query("DELETE FROM project_admins WHERE project_id = $1")
                    .bind(p.id.to_string())
                    .execute(&mut **tx)
                    .await?;
                for a in &p.admin_ids {
                    ::sqlx::query(
                        "INSERT INTO project_admins (project_id, identity_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(p.id.to_string())
                    .bind(a.to_string())
                    .execute(&mut **tx)
                    .await?;
                }
                ::sqlx::query("DELETE FROM project_admin_groups WHERE project_id = $1")
                    .bind(p.id.to_string())
                    .execute(&mut **tx)
                    .await?;
                for g in p.admin_group_ids.iter().flatten() {
                    ::sqlx::query(
                        "INSERT INTO project_admin_groups (project_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(p.id.to_string())
                    .bind(g.to_string())
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }
            /// Rewrites `clients.fqdns` from `client_fqdns` and renames the resource server of
            /// the client's scopes to the client's name; the caller holds the client's row lock.
            async fn sync_fqdns(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                client_id: &str,
            ) -> Result<Option<Client>, StoreError> {
                let names: Vec<String> = ::sqlx::query(
                    "SELECT fqdn FROM client_fqdns WHERE client_id = $1 ORDER BY position",
                )
                .bind(client_id)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| r.try_get("fqdn"))
                .collect::<Result<_, _>>()?;
                ::sqlx::query("UPDATE clients SET fqdns = $2 WHERE id = $1")
                    .bind(client_id)
                    .bind(q::to_json(&names))
                    .execute(&mut **tx)
                    .await?;
                let row = ::sqlx::query(&format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1"))
                    .bind(client_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(client) = row.as_ref().map(client_from_row).transpose()? else {
                    return Ok(None);
                };
                ::sqlx::query("UPDATE scopes SET resource_server = $2 WHERE client_id = $1 AND resource_server <> $2")
                    .bind(client_id)
                    .bind(client.resource_server())
                    .execute(&mut **tx)
                    .await?;
                Ok(Some(client))
            }

            /// Serialises changes to the signing keys across nodes: an advisory lock on
            /// PostgreSQL until `tx` ends (SQLite has one writer).
            async fn lock_signing_keys(&self, tx: &mut ::sqlx::Transaction<'_, $db>) -> Result<(), StoreError> {
                if $crate::Store::backend(self) == $crate::Backend::Postgres {
                    ::sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(q::SIGNING_KEY_LOCK)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            /// Takes the client's row lock (PostgreSQL; SQLite has one writer), so concurrent
            /// changes to one client's names apply one after the other. False: no such client.
            async fn lock_client(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                client_id: &str,
            ) -> Result<bool, StoreError> {
                let done = ::sqlx::query("UPDATE clients SET fqdns = fqdns WHERE id = $1")
                    .bind(client_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl ProjectRepository for $store {
            async fn insert_project(&self, p: &Project) -> Result<(), StoreError> {
                let mut tx = self.writer.begin().await?;
                ::sqlx::query(&format!("INSERT INTO projects ({PROJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                    .bind(p.id.to_string())
                    .bind(&p.display_name)
                    .bind(&p.contact_email)
                    .bind(q::to_json(&p.admin_ids))
                    .bind(p.admin_group_ids.as_ref().map(q::to_json))
                    .bind(p.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict("a project with this id"))?;
                Self::write_admins(&mut tx, p).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn project(&self, id: Uuid) -> Result<Option<Project>, StoreError> {
                let row = ::sqlx::query(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(project_from_row).transpose()
            }

            async fn projects_of_admins(&self, identities: &[Uuid]) -> Result<Vec<Project>, StoreError> {
                if identities.is_empty() {
                    return Ok(Vec::new());
                }
                let cols = PROJECT_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
                let mut qb = QueryBuilder::<$db>::new(format!(
                    "SELECT {cols} FROM projects p WHERE p.id IN \
                     (SELECT project_id FROM project_admins WHERE identity_id IN ("
                ));
                let mut sep = qb.separated(", ");
                for i in identities.iter().take(500) {
                    sep.push_bind(i.to_string());
                }
                qb.push(")) ORDER BY p.created_at, p.id");
                qb.build().fetch_all(&self.reader).await?.iter().map(project_from_row).collect()
            }

            async fn projects_of_admin_groups(&self, groups: &[Uuid]) -> Result<Vec<Project>, StoreError> {
                if groups.is_empty() {
                    return Ok(Vec::new());
                }
                let cols = PROJECT_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
                let mut qb = QueryBuilder::<$db>::new(format!(
                    "SELECT {cols} FROM projects p WHERE p.id IN \
                     (SELECT project_id FROM project_admin_groups WHERE group_id IN ("
                ));
                let mut sep = qb.separated(", ");
                for g in groups.iter().take(1000) {
                    sep.push_bind(g.to_string());
                }
                qb.push(")) ORDER BY p.created_at, p.id");
                qb.build().fetch_all(&self.reader).await?.iter().map(project_from_row).collect()
            }

            async fn update_project(&self, p: &Project) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                let done = ::sqlx::query(
                    "UPDATE projects SET display_name = $2, contact_email = $3, admin_ids = $4, admin_group_ids = $5 \
                     WHERE id = $1",
                )
                .bind(p.id.to_string())
                .bind(&p.display_name)
                .bind(&p.contact_email)
                .bind(q::to_json(&p.admin_ids))
                .bind(p.admin_group_ids.as_ref().map(q::to_json))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::write_admins(&mut tx, p).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_project(&self, id: Uuid) -> Result<bool, StoreError> {
                self.delete_unless_used(
                    id,
                    "SELECT (SELECT COUNT(*) FROM clients WHERE project = $1) \
                     + (SELECT COUNT(*) FROM auth_policies WHERE project_id = $1) AS n",
                    "DELETE FROM projects WHERE id = $1",
                    "clients or policies in this project",
                )
                .await
            }

            async fn insert_policy(&self, p: &AuthPolicy) -> Result<(), StoreError> {
                ::sqlx::query(&format!(
                    "INSERT INTO auth_policies ({POLICY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(p.id.to_string())
                .bind(p.project_id.to_string())
                .bind(&p.display_name)
                .bind(&p.description)
                .bind(p.high_assurance)
                .bind(p.authentication_assurance_timeout)
                .bind(p.required_mfa)
                .bind(p.domain_constraints_include.as_ref().map(q::to_json))
                .bind(p.domain_constraints_exclude.as_ref().map(q::to_json))
                .bind(p.created_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("a policy with this id"))?;
                Ok(())
            }

            async fn policy(&self, id: Uuid) -> Result<Option<AuthPolicy>, StoreError> {
                let row = ::sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM auth_policies WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(policy_from_row).transpose()
            }

            async fn policies_of_projects(&self, projects: &[Uuid]) -> Result<Vec<AuthPolicy>, StoreError> {
                let mut all =
                    select_in(&self.reader, POLICY_COLUMNS, "auth_policies", "project_id", projects, policy_from_row)
                        .await?;
                all.sort_by(|a, b| (a.created_at, a.id).cmp(&(b.created_at, b.id)));
                Ok(all)
            }

            async fn update_policy(&self, p: &AuthPolicy) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE auth_policies SET display_name = $2, description = $3, high_assurance = $4, \
                     authentication_assurance_timeout = $5, required_mfa = $6, domain_constraints_include = $7, \
                     domain_constraints_exclude = $8 WHERE id = $1",
                )
                .bind(p.id.to_string())
                .bind(&p.display_name)
                .bind(&p.description)
                .bind(p.high_assurance)
                .bind(p.authentication_assurance_timeout)
                .bind(p.required_mfa)
                .bind(p.domain_constraints_include.as_ref().map(q::to_json))
                .bind(p.domain_constraints_exclude.as_ref().map(q::to_json))
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_policy(&self, id: Uuid) -> Result<bool, StoreError> {
                self.delete_unless_used(
                    id,
                    "SELECT COUNT(*) AS n FROM clients WHERE authentication_policy = $1",
                    "DELETE FROM auth_policies WHERE id = $1",
                    "clients that use this policy",
                )
                .await
            }
        }

        #[async_trait]
        impl FqdnRepository for $store {
            async fn add_fqdn(&self, client_id: Uuid, fqdn: &str, at: UnixTime) -> Result<Option<Client>, StoreError> {
                let id = client_id.to_string();
                let mut tx = self.writer.begin().await?;
                if !Self::lock_client(&mut tx, &id).await? {
                    return Ok(None);
                }
                ::sqlx::query(
                    "INSERT INTO client_fqdns (fqdn, client_id, position, verified_at) VALUES ($1, $2, \
                     (SELECT COALESCE(MAX(position), 0) + 1 FROM client_fqdns WHERE client_id = $2), $3)",
                )
                .bind(fqdn)
                .bind(&id)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("a client with this FQDN"))?;
                let client = Self::sync_fqdns(&mut tx, &id).await?;
                tx.commit().await?;
                Ok(client)
            }

            async fn remove_fqdn(&self, client_id: Uuid, fqdn: &str) -> Result<Option<Client>, StoreError> {
                let id = client_id.to_string();
                let mut tx = self.writer.begin().await?;
                if !Self::lock_client(&mut tx, &id).await? {
                    return Ok(None);
                }
                let done = ::sqlx::query("DELETE FROM client_fqdns WHERE fqdn = $1 AND client_id = $2")
                    .bind(fqdn)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                let client = Self::sync_fqdns(&mut tx, &id).await?;
                tx.commit().await?;
                Ok(client)
            }

            async fn client_by_fqdn(&self, fqdn: &str) -> Result<Option<Client>, StoreError> {
                let row = ::sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE id = (SELECT client_id FROM client_fqdns WHERE fqdn = $1)"
                ))
                .bind(fqdn)
                .fetch_optional(&self.reader)
                .await?;
                row.as_ref().map(client_from_row).transpose()
            }
        }

        #[async_trait]
        impl ScopeRepository for $store {
            async fn insert_scope(&self, s: &Scope) -> Result<(), StoreError> {
                self.write_scope(s, false).await
            }

            async fn seed_scope(&self, s: &Scope) -> Result<(), StoreError> {
                self.write_scope(s, true).await
            }

            async fn scopes_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Scope>, StoreError> {
                select_in(&self.reader, SCOPE_COLUMNS, "scopes", "id", ids, scope_from_row).await
            }

            async fn scopes_by_strings(&self, strings: &[String]) -> Result<Vec<Scope>, StoreError> {
                select_in(&self.reader, SCOPE_COLUMNS, "scopes", "scope_string", strings, scope_from_row).await
            }

            async fn scopes_of_client(&self, client_id: Uuid) -> Result<Vec<Scope>, StoreError> {
                ::sqlx::query(&format!(
                    "SELECT {SCOPE_COLUMNS} FROM scopes WHERE client_id = $1 ORDER BY created_at, scope_string"
                ))
                .bind(client_id.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(scope_from_row)
                .collect()
            }

            async fn all_scopes(&self) -> Result<Vec<Scope>, StoreError> {
                ::sqlx::query(&format!("SELECT {SCOPE_COLUMNS} FROM scopes ORDER BY scope_string"))
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(scope_from_row)
                    .collect()
            }

            async fn update_scope(&self, s: &Scope) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE scopes SET name = $2, description = $3, advertised = $4, allows_refresh_token = $5, \
                     required_domains = $6, dependent_scopes = $7, group_rule = $8 WHERE id = $1",
                )
                .bind(s.id.to_string())
                .bind(&s.name)
                .bind(&s.description)
                .bind(s.advertised)
                .bind(s.allows_refresh_token)
                .bind(q::to_json(&s.required_domains))
                .bind(q::dependents_to_json(&s.dependent_scopes))
                .bind(q::group_rule_to_json(s.group_rule.as_ref()))
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_scope(&self, id: Uuid) -> Result<bool, StoreError> {
                let done = ::sqlx::query("DELETE FROM scopes WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl TokenRepository for $store {
            async fn insert_tokens(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
                // The batch statement differs by dialect (see `insert_token_rows` of each store).
                if records.is_empty() {
                    return Ok(());
                }
                self.insert_token_rows(records).await.map_err(conflict("a token with this hash"))
            }

            async fn token(&self, hash: &SecretHash) -> Result<Option<TokenRecord>, StoreError> {
                let row = ::sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"))
                    .bind(hash.as_bytes().to_vec())
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn revoke_token(&self, hash: &SecretHash, at: UnixTime) -> Result<bool, StoreError> {
                let done = ::sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL")
                    .bind(hash.as_bytes().to_vec())
                    .bind(at)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_family(&self, family: Uuid, at: UnixTime) -> Result<Vec<SecretHash>, StoreError> {
                ::sqlx::query(
                    "UPDATE tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL RETURNING hash",
                )
                .bind(family.to_string())
                .bind(at)
                .fetch_all(&self.writer)
                .await?
                .iter()
                .map(hash_from_row)
                .collect()
            }

            async fn revoke_children(&self, parent: &SecretHash, at: UnixTime) -> Result<Vec<SecretHash>, StoreError> {
                ::sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE parent = $1 AND revoked_at IS NULL RETURNING hash")
                    .bind(parent.as_bytes().to_vec())
                    .bind(at)
                    .fetch_all(&self.writer)
                    .await?
                    .iter()
                    .map(hash_from_row)
                    .collect()
            }

            async fn mark_rotated(&self, hash: &SecretHash, at: UnixTime) -> Result<bool, StoreError> {
                let done = ::sqlx::query("UPDATE tokens SET rotated_at = $2 WHERE hash = $1 AND rotated_at IS NULL")
                    .bind(hash.as_bytes().to_vec())
                    .bind(at)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn extend_token(&self, hash: &SecretHash, expires_at: UnixTime) -> Result<(), StoreError> {
                ::sqlx::query("UPDATE tokens SET expires_at = $2 WHERE hash = $1")
                    .bind(hash.as_bytes().to_vec())
                    .bind(expires_at)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn tokens_for(&self, subject: Uuid, client_id: Uuid) -> Result<Vec<TokenRecord>, StoreError> {
                ::sqlx::query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE subject = $1 AND client_id = $2 AND subject_kind = 'identity' \
                     AND revoked_at IS NULL"
                ))
                .bind(subject.to_string())
                .bind(client_id.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(token_from_row)
                .collect()
            }
        }

        #[async_trait]
        impl SessionRepository for $store {
            async fn insert_session(&self, s: &BrowserSession) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO sessions (hash, id, identity_id, auth_time, created_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(s.hash.as_bytes().to_vec())
                .bind(s.id.to_string())
                .bind(s.identity_id.to_string())
                .bind(s.auth_time)
                .bind(s.created_at)
                .bind(s.expires_at)
                .bind(s.revoked_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("a session with this id"))?;
                Ok(())
            }

            async fn session(&self, hash: &SecretHash) -> Result<Option<BrowserSession>, StoreError> {
                let row = ::sqlx::query(
                    "SELECT hash, id, identity_id, auth_time, created_at, expires_at, revoked_at FROM sessions \
                     WHERE hash = $1",
                )
                .bind(hash.as_bytes().to_vec())
                .fetch_optional(&self.reader)
                .await?;
                row.as_ref().map(session_from_row).transpose()
            }

            async fn revoke_session(&self, hash: &SecretHash, at: UnixTime) -> Result<(), StoreError> {
                ::sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL")
                    .bind(hash.as_bytes().to_vec())
                    .bind(at)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl AuthorizationRepository for $store {
            async fn insert_pending(&self, p: &PendingAuthorization) -> Result<(), StoreError> {
                ::sqlx::query(&format!(
                    "INSERT INTO authorization_requests ({PENDING_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ))
                .bind(p.id.to_string())
                .bind(p.client_id.to_string())
                .bind(&p.redirect_uri)
                .bind(&p.scope)
                .bind(&p.state)
                .bind(&p.code_challenge)
                .bind(&p.nonce)
                .bind(p.offline)
                .bind(p.force_login)
                .bind(p.created_at)
                .bind(p.expires_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("a pending authorization with this id"))?;
                Ok(())
            }

            async fn pending(&self, id: Uuid) -> Result<Option<PendingAuthorization>, StoreError> {
                let row = ::sqlx::query(&format!("SELECT {PENDING_COLUMNS} FROM authorization_requests WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(pending_from_row).transpose()
            }

            async fn delete_pending(&self, id: Uuid) -> Result<(), StoreError> {
                ::sqlx::query("DELETE FROM authorization_requests WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&self.writer)
                    .await?;
                ::sqlx::query("DELETE FROM authorization_session_requirements WHERE request_id = $1")
                    .bind(id.to_string())
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn insert_code(&self, c: &AuthorizationCode) -> Result<(), StoreError> {
                ::sqlx::query(&format!(
                    "INSERT INTO authorization_codes ({CODE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                ))
                .bind(c.hash.as_bytes().to_vec())
                .bind(c.client_id.to_string())
                .bind(&c.redirect_uri)
                .bind(&c.scope)
                .bind(&c.code_challenge)
                .bind(c.identity_id.to_string())
                .bind(c.session_id.to_string())
                .bind(c.auth_time)
                .bind(c.offline)
                .bind(&c.nonce)
                .bind(c.family_id.to_string())
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(c.exchanged_at)
                .bind(c.effective_identity.map(|u| u.to_string()))
                .execute(&self.writer)
                .await
                .map_err(conflict("an authorization code with this hash"))?;
                Ok(())
            }

            async fn code(&self, hash: &SecretHash) -> Result<Option<AuthorizationCode>, StoreError> {
                let row = ::sqlx::query(&format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE hash = $1"))
                    .bind(hash.as_bytes().to_vec())
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(code_from_row).transpose()
            }

            async fn claim_code(&self, hash: &SecretHash, at: UnixTime) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE authorization_codes SET exchanged_at = $2 WHERE hash = $1 AND exchanged_at IS NULL",
                )
                .bind(hash.as_bytes().to_vec())
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl ConsentRepository for $store {
            async fn insert_consents_as(
                &self,
                identity: Uuid,
                effective: Option<Uuid>,
                nodes: &[NewConsent],
                now: UnixTime,
            ) -> Result<Vec<Consent>, StoreError> {
                let mut tx = self.writer.begin().await?;
                let mut out: Vec<Consent> = Vec::with_capacity(nodes.len());
                for n in nodes {
                    let row = ::sqlx::query(
                        "INSERT INTO consents (identity_id, client_id, scope_id, scope_string, dependency_path, \
                         created_at, updated_at, last_used_at, allows_refresh, auto_approved, effective_identity) \
                         VALUES ($1, $2, $3, $4, '[]', $5, $5, $5, $6, $7, $8) RETURNING id",
                    )
                    .bind(identity.to_string())
                    .bind(n.client_id.to_string())
                    .bind(n.scope_id.to_string())
                    .bind(&n.scope_string)
                    .bind(now)
                    .bind(n.allows_refresh)
                    .bind(false)
                    .bind(effective.map(|u| u.to_string()))
                    .fetch_one(&mut *tx)
                    .await?;
                    let id: i64 = row.try_get("id")?;
                    let mut path = match &n.parent {
                        ConsentParent::Root => Vec::new(),
                        ConsentParent::Existing(p) => p.clone(),
                        ConsentParent::New(i) => out.get(*i).map(|p| p.dependency_path.clone()).unwrap_or_default(),
                    };
                    path.push(id);
                    ::sqlx::query("UPDATE consents SET dependency_path = $2 WHERE id = $1")
                        .bind(id)
                        .bind(q::to_json(&path))
                        .execute(&mut *tx)
                        .await?;
                    out.push(Consent {
                        id,
                        identity_id: identity,
                        client_id: n.client_id,
                        scope_id: n.scope_id,
                        scope_string: n.scope_string.clone(),
                        dependency_path: path,
                        created_at: now,
                        updated_at: now,
                        last_used_at: now,
                        allows_refresh: n.allows_refresh,
                        auto_approved: false,
                        effective_identity: effective,
                    });
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn consents_of(&self, identity: Uuid) -> Result<Vec<Consent>, StoreError> {
                ::sqlx::query(&format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE identity_id = $1 ORDER BY id"))
                    .bind(identity.to_string())
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(consent_from_row)
                    .collect()
            }

            async fn delete_consents(&self, ids: &[i64]) -> Result<(), StoreError> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new("DELETE FROM consents WHERE id IN (");
                let mut sep = qb.separated(", ");
                for id in ids {
                    sep.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&self.writer).await?;
                Ok(())
            }
        }

        fn key_from_row(r: &$row) -> Result<StoredKey, StoreError> {
            Ok(StoredKey {
                kid: r.try_get("kid")?,
                algorithm: r.try_get("algorithm")?,
                private_pem: r.try_get("private_pem")?,
                created_at: r.try_get("created_at")?,
                activates_at: r.try_get("activates_at")?,
            })
        }

        #[async_trait]
        impl MaintenanceRepository for $store {
            async fn purge_batch(&self, what: Expired, before: UnixTime, limit: i64) -> Result<u64, StoreError> {
                // By key through a bounded subquery: both dialects, one short transaction each.
                // Each time column is indexed (the expiries since 0001/0008, audit_events.at since 0009).
                let (table, key, time) = match what {
                    Expired::Tokens => ("tokens", "hash", "expires_at"),
                    Expired::AuthorizationCodes => ("authorization_codes", "hash", "expires_at"),
                    Expired::PendingAuthorizations => ("authorization_requests", "id", "expires_at"),
                    Expired::Sessions => ("sessions", "hash", "expires_at"),
                    Expired::DeviceGrants => ("device_grants", "device_code_hash", "expires_at"),
                    Expired::InitialAccessTokens => ("initial_access_tokens", "hash", "expires_at"),
                    Expired::AuditEvents => ("audit_events", "id", "at"),
                };
                let done = ::sqlx::query(&format!(
                    "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {time} < $1 LIMIT $2)"
                ))
                .bind(before)
                .bind(limit)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait]
        impl KeyRepository for $store {
            async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
                ::sqlx::query(
                    "SELECT kid, algorithm, private_pem, created_at, activates_at FROM signing_keys ORDER BY created_at, kid",
                )
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(key_from_row)
                .collect()
            }

            async fn insert_signing_key(&self, k: &StoredKey) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO signing_keys (kid, algorithm, private_pem, created_at, activates_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&k.kid)
                .bind(&k.algorithm)
                .bind(&k.private_pem)
                .bind(k.created_at)
                .bind(k.activates_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("a signing key with this kid"))?;
                Ok(())
            }

            async fn add_signing_key(
                &self,
                k: &StoredKey,
                unless_created_after: UnixTime,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                // Nodes that decide to rotate at once queue here; the second sees the first's key.
                self.lock_signing_keys(&mut tx).await?;
                // On SQLite one statement that writes holds the write lock from its start.
                let done = ::sqlx::query(
                    "INSERT INTO signing_keys (kid, algorithm, private_pem, created_at, activates_at) \
                     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM signing_keys \
                     WHERE algorithm = $2 AND (created_at > $6 OR activates_at > $7))",
                )
                .bind(&k.kid)
                .bind(&k.algorithm)
                .bind(&k.private_pem)
                .bind(k.created_at)
                .bind(k.activates_at)
                .bind(unless_created_after)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(conflict("a signing key with this kid"))?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn replace_key_material(&self, kid: &str, from: &str, to: &str) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE signing_keys SET private_pem = $1 WHERE kid = $2 AND private_pem = $3",
                )
                .bind(to)
                .bind(kid)
                .bind(from)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
                let done = ::sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                    .bind(kid)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn replace_signing_keys(
                &self,
                replacing: &[&str],
                k: &StoredKey,
            ) -> Result<Vec<String>, StoreError> {
                let mut tx = self.writer.begin().await?;
                self.lock_signing_keys(&mut tx).await?;
                let mut removed = Vec::new();
                for algorithm in replacing {
                    let rows = ::sqlx::query("DELETE FROM signing_keys WHERE algorithm = $1 RETURNING kid")
                        .bind(*algorithm)
                        .fetch_all(&mut *tx)
                        .await?;
                    for row in rows {
                        removed.push(row.try_get::<String, _>("kid")?);
                    }
                }
                ::sqlx::query(
                    "INSERT INTO signing_keys (kid, algorithm, private_pem, created_at, activates_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&k.kid)
                .bind(&k.algorithm)
                .bind(&k.private_pem)
                .bind(k.created_at)
                .bind(k.activates_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("a signing key with this kid"))?;
                tx.commit().await?;
                Ok(removed)
            }
        }

        #[async_trait]
        impl AuditRepository for $store {
            async fn insert_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
                /// 8 parameters a row.
                const ROWS: usize = 256;
                fn statement(chunk: &[AuditEvent]) -> QueryBuilder<'static, $db> {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO audit_events (at, event, actor, subject, client_id, remote_addr, detail) ",
                    );
                    qb.push_values(chunk, |mut b, e| {
                        b.push_bind(e.at)
                            .push_bind(e.event.clone())
                            .push_bind(e.actor.map(|u| u.to_string()))
                            .push_bind(e.subject.map(|u| u.to_string()))
                            .push_bind(e.client_id.map(|u| u.to_string()))
                            .push_bind(e.remote_addr.clone())
                            .push_bind(e.detail.to_string());
                    });
                    qb
                }
                match events.len() {
                    0 => Ok(()),
                    n if n <= ROWS => {
                        statement(events).build().execute(&self.writer).await?;
                        Ok(())
                    }
                    _ => {
                        let mut tx = self.writer.begin().await?;
                        for chunk in events.chunks(ROWS) {
                            statement(chunk).build().execute(&mut *tx).await?;
                        }
                        tx.commit().await?;
                        Ok(())
                    }
                }
            }

            async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT id, at, event, actor, subject, client_id, remote_addr, detail FROM audit_events WHERE 1 = 1",
                );
                if let Some(since) = query.since {
                    qb.push(" AND at >= ").push_bind(since);
                }
                if let Some(event) = &query.event {
                    qb.push(" AND event = ").push_bind(event.clone());
                }
                if let Some(before) = query.before_id {
                    qb.push(" AND id < ").push_bind(before);
                }
                let limit = i64::from(query.limit.clamp(1, $crate::MAX_AUDIT_LIMIT));
                qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
                qb.build()
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(|r| {
                        let detail: String = r.try_get("detail")?;
                        Ok(AuditRecord {
                            id: r.try_get("id")?,
                            event: AuditEvent {
                                at: r.try_get("at")?,
                                event: r.try_get("event")?,
                                actor: q::opt_uuid("audit_events", r.try_get("actor")?)?,
                                subject: q::opt_uuid("audit_events", r.try_get("subject")?)?,
                                client_id: q::opt_uuid("audit_events", r.try_get("client_id")?)?,
                                remote_addr: r.try_get("remote_addr")?,
                                detail: ::serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt {
                                    table: "audit_events",
                                    detail: format!("bad detail JSON: {e}"),
                                })?,
                            },
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_repositories;
