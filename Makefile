# make test runs every test: Go (with the race detector), short fuzzing runs
# and the Node/Chromium suites. .ci/run installs what they need on a bare
# Debian machine and then runs exactly this.
.PHONY: test gotest e2e fuzz jstest

FUZZTIME ?= 5s

test: gotest e2e fuzz jstest

gotest:
	go vet ./...
	go test -race -count=1 -timeout 15m ./...

# The server against real EventSource clients: the npm eventsource package
# and headless Chromium (e2e/).
e2e:
	@if [ ! -d e2e/node_modules ]; then npm ci --prefix e2e --no-audit --no-fund; fi
	npm test --prefix e2e

# Each fuzz target runs for FUZZTIME on top of its seed corpus.
fuzz:
	@set -e; \
	for pkg in $$(go list ./...); do \
	  for t in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# The JavaScript client against the real server (and headless Chromium).
jstest: clients/js/node_modules
	npm test --prefix clients/js

clients/js/node_modules: clients/js/package-lock.json
	npm ci --prefix clients/js --no-audit --no-fund
	@touch $@
