# reassign: make demo | make test | make build | make bench
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/reassign

.PHONY: build demo test vet race fuzz-smoke manifests bench clean sample-report prism workbooks

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# The job against the built-in sandbox. The sample plan has a row that 404s and one
# that 400s on purpose, so the job exits 3; the demo treats exactly that as success.
# Then the plan keyed by phone number with agent names, and the workbook: exit 0 each.
# It ends with the first run's HTML report, and says where it is.
demo: build
	@mkdir -p bin
	@stamp=$$(date -u +%Y%m%dT%H%M%SZ); report=bin/demo-report-$$stamp.csv; \
	$(BIN) --sandbox --plan samples/plan.csv --report $$report --html bin/demo-report-$$stamp.html --log-format console; code=$$?; \
	echo; echo "report $$report:"; cat $$report; echo; \
	if [ $$code -ne 3 ]; then echo "unexpected exit $$code"; exit 1; fi; \
	echo "exit 3, as expected: the sample has one unknown number (not_found) and one outbound-only agent (rejected)"
	@# The team lead's forms: numbers by phone number, agents by name, a CSV and a workbook.
	@for plan in samples/plan-by-phone.csv samples/plan.xlsx; do \
	  echo; echo "$$plan:"; \
	  $(BIN) --sandbox --plan $$plan --report bin/demo-$$(basename $${plan%.*})-$$(date -u +%Y%m%dT%H%M%SZ).csv --log-format console --rate 0 || exit 1; \
	done
	@page=$$(ls -t bin/demo-report-*.html | head -n 1); test -s "$$page" || { echo "no HTML report"; exit 1; }; \
	echo; echo "HTML report of the first run (open it in a browser): $$page"

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }

race:
	$(GO) test -race -count=1 ./...

# Stoplight Prism for TestPrismContract (prism_test.go). Off CI a failed install only
# warns (the test then skips); with CI set it fails, and the test fails without Prism too.
prism:
	@bash .ci/install-prism.sh || { [ -z "$$CI" ] && echo "warning: Prism not installed; TestPrismContract will skip (run .ci/install-prism.sh)"; }

# Each fuzz target, briefly, beyond its seed corpus (which plain go test already runs).
# A count of inputs (about 10 s each here), not a duration: Go 1.26's fuzzing
# coordinator can fail a target with "context deadline exceeded" when a duration runs
# out on a busy machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 100000x
fuzz-smoke:
	$(GO) test ./job/planfile -run '^$$' -fuzz '^FuzzReadPlan$$' -fuzztime $(FUZZTIME)
	$(GO) test ./job/planfile -run '^$$' -fuzz '^FuzzReadWorkbook$$' -fuzztime $(FUZZTIME)
	$(GO) test ./job/dialnexa -run '^$$' -fuzz '^FuzzParseRetryAfter$$' -fuzztime $(FUZZTIME)
	$(GO) test ./report -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME)
	$(GO) test ./job/planfile -run '^$$' -fuzz '^FuzzNormalisePhone$$' -fuzztime $(FUZZTIME)
	$(GO) test ./job/dialnexa -run '^$$' -fuzz '^FuzzParseBudget$$' -fuzztime $(FUZZTIME)

# The Kubernetes samples: the Kustomize base and each of its components rendered with the
# Kustomize Go API and decoded strictly into the real API types; each pod's command line
# run against the sandbox; the Dockerfile read and the static build checked. A module of
# its own, so that k8s.io/api and Kustomize stay out of the job's dependencies.
manifests:
	cd samples/kubernetes && $(GO) vet ./... && $(GO) test -count=1 ./...

test: vet prism race fuzz-smoke manifests

# The performance figures of docs/performance.md, each against its target: about 40
# minutes on 2 cores (the budget runs are paced by their fake API's limit), prints a
# markdown table (medians of 3 runs), exits 1 when a figure misses its target. Not part of
# `make test`, which runs only its -quick smoke test (job/bench/bench_test.go).
bench:
	$(GO) run ./job/bench -runs 3

clean:
	rm -rf bin

# Regenerate the workbooks the plan reader's tests read, and samples/plan.xlsx, with
# openpyxl and LibreOffice (apt-get install python3-openpyxl libreoffice-calc-nogui).
workbooks:
	job/planfile/testdata/xlsx/regenerate.sh

# Regenerate samples/report.csv: the sample plan's report from the sandbox.
sample-report: build
	rm -f samples/report.csv
	$(BIN) --sandbox --plan samples/plan.csv --report samples/report.csv --log-format json 2>/dev/null; test $$? -eq 3
