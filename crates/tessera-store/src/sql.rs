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
        use ::tessera_core::scope::Scope;
        use ::tessera_core::secret::SecretHash;
        use ::tessera_core::token::TokenKind;
        use ::uuid::Uuid;
        use $crate::sql::{self as q, conflict};
        use $crate::{
            AuthorizationRepository, ClientRepository, ConsentParent, ConsentRepository, IdentityRepository, KeyRepository,
            NewConsent, ScopeRepository, SessionRepository, StoreError, StoredKey, TokenRepository,
        };

        const IDENTITY_COLUMNS: &str =
            "id, username, name, email, organization, identity_provider, status, created_at";
        const CLIENT_COLUMNS: &str = "id, name, client_type, visibility, redirect_uris, fqdns, privacy_policy, \
            terms_and_conditions, parent_client, project, required_idp, preselect_idp, allows_templating, \
            resource_server_name, created_at, access_token_format";
        const SCOPE_COLUMNS: &str = "id, client_id, resource_server, scope_string, name, description, advertised, \
            allows_refresh_token, required_domains, dependent_scopes, created_at";
        const TOKEN_COLUMNS: &str = "hash, kind, client_id, subject, subject_kind, resource_server, scope, issued_at, \
            expires_at, revoked_at, family_id, session_id, auth_time, parent, rotated_at";
        const CODE_COLUMNS: &str = "hash, client_id, redirect_uri, scope, code_challenge, identity_id, session_id, \
            auth_time, offline, nonce, family_id, created_at, expires_at, exchanged_at";
        const PENDING_COLUMNS: &str = "id, client_id, redirect_uri, scope, state, code_challenge, nonce, offline, \
            force_login, created_at, expires_at";
        const CONSENT_COLUMNS: &str = "id, identity_id, client_id, scope_id, scope_string, dependency_path, created_at, \
            updated_at, last_used_at, allows_refresh, auto_approved";

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
                let sql = format!(
                    "INSERT INTO clients ({CLIENT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16){}",
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
                    .bind(c.access_token_format.as_str())
                    .execute(&self.writer)
                    .await
                    .map_err(conflict("a client with this id"))?;
                Ok(())
            }

            async fn write_scope(&self, s: &Scope, seed: bool) -> Result<(), StoreError> {
                let sql = format!(
                    "INSERT INTO scopes ({SCOPE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11){}",
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
                     required_domains = $6, dependent_scopes = $7 WHERE id = $1",
                )
                .bind(s.id.to_string())
                .bind(&s.name)
                .bind(&s.description)
                .bind(s.advertised)
                .bind(s.allows_refresh_token)
                .bind(q::to_json(&s.required_domains))
                .bind(q::dependents_to_json(&s.dependent_scopes))
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
                /// 15 parameters a row; 64 rows a statement stays under every bind limit.
                const ROWS: usize = 64;
                fn statement(chunk: &[TokenRecord]) -> QueryBuilder<'static, $db> {
                    let mut qb = QueryBuilder::<$db>::new(format!("INSERT INTO tokens ({TOKEN_COLUMNS}) "));
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.hash.as_bytes().to_vec())
                            .push_bind(r.kind.as_str())
                            .push_bind(r.client_id.to_string())
                            .push_bind(r.subject.to_string())
                            .push_bind(r.subject_kind.as_str())
                            .push_bind(r.resource_server.clone())
                            .push_bind(r.scope.clone())
                            .push_bind(r.issued_at)
                            .push_bind(r.expires_at)
                            .push_bind(r.revoked_at)
                            .push_bind(r.family_id.map(|u| u.to_string()))
                            .push_bind(r.session_id.map(|u| u.to_string()))
                            .push_bind(r.auth_time)
                            .push_bind(r.parent.map(|p| p.as_bytes().to_vec()))
                            .push_bind(r.rotated_at);
                    });
                    qb
                }
                match records.len() {
                    0 => Ok(()),
                    // One statement is atomic by itself: one round trip to the database instead
                    // of three (BEGIN, INSERT, COMMIT) on the issuance hot path.
                    n if n <= ROWS => {
                        statement(records).build().execute(&self.writer).await.map_err(conflict("a token with this hash"))?;
                        Ok(())
                    }
                    _ => {
                        let mut tx = self.writer.begin().await?;
                        for chunk in records.chunks(ROWS) {
                            statement(chunk).build().execute(&mut *tx).await.map_err(conflict("a token with this hash"))?;
                        }
                        tx.commit().await?;
                        Ok(())
                    }
                }
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
                Ok(())
            }

            async fn insert_code(&self, c: &AuthorizationCode) -> Result<(), StoreError> {
                ::sqlx::query(&format!(
                    "INSERT INTO authorization_codes ({CODE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
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
            async fn insert_consents(
                &self,
                identity: Uuid,
                nodes: &[NewConsent],
                now: UnixTime,
            ) -> Result<Vec<Consent>, StoreError> {
                let mut tx = self.writer.begin().await?;
                let mut out: Vec<Consent> = Vec::with_capacity(nodes.len());
                for n in nodes {
                    let row = ::sqlx::query(
                        "INSERT INTO consents (identity_id, client_id, scope_id, scope_string, dependency_path, \
                         created_at, updated_at, last_used_at, allows_refresh, auto_approved) \
                         VALUES ($1, $2, $3, $4, '[]', $5, $5, $5, $6, $7) RETURNING id",
                    )
                    .bind(identity.to_string())
                    .bind(n.client_id.to_string())
                    .bind(n.scope_id.to_string())
                    .bind(&n.scope_string)
                    .bind(now)
                    .bind(n.allows_refresh)
                    .bind(false)
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
                if $crate::Store::backend(self) == $crate::Backend::Postgres {
                    // Nodes that decide to rotate at once queue here; the second sees the first's key.
                    ::sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(q::SIGNING_KEY_LOCK)
                        .execute(&mut *tx)
                        .await?;
                }
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
        }
    };
}

pub(crate) use impl_repositories;
