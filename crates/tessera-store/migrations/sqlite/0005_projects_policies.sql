-- Developer projects and their authentication policies (spec §4), and the effective identity
-- of a grant (the linked identity that satisfied the client's policy).
CREATE TABLE projects (
    id              TEXT PRIMARY KEY NOT NULL,
    display_name    TEXT NOT NULL,
    contact_email   TEXT NOT NULL,
    admin_ids       TEXT NOT NULL,
    admin_group_ids TEXT,
    created_at      INTEGER NOT NULL
);

-- One row per (project, admin identity): "the projects I administer" is an index lookup.
CREATE TABLE project_admins (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    identity_id TEXT NOT NULL,
    PRIMARY KEY (project_id, identity_id)
);
CREATE INDEX project_admins_identity ON project_admins(identity_id);

CREATE TABLE auth_policies (
    id                                TEXT PRIMARY KEY NOT NULL,
    project_id                        TEXT NOT NULL REFERENCES projects(id),
    display_name                      TEXT NOT NULL,
    description                       TEXT NOT NULL,
    high_assurance                    BOOLEAN NOT NULL,
    authentication_assurance_timeout  INTEGER,
    required_mfa                      BOOLEAN NOT NULL,
    domain_constraints_include        TEXT,
    domain_constraints_exclude        TEXT,
    created_at                        INTEGER NOT NULL
);
CREATE INDEX auth_policies_project ON auth_policies(project_id);

CREATE INDEX clients_project ON clients(project) WHERE project IS NOT NULL;
ALTER TABLE clients ADD COLUMN authentication_policy TEXT;
ALTER TABLE clients ADD COLUMN userinfo_from_effective_identity BOOLEAN NOT NULL DEFAULT 1;

ALTER TABLE tokens ADD COLUMN effective_identity TEXT;
ALTER TABLE authorization_codes ADD COLUMN effective_identity TEXT;
ALTER TABLE consents ADD COLUMN effective_identity TEXT;
