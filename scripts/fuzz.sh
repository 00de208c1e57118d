#!/bin/sh
# Runs every Fuzz* target of the module for FUZZTIME (default 5s) on top of
# its seed corpus, one target at a time (go test -fuzz takes one).
set -eu
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-5s}"
for pkg in $(go list ./...); do
	for t in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $t"
		go test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
