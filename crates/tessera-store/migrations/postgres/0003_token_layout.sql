-- Keep client-credentials tokens out of the secondary indexes (see migrations/sqlite).
DROP INDEX tokens_family;
DROP INDEX tokens_parent;
DROP INDEX tokens_subject_client;
CREATE INDEX tokens_family ON tokens(family_id) WHERE family_id IS NOT NULL;
CREATE INDEX tokens_parent ON tokens(parent) WHERE parent IS NOT NULL;
CREATE INDEX tokens_subject_client ON tokens(subject, client_id) WHERE subject_kind = 'identity';
