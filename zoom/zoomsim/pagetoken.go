package zoomsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"time"
)

// Page tokens are stateless: they carry the list position (the sequence
// number of the last room served), the expiry and a hash of the account
// and filters, sealed with an HMAC. The simulator keeps no table of
// tokens, so paging 10,000 rooms costs no memory, and a token survives
// rooms being added or deleted between pages.

const pageTokenMAC = 12

// pageScope hashes what a token is bound to.
func pageScope(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func (s *Sim) makePageToken(scope, after uint64, now time.Time) string {
	var b [24 + pageTokenMAC]byte
	binary.BigEndian.PutUint64(b[0:], scope)
	binary.BigEndian.PutUint64(b[8:], after)
	binary.BigEndian.PutUint64(b[16:], uint64(now.Add(s.opts.PageTokenTTL).UnixNano()))
	m := hmac.New(sha256.New, s.pageKey[:])
	m.Write(b[:24])
	copy(b[24:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// readPageToken returns the position a token encodes, or ok=false when it
// is malformed, forged, bound to another scope or expired.
func (s *Sim) readPageToken(tok string, scope uint64, now time.Time) (after uint64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24+pageTokenMAC {
		return 0, false
	}
	m := hmac.New(sha256.New, s.pageKey[:])
	m.Write(b[:24])
	if !hmac.Equal(b[24:], m.Sum(nil)[:pageTokenMAC]) {
		return 0, false
	}
	if binary.BigEndian.Uint64(b[0:]) != scope {
		return 0, false
	}
	if now.UnixNano() >= int64(binary.BigEndian.Uint64(b[16:])) {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[8:]), true
}
