-- The audit log of security events (sign-ins, tokens issued and revoked, consents, client
-- secrets, identity links). Rows are only ever appended; id orders them.
CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    event       TEXT NOT NULL,
    actor       TEXT,
    subject     TEXT,
    client_id   TEXT,
    remote_addr TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_event ON audit_events(event, id);
