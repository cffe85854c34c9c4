package zoomsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Zoom error codes the simulator returns (zoom-api.md, "Errors").
const (
	CodeInvalidToken    = 124
	CodeMissingScope    = 4711
	CodeRoomNotFound    = 1012
	CodeInvalidParams   = 300
	CodeNoSubscription  = 200
	CodeRateLimited     = 429
	CodeContentNotFound = 3001
)

// Errors returned by the control methods.
var (
	ErrNotFound = errors.New("zoomsim: not found")
	ErrExists   = errors.New("zoomsim: already exists")
	ErrInvalid  = errors.New("zoomsim: invalid argument")
)

// FieldError is one entry of a validation error's errors list.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is Zoom's REST error body.
type apiError struct {
	status  int
	Code    int          `json:"code"`
	Message string       `json:"message"`
	Errors  []FieldError `json:"errors,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d %s", e.status, e.Code, e.Message) }

func errInvalid(msg string, fields ...FieldError) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: CodeInvalidParams, Message: msg, Errors: fields}
}

func errRoomNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, Code: CodeRoomNotFound, Message: "Room not found: " + id}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"code":500,"message":"encoding failed"}`)
	}
	writeRaw(w, status, data)
}

// writeRaw writes pre-encoded JSON.
func writeRaw(w http.ResponseWriter, status int, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}

// writeError writes Zoom's error body.
func writeError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.status, e) }

// oauthError is the token endpoint's error body.
type oauthError struct {
	Reason string `json:"reason"`
	Err    string `json:"error"`
}

func writeOAuthError(w http.ResponseWriter, status int, kind, reason string) {
	writeJSON(w, status, oauthError{Reason: reason, Err: kind})
}
