-- Content and playlists (issue 13 item 2): what screens play. A room has
-- at most one playlist; a playlist's schedule (weekly windows in its
-- timezone, none = always) decides when it plays.
CREATE TABLE contents (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('WEB_PAGE', 'IMAGE', 'VIDEO')),
    url              text NOT NULL CHECK (length(url) <= 2048),
    -- 0 only for a video: it plays to its end.
    duration_seconds integer NOT NULL CHECK (duration_seconds BETWEEN 0 AND 86400),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contents_tenant ON contents (tenant_id, created_at, id);

CREATE TABLE playlists (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       text NOT NULL,
    timezone   text NOT NULL DEFAULT 'UTC',
    -- [{"days": ["MON", ...], "start": "08:00", "end": "18:30"}, ...]
    schedule   jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX playlists_tenant ON playlists (tenant_id, name, id);

CREATE TABLE playlist_items (
    playlist_id      uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    -- RESTRICT: content in use is never deleted from under a playlist.
    content_id       uuid NOT NULL REFERENCES contents (id) ON DELETE RESTRICT,
    duration_seconds integer CHECK (duration_seconds BETWEEN 1 AND 86400),
    PRIMARY KEY (playlist_id, position)
);
CREATE INDEX playlist_items_content ON playlist_items (content_id);

CREATE TABLE room_playlists (
    room_id     uuid PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    assigned_by text NOT NULL
);
CREATE INDEX room_playlists_playlist ON room_playlists (playlist_id);
