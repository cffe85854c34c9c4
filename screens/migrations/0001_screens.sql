-- screen_status is what a screen last told us (issue 13): when its player
-- last fetched its program or held its event stream open. Screen.online is
-- derived from it; the row goes with its room.
CREATE TABLE screen_status (
    room_id      uuid PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX screen_status_tenant ON screen_status (tenant_id);
