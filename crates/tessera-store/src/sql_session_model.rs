//! The SQL of the Globus session model and TOTP second factors (`SessionModelRepository`).
//! Expanded beside the rest of the SQL (`sql::impl_repositories`) for both backends.
//!
//! A used TOTP step is one conditional UPDATE (`WHERE last_step < $2`), and a recovery code one
//! conditional UPDATE (`WHERE used_at IS NULL`): of two nodes accepting the same code at once,
//! only one changes a row.

/// `SessionModelRepository` for `$store`.
macro_rules! impl_session_model {
    ($store:ty, $db:ty, $row:ty) => {
        #[async_trait]
        impl $crate::SessionModelRepository for $store {
            async fn record_authentication(
                &self,
                session_id: Uuid,
                a: &::tessera_core::session::SessionAuthentication,
            ) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO session_authentications (session_id, identity_id, idp, auth_time, mfa) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (session_id, identity_id) DO UPDATE SET \
                     idp = excluded.idp, auth_time = excluded.auth_time, mfa = excluded.mfa",
                )
                .bind(session_id.to_string())
                .bind(a.identity_id.to_string())
                .bind(a.idp.to_string())
                .bind(a.auth_time)
                .bind(a.mfa)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn session_authentications(
                &self,
                session_id: Uuid,
            ) -> Result<Vec<::tessera_core::session::SessionAuthentication>, StoreError> {
                let t = "session_authentications";
                // From the writer: the authorization right after a sign-in must see it.
                let rows = ::sqlx::query(
                    "SELECT identity_id, idp, auth_time, mfa FROM session_authentications \
                     WHERE session_id = $1 ORDER BY auth_time, identity_id",
                )
                .bind(session_id.to_string())
                .fetch_all(&self.writer)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(::tessera_core::session::SessionAuthentication {
                            identity_id: q::uuid(t, &r.try_get::<String, _>("identity_id")?)?,
                            idp: q::uuid(t, &r.try_get::<String, _>("idp")?)?,
                            auth_time: r.try_get("auth_time")?,
                            mfa: r.try_get("mfa")?,
                        })
                    })
                    .collect()
            }

            async fn insert_session_requirements(
                &self,
                request_id: Uuid,
                requirements: &::tessera_core::session::SessionRequirements,
                expires_at: UnixTime,
            ) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO authorization_session_requirements (request_id, requirements, expires_at) \
                     VALUES ($1, $2, $3)",
                )
                .bind(request_id.to_string())
                .bind(q::to_json(requirements))
                .bind(expires_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("session requirements for this request"))?;
                Ok(())
            }

            async fn session_requirements(
                &self,
                request_id: Uuid,
            ) -> Result<Option<::tessera_core::session::SessionRequirements>, StoreError> {
                let row = ::sqlx::query(
                    "SELECT requirements FROM authorization_session_requirements WHERE request_id = $1",
                )
                .bind(request_id.to_string())
                .fetch_optional(&self.writer)
                .await?;
                row.map(|r| {
                    let text: String = r.try_get("requirements")?;
                    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                        table: "authorization_session_requirements",
                        detail: e.to_string(),
                    })
                })
                .transpose()
            }

            async fn totp_credential(
                &self,
                identity_id: Uuid,
            ) -> Result<Option<$crate::TotpCredential>, StoreError> {
                let row = ::sqlx::query(
                    "SELECT identity_id, secret, last_step, created_at FROM totp_credentials \
                     WHERE identity_id = $1",
                )
                .bind(identity_id.to_string())
                .fetch_optional(&self.writer)
                .await?;
                row.map(|r| {
                    Ok($crate::TotpCredential {
                        identity_id: q::uuid(
                            "totp_credentials",
                            &r.try_get::<String, _>("identity_id")?,
                        )?,
                        secret: r.try_get("secret")?,
                        last_step: r.try_get("last_step")?,
                        created_at: r.try_get("created_at")?,
                    })
                })
                .transpose()
            }

            async fn enrol_totp(
                &self,
                c: &$crate::TotpCredential,
                recovery_codes: &[SecretHash],
            ) -> Result<(), StoreError> {
                let mut tx = self.writer.begin().await?;
                ::sqlx::query(
                    "INSERT INTO totp_credentials (identity_id, secret, last_step, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (identity_id) DO UPDATE SET \
                     secret = excluded.secret, last_step = excluded.last_step, created_at = excluded.created_at",
                )
                .bind(c.identity_id.to_string())
                .bind(&c.secret)
                .bind(c.last_step)
                .bind(c.created_at)
                .execute(&mut *tx)
                .await?;
                ::sqlx::query("DELETE FROM mfa_recovery_codes WHERE identity_id = $1")
                    .bind(c.identity_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                for h in recovery_codes {
                    ::sqlx::query(
                        "INSERT INTO mfa_recovery_codes (hash, identity_id, used_at) VALUES ($1, $2, NULL)",
                    )
                    .bind(h.as_bytes().to_vec())
                    .bind(c.identity_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict("a recovery code"))?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn use_totp_step(&self, identity_id: Uuid, step: i64) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE totp_credentials SET last_step = $2 WHERE identity_id = $1 AND last_step < $2",
                )
                .bind(identity_id.to_string())
                .bind(step)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_recovery_code(
                &self,
                identity_id: Uuid,
                hash: &SecretHash,
                at: UnixTime,
            ) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE mfa_recovery_codes SET used_at = $3 \
                     WHERE hash = $1 AND identity_id = $2 AND used_at IS NULL",
                )
                .bind(hash.as_bytes().to_vec())
                .bind(identity_id.to_string())
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn recovery_codes_left(&self, identity_id: Uuid) -> Result<i64, StoreError> {
                let n: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM mfa_recovery_codes WHERE identity_id = $1 AND used_at IS NULL",
                )
                .bind(identity_id.to_string())
                .fetch_one(&self.writer)
                .await?;
                Ok(n)
            }

            async fn remove_totp(&self, identity_id: Uuid) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                let done = ::sqlx::query("DELETE FROM totp_credentials WHERE identity_id = $1")
                    .bind(identity_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                ::sqlx::query("DELETE FROM mfa_recovery_codes WHERE identity_id = $1")
                    .bind(identity_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_mfa_challenge(
                &self,
                hash: &SecretHash,
                identity_id: Uuid,
                expires_at: UnixTime,
            ) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO mfa_challenges (hash, identity_id, expires_at) VALUES ($1, $2, $3)",
                )
                .bind(hash.as_bytes().to_vec())
                .bind(identity_id.to_string())
                .bind(expires_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("an MFA challenge"))?;
                Ok(())
            }

            async fn mfa_challenge(
                &self,
                hash: &SecretHash,
                now: UnixTime,
            ) -> Result<Option<Uuid>, StoreError> {
                let id: Option<String> = ::sqlx::query_scalar(
                    "SELECT identity_id FROM mfa_challenges WHERE hash = $1 AND expires_at > $2",
                )
                .bind(hash.as_bytes().to_vec())
                .bind(now)
                .fetch_optional(&self.writer)
                .await?;
                id.map(|i| q::uuid("mfa_challenges", &i)).transpose()
            }

            async fn delete_mfa_challenge(&self, hash: &SecretHash) -> Result<bool, StoreError> {
                let done = ::sqlx::query("DELETE FROM mfa_challenges WHERE hash = $1")
                    .bind(hash.as_bytes().to_vec())
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_session_model;
