-- A customer's link to one Zoom account. Credentials are Vault-transit
-- ciphertexts bound to tenant_id; credential_version increases with every
-- write of them so a replica can tell whether its in-memory token is current.
CREATE TABLE zoom_connections (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind                     text NOT NULL CHECK (kind IN ('MARKETPLACE', 'SERVER_APP')),
    zoom_account_id          text NOT NULL,
    client_id                text NOT NULL,
    label                    text NOT NULL DEFAULT '',
    plan                     text NOT NULL DEFAULT 'pro' CHECK (plan IN ('free', 'pro', 'business')),
    admin_user_id            text NOT NULL DEFAULT '',
    admin_name               text NOT NULL DEFAULT '',
    admin_email              text NOT NULL DEFAULT '',
    status                   text NOT NULL DEFAULT 'ACTIVE'
                             CHECK (status IN ('ACTIVE', 'REAUTH_REQUIRED', 'MISSING_SCOPE', 'DISCONNECTING', 'ERROR')),
    status_reason            text,
    sealed_client_secret     text,
    sealed_access_token      text,
    sealed_refresh_token     text,
    access_token_expires_at  timestamptz,
    refresh_token_updated_at timestamptz,
    credential_version       bigint NOT NULL DEFAULT 1,
    granted_scopes           text[] NOT NULL DEFAULT '{}',
    missing_scopes           text[] NOT NULL DEFAULT '{}',
    last_health_check_at     timestamptz,
    created_by               text NOT NULL DEFAULT '',
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
-- A Zoom account is linked to at most one live connection, across all tenants.
CREATE UNIQUE INDEX zoom_connections_account ON zoom_connections (zoom_account_id);
CREATE INDEX zoom_connections_tenant ON zoom_connections (tenant_id, created_at, id);
