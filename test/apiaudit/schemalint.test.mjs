// Lints the schema a running gateway serves (run by app/apiaudit_test.go):
// GATEWAY_URL is its /graphql endpoint, CREDENTIAL a key or JWT. The served
// schema must have no violation, and two self-checks prove the lint is live:
// one description removed is reported, and the ZoomConnection exception
// covers nothing but ZoomConnection.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fetchSDL, format, lint } from './schemalint.mjs';

const require = createRequire(import.meta.url);
const { parse, print, visit } = require('graphql');

const url = process.env.GATEWAY_URL;
const credential = process.env.CREDENTIAL;
let sdl;

before(async () => {
  assert.ok(url && credential, 'GATEWAY_URL and CREDENTIAL are required');
  sdl = await fetchSDL(url, credential);
});

test('the served schema has no lint violation', () => {
  const violations = lint(sdl);
  assert.equal(violations.length, 0, `${violations.length} violation(s):\n${format(violations)}`);
});

test('a missing description is reported', () => {
  // Query.viewer's description removed: exactly that field is reported.
  const doc = visit(parse(sdl), {
    ObjectTypeDefinition(node) {
      if (node.name.value !== 'Query') return undefined;
      return { ...node, fields: node.fields.map((f) => (f.name.value === 'viewer' ? { ...f, description: undefined } : f)) };
    },
  });
  const violations = lint(print(doc));
  assert.deepEqual(violations.map((v) => v.rule), ['fields-have-descriptions'], format(violations));
  assert.match(violations[0].message, /viewer/);
});

test('the ZoomConnection exception covers nothing else', () => {
  const extra = `
"Not a Relay connection either, and not configured as an exception."
type FakeConnection { "An id." id: ID! }
extend type Query { "A field returning it." fake: FakeConnection }
`;
  const rules = lint(sdl + extra).map((v) => v.rule).sort();
  assert.deepEqual(rules, ['relay-connection-arguments-spec', 'relay-connection-types-spec'], format(lint(sdl + extra)));
});
