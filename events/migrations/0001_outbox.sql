-- The events package's outbox (issue 11, "events that cannot be lost"):
-- every event is written here in the transaction that causes it, and each
-- consumer (subscriptions over Redis, partner webhooks) takes it from its own
-- pending row, so nothing committed goes unpublished when a consumer's
-- destination is down. Rows are kept a while after every consumer took them,
-- for subscribers' catch-up after a Redis reconnect and for inspection, and
-- pruned by the events package's periodic job.
CREATE TABLE event_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  text NOT NULL,
    kind       text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_outbox_tenant ON event_outbox (tenant_id, id);
CREATE INDEX event_outbox_created ON event_outbox (created_at);

-- One row per (consumer, event) not yet handled by that consumer.
CREATE TABLE event_outbox_pending (
    consumer text NOT NULL,
    event_id bigint NOT NULL REFERENCES event_outbox (id) ON DELETE CASCADE,
    PRIMARY KEY (consumer, event_id)
);

-- Relays LISTEN on event_outbox; the notification is sent at commit, once
-- per transaction whatever the number of events.
CREATE FUNCTION event_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('event_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER event_outbox_pending_notify AFTER INSERT ON event_outbox_pending
    FOR EACH STATEMENT EXECUTE FUNCTION event_outbox_notify();
