#!/usr/bin/env bash
# Brings the Mossi platform up on this machine from a clean clone: installs
# the Debian server packages if missing, builds mossdev, runs `mossdev up`.
# Extra arguments go to `mossdev up` (e.g. --rabbitmq-nodes 1, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO bash scripts/install-native.sh
mkdir -p bin
echo "up: building bin/mossdev"
go build -o bin/mossdev ./cmd/mossdev
exec ./bin/mossdev up "$@"
