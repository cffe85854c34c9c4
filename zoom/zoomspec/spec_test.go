package zoomspec

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func mustValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := NewValidator("http://zoom.test")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidateRequest(t *testing.T) {
	v := mustValidator(t)
	tests := []struct {
		name, method, url, body string
		wantErr                 bool
	}{
		{"list rooms", "GET", "/v2/rooms?page_size=300&status=Available", "", false},
		{"list rooms bad status", "GET", "/v2/rooms?status=Busy", "", true},
		{"list rooms page too big", "GET", "/v2/rooms?page_size=301", "", true},
		{"settings patch", "PATCH", "/v2/rooms/abc/settings?setting_type=signage", `{"digital_signage":{"enable_digital_signage":true,"layout":"standard","play_list":[{"action":"add","name":"x","contents":[{"content_id":"c1","duration":5,"order":1}]}]}}`, false},
		{"content wrong type", "POST", "/v2/rooms/content/digital_signage/contents", `{"content_name":5,"content_url":"https://x"}`, true},
		{"content ok", "POST", "/v2/rooms/content/digital_signage/contents", `{"content_name":"n","content_url":"https://x"}`, false},
		{"restart", "PATCH", "/v2/rooms/abc/events", `{"method":"zoomroom.restart"}`, false},
		{"unknown method", "PATCH", "/v2/rooms/abc/events", `{"method":"zoomroom.explode"}`, true},
		{"users me", "GET", "/v2/users/me", "", false},
		{"unknown path", "GET", "/v2/nope", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://zoom.test"+tt.url, nil)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			err := v.ValidateRequest(context.Background(), req, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	v := mustValidator(t)
	tests := []struct {
		name, method, url string
		status            int
		body              string
		wantErr           bool
	}{
		{"rooms ok", "GET", "/v2/rooms", 200, `{"page_size":1,"next_page_token":"","rooms":[{"id":"a","room_id":"a","name":"n","status":"Available"}]}`, false},
		{"rooms bad enum", "GET", "/v2/rooms", 200, `{"rooms":[{"id":"a","status":"Sleeping"}]}`, true},
		{"rooms undocumented 201", "GET", "/v2/rooms", 201, `{}`, true},
		{"undocumented 401 zoom shape", "GET", "/v2/rooms", 401, `{"code":124,"message":"Invalid access token."}`, false},
		{"401 wrong shape", "GET", "/v2/rooms", 401, `{"error":"x"}`, true},
		{"settings get", "GET", "/v2/rooms/a/settings?setting_type=signage", 200, `{"digital_signage":{"enable_digital_signage":false,"layout":"standard"}}`, false},
		{"patch 204", "PATCH", "/v2/rooms/a/settings", 204, ``, false},
		{"users me missing type", "GET", "/v2/users/me", 200, `{"id":"u"}`, true},
		{"users me", "GET", "/v2/users/me", 200, `{"id":"u","type":1,"status":"active"}`, false},
		{"devices bad type", "GET", "/v2/rooms/a/devices", 200, `{"devices":[{"device_type":"Toaster"}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://zoom.test"+tt.url, nil)
			h := http.Header{"Content-Type": {"application/json"}}
			err := v.ValidateResponse(context.Background(), req, nil, tt.status, h, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestStrictStatus(t *testing.T) {
	v, err := NewValidatorOptions("http://zoom.test", Options{StrictStatus: true})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://zoom.test/v2/rooms", nil)
	err = v.ValidateResponse(context.Background(), req, nil, 401, nil, []byte(`{"code":124,"message":"x"}`))
	if err == nil {
		t.Fatal("undocumented 401 accepted under StrictStatus")
	}
}

func TestValidateWebhook(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"alert", `{"event":"zoomroom.alert","event_ts":1,"payload":{"account_id":"a","object":{"id":"r","room_name":"n","calendar_name":"c","email":"a@b.co","issue":"x","alert_type":1,"component":2,"alert_time":3,"alert_kind":1}}}`, false},
		{"alert missing email", `{"event":"zoomroom.alert","event_ts":1,"payload":{"account_id":"a","object":{"id":"r","room_name":"n","calendar_name":"c","issue":"x","alert_type":1,"component":2,"alert_time":3,"alert_kind":1}}}`, true},
		{"alert bad kind", `{"event":"zoomroom.alert","event_ts":1,"payload":{"account_id":"a","object":{"id":"r","room_name":"n","calendar_name":"c","email":"a@b.co","issue":"x","alert_type":1,"component":2,"alert_time":3,"alert_kind":9}}}`, true},
		{"alert extra field", `{"event":"zoomroom.alert","event_ts":1,"extra":1,"payload":{"account_id":"a","object":{"id":"r","room_name":"n","calendar_name":"c","email":"a@b.co","issue":"x","alert_type":1,"component":2,"alert_time":3,"alert_kind":1}}}`, true},
		{"deauthorized", `{"event":"app_deauthorized","event_ts":1,"payload":{"account_id":"a","user_id":"u","client_id":"c","signature":"s","deauthorization_time":"2026-01-02T03:04:05Z","event_ts":1}}`, false},
		{"deauthorized bad time", `{"event":"app_deauthorized","payload":{"deauthorization_time":"yesterday"}}`, true},
		{"unknown event", `{"event":"nope"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateWebhook([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestOperation(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	op, err := s.Operation("PATCH", "/rooms/{id}/settings")
	if err != nil {
		t.Fatal(err)
	}
	if op.RateLabel != "Medium" || len(op.GranularScopes) != 1 || op.GranularScopes[0] != "zoom_rooms:update:room_settings:admin" {
		t.Fatalf("op = %+v", op)
	}
}

func TestDirNotFound(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	if _, err := Dir(); err == nil || !strings.Contains(err.Error(), EnvDir) {
		t.Fatalf("Dir() err = %v, want a clear error naming %s", err, EnvDir)
	}
}
