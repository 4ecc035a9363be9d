-- The Transfer service's endpoints, access rules, bookmarks and roles (Globus Transfer v0.10).
-- Ids are UUID text, times Unix seconds. Keep in step with migrations/postgres.

-- A host endpoint exposes a directory of this server (root_path); a shared endpoint (guest
-- collection) exposes host_path below its host endpoint's root. Descriptive fields that only
-- the API reads (description, keywords, organization, ...) live in attrs as one JSON object.
CREATE TABLE transfer_endpoints (
    id               TEXT PRIMARY KEY NOT NULL,
    display_name     TEXT NOT NULL,
    owner_id         TEXT NOT NULL,
    owner_string     TEXT NOT NULL,
    root_path        TEXT,
    host_endpoint_id TEXT REFERENCES transfer_endpoints(id) ON DELETE CASCADE,
    host_path        TEXT,
    attrs            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    CHECK ((root_path IS NULL) <> (host_endpoint_id IS NULL))
);
CREATE INDEX transfer_endpoints_owner ON transfer_endpoints (owner_id);
CREATE INDEX transfer_endpoints_host ON transfer_endpoints (host_endpoint_id);

-- Access rules: principal_type identity | group | all_authenticated_users | anonymous
-- (principal '' for the last two); path is absolute, ends in '/', in the endpoint's namespace.
CREATE TABLE transfer_access_rules (
    id              TEXT PRIMARY KEY NOT NULL,
    endpoint_id     TEXT NOT NULL REFERENCES transfer_endpoints(id) ON DELETE CASCADE,
    principal_type  TEXT NOT NULL,
    principal       TEXT NOT NULL,
    path            TEXT NOT NULL,
    permissions     TEXT NOT NULL,
    create_time     INTEGER NOT NULL,
    expiration_date INTEGER,
    UNIQUE (endpoint_id, principal_type, principal, path)
);
CREATE INDEX transfer_access_rules_principal ON transfer_access_rules (principal);

-- Endpoint roles (administrator, access_manager, activity_manager, activity_monitor).
CREATE TABLE transfer_roles (
    id             TEXT PRIMARY KEY NOT NULL,
    endpoint_id    TEXT NOT NULL REFERENCES transfer_endpoints(id) ON DELETE CASCADE,
    principal_type TEXT NOT NULL,
    principal      TEXT NOT NULL,
    role           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (endpoint_id, principal_type, principal, role)
);

-- Bookmarks are private to their owner; names are unique per owner.
CREATE TABLE transfer_bookmarks (
    id          TEXT PRIMARY KEY NOT NULL,
    owner_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    path        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);
