-- Tessera schema, SQLite dialect. Ids are UUID text; times are Unix seconds; list-valued
-- fields are JSON arrays in TEXT. Keep in step with migrations/postgres.

CREATE TABLE identities (
    id                  TEXT PRIMARY KEY NOT NULL,
    username            TEXT NOT NULL,
    username_normalized TEXT NOT NULL UNIQUE,
    name                TEXT,
    email               TEXT,
    organization        TEXT,
    identity_provider   TEXT NOT NULL,
    status              TEXT NOT NULL,
    password_hash       TEXT,
    created_at          INTEGER NOT NULL
);

CREATE TABLE clients (
    id                   TEXT PRIMARY KEY NOT NULL,
    name                 TEXT NOT NULL,
    client_type          TEXT NOT NULL,
    visibility           TEXT NOT NULL,
    redirect_uris        TEXT NOT NULL,
    fqdns                TEXT NOT NULL,
    privacy_policy       TEXT,
    terms_and_conditions TEXT,
    parent_client        TEXT REFERENCES clients(id) ON DELETE CASCADE,
    project              TEXT,
    required_idp         TEXT,
    preselect_idp        TEXT,
    allows_templating    BOOLEAN NOT NULL,
    resource_server_name TEXT,
    created_at           INTEGER NOT NULL
);

CREATE TABLE client_credentials (
    id          TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX client_credentials_client ON client_credentials(client_id);

CREATE TABLE scopes (
    id                   TEXT PRIMARY KEY NOT NULL,
    client_id            TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    resource_server      TEXT NOT NULL,
    scope_string         TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL,
    advertised           BOOLEAN NOT NULL,
    allows_refresh_token BOOLEAN NOT NULL,
    required_domains     TEXT NOT NULL,
    dependent_scopes     TEXT NOT NULL,
    created_at           INTEGER NOT NULL
);
CREATE INDEX scopes_client ON scopes(client_id);

CREATE TABLE tokens (
    hash            BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    subject_kind    TEXT NOT NULL,
    resource_server TEXT NOT NULL,
    scope           TEXT NOT NULL,
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_expires_at ON tokens(expires_at);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    algorithm   TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
