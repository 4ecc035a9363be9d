//! Deleting a client with everything that hangs on it, in one transaction. Expanded beside the
//! rest of the SQL (`sql::impl_repositories`) for both backends; a file of its own so `sql.rs`
//! does not grow.

/// An inherent `delete_client_cascade` for `$store` (see `ClientRepository::delete_client`).
macro_rules! impl_client_deletion {
    ($store:ty, $db:ty, $row:ty) => {
        impl $store {
            async fn delete_client_cascade(
                &self,
                id: Uuid,
                at: UnixTime,
            ) -> Result<Option<$crate::DeletedClient>, StoreError> {
                let id_text = id.to_string();
                let mut tx = self.writer.begin().await?;
                // The client's row lock first (PostgreSQL; SQLite has one writer): nothing can
                // be added to it while it goes.
                if !Self::lock_client(&mut tx, &id_text).await? {
                    return Ok(None);
                }
                let children: i64 = ::sqlx::query("SELECT count(*) AS n FROM clients WHERE parent_client = $1")
                    .bind(&id_text)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if children > 0 {
                    return Err(StoreError::Conflict("child clients"));
                }
                // The tokens it holds, and the tokens others hold for its scopes (their
                // resource server goes with it). Expired ones are refused already.
                let revoked = ::sqlx::query(
                    "UPDATE tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND expires_at > $2 \
                     AND (client_id = $1 OR resource_server IN (SELECT resource_server FROM scopes WHERE client_id = $1)) \
                     RETURNING hash",
                )
                .bind(&id_text)
                .bind(at)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| {
                    let hash: Vec<u8> = r.try_get("hash")?;
                    SecretHash::from_slice(&hash).ok_or(StoreError::Corrupt {
                        table: "tokens",
                        detail: "hash is not 32 bytes".into(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
                // Consents it holds or that name its scopes, and everything beneath them, of
                // each identity that gave any.
                let identities: Vec<String> = ::sqlx::query(
                    "SELECT DISTINCT identity_id FROM consents WHERE client_id = $1 \
                     OR scope_id IN (SELECT id FROM scopes WHERE client_id = $1)",
                )
                .bind(&id_text)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("identity_id"))
                .collect::<Result<_, _>>()?;
                let scope_ids: Vec<Uuid> = ::sqlx::query("SELECT id FROM scopes WHERE client_id = $1")
                    .bind(&id_text)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| q::uuid("scopes", &r.try_get::<String, _>("id")?))
                    .collect::<Result<_, _>>()?;
                let mut consent_ids = Vec::new();
                let mut consents_of = Vec::with_capacity(identities.len());
                for identity in &identities {
                    let all: Vec<Consent> = ::sqlx::query(&format!(
                        "SELECT {CONSENT_COLUMNS} FROM consents WHERE identity_id = $1"
                    ))
                    .bind(identity)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(consent_from_row)
                    .collect::<Result<_, _>>()?;
                    let roots: Vec<&[i64]> = all
                        .iter()
                        .filter(|c| c.client_id == id || scope_ids.contains(&c.scope_id))
                        .map(|c| c.dependency_path.as_slice())
                        .collect();
                    consent_ids.extend(
                        all.iter()
                            .filter(|c| roots.iter().any(|r| c.dependency_path.starts_with(r)))
                            .map(|c| c.id),
                    );
                    consents_of.push(q::uuid("consents", identity)?);
                }
                for chunk in consent_ids.chunks(500) {
                    let mut qb = QueryBuilder::<$db>::new("DELETE FROM consents WHERE id IN (");
                    let mut sep = qb.separated(", ");
                    for c in chunk {
                        sep.push_bind(*c);
                    }
                    qb.push(")");
                    qb.build().execute(&mut *tx).await?;
                }
                for table in ["authorization_requests", "authorization_codes"] {
                    ::sqlx::query(&format!("DELETE FROM {table} WHERE client_id = $1"))
                        .bind(&id_text)
                        .execute(&mut *tx)
                        .await?;
                }
                // Credentials, scopes and FQDNs cascade.
                ::sqlx::query("DELETE FROM clients WHERE id = $1")
                    .bind(&id_text)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some($crate::DeletedClient {
                    revoked,
                    consents: consent_ids.len(),
                    consents_of,
                }))
            }
        }
    };
}

pub(crate) use impl_client_deletion;
