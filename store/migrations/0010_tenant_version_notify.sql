-- The version bump (0006_tenant_data_versions.sql) also notifies
-- "<tenant id>:<new version>" on channel tenant_data_version, so each
-- replica keeps every tenant's version in memory (rooms.DataVersions) and
-- a cached rooms response costs no statement. Postgres delivers a
-- notification only when (and if) its transaction commits, in commit
-- order, so a listener never sees a version that is not committed and
-- never sees them out of order. The bump still runs once per tenant per
-- transaction, so a sync of thousands of rows sends one notification, and
-- a no-change resync (whose updates the WHEN clauses skip) sends none.
CREATE OR REPLACE FUNCTION bump_tenant_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    mark text;
    v bigint;
BEGIN
    FOREACH t IN ARRAY ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.tenant_id END,
                             CASE WHEN TG_OP <> 'DELETE' THEN NEW.tenant_id END] LOOP
        CONTINUE WHEN t IS NULL;
        mark := 'zoomsignage.data_version_' || replace(t::text, '-', '');
        CONTINUE WHEN current_setting(mark, true) = '1';
        INSERT INTO tenant_data_versions AS dv (tenant_id, version) VALUES (t, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = dv.version + 1
        RETURNING dv.version INTO v;
        PERFORM set_config(mark, '1', true);
        PERFORM pg_notify('tenant_data_version', t::text || ':' || v::text);
    END LOOP;
    RETURN NULL;
END
$$;
