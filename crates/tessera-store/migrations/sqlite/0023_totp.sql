-- TOTP (RFC 6238) second factors of built-in identities. Keep in step with migrations/postgres.
-- secret: "sealed:v1:..." (AES-256-GCM with the master key, the identity id as associated
-- data) when a master key is configured, else "clear:" + base32, like signing keys.
-- last_step: the time step of the last accepted code; a code of that step or an earlier one is
-- a replay (one conditional UPDATE, so two nodes cannot both accept it).
CREATE TABLE totp_credentials (
    identity_id TEXT PRIMARY KEY NOT NULL,
    secret      TEXT NOT NULL,
    last_step   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Recovery codes: only their SHA-256; each is used once.
CREATE TABLE mfa_recovery_codes (
    hash        BLOB PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL,
    used_at     INTEGER
);
CREATE INDEX mfa_recovery_codes_identity ON mfa_recovery_codes(identity_id);

-- A password proven, the second factor still to come: the cookie holds a secret whose SHA-256
-- is hash; the row lives a few minutes and goes when the code is accepted.
CREATE TABLE mfa_challenges (
    hash        BLOB PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
