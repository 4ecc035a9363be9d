-- Access tokens per resource server: opaque (default) or RFC 9068 JWTs.
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque';

-- Key rotation: a key is published from creation and signs from activates_at. Keys stored
-- before this migration have 0 (active since always). `private_pem` holds the PEM sealed
-- with the master key ("sealed:v1:..."), or clear PEM in databases not yet upgraded.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
