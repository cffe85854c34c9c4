// Runs graphql-http's GraphQL-over-HTTP audit suite against the gateway at
// GATEWAY_URL with CREDENTIAL as its bearer key, and prints one JSON line
// per audit ({id, name, status, reason}); it exits 1 on any failure or
// warning (a notice is a MAY the gateway does not do), so the Go test (app/httpaudit_test.go) fails with the list.
import { auditServer } from 'graphql-http';

const url = process.env.GATEWAY_URL;
const credential = process.env.CREDENTIAL;
if (!url || !credential) {
  console.error('GATEWAY_URL and CREDENTIAL are required');
  process.exit(2);
}

// Every audit request carries the key: the gateway answers anonymous
// callers 401 before GraphQL, which is not what the audits are about.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${credential}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
let bad = 0;
for (const r of results) {
  if (r.status !== 'ok' && r.status !== 'notice') bad++;
  console.log(JSON.stringify({ id: r.id, name: r.name, status: r.status, reason: r.status === 'ok' ? undefined : r.reason }));
}
console.log(JSON.stringify({ audits: results.length, notOk: bad }));
process.exit(bad === 0 ? 0 : 1);
