-- The synced inventory of a connection's Zoom Rooms, its health, our signage
-- assignments, sync runs and webhook idempotency. Everything hangs off
-- zoom_connections with ON DELETE CASCADE so a finished disconnect leaves
-- nothing behind but the audit trail; licenses are released explicitly (in
-- tenants.licenses_used) before rows go.

CREATE TABLE rooms (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id              uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id          uuid NOT NULL REFERENCES zoom_connections (id) ON DELETE CASCADE,
    -- zoom_room_id is the list call's "id", the one Zoom API paths take;
    -- zoom_dashboard_id is its "room_id", a different identifier.
    zoom_room_id           text NOT NULL,
    zoom_dashboard_id      text NOT NULL DEFAULT '',
    name                   text NOT NULL,
    type                   text NOT NULL DEFAULT '',
    location_id            text,
    status                 text NOT NULL CHECK (status IN ('AVAILABLE', 'IN_MEETING', 'OFFLINE', 'UNDER_CONSTRUCTION')),
    online                 boolean NOT NULL,
    last_seen_at           timestamptz,
    health                 text NOT NULL DEFAULT 'UNKNOWN' CHECK (health IN ('OK', 'WARNING', 'CRITICAL', 'UNKNOWN')),
    devices_refreshed_at   timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connection_id, zoom_room_id)
);
CREATE INDEX rooms_tenant_name ON rooms (tenant_id, name, id);
CREATE INDEX rooms_connection_devices ON rooms (connection_id, devices_refreshed_at NULLS FIRST);

CREATE TABLE room_devices (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    room_id        uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    zoom_device_id text NOT NULL,
    type           text NOT NULL,
    model          text,
    manufacturer   text,
    os             text,
    app_version    text,
    firmware       text,
    status         text NOT NULL,
    hostname       text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (room_id, zoom_device_id)
);

-- Latest state per room and (component, alert type), from zoomroom.alert.
CREATE TABLE room_alerts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    room_id      uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    component    integer NOT NULL,
    alert_type   integer NOT NULL,
    issue        text NOT NULL DEFAULT '',
    state        text NOT NULL CHECK (state IN ('TRIGGERED', 'CLEARED')),
    triggered_at timestamptz NOT NULL,
    cleared_at   timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (room_id, component, alert_type)
);

-- One row per room with our signage: it holds the room's license.
CREATE TABLE signage_assignments (
    room_id              uuid PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id        uuid NOT NULL REFERENCES zoom_connections (id) ON DELETE CASCADE,
    state                text NOT NULL CHECK (state IN ('PUSHING', 'ACTIVE', 'PENDING_ZOOM_ENABLE', 'FAILED', 'REMOVING')),
    -- screen_token is the unguessable part of the screen URL.
    screen_token         text NOT NULL UNIQUE,
    screen_url           text NOT NULL,
    zoom_content_id      text,
    zoom_content_list_id text,
    layout               text NOT NULL DEFAULT 'STANDARD' CHECK (layout IN ('STANDARD', 'VIDEO_CONTENT')),
    muted                boolean NOT NULL DEFAULT true,
    start_after_minutes  integer NOT NULL DEFAULT 0 CHECK (start_after_minutes BETWEEN 0 AND 1440),
    stop_before_minutes  integer NOT NULL DEFAULT 0 CHECK (stop_before_minutes BETWEEN 0 AND 1440),
    activated_at         timestamptz NOT NULL DEFAULT now(),
    activated_by         text NOT NULL,
    last_pushed_at       timestamptz,
    last_error           text,
    push_attempts        integer NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signage_assignments_pending ON signage_assignments (connection_id, state);
CREATE INDEX signage_assignments_tenant ON signage_assignments (tenant_id);

CREATE TABLE sync_runs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id  uuid NOT NULL REFERENCES zoom_connections (id) ON DELETE CASCADE,
    trigger        text NOT NULL CHECK (trigger IN ('periodic', 'manual', 'connect', 'webhook')),
    state          text NOT NULL CHECK (state IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    rooms_seen     integer NOT NULL DEFAULT 0,
    rooms_added    integer NOT NULL DEFAULT 0,
    rooms_removed  integer NOT NULL DEFAULT 0,
    status_changes integer NOT NULL DEFAULT 0,
    zoom_calls     integer NOT NULL DEFAULT 0,
    error          text
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, started_at DESC);
-- At most one running sync per connection: "Sync now" joins it.
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (connection_id) WHERE state = 'RUNNING';

-- Webhook deliveries already accepted, so Zoom's retries are handled once.
CREATE TABLE webhook_events (
    event_key   text PRIMARY KEY,
    event       text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_received ON webhook_events (received_at);
