-- Rooms review fixes (issue 6 follow-up).

-- A push lease: whoever pushes to or removes from Zoom an assignment claims
-- it first (a conditional UPDATE), so two pushes, or a push and a removal,
-- never interleave their Zoom calls. A lease older than the rooms package's
-- bound is free again: a crashed pusher blocks the room for that long only.
ALTER TABLE signage_assignments
    ADD COLUMN push_owner      text,
    ADD COLUMN push_started_at timestamptz,
    -- content_add_started_at is set before our library item is added and
    -- cleared once its id is stored: set with no id means an add whose
    -- answer was lost, and a retry looks for the item before adding one.
    ADD COLUMN content_add_started_at timestamptz;

-- Zoom-side signage work still owed after the assignment (and its license)
-- is gone: library items whose delete failed, and rooms deactivated while
-- Zoom was unreachable (their signage must be removed later, or by hand in
-- Zoom's portal). Later syncs of the connection retry them.
CREATE TABLE signage_leftovers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id   uuid NOT NULL REFERENCES zoom_connections (id) ON DELETE CASCADE,
    zoom_room_id    text NOT NULL DEFAULT '',
    zoom_content_id text NOT NULL DEFAULT '',
    content_list_id text NOT NULL DEFAULT '',
    reason          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signage_leftovers_connection ON signage_leftovers (connection_id, updated_at);

-- Device refreshes that fail still move a room back in the refresh queue.
ALTER TABLE rooms ADD COLUMN devices_failed_at timestamptz;
