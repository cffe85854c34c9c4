-- Connections lifecycle: what has been announced about a connection's
-- status, and the durable progress of disconnects.

-- reported_status is the last status the gateway audited and published.
-- The token store may flip a row to REAUTH_REQUIRED by itself (invalid_grant
-- during any Zoom call); the health cycle announces every row whose status
-- differs from what was last reported.
ALTER TABLE zoom_connections ADD COLUMN reported_status text;
UPDATE zoom_connections SET reported_status = status;

-- One row per disconnect or deauthorization. It outlives the connection row
-- (no foreign key to it): it is the report disconnectZoom returns, and the
-- progress a retried cleanup job continues from. Per-room progress is the
-- signage_assignments rows themselves: each is deleted, and its license
-- released, in one transaction once its room is cleaned.
CREATE TABLE zoom_disconnects (
    connection_id     uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind              text NOT NULL,
    zoom_account_id   text NOT NULL,
    label             text NOT NULL DEFAULT '',
    -- reason is 'disconnect' (asked through the API) or 'deauthorized'
    -- (app_deauthorized from Zoom: nothing is revoked, nothing is called).
    reason            text NOT NULL CHECK (reason IN ('disconnect', 'deauthorized')),
    actor             text NOT NULL,
    previous_status   text NOT NULL,
    state             text NOT NULL DEFAULT 'RUNNING' CHECK (state IN ('RUNNING', 'DONE')),
    revoked           boolean NOT NULL DEFAULT false,
    revoke_done       boolean NOT NULL DEFAULT false,
    rooms_cleaned     integer NOT NULL DEFAULT 0,
    licenses_released integer NOT NULL DEFAULT 0,
    leftovers         jsonb NOT NULL DEFAULT '[]',
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);
CREATE INDEX zoom_disconnects_tenant ON zoom_disconnects (tenant_id, started_at);
