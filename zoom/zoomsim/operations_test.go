package zoomsim_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"zoomsignage/zoom/zoomsim"
	"zoomsignage/zoom/zoomspec"
)

// normalize drops parameter names: "/rooms/{id}/x" -> "/rooms/{}/x".
var paramRE = regexp.MustCompile(`\{[^}]*\}`)

func normalize(route string) string { return paramRE.ReplaceAllString(route, "{}") }

// TestOperationsOfZoomAPIAreServed reads the endpoint table of zoom-api.md
// and fails for any operation the simulator does not serve.
func TestOperationsOfZoomAPIAreServed(t *testing.T) {
	spec, err := zoomspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(spec.Dir, "..", "zoom-api.md"))
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range zoomsim.APIRoutes() {
		served[normalize(r.Name)] = true
	}
	callRE := regexp.MustCompile("`(GET|POST|PATCH|PUT|DELETE) (/[^`? ]*)")
	found := 0
	for _, line := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range callRE.FindAllStringSubmatch(line, -1) {
			found++
			route := m[1] + " " + strings.TrimSuffix(m[2], "[/{contentId}]")
			route = strings.Replace(route, "/users/me", "/users/{userId}", 1) // "me" is a userId value
			if !served[normalize(route)] {
				t.Errorf("zoom-api.md operation %q is not served", route)
			}
		}
	}
	if found < 9 {
		t.Fatalf("found only %d operations in zoom-api.md; table format changed?", found)
	}
}

// TestRoutesMatchDocuments checks every served operation's rate label and
// scope against rooms.json / users.json.
func TestRoutesMatchDocuments(t *testing.T) {
	spec, err := zoomspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range zoomsim.APIRoutes() {
		t.Run(r.Name, func(t *testing.T) {
			method, path, _ := strings.Cut(r.Name, " ")
			op, err := spec.Operation(method, path)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Label) != op.RateLabel {
				t.Errorf("label %s, document says %s", r.Label, op.RateLabel)
			}
			if !slices.Contains(op.GranularScopes, r.Scopes[0]) {
				t.Errorf("scope %s not in document's %v", r.Scopes[0], op.GranularScopes)
			}
			for _, s := range r.Scopes[1:] {
				if !slices.Contains(op.MacroScopes, s) && !slices.Contains(op.GranularScopes, s) {
					t.Errorf("extra scope %s not in document", s)
				}
			}
		})
	}
}
