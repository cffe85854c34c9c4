// The reference graphql-ws client against the gateway. app/subscriptions_test.go
// starts the gateway, runs `node --test` here with the environment below, and
// makes the room status changes this test waits for once the subscription
// is live on the gateway.
//
//   GATEWAY_WS_URL   ws://host:port/graphql
//   CREDENTIAL       an API key or JWT with rooms:read
//   CONNECTION_ID    the connection whose rooms to watch
//   EXPECT_EVENTS    JSON [{"room": zoomRoomId, "previousStatus", "status"}], in order
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const url = required('GATEWAY_WS_URL');

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (this test is run by app/subscriptions_test.go)`);
  return v;
}

function client(credential, extra = {}) {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${credential}` },
    retryAttempts: 0,
    ...extra,
  });
}

test('roomStatusChanged delivers the status flips of the connection', async () => {
  const want = JSON.parse(required('EXPECT_EVENTS'));
  const c = client(required('CREDENTIAL'));
  const got = [];
  try {
    const events = c.iterate({
      query: `subscription($c: ID) { roomStatusChanged(connectionId: $c) {
        previousStatus status at room { id zoomRoomId name status online } } }`,
      variables: { c: required('CONNECTION_ID') },
    });
    for await (const result of events) {
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const ev = result.data.roomStatusChanged;
      assert.equal(ev.room.status, ev.status);
      assert.ok(!Number.isNaN(Date.parse(ev.at)), `at is a time: ${ev.at}`);
      got.push({ room: ev.room.zoomRoomId, previousStatus: ev.previousStatus, status: ev.status });
      if (got.length === want.length) break;
    }
  } finally {
    await c.dispose();
  }
  assert.deepEqual(got, want);
});

test('bad credentials are refused with close code 4403', async () => {
  const c = client('zsk_not_a_real_key');
  const closed = new Promise((resolve) => c.on('closed', resolve));
  try {
    const events = c.iterate({ query: 'subscription { roomStatusChanged { status } }' });
    await assert.rejects(events.next(), (err) => {
      assert.equal(err.code, 4403, `closed with ${err.code} ${err.reason}`);
      return true;
    });
    const ev = await closed;
    assert.equal(ev.code, 4403);
  } finally {
    await c.dispose();
  }
});
