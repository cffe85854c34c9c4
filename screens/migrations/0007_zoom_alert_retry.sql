-- When the sweep last tried to remove a broadcast's Zoom alert. The sweep
-- retries the least recently tried first, at most once a minute each, and
-- for a day after the broadcast ended: a removal Zoom keeps refusing (a
-- room deleted in Zoom, a revoked permission) can no longer fill every
-- sweep and hold other tenants' removals back.
ALTER TABLE broadcasts ADD COLUMN zoom_alert_removal_tried_at timestamptz;
