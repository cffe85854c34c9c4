package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/app"
	"zoomsignage/auth"
	"zoomsignage/store"
	"zoomsignage/tenants"
	"zoomsignage/vault"
)

// serve runs the gateway until SIGINT or SIGTERM. In dev mode it also
// starts an in-process Zoom simulator (when no Zoom URL is set) and prints a
// dev tenant and an admin API key.
func serve(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dev := fs.Bool("dev", false, "dev mode: embedded defaults, local keyring, in-process Zoom simulator")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.FromEnv(nil)
	if err != nil {
		return err
	}
	if *dev {
		cfg.Dev = true
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Dev {
		if err := printDevBootstrap(ctx, a, stdout); err != nil {
			return err
		}
	}
	return a.Run(ctx)
}

func printDevBootstrap(ctx context.Context, a *app.App, stdout io.Writer) error {
	boot, err := a.BootstrapDev(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "zoomsignage gateway (dev mode)\nGraphiQL:        http://%s/\nDev tenant:      %s\nAdmin API key:   %s\n",
		a.Config.Addr, boot.TenantID, boot.APIKey)
	if s := a.DevZoom; s != nil {
		// The simulator's credentials are fake, made up at start: printing
		// them lets a developer connect the demo account right away.
		fmt.Fprintf(stdout, "Zoom simulator:  %s (demo account %s, %d rooms)\n", a.Config.ZoomOAuthBaseURL, s.AccountID, len(s.RoomIDs))
		fmt.Fprintf(stdout, "  Server-to-Server app: accountId %s clientId %s clientSecret %s\n", s.AccountID, s.Server.ClientID, s.Server.ClientSecret)
	}
	fmt.Fprintf(stdout, "Try:             curl -s http://%s/graphql -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"query\":\"{viewer{tenantId scopes}}\"}'\n",
		a.Config.Addr, boot.APIKey)
	return nil
}

func migrate(ctx context.Context, logger *slog.Logger) error {
	cfg, err := app.FromEnv(nil)
	if err != nil {
		return err
	}
	pool, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		return err
	}
	logger.Info("database migrated")
	return nil
}

func tenantCmd(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
	if len(args) == 0 || args[0] != "create" {
		return errUsage
	}
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	name := fs.String("name", "", "tenant name")
	licenses := fs.Int("licenses", 0, "license limit")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pool, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	t, err := tenants.CreateAudited(ctx, pool, *name, *licenses, cliActor)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, t.ID)
	return nil
}

func apikeyCmd(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
	if len(args) == 0 {
		return errUsage
	}
	pool, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	keys := auth.NewAPIKeys(pool, nil)
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
		tenant := fs.String("tenant", "", "tenant id")
		name := fs.String("name", "", "key name")
		scopeList := fs.String("scopes", "", "comma-separated scopes")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		scopes, err := auth.ParseScopes(splitList(*scopeList))
		if err != nil {
			return err
		}
		if _, err := tenants.Get(ctx, pool, *tenant); err != nil {
			return err
		}
		_, secret, err := keys.CreateAudited(ctx, *tenant, *name, scopes, cliActor)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		return nil
	case "revoke":
		fs := flag.NewFlagSet("apikey revoke", flag.ContinueOnError)
		id := fs.String("id", "", "API key id")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		_, err := keys.RevokeAudited(ctx, "", *id, cliActor)
		return err
	}
	return errUsage
}

// cliActor is what the audit log records for operator commands.
const cliActor = "cli"

// rewrapBatch is how many rows go to Vault in one transit batch call.
const rewrapBatch = 100

// rewrap rotates the transit key, then rewraps every stored ciphertext onto
// the new version in batches.
func rewrap(ctx context.Context, stdout io.Writer, logger *slog.Logger) error {
	cfg, err := app.FromEnv(nil)
	if err != nil {
		return err
	}
	if cfg.VaultAddr == "" {
		return errors.New("rewrap needs VAULT_ADDR and VAULT_TOKEN")
	}
	pool, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	sealer, err := vault.NewTransit(ctx, vault.TransitConfig{
		Address: cfg.VaultAddr, Token: cfg.VaultToken, Mount: cfg.VaultMount, Key: cfg.VaultTransitKey,
	})
	if err != nil {
		return err
	}
	if err := sealer.Rotate(ctx); err != nil {
		return err
	}
	n, err := store.Rewrap(ctx, pool, sealer, rewrapBatch)
	if err != nil {
		return err
	}
	logger.Info("rewrapped stored ciphertexts", "count", n)
	fmt.Fprintf(stdout, "rewrapped %d ciphertexts\n", n)
	return nil
}

// openStore opens DATABASE_URL for the operator commands.
func openStore(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := app.FromEnv(nil)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, cfg.DatabaseURL)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
