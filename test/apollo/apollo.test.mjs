// Apollo Client 4 against the gateway, as the product's React app uses it:
// an InMemoryCache with relay-style pagination on rooms, an HttpLink for
// queries and mutations and a GraphQLWsLink for subscriptions.
// app/apollo_test.go starts the gateway (syncing a Zoom simulator), runs
// this file, and flips a room's status in the simulator once the
// subscription is open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination, getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (this test is run by app/apollo_test.go)`);
  return v;
}

const httpURL = required('GATEWAY_URL');
const wsURL = httpURL.replace(/^http/, 'ws');
const key = required('CREDENTIAL');
const roomCount = Number(required('ROOM_COUNT'));

// Every HTTP request the client makes, so a test can tell a cache update
// from a refetch.
const httpRequests = [];
const countingFetch = (input, init) => {
  httpRequests.push(JSON.parse(init.body).operationName);
  return fetch(input, init);
};

const ws = createClient({ url: wsURL, webSocketImpl: WebSocket, connectionParams: { authToken: key }, lazy: true });
const client = new ApolloClient({
  link: split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === 'OperationDefinition' && def.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    new HttpLink({ uri: httpURL, headers: { Authorization: `Bearer ${key}` }, fetch: countingFetch }),
  ),
  cache: new InMemoryCache({
    typePolicies: { Query: { fields: { rooms: relayStylePagination(['connectionId', 'filter']) } } },
  }),
});

const ROOMS = gql`
  query Rooms($first: Int, $after: String) {
    rooms(first: $first, after: $after) {
      totalCount
      edges { cursor node { id name signage { state } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

const ACTIVATE = gql`
  mutation Activate($ids: [ID!]!) {
    activateSignage(roomIds: $ids) { roomId ok error { code message } room { id signage { state } } }
  }
`;

const STATUS = gql`
  subscription Status { roomStatusChanged { status previousStatus room { id zoomRoomId status } } }
`;

test.after(async () => {
  await ws.dispose();
  client.stop();
});

test('pages rooms relay-style and the cache merges the pages', async () => {
  const first = await client.query({ query: ROOMS, variables: { first: 1 } });
  assert.equal(first.error, undefined);
  assert.equal(first.data.rooms.totalCount, roomCount);
  assert.equal(first.data.rooms.edges.length, 1);
  let page = first.data.rooms;
  const observable = client.watchQuery({ query: ROOMS, variables: { first: 1 } });
  while (page.pageInfo.hasNextPage) {
    const more = await observable.fetchMore({ variables: { first: 1, after: page.pageInfo.endCursor } });
    assert.equal(more.error, undefined);
    page = more.data.rooms;
  }
  const merged = client.readQuery({ query: ROOMS, variables: { first: 1 } });
  assert.equal(merged.rooms.edges.length, roomCount, 'every page merged into one list');
  assert.equal(new Set(merged.rooms.edges.map((e) => e.node.id)).size, roomCount, 'no room twice');
});

test("activating signage updates the cached room from the mutation's payload alone", async () => {
  const cached = client.readQuery({ query: ROOMS, variables: { first: 1 } });
  const room = cached.rooms.edges[0].node;
  assert.equal(room.signage, null, 'not activated yet');
  const before = httpRequests.length;
  const res = await client.mutate({ mutation: ACTIVATE, variables: { ids: [room.id] } });
  assert.equal(res.error, undefined);
  const result = res.data.activateSignage[0];
  assert.equal(result.error, null, JSON.stringify(result.error));
  assert.ok(result.room, 'the payload carries the room');
  const after = client.readQuery({ query: ROOMS, variables: { first: 1 } });
  const updated = after.rooms.edges.find((e) => e.node.id === room.id).node;
  assert.ok(updated.signage && ['ACTIVE', 'PENDING_ZOOM_ENABLE', 'PUSHING'].includes(updated.signage.state),
    `the cached room shows its signage: ${JSON.stringify(updated.signage)}`);
  assert.deepEqual(httpRequests.slice(before), ['Activate'], 'no refetch: the mutation alone updated the cache');
});

test('a subscription event arrives over GraphQLWsLink', async () => {
  const event = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event within 60 s')), 60_000);
    const sub = client.subscribe({ query: STATUS }).subscribe({
      next: (r) => {
        if (r.error) { clearTimeout(timer); reject(r.error); return; }
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(r.data.roomStatusChanged);
      },
      error: (e) => { clearTimeout(timer); reject(e); },
    });
  });
  assert.equal(event.room.zoomRoomId, required('FLIPPED_ROOM'));
  assert.equal(event.status, 'IN_MEETING');
  assert.equal(event.room.status, 'IN_MEETING');
});
