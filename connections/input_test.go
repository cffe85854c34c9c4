package connections

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
)

func TestCleanServerAppInput(t *testing.T) {
	ok := ServerAppInput{AccountID: "acct", ClientID: "cid", ClientSecret: "secret"}
	with := func(edit func(*ServerAppInput)) ServerAppInput { in := ok; edit(&in); return in }
	for _, tc := range []struct {
		name      string
		in        ServerAppInput
		field     string // "" when accepted
		wantPlan  string
		wantLabel string
	}{
		{"defaults", ok, "", "pro", "Zoom account acct"},
		{"trimmed and plan case-folded", with(func(in *ServerAppInput) { in.AccountID, in.Plan, in.Label = " acct ", " Business ", " HQ " }), "", "business", "HQ"},
		{"free plan", with(func(in *ServerAppInput) { in.Plan = "free" }), "", "free", "Zoom account acct"},
		{"unknown plan", with(func(in *ServerAppInput) { in.Plan = "enterprise" }), "input.plan", "", ""},
		{"no account id", with(func(in *ServerAppInput) { in.AccountID = "   " }), "input.accountId", "", ""},
		{"account id too long", with(func(in *ServerAppInput) { in.AccountID = strings.Repeat("a", maxIDLength+1) }), "input.accountId", "", ""},
		{"account id at the limit", with(func(in *ServerAppInput) { in.AccountID = strings.Repeat("a", maxIDLength) }), "", "pro", ""},
		{"no client id", with(func(in *ServerAppInput) { in.ClientID = "" }), "input.clientId", "", ""},
		{"client id too long", with(func(in *ServerAppInput) { in.ClientID = strings.Repeat("c", maxIDLength+1) }), "input.clientId", "", ""},
		{"blank secret", with(func(in *ServerAppInput) { in.ClientSecret = " \t" }), "input.clientSecret", "", ""},
		{"secret too long", with(func(in *ServerAppInput) { in.ClientSecret = strings.Repeat("s", maxSecretLength+1) }), "input.clientSecret", "", ""},
		{"label too long", with(func(in *ServerAppInput) { in.Label = strings.Repeat("l", maxLabelLength+1) }), "input.label", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cleanServerAppInput(tc.in)
			if tc.field != "" {
				e, isAPI := apierror.As(err)
				if !isAPI || e.Code != apierror.BadUserInput || e.Field != tc.field {
					t.Fatalf("error = %v, want BAD_USER_INPUT on %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Plan != tc.wantPlan || (tc.wantLabel != "" && got.Label != tc.wantLabel) {
				t.Errorf("cleaned = %+v", got)
			}
		})
	}
}

func TestCheckReturnTo(t *testing.T) {
	for _, base := range []string{"https://app.example.test", "https://app.example.test/"} {
		s := &Service{cfg: Deps{PublicBaseURL: base, ReturnOrigins: []string{"https://admin.example.test"}}}
		for _, tc := range []struct {
			in, want string // want "" means refused
		}{
			{"", "https://app.example.test/"},
			{"  ", "https://app.example.test/"},
			{"/settings/zoom", "https://app.example.test/settings/zoom"},
			{"settings/zoom", "https://app.example.test/settings/zoom"},
			{"/settings?tab=zoom#frag", "https://app.example.test/settings?tab=zoom"},
			{"https://app.example.test/x", "https://app.example.test/x"},
			{"https://admin.example.test/x", "https://admin.example.test/x"},
			{"https://app.example.test:8443/x", ""},
			{"http://app.example.test/x", ""},
			{"https://evil.example/x", ""},
			{"//evil.example/x", ""},
			{"/\\evil.example", ""},
			{"https://app.example.test@evil.example/", ""},
			{"https://user@app.example.test/", ""},
			{"javascript:alert(1)", ""},
			{"data:text/html,x", ""},
			{"/x\r\nLocation: https://evil.example", ""},
			{"https://app.example.test.evil.example/", ""},
			{"%zz", ""},
		} {
			t.Run(base+" "+tc.in, func(t *testing.T) {
				got, err := s.checkReturnTo(tc.in)
				if tc.want == "" {
					if e, ok := apierror.As(err); !ok || e.Code != apierror.BadUserInput || e.Field != "returnTo" {
						t.Fatalf("checkReturnTo(%q) = %q, %v; want BAD_USER_INPUT", tc.in, got, err)
					}
					return
				}
				if err != nil || got != tc.want {
					t.Fatalf("checkReturnTo(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
				}
			})
		}
	}
	t.Run("PUBLIC_BASE_URL not absolute", func(t *testing.T) {
		s := &Service{cfg: Deps{PublicBaseURL: "app.example.test"}}
		if _, err := s.checkReturnTo(""); err == nil {
			t.Fatal("a relative PUBLIC_BASE_URL was accepted")
		}
	})
}

func TestStateSealing(t *testing.T) {
	state, plain := randomToken(), []byte(`{"verifier":"pkce-verifier-value","return_to":"https://app.example.test/x"}`)
	sealed, err := sealState(state, plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("pkce-verifier-value")) || bytes.Contains(sealed, []byte("app.example.test")) {
		t.Fatal("the sealed state holds plaintext")
	}
	for _, tc := range []struct {
		name   string
		state  string
		sealed []byte
		ok     bool
	}{
		{"same state", state, sealed, true},
		{"another state", randomToken(), sealed, false},
		{"tampered", state, append(bytes.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1), false},
		{"truncated", state, sealed[:5], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openState(tc.state, tc.sealed)
			if (err == nil) != tc.ok || (tc.ok && !bytes.Equal(got, plain)) {
				t.Fatalf("openState = %q, %v", got, err)
			}
		})
	}
}

func TestDeliveryKey(t *testing.T) {
	deauth := func(sig, at, extra string) *zoom.WebhookEvent {
		payload, _ := json.Marshal(map[string]string{"account_id": "a", "client_id": "c", "signature": sig, "deauthorization_time": at, "x": extra})
		raw, _ := json.Marshal(map[string]any{"event": EventAppDeauthorized, "payload": json.RawMessage(payload), "x": extra})
		return &zoom.WebhookEvent{Event: EventAppDeauthorized, Payload: payload, Raw: raw}
	}
	t1, t2 := "2026-02-01T10:00:00Z", "2026-05-01T10:00:00Z"
	for _, tc := range []struct {
		name string
		a, b *zoom.WebhookEvent
		same bool
	}{
		{"a retry differing elsewhere in the body", deauth("sig", t1, "1"), deauth("sig", t1, "2"), true},
		{"another uninstall, same signature", deauth("sig", t1, ""), deauth("sig", t2, ""), false},
		{"another signature", deauth("sig1", t1, ""), deauth("sig2", t1, ""), false},
		{"no signature: the body decides", deauth("", t1, "1"), deauth("", t1, "2"), false},
		{"other events: the body decides", &zoom.WebhookEvent{Event: "zoomroom.alert", Raw: []byte("1")}, &zoom.WebhookEvent{Event: "zoomroom.alert", Raw: []byte("1")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deliveryKey(tc.a) == deliveryKey(tc.b); got != tc.same {
				t.Errorf("same key = %v, want %v", got, tc.same)
			}
		})
	}
}
