# zoomsignage: the two commands that matter are `make run` and `make test`.
.PHONY: run test generate check-generated vet lint bench build vaultdev

GO ?= go
# Packages are tested two at a time (the machine has 2 cores), with the race
# detector: the gateway is concurrent everywhere and the whole run stays
# around two minutes.
TEST_FLAGS ?= -race -count=1 -p 2 -timeout 15m

## run: the gateway in dev mode with embedded defaults (GraphiQL at http://127.0.0.1:8080/)
run:
	GATEWAY_ENV=dev $(GO) run ./cmd/gateway serve

build:
	$(GO) build -o bin/gateway ./cmd/gateway
	$(GO) build -o bin/zoomsim ./cmd/zoomsim

## test: every test against real Postgres, Redis and a dev Vault server (started here)
test: check-generated vet
	scripts/with-vault.sh $(GO) test $(TEST_FLAGS) ./...

## generate: regenerate graph/ from schema/*.graphqls
generate:
	$(GO) generate ./...

## check-generated: fail when graph/ is not what gqlgen makes of the schema
check-generated:
	scripts/check-generated.sh

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^tools/')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

lint: vet
	$(GO) tool staticcheck ./...

## bench: the benchmark harness; results in bench-results.txt
bench:
	scripts/with-vault.sh scripts/bench.sh

## vaultdev: build (or reuse) the dev Vault server binary
vaultdev:
	scripts/vaultdev-build.sh
