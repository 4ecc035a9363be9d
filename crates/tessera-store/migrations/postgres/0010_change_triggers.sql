-- The database announces every committed change that a node's caches depend on (token records,
-- clients with their secrets, the scope catalogue, identities and their sets; consents too), on the
-- channel the nodes LISTEN on (see crates/tessera-store/src/feed.rs). NOTIFY inside the writing
-- transaction is delivered if, and only if, that transaction commits, so no change can commit
-- unannounced: not one whose node died before telling the others, not one made by hand.
--
-- Payloads use the feed's wire format, "<node> <change>;<change>...", with node "db" (no node
-- has that name, so every node applies them, the writer too). Changes: t<token hash in hex>,
-- c<client id>, s (scopes), r<identity> (consents rescinded), i<identity> (the identity or its
-- set), * (flush everything). Keep in step with `Change::decode`.
--
-- Statement-level triggers with transition tables: one firing per statement, however many rows
-- it touched, and a statement that touched no row announces nothing. Token INSERTs (issuance,
-- the hottest write) have no trigger at all: a new row is in no cache.

-- Sends `changes` in payloads under PostgreSQL's 8000-byte limit (100 changes of at most 65
-- bytes each); past 10000 changes in one statement, tells every node to flush instead.
CREATE FUNCTION tessera_announce(changes TEXT[]) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(cardinality(changes), 0);
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    IF n > 10000 THEN
        PERFORM pg_notify('tessera_changes', 'db *');
        RETURN;
    END IF;
    FOR i IN 0 .. (n - 1) / 100 LOOP
        PERFORM pg_notify('tessera_changes',
            'db ' || array_to_string(changes[i * 100 + 1 : (i + 1) * 100], ';'));
    END LOOP;
END $$;

-- A token row that changed in any way (revoked_at, rotated_at, expires_at are what the code
-- changes) is dropped from every cache by its hash. Rows an UPDATE left as they were announce
-- nothing.
CREATE FUNCTION tessera_tokens_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tessera_announce(ARRAY(
        SELECT 't' || encode(hash, 'hex') FROM (TABLE old_rows EXCEPT TABLE new_rows) AS changed));
    RETURN NULL;
END $$;

-- A deleted token that may still be live in some node's cache. The cleanup deletes tokens an
-- hour after they expired (refused everywhere already): those announce nothing. 300 s of margin
-- for clocks that disagree.
CREATE FUNCTION tessera_tokens_deleted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tessera_announce(ARRAY(
        SELECT 't' || encode(hash, 'hex') FROM old_rows
        WHERE expires_at >= extract(epoch FROM now())::BIGINT - 300));
    RETURN NULL;
END $$;

-- Any other table: TG_ARGV[0] is a TEXT[] expression over a row `r` giving the changes it
-- stands for. INSERT and DELETE announce the rows they wrote; UPDATE the rows that differ, as
-- they were and as they are (an UPDATE that only locks a row, `SET x = x`, announces nothing).
CREATE FUNCTION tessera_rows_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    source TEXT := CASE TG_OP
        WHEN 'INSERT' THEN 'new_rows'
        WHEN 'DELETE' THEN 'old_rows'
        ELSE '((TABLE old_rows EXCEPT TABLE new_rows) '
            'UNION ALL (TABLE new_rows EXCEPT TABLE old_rows))'
    END;
    changes TEXT[];
BEGIN
    EXECUTE format(
        'SELECT array_agg(DISTINCT c) FROM %s AS r, unnest(%s) AS c WHERE c IS NOT NULL',
        source, TG_ARGV[0])
    INTO changes;
    PERFORM tessera_announce(changes);
    RETURN NULL;
END $$;

-- TRUNCATE fires no row or DELETE trigger: what it removed is unknown, so flush everything.
CREATE FUNCTION tessera_truncated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_changes', 'db *');
    RETURN NULL;
END $$;

-- Tokens: no INSERT trigger (see above).
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON tokens
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_tokens_updated();
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON tokens
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_tokens_deleted();
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();

-- Clients: a new client is in no cache (unknown ids are not remembered). Deleting one cascades
-- to its credentials, scopes and FQDNs, whose triggers announce them too.
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON clients
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.id, '-', '')]$$);
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON clients
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.id, '-', '')]$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();

-- A client's secrets are cached with it.
CREATE TRIGGER tessera_changes_insert AFTER INSERT ON client_credentials
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.client_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON client_credentials
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.client_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON client_credentials
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.client_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON client_credentials
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();

-- The scope catalogue is cached whole.
CREATE TRIGGER tessera_changes_insert AFTER INSERT ON scopes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_rows_changed($$ARRAY['s']$$);
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON scopes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_rows_changed($$ARRAY['s']$$);
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON scopes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_rows_changed($$ARRAY['s']$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON scopes
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();

-- A client's FQDNs name its resource server, which its scopes carry: both the client and the
-- catalogue. (The store renames scopes.resource_server and rewrites clients.fqdns in the same
-- transaction, which their own triggers announce as well; this also covers hand edits.)
CREATE TRIGGER tessera_changes_insert AFTER INSERT ON client_fqdns
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.client_id, '-', ''), 's']$$);
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON client_fqdns
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.client_id, '-', ''), 's']$$);
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON client_fqdns
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['c' || replace(r.client_id, '-', ''), 's']$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON client_fqdns
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();

-- Identities are cached by id (and described in rendered introspection answers). No code path
-- updates or deletes one, so this costs nothing; a hand edit is announced as a change of the
-- identity's set, which drops its entry and every rendered answer. A new identity is in no cache.
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON identities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['i' || replace(r.id, '-', '')]$$);
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON identities
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['i' || replace(r.id, '-', '')]$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON identities
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();

-- Identity sets: every identity that joined, moved or left.
CREATE TRIGGER tessera_changes_insert AFTER INSERT ON identity_links
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['i' || replace(r.identity_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_update AFTER UPDATE ON identity_links
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['i' || replace(r.identity_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON identity_links
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['i' || replace(r.identity_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON identity_links
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();

-- Consents: rescinding deletes them (granting inserts, which nothing needs to hear about).
CREATE TRIGGER tessera_changes_delete AFTER DELETE ON consents
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION
        tessera_rows_changed($$ARRAY['r' || replace(r.identity_id, '-', '')]$$);
CREATE TRIGGER tessera_changes_truncate AFTER TRUNCATE ON consents
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_truncated();
