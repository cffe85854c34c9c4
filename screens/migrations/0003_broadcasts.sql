-- Broadcasts (issue 13 item 3): a message that replaces the program on the
-- targeted screens until it is ended or its ends_at passes. target_all
-- covers every activated room of the tenant, rooms activated later too;
-- otherwise broadcast_rooms lists the rooms.
CREATE TABLE broadcasts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message          text NOT NULL,
    severity         text NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'EMERGENCY')),
    target_all       boolean NOT NULL,
    room_count       integer NOT NULL,
    zoom_alert_rooms integer NOT NULL DEFAULT 0,
    started_at       timestamptz NOT NULL DEFAULT now(),
    started_by       text NOT NULL,
    ends_at          timestamptz,
    ended_at         timestamptz,
    ended_by         text
);
CREATE INDEX broadcasts_tenant ON broadcasts (tenant_id, started_at DESC, id);
CREATE INDEX broadcasts_live ON broadcasts (tenant_id) WHERE ended_at IS NULL;

CREATE TABLE broadcast_rooms (
    broadcast_id uuid NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    room_id      uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    PRIMARY KEY (broadcast_id, room_id)
);
CREATE INDEX broadcast_rooms_room ON broadcast_rooms (room_id);
