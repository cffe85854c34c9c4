package store_test

import (
	"slices"
	"testing"

	"zoomsignage/store"
)

func TestUUIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"0b8f6d2e-3c1a-4f5e-9a7b-1c2d3e4f5a6b", true},
		{"0B8F6D2E-3C1A-4F5E-9A7B-1C2D3E4F5A6B", true},
		{"0b8f6d2e3c1a4f5e9a7b1c2d3e4f5a6b", false},
		{"0b8f6d2e-3c1a-4f5e-9a7b-1c2d3e4f5a6", false},
		{"0b8f6d2e-3c1a-4f5e-9a7b-1c2d3e4f5a6g", false},
		{"{0b8f6d2e-3c1a-4f5e-9a7b-1c2d3e4f5a6}", false},
		{"", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := store.IsUUID(tc.in); got != tc.want {
				t.Errorf("IsUUID(%q) = %v", tc.in, got)
			}
		})
	}
	if got := store.UUIDs([]string{"x", "0b8f6d2e-3c1a-4f5e-9a7b-1c2d3e4f5a6b", ""}); !slices.Equal(got, []string{"0b8f6d2e-3c1a-4f5e-9a7b-1c2d3e4f5a6b"}) {
		t.Errorf("UUIDs = %v", got)
	}
}
