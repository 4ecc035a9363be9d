//! The SQL of RFC 7591/7592 dynamic registration (`RegistrationRepository`). Expanded beside the
//! rest of the SQL (`sql::impl_repositories`) for both backends.

/// `RegistrationRepository` for `$store`.
macro_rules! impl_registrations {
    ($store:ty, $db:ty, $row:ty) => {
        fn registration_from_row(
            r: &$row,
        ) -> Result<::tessera_core::registration::ClientRegistration, StoreError> {
            let t = "client_registrations";
            Ok(::tessera_core::registration::ClientRegistration {
                client_id: q::uuid(t, &r.try_get::<String, _>("client_id")?)?,
                metadata: r.try_get("metadata")?,
                access_token_hash: SecretHash::from_slice(
                    &r.try_get::<Vec<u8>, _>("access_token_hash")?,
                )
                .ok_or(StoreError::Corrupt {
                    table: t,
                    detail: "access_token_hash is not 32 bytes".into(),
                })?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        #[async_trait]
        impl $crate::RegistrationRepository for $store {
            async fn insert_registered_client(
                &self,
                client: &Client,
                credential: Option<&ClientCredential>,
                reg: &::tessera_core::registration::ClientRegistration,
            ) -> Result<(), StoreError> {
                let mut tx = self.writer.begin().await?;
                Self::write_client_on(&mut *tx, client, false).await?;
                if let Some(c) = credential {
                    ::sqlx::query(
                        "INSERT INTO client_credentials (id, client_id, name, secret_hash, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(c.id.to_string())
                    .bind(c.client_id.to_string())
                    .bind(&c.name)
                    .bind(c.secret_hash.as_bytes().to_vec())
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict("a credential with this id"))?;
                }
                ::sqlx::query(
                    "INSERT INTO client_registrations (client_id, metadata, access_token_hash, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(reg.client_id.to_string())
                .bind(&reg.metadata)
                .bind(reg.access_token_hash.as_bytes().to_vec())
                .bind(reg.created_at)
                .bind(reg.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("a registration with this client id or token"))?;
                tx.commit().await?;
                Ok(())
            }

            async fn registration_by_token(
                &self,
                hash: &SecretHash,
            ) -> Result<Option<::tessera_core::registration::ClientRegistration>, StoreError> {
                ::sqlx::query(
                    "SELECT client_id, metadata, access_token_hash, created_at, updated_at \
                     FROM client_registrations WHERE access_token_hash = $1",
                )
                .bind(hash.as_bytes().to_vec())
                .fetch_optional(&self.writer)
                .await?
                .as_ref()
                .map(registration_from_row)
                .transpose()
            }

            async fn update_registered_client(
                &self,
                c: &Client,
                reg: &::tessera_core::registration::ClientRegistration,
            ) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                let done = ::sqlx::query(
                    "UPDATE client_registrations SET metadata = $2, updated_at = $3 WHERE client_id = $1",
                )
                .bind(reg.client_id.to_string())
                .bind(&reg.metadata)
                .bind(reg.updated_at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                ::sqlx::query(
                    "UPDATE clients SET name = $2, redirect_uris = $3, privacy_policy = $4, terms_and_conditions = $5 \
                     WHERE id = $1",
                )
                .bind(c.id.to_string())
                .bind(&c.name)
                .bind(q::to_json(&c.redirect_uris))
                .bind(&c.links.privacy_policy)
                .bind(&c.links.terms_and_conditions)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn insert_initial_access_token(
                &self,
                hash: &SecretHash,
                uses: i64,
                created_at: UnixTime,
                expires_at: UnixTime,
            ) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO initial_access_tokens (hash, uses_left, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(hash.as_bytes().to_vec())
                .bind(uses)
                .bind(created_at)
                .bind(expires_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("an initial access token with this hash"))?;
                Ok(())
            }

            async fn use_initial_access_token(
                &self,
                hash: &SecretHash,
                at: UnixTime,
            ) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE initial_access_tokens SET uses_left = uses_left - 1 \
                     WHERE hash = $1 AND uses_left > 0 AND expires_at > $2",
                )
                .bind(hash.as_bytes().to_vec())
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use impl_registrations;
