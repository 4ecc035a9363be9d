-- The endpoint-manager API (Globus Transfer "advanced collection management"): pause rules,
-- tasks paused by an administrator, and admin cancel jobs. Keep in step with migrations/postgres.

-- A pause rule holds tasks on endpoint_id (and on the shares it hosts) of identity_id (NULL:
-- everyone) from start_time (NULL: at once). The pause_* flags say which kinds of work stop.
CREATE TABLE transfer_pause_rules (
    id                        TEXT PRIMARY KEY NOT NULL,
    endpoint_id               TEXT NOT NULL REFERENCES transfer_endpoints(id) ON DELETE CASCADE,
    identity_id               TEXT,
    message                   TEXT NOT NULL,
    start_time                INTEGER,
    pause_ls                  BOOLEAN NOT NULL,
    pause_mkdir               BOOLEAN NOT NULL,
    pause_rename              BOOLEAN NOT NULL,
    pause_task_delete         BOOLEAN NOT NULL,
    pause_task_transfer_write BOOLEAN NOT NULL,
    pause_task_transfer_read  BOOLEAN NOT NULL,
    modified_by_id            TEXT NOT NULL,
    modified_by               TEXT NOT NULL,
    created_at                INTEGER NOT NULL
);
CREATE INDEX transfer_pause_rules_endpoint ON transfer_pause_rules (endpoint_id);

-- A task paused by id (admin_pause) until admin_resume. side: SOURCE | DESTINATION | BOTH, which
-- endpoint's manager paused it.
CREATE TABLE transfer_task_pauses (
    task_id   TEXT PRIMARY KEY NOT NULL REFERENCES transfer_tasks(id) ON DELETE CASCADE,
    message   TEXT NOT NULL,
    side      TEXT NOT NULL,
    paused_by TEXT NOT NULL,
    paused_at INTEGER NOT NULL
);

-- One admin_cancel request; task_ids and processed_task_ids are JSON arrays of UUID text.
CREATE TABLE transfer_admin_cancels (
    id                 TEXT PRIMARY KEY NOT NULL,
    message            TEXT NOT NULL,
    task_ids           TEXT NOT NULL,
    processed_task_ids TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);

-- Which task an admin cancel ended, with the message its owner sees, and the side it came from.
CREATE TABLE transfer_task_admin_cancels (
    task_id         TEXT PRIMARY KEY NOT NULL REFERENCES transfer_tasks(id) ON DELETE CASCADE,
    admin_cancel_id TEXT NOT NULL REFERENCES transfer_admin_cancels(id) ON DELETE CASCADE,
    message         TEXT NOT NULL,
    side            TEXT NOT NULL
);
