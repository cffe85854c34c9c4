-- When the reconciler (rooms/reconcile.go) last compared an ACTIVE
-- assignment with what Zoom holds for the room; it checks the least
-- recently verified first, so every assignment comes round in turn.
ALTER TABLE signage_assignments ADD COLUMN verified_at timestamptz;
CREATE INDEX signage_assignments_verify ON signage_assignments (connection_id, verified_at NULLS FIRST, room_id)
    WHERE state = 'ACTIVE';
