# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go

.PHONY: run build test test-go test-compat test-browser deps bench clean

## run: the server with embedded defaults (memory adapter and session store,
## dev login, demo market feed); dashboard at http://localhost:3000
run:
	DEMO=$${DEMO:-true} SESSION_SECRET=$${SESSION_SECRET:-dev-only-secret} $(GO) run ./cmd/server

## build: bin/server, bin/fixture (conformance fixture) and bin/ferretdb
build:
	$(GO) build -o bin/server ./cmd/server
	$(GO) build -o bin/fixture ./compat-tests/fixture
	cd tools/ferretdb && $(GO) build -o ../../bin/ferretdb .

## deps: install what is missing (Debian packages, npm packages)
deps:
	scripts/deps.sh

## test: everything CI runs: deps, go vet, go test -race, compat suite
## (Go and Node reference), browser test
test:
	scripts/test.sh

test-go:
	REQUIRE_SERVICES=1 $(GO) test -race ./...

test-compat: build
	cd compat-tests && node --test --test-concurrency=1 test/

test-browser: build
	cd compat-tests && node --test --test-concurrency=1 browser/

clean:
	rm -rf bin test-output

## bench: our server against the Node reference under the same load
## (BENCH_N, BENCH_POLL_N, BENCH_ROUNDS, ...: see scripts/bench.sh; results in docs/benchmarks.md)
bench:
	scripts/bench.sh
