-- Upstream OpenID Connect identity providers (brokering). Keep in step with migrations/sqlite.
-- `client_secret` is sealed with the master key (AES-256-GCM, the IdP id as associated data);
-- `metadata` is the discovery document as fetched when the IdP was added (JSON text); `domains`
-- and `scopes` are JSON lists.
CREATE TABLE upstream_idps (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    issuer          TEXT NOT NULL UNIQUE,
    client_id       TEXT NOT NULL,
    client_secret   TEXT NOT NULL,
    domains         TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    username_claim  TEXT,
    trust_mfa       BOOLEAN NOT NULL,
    metadata        TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- Which Tessera identity an upstream identity is: keyed by (issuer, sub), never by email or
-- username. Kept when the IdP is removed, so adding the same issuer again finds the same people.
CREATE TABLE upstream_identities (
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    identity_id  TEXT NOT NULL UNIQUE REFERENCES identities(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);

-- Sign-ins in flight at an upstream, by the SHA-256 of their `state`; the callback deletes the
-- row it uses (single use).
CREATE TABLE upstream_logins (
    state_hash     BYTEA PRIMARY KEY NOT NULL,
    idp_id         TEXT NOT NULL REFERENCES upstream_idps(id) ON DELETE CASCADE,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    request        TEXT,
    next           TEXT,
    purpose        TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX upstream_logins_expires_at ON upstream_logins(expires_at);
