# caddy-llm-router — the two commands of the README:
#   make run    runs the gateway offline on the embedded mock provider
#   make test   installs what the tests need when it is missing, then runs them
#
# The tests need Go (with the module proxy), redis-server and chromium
# (Debian packages) and the pinned agent CLIs (npm, caddytest/agents).

GO ?= go

.PHONY: run test deps build check

run:
	$(GO) run ./cmd/caddy run --config examples/quickstart.Caddyfile

build:
	$(GO) build -o caddy ./cmd/caddy

deps:
	./scripts/test-deps.sh

test: deps
	$(GO) test -timeout 30m ./...

# gofmt, go vet and staticcheck, as CI runs them.
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
