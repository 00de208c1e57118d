#!/bin/sh
# Runs every Fuzz* target of the module for FUZZTIME on top of its seed
# corpus, one target at a time (go test -fuzz takes one). The default is a
# number of inputs (10000x), not a duration: on a loaded machine a short
# duration can end while a worker is still busy, which go test reports as
# a failure ("context deadline exceeded") that says nothing of the code.
set -eu
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-10000x}"
for pkg in $(go list ./...); do
	for t in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $t"
		go test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
