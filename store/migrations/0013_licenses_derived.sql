-- A tenant's licenses_used is derived from its signage assignments (one
-- license per assignment row, whatever its state): triggers keep the
-- counter, so no write path can forget to take or return a license, and a
-- row deleted by a cascade (a room removed, a connection deleted) returns
-- its license like any other. The counter stays a column because the
-- tenants_licenses_within_limit CHECK on it is what makes concurrent
-- activations safe: the trigger's UPDATE of the tenant row serialises them,
-- and an insert past the limit fails with that constraint.
CREATE FUNCTION signage_licenses_taken() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants t SET licenses_used = t.licenses_used + n.taken
    FROM (SELECT tenant_id, count(*) AS taken FROM taken_rows GROUP BY tenant_id) n
    WHERE t.id = n.tenant_id;
    RETURN NULL;
END $$;

CREATE FUNCTION signage_licenses_returned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants t SET licenses_used = greatest(t.licenses_used - n.returned, 0)
    FROM (SELECT tenant_id, count(*) AS returned FROM returned_rows GROUP BY tenant_id) n
    WHERE t.id = n.tenant_id;
    RETURN NULL;
END $$;

CREATE TRIGGER signage_assignments_take_licenses AFTER INSERT ON signage_assignments
    REFERENCING NEW TABLE AS taken_rows FOR EACH STATEMENT EXECUTE FUNCTION signage_licenses_taken();
CREATE TRIGGER signage_assignments_return_licenses AFTER DELETE ON signage_assignments
    REFERENCING OLD TABLE AS returned_rows FOR EACH STATEMENT EXECUTE FUNCTION signage_licenses_returned();

-- An assignment never moves between tenants; refuse it rather than let the
-- counters drift.
CREATE FUNCTION signage_assignment_tenant_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'signage_assignments.tenant_id cannot change';
END $$;
CREATE TRIGGER signage_assignments_tenant_fixed BEFORE UPDATE OF tenant_id ON signage_assignments
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id) EXECUTE FUNCTION signage_assignment_tenant_fixed();

-- Start from the truth.
UPDATE tenants t SET licenses_used = (SELECT count(*) FROM signage_assignments a WHERE a.tenant_id = t.id);
