//! The SQL of [`crate::GroupRepository`], written once for both backends. Expanded beside
//! `sql::impl_repositories` (whose helpers and imports it uses) in each backend's module.

use crate::StoreError;
use tessera_core::group::{Policies, Role, Status};

pub(crate) fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt {
        table: "group_memberships",
        detail: format!("role {s:?}"),
    })
}

pub(crate) fn status(s: &str) -> Result<Status, StoreError> {
    Status::parse(s).ok_or_else(|| StoreError::Corrupt {
        table: "group_memberships",
        detail: format!("status {s:?}"),
    })
}

pub(crate) fn policies(s: &str) -> Result<Policies, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        table: "groups",
        detail: format!("bad policies: {e}"),
    })
}

macro_rules! impl_group_repository {
    ($store:ty, $db:ty, $row:ty) => {
        use ::tessera_core::group::{Group, Membership};
        use $crate::sql_groups as gq;
        use $crate::GroupRepository;

        const GROUP_COLUMNS: &str = "id, name, description, parent_id, terms_and_conditions, policies, \
            subscription_id, subscription_admin_verified_id, created_at, updated_at";
        const MEMBERSHIP_COLUMNS: &str = "group_id, identity_id, role, status, status_reason, \
            invite_email_address, invite_time, updated";

        fn group_from_row(r: &$row) -> Result<Group, StoreError> {
            Ok(Group {
                id: q::uuid("groups", &r.try_get::<String, _>("id")?)?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                parent_id: q::opt_uuid("groups", r.try_get("parent_id")?)?,
                terms_and_conditions: r.try_get("terms_and_conditions")?,
                policies: gq::policies(&r.try_get::<String, _>("policies")?)?,
                subscription_id: q::opt_uuid("groups", r.try_get("subscription_id")?)?,
                subscription_admin_verified_id: q::opt_uuid(
                    "groups",
                    r.try_get("subscription_admin_verified_id")?,
                )?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        fn membership_from_row(r: &$row) -> Result<Membership, StoreError> {
            Ok(Membership {
                group_id: q::uuid("group_memberships", &r.try_get::<String, _>("group_id")?)?,
                identity_id: q::uuid("group_memberships", &r.try_get::<String, _>("identity_id")?)?,
                role: gq::role(&r.try_get::<String, _>("role")?)?,
                status: gq::status(&r.try_get::<String, _>("status")?)?,
                status_reason: r.try_get("status_reason")?,
                invite_email_address: r.try_get("invite_email_address")?,
                invite_time: r.try_get("invite_time")?,
                updated: r.try_get("updated")?,
            })
        }

        impl $store {
            async fn insert_membership_row(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                m: &Membership,
            ) -> Result<bool, StoreError> {
                let done = ::sqlx::query(&format!(
                    "INSERT INTO group_memberships ({MEMBERSHIP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (group_id, identity_id) DO NOTHING"
                ))
                .bind(m.group_id.to_string())
                .bind(m.identity_id.to_string())
                .bind(m.role.as_str())
                .bind(m.status.as_str())
                .bind(&m.status_reason)
                .bind(&m.invite_email_address)
                .bind(m.invite_time)
                .bind(m.updated)
                .execute(&mut **tx)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl GroupRepository for $store {
            async fn insert_group(&self, g: &Group, creator: &Membership) -> Result<(), StoreError> {
                let mut tx = self.writer.begin().await?;
                ::sqlx::query(&format!(
                    "INSERT INTO groups ({GROUP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(g.id.to_string())
                .bind(&g.name)
                .bind(&g.description)
                .bind(g.parent_id.map(|p| p.to_string()))
                .bind(&g.terms_and_conditions)
                .bind(q::to_json(&g.policies))
                .bind(g.subscription_id.map(|p| p.to_string()))
                .bind(g.subscription_admin_verified_id.map(|p| p.to_string()))
                .bind(g.created_at)
                .bind(g.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict("a group with this id"))?;
                if !Self::insert_membership_row(&mut tx, creator).await? {
                    return Err(StoreError::Conflict("a membership of this identity"));
                }
                tx.commit().await?;
                Ok(())
            }

            async fn group(&self, id: Uuid) -> Result<Option<Group>, StoreError> {
                Ok(self.groups_by_ids(&[id]).await?.pop())
            }

            async fn groups_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Group>, StoreError> {
                select_in(&self.reader, GROUP_COLUMNS, "groups", "id", ids, group_from_row).await
            }

            async fn child_group_ids(&self, id: Uuid) -> Result<Vec<Uuid>, StoreError> {
                ::sqlx::query("SELECT id FROM groups WHERE parent_id = $1 ORDER BY created_at, id")
                    .bind(id.to_string())
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(|r| q::uuid("groups", &r.try_get::<String, _>("id")?))
                    .collect()
            }

            async fn update_group(&self, g: &Group) -> Result<bool, StoreError> {
                let done = ::sqlx::query(
                    "UPDATE groups SET name = $2, description = $3, terms_and_conditions = $4, policies = $5, \
                     subscription_admin_verified_id = $6, updated_at = $7 WHERE id = $1",
                )
                .bind(g.id.to_string())
                .bind(&g.name)
                .bind(&g.description)
                .bind(&g.terms_and_conditions)
                .bind(q::to_json(&g.policies))
                .bind(g.subscription_admin_verified_id.map(|p| p.to_string()))
                .bind(g.updated_at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_group(&self, id: Uuid) -> Result<Option<Group>, StoreError> {
                let id_text = id.to_string();
                let mut tx = self.writer.begin().await?;
                let Some(group) = ::sqlx::query(&format!("SELECT {GROUP_COLUMNS} FROM groups WHERE id = $1"))
                    .bind(&id_text)
                    .fetch_optional(&mut *tx)
                    .await?
                    .as_ref()
                    .map(group_from_row)
                    .transpose()?
                else {
                    return Ok(None);
                };
                let children: i64 = ::sqlx::query("SELECT count(*) AS n FROM groups WHERE parent_id = $1")
                    .bind(&id_text)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if children > 0 {
                    return Err(StoreError::Conflict("subgroups"));
                }
                // Memberships cascade (and are announced by their trigger on PostgreSQL).
                ::sqlx::query("DELETE FROM group_memberships WHERE group_id = $1")
                    .bind(&id_text)
                    .execute(&mut *tx)
                    .await?;
                ::sqlx::query("DELETE FROM groups WHERE id = $1")
                    .bind(&id_text)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(group))
            }

            async fn memberships_of_group(&self, id: Uuid) -> Result<Vec<Membership>, StoreError> {
                ::sqlx::query(&format!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM group_memberships WHERE group_id = $1 ORDER BY updated, identity_id"
                ))
                .bind(id.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(membership_from_row)
                .collect()
            }

            async fn memberships_of_identities(&self, ids: &[Uuid]) -> Result<Vec<Membership>, StoreError> {
                select_in(&self.reader, MEMBERSHIP_COLUMNS, "group_memberships", "identity_id", ids, membership_from_row)
                    .await
            }

            async fn write_memberships(
                &self,
                group: Uuid,
                writes: &[(Option<Membership>, Membership)],
                at: UnixTime,
            ) -> Result<(), StoreError> {
                let group_text = group.to_string();
                let mut tx = self.writer.begin().await?;
                // The group's row lock (PostgreSQL; SQLite has one writer): batches on one group
                // commit one after the other, each seeing the one before.
                let locked = ::sqlx::query("UPDATE groups SET updated_at = $2 WHERE id = $1")
                    .bind(&group_text)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                if locked.rows_affected() == 0 {
                    return Err(StoreError::Conflict("the group is gone"));
                }
                for (before, after) in writes {
                    let ok = match before {
                        None => Self::insert_membership_row(&mut tx, after).await?,
                        Some(b) => ::sqlx::query(
                            "UPDATE group_memberships SET role = $3, status = $4, status_reason = $5, \
                             invite_email_address = $6, invite_time = $7, updated = $8 \
                             WHERE group_id = $1 AND identity_id = $2 AND role = $9 AND status = $10",
                        )
                        .bind(&group_text)
                        .bind(after.identity_id.to_string())
                        .bind(after.role.as_str())
                        .bind(after.status.as_str())
                        .bind(&after.status_reason)
                        .bind(&after.invite_email_address)
                        .bind(after.invite_time)
                        .bind(after.updated)
                        .bind(b.role.as_str())
                        .bind(b.status.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 1,
                    };
                    if !ok {
                        return Err(StoreError::Conflict("a membership changed meanwhile"));
                    }
                }
                let admins: i64 = ::sqlx::query(
                    "SELECT count(*) AS n FROM group_memberships WHERE group_id = $1 AND role = 'admin' \
                     AND status = 'active'",
                )
                .bind(&group_text)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                if admins == 0 {
                    return Err(StoreError::Conflict("the group's last admin"));
                }
                tx.commit().await?;
                Ok(())
            }

            async fn group_preferences(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Option<bool>)>, StoreError> {
                select_in(&self.reader, "identity_id, allow_add", "group_preferences", "identity_id", ids, |r| {
                    Ok((
                        q::uuid("group_preferences", &r.try_get::<String, _>("identity_id")?)?,
                        r.try_get::<Option<bool>, _>("allow_add")?,
                    ))
                })
                .await
            }

            async fn set_group_preference(&self, id: Uuid, allow_add: Option<bool>) -> Result<(), StoreError> {
                ::sqlx::query(
                    "INSERT INTO group_preferences (identity_id, allow_add) VALUES ($1, $2) \
                     ON CONFLICT (identity_id) DO UPDATE SET allow_add = excluded.allow_add",
                )
                .bind(id.to_string())
                .bind(allow_add)
                .execute(&self.writer)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_group_repository;
