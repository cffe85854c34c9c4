package zoomspec

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Operation is what the documents say about one REST operation, for tests
// that check a server or client uses the right scope and rate label.
type Operation struct {
	Method, Path string // Path as in the document, e.g. "/rooms/{id}/settings"
	ID           string // operationId
	// GranularScopes are the x-granular-scopes: any one of them is enough.
	GranularScopes []string
	// MacroScopes are the classic x-macro-scopes.
	MacroScopes []string
	// RateLabel is "Light", "Medium" or "Heavy" (from the description's
	// "Rate Limit Label"), or "" when the document gives none.
	RateLabel string
	// Statuses lists the documented response status codes.
	Statuses []string
}

// rateLabelRE finds the rate label in an operation's description, where
// Zoom's documents keep it.
var rateLabelRE = regexp.MustCompile("Rate Limit Label[^`]*`([A-Za-z]+)`")

// Operation returns the operation at method and path (document form) in the
// rooms or users document.
func (s *Spec) Operation(method, path string) (Operation, error) {
	for _, doc := range []*openapi3.T{s.Rooms, s.Users} {
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		op := item.GetOperation(strings.ToUpper(method))
		if op == nil {
			continue
		}
		return describe(strings.ToUpper(method), path, op), nil
	}
	return Operation{}, fmt.Errorf("%w: %s %s", ErrNoRoute, method, path)
}

func describe(method, path string, op *openapi3.Operation) Operation {
	o := Operation{Method: method, Path: path, ID: op.OperationID}
	if ext, ok := op.Extensions["x-extensions"].(map[string]any); ok {
		o.GranularScopes = strings_(ext["x-granular-scopes"])
		o.MacroScopes = strings_(ext["x-macro-scopes"])
	}
	if m := rateLabelRE.FindStringSubmatch(op.Description); m != nil {
		l := strings.ToLower(m[1])
		o.RateLabel = strings.ToUpper(l[:1]) + l[1:]
	}
	for code := range op.Responses.Map() {
		o.Statuses = append(o.Statuses, code)
	}
	return o
}

// strings_ converts a decoded JSON array of strings.
func strings_(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
