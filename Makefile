# laned — build, test and release targets. `make help` lists them.

GO         ?= go
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BUILD_TIME ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
LDFLAGS    := -s -w -X main.version=$(VERSION) -X main.buildTime=$(BUILD_TIME)
BUILDFLAGS := -trimpath -ldflags "$(LDFLAGS)"
DIST       := dist
PKGS_ARM   := ./hal/... ./cmb/... ./store/...
# staticcheck, pinned; `go run pkg@version` fetches and verifies it (go.sum
# database) on first use, so a fresh machine needs only Go, and laned's
# go.mod carries none of the linter's dependencies.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help build cross test test-site fuzz test-arm bench soak demo fmt vet clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build laned and cmbsim for this machine into dist/
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(DIST)/laned ./cmd/laned
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(DIST)/cmbsim ./cmd/cmbsim

cross: ## static linux/arm (GOARM=6, 7) and linux/arm64 builds into dist/
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build $(BUILDFLAGS) -o $(DIST)/laned-linux-armv6 ./cmd/laned
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build $(BUILDFLAGS) -o $(DIST)/laned-linux-armv7 ./cmd/laned
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(BUILDFLAGS) -o $(DIST)/laned-linux-arm64 ./cmd/laned
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(BUILDFLAGS) -o $(DIST)/cmbsim-linux-arm64 ./cmd/cmbsim
	@ls -l $(DIST)/*-linux-*

# -timeout: go test's 10 min default is a wall clock deciding pass or fail
# on a busy machine; tests guard their own hangs (internal/progress).
test: ## go vet, staticcheck and the race-checked tests (the README's test command)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 60m ./...

test-site: ## the site tests alone: three laned boxes and cmbsim as processes (make test runs them too)
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 60m -run '^TestSite' ./cmd/laned

fuzz: ## every fuzz target briefly (FUZZTIME=3s each; CI runs it after make test)
	GO=$(GO) scripts/fuzz.sh

test-arm: ## hal, cmb and store tests as linux/arm64 and linux/arm (GOARM=7) binaries under qemu-user
	LANED_TEST_EXEC=qemu-aarch64-static CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static $(PKGS_ARM)
	LANED_TEST_EXEC=qemu-arm-static CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) test -count=1 -exec qemu-arm-static $(PKGS_ARM)

bench: ## the design's targets beside their same-run baselines, as one table
	GO=$(GO) scripts/bench.sh

SOAK ?= full
soak: ## fault and crash suites, long form (CI: make soak SOAK=ci)
	LANED_SOAK=$(SOAK) CGO_ENABLED=0 $(GO) test -count=1 -timeout 60m -v -run '^Test(Kill9|PlatformDownForADay|CameraGarbage|CallbackAbuse)$$' ./edge/soak

demo: ## run the embedded default: sim board, built-in platform simulator, scripted traffic
	CGO_ENABLED=0 $(GO) run $(BUILDFLAGS) ./cmd/laned demo

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

vet: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean: ## remove build outputs
	rm -rf $(DIST)
