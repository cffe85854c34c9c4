-- Partner webhook events of screens (issue 15 item 1): each online
-- transition and each broadcast's end is announced exactly once, across
-- replicas, so the state that was announced is kept next to the state.
--
-- screen_status.online is the state last announced (screen.online or
-- screen.offline); the contact that finds it false announces online, the
-- periodic sweep that finds it true past the online window announces
-- offline, each under the row's lock.
ALTER TABLE screen_status ADD COLUMN online boolean NOT NULL DEFAULT false;
UPDATE screen_status SET online = last_seen_at > now() - interval '3 minutes';
CREATE INDEX screen_status_online ON screen_status (last_seen_at) WHERE online;

-- broadcasts.end_announced: broadcast.ended was written (by endBroadcast or
-- by the sweep once ends_at passed). Broadcasts over before this migration
-- are not announced again.
ALTER TABLE broadcasts ADD COLUMN end_announced boolean NOT NULL DEFAULT false;
UPDATE broadcasts SET end_announced = true WHERE ended_at IS NOT NULL OR ends_at <= now();
CREATE INDEX broadcasts_unannounced ON broadcasts (ends_at)
    WHERE NOT end_announced AND ended_at IS NULL AND ends_at IS NOT NULL;
