#!/usr/bin/env bash
# Builds the mossdev release: one static binary per target (plain `go build`
# cross-compilation, CGO off: every dependency is pure Go, gopsutil reaches
# macOS's kernel through purego) and a SHA256SUMS file beside them.
#
#   scripts/release.sh [OUT_DIR]        default OUT_DIR: dist
#   VERSION=v1.2.3 scripts/release.sh   default VERSION: git describe, else "devel"
#   TARGETS="linux/amd64" scripts/release.sh
#
# No release tool (goreleaser and the like): four binaries and a checksum
# file are a loop of `go build`, and this script runs offline in CI.
# `mossdev --version` prints VERSION (set with -X main.version).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
targets=${TARGETS:-darwin/arm64 darwin/amd64 linux/arm64 linux/amd64}

mkdir -p "$out"
# Only what an earlier run wrote: OUT_DIR may hold other files.
rm -f "$out"/mossdev_* "$out"/SHA256SUMS
for t in $targets; do
  os=${t%/*} arch=${t#*/}
  bin="mossdev_${version}_${os}_${arch}"
  echo "release: $out/$bin"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X main.version=$version" -o "$out/$bin" ./cmd/mossdev
done
(
  cd "$out"
  if command -v sha256sum >/dev/null 2>&1; then sha256sum mossdev_*; else shasum -a 256 mossdev_*; fi
) >"$out/SHA256SUMS"
echo "release: $out/SHA256SUMS ($(wc -l <"$out/SHA256SUMS") binaries, version $version)"
