-- Storage connectors (issue 13): agents on storage hosts. Only the SHA-256 of a connector's
-- secret is stored; public_url and cert_fingerprint are what it said at its last check-in.
-- An endpoint with connector_id is served by that connector: its root_path is a directory on
-- the connector's host, which the service never opens. Keep in step with migrations/postgres.
CREATE TABLE transfer_connectors (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL UNIQUE,
    secret_hash      BLOB NOT NULL,
    public_url       TEXT,
    cert_fingerprint TEXT,
    last_seen        INTEGER,
    created_at       INTEGER NOT NULL
);

ALTER TABLE transfer_endpoints ADD COLUMN connector_id TEXT REFERENCES transfer_connectors(id);
CREATE INDEX transfer_endpoints_connector ON transfer_endpoints (connector_id);
