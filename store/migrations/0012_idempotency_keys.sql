-- Idempotency keys of mutations (package idempotency owns this table): the
-- first request's fingerprint under a tenant's key and, once it completed,
-- its response, replayed for 24 h to retries of the same request.
CREATE TABLE idempotency_keys (
    tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    status       integer,
    content_type text,
    body         bytea,
    PRIMARY KEY (tenant_id, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
