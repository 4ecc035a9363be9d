-- Sign-in, consent and the authorization-code flow. Keep in step with migrations/postgres.

ALTER TABLE tokens ADD COLUMN family_id TEXT;
ALTER TABLE tokens ADD COLUMN session_id TEXT;
ALTER TABLE tokens ADD COLUMN auth_time INTEGER;
ALTER TABLE tokens ADD COLUMN parent BLOB;
ALTER TABLE tokens ADD COLUMN rotated_at INTEGER;
CREATE INDEX tokens_family ON tokens(family_id);
CREATE INDEX tokens_parent ON tokens(parent);
CREATE INDEX tokens_subject_client ON tokens(subject, client_id);

CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    identity_id TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- An authorize request waiting for sign-in and consent.
CREATE TABLE authorization_requests (
    id             TEXT PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT,
    nonce          TEXT,
    offline        BOOLEAN NOT NULL,
    force_login    BOOLEAN NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);

CREATE TABLE authorization_codes (
    hash           BLOB PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT,
    identity_id    TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    offline        BOOLEAN NOT NULL,
    nonce          TEXT,
    family_id      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    exchanged_at   INTEGER
);

CREATE TABLE consents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    identity_id     TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    scope_id        TEXT NOT NULL,
    scope_string    TEXT NOT NULL,
    dependency_path TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL,
    allows_refresh  BOOLEAN NOT NULL,
    auto_approved   BOOLEAN NOT NULL
);
CREATE INDEX consents_identity ON consents(identity_id);
