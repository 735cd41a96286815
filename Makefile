# edgewatch developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
.DEFAULT_GOAL := help

# The Go toolchain and the checking tools' versions (docs/security.md says how they are chosen).
include hack/versions.env
# Every build and test here runs on GO_TOOLCHAIN, which the go command fetches from the module
# proxy when the machine's own Go is another release.
export GOTOOLCHAIN := $(GO_TOOLCHAIN)

GO ?= go
# The workspace of the root and function modules. It is not named go.work: go would find a go.work
# above functions/<name>/.func/build, where func builds a function as a module of its own, and
# refuse that build. make's go commands use it through GOWORK; plain go commands in the root or in
# a function's directory need no workspace (the root's go.mod takes the functions from this tree).
export GOWORK := $(CURDIR)/edgewatch.work
# Every module of the workspace, as package patterns.
MODULES := $(shell GOWORK='$(GOWORK)' GOTOOLCHAIN=$(GO_TOOLCHAIN) $(GO) list -m -f '{{.Path}}/...')
# Modules that link OpenCV through gocv: the rows of the function table with opencv yes.
GOCV_MODULES := $(shell awk '/^[a-z0-9]/ && $$5 == "yes" { printf "github.com/edgewatch/edgewatch/functions/%s/... ", $$1 }' internal/functions/functions.txt)
TEST_FLAGS ?= -count=1 -timeout 20m
BENCH ?= .
BENCHTIME ?= 1s
# Extra flags of `edgewatch up` for make run, e.g. UP_FLAGS='-broker-port 18080'.
UP_FLAGS ?=

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install missing system packages and start RabbitMQ and PostgreSQL.
	@bash hack/deps.sh

.PHONY: build
build: ## Build the edgewatch runner into bin/.
	$(GO) build -o bin/edgewatch ./cmd/edgewatch

.PHONY: run
run: deps build ## Set up and run the whole pipeline on this machine (Ctrl-C stops it; DEMO_MODEL=pattern-onnx-v8 runs the demo model as ONNX).
	./bin/edgewatch up -exit-with-parent $(UP_FLAGS)

.PHONY: generate
generate: ## Regenerate the functions' copies of the event contract and the validator's table from internal/contract.
	$(GO) generate ./...

.PHONY: test
test: deps ## Set up and run every test of every module against the local RabbitMQ and PostgreSQL.
	$(GO) vet $(MODULES)
	$(MAKE) --no-print-directory lint vulncheck
	$(GO) test $(TEST_FLAGS) $(MODULES)
	$(GO) test $(TEST_FLAGS) -tags matprofile $(GOCV_MODULES)
	bash hack/validate.sh test
	bash hack/dry-run.sh test
	bash hack/knative-cli.sh test
	$(GO) test $(TEST_FLAGS) -tags e2e ./test/e2e

.PHONY: test-e2e
test-e2e: deps ## Run the end-to-end, fault and load tests alone (they restart RabbitMQ and PostgreSQL).
	$(GO) test $(TEST_FLAGS) -tags e2e -v ./test/e2e

.PHONY: test-hostile
test-hostile: deps ## Run the hostile suite alone: outages in bursts, clock skew, oversized, slow, malformed and forged input, login floods.
	@mkdir -p bin && : > bin/hostile-report.md
	HOSTILE_REPORT=$(CURDIR)/bin/hostile-report.md $(GO) test $(TEST_FLAGS) -tags e2e -run '^TestHostile' -v ./test/e2e
	@echo; echo '| test | load held | faults | inputs tried | lost | outcome |'; echo '|---|---|---|---|---|---|'; cat bin/hostile-report.md

.PHONY: lint
lint: ## Run the pinned staticcheck over every module (the parity module's under make parity).
	staticcheck="$$(bash hack/tools.sh staticcheck)"; \
	  "$$staticcheck" $(MODULES); \
	  "$$staticcheck" -tags e2e ./test/e2e; \
	  "$$staticcheck" -tags matprofile $(GOCV_MODULES); \
	  for dir in tools/validate tools/apiserver; do (cd "$$dir" && GOWORK=off "$$staticcheck" ./...); done

.PHONY: vulncheck
vulncheck: build ## Fail on a known vulnerability the code calls (modules and bin/edgewatch; offline database).
	bash hack/vulncheck.sh check

.PHONY: vulndb-update
vulndb-update: ## Move the vulnerability database's pin to the newest golang.org/x/vulndb the proxy serves.
	bash hack/vulncheck.sh update

.PHONY: validate
validate: ## Report every problem of the deployment tree (config/, deploy/) against Knative's own validation.
	bash hack/validate.sh report

.PHONY: dry-run
dry-run: ## Dry-run config/ and deploy/ against a real kube-apiserver with Knative's CRDs (first build: minutes).
	bash hack/dry-run.sh test

.PHONY: func-test
func-test: ## func build --builder=host of alert, caption, dashboard; func run + invoke of caption (real func CLI).
	bash hack/knative-cli.sh test

.PHONY: parity
parity: deps ## Compare the local broker with eventing-rabbitmq v0.48.0's own dispatcher on RabbitMQ (heavy build).
	staticcheck="$$(bash hack/tools.sh staticcheck)"; \
	  cd internal/broker/parity && export GOWORK=off GONOSUMDB=knative.dev/eventing && \
	  "$$staticcheck" ./... && $(GO) test -count=1 .

.PHONY: bench
bench: deps ## Run the benchmarks and print one table of ratios against their baselines.
	mkdir -p out
	# Both runs go to the table, which fails when either printed a failure.
	{ $(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -timeout 60m $(MODULES) || true; \
	  $(GO) test -tags e2e -run '^$$' -bench '$(BENCH)' -benchtime 200x -timeout 20m ./test/e2e || true; } \
	  | tee out/bench.txt | $(GO) run ./cmd/benchtable | tee out/bench-table.md

.PHONY: prometheus
prometheus: ## Run a real Prometheus against the metrics of a running `make run` (hack/prometheus.sh).
	bash hack/prometheus.sh

.PHONY: fmt
fmt: ## Format all Go code.
	gofmt -w $$(git ls-files '*.go')
