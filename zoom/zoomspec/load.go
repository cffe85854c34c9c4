package zoomspec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// EnvDir names the environment variable that, when set, gives the folder
// holding Zoom's OpenAPI files.
const EnvDir = "ZOOM_OPENAPI_DIR"

// The document files in the OpenAPI folder.
const (
	FileRooms               = "rooms.json"
	FileUsers               = "users.json"
	FileRoomsWebhooks       = "rooms-webhooks.json"
	FileMarketplaceWebhooks = "marketplace-webhooks.json"
)

// Spec holds Zoom's parsed OpenAPI documents. It is read-only once loaded
// and safe for concurrent use.
type Spec struct {
	// Dir is the folder the documents were read from.
	Dir string
	// Rooms and Users are the REST documents.
	Rooms, Users *openapi3.T
	// webhooks maps an event name ("zoomroom.alert") to the schema of its
	// request body.
	webhooks map[string]*openapi3.Schema
}

// Dir returns the folder holding Zoom's OpenAPI files: $ZOOM_OPENAPI_DIR if
// set, else the first shared/zoom-openapi found walking up from the working
// directory. The error says where it looked.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if _, err := os.Stat(filepath.Join(d, FileRooms)); err != nil {
			return "", fmt.Errorf("zoomspec: %s=%q does not hold %s: %w", EnvDir, d, FileRooms, err)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("zoomspec: working directory: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "zoom-openapi")
		if _, err := os.Stat(filepath.Join(cand, FileRooms)); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("zoomspec: Zoom OpenAPI files not found: set %s or put shared/zoom-openapi beside the repository (searched upward from %s)", EnvDir, wd)
}

// loaded caches the parsed documents: parsing about 1 MB of JSON takes a
// noticeable fraction of a second, and every test in a binary needs the
// same read-only documents.
var loaded = sync.OnceValues(func() (*Spec, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return LoadDir(context.Background(), dir)
})

// Load returns Zoom's documents, parsed once per process from Dir().
func Load() (*Spec, error) { return loaded() }

// LoadDir parses the documents in dir. Most callers want Load, which
// caches; LoadDir always reads the files again.
func LoadDir(ctx context.Context, dir string) (*Spec, error) {
	s := &Spec{Dir: dir, webhooks: map[string]*openapi3.Schema{}}
	var err error
	if s.Rooms, err = loadDoc(ctx, filepath.Join(dir, FileRooms)); err != nil {
		return nil, err
	}
	if s.Users, err = loadDoc(ctx, filepath.Join(dir, FileUsers)); err != nil {
		return nil, err
	}
	for _, f := range []string{FileRoomsWebhooks, FileMarketplaceWebhooks} {
		doc, err := loadDoc(ctx, filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		if err := collectWebhooks(doc, s.webhooks); err != nil {
			return nil, fmt.Errorf("zoomspec: %s: %w", f, err)
		}
	}
	return s, nil
}

// loadDoc parses one document and relaxes its overlapping oneOf lists.
func loadDoc(ctx context.Context, path string) (*openapi3.T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("zoomspec: %w", err)
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("zoomspec: parse %s: %w", path, err)
	}
	relaxDoc(doc)
	return doc, nil
}

// collectWebhooks records each event's request-body schema. Zoom's webhook
// documents key events by name under paths (not under webhooks).
func collectWebhooks(doc *openapi3.T, into map[string]*openapi3.Schema) error {
	for name, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
				continue
			}
			into[name] = mt.Schema.Value
		}
	}
	if len(into) == 0 {
		return errors.New("no webhook events found")
	}
	return nil
}
