#!/usr/bin/env bash
# Brings the Mossi platform up on this machine from a clean clone: on Debian
# installs the server packages if missing, builds mossdev, runs `mossdev up`.
# Elsewhere (macOS, other Linux distributions) nothing is installed: `mossdev
# up` picks the docker backend when an engine answers (Docker Desktop,
# Colima, OrbStack on a Mac) and says what is missing when none does.
# Extra arguments go to `mossdev up` (e.g. --rabbitmq-nodes 1, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO bash scripts/install-native.sh
else
  echo "up: $(uname -s), not Debian: no server packages installed; the docker backend runs the platform"
fi
mkdir -p bin
echo "up: building bin/mossdev"
go build -o bin/mossdev ./cmd/mossdev
exec ./bin/mossdev up "$@"
