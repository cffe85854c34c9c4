package zoomsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// routeControl registers the JSON control API under /_sim/. Every route
// calls the Go method of the same name; see the package documentation for
// the list.
func (s *Sim) routeControl() {
	h := s.mux.HandleFunc
	h("POST /_sim/seed", control(func(r *http.Request, in SeedOptions) (any, error) { return s.Seed(r.Context(), in) }))
	h("POST /_sim/accounts", control(func(r *http.Request, in Account) (any, error) { return s.CreateAccount(r.Context(), in) }))
	h("POST /_sim/apps", control(func(r *http.Request, in App) (any, error) { return s.CreateApp(r.Context(), in) }))
	h("POST /_sim/users", control(func(r *http.Request, in User) (any, error) { return s.CreateUser(r.Context(), in) }))
	h("POST /_sim/accounts/{accountId}/rooms", control(func(r *http.Request, in struct {
		Rooms []Room `json:"rooms"`
		Count int    `json:"count"`
	}) (any, error) {
		if in.Count > 0 {
			return s.GenerateRooms(r.Context(), r.PathValue("accountId"), in.Count)
		}
		return s.AddRooms(r.Context(), r.PathValue("accountId"), in.Rooms)
	}))
	h("GET /_sim/accounts/{accountId}/rooms", control(func(r *http.Request, _ struct{}) (any, error) {
		return s.Rooms(r.Context(), r.PathValue("accountId"))
	}))
	h("GET /_sim/accounts/{accountId}/emergency-alerts", control(func(r *http.Request, _ struct{}) (any, error) {
		return s.EmergencyAlerts(r.Context(), r.PathValue("accountId"))
	}))
	h("PUT /_sim/accounts/{accountId}/limits", control(func(r *http.Request, in Limits) (any, error) {
		return nil, s.SetLimits(r.Context(), r.PathValue("accountId"), in)
	}))
	h("PUT /_sim/accounts/{accountId}/restriction", control(func(r *http.Request, in struct {
		Restriction Restriction `json:"restriction"`
	}) (any, error) {
		return nil, s.SetRestriction(r.Context(), r.PathValue("accountId"), in.Restriction)
	}))
	h("GET /_sim/accounts/{accountId}/calls", control(func(r *http.Request, _ struct{}) (any, error) {
		return s.Calls(r.PathValue("accountId")), nil
	}))
	h("GET /_sim/accounts/{accountId}/served", control(func(r *http.Request, _ struct{}) (any, error) {
		return servedJSON(s.Served(r.PathValue("accountId"))), nil
	}))
	h("GET /_sim/calls", control(func(r *http.Request, _ struct{}) (any, error) {
		return s.Calls(r.URL.Query().Get("account_id")), nil
	}))
	h("GET /_sim/token-calls", control(func(r *http.Request, _ struct{}) (any, error) { return s.TokenCalls(), nil }))
	h("GET /_sim/rooms/{roomId}", control(func(r *http.Request, _ struct{}) (any, error) {
		return s.RoomInfo(r.Context(), r.PathValue("roomId"))
	}))
	h("PATCH /_sim/rooms/{roomId}", control(func(r *http.Request, in RoomUpdate) (any, error) {
		return s.UpdateRoom(r.Context(), r.PathValue("roomId"), in)
	}))
	h("DELETE /_sim/rooms/{roomId}", control(func(r *http.Request, _ struct{}) (any, error) {
		return nil, s.DeleteRoom(r.Context(), r.PathValue("roomId"))
	}))
	h("POST /_sim/rooms/{roomId}/alerts", control(func(r *http.Request, in Alert) (any, error) {
		return nil, s.RaiseAlert(r.Context(), r.PathValue("roomId"), in)
	}))
	h("POST /_sim/rooms/{roomId}/alerts/clear", control(func(r *http.Request, in Alert) (any, error) {
		return nil, s.ClearAlert(r.Context(), r.PathValue("roomId"), in)
	}))
	h("POST /_sim/apps/{clientId}/revoke", control(func(r *http.Request, in struct {
		AccountID string `json:"account_id"`
	}) (any, error) {
		n, err := s.RevokeGrants(r.Context(), r.PathValue("clientId"), in.AccountID)
		return map[string]int{"revoked": n}, err
	}))
	h("POST /_sim/apps/{clientId}/deauthorize", control(func(r *http.Request, in struct {
		AccountID string `json:"account_id"`
		UserID    string `json:"user_id"`
	}) (any, error) {
		return nil, s.Deauthorize(r.Context(), r.PathValue("clientId"), in.AccountID, in.UserID)
	}))
	h("POST /_sim/apps/{clientId}/url-validation", control(func(r *http.Request, _ struct{}) (any, error) {
		return nil, s.ValidateEndpoint(r.Context(), r.PathValue("clientId"))
	}))
	h("POST /_sim/authorize", control(func(r *http.Request, in AuthorizeRequest) (any, error) {
		u, err := s.Authorize(r.Context(), in)
		return map[string]string{"redirect_url": u}, err
	}))
	h("POST /_sim/tokens/expire", control(func(r *http.Request, in struct {
		Token string `json:"token"`
	}) (any, error) {
		return nil, s.ExpireTokens(r.Context(), in.Token)
	}))
	h("POST /_sim/faults", control(func(r *http.Request, in faultJSON) (any, error) {
		id, err := s.AddFault(r.Context(), in.fault())
		return map[string]string{"id": id}, err
	}))
	h("DELETE /_sim/faults", control(func(r *http.Request, _ struct{}) (any, error) { return nil, s.ClearFaults(r.Context()) }))
	h("DELETE /_sim/faults/{id}", control(func(r *http.Request, _ struct{}) (any, error) {
		return nil, s.RemoveFault(r.Context(), r.PathValue("id"))
	}))
	h("GET /_sim/webhooks", control(func(r *http.Request, _ struct{}) (any, error) { return s.Deliveries(), nil }))
}

// faultJSON is Fault with the latency in milliseconds.
type faultJSON struct {
	Fault
	LatencyMS int `json:"latency_ms"`
}

func (f faultJSON) fault() Fault {
	out := f.Fault
	if f.LatencyMS > 0 {
		out.Latency = time.Duration(f.LatencyMS) * time.Millisecond
	}
	return out
}

func servedJSON(m map[RateLabel]Served) map[RateLabel]any {
	out := map[RateLabel]any{}
	for k, v := range m {
		out[k] = map[string]any{"count": v.Count, "first": v.First, "last": v.Last}
	}
	return out
}

// control adapts a Go control method to a JSON endpoint: it decodes the
// body (if any) into In and encodes the result, mapping ErrNotFound to
// 404, ErrExists to 409 and ErrInvalid to 400.
func control[In any](fn func(*http.Request, In) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in In
		if r.ContentLength != 0 && r.Method != http.MethodGet {
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad JSON: " + err.Error()})
				return
			}
		}
		out, err := fn(r, in)
		switch {
		case errors.Is(err, ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		case errors.Is(err, ErrExists):
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		case errors.Is(err, ErrInvalid), errors.Is(err, errNoRedirect):
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		case err != nil:
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		case out == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, out)
		}
	}
}
