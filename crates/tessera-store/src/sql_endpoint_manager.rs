//! The SQL of `EndpointManagerRepository`, written once and expanded for SQLite and PostgreSQL
//! (beside `impl_transfer!`, whose task columns and row reader it shares).

macro_rules! impl_endpoint_manager {
    ($store:ty, $db:ty, $row:ty) => {
        mod endpoint_manager_sql {
            use ::async_trait::async_trait;
            use ::sqlx::{QueryBuilder, Row};
            use ::tessera_core::clock::UnixTime;
            use ::uuid::Uuid;
            use $crate::endpoint_manager::*;
            use $crate::sql as q;
            use $crate::transfer::TaskRecord;
            use $crate::StoreError;
            use super::transfer_sql::{task_from_row, TASK_COLUMNS};

            const RULE_COLUMNS: &str = "id, endpoint_id, identity_id, message, start_time, pause_ls, pause_mkdir, \
                pause_rename, pause_task_delete, pause_task_transfer_write, pause_task_transfer_read, \
                modified_by_id, modified_by, created_at";

            fn rule_from_row(r: &$row) -> Result<PauseRuleRecord, StoreError> {
                const T: &str = "transfer_pause_rules";
                Ok(PauseRuleRecord {
                    id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                    endpoint_id: q::uuid(T, &r.try_get::<String, _>("endpoint_id")?)?,
                    identity_id: q::opt_uuid(T, r.try_get("identity_id")?)?,
                    message: r.try_get("message")?,
                    start_time: r.try_get("start_time")?,
                    pause_ls: r.try_get("pause_ls")?,
                    pause_mkdir: r.try_get("pause_mkdir")?,
                    pause_rename: r.try_get("pause_rename")?,
                    pause_task_delete: r.try_get("pause_task_delete")?,
                    pause_task_transfer_write: r.try_get("pause_task_transfer_write")?,
                    pause_task_transfer_read: r.try_get("pause_task_transfer_read")?,
                    modified_by_id: q::uuid(T, &r.try_get::<String, _>("modified_by_id")?)?,
                    modified_by: r.try_get("modified_by")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn uuids(table: &'static str, s: &str) -> Result<Vec<Uuid>, StoreError> {
                let list: Vec<String> = ::serde_json::from_str(s)
                    .map_err(|e| StoreError::Corrupt { table, detail: format!("bad JSON: {e}") })?;
                list.iter().map(|u| q::uuid(table, u)).collect()
            }

            fn json_uuids(ids: &[Uuid]) -> String {
                ::serde_json::Value::from(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()).to_string()
            }

            fn push_in<'a>(qb: &mut QueryBuilder<'a, $db>, column: &str, ids: &[Uuid]) {
                qb.push(format!(" {column} IN ("));
                let mut l = qb.separated(", ");
                for id in ids {
                    l.push_bind(id.to_string());
                }
                qb.push(")");
            }

            #[async_trait]
            impl EndpointManagerRepository for $store {
                async fn insert_pause_rule(&self, r: &PauseRuleRecord) -> Result<(), StoreError> {
                    ::sqlx::query(&format!(
                        "INSERT INTO transfer_pause_rules ({RULE_COLUMNS}) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                    ))
                    .bind(r.id.to_string())
                    .bind(r.endpoint_id.to_string())
                    .bind(r.identity_id.map(|u| u.to_string()))
                    .bind(&r.message)
                    .bind(r.start_time)
                    .bind(r.pause_ls)
                    .bind(r.pause_mkdir)
                    .bind(r.pause_rename)
                    .bind(r.pause_task_delete)
                    .bind(r.pause_task_transfer_write)
                    .bind(r.pause_task_transfer_read)
                    .bind(r.modified_by_id.to_string())
                    .bind(&r.modified_by)
                    .bind(r.created_at)
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn pause_rule(&self, id: Uuid) -> Result<Option<PauseRuleRecord>, StoreError> {
                    ::sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM transfer_pause_rules WHERE id = $1"))
                        .bind(id.to_string())
                        .fetch_optional(&self.reader)
                        .await?
                        .as_ref()
                        .map(rule_from_row)
                        .transpose()
                }

                async fn pause_rules(&self, endpoint_ids: &[Uuid]) -> Result<Vec<PauseRuleRecord>, StoreError> {
                    if endpoint_ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {RULE_COLUMNS} FROM transfer_pause_rules WHERE"));
                    push_in(&mut qb, "endpoint_id", endpoint_ids);
                    qb.push(" ORDER BY created_at, id");
                    qb.build().fetch_all(&self.reader).await?.iter().map(rule_from_row).collect()
                }

                async fn update_pause_rule(&self, r: &PauseRuleRecord) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_pause_rules SET identity_id = $2, message = $3, start_time = $4, \
                         pause_ls = $5, pause_mkdir = $6, pause_rename = $7, pause_task_delete = $8, \
                         pause_task_transfer_write = $9, pause_task_transfer_read = $10, modified_by_id = $11, \
                         modified_by = $12 WHERE id = $1",
                    )
                    .bind(r.id.to_string())
                    .bind(r.identity_id.map(|u| u.to_string()))
                    .bind(&r.message)
                    .bind(r.start_time)
                    .bind(r.pause_ls)
                    .bind(r.pause_mkdir)
                    .bind(r.pause_rename)
                    .bind(r.pause_task_delete)
                    .bind(r.pause_task_transfer_write)
                    .bind(r.pause_task_transfer_read)
                    .bind(r.modified_by_id.to_string())
                    .bind(&r.modified_by)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_pause_rule(&self, id: Uuid) -> Result<bool, StoreError> {
                    let done = ::sqlx::query("DELETE FROM transfer_pause_rules WHERE id = $1")
                        .bind(id.to_string())
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn pause_task(&self, p: &TaskPauseRecord) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "INSERT INTO transfer_task_pauses (task_id, message, side, paused_by, paused_at) \
                         SELECT id, $2, $3, $4, $5 FROM transfer_tasks WHERE id = $1 AND status = 'ACTIVE' \
                         ON CONFLICT (task_id) DO UPDATE SET message = excluded.message, side = excluded.side, \
                         paused_by = excluded.paused_by, paused_at = excluded.paused_at",
                    )
                    .bind(p.task_id.to_string())
                    .bind(&p.message)
                    .bind(&p.side)
                    .bind(p.paused_by.to_string())
                    .bind(p.paused_at)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn resume_task(&self, task_id: Uuid) -> Result<bool, StoreError> {
                    let mut tx = self.writer.begin().await?;
                    let done = ::sqlx::query("DELETE FROM transfer_task_pauses WHERE task_id = $1")
                        .bind(task_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    ::sqlx::query(
                        "UPDATE transfer_tasks SET lease_owner = NULL, lease_until = NULL \
                         WHERE id = $1 AND lease_owner = $2",
                    )
                    .bind(task_id.to_string())
                    .bind(PARKED)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn task_pauses(&self, task_ids: &[Uuid]) -> Result<Vec<TaskPauseRecord>, StoreError> {
                    if task_ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    const T: &str = "transfer_task_pauses";
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT task_id, message, side, paused_by, paused_at FROM transfer_task_pauses WHERE",
                    );
                    push_in(&mut qb, "task_id", task_ids);
                    qb.build()
                        .fetch_all(&self.reader)
                        .await?
                        .iter()
                        .map(|r| {
                            Ok(TaskPauseRecord {
                                task_id: q::uuid(T, &r.try_get::<String, _>("task_id")?)?,
                                message: r.try_get("message")?,
                                side: r.try_get("side")?,
                                paused_by: q::uuid(T, &r.try_get::<String, _>("paused_by")?)?,
                                paused_at: r.try_get("paused_at")?,
                            })
                        })
                        .collect()
                }

                async fn insert_admin_cancel(
                    &self,
                    c: &AdminCancelRecord,
                    ended: &[TaskAdminCancelRecord],
                ) -> Result<(), StoreError> {
                    let mut tx = self.writer.begin().await?;
                    ::sqlx::query(
                        "INSERT INTO transfer_admin_cancels (id, message, task_ids, processed_task_ids, \
                         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(c.id.to_string())
                    .bind(&c.message)
                    .bind(json_uuids(&c.task_ids))
                    .bind(json_uuids(&c.processed_task_ids))
                    .bind(c.created_by.to_string())
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await?;
                    for e in ended {
                        ::sqlx::query(
                            "INSERT INTO transfer_task_admin_cancels (task_id, admin_cancel_id, message, side) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (task_id) DO NOTHING",
                        )
                        .bind(e.task_id.to_string())
                        .bind(e.admin_cancel_id.to_string())
                        .bind(&e.message)
                        .bind(&e.side)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn admin_cancel(&self, id: Uuid) -> Result<Option<AdminCancelRecord>, StoreError> {
                    const T: &str = "transfer_admin_cancels";
                    let Some(r) = ::sqlx::query(
                        "SELECT id, message, task_ids, processed_task_ids, created_by, created_at \
                         FROM transfer_admin_cancels WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .fetch_optional(&self.reader)
                    .await?
                    else {
                        return Ok(None);
                    };
                    Ok(Some(AdminCancelRecord {
                        id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                        message: r.try_get("message")?,
                        task_ids: uuids(T, &r.try_get::<String, _>("task_ids")?)?,
                        processed_task_ids: uuids(T, &r.try_get::<String, _>("processed_task_ids")?)?,
                        created_by: q::uuid(T, &r.try_get::<String, _>("created_by")?)?,
                        created_at: r.try_get("created_at")?,
                    }))
                }

                async fn task_admin_cancels(
                    &self,
                    task_ids: &[Uuid],
                ) -> Result<Vec<TaskAdminCancelRecord>, StoreError> {
                    if task_ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    const T: &str = "transfer_task_admin_cancels";
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT task_id, admin_cancel_id, message, side FROM transfer_task_admin_cancels WHERE",
                    );
                    push_in(&mut qb, "task_id", task_ids);
                    qb.build()
                        .fetch_all(&self.reader)
                        .await?
                        .iter()
                        .map(|r| {
                            Ok(TaskAdminCancelRecord {
                                task_id: q::uuid(T, &r.try_get::<String, _>("task_id")?)?,
                                admin_cancel_id: q::uuid(T, &r.try_get::<String, _>("admin_cancel_id")?)?,
                                message: r.try_get("message")?,
                                side: r.try_get("side")?,
                            })
                        })
                        .collect()
                }

                async fn manager_tasks(&self, query: &ManagerTaskQuery) -> Result<Vec<TaskRecord>, StoreError> {
                    if query.endpoint_ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TASK_COLUMNS} FROM transfer_tasks WHERE ("));
                    match query.endpoint_use {
                        Some(EndpointUse::Source) => push_in(&mut qb, "source_endpoint_id", &query.endpoint_ids),
                        Some(EndpointUse::Destination) => {
                            push_in(&mut qb, "destination_endpoint_id", &query.endpoint_ids)
                        }
                        None => {
                            push_in(&mut qb, "source_endpoint_id", &query.endpoint_ids);
                            qb.push(" OR");
                            push_in(&mut qb, "destination_endpoint_id", &query.endpoint_ids);
                        }
                    }
                    qb.push(")");
                    if !query.statuses.is_empty() {
                        qb.push(" AND status IN (");
                        let mut l = qb.separated(", ");
                        for s in &query.statuses {
                            l.push_bind(s.clone());
                        }
                        qb.push(")");
                    }
                    if !query.task_ids.is_empty() {
                        qb.push(" AND");
                        push_in(&mut qb, "id", &query.task_ids);
                    }
                    if !query.owner_ids.is_empty() {
                        qb.push(" AND");
                        push_in(&mut qb, "owner_id", &query.owner_ids);
                    }
                    if let Some(a) = query.completion_after {
                        if query.include_running {
                            qb.push(" AND (completion_time IS NULL OR completion_time >= ").push_bind(a).push(")");
                        } else {
                            qb.push(" AND completion_time >= ").push_bind(a);
                        }
                    }
                    if let Some(b) = query.completion_before {
                        qb.push(" AND completion_time <= ").push_bind(b);
                    }
                    if let Some(n) = query.min_faults {
                        qb.push(" AND faults >= ").push_bind(n);
                    }
                    if let Some((t, id)) = query.after {
                        qb.push(" AND (request_time < ")
                            .push_bind(t)
                            .push(" OR (request_time = ")
                            .push_bind(t)
                            .push(" AND id < ")
                            .push_bind(id.to_string())
                            .push("))");
                    }
                    qb.push(" ORDER BY request_time DESC, id DESC LIMIT ").push_bind(query.limit);
                    qb.build().fetch_all(&self.reader).await?.iter().map(task_from_row).collect()
                }

                async fn park_task(&self, id: Uuid, node: &str, until: UnixTime) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET lease_owner = $3, lease_until = $4 \
                         WHERE id = $1 AND lease_owner = $2 AND status = 'ACTIVE'",
                    )
                    .bind(id.to_string())
                    .bind(node)
                    .bind(PARKED)
                    .bind(until)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn unpark_tasks(&self, ids: &[Uuid]) -> Result<u64, StoreError> {
                    let mut qb = QueryBuilder::<$db>::new(
                        "UPDATE transfer_tasks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ",
                    );
                    qb.push_bind(PARKED);
                    if !ids.is_empty() {
                        qb.push(" AND");
                        push_in(&mut qb, "id", ids);
                    }
                    Ok(qb.build().execute(&self.writer).await?.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_endpoint_manager;
