-- RFC 8628 device authorization grants. Keep in step with migrations/sqlite.
-- The device code is stored only as its SHA-256; the user code (eight letters, normal form) is
-- what the verification page looks grants up by. A grant moves pending -> approved | denied,
-- approved -> redeemed, each step one conditional UPDATE (redemption:
-- `UPDATE … WHERE state = 'approved' … RETURNING`, so of two nodes racing only one wins).
CREATE TABLE device_grants (
    device_code_hash   BYTEA PRIMARY KEY NOT NULL,
    user_code          TEXT NOT NULL UNIQUE,
    client_id          TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope              TEXT NOT NULL,
    offline            BOOLEAN NOT NULL,
    state              TEXT NOT NULL,
    identity_id        TEXT,
    session_id         TEXT,
    auth_time          BIGINT,
    effective_identity TEXT,
    interval_s         BIGINT NOT NULL,
    last_polled_at     BIGINT,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL
);
CREATE INDEX device_grants_expires_at ON device_grants(expires_at);
CREATE INDEX device_grants_client ON device_grants(client_id);
