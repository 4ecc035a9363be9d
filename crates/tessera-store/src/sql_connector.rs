//! The SQL of `ConnectorRepository`, written once and expanded for SQLite and PostgreSQL.

macro_rules! impl_connectors {
    ($store:ty, $db:ty, $row:ty) => {
        mod connector_sql {
            use ::async_trait::async_trait;
            use ::sqlx::Row;
            use ::tessera_core::clock::UnixTime;
            use ::tessera_core::secret::SecretHash;
            use ::uuid::Uuid;
            use $crate::connector::*;
            use $crate::sql::{self as q, conflict};
            use $crate::StoreError;

            const COLUMNS: &str =
                "id, name, secret_hash, public_url, cert_fingerprint, last_seen, created_at";

            fn from_row(r: &$row) -> Result<ConnectorRecord, StoreError> {
                const T: &str = "transfer_connectors";
                Ok(ConnectorRecord {
                    id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                    name: r.try_get("name")?,
                    secret_hash: SecretHash::from_slice(&r.try_get::<Vec<u8>, _>("secret_hash")?)
                        .ok_or(StoreError::Corrupt {
                            table: T,
                            detail: "secret_hash is not 32 bytes".into(),
                        })?,
                    public_url: r.try_get("public_url")?,
                    cert_fingerprint: r.try_get("cert_fingerprint")?,
                    last_seen: r.try_get("last_seen")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            #[async_trait]
            impl ConnectorRepository for $store {
                async fn insert_connector(&self, c: &ConnectorRecord) -> Result<(), StoreError> {
                    ::sqlx::query(&format!(
                        "INSERT INTO transfer_connectors ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    ))
                    .bind(c.id.to_string())
                    .bind(&c.name)
                    .bind(c.secret_hash.as_bytes().to_vec())
                    .bind(&c.public_url)
                    .bind(&c.cert_fingerprint)
                    .bind(c.last_seen)
                    .bind(c.created_at)
                    .execute(&self.writer)
                    .await
                    .map_err(conflict("a connector with this name"))?;
                    Ok(())
                }

                async fn connector(&self, id: Uuid) -> Result<Option<ConnectorRecord>, StoreError> {
                    ::sqlx::query(&format!("SELECT {COLUMNS} FROM transfer_connectors WHERE id = $1"))
                        .bind(id.to_string())
                        .fetch_optional(&self.reader)
                        .await?
                        .as_ref()
                        .map(from_row)
                        .transpose()
                }

                async fn connectors(&self) -> Result<Vec<ConnectorRecord>, StoreError> {
                    ::sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM transfer_connectors ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(from_row)
                    .collect()
                }

                async fn connector_seen(
                    &self,
                    id: Uuid,
                    public_url: &str,
                    cert_fingerprint: Option<&str>,
                    at: UnixTime,
                ) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_connectors SET public_url = $2, cert_fingerprint = $3, last_seen = $4 \
                         WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .bind(public_url)
                    .bind(cert_fingerprint)
                    .bind(at)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_connector(&self, id: Uuid) -> Result<bool, StoreError> {
                    let mut tx = self.writer.begin().await?;
                    let used: i64 = ::sqlx::query(
                        "SELECT COUNT(*) AS n FROM transfer_endpoints WHERE connector_id = $1",
                    )
                    .bind(id.to_string())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                    if used > 0 {
                        return Err(StoreError::Conflict("endpoints served by this connector"));
                    }
                    let done = ::sqlx::query("DELETE FROM transfer_connectors WHERE id = $1")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() > 0)
                }
            }
        }
    };
}

pub(crate) use impl_connectors;
