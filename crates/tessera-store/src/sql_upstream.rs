//! The SQL of upstream identity providers (`UpstreamRepository`). Expanded beside the rest of
//! the SQL (`sql::impl_repositories`) for both backends; a file of its own so `sql.rs` does not
//! grow.

/// `UpstreamRepository` for `$store`.
macro_rules! impl_upstream {
    ($store:ty, $db:ty, $row:ty) => {
        const UPSTREAM_COLUMNS: &str = "id, name, issuer, client_id, client_secret, domains, scopes, \
            username_claim, trust_mfa, metadata, created_at";

        fn upstream_from_row(r: &$row) -> Result<::tessera_core::upstream::UpstreamIdp, StoreError> {
            let t = "upstream_idps";
            Ok(::tessera_core::upstream::UpstreamIdp {
                id: q::uuid(t, &r.try_get::<String, _>("id")?)?,
                name: r.try_get("name")?,
                issuer: r.try_get("issuer")?,
                client_id: r.try_get("client_id")?,
                client_secret: r.try_get("client_secret")?,
                domains: q::json_list(t, &r.try_get::<String, _>("domains")?)?,
                scopes: q::json_list(t, &r.try_get::<String, _>("scopes")?)?,
                username_claim: r.try_get("username_claim")?,
                trust_mfa: r.try_get("trust_mfa")?,
                metadata: r.try_get("metadata")?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn upstream_login_from_row(
            r: &$row,
        ) -> Result<::tessera_core::upstream::UpstreamLogin, StoreError> {
            let t = "upstream_logins";
            let purpose: String = r.try_get("purpose")?;
            Ok(::tessera_core::upstream::UpstreamLogin {
                state_hash: SecretHash::from_slice(&r.try_get::<Vec<u8>, _>("state_hash")?)
                    .ok_or(StoreError::Corrupt { table: t, detail: "state_hash is not 32 bytes".into() })?,
                idp_id: q::uuid(t, &r.try_get::<String, _>("idp_id")?)?,
                nonce: r.try_get("nonce")?,
                pkce_verifier: r.try_get("pkce_verifier")?,
                request: r.try_get("request")?,
                next: r.try_get("next")?,
                purpose: ::tessera_core::upstream::LoginPurpose::parse(&purpose)
                    .ok_or(StoreError::Corrupt { table: t, detail: format!("purpose {purpose:?}") })?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        }

        #[async_trait]
        impl $crate::UpstreamRepository for $store {
            async fn insert_upstream_idp(
                &self,
                idp: &::tessera_core::upstream::UpstreamIdp,
            ) -> Result<(), StoreError> {
                ::sqlx::query(&format!(
                    "INSERT INTO upstream_idps ({UPSTREAM_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ))
                .bind(idp.id.to_string())
                .bind(&idp.name)
                .bind(&idp.issuer)
                .bind(&idp.client_id)
                .bind(&idp.client_secret)
                .bind(q::to_json(&idp.domains))
                .bind(q::to_json(&idp.scopes))
                .bind(&idp.username_claim)
                .bind(idp.trust_mfa)
                .bind(&idp.metadata)
                .bind(idp.created_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("an identity provider with this issuer"))?;
                Ok(())
            }

            async fn upstream_idps(
                &self,
            ) -> Result<Vec<::tessera_core::upstream::UpstreamIdp>, StoreError> {
                ::sqlx::query(&format!(
                    "SELECT {UPSTREAM_COLUMNS} FROM upstream_idps ORDER BY created_at, id"
                ))
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(upstream_from_row)
                .collect()
            }

            async fn upstream_idp(
                &self,
                id: Uuid,
            ) -> Result<Option<::tessera_core::upstream::UpstreamIdp>, StoreError> {
                ::sqlx::query(&format!("SELECT {UPSTREAM_COLUMNS} FROM upstream_idps WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.reader)
                    .await?
                    .as_ref()
                    .map(upstream_from_row)
                    .transpose()
            }

            async fn delete_upstream_idp(&self, id: Uuid) -> Result<bool, StoreError> {
                let done = ::sqlx::query("DELETE FROM upstream_idps WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn upstream_identity(
                &self,
                issuer: &str,
                subject: &str,
            ) -> Result<Option<Identity>, StoreError> {
                let cols = IDENTITY_COLUMNS.split(", ").map(|c| format!("i.{c}")).collect::<Vec<_>>().join(", ");
                ::sqlx::query(&format!(
                    "SELECT {cols} FROM identities i JOIN upstream_identities u ON u.identity_id = i.id \
                     WHERE u.issuer = $1 AND u.subject = $2"
                ))
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&self.writer)
                .await?
                .as_ref()
                .map(identity_from_row)
                .transpose()
            }

            async fn insert_upstream_identity(
                &self,
                i: &Identity,
                issuer: &str,
                subject: &str,
            ) -> Result<(), StoreError> {
                let mut tx = self.writer.begin().await?;
                ::sqlx::query(
                    "INSERT INTO identities (id, username, username_normalized, name, email, organization, \
                     identity_provider, status, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9)",
                )
                .bind(i.id.to_string())
                .bind(&i.username)
                .bind(::tessera_core::identity::normalize_username(&i.username))
                .bind(&i.name)
                .bind(&i.email)
                .bind(&i.organization)
                .bind(i.identity_provider.to_string())
                .bind(i.status.as_str())
                .bind(i.created_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("an identity with this username"))?;
                ::sqlx::query(
                    "INSERT INTO upstream_identities (issuer, subject, identity_id, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(issuer)
                .bind(subject)
                .bind(i.id.to_string())
                .bind(i.created_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("this upstream identity"))?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_upstream_login(
                &self,
                l: &::tessera_core::upstream::UpstreamLogin,
            ) -> Result<(), StoreError> {
                // Abandoned sign-ins go here rather than in the cleanup rounds: a few at a time.
                ::sqlx::query(
                    "DELETE FROM upstream_logins WHERE state_hash IN \
                     (SELECT state_hash FROM upstream_logins WHERE expires_at < $1 LIMIT 100)",
                )
                .bind(l.created_at)
                .execute(&self.writer)
                .await?;
                ::sqlx::query(
                    "INSERT INTO upstream_logins (state_hash, idp_id, nonce, pkce_verifier, request, next, \
                     purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(l.state_hash.as_bytes().to_vec())
                .bind(l.idp_id.to_string())
                .bind(&l.nonce)
                .bind(&l.pkce_verifier)
                .bind(&l.request)
                .bind(&l.next)
                .bind(l.purpose.as_str())
                .bind(l.created_at)
                .bind(l.expires_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("a sign-in with this state"))?;
                Ok(())
            }

            async fn claim_upstream_login(
                &self,
                state_hash: &SecretHash,
                at: UnixTime,
            ) -> Result<Option<::tessera_core::upstream::UpstreamLogin>, StoreError> {
                ::sqlx::query(
                    "DELETE FROM upstream_logins WHERE state_hash = $1 AND expires_at > $2 \
                     RETURNING state_hash, idp_id, nonce, pkce_verifier, request, next, purpose, created_at, expires_at",
                )
                .bind(state_hash.as_bytes().to_vec())
                .bind(at)
                .fetch_optional(&self.writer)
                .await?
                .as_ref()
                .map(upstream_login_from_row)
                .transpose()
            }
        }
    };
}

pub(crate) use impl_upstream;
