// Package zoomspec checks HTTP traffic and webhook payloads against Zoom's
// published OpenAPI documents (the files in shared/zoom-openapi).
//
// It exists so that both sides of the project's Zoom integration, the
// simulator (zoom/zoomsim) and the gateway's client (zoom/), are held to the
// same contract instead of to each other's idea of it. It is a normal
// package, not a _test package, so any package's tests can import it.
//
// Typical use in a test:
//
//	v, err := zoomspec.NewValidator(srv.URL)
//	if err != nil { t.Fatal(err) }
//	client := &http.Client{Transport: v.Transport(t, nil)}
//	// ... every request and response through client is checked; a
//	// violation is reported with t.Errorf.
//
// The documents are located through the ZOOM_OPENAPI_DIR environment
// variable or, when it is unset, by walking up from the working directory
// until a folder holding shared/zoom-openapi is found (the repository is
// checked out beside shared/). They are parsed once per process and shared.
//
// Adjustments to Zoom's documents, made once when loading:
//   - a oneOf list in which any branch has no required properties is turned
//     into anyOf: such branches match almost any object, so a strict
//     validator would reject every body that fits two branches (Zoom's room
//     settings bodies are the example). Every other rule stays strict.
//   - servers are pointed at the base URL given to NewValidator.
//
// Zoom answers 401 (code 124), 400 (codes 300, 4711, 200) and 404 on
// operations that do not document those statuses. By default a Validator
// accepts an undocumented 4xx or 5xx response if its body has Zoom's error
// shape {"code":int,"message":string,"errors":[{"field","message"}]}; set
// Options.StrictStatus to report them as well. An undocumented 2xx or 3xx
// status is always a violation.
//
// Known limit: once the room-settings oneOf becomes anyOf, its first branch
// (meeting_security, zoom_rooms) matches any object, so the documents alone
// cannot reject a malformed digital_signage object; the simulator checks
// those bodies itself.
package zoomspec
