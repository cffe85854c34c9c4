-- Zoom's own emergency alert (issue 13 item 3): an EMERGENCY broadcast also
-- raises Zoom's E911 signage alert (PATCH /rooms/events) in its rooms, after
-- the broadcast commits. broadcast_zoom_alerts lists the Zoom rooms where
-- Zoom accepted it, by connection, so that ending the broadcast removes it
-- exactly there (the rooms targeted may have changed meanwhile); a row is
-- deleted once Zoom accepted the removal.
CREATE TABLE broadcast_zoom_alerts (
    broadcast_id  uuid NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    connection_id uuid NOT NULL REFERENCES zoom_connections (id) ON DELETE CASCADE,
    zoom_room_id  text NOT NULL,
    PRIMARY KEY (broadcast_id, connection_id, zoom_room_id)
);

-- zoom_alert_error says why Zoom's alert was not raised somewhere: a
-- connection without the optional permission, or Zoom's failure;
-- zoom_alert_removal_error why the last removal left it up somewhere (the
-- sweep tries again). NULL when nothing failed.
ALTER TABLE broadcasts ADD COLUMN zoom_alert_error text, ADD COLUMN zoom_alert_removal_error text;
