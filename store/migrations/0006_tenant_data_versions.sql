-- A per-tenant counter of changes to what a room listing shows, so a
-- replica may serve a cached rooms response only while the counter it was
-- built under is still current (resolvers/rooms_cache.go).
--
-- The counter is bumped by triggers, not by the code that writes: rooms,
-- devices, alerts, signage and connections are written from several
-- packages (sync, device refresh, alert webhooks, signage, connect,
-- disconnect cleanup, the token store, credential rewrap), and a trigger
-- cannot be forgotten by a new write path. The bump commits with the write
-- or not at all, so no cached response outlives a committed change.
--
-- The triggers are deferred constraint triggers: the counter row is locked
-- at commit, after every other lock the transaction takes. Bumping at the
-- first write instead would hold the tenant's counter across the rest of
-- the transaction, and two writers of one tenant that touch the same rows
-- in different orders could deadlock on it. A transaction bumps each tenant
-- once: the first firing marks the tenant in a transaction-local setting
-- and the other rows' firings only read it.
--
-- No foreign key to tenants: a tenant deleted in the same transaction would
-- make the commit-time insert fail. Tenant ids are never reused.
CREATE TABLE tenant_data_versions (
    tenant_id uuid PRIMARY KEY,
    version   bigint NOT NULL
);

CREATE FUNCTION bump_tenant_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    mark text;
BEGIN
    FOREACH t IN ARRAY ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.tenant_id END,
                             CASE WHEN TG_OP <> 'DELETE' THEN NEW.tenant_id END] LOOP
        CONTINUE WHEN t IS NULL;
        mark := 'zoomsignage.data_version_' || replace(t::text, '-', '');
        CONTINUE WHEN current_setting(mark, true) = '1';
        INSERT INTO tenant_data_versions AS v (tenant_id, version) VALUES (t, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        PERFORM set_config(mark, '1', true);
    END LOOP;
    RETURN NULL;
END
$$;

-- Updates that change nothing (a resync, a health check that finds the
-- same state) leave the version, and so the cache, alone.
CREATE CONSTRAINT TRIGGER rooms_data_version AFTER INSERT OR DELETE ON rooms
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER rooms_data_version_update AFTER UPDATE ON rooms
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER room_devices_data_version AFTER INSERT OR DELETE ON room_devices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER room_devices_data_version_update AFTER UPDATE ON room_devices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER room_alerts_data_version AFTER INSERT OR DELETE ON room_alerts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER room_alerts_data_version_update AFTER UPDATE ON room_alerts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER signage_assignments_data_version AFTER INSERT OR DELETE ON signage_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER signage_assignments_data_version_update AFTER UPDATE ON signage_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER zoom_connections_data_version AFTER INSERT OR DELETE ON zoom_connections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_tenant_data_version();
CREATE CONSTRAINT TRIGGER zoom_connections_data_version_update AFTER UPDATE ON zoom_connections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION bump_tenant_data_version();
