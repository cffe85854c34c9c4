package server

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
)

// The GraphQL-over-HTTP spec asks two things of a refused request (a
// document that does not parse or validate, variables that do not coerce)
// that gqlgen's GET and POST transports do differently:
//
//   - under application/json (what older clients accept) the status SHOULD
//     be 200, since such clients read errors only from a 200 answer; gqlgen
//     answers 422;
//   - under application/graphql-response+json the status is 4xx and the
//     body SHOULD have no "data" entry, so a client can tell "never
//     executed" from "executed, data null"; gqlgen writes "data": null.
//
// conventional wraps a transport and adapts only those answers.
type conventional struct{ graphql.Transport }

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Do implements graphql.Transport.
func (c conventional) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	cw := &conventionWriter{ResponseWriter: w}
	c.Transport.Do(cw, r, exec)
	cw.finish()
}

// conventionWriter rewrites a refused request's answer as it is written.
type conventionWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	// held is the body of a 4xx graphql-response+json answer, kept until
	// the transport is done so its "data" entry can be dropped.
	held *bytes.Buffer
}

func (cw *conventionWriter) WriteHeader(code int) {
	if cw.wroteHeader || cw.held != nil {
		return
	}
	switch mediaType(cw.Header().Get("Content-Type")) {
	case mediaJSON:
		if code == http.StatusUnprocessableEntity {
			code = http.StatusOK
		}
	case mediaGraphQLResponse:
		if code >= 400 && code < 500 {
			cw.status, cw.held = code, &bytes.Buffer{}
			return
		}
	}
	cw.wroteHeader = true
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *conventionWriter) Write(b []byte) (int, error) {
	if cw.held != nil {
		return cw.held.Write(b)
	}
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriter.Write(b)
}

// Flush lets streaming transports through (the response is never held
// then: only refusals are, and they are one write).
func (cw *conventionWriter) Flush() {
	if f, ok := cw.ResponseWriter.(http.Flusher); ok && cw.held == nil {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (cw *conventionWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// finish writes a held answer without its "data" entry.
func (cw *conventionWriter) finish() {
	if cw.held == nil {
		return
	}
	body := cw.held.Bytes()
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		if d, ok := fields["data"]; ok && bytes.Equal(bytes.TrimSpace(d), []byte("null")) {
			delete(fields, "data")
			if out, err := json.Marshal(fields); err == nil {
				body = out
			}
		}
	}
	cw.ResponseWriter.WriteHeader(cw.status)
	_, _ = cw.ResponseWriter.Write(body)
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}
