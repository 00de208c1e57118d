#!/bin/sh
# Builds the static tidings binary exactly as the container image does: the
# Dockerfile's build stage runs this script, and CI runs it through
# deploy_test.go, which checks the result is statically linked and serves.
#
#   scripts/build-static.sh [OUTPUT]      (default: ./tidings)
#
# VERSION is stamped into the binary (tidings version); by default it is
# "git describe" when a repository is at hand, else "dev".
set -eu
here=$(pwd)
cd "$(dirname "$0")/.."
out=${1:-tidings}
case $out in
/*) ;;
*) out=$here/$out ;;
esac
if [ -z "${VERSION:-}" ]; then
	VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
fi
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/tidings/tidings/cli.version=$VERSION" -o "$out" .
