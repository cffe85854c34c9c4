package zoomsim

import "sync"

// stats counts calls per account and route and token-endpoint calls per
// grant type.
type stats struct {
	mu     sync.Mutex
	calls  map[string]map[string]int
	grants map[string]int
}

func (st *stats) init() {
	st.calls = map[string]map[string]int{}
	st.grants = map[string]int{}
}

func (st *stats) countCall(account, route string) {
	st.mu.Lock()
	m := st.calls[account]
	if m == nil {
		m = map[string]int{}
		st.calls[account] = m
	}
	m[route]++
	st.mu.Unlock()
}

func (st *stats) countGrant(gt string) {
	st.mu.Lock()
	st.grants[gt]++
	st.mu.Unlock()
}

// Calls returns call counts by route name (Route* constants) for an
// account. OAuth endpoints and unauthenticated API calls are counted
// under account "".
func (s *Sim) Calls(accountID string) map[string]int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.stats.calls[accountID] {
		out[k] = v
	}
	return out
}

// TokenCalls returns POST /oauth/token calls by grant_type.
func (s *Sim) TokenCalls() map[string]int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.stats.grants {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes every call counter.
func (s *Sim) ResetCalls() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.init()
}
