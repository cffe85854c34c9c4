-- Every attempt, and notices about the endpoint (issue 15: "webhookDeliveries
-- shows every attempt"). webhook_deliveries stays one row per event per
-- endpoint (the unique, idempotent part, worked by one River job series, its
-- status the latest outcome); each attempt the worker makes is a row here,
-- and so is a notice such as endpoint.disabled (no delivery).
--
-- webhookDeliveries lists these rows and the deliveries waiting for an
-- attempt (PENDING), newest first by one sequence: an attempt's seq is taken
-- when it is recorded, a pending delivery's list_seq when it is queued
-- (created or redelivered).
CREATE SEQUENCE webhook_listing_seq;

CREATE TABLE webhook_attempts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq              bigint NOT NULL DEFAULT nextval('webhook_listing_seq'),
    tenant_id        uuid NOT NULL,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- NULL for a notice.
    delivery_id      uuid REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    webhook_id       text NOT NULL,
    -- The delivery's attempt number (redeliveries continue it); 0 for a notice.
    attempt          integer NOT NULL,
    status           text NOT NULL CHECK (status IN ('RETRYING', 'SUCCEEDED', 'FAILED')),
    response_code    integer,
    response_excerpt text,
    error            text,
    duration_ms      integer,
    next_attempt_at  timestamptz,
    attempted_at     timestamptz NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (tenant_id, endpoint_id, seq DESC);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

ALTER TABLE webhook_deliveries ADD COLUMN list_seq bigint NOT NULL DEFAULT nextval('webhook_listing_seq');
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (tenant_id, endpoint_id, list_seq DESC) WHERE status = 'PENDING';

-- Deliveries attempted before this migration keep their latest attempt.
INSERT INTO webhook_attempts (tenant_id, endpoint_id, delivery_id, event_type, webhook_id, attempt, status,
    response_code, response_excerpt, error, next_attempt_at, attempted_at)
SELECT tenant_id, endpoint_id, id, event_type, webhook_id, attempt, status, response_code, response_excerpt, last_error,
    next_attempt_at, updated_at
FROM webhook_deliveries WHERE attempt > 0 AND status <> 'PENDING' ORDER BY created_at, id;
