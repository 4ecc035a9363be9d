-- RFC 7591/7592 dynamic client registration. Keep in step with migrations/sqlite.
-- A registered client is an ordinary row of `clients` (and its secret one of
-- `client_credentials`); this table adds the metadata it registered with (JSON text, echoed by
-- RFC 7592 reads) and the SHA-256 of its registration access token.
CREATE TABLE client_registrations (
    client_id          TEXT PRIMARY KEY NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    metadata           TEXT NOT NULL,
    access_token_hash  BYTEA NOT NULL UNIQUE,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- Initial access tokens (`tessera admin registration-token create`), by SHA-256: each allows
-- `uses_left` registrations until `expires_at`.
CREATE TABLE initial_access_tokens (
    hash        BYTEA PRIMARY KEY NOT NULL,
    uses_left   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX initial_access_tokens_expires_at ON initial_access_tokens(expires_at);
