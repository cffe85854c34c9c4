package auth_test

import (
	"testing"

	"zoomsignage/auth"
)

func TestFromInitPayload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		payload map[string]any
		want    string
		ok      bool
	}{
		{"authorization bearer", map[string]any{"authorization": "Bearer tok"}, "tok", true},
		{"Authorization any case (GraphiQL spreads its headers here)", map[string]any{"Authorization": "Bearer tok"}, "tok", true},
		{"apiKey", map[string]any{"apiKey": "zs_key"}, "zs_key", true},
		{"token", map[string]any{"token": "tok"}, "tok", true},
		{"authToken (Apollo)", map[string]any{"authToken": "tok"}, "tok", true},
		{"authToken with Bearer", map[string]any{"authToken": "Bearer tok"}, "tok", true},
		{"headers.Authorization (urql)", map[string]any{"headers": map[string]any{"Authorization": "Bearer tok"}}, "tok", true},
		{"headers.authorization lower case", map[string]any{"headers": map[string]any{"authorization": "Bearer tok"}}, "tok", true},
		{"headers without a credential", map[string]any{"headers": map[string]any{"X-Other": "v"}}, "", false},
		{"empty authToken", map[string]any{"authToken": ""}, "", false},
		{"non-string authToken", map[string]any{"authToken": 42}, "", false},
		{"nothing", map[string]any{}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := auth.FromInitPayload(tc.payload)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("FromInitPayload(%v) = %q, %v; want %q, %v", tc.payload, got, ok, tc.want, tc.ok)
			}
		})
	}
}
