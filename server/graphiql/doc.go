// Package graphiql serves the dev-mode GraphiQL page from the binary: every
// file the page loads is embedded, so it works offline and under a
// Content-Security-Policy that names no origin but the gateway's own.
//
// The third-party files under assets/ are the npm registry's published
// bytes, unmodified; assets/SHA256SUMS lists their sums and
// scripts/update-graphiql.sh re-fetches them with `npm pack` and checks
// them against it (edit the versions there, run it with -u, and update this
// list):
//
//	graphiql.min.js              graphiql 3.8.3    22faab94067b695e5f7959619fbe686ebcc8955002a0c97d986bcbba4ad4bc2c
//	graphiql.min.css             graphiql 3.8.3    b1868247f8e0502cd869e581f5f3cb55b334862e7f51b1d6cbace11059b9adc2
//	react.production.min.js      react 18.3.1      d949f1c3687aedadcedac85261865f29b17cd273997e7f6b2bfc53b2f9d4c4dd
//	react-dom.production.min.js  react-dom 18.3.1  35f4f974f4b2bcd44da73963347f8952e341f83909e4498227d4e26b98f66f0d
//
// graphiql.min.js bundles @graphiql/react, @graphiql/toolkit 0.11 and
// graphql-ws, the websocket client its fetcher uses for subscriptions, so
// no separate graphql-ws file is needed. The toolkit's fetcher sends the
// headers editor's headers with every HTTP request and spreads them into
// graphql-ws's connection_init payload, which is how a key typed there
// authenticates subscriptions (auth.FromInitPayload reads
// {"Authorization": "Bearer …"}).
//
// Our own files are index.html (the page), init.js (mounts GraphiQL; a
// file rather than an inline script, for script-src 'self') and page.css.
//
// Assets are served under a path naming a hash of their content, with a
// year's immutable caching; the page itself is no-store, so a new binary's
// page always names its own assets.
package graphiql
