-- Linked identities: every identity in a set shares set_id (the id of the identity the set
-- started with). An identity with no row is a set of its own.
CREATE TABLE identity_links (
    identity_id TEXT PRIMARY KEY NOT NULL,
    set_id      TEXT NOT NULL,
    linked_at   BIGINT NOT NULL
);
CREATE INDEX identity_links_set ON identity_links(set_id);
