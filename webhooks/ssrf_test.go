package webhooks

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// TestDeliveryDialerRefusesNonPublicAddresses: the check runs again at
// connect time, on the address actually dialled, so a host that resolved to
// a public address when it was registered and to a private one now (DNS
// rebinding) is refused; loopback only when the dev policy allows it.
func TestDeliveryDialerRefusesNonPublicAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()

	prod := policy{}.client(2 * time.Second)
	_, err := prod.Get(srv.URL)
	if !errors.Is(err, errRefusedAddress) {
		t.Fatalf("production policy dialling %s: %v, want refused", srv.URL, err)
	}
	dev := policy{allowLoopback: true}.client(2 * time.Second)
	resp, err := dev.Get(srv.URL)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("dev policy: %v", err)
	}
	resp.Body.Close()

	for addr, want := range map[string]bool{
		"10.0.0.1": false, "172.31.255.255": false, "192.168.1.1": false, "169.254.169.254": false, "127.0.0.1": false,
		"::1": false, "fe80::1": false, "fc00::1": false, "100.64.0.1": false, "0.0.0.0": false, "::ffff:10.0.0.1": false,
		"93.184.215.14": true, "2606:4700::1111": true,
	} {
		if got := (policy{}).allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("allowed(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestExcerptIsBoundedOnARuneBoundary(t *testing.T) {
	long := make([]byte, 0, 300)
	for len(long) < 300 {
		long = append(long, "é"...)
	}
	got := excerpt(long)
	if len(got) > excerptLen || len(got) < excerptLen-1 {
		t.Fatalf("excerpt of %d bytes", len(got))
	}
}
