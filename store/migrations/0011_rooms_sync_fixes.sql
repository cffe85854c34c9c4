-- Rooms sync review fixes (issue 6 follow-up).

-- A complete room list that would remove most of a connection's rooms (or
-- all of them) is not trusted at once: one empty-but-200 answer must not
-- deactivate every screen. The run records how many removals it refused;
-- the next run that sees the same shrink confirms it and removes them.
ALTER TABLE sync_runs ADD COLUMN removals_refused integer NOT NULL DEFAULT 0;

-- The device refresh order: a room is due by the later of its last refresh
-- and its last failed refresh, so a room that keeps failing moves back in
-- the queue instead of heading it forever.
CREATE INDEX rooms_connection_devices_due
    ON rooms (connection_id, (greatest(devices_refreshed_at, devices_failed_at)) NULLS FIRST, id);
