#!/usr/bin/env bash
# make test: installs what is missing, builds, runs go vet, go test -race,
# the compat suite against the Go server and the Node reference, and the
# browser test. Every service is started by the tests themselves on free
# loopback ports and stopped by them; the trap below stops anything left.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
export REQUIRE_SERVICES=1   # a missing service fails the tests, never skips them
export GOFLAGS=${GOFLAGS:-}

cleanup() { pkill -P $$ 2>/dev/null || true; }
trap cleanup EXIT

step() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

step "deps"
scripts/deps.sh

step "build"
make --no-print-directory build

step "web-client build is reproducible and committed"
(cd web-client && npm run --silent build >/dev/null)
git diff --exit-code --stat -- web-client/dist

step "go vet"
go vet ./...

step "go test -race"
go test -race -count=1 ./...

step "compat suite (Go and Node reference)"
(cd compat-tests && node --test --test-concurrency=1 test/)

step "browser test (Chromium, Go server)"
(cd compat-tests && node --test --test-concurrency=1 browser/)

step "done"
