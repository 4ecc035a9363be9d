//! The SQL of `TransferRepository`, written once and expanded for SQLite and PostgreSQL (as
//! `sql.rs` is). `$lock` is the row-locking clause of the engine's claim: `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, empty on SQLite (one writer: the claim's UPDATE is atomic there).

macro_rules! impl_transfer {
    ($store:ty, $db:ty, $row:ty, $lock:literal) => {
        mod transfer_sql {
            use ::async_trait::async_trait;
            use ::sqlx::{QueryBuilder, Row};
            use ::tessera_core::clock::UnixTime;
            use ::uuid::Uuid;
            use $crate::sql::{self as q, conflict};
            use $crate::transfer::*;
            use $crate::StoreError;

            const ENDPOINT_COLUMNS: &str = "id, display_name, owner_id, owner_string, root_path, host_endpoint_id, \
                host_path, attrs, created_at, connector_id";
            const RULE_COLUMNS: &str = "id, endpoint_id, principal_type, principal, path, permissions, create_time, \
                expiration_date";
            const ROLE_COLUMNS: &str = "id, endpoint_id, principal_type, principal, role, created_at";
            const BOOKMARK_COLUMNS: &str = "id, owner_id, name, endpoint_id, path, created_at";
            pub(super) const TASK_COLUMNS: &str = "id, owner_id, owner_string, submission_id, kind, status, label, \
                source_endpoint_id, destination_endpoint_id, request_time, completion_time, deadline, spec, \
                fatal_error, expanded, files, directories, files_transferred, files_skipped, bytes_transferred, faults";
            const FILE_COLUMNS: &str = "seq, is_dir, source_path, destination_path, size, state, checksum, \
                error_code, error_details, error_time";
            const EVENT_COLUMNS: &str = "time, code, description, details, is_error";

            fn json(table: &'static str, s: &str) -> Result<::serde_json::Value, StoreError> {
                ::serde_json::from_str(s).map_err(|e| StoreError::Corrupt { table, detail: format!("bad JSON: {e}") })
            }

            fn endpoint_from_row(r: &$row) -> Result<EndpointRecord, StoreError> {
                const T: &str = "transfer_endpoints";
                Ok(EndpointRecord {
                    id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                    display_name: r.try_get("display_name")?,
                    owner_id: q::uuid(T, &r.try_get::<String, _>("owner_id")?)?,
                    owner_string: r.try_get("owner_string")?,
                    root_path: r.try_get("root_path")?,
                    host_endpoint_id: q::opt_uuid(T, r.try_get("host_endpoint_id")?)?,
                    host_path: r.try_get("host_path")?,
                    attrs: json(T, &r.try_get::<String, _>("attrs")?)?,
                    created_at: r.try_get("created_at")?,
                    connector_id: q::opt_uuid(T, r.try_get("connector_id")?)?,
                })
            }

            fn rule_from_row(r: &$row) -> Result<AccessRuleRecord, StoreError> {
                const T: &str = "transfer_access_rules";
                Ok(AccessRuleRecord {
                    id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                    endpoint_id: q::uuid(T, &r.try_get::<String, _>("endpoint_id")?)?,
                    principal_type: r.try_get("principal_type")?,
                    principal: r.try_get("principal")?,
                    path: r.try_get("path")?,
                    permissions: r.try_get("permissions")?,
                    create_time: r.try_get("create_time")?,
                    expiration_date: r.try_get("expiration_date")?,
                })
            }

            fn role_from_row(r: &$row) -> Result<RoleRecord, StoreError> {
                const T: &str = "transfer_roles";
                Ok(RoleRecord {
                    id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                    endpoint_id: q::uuid(T, &r.try_get::<String, _>("endpoint_id")?)?,
                    principal_type: r.try_get("principal_type")?,
                    principal: r.try_get("principal")?,
                    role: r.try_get("role")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn bookmark_from_row(r: &$row) -> Result<BookmarkRecord, StoreError> {
                const T: &str = "transfer_bookmarks";
                Ok(BookmarkRecord {
                    id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                    owner_id: q::uuid(T, &r.try_get::<String, _>("owner_id")?)?,
                    name: r.try_get("name")?,
                    endpoint_id: q::uuid(T, &r.try_get::<String, _>("endpoint_id")?)?,
                    path: r.try_get("path")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            pub(super) fn task_from_row(r: &$row) -> Result<TaskRecord, StoreError> {
                const T: &str = "transfer_tasks";
                Ok(TaskRecord {
                    id: q::uuid(T, &r.try_get::<String, _>("id")?)?,
                    owner_id: q::uuid(T, &r.try_get::<String, _>("owner_id")?)?,
                    owner_string: r.try_get("owner_string")?,
                    submission_id: r.try_get("submission_id")?,
                    kind: r.try_get("kind")?,
                    status: r.try_get("status")?,
                    label: r.try_get("label")?,
                    source_endpoint_id: q::uuid(T, &r.try_get::<String, _>("source_endpoint_id")?)?,
                    destination_endpoint_id: q::opt_uuid(T, r.try_get("destination_endpoint_id")?)?,
                    request_time: r.try_get("request_time")?,
                    completion_time: r.try_get("completion_time")?,
                    deadline: r.try_get("deadline")?,
                    spec: json(T, &r.try_get::<String, _>("spec")?)?,
                    fatal_error: r
                        .try_get::<Option<String>, _>("fatal_error")?
                        .map(|s| json(T, &s))
                        .transpose()?,
                    expanded: r.try_get("expanded")?,
                    files: r.try_get("files")?,
                    directories: r.try_get("directories")?,
                    files_transferred: r.try_get("files_transferred")?,
                    files_skipped: r.try_get("files_skipped")?,
                    bytes_transferred: r.try_get("bytes_transferred")?,
                    faults: r.try_get("faults")?,
                })
            }

            fn file_from_row(r: &$row) -> Result<TaskFileRecord, StoreError> {
                let state: String = r.try_get("state")?;
                Ok(TaskFileRecord {
                    seq: r.try_get("seq")?,
                    is_dir: r.try_get("is_dir")?,
                    source_path: r.try_get("source_path")?,
                    destination_path: r.try_get("destination_path")?,
                    size: r.try_get("size")?,
                    state: FileState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                        table: "transfer_task_files",
                        detail: format!("state {state:?}"),
                    })?,
                    checksum: r.try_get("checksum")?,
                    error_code: r.try_get("error_code")?,
                    error_details: r.try_get("error_details")?,
                    error_time: r.try_get("error_time")?,
                })
            }

            fn event_from_row(r: &$row) -> Result<EventRecord, StoreError> {
                Ok(EventRecord {
                    time: r.try_get("time")?,
                    code: r.try_get("code")?,
                    description: r.try_get("description")?,
                    details: r.try_get("details")?,
                    is_error: r.try_get("is_error")?,
                })
            }

            async fn insert_event_in<'c, E>(exec: E, task_id: Uuid, e: &EventRecord) -> Result<(), StoreError>
            where
                E: ::sqlx::Executor<'c, Database = $db>,
            {
                ::sqlx::query(&format!(
                    "INSERT INTO transfer_task_events (task_id, {EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(task_id.to_string())
                .bind(e.time)
                .bind(&e.code)
                .bind(&e.description)
                .bind(&e.details)
                .bind(e.is_error)
                .execute(exec)
                .await?;
                Ok(())
            }

            #[async_trait]
            impl TransferRepository for $store {
                async fn insert_endpoint(&self, e: &EndpointRecord) -> Result<(), StoreError> {
                    ::sqlx::query(&format!(
                        "INSERT INTO transfer_endpoints ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    ))
                    .bind(e.id.to_string())
                    .bind(&e.display_name)
                    .bind(e.owner_id.to_string())
                    .bind(&e.owner_string)
                    .bind(&e.root_path)
                    .bind(e.host_endpoint_id.map(|u| u.to_string()))
                    .bind(&e.host_path)
                    .bind(e.attrs.to_string())
                    .bind(e.created_at)
                    .bind(e.connector_id.map(|u| u.to_string()))
                    .execute(&self.writer)
                    .await
                    .map_err(conflict("endpoint"))?;
                    Ok(())
                }

                async fn endpoint(&self, id: Uuid) -> Result<Option<EndpointRecord>, StoreError> {
                    ::sqlx::query(&format!("SELECT {ENDPOINT_COLUMNS} FROM transfer_endpoints WHERE id = $1"))
                        .bind(id.to_string())
                        .fetch_optional(&self.reader)
                        .await?
                        .as_ref()
                        .map(endpoint_from_row)
                        .transpose()
                }

                async fn all_endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
                    ::sqlx::query(&format!(
                        "SELECT {ENDPOINT_COLUMNS} FROM transfer_endpoints ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(endpoint_from_row)
                    .collect()
                }

                async fn update_endpoint(&self, e: &EndpointRecord) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_endpoints SET display_name = $2, attrs = $3, root_path = $4, owner_id = $5, \
                         owner_string = $6 WHERE id = $1",
                    )
                    .bind(e.id.to_string())
                    .bind(&e.display_name)
                    .bind(e.attrs.to_string())
                    .bind(&e.root_path)
                    .bind(e.owner_id.to_string())
                    .bind(&e.owner_string)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_endpoint(&self, id: Uuid) -> Result<bool, StoreError> {
                    let done = ::sqlx::query("DELETE FROM transfer_endpoints WHERE id = $1")
                        .bind(id.to_string())
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn insert_access_rule(&self, r: &AccessRuleRecord) -> Result<(), StoreError> {
                    ::sqlx::query(&format!(
                        "INSERT INTO transfer_access_rules ({RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ))
                    .bind(r.id.to_string())
                    .bind(r.endpoint_id.to_string())
                    .bind(&r.principal_type)
                    .bind(&r.principal)
                    .bind(&r.path)
                    .bind(&r.permissions)
                    .bind(r.create_time)
                    .bind(r.expiration_date)
                    .execute(&self.writer)
                    .await
                    .map_err(conflict("access rule"))?;
                    Ok(())
                }

                async fn access_rules(&self, endpoint_id: Uuid) -> Result<Vec<AccessRuleRecord>, StoreError> {
                    ::sqlx::query(&format!(
                        "SELECT {RULE_COLUMNS} FROM transfer_access_rules WHERE endpoint_id = $1 ORDER BY create_time, id"
                    ))
                    .bind(endpoint_id.to_string())
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(rule_from_row)
                    .collect()
                }

                async fn endpoints_with_rules_for(&self, principals: &[String]) -> Result<Vec<Uuid>, StoreError> {
                    if principals.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT DISTINCT endpoint_id FROM transfer_access_rules WHERE principal IN (",
                    );
                    let mut list = qb.separated(", ");
                    for p in principals {
                        list.push_bind(p.clone());
                    }
                    qb.push(")");
                    qb.build()
                        .fetch_all(&self.reader)
                        .await?
                        .iter()
                        .map(|r| q::uuid("transfer_access_rules", &r.try_get::<String, _>("endpoint_id")?))
                        .collect()
                }

                async fn update_access_rule(&self, r: &AccessRuleRecord) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_access_rules SET permissions = $3, expiration_date = $4 \
                         WHERE endpoint_id = $1 AND id = $2",
                    )
                    .bind(r.endpoint_id.to_string())
                    .bind(r.id.to_string())
                    .bind(&r.permissions)
                    .bind(r.expiration_date)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_access_rule(&self, endpoint_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
                    let done = ::sqlx::query("DELETE FROM transfer_access_rules WHERE endpoint_id = $1 AND id = $2")
                        .bind(endpoint_id.to_string())
                        .bind(id.to_string())
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn insert_role(&self, r: &RoleRecord) -> Result<(), StoreError> {
                    ::sqlx::query(&format!(
                        "INSERT INTO transfer_roles ({ROLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
                    ))
                    .bind(r.id.to_string())
                    .bind(r.endpoint_id.to_string())
                    .bind(&r.principal_type)
                    .bind(&r.principal)
                    .bind(&r.role)
                    .bind(r.created_at)
                    .execute(&self.writer)
                    .await
                    .map_err(conflict("role"))?;
                    Ok(())
                }

                async fn roles(&self, endpoint_id: Uuid) -> Result<Vec<RoleRecord>, StoreError> {
                    ::sqlx::query(&format!(
                        "SELECT {ROLE_COLUMNS} FROM transfer_roles WHERE endpoint_id = $1 ORDER BY created_at, id"
                    ))
                    .bind(endpoint_id.to_string())
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(role_from_row)
                    .collect()
                }

                async fn delete_role(&self, endpoint_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
                    let done = ::sqlx::query("DELETE FROM transfer_roles WHERE endpoint_id = $1 AND id = $2")
                        .bind(endpoint_id.to_string())
                        .bind(id.to_string())
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn insert_bookmark(&self, b: &BookmarkRecord) -> Result<(), StoreError> {
                    ::sqlx::query(&format!(
                        "INSERT INTO transfer_bookmarks ({BOOKMARK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
                    ))
                    .bind(b.id.to_string())
                    .bind(b.owner_id.to_string())
                    .bind(&b.name)
                    .bind(b.endpoint_id.to_string())
                    .bind(&b.path)
                    .bind(b.created_at)
                    .execute(&self.writer)
                    .await
                    .map_err(conflict("bookmark"))?;
                    Ok(())
                }

                async fn bookmarks_of(&self, owner_ids: &[Uuid]) -> Result<Vec<BookmarkRecord>, StoreError> {
                    if owner_ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {BOOKMARK_COLUMNS} FROM transfer_bookmarks WHERE owner_id IN ("
                    ));
                    let mut list = qb.separated(", ");
                    for o in owner_ids {
                        list.push_bind(o.to_string());
                    }
                    qb.push(") ORDER BY created_at, id");
                    qb.build().fetch_all(&self.reader).await?.iter().map(bookmark_from_row).collect()
                }

                async fn update_bookmark(&self, b: &BookmarkRecord) -> Result<bool, StoreError> {
                    let done = ::sqlx::query("UPDATE transfer_bookmarks SET name = $2 WHERE id = $1")
                        .bind(b.id.to_string())
                        .bind(&b.name)
                        .execute(&self.writer)
                        .await
                        .map_err(conflict("bookmark"))?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_bookmark(&self, id: Uuid) -> Result<bool, StoreError> {
                    let done = ::sqlx::query("DELETE FROM transfer_bookmarks WHERE id = $1")
                        .bind(id.to_string())
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn submit_task(&self, t: &TaskRecord, first: &EventRecord) -> Result<Submitted, StoreError> {
                    let mut tx = self.writer.begin().await?;
                    let inserted = ::sqlx::query(&format!(
                        "INSERT INTO transfer_tasks ({TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
                         ON CONFLICT (owner_id, submission_id) DO NOTHING"
                    ))
                    .bind(t.id.to_string())
                    .bind(t.owner_id.to_string())
                    .bind(&t.owner_string)
                    .bind(&t.submission_id)
                    .bind(&t.kind)
                    .bind(&t.status)
                    .bind(&t.label)
                    .bind(t.source_endpoint_id.to_string())
                    .bind(t.destination_endpoint_id.map(|u| u.to_string()))
                    .bind(t.request_time)
                    .bind(t.completion_time)
                    .bind(t.deadline)
                    .bind(t.spec.to_string())
                    .bind(t.fatal_error.as_ref().map(|v| v.to_string()))
                    .bind(t.expanded)
                    .bind(t.files)
                    .bind(t.directories)
                    .bind(t.files_transferred)
                    .bind(t.files_skipped)
                    .bind(t.bytes_transferred)
                    .bind(t.faults)
                    .execute(&mut *tx)
                    .await?;
                    if inserted.rows_affected() == 0 {
                        let row = ::sqlx::query(&format!(
                            "SELECT {TASK_COLUMNS} FROM transfer_tasks WHERE owner_id = $1 AND submission_id = $2"
                        ))
                        .bind(t.owner_id.to_string())
                        .bind(&t.submission_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        return Ok(Submitted::Duplicate(Box::new(task_from_row(&row)?)));
                    }
                    insert_event_in(&mut *tx, t.id, first).await?;
                    tx.commit().await?;
                    Ok(Submitted::Created(Box::new(t.clone())))
                }

                async fn task(&self, id: Uuid) -> Result<Option<TaskRecord>, StoreError> {
                    ::sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM transfer_tasks WHERE id = $1"))
                        .bind(id.to_string())
                        .fetch_optional(&self.reader)
                        .await?
                        .as_ref()
                        .map(task_from_row)
                        .transpose()
                }

                async fn tasks(&self, query: &TaskQuery) -> Result<(Vec<TaskRecord>, i64), StoreError> {
                    fn filters(qb: &mut QueryBuilder<'_, $db>, query: &TaskQuery) {
                        fn list<'a>(qb: &mut QueryBuilder<'a, $db>, column: &str, values: Vec<String>) {
                            if values.is_empty() {
                                return;
                            }
                            qb.push(format!(" AND {column} IN ("));
                            let mut l = qb.separated(", ");
                            for v in values {
                                l.push_bind(v);
                            }
                            qb.push(")");
                        }
                        qb.push(" WHERE 1 = 1");
                        list(qb, "owner_id", query.owner_ids.iter().map(Uuid::to_string).collect());
                        if query.owner_ids.is_empty() {
                            qb.push(" AND 1 = 0");
                        }
                        list(qb, "kind", query.kinds.clone());
                        list(qb, "status", query.statuses.clone());
                        list(qb, "id", query.task_ids.iter().map(Uuid::to_string).collect());
                        for l in &query.labels {
                            // LIKE with its wildcards escaped: one pattern for both backends.
                            let like = |t: &str| {
                                let escaped = t
                                    .to_ascii_lowercase()
                                    .replace('\\', "\\\\")
                                    .replace('%', "\\%")
                                    .replace('_', "\\_");
                                format!("%{escaped}%")
                            };
                            match l {
                                LabelFilter::Contains(t) => {
                                    qb.push(" AND lower(label) LIKE ").push_bind(like(t)).push(" ESCAPE '\\'");
                                }
                                LabelFilter::NotContains(t) => {
                                    qb.push(" AND (label IS NULL OR lower(label) NOT LIKE ")
                                        .push_bind(like(t))
                                        .push(" ESCAPE '\\')");
                                }
                                LabelFilter::Equals(t) => {
                                    qb.push(" AND label = ").push_bind(t.clone());
                                }
                                LabelFilter::NotEquals(t) => {
                                    qb.push(" AND (label IS NULL OR label <> ").push_bind(t.clone()).push(")");
                                }
                            }
                        }
                        for (column, op, v) in [
                            ("request_time", ">=", query.request_after),
                            ("request_time", "<=", query.request_before),
                            ("completion_time", ">=", query.completion_after),
                            ("completion_time", "<=", query.completion_before),
                        ] {
                            if let Some(v) = v {
                                qb.push(format!(" AND {column} {op} ")).push_bind(v);
                            }
                        }
                    }
                    let mut count = QueryBuilder::<$db>::new("SELECT count(*) AS n FROM transfer_tasks");
                    filters(&mut count, query);
                    let total: i64 = count.build().fetch_one(&self.reader).await?.try_get("n")?;
                    let mut page = QueryBuilder::<$db>::new(format!("SELECT {TASK_COLUMNS} FROM transfer_tasks"));
                    filters(&mut page, query);
                    page.push(if query.newest_first {
                        " ORDER BY request_time DESC, id DESC"
                    } else {
                        " ORDER BY request_time, id"
                    });
                    page.push(" LIMIT ").push_bind(query.limit).push(" OFFSET ").push_bind(query.offset);
                    let tasks = page
                        .build()
                        .fetch_all(&self.reader)
                        .await?
                        .iter()
                        .map(task_from_row)
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((tasks, total))
                }

                async fn update_task(&self, id: Uuid, label: Option<&str>, deadline: UnixTime) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET label = $2, deadline = $3 WHERE id = $1 AND status = 'ACTIVE'",
                    )
                    .bind(id.to_string())
                    .bind(label)
                    .bind(deadline)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn finish_task(
                    &self,
                    id: Uuid,
                    status: &str,
                    fatal_error: Option<&::serde_json::Value>,
                    event: &EventRecord,
                    at: UnixTime,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.writer.begin().await?;
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET status = $2, fatal_error = $3, completion_time = $4, \
                         lease_owner = NULL, lease_until = NULL WHERE id = $1 AND status = 'ACTIVE'",
                    )
                    .bind(id.to_string())
                    .bind(status)
                    .bind(fatal_error.map(|v| v.to_string()))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    insert_event_in(&mut *tx, id, event).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn insert_event(&self, task_id: Uuid, event: &EventRecord) -> Result<(), StoreError> {
                    insert_event_in(&self.writer, task_id, event).await
                }

                async fn events(
                    &self,
                    task_id: Uuid,
                    is_error: Option<bool>,
                    limit: i64,
                    offset: i64,
                ) -> Result<(Vec<EventRecord>, i64), StoreError> {
                    let mut count =
                        QueryBuilder::<$db>::new("SELECT count(*) AS n FROM transfer_task_events WHERE task_id = ");
                    count.push_bind(task_id.to_string());
                    let mut page = QueryBuilder::<$db>::new(format!(
                        "SELECT {EVENT_COLUMNS} FROM transfer_task_events WHERE task_id = "
                    ));
                    page.push_bind(task_id.to_string());
                    if let Some(e) = is_error {
                        count.push(" AND is_error = ").push_bind(e);
                        page.push(" AND is_error = ").push_bind(e);
                    }
                    let total: i64 = count.build().fetch_one(&self.reader).await?.try_get("n")?;
                    page.push(" ORDER BY id DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
                    let events = page
                        .build()
                        .fetch_all(&self.reader)
                        .await?
                        .iter()
                        .map(event_from_row)
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((events, total))
                }

                async fn task_files(
                    &self,
                    task_id: Uuid,
                    state: FileState,
                    after_seq: i64,
                    limit: i64,
                ) -> Result<Vec<TaskFileRecord>, StoreError> {
                    ::sqlx::query(&format!(
                        "SELECT {FILE_COLUMNS} FROM transfer_task_files WHERE task_id = $1 AND state = $2 \
                         AND seq > $3 ORDER BY seq LIMIT $4"
                    ))
                    .bind(task_id.to_string())
                    .bind(state.as_str())
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.reader)
                    .await?
                    .iter()
                    .map(file_from_row)
                    .collect()
                }

                async fn claim_task(&self, node: &str, now: UnixTime, until: UnixTime) -> Result<Option<TaskRecord>, StoreError> {
                    let row = ::sqlx::query(&format!(
                        "UPDATE transfer_tasks SET lease_owner = $1, lease_until = $3 WHERE id = (\
                         SELECT id FROM transfer_tasks WHERE status = 'ACTIVE' \
                         AND (lease_until IS NULL OR lease_until < $2) ORDER BY request_time LIMIT 1 {}) \
                         AND status = 'ACTIVE' RETURNING {TASK_COLUMNS}",
                        $lock
                    ))
                    .bind(node)
                    .bind(now)
                    .bind(until)
                    .fetch_optional(&self.writer)
                    .await?;
                    row.as_ref().map(task_from_row).transpose()
                }

                async fn renew_lease(&self, id: Uuid, node: &str, until: UnixTime) -> Result<bool, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 \
                         AND status = 'ACTIVE'",
                    )
                    .bind(id.to_string())
                    .bind(node)
                    .bind(until)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn release_all_leases(&self) -> Result<u64, StoreError> {
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET lease_owner = NULL, lease_until = NULL \
                         WHERE status = 'ACTIVE' AND lease_owner IS NOT NULL",
                    )
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected())
                }

                async fn release_lease(&self, id: Uuid, node: &str) -> Result<(), StoreError> {
                    ::sqlx::query(
                        "UPDATE transfer_tasks SET lease_owner = NULL, lease_until = NULL \
                         WHERE id = $1 AND lease_owner = $2",
                    )
                    .bind(id.to_string())
                    .bind(node)
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn record_expansion(
                    &self,
                    id: Uuid,
                    node: &str,
                    files: &[TaskFileRecord],
                    file_count: i64,
                    directory_count: i64,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.writer.begin().await?;
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET expanded = $3, files = $4, directories = $5 \
                         WHERE id = $1 AND lease_owner = $2 AND status = 'ACTIVE' AND expanded = $6",
                    )
                    .bind(id.to_string())
                    .bind(node)
                    .bind(true)
                    .bind(file_count)
                    .bind(directory_count)
                    .bind(false)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    let task = id.to_string();
                    // 11 parameters a row: 64 rows stay under SQLite's bind limit.
                    for chunk in files.chunks(64) {
                        let mut qb = QueryBuilder::<$db>::new(format!(
                            "INSERT INTO transfer_task_files (task_id, {FILE_COLUMNS}) "
                        ));
                        qb.push_values(chunk, |mut b, f| {
                            b.push_bind(task.clone())
                                .push_bind(f.seq)
                                .push_bind(f.is_dir)
                                .push_bind(f.source_path.clone())
                                .push_bind(f.destination_path.clone())
                                .push_bind(f.size)
                                .push_bind(f.state.as_str())
                                .push_bind(f.checksum.clone())
                                .push_bind(f.error_code.clone())
                                .push_bind(f.error_details.clone())
                                .push_bind(f.error_time);
                        });
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn record_progress(
                    &self,
                    id: Uuid,
                    node: &str,
                    bytes: i64,
                    event: &EventRecord,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.writer.begin().await?;
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET bytes_transferred = bytes_transferred + $3 \
                         WHERE id = $1 AND lease_owner = $2 AND status = 'ACTIVE'",
                    )
                    .bind(id.to_string())
                    .bind(node)
                    .bind(bytes)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    insert_event_in(&mut *tx, id, event).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn restart_progress(&self, id: Uuid, node: &str) -> Result<bool, StoreError> {
                    // A done file's bytes are its size at expansion (what its outcome added,
                    // progress included, unless it changed size meanwhile).
                    let done = ::sqlx::query(
                        "UPDATE transfer_tasks SET bytes_transferred = (SELECT COALESCE(SUM(f.size), 0) \
                         FROM transfer_task_files f WHERE f.task_id = $1 AND f.state = 'done' AND f.is_dir = $3) \
                         WHERE id = $1 AND lease_owner = $2 AND status = 'ACTIVE'",
                    )
                    .bind(id.to_string())
                    .bind(node)
                    .bind(false)
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn record_outcomes(
                    &self,
                    id: Uuid,
                    node: &str,
                    outcomes: &[FileOutcomeRecord],
                    faults: i64,
                ) -> Result<bool, StoreError> {
                    let task = id.to_string();
                    let mut tx = self.writer.begin().await?;
                    // The lease first: a node that lost it writes nothing (and, on PostgreSQL,
                    // the row lock keeps a new owner from claiming it until this commits).
                    let ours = ::sqlx::query(
                        "UPDATE transfer_tasks SET lease_owner = lease_owner \
                         WHERE id = $1 AND lease_owner = $2 AND status = 'ACTIVE'",
                    )
                    .bind(&task)
                    .bind(node)
                    .execute(&mut *tx)
                    .await?;
                    if ours.rows_affected() == 0 {
                        return Ok(false);
                    }
                    let (mut transferred, mut skipped, mut bytes) = (0i64, 0i64, 0i64);
                    // Outcomes with nothing of their own to store (no checksum, no error) are
                    // written a few hundred per statement; the rest one row each.
                    let plain = |o: &&FileOutcomeRecord| {
                        o.checksum.is_none()
                            && o.error_code.is_none()
                            && o.error_details.is_none()
                            && matches!(o.state, FileState::Done | FileState::Skipped)
                    };
                    let mut groups: std::collections::BTreeMap<(bool, UnixTime), Vec<&FileOutcomeRecord>> =
                        std::collections::BTreeMap::new();
                    for o in outcomes.iter().filter(plain) {
                        groups.entry((o.state == FileState::Done, o.at)).or_default().push(o);
                    }
                    for ((is_done, at), group) in groups {
                        let state = if is_done { FileState::Done } else { FileState::Skipped };
                        for chunk in group.chunks(500) {
                            let mut qb = QueryBuilder::<$db>::new(
                                "UPDATE transfer_task_files SET state = ",
                            );
                            qb.push_bind(state.as_str())
                                .push(", error_time = ")
                                .push_bind(at)
                                .push(" WHERE task_id = ")
                                .push_bind(task.clone())
                                .push(" AND state = 'pending' AND seq IN (");
                            let mut seqs = qb.separated(", ");
                            for o in chunk {
                                seqs.push_bind(o.seq);
                            }
                            qb.push(") RETURNING seq");
                            let changed: Vec<i64> = qb
                                .build_query_scalar::<i64>()
                                .fetch_all(&mut *tx)
                                .await?;
                            let changed: std::collections::HashSet<i64> = changed.into_iter().collect();
                            for o in chunk.iter().filter(|o| changed.contains(&o.seq)) {
                                match state {
                                    FileState::Done => {
                                        transferred += 1;
                                        bytes += o.bytes;
                                    }
                                    _ => skipped += 1,
                                }
                            }
                        }
                    }
                    for o in outcomes.iter().filter(|o| !plain(o)) {
                        let changed = ::sqlx::query(
                            "UPDATE transfer_task_files SET state = $3, checksum = $4, error_code = $5, \
                             error_details = $6, error_time = $7 WHERE task_id = $1 AND seq = $2 AND state = 'pending'",
                        )
                        .bind(&task)
                        .bind(o.seq)
                        .bind(o.state.as_str())
                        .bind(&o.checksum)
                        .bind(&o.error_code)
                        .bind(&o.error_details)
                        .bind(o.at)
                        .execute(&mut *tx)
                        .await?;
                        if changed.rows_affected() == 0 {
                            continue; // recorded before (a resumed task)
                        }
                        match o.state {
                            FileState::Done => {
                                transferred += 1;
                                bytes += o.bytes;
                            }
                            FileState::Skipped => skipped += 1,
                            FileState::Error | FileState::Pending => {}
                        }
                    }
                    ::sqlx::query(
                        "UPDATE transfer_tasks SET files_transferred = files_transferred + $2, \
                         files_skipped = files_skipped + $3, bytes_transferred = bytes_transferred + $4, \
                         faults = faults + $5 WHERE id = $1",
                    )
                    .bind(&task)
                    .bind(transferred)
                    .bind(skipped)
                    .bind(bytes)
                    .bind(faults)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }
            }
        }
    };
}

pub(crate) use impl_transfer;
