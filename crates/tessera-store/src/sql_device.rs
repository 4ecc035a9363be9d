//! The SQL of RFC 8628 device grants (`DeviceRepository`). Expanded beside the rest of the SQL
//! (`sql::impl_repositories`) for both backends; a file of its own so `sql.rs` does not grow.
//!
//! Every state change is one conditional UPDATE whose WHERE names the state it leaves: on
//! PostgreSQL a second UPDATE of the same row waits for the first to commit, then finds the
//! state changed and updates nothing; SQLite has one writer. So a grant is decided once and
//! redeemed once, whichever node each request reaches.

/// `DeviceRepository` for `$store`.
macro_rules! impl_device_grants {
    ($store:ty, $db:ty, $row:ty) => {
        const DEVICE_COLUMNS: &str = "device_code_hash, user_code, client_id, scope, offline, state, identity_id, \
            session_id, auth_time, effective_identity, interval_s, last_polled_at, created_at, expires_at";

        fn device_grant_from_row(
            r: &$row,
        ) -> Result<::tessera_core::grant::device_code::DeviceGrant, StoreError> {
            use ::tessera_core::grant::device_code::{Approval, DeviceGrant, DeviceState, UserCode};
            let t = "device_grants";
            let corrupt = |detail: String| StoreError::Corrupt { table: t, detail };
            let hash = SecretHash::from_slice(&r.try_get::<Vec<u8>, _>("device_code_hash")?)
                .ok_or_else(|| corrupt("device_code_hash is not 32 bytes".into()))?;
            let user_code: String = r.try_get("user_code")?;
            let user_code = UserCode::parse(&user_code)
                .ok_or_else(|| corrupt("user_code is not a user code".into()))?;
            let approval = || -> Result<Approval, StoreError> {
                Ok(Approval {
                    identity_id: q::uuid(
                        t,
                        &r.try_get::<Option<String>, _>("identity_id")?
                            .ok_or_else(|| corrupt("approved without identity_id".into()))?,
                    )?,
                    session_id: q::uuid(
                        t,
                        &r.try_get::<Option<String>, _>("session_id")?
                            .ok_or_else(|| corrupt("approved without session_id".into()))?,
                    )?,
                    auth_time: r
                        .try_get::<Option<i64>, _>("auth_time")?
                        .ok_or_else(|| corrupt("approved without auth_time".into()))?,
                    effective_identity: q::opt_uuid(t, r.try_get("effective_identity")?)?,
                })
            };
            let state = match r.try_get::<String, _>("state")?.as_str() {
                "pending" => DeviceState::Pending,
                "denied" => DeviceState::Denied,
                "approved" => DeviceState::Approved(approval()?),
                "redeemed" => DeviceState::Redeemed(approval()?),
                other => return Err(corrupt(format!("state {other:?}"))),
            };
            Ok(DeviceGrant {
                device_code_hash: hash,
                user_code,
                client_id: q::uuid(t, &r.try_get::<String, _>("client_id")?)?,
                scope: r.try_get("scope")?,
                offline: r.try_get("offline")?,
                state,
                interval: r.try_get("interval_s")?,
                last_polled_at: r.try_get("last_polled_at")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        }

        #[async_trait]
        impl $crate::DeviceRepository for $store {
            async fn insert_device_grant(
                &self,
                g: &::tessera_core::grant::device_code::DeviceGrant,
            ) -> Result<(), StoreError> {
                ::sqlx::query(&format!(
                    "INSERT INTO device_grants ({DEVICE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, $7, $8, $9, $10)"
                ))
                .bind(g.device_code_hash.as_bytes().to_vec())
                .bind(g.user_code.as_str())
                .bind(g.client_id.to_string())
                .bind(&g.scope)
                .bind(g.offline)
                .bind(g.state.as_str())
                .bind(g.interval)
                .bind(g.last_polled_at)
                .bind(g.created_at)
                .bind(g.expires_at)
                .execute(&self.writer)
                .await
                .map_err(conflict("a device grant with this code"))?;
                Ok(())
            }

            async fn device_grant(
                &self,
                hash: &SecretHash,
            ) -> Result<Option<::tessera_core::grant::device_code::DeviceGrant>, StoreError> {
                // From the writer: a poll right after the approval must see it.
                ::sqlx::query(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM device_grants WHERE device_code_hash = $1"
                ))
                .bind(hash.as_bytes().to_vec())
                .fetch_optional(&self.writer)
                .await?
                .as_ref()
                .map(device_grant_from_row)
                .transpose()
            }

            async fn device_grant_by_user_code(
                &self,
                code: &::tessera_core::grant::device_code::UserCode,
            ) -> Result<Option<::tessera_core::grant::device_code::DeviceGrant>, StoreError> {
                ::sqlx::query(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM device_grants WHERE user_code = $1"
                ))
                .bind(code.as_str())
                .fetch_optional(&self.reader)
                .await?
                .as_ref()
                .map(device_grant_from_row)
                .transpose()
            }

            async fn record_device_poll(
                &self,
                hash: &SecretHash,
                at: UnixTime,
                interval: i64,
            ) -> Result<(), StoreError> {
                ::sqlx::query(
                    "UPDATE device_grants SET last_polled_at = $2, interval_s = $3 WHERE device_code_hash = $1",
                )
                .bind(hash.as_bytes().to_vec())
                .bind(at)
                .bind(interval)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn decide_device_grant(
                &self,
                code: &::tessera_core::grant::device_code::UserCode,
                approval: Option<&::tessera_core::grant::device_code::Approval>,
                at: UnixTime,
            ) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE device_grants SET state = $2, identity_id = $3, session_id = $4, auth_time = $5, \
                     effective_identity = $6 \
                     WHERE user_code = $1 AND state = 'pending' AND expires_at > $7",
                )
                .bind(code.as_str())
                .bind(if approval.is_some() { "approved" } else { "denied" })
                .bind(approval.map(|a| a.identity_id.to_string()))
                .bind(approval.map(|a| a.session_id.to_string()))
                .bind(approval.map(|a| a.auth_time))
                .bind(approval.and_then(|a| a.effective_identity).map(|u| u.to_string()))
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn redeem_device_grant(
                &self,
                hash: &SecretHash,
                at: UnixTime,
            ) -> Result<Option<::tessera_core::grant::device_code::DeviceGrant>, StoreError> {
                ::sqlx::query(&format!(
                    "UPDATE device_grants SET state = 'redeemed', last_polled_at = $2 \
                     WHERE device_code_hash = $1 AND state = 'approved' AND expires_at > $2 \
                     RETURNING {DEVICE_COLUMNS}"
                ))
                .bind(hash.as_bytes().to_vec())
                .bind(at)
                .fetch_optional(&self.writer)
                .await?
                .as_ref()
                .map(device_grant_from_row)
                .transpose()
            }
        }
    };
}

pub(crate) use impl_device_grants;
