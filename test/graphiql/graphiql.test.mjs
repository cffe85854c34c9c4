// The dev gateway's embedded GraphiQL in Debian's headless Chromium, driven
// by playwright-core (pinned in the lock file; no browser download: the
// system chromium is launched). app/graphiql_test.go starts the gateway,
// runs this file, and publishes a connection status event once the
// subscription GraphiQL opened reaches the gateway.
//
// Offline is enforced twice: every request of the page goes through
// context.route, which records it and aborts anything not on the gateway's
// origin, and the launch flags leave no origin but loopback reachable (a
// proxy nothing listens on, no host name resolves), so a request the route
// could not see (a websocket) cannot leave the machine either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (this test is run by app/graphiql_test.go)`);
  return v;
}

const gateway = new URL(required('GATEWAY_URL'));
const key = required('CREDENTIAL');
const connectionID = required('CONNECTION_ID');
const tenantName = required('TENANT_NAME');
const connectionLabel = required('CONNECTION_LABEL');
const wsURL = `ws://${gateway.host}/graphql`;

// GraphiQL 3's editors: the query, the visible tool editor (the headers
// editor, opened by default) and the result pane. CodeMirror 5 hangs its
// instance on its wrapper element.
const QUERY = '.graphiql-query-editor .CodeMirror';
const HEADERS = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
const RESULT = '.result-window .CodeMirror';

// What the page did, for the assertions and for failure messages.
const requests = []; // every HTTP(S) request routed, in order
const aborted = []; // those not on the gateway's origin
const sockets = []; // every websocket opened
const sentFrames = []; // what the page sent on them
const logs = []; // console messages, page errors, CSP violations

let browser;
let page;

function dump() {
  return `\nlogs:\n${logs.join('\n')}\nrequests:\n${requests.join('\n')}\nwebsockets: ${sockets.join(' ')}`;
}

// editorValue returns the text of the CodeMirror under selector.
function editorValue(selector) {
  return page.evaluate((s) => document.querySelector(s).CodeMirror.getValue(), selector);
}

// waitFor polls check (an async function returning [done, seen]) until it
// is done, and fails with the last thing seen otherwise. Polling from here
// rather than page.waitForFunction keeps the page's CSP (no unsafe-eval)
// intact and unbypassed.
async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  let seen;
  for (;;) {
    let done;
    [done, seen] = await check();
    if (done) return seen;
    if (Date.now() > deadline) assert.fail(`${what}: last seen ${JSON.stringify(seen)}${dump()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// waitResult waits until the result pane contains every one of want.
function waitResult(what, ...want) {
  return waitFor(what, 15_000, async () => {
    const r = await editorValue(RESULT);
    return [want.every((w) => r.includes(w)), r];
  });
}

// run puts query, whose one operation is named name, in the query editor
// and presses the run button once GraphiQL has parsed it (it does so
// 100 ms after an edit; a click before runs the previous operation).
async function run(name, query) {
  await page.evaluate(([s, q]) => document.querySelector(s).CodeMirror.setValue(q), [QUERY, query]);
  await waitFor(`GraphiQL's operation name to become ${name}`, 5_000, async () => {
    const op = await page.evaluate((s) => String(document.querySelector(s).CodeMirror.operationName), QUERY);
    return [op === name, op];
  });
  await page.click('.graphiql-execute-button');
}

test.before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--proxy-server=http://127.0.0.1:9',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
  const context = await browser.newContext();
  await context.route('**/*', (route) => {
    const u = route.request().url();
    requests.push(u);
    if (new URL(u).origin === gateway.origin) return route.continue();
    aborted.push(u);
    return route.abort('blockedbyclient');
  });
  // The page's own report of what its Content-Security-Policy refused
  // (init scripts are injected by the browser, not subject to the CSP).
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  page = await context.newPage();
  page.on('console', (m) => logs.push(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.stack || e}`));
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    ws.on('framesent', (f) => sentFrames.push(String(f.payload)));
  });
});

test.after(async () => {
  await browser?.close();
});

test('GraphiQL renders from the gateway alone', async () => {
  const res = await page.goto(`${gateway.origin}/`);
  assert.equal(res.status(), 200);
  await waitFor('GraphiQL to render its editors', 20_000, async () => {
    const ready = await page.evaluate(([h]) => !!(document.querySelector(h) && document.querySelector('.graphiql-execute-button')), [HEADERS]);
    return [ready, await page.evaluate(() => document.body.innerText.slice(0, 200))];
  });
});

test('a key typed into the headers editor authenticates a query', async () => {
  // GraphiQL opens the headers editor with an empty Authorization.
  assert.match(await editorValue(HEADERS), /"Authorization"/);
  await page.click(HEADERS);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // CodeMirror closes brackets and quotes as they are typed, and types
  // over a closing one: the whole text typed comes out as typed.
  await page.keyboard.type(`{"Authorization": "Bearer ${key}"}`);
  assert.deepEqual(JSON.parse(await editorValue(HEADERS)), { Authorization: `Bearer ${key}` });

  await run('Me', 'query Me { viewer { kind tenant { name } } zoomConnections { label } }');
  await waitResult('the query result', '"kind": "API_KEY"', `"name": ${JSON.stringify(tenantName)}`, `"label": ${JSON.stringify(connectionLabel)}`);
});

test('a subscription, authenticated by the same header, shows the event', async () => {
  await run('Status', 'subscription Status { connectionStatusChanged { id status statusReason } }');
  // app/graphiql_test.go publishes the event once the gateway holds the
  // stream.
  await waitResult('the subscription event', `"id": "${connectionID}"`, '"status": "REAUTH_REQUIRED"', '"statusReason": "the grant was revoked"');
  const init = sentFrames.map((f) => { try { return JSON.parse(f); } catch { return {}; } }).find((m) => m.type === 'connection_init');
  assert.ok(init, `no connection_init sent: ${JSON.stringify(sentFrames)}`);
  assert.equal(init.payload?.Authorization, `Bearer ${key}`, 'the headers editor is the connection_init payload');
});

test('everything came from the gateway, and the page refused and threw nothing', () => {
  assert.deepEqual(aborted, [], `requests off the gateway's origin${dump()}`);
  assert.ok(requests.some((u) => u.startsWith(`${gateway.origin}/graphiql/`)), `no asset from the gateway${dump()}`);
  assert.ok(requests.some((u) => u === `${gateway.origin}/graphql`), `no HTTP call to the endpoint${dump()}`);
  assert.ok(sockets.length > 0 && sockets.every((u) => u === wsURL), `websockets${dump()}`);
  const bad = logs.filter((l) => /Content Security Policy|CSP violation|^pageerror/.test(l));
  assert.deepEqual(bad, [], `the page's policy refused something or it threw${dump()}`);
});
