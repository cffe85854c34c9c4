package zoom

import (
	"context"
	"fmt"
	"net/http"
)

// User is the part of GET /users/me the gateway records about the admin who
// connected an account.
type User struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	DisplayName string `json:"display_name"`
	AccountID   string `json:"account_id"`
	Type        int    `json:"type"`
	RoleName    string `json:"role_name"`
	Status      string `json:"status"`
	Timezone    string `json:"timezone"`
}

// Me returns the user the token belongs to (GET /users/me). It is not
// cached: the connect flow calls it once to learn who connected.
func (a *AccountClient) Me(ctx context.Context) (*User, error) {
	if a.acc.Tokens == nil {
		return nil, fmt.Errorf("zoom.Me: no token source")
	}
	r := request{op: "GetMe", method: http.MethodGet, path: "/users/me", label: Light, idempotent: true}
	body, err := a.send(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("zoom.Me: %w", err)
	}
	var u User
	if err := decode(body, &u); err != nil {
		return nil, fmt.Errorf("zoom.Me: %w", err)
	}
	return &u, nil
}
