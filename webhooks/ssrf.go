package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// errRefusedAddress is a destination that is not a public address.
var errRefusedAddress = errors.New("webhooks: the endpoint resolves to a non-public address")

// nonPublic are ranges no partner endpoint may reach besides what
// netip.Addr's own predicates cover: carrier-grade NAT, the benchmarking
// range, documentation and other reserved blocks, NAT64.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// allowed reports whether a delivery may connect to addr: a public
// unicast address, or loopback when the policy allows it (dev mode).
func (p policy) allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() {
		return p.allowLoopback
	}
	if !addr.IsValid() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// policy is where deliveries may go.
type policy struct {
	allowLoopback bool
}

// checkURL validates an endpoint URL when it is registered: https (http
// only to loopback, and only when loopback is allowed), no credentials,
// and a host that resolves to allowed addresses only.
func (p policy) checkURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("the URL is not an absolute http(s) URL")
	}
	if u.User != nil {
		return nil, errors.New("the URL must not carry credentials")
	}
	if u.Fragment != "" {
		return nil, errors.New("the URL must not have a fragment")
	}
	host := u.Hostname()
	addrs, err := resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("the URL's host %q does not resolve", host)
	}
	loopback := true
	for _, a := range addrs {
		if !p.allowed(a) {
			return nil, fmt.Errorf("the URL's host %q resolves to a private, loopback or link-local address", host)
		}
		loopback = loopback && a.Unmap().IsLoopback()
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.allowLoopback && loopback:
	default:
		return nil, errors.New("the URL must use https")
	}
	return u, nil
}

func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, errors.New("no address")
	}
	return ips, nil
}

// client is the HTTP client of deliveries: its dialer refuses non-public
// addresses at connect time (so a name that resolved to a public address
// when registered and to a private one now, DNS rebinding, is refused),
// redirects are never followed, and a whole attempt is bounded by timeout.
func (p policy) client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !p.allowed(ap.Addr()) {
				return errRefusedAddress
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would make the dialer's check meaningless
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
