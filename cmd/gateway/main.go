// Command gateway is the zoomsignage gateway: `serve` runs the GraphQL API,
// and the other subcommands are operator tools (migrate, tenant, apikey,
// rewrap). Configuration comes from environment variables only; README.md
// lists them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"zoomsignage/app"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

const usage = `usage: gateway <command> [flags]

commands:
  serve [-dev]                                     run the gateway (GATEWAY_ENV=dev also selects dev mode)
  migrate                                          apply database migrations
  tenant create --name N --licenses K              create a tenant; prints its id
  apikey create --tenant ID --name N --scopes a,b  create an API key; prints the key (shown once)
  apikey revoke --id ID                            revoke an API key
  rewrap                                           rotate the Vault transit key and rewrap every stored ciphertext`

// errUsage asks main to print the usage.
var errUsage = errors.New(usage)

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := app.FromEnv(nil)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// Libraries that write with the standard log package (gqlgen's SSE
	// transport does) go through the JSON handler too: one escaped record
	// a line, never raw text that could pass for a record of ours.
	slog.SetDefault(logger)
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, logger)
	case "migrate":
		return migrate(ctx, logger)
	case "tenant":
		return tenantCmd(ctx, args[1:], stdout, logger)
	case "apikey":
		return apikeyCmd(ctx, args[1:], stdout, logger)
	case "rewrap":
		return rewrap(ctx, stdout, logger)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
