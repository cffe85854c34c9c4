-- A dark screen feeds room health (issue 13 item 4): the screens package
-- reports each online transition of an assignment's screen here, so the
-- rooms package, which owns health, computes it from its own tables.
-- PENDING: not yet reported since activation (the screens sweep turns it
-- OFFLINE once the online window passed after activation without a
-- contact, or ONLINE when the player did call); existing assignments start
-- PENDING and the first sweep sorts them by the screens' own status.
ALTER TABLE signage_assignments
    ADD COLUMN screen_state text NOT NULL DEFAULT 'PENDING' CHECK (screen_state IN ('PENDING', 'ONLINE', 'OFFLINE'));
CREATE INDEX signage_assignments_screen_pending ON signage_assignments (activated_at) WHERE screen_state = 'PENDING';
