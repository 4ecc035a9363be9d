-- Groups whose active members administer a project ("project admins may be groups"): one row
-- per (project, group), so "the projects my groups administer" is an index lookup. Kept in step
-- with projects.admin_group_ids by the store, like project_admins with admin_ids.
CREATE TABLE project_admin_groups (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL,
    PRIMARY KEY (project_id, group_id)
);
CREATE INDEX project_admin_groups_group ON project_admin_groups(group_id);

INSERT INTO project_admin_groups (project_id, group_id)
SELECT DISTINCT p.id, g FROM projects p, jsonb_array_elements_text(p.admin_group_ids::jsonb) g
WHERE p.admin_group_ids IS NOT NULL;
