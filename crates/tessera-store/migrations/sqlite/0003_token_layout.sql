-- Token issuance writes one row per token; keep the pages it touches few.
-- A rowid table appends rows (one page), only the hash index takes random inserts, and the
-- secondary indexes are partial: client-credentials tokens have no family, no parent and no
-- person as subject, so they never enter them.

CREATE TABLE tokens_v3 (
    id              INTEGER PRIMARY KEY,
    hash            BLOB NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    subject_kind    TEXT NOT NULL,
    resource_server TEXT NOT NULL,
    scope           TEXT NOT NULL,
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    family_id       TEXT,
    session_id      TEXT,
    auth_time       INTEGER,
    parent          BLOB,
    rotated_at      INTEGER
);
INSERT INTO tokens_v3 (hash, kind, client_id, subject, subject_kind, resource_server, scope, issued_at,
    expires_at, revoked_at, family_id, session_id, auth_time, parent, rotated_at)
SELECT hash, kind, client_id, subject, subject_kind, resource_server, scope, issued_at,
    expires_at, revoked_at, family_id, session_id, auth_time, parent, rotated_at
FROM tokens ORDER BY issued_at;
DROP TABLE tokens;
ALTER TABLE tokens_v3 RENAME TO tokens;
CREATE INDEX tokens_expires_at ON tokens(expires_at);
CREATE INDEX tokens_family ON tokens(family_id) WHERE family_id IS NOT NULL;
CREATE INDEX tokens_parent ON tokens(parent) WHERE parent IS NOT NULL;
CREATE INDEX tokens_subject_client ON tokens(subject, client_id) WHERE subject_kind = 'identity';
