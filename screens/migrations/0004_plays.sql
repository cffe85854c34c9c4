-- Proof of play (issue 13 item 4): what each screen reported showing. A
-- report is idempotent by the player's own id per room, and a second
-- report of the same id completes it (its end).
CREATE TABLE plays (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    room_id      uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    client_id    text NOT NULL,
    content_id   uuid REFERENCES contents (id) ON DELETE SET NULL,
    broadcast_id uuid REFERENCES broadcasts (id) ON DELETE SET NULL,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (room_id, client_id),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX plays_tenant ON plays (tenant_id, started_at, id);
CREATE INDEX plays_room ON plays (tenant_id, room_id, started_at, id);
