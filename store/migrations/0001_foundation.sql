-- Tenants, partner API keys and the audit trail: the base every other table hangs off.

CREATE TABLE tenants (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    license_limit integer NOT NULL CHECK (license_limit >= 0),
    -- licenses_used is changed only by one UPDATE that checks the limit in
    -- the same statement, so concurrent activations can never overshoot it.
    licenses_used integer NOT NULL DEFAULT 0 CHECK (licenses_used >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_licenses_within_limit CHECK (licenses_used <= license_limit)
);

-- An API key is shown once; only its SHA-256 is kept. The prefix is the
-- non-secret start of the key, used to find the row without scanning hashes.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix       text NOT NULL UNIQUE,
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    scopes       text[] NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at, id);

-- Audit events outlive the connections and rooms they describe, so target_id
-- is free text rather than a foreign key. details never holds a secret.
CREATE TABLE audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id DESC);
