// Command zoomsim runs the Zoom simulator as a standalone server: OAuth at
// the root, the REST API under /v2 and the control API under /_sim/ (see
// package zoomsignage/zoom/zoomsim). At start it seeds a demo account and
// prints one JSON line with its account id and app credentials.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"zoomsignage/zoom/zoomsim"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "zoomsim:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	addr          string
	rooms         int
	plan          string
	webhookURL    string
	webhookSecret string
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("zoomsim", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9090", "listen address")
	fs.IntVar(&c.rooms, "seed-rooms", 25, "rooms of the demo account")
	fs.StringVar(&c.plan, "plan", "pro", "plan of the demo account: free, pro or business")
	fs.StringVar(&c.webhookURL, "webhook-url", "", "where to send webhooks (e.g. the gateway's /webhooks/zoom)")
	fs.StringVar(&c.webhookSecret, "webhook-secret", "", "webhook secret token")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.rooms < 0 {
		return c, errors.New("-seed-rooms must not be negative")
	}
	return c, nil
}

// banner is the line printed at start.
type banner struct {
	Addr                    string `json:"addr"`
	AccountID               string `json:"account_id"`
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret"`
	MarketplaceClientID     string `json:"marketplace_client_id"`
	MarketplaceClientSecret string `json:"marketplace_client_secret"`
	AdminUserID             string `json:"admin_user_id"`
	MemberUserID            string `json:"member_user_id"`
}

// run serves until ctx is done or SIGINT/SIGTERM arrives, then shuts down
// gracefully.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sim := zoomsim.New(zoomsim.Options{WebhookURL: cfg.webhookURL, WebhookSecret: cfg.webhookSecret})
	seed, err := sim.Seed(ctx, zoomsim.SeedOptions{Plan: zoomsim.Plan(cfg.plan), Rooms: cfg.rooms})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	err = json.NewEncoder(stdout).Encode(banner{
		Addr: ln.Addr().String(), AccountID: seed.AccountID,
		ClientID: seed.Server.ClientID, ClientSecret: seed.Server.ClientSecret,
		MarketplaceClientID: seed.Marketplace.ClientID, MarketplaceClientSecret: seed.Marketplace.ClientSecret,
		AdminUserID: seed.Admin.ID, MemberUserID: seed.Member.ID,
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("print banner: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sim.Close() // release hung requests so shutdown can finish
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
