package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// The auth methods of AuthConfig.Method.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
)

// DefaultK8sTokenFile is where Kubernetes mounts a pod's service account
// token.
const DefaultK8sTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// AuthConfig says how the gateway gets its Vault token. With the token
// method the token is given (VAULT_TOKEN) and can only be renewed; AppRole
// and Kubernetes log in, and log in again whenever the token cannot be
// renewed any more or Vault stops accepting it.
type AuthConfig struct {
	Method string // token (the default), approle or kubernetes
	// Mount is the auth method's mount path (default: the method's name).
	Mount string

	RoleID       string // approle
	SecretID     string // approle; or SecretIDFile
	SecretIDFile string // approle: read at every login, so a rotated secret id is picked up

	K8sRole      string // kubernetes
	K8sTokenFile string // kubernetes: read at every login (Kubernetes rotates it); default DefaultK8sTokenFile
}

func (a AuthConfig) method() string {
	if a.Method == "" {
		return AuthToken
	}
	return a.Method
}

func (a AuthConfig) mount() string {
	if a.Mount != "" {
		return strings.Trim(a.Mount, "/")
	}
	return a.method()
}

// Check reports a configuration that cannot log in, naming the variables;
// token is VAULT_TOKEN, needed by the token method only.
func (a AuthConfig) Check(token string) error {
	switch a.method() {
	case AuthToken:
		if token == "" {
			return errors.New("VAULT_TOKEN is required with VAULT_AUTH_METHOD=token")
		}
	case AuthAppRole:
		if a.RoleID == "" || (a.SecretID == "") == (a.SecretIDFile == "") {
			return errors.New("VAULT_AUTH_METHOD=approle needs VAULT_ROLE_ID and one of VAULT_SECRET_ID or VAULT_SECRET_ID_FILE")
		}
	case AuthKubernetes:
		if a.K8sRole == "" {
			return errors.New("VAULT_AUTH_METHOD=kubernetes needs VAULT_K8S_ROLE")
		}
	default:
		return fmt.Errorf("VAULT_AUTH_METHOD must be token, approle or kubernetes, not %q", a.Method)
	}
	return nil
}

// LoginRequest returns the path and body of the method's login call
// (approle and kubernetes), reading the secret id or service account token
// file now. The body holds secrets: never log it.
func (a AuthConfig) LoginRequest() (path string, body map[string]any, err error) {
	path = "auth/" + a.mount() + "/login"
	switch a.method() {
	case AuthAppRole:
		secretID := a.SecretID
		if a.SecretIDFile != "" {
			b, err := os.ReadFile(a.SecretIDFile)
			if err != nil {
				return "", nil, fmt.Errorf("vault.LoginRequest: VAULT_SECRET_ID_FILE: %w", err)
			}
			secretID = strings.TrimSpace(string(b))
		}
		return path, map[string]any{"role_id": a.RoleID, "secret_id": secretID}, nil
	case AuthKubernetes:
		file := a.K8sTokenFile
		if file == "" {
			file = DefaultK8sTokenFile
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", nil, fmt.Errorf("vault.LoginRequest: VAULT_K8S_TOKEN_FILE: %w", err)
		}
		return path, map[string]any{"role": a.K8sRole, "jwt": strings.TrimSpace(string(b))}, nil
	}
	return "", nil, fmt.Errorf("vault.LoginRequest: method %q does not log in", a.method())
}

// reloginBackoff is how long after a failed login the next one may be
// tried; calls in between are refused at once instead of each hammering
// Vault's login endpoint.
const reloginBackoff = time.Second

// session owns the client's token: it logs in, keeps the token renewed
// with vault/api's LifetimeWatcher, and logs in again when renewal stops
// (max TTL reached, renewal refused) or a call finds the token refused.
type session struct {
	client *vaultapi.Client
	auth   AuthConfig
	logger *slog.Logger

	mu         sync.Mutex // serialises logins
	generation uint64     // bumped by every login; guarded by mu
	lastFailed time.Time  // of the last failed login; guarded by mu

	fresh chan *vaultapi.Secret // a new login for the watch loop
	stop  chan struct{}
	done  chan struct{}
}

func newSession(client *vaultapi.Client, auth AuthConfig, logger *slog.Logger) *session {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &session{
		client: client, auth: auth, logger: logger.With("component", "vault"),
		fresh: make(chan *vaultapi.Secret, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// start logs in (or looks up the given token) and starts renewing it.
func (s *session) start(ctx context.Context) error {
	secret, err := s.login(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.generation++
	s.mu.Unlock()
	go s.watch(secret)
	return nil
}

// close stops the renewal.
func (s *session) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// canLogin tells whether a refused token can be replaced.
func (s *session) canLogin() bool { return s.auth.method() != AuthToken }

// login gets a token and sets it on the client. For the token method it
// looks the given token up, so the watcher knows its TTL.
func (s *session) login(ctx context.Context) (*vaultapi.Secret, error) {
	if !s.canLogin() {
		self, err := s.client.Auth().Token().LookupSelfWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("token lookup: %w", classify(err))
		}
		ttl, _ := self.TokenTTL()
		renewable, _ := self.TokenIsRenewable()
		return &vaultapi.Secret{Auth: &vaultapi.SecretAuth{
			ClientToken: s.client.Token(), Renewable: renewable, LeaseDuration: int(ttl.Seconds()),
		}}, nil
	}
	path, body, err := s.auth.LoginRequest()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	// Log in with a clone without a token: a stale token on a login call
	// would be refused by some Vault configurations.
	c, err := s.client.Clone()
	if err != nil {
		return nil, err
	}
	c.ClearToken()
	secret, err := c.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		var re *vaultapi.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
			// Vault answers 400 for an unknown role or a bad secret id.
			return nil, fmt.Errorf("%s login: %w: %w", s.auth.method(), ErrRefused, err)
		}
		return nil, fmt.Errorf("%s login: %w", s.auth.method(), classify(err))
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, fmt.Errorf("%s login: %w: no token in Vault's answer", s.auth.method(), ErrRefused)
	}
	s.client.SetToken(secret.Auth.ClientToken)
	s.logger.Info("logged in to Vault", "method", s.auth.method(), "ttl_seconds", secret.Auth.LeaseDuration)
	return secret, nil
}

// relogin replaces a refused token, once for every caller that saw the
// same generation refused. It returns ErrRefused when no new token can be
// had.
func (s *session) relogin(ctx context.Context, seen uint64) error {
	if !s.canLogin() {
		return ErrRefused
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.generation != seen {
		return nil // another caller logged in meanwhile
	}
	if time.Since(s.lastFailed) < reloginBackoff {
		return ErrRefused
	}
	secret, err := s.login(ctx)
	if err != nil {
		s.lastFailed = time.Now()
		s.logger.Warn("Vault login failed", "method", s.auth.method(), "error", err.Error())
		return err
	}
	s.generation++
	select { // hand the new token to the watch loop, replacing an unread one
	case <-s.fresh:
	default:
	}
	s.fresh <- secret
	return nil
}

func (s *session) currentGeneration() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.generation
}

// do runs call; when Vault refuses the token (403) and the token itself is
// no longer valid, it logs in again and retries once. A 403 on a valid
// token is a policy refusal: it is returned as ErrRefused without a login.
func (s *session) do(ctx context.Context, call func() error) error {
	gen := s.currentGeneration()
	err := classify(call())
	if !errors.Is(err, ErrRefused) {
		return err
	}
	if _, lerr := s.client.Auth().Token().LookupSelfWithContext(ctx); lerr == nil {
		return err
	} else if !errors.Is(classify(lerr), ErrRefused) {
		return classify(lerr)
	}
	if rerr := s.relogin(ctx, gen); rerr != nil {
		return fmt.Errorf("%w (and %w)", err, rerr)
	}
	return classify(call())
}

// watch renews the current token until close; when renewal ends (the
// token's max TTL, or Vault refusing the renewal) it logs in again.
func (s *session) watch(secret *vaultapi.Secret) {
	defer close(s.done)
	for {
		var doneCh <-chan error
		var renewCh <-chan *vaultapi.RenewOutput
		var watcher *vaultapi.LifetimeWatcher
		if secret != nil && secret.Auth != nil && secret.Auth.LeaseDuration > 0 {
			w, err := s.client.NewLifetimeWatcher(&vaultapi.LifetimeWatcherInput{
				Secret: secret, RenewBehavior: vaultapi.RenewBehaviorIgnoreErrors,
			})
			if err == nil {
				watcher, doneCh, renewCh = w, w.DoneCh(), w.RenewCh()
				go w.Start()
			}
		}
		secret = nil
		for secret == nil {
			select {
			case <-s.stop:
				if watcher != nil {
					watcher.Stop()
				}
				return
			case r := <-renewCh:
				s.logger.Debug("renewed the Vault token", "ttl_seconds", r.Secret.Auth.LeaseDuration)
			case fresh := <-s.fresh:
				if watcher != nil {
					watcher.Stop()
				}
				secret = fresh
			case err := <-doneCh:
				doneCh, renewCh = nil, nil
				if !s.canLogin() {
					s.logger.Error("the Vault token can no longer be renewed and will expire; give the gateway a new VAULT_TOKEN or use approle or kubernetes auth", "error", errText(err))
					watcher = nil
					continue
				}
				s.logger.Info("Vault token renewal ended; logging in again", "error", errText(err))
				secret = s.reloginUntilStopped()
				if secret == nil {
					return
				}
			}
		}
	}
}

// reloginUntilStopped logs in with backoff until it works or the session
// closes (nil).
func (s *session) reloginUntilStopped() *vaultapi.Secret {
	wait := reloginBackoff
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s.mu.Lock()
		secret, err := s.login(ctx)
		if err == nil {
			s.generation++
		} else {
			s.lastFailed = time.Now()
		}
		s.mu.Unlock()
		cancel()
		if err == nil {
			return secret
		}
		s.logger.Warn("Vault login failed; retrying", "method", s.auth.method(), "error", err.Error(), "retry_in", wait.String())
		select {
		case <-s.stop:
			return nil
		case fresh := <-s.fresh: // a call logged in meanwhile
			return fresh
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
