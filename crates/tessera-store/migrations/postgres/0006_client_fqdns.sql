-- Verified client FQDNs (spec §1.1, §4). A name belongs to one client at a time (the primary
-- key); position orders a client's names, and the first names its resource server.
-- clients.fqdns keeps the same list as JSON for reading a client in one row.
CREATE TABLE client_fqdns (
    fqdn        TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    verified_at BIGINT NOT NULL,
    UNIQUE (client_id, position)
);
