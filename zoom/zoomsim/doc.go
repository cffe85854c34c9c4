// Package zoomsim is an in-memory Zoom that speaks Zoom's published
// contract (shared/zoom-openapi): OAuth at the server root, the REST API
// under /v2, and a JSON control API under /_sim/ to script the world. It is
// written from the OpenAPI files and shares no types with the gateway's
// zoom client, so a wrong idea of Zoom in the client fails tests instead of
// being mirrored here.
//
// # Use in tests
//
//	sim := zoomsim.New(zoomsim.Options{})
//	srv := httptest.NewServer(sim)
//	defer srv.Close()
//	seed, _ := sim.Seed(ctx, zoomsim.SeedOptions{Rooms: 50})
//	// Server-to-Server: POST srv.URL+"/oauth/token" with Basic
//	// seed.Server.ClientID:ClientSecret and
//	// grant_type=account_credentials&account_id=seed.AccountID,
//	// then call srv.URL+"/v2/rooms" with the bearer token.
//
// The control operations are Go methods (CreateAccount, CreateApp,
// CreateUser, AddRooms, GenerateRooms, UpdateRoom, DeleteRoom, SetLimits,
// SetRestriction, AddFault, RaiseAlert, Deauthorize, RevokeGrants,
// ExpireTokens, Authorize, Calls, TokenCalls, Served, ...). The HTTP control
// API calls the same methods.
//
// # OAuth
//
// GET /oauth/authorize serves an HTML consent page listing every user; its
// form posts back to /oauth/authorize, which redirects to redirect_uri. For
// tests, add sim_user_id=<user id> (and optionally sim_decision=deny) to
// the authorize URL to get the redirect at once, or call Sim.Authorize.
// The redirect carries code and state, or one of these error values with
// error_description (and state):
//
//	access_denied        the user pressed Deny
//	unauthorized_client  the user is not an admin and the app is
//	                     account-level ("not allowed to install")
//	invalid_request      bad response_type or code_challenge_method
//
// An unknown client_id or an unregistered redirect_uri answers 400 without
// redirecting. Codes are single use and live Options.CodeTTL (5 min); PKCE
// S256 and plain are verified.
//
// POST /oauth/token takes HTTP Basic client auth and the grants
// authorization_code, refresh_token (rotating: the previous refresh token
// stops working at once) and account_credentials (Server-to-Server; with
// App.SingleToken a new token invalidates the app's previous one). Errors
// are {"reason","error"} with error invalid_grant, invalid_client (401) or
// invalid_request. POST /oauth/revoke revokes the whole grant behind an
// access or refresh token and answers {"status":"success"} (also for an
// unknown token, as RFC 7009 asks).
//
// # REST
//
// Served operations are listed by APIRoutes; route names are the method
// and the path as Zoom's documents spell them (RouteListRooms = "GET
// /rooms"). Before an operation runs the simulator checks, in order: the
// bearer token (401 code 124), injected faults, the account's rate limit
// for the operation's label (429), the operation's scope (400 code 4711;
// the granular scope or its classic macro scope) and, for Zoom Rooms
// operations, the account's Restriction (400 code 200). Room ids in
// /rooms/{roomId} are Room.ID; Room.RoomID is a different dashboard id.
//
// PATCH /rooms/{id}/settings?setting_type=signage answers 400 code 300
// "Digital signage is not enabled for this Zoom Room." while the room's
// SignageEnabled is false; play_list contents must reference items of the
// account's signage library. PATCH /rooms/{id}/events answers 400 code 300
// "Zoom Room is offline" for an Offline room; zoomroom.restart increments
// Room.Restarts. PATCH /rooms/events (manageE911signage) shows or, with
// force_remove, removes the E911 alert text on the targeted rooms (account,
// location or room ids, 1 to 10 per call; an unknown id fails the call with
// 400 code 300); EmergencyAlerts reports what each room shows.
//
// # Rate limits
//
// Each account has per-label limits (PlanLimits presets: free, pro,
// business; free has daily limits). SetLimits overrides them exactly. The
// per-second check is a sliding one-second window; the daily count resets
// at 00:00 UTC. A 429 carries X-RateLimit-Category, X-RateLimit-Type (QPS
// or Daily-limit), X-RateLimit-Limit, X-RateLimit-Remaining and Retry-After
// (seconds, or an HTTP date for the daily limit) unless
// Options.OmitRateLimitHeaders. Served and ServedTimes report what was let
// through.
//
// # Webhooks
//
// RaiseAlert/ClearAlert send zoomroom.alert to every app of the account
// that holds AlertScope, Deauthorize sends app_deauthorized (and revokes
// the grants), ValidateEndpoint sends endpoint.url_validation and checks
// the answer. Events are signed with x-zm-signature (see Sign) and
// x-zm-request-timestamp, sent synchronously, and recorded (Deliveries).
//
// # Control API (JSON)
//
//	POST   /_sim/seed                              SeedOptions -> Seeded
//	POST   /_sim/accounts | /_sim/apps | /_sim/users
//	POST   /_sim/accounts/{accountId}/rooms        {"rooms":[...]} or {"count":N}
//	GET    /_sim/accounts/{accountId}/rooms
//	PUT    /_sim/accounts/{accountId}/limits       {"Medium":{"per_second":20}}
//	PUT    /_sim/accounts/{accountId}/restriction  {"restriction":"no_subscription"}
//	GET    /_sim/accounts/{accountId}/calls | /served | /emergency-alerts
//	GET    /_sim/calls?account_id=   GET /_sim/token-calls
//	GET    /_sim/rooms/{roomId}      PATCH (RoomUpdate)   DELETE
//	POST   /_sim/rooms/{roomId}/alerts | /alerts/clear   Alert
//	POST   /_sim/apps/{clientId}/revoke | /deauthorize | /url-validation
//	POST   /_sim/authorize                         AuthorizeRequest -> {"redirect_url"}
//	POST   /_sim/tokens/expire                     {"token":""} = all
//	POST   /_sim/faults (Fault, latency_ms)  DELETE /_sim/faults[/{id}]
//	GET    /_sim/webhooks
//
// Control errors are {"error":"..."} with 404 (not found), 409 (exists) or
// 400 (invalid).
package zoomsim
