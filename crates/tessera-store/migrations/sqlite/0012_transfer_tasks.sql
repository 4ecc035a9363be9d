-- Transfer and delete tasks, durable: everything the engine needs to resume after a crash is
-- here. Keep in step with migrations/postgres.

-- status ACTIVE -> SUCCEEDED | FAILED. spec is the submission as accepted (options and items),
-- JSON. A node works on a task while lease_until (Unix seconds) is in the future and
-- lease_owner is its id; an expired lease is taken over by any node. expanded: the items have
-- been walked into transfer_task_files (then the counts files/directories are final).
CREATE TABLE transfer_tasks (
    id                      TEXT PRIMARY KEY NOT NULL,
    owner_id                TEXT NOT NULL,
    owner_string            TEXT NOT NULL,
    submission_id           TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    status                  TEXT NOT NULL,
    label                   TEXT,
    source_endpoint_id      TEXT NOT NULL,
    destination_endpoint_id TEXT,
    request_time            INTEGER NOT NULL,
    completion_time         INTEGER,
    deadline                INTEGER NOT NULL,
    spec                    TEXT NOT NULL,
    fatal_error             TEXT,
    expanded                BOOLEAN NOT NULL,
    files                   INTEGER NOT NULL,
    directories             INTEGER NOT NULL,
    files_transferred       INTEGER NOT NULL,
    files_skipped           INTEGER NOT NULL,
    bytes_transferred       INTEGER NOT NULL,
    faults                  INTEGER NOT NULL,
    lease_owner             TEXT,
    lease_until             INTEGER,
    UNIQUE (owner_id, submission_id)
);
CREATE INDEX transfer_tasks_owner ON transfer_tasks (owner_id, request_time);
CREATE INDEX transfer_tasks_active ON transfer_tasks (status, lease_until);

-- One row per file (or directory, is_dir) a task handles, in the order they were found.
-- state: pending | done (copied or deleted) | skipped (sync level) | error (a skipped source
-- error, error_code set).
CREATE TABLE transfer_task_files (
    task_id          TEXT NOT NULL REFERENCES transfer_tasks(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    is_dir           BOOLEAN NOT NULL,
    source_path      TEXT NOT NULL,
    destination_path TEXT,
    size             INTEGER NOT NULL,
    state            TEXT NOT NULL,
    checksum         TEXT,
    error_code       TEXT,
    error_details    TEXT,
    error_time       INTEGER,
    PRIMARY KEY (task_id, seq)
);
CREATE INDEX transfer_task_files_state ON transfer_task_files (task_id, state, seq);

CREATE TABLE transfer_task_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     TEXT NOT NULL REFERENCES transfer_tasks(id) ON DELETE CASCADE,
    time        INTEGER NOT NULL,
    code        TEXT NOT NULL,
    description TEXT NOT NULL,
    details     TEXT NOT NULL,
    is_error    BOOLEAN NOT NULL
);
CREATE INDEX transfer_task_events_task ON transfer_task_events (task_id, id);
