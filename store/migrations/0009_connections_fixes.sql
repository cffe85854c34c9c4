-- Connections review fixes.

-- authorized_at is when the connection's current Marketplace grant was
-- authorized (every install and reinstall sets it). An app_deauthorized
-- event older than it is about an earlier grant (Zoom retries deliveries
-- for up to an hour, and our own disconnect's revoke causes one), so it
-- must not tear down the connection made since. NULL (rows from before
-- this column, Server-to-Server connections) never counts as newer.
ALTER TABLE zoom_connections ADD COLUMN authorized_at timestamptz;
