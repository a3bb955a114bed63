#!/usr/bin/env bash
# Runs every test, integration tests included: they bring real stacks up on
# loopback. Missing servers fail the run here (MOSSDEV_REQUIRE_STACK=1)
# instead of skipping, and any skipped test fails it too.
#
# The integration suites (platform and seed) run twice: on the native backend, then on the
# docker backend (MOSSDEV_BACKEND=docker) with the images named in
# .cache/images.env (offline stand-ins built by scripts/build-images.sh,
# which runs first when the file is missing), together with the docker
# backend's own tests.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO bash scripts/install-native.sh
export MOSSDEV_REQUIRE_STACK=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
show() { grep -E '^(ok|FAIL|---|panic|\s+--- FAIL)|stacktest:|\.go:[0-9]+:'; }
set +e
# stack/docker needs the images: it runs in the second pass.
# -p 1: packages one at a time, so timing-bound checks (a killed service on
# screen within 2 s) are not starved by three stacks booting at once.
go test -p 1 -count=1 -timeout 15m -v "$@" $(go list ./... | grep -v '/stack/docker$') 2>&1 | tee "$log" | show
rc=${PIPESTATUS[0]}
set -e
[ -f .cache/images.env ] || bash scripts/build-images.sh
# shellcheck disable=SC1091
source .cache/images.env
echo "test: the integration suite again on the docker backend ($(grep -c '^export' .cache/images.env) images from .cache/images.env)"
set +e
MOSSDEV_BACKEND=docker go test -p 1 -count=1 -timeout 15m -v "$@" ./stack/stacktest/ ./seed/seedtest/ ./stack/docker/ 2>&1 | tee -a "$log" | show
rc2=${PIPESTATUS[0]}
set -e
[ "$rc" -ne 0 ] || rc=$rc2
if grep -q -- '--- SKIP' "$log"; then
  echo "test.sh: tests were skipped; skips are failures here:"
  grep -- '--- SKIP' "$log"
  exit 1
fi
passed=$(grep -c -- '--- PASS' "$log" || true)
failed=$(grep -c -- '--- FAIL' "$log" || true)
echo "test: $passed passed, $failed failed"
exit "$rc"
