#!/usr/bin/env bash
# Runs every test, integration tests included: they bring real stacks up on
# loopback. Missing servers fail the run here (MOSSDEV_REQUIRE_STACK=1)
# instead of skipping, and any skipped test fails it too.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO bash scripts/install-native.sh
export MOSSDEV_REQUIRE_STACK=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
go test -count=1 -timeout 15m -v "$@" ./... 2>&1 | tee "$log" | grep -E '^(ok|FAIL|---|panic|\s+--- FAIL)|stacktest:|\.go:[0-9]+:'
rc=${PIPESTATUS[0]}
set -e
if grep -q -- '--- SKIP' "$log"; then
  echo "test.sh: tests were skipped; skips are failures here:"
  grep -- '--- SKIP' "$log"
  exit 1
fi
passed=$(grep -c -- '--- PASS' "$log" || true)
failed=$(grep -c -- '--- FAIL' "$log" || true)
echo "test: $passed passed, $failed failed"
exit "$rc"
