# sluice — build, test and lint. `make help` lists the targets.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

# Pinned tool versions.
STATICCHECK_VERSION := v0.7.0
ACTIONLINT_VERSION  := v1.7.12
GORELEASER_VERSION  := v2.15.1

.PHONY: help build test lint lint-deploy ci tools tools-deploy clean fuzz-smoke

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/sluice with the version stamped in
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/sluice ./cmd/sluice

test: ## run the whole test suite with the race detector, and the proxy's again on its net/http path
	$(GO) test -race -count=1 ./...
	SLUICE_TEST_PROXY_NETHTTP=1 $(GO) test -race -count=1 ./internal/proxy/

lint: tools lint-deploy ## gofmt, go vet, staticcheck, a tidy go.mod, and lint-deploy
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...
	@cp go.mod /tmp/sluice-go.mod.bak; cp go.sum /tmp/sluice-go.sum.bak; \
	 $(GO) mod tidy; \
	 if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum"; git diff -- go.mod go.sum; \
	   cp /tmp/sluice-go.mod.bak go.mod; cp /tmp/sluice-go.sum.bak go.sum; exit 1; fi

ci: lint test ## what CI runs

# Each fuzz target runs FUZZTIME (default 5s) from its committed seeds in
# testdata/fuzz; the first build instruments every package, SQLite
# included, and takes a while. Raise FUZZTIME (say 20s) for a real run.
FUZZTIME ?= 5s
FUZZ_TARGETS := ./internal/spec:FuzzDecode ./internal/api:FuzzAuthorizationHeader ./internal/api:FuzzJSONRequests \
	./internal/flags:FuzzParse ./internal/flags:FuzzEvaluate ./internal/flags/ofrep:FuzzDecodeRequest

fuzz-smoke: ## run every fuzz target briefly (FUZZTIME each); not part of test
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME); \
	done

# promtool comes from Debian's prometheus package (.ci/run installs it); CI
# fails without it, a developer's machine skips those checks with a note.
lint-deploy: tools-deploy ## workflows, release config, Prometheus rules, systemd unit, deploy/ tests
	$(GOBIN)/actionlint
	$(GOBIN)/actionlint examples/ci/github-actions.yml
	$(GOBIN)/goreleaser check
	@if command -v promtool >/dev/null; then \
	  set -e; \
	  promtool check rules deploy/prometheus/rules/*.yml; \
	  promtool check config deploy/prometheus/prometheus.yml; \
	  if ! out=$$(promtool check config deploy/prometheus/prometheus-kubernetes.yml 2>&1); then \
	    if echo "$$out" | grep -q 'field kubernetes_sd_configs not found'; then \
	      echo "skip promtool check config prometheus-kubernetes.yml: this promtool has no Kubernetes discovery (Debian builds it without)"; \
	    else echo "$$out"; exit 1; fi; \
	  fi; \
	  promtool test rules deploy/prometheus/tests/*.test.yml; \
	elif [ -n "$$CI" ]; then echo "promtool is missing: apt-get install prometheus"; exit 1; \
	else echo "skip promtool checks: promtool is not installed (apt-get install prometheus)"; fi
	@if command -v systemd-analyze >/dev/null; then \
	  tmp=$$(mktemp -d); printf '#!/bin/sh\n' > $$tmp/sluice; chmod +x $$tmp/sluice; \
	  sed "s|/usr/local/bin/sluice|$$tmp/sluice|" deploy/systemd/sluice.service > $$tmp/sluice.service; \
	  out=$$(systemd-analyze verify $$tmp/sluice.service 2>&1); rm -rf $$tmp; \
	  if [ -n "$$out" ]; then echo "systemd-analyze verify deploy/systemd/sluice.service:"; echo "$$out"; exit 1; fi; \
	  echo "systemd-analyze verify deploy/systemd/sluice.service: ok"; \
	else echo "skip systemd-analyze verify: systemd-analyze is not installed"; fi
	$(GO) test -count=1 ./deploy/

tools: ## install the pinned lint tools
	@test -x $(GOBIN)/staticcheck && $(GOBIN)/staticcheck -version | grep -q 2026 || \
	  $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# goreleaser takes minutes to build the first time (about 7 on 2 cores).
tools-deploy: ## install the pinned deploy check tools
	@test -x $(GOBIN)/actionlint && $(GOBIN)/actionlint -version | grep -qx '$(ACTIONLINT_VERSION)' || \
	  $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	@test -x $(GOBIN)/goreleaser && $(GOBIN)/goreleaser --version 2>/dev/null | grep -Eq 'GitVersion: +$(GORELEASER_VERSION)$$' || \
	  $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

clean: ## remove build output
	rm -rf bin dist
