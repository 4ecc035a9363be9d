-- Scopes granted by group (issue 14): a scope may carry a rule, JSON text
-- {"groups": ["posix:cms", "ldap:physics", "tessera:<uuid>"], "capabilities": ["read:/data", ...]}.
-- NULL: no rule, anyone who consents gets the scope. Keep in step with the other backend.
ALTER TABLE scopes ADD COLUMN group_rule TEXT;
