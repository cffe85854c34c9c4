package app_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"zoomsignage/app"
)

// envOf is a getenv over a map, for FromEnv.
func envOf(m map[string]string) func(string) string {
	return func(key string) string { return m[key] }
}

func TestFromEnv(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c app.Config)
	}{
		{"nothing set: production defaults", nil, func(t *testing.T, c app.Config) {
			want := app.Config{
				Env: "production", Addr: "127.0.0.1:8080",
				DatabaseURL: "postgres://postgres@127.0.0.1:5432/zoomsignage?sslmode=disable",
				RedisURL:    "redis://127.0.0.1:6379/0", RedisPrefix: "zs:",
				VaultTransitKey: "zoomsignage", VaultMount: "transit", DevKeyringFile: ".dev/keyring.json",
				VaultAuthMethod: "token", VaultK8sTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
				ZoomSimulatorRooms: 25, DisconnectWait: 15 * time.Second,
				PublicBaseURL: "http://127.0.0.1:8080", SignageBaseURL: "http://127.0.0.1:8080/screens/",
				SyncInterval: time.Minute, Workers: true, JobRescueAfter: time.Minute, LogLevel: slog.LevelInfo,
				RequestTimeout: 30 * time.Second, ComplexityLimit: 10_000, DepthLimit: 12,
				TokenLimit: 10_000, ErrorLimit: 50, AuthFailureLimit: 20,
			}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("got  %+v\nwant %+v", c, want)
			}
			if c.ZoomAPI() != app.DefaultZoomAPI || c.ZoomOAuth() != app.DefaultZoomOAuth {
				t.Fatalf("Zoom URLs %q %q", c.ZoomAPI(), c.ZoomOAuth())
			}
		}},
		{"GATEWAY_ENV=dev alone is a complete dev configuration (make run)", map[string]string{"GATEWAY_ENV": "dev"}, func(t *testing.T, c app.Config) {
			if !c.Dev || c.Addr != "127.0.0.1:8080" || c.DevKeyringFile != ".dev/keyring.json" || c.VaultAddr != "" || c.ZoomAPIBaseURL != "" {
				t.Fatalf("dev config = %+v", c)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate in dev mode: %v", err)
			}
		}},
		{"JWT issuer and audience are read", map[string]string{"JWT_ISSUER": "https://idp.example", "JWT_AUDIENCE": "zoomsignage"}, func(t *testing.T, c app.Config) {
			if c.JWTIssuer != "https://idp.example" || c.JWTAudience != "zoomsignage" {
				t.Fatalf("issuer %q audience %q", c.JWTIssuer, c.JWTAudience)
			}
		}},
		{"values are trimmed and blank means unset", map[string]string{"GATEWAY_ADDR": "  0.0.0.0:9000 ", "REDIS_KEY_PREFIX": "   ", "GATEWAY_DEPTH_LIMIT": " 20 "}, func(t *testing.T, c app.Config) {
			if c.Addr != "0.0.0.0:9000" || c.RedisPrefix != "zs:" || c.DepthLimit != 20 {
				t.Fatalf("addr %q prefix %q depth %d", c.Addr, c.RedisPrefix, c.DepthLimit)
			}
		}},
		{"lists drop blanks and trailing slashes", map[string]string{
			"GATEWAY_CORS_ORIGINS":        " https://a.example/ , ,https://b.example",
			"ZOOM_INSTALL_RETURN_ORIGINS": "https://admin.example/",
			"PUBLIC_BASE_URL":             "https://gw.example/",
		}, func(t *testing.T, c app.Config) {
			if !slices.Equal(c.CORSOrigins, []string{"https://a.example", "https://b.example"}) ||
				!slices.Equal(c.ZoomInstallReturnOrigins, []string{"https://admin.example"}) || c.PublicBaseURL != "https://gw.example" {
				t.Fatalf("cors %q origins %q public %q", c.CORSOrigins, c.ZoomInstallReturnOrigins, c.PublicBaseURL)
			}
		}},
		{"typed values", map[string]string{"GATEWAY_WORKERS": "false", "LOG_LEVEL": "debug", "ROOMS_SYNC_INTERVAL": "5m", "DEV_ZOOMSIM_ROOMS": "0"}, func(t *testing.T, c app.Config) {
			if c.Workers || c.LogLevel != slog.LevelDebug || c.SyncInterval != 5*time.Minute || c.ZoomSimulatorRooms != 0 {
				t.Fatalf("workers %v level %v interval %v rooms %d", c.Workers, c.LogLevel, c.SyncInterval, c.ZoomSimulatorRooms)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := app.FromEnv(envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestFromEnvRefusesBadValues(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string // the variable the error must name
	}{
		{map[string]string{"GATEWAY_ENV": "staging"}, "GATEWAY_ENV"},
		{map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"GATEWAY_WORKERS": "maybe"}, "GATEWAY_WORKERS"},
		{map[string]string{"GATEWAY_REQUEST_TIMEOUT": "soon"}, "GATEWAY_REQUEST_TIMEOUT"},
		{map[string]string{"GATEWAY_REQUEST_TIMEOUT": "0s"}, "GATEWAY_REQUEST_TIMEOUT"},
		{map[string]string{"ZOOM_DISCONNECT_WAIT": "-1s"}, "ZOOM_DISCONNECT_WAIT"},
		{map[string]string{"ROOMS_SYNC_INTERVAL": "60"}, "ROOMS_SYNC_INTERVAL"},
		{map[string]string{"GATEWAY_DEPTH_LIMIT": "-1"}, "GATEWAY_DEPTH_LIMIT"},
		{map[string]string{"GATEWAY_COMPLEXITY_LIMIT": "lots"}, "GATEWAY_COMPLEXITY_LIMIT"},
		{map[string]string{"DEV_ZOOMSIM_ROOMS": "1e3"}, "DEV_ZOOMSIM_ROOMS"},
	}
	for _, tc := range cases {
		t.Run(tc.want+"="+tc.env[tc.want], func(t *testing.T) {
			_, err := app.FromEnv(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestValidateProduction(t *testing.T) {
	full := map[string]string{"VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN": "t", "JWT_HS256_SECRET": strings.Repeat("s", 32)}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
		want string // "" when valid
	}{
		{"complete", full, ""},
		{"no Vault", with("VAULT_ADDR", ""), "VAULT_ADDR"},
		{"no Vault token", with("VAULT_TOKEN", ""), "VAULT_TOKEN"},
		{"unknown Vault auth method", with("VAULT_AUTH_METHOD", "userpass"), "VAULT_AUTH_METHOD"},
		{"approle without token", with("VAULT_TOKEN", "", "VAULT_AUTH_METHOD", "approle", "VAULT_ROLE_ID", "r", "VAULT_SECRET_ID_FILE", "/run/secret-id"), ""},
		{"approle without secret id", with("VAULT_AUTH_METHOD", "approle", "VAULT_ROLE_ID", "r"), "VAULT_SECRET_ID"},
		{"approle with both secret id and file", with("VAULT_AUTH_METHOD", "approle", "VAULT_ROLE_ID", "r", "VAULT_SECRET_ID", "s", "VAULT_SECRET_ID_FILE", "/f"), "VAULT_SECRET_ID_FILE"},
		{"approle without role id", with("VAULT_AUTH_METHOD", "approle", "VAULT_SECRET_ID", "s"), "VAULT_ROLE_ID"},
		{"kubernetes without role", with("VAULT_TOKEN", "", "VAULT_AUTH_METHOD", "kubernetes"), "VAULT_K8S_ROLE"},
		{"kubernetes with role", with("VAULT_TOKEN", "", "VAULT_AUTH_METHOD", "kubernetes", "VAULT_K8S_ROLE", "gateway"), ""},
		{"no JWT key", with("JWT_HS256_SECRET", ""), "JWT_HS256_SECRET"},
		{"JWKS instead of a secret", with("JWT_HS256_SECRET", "", "JWT_JWKS_URL", "https://idp.example/jwks"), ""},
		{"Marketplace app without webhook secret", with("ZOOM_CLIENT_ID", "id", "ZOOM_CLIENT_SECRET", "s"), "ZOOM_WEBHOOK_SECRET_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := app.FromEnv(envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tc.want == "" && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// readmeVariables parses README.md's variable table: variable -> default
// column.
func readmeVariables(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "| variable | default | meaning |" {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("README variable row %q has no default column", line)
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if _, dup := out[name]; dup {
			t.Fatalf("README documents %s twice", name)
		}
		out[name] = strings.TrimSpace(cells[2])
	}
	if len(out) == 0 {
		t.Fatal("README.md has no `| variable | default | meaning |` table")
	}
	return out
}

// TestREADMEDocumentsEveryVariable walks README.md's variable table: every
// documented variable must be read by app.Config, every variable read must
// be documented, and a default in a tag must be the one the README shows.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	documented := readmeVariables(t)
	read := map[string]bool{}
	for _, v := range app.Variables() {
		read[v] = true
		if _, ok := documented[v]; !ok {
			t.Errorf("%s is read by app.Config but not documented in README.md's variable table", v)
		}
	}
	for v := range documented {
		if !read[v] {
			t.Errorf("%s is documented in README.md but app.Config never reads it", v)
		}
	}
	typ := reflect.TypeFor[app.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		def, ok := f.Tag.Lookup("envDefault")
		if !ok || documented[key] == "" {
			continue
		}
		if documented[key] != "`"+def+"`" {
			t.Errorf("README shows %s's default as %s, the code's is %q", key, documented[key], def)
		}
	}
}

// TestOnlyConfigReadsTheEnvironment keeps app.Config the one reader of the
// environment: a variable read anywhere else could not be documented by
// the table test above. Test harnesses (their TEST_* variables) are exempt.
func TestOnlyConfigReadsTheEnvironment(t *testing.T) {
	readers := map[string]bool{"Getenv": true, "LookupEnv": true, "Environ": true}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch {
			case rel == "tools", rel == "test", rel == "graph", strings.HasPrefix(d.Name(), "."),
				strings.HasSuffix(d.Name(), "test"), rel == filepath.Join("zoom", "zoomspec"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || rel == filepath.Join("app", "config.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if ok && readers[sel.Sel.Name] {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" {
					t.Errorf("%s reads the environment (os.%s); read it through app.Config and document it in README.md", rel, sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
