-- Partner webhooks (issue 15 items 1, 2, 4): endpoints per tenant with a
-- sealed Standard Webhooks secret, and one delivery per event per endpoint,
-- worked by River jobs.
CREATE TABLE webhook_endpoints (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url           text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events        text[] NOT NULL,
    description   text,
    secret_sealed text NOT NULL,
    enabled       boolean NOT NULL DEFAULT true,
    -- failing_since is the start of the current run of failed attempts; an
    -- endpoint failing for 24 hours straight is disabled.
    failing_since timestamptz,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL,
    webhook_id       text NOT NULL,
    event_type       text NOT NULL,
    -- room_id orders deliveries: a room's later events wait for its
    -- earlier ones ('' for events of no room).
    room_id          text NOT NULL DEFAULT '',
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED')),
    attempt          integer NOT NULL DEFAULT 0,
    response_code    integer,
    response_excerpt text,
    last_error       text,
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- One delivery per event per endpoint: a relay batch offered twice
    -- never sends twice.
    CONSTRAINT webhook_deliveries_once UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_unfinished ON webhook_deliveries (endpoint_id, room_id, event_id)
    WHERE status IN ('PENDING', 'RETRYING');
