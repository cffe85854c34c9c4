package zoomspec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// ErrNoRoute is wrapped by errors for a /v2 request that matches no
// operation in Zoom's documents.
var ErrNoRoute = errors.New("zoomspec: no such operation in Zoom's OpenAPI documents")

// Options tune a Validator.
type Options struct {
	// StrictStatus reports responses whose status code the operation does
	// not document, even 4xx/5xx ones with Zoom's error body.
	StrictStatus bool
	// SkipNonAPI, when true, ignores requests outside the /v2 API (OAuth
	// and the simulator's /_sim control API) instead of reporting them
	// as ErrNoRoute. Transport sets it to true.
	SkipNonAPI bool
}

// Validator checks requests to and responses from one Zoom API base URL.
// It is safe for concurrent use.
type Validator struct {
	spec    *Spec
	opts    Options
	base    *url.URL
	routers []routers.Router
}

// NewValidator returns a validator for a Zoom-like server at baseURL (the
// server root, e.g. an httptest server's URL; the API lives under
// baseURL+"/v2"). It loads the documents with Load.
func NewValidator(baseURL string) (*Validator, error) {
	return NewValidatorOptions(baseURL, Options{})
}

// NewValidatorOptions is NewValidator with options.
func NewValidatorOptions(baseURL string, opts Options) (*Validator, error) {
	spec, err := Load()
	if err != nil {
		return nil, err
	}
	return spec.Validator(baseURL, opts)
}

// Validator returns a validator for a Zoom-like server at baseURL using
// these documents.
func (s *Spec) Validator(baseURL string, opts Options) (*Validator, error) {
	base, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("zoomspec: base URL: %w", err)
	}
	v := &Validator{spec: s, opts: opts, base: base}
	for _, doc := range []*openapi3.T{s.Rooms, s.Users} {
		r, err := gorillamux.NewRouter(withServer(doc, base.String()+"/v2"))
		if err != nil {
			return nil, fmt.Errorf("zoomspec: router: %w", err)
		}
		v.routers = append(v.routers, r)
	}
	return v, nil
}

// withServer returns a shallow copy of doc whose only server is url; the
// shared, read-only paths and schemas are not copied.
func withServer(doc *openapi3.T, url string) *openapi3.T {
	c := *doc
	c.Servers = openapi3.Servers{{URL: url}}
	return &c
}

// isAPI reports whether req targets the /v2 REST API.
func (v *Validator) isAPI(req *http.Request) bool {
	p := strings.TrimPrefix(req.URL.Path, v.base.Path)
	return p == "/v2" || strings.HasPrefix(p, "/v2/")
}

// findRoute finds req's operation in the rooms or users document.
func (v *Validator) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	for _, r := range v.routers {
		route, params, err := r.FindRoute(req)
		if err == nil {
			return route, params, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: %s %s", ErrNoRoute, req.Method, req.URL.Path)
}

// requestInput builds kin-openapi's input for req with body, or returns
// (nil, nil) when req is outside the API and SkipNonAPI is set.
func (v *Validator) requestInput(req *http.Request, body []byte) (*openapi3filter.RequestValidationInput, error) {
	if !v.isAPI(req) {
		if v.opts.SkipNonAPI {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %s %s is outside /v2", ErrNoRoute, req.Method, req.URL.Path)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := v.findRoute(r)
	if err != nil {
		return nil, err
	}
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults: true,
			MultiError:          true,
		},
	}, nil
}

// ValidateRequest checks req (parameters and body) against its operation.
// body is the request body (nil for none); req.Body is not read.
func (v *Validator) ValidateRequest(ctx context.Context, req *http.Request, body []byte) error {
	in, err := v.requestInput(req, body)
	if err != nil || in == nil {
		return err
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fmt.Errorf("zoomspec: request %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// ValidateResponse checks a response to req: status code, and body schema
// (including enums) for documented statuses; Zoom's error shape for error
// statuses. reqBody is the request's body; req.Body is not read.
func (v *Validator) ValidateResponse(ctx context.Context, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	in, err := v.requestInput(req, reqBody)
	if err != nil || in == nil {
		return err
	}
	where := fmt.Sprintf("zoomspec: response %d to %s %s", status, req.Method, req.URL.Path)
	documented := in.Route.Operation.Responses.Status(status) != nil
	switch {
	case !documented && status < 400:
		return fmt.Errorf("%s: status not documented", where)
	case !documented && v.opts.StrictStatus:
		return fmt.Errorf("%s: status not documented (StrictStatus)", where)
	}
	if status >= 400 {
		if err := validateZoomError(body); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if !documented {
			return nil
		}
	}
	if header == nil {
		header = http.Header{}
	}
	if status == http.StatusNoContent && len(body) > 0 {
		return fmt.Errorf("%s: 204 with a body", where)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// zoomError is the shape of Zoom's REST error bodies.
type zoomError struct {
	Code    *int    `json:"code"`
	Message *string `json:"message"`
	Errors  []struct {
		Field   *string `json:"field"`
		Message *string `json:"message"`
	} `json:"errors"`
}

// validateZoomError checks that body is {"code":int,"message":string} with
// optional errors:[{field,message}].
func validateZoomError(body []byte) error {
	var e zoomError
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("error body is not Zoom's {code,message}: %w", err)
	}
	if e.Code == nil || e.Message == nil {
		return fmt.Errorf("error body lacks code or message: %.200s", body)
	}
	for i, fe := range e.Errors {
		if fe.Field == nil || fe.Message == nil {
			return fmt.Errorf("errors[%d] lacks field or message", i)
		}
	}
	return nil
}
