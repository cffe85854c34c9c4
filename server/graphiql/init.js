// Wires the embedded GraphiQL to this gateway. It is a file, not an inline
// script, so the page's Content-Security-Policy can be script-src 'self'.
//
// Queries and mutations are POSTed to the endpoint with the headers editor's
// headers. Subscriptions go over graphql-ws (bundled in graphiql.min.js) to
// the same endpoint: @graphiql/toolkit spreads the headers editor's headers
// into the connection_init payload, so {"Authorization": "Bearer <key>"}
// typed there authenticates the websocket as it does HTTP requests.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var url = new URL(root.getAttribute('data-endpoint'), window.location.href);
  var ws = new URL(url.href);
  ws.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  var fetcher = GraphiQL.createFetcher({
    url: url.href,
    subscriptionUrl: ws.href,
    // The gateway has no @defer or @stream: plain JSON responses.
    enableIncrementalDelivery: false,
  });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      // An empty Authorization is no credential (not a failed one), so the
      // page's first introspection does not count against the caller's
      // failed-authentication budget before a key is typed.
      defaultHeaders: '{\n  "Authorization": ""\n}',
      defaultEditorToolsVisibility: 'headers',
      // Keys stay out of localStorage.
      shouldPersistHeaders: false,
    }),
  );
})();
