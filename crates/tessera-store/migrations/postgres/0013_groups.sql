-- Groups (the Globus Groups API v2): groups, memberships, and each identity's preference about
-- being added without an invitation. Policies are one JSON object (tessera_core::group::Policies).
CREATE TABLE groups (
    id                              TEXT PRIMARY KEY NOT NULL,
    name                            TEXT NOT NULL,
    description                     TEXT,
    parent_id                       TEXT REFERENCES groups(id),
    terms_and_conditions            TEXT,
    policies                        TEXT NOT NULL,
    subscription_id                 TEXT,
    subscription_admin_verified_id  TEXT,
    created_at                      BIGINT NOT NULL,
    updated_at                      BIGINT NOT NULL
);
CREATE INDEX groups_parent ON groups(parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE group_memberships (
    group_id              TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    identity_id           TEXT NOT NULL,
    role                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    status_reason         TEXT,
    invite_email_address  TEXT,
    invite_time           BIGINT,
    updated               BIGINT NOT NULL,
    PRIMARY KEY (group_id, identity_id)
);
-- "My groups": an identity set's memberships.
CREATE INDEX group_memberships_identity ON group_memberships(identity_id);

CREATE TABLE group_preferences (
    identity_id  TEXT PRIMARY KEY NOT NULL,
    allow_add    BOOLEAN
);

-- Membership changes reach every node at once (the change feed of migration 0010): 'g<group>'
-- for each group whose memberships changed; a deleted group cascades to its
-- memberships, whose trigger announces them. Keep in step with `Change::decode`.
CREATE TRIGGER tessera_changes_insert AFTER INSERT ON group_memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['g' || replace(r.group_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON group_memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['g' || replace(r.group_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON group_memberships
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['g' || replace(r.group_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON group_memberships
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();
