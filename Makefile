# make test runs every test: Go (with the race detector), short fuzzing runs
# and the Node/Chromium suites. .ci/run installs what they need on a bare
# Debian machine and then runs exactly this.
.PHONY: test gotest fuzz

FUZZTIME ?= 5s

test: gotest fuzz

gotest:
	go vet ./...
	go test -race -count=1 -timeout 15m ./...

# Each fuzz target runs for FUZZTIME on top of its seed corpus.
fuzz:
	@set -e; \
	for pkg in $$(go list ./...); do \
	  for t in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done
