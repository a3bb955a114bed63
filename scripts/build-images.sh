#!/usr/bin/env bash
# Builds mossdev's offline CI images: stand-ins for the official images the
# docker backend uses on laptops, built without pulling anything (no registry
# is reachable in CI). Debian's apt mirror is the only network use.
#
#   mossdev-ci/debian-servers:<hash>  debootstrap'ed bookworm with the servers (base)
#   mossdev-ci/postgres:16 pgbouncer:latest mariadb:11 redis:7
#   rabbitmq:4-management haproxy:3.2      FROM the base, entrypoints that
#                                             honour the official images' interface
#   mossdev-ci/mongo:7 elasticsearch:8        FROM scratch, the static mossdev
#                                             binary serving its FerretDB / ES fakes
#
# Every image carries org.mossdev.content-hash; an image whose hash is current
# is not rebuilt. See usage() or images/README.md.
set -Eeuo pipefail

usage() {
  cat <<'EOF'
usage: scripts/build-images.sh [options] [name...]

Builds the offline stand-in images for mossdev's docker backend and writes
`export MOSSDEV_IMAGE_<KIND>=<image>` lines for CI to source.

names: base postgres pgbouncer mariadb redis rabbitmq haproxy mongo elasticsearch
       (default: all; the Debian-based ones build the base first when needed)

options:
  --env-file F   where to write the export lines (default: .cache/images.env)
  --force        rebuild the named images even when their content hash is current
                 (the base only when `base` is named)
  --rev REV      build the mossdev binary (mongo, elasticsearch) from git
                 revision REV instead of the working tree
  --mirror URL   Debian mirror for debootstrap (default: from /etc/apt/sources.list*,
                 or $MOSSDEV_DEBIAN_MIRROR)
  -h, --help     this help

environment: MOSSDEV_BUILD_TMP (scratch space for the root filesystem, default
/var/tmp), MOSSDEV_DEBIAN_MIRROR.
Needs: a reachable docker engine; for the base image root (or passwordless
sudo), debootstrap (installed with apt-get when missing), ~3 GB free disk.
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES="$ROOT/images"
SUITE=bookworm
BASE_REPO=mossdev-ci/debian-servers
# Bump when the way the base is produced changes (not its inputs, which are hashed).
BASE_RECIPE=1
# Bump when the way service images are produced changes.
BUILD_RECIPE=1

ALL=(postgres pgbouncer mariadb redis rabbitmq haproxy mongo elasticsearch)
declare -A TAG=(
  [postgres]=mossdev-ci/postgres:16
  [pgbouncer]=mossdev-ci/pgbouncer:latest
  [mariadb]=mossdev-ci/mariadb:11
  [redis]=mossdev-ci/redis:7
  [rabbitmq]=mossdev-ci/rabbitmq:4-management
  [haproxy]=mossdev-ci/haproxy:3.2
  [mongo]=mossdev-ci/mongo:7
  [elasticsearch]=mossdev-ci/elasticsearch:8
)
declare -A KIND=(
  [postgres]=POSTGRES [pgbouncer]=PGBOUNCER [mariadb]=MARIADB [redis]=REDIS
  [rabbitmq]=RABBITMQ [haproxy]=HAPROXY [mongo]=MONGODB [elasticsearch]=ELASTICSEARCH
)
# Which fake of the mossdev binary a scratch image serves.
declare -A SERVES=([mongo]=mongodb [elasticsearch]=elasticsearch)

env_file="$ROOT/.cache/images.env"
force=0
rev=""
mirror="${MOSSDEV_DEBIAN_MIRROR:-}"
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file) [ $# -ge 2 ] || { usage >&2; exit 2; }; env_file=$2; shift 2 ;;
    --env-file=*) env_file=${1#*=}; shift ;;
    --force) force=1; shift ;;
    --rev) [ $# -ge 2 ] || { usage >&2; exit 2; }; rev=$2; shift 2 ;;
    --rev=*) rev=${1#*=}; shift ;;
    --mirror) [ $# -ge 2 ] || { usage >&2; exit 2; }; mirror=$2; shift 2 ;;
    --mirror=*) mirror=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "build-images: unknown option $1" >&2; usage >&2; exit 2 ;;
    all) names+=("${ALL[@]}"); shift ;;
    *)
      if [ "$1" != base ] && [ -z "${TAG[$1]+x}" ]; then
        echo "build-images: unknown image '$1' (known: base ${ALL[*]})" >&2; exit 2
      fi
      names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
# --force rebuilds the base only when it is named.
force_base=0
for n in "${names[@]}"; do [ "$n" != base ] || force_base=$force; done
case "$env_file" in /*) ;; *) env_file="$PWD/$env_file" ;; esac

# ---------------------------------------------------------------- helpers

t0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf 'build-images [%6ss] %s\n' "$(elapsed "$t0")" "$*" >&2; }
die() { printf 'build-images: error: %s\n' "$*" >&2; exit 1; }

TMP=""
ROOTFS=""
SUDO=""
BUILD_CONTAINER=""
cleanup() {
  local rc=$?
  set +e
  [ -z "$BUILD_CONTAINER" ] || docker rm -f "$BUILD_CONTAINER" >/dev/null 2>&1
  if [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ]; then
    kill_chroot_procs "$ROOTFS"
    umount_under "$ROOTFS"
  fi
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    $SUDO rm -rf --one-file-system "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
on_err() {
  local rc=$? line=$1 cmd=$2
  printf 'build-images: error: line %s: `%s` failed (exit %s)\n' "$line" "$cmd" "$rc" >&2
  disk_hint
}
trap 'on_err $LINENO "$BASH_COMMAND"' ERR

free_mb() { df -Pm "$1" 2>/dev/null | awk 'NR==2 { print $4 }'; }
docker_root() { docker info -f '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker; }
# Called on failures: a full disk is the usual cause of odd tar/import/build errors.
disk_hint() {
  local d f
  for d in "${MOSSDEV_BUILD_TMP:-/var/tmp}" "$(docker_root)"; do
    f=$(free_mb "$d") || continue
    if [ -n "$f" ] && [ "$f" -lt 500 ]; then
      printf 'build-images: error: disk full? only %s MB free on %s\n' "$f" "$d" >&2
    fi
  done
}
need_space() { # need_space DIR MB WHAT
  local f; f=$(free_mb "$1")
  if [ -n "$f" ] && [ "$f" -lt "$2" ]; then
    die "not enough disk space for $3: $f MB free on $1, need about $2 MB"
  fi
}

# sha256 (first 12 hex) of a directory's files: names, modes and contents.
hash_dir() {
  (cd "$1" && find . -type f -print | LC_ALL=C sort | while IFS= read -r f; do
     printf '%s %s ' "$f" "$(stat -c %a "$f")"; sha256sum <"$f"
   done)
}
short_hash() { sha256sum | cut -c1-12; }

image_label() { # image_label IMAGE LABEL -> value or empty
  docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null | sed 's/^<no value>$//' || true
}
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# Remove an image that a rebuild left without a tag (ignore if still in use).
drop_if_dangling() {
  local id=$1
  [ -n "$id" ] || return 0
  if [ -z "$(docker image inspect -f '{{join .RepoTags " "}}' "$id" 2>/dev/null)" ]; then
    docker image rm "$id" >/dev/null 2>&1 || true
  fi
}

# The legacy builder: no buildx here, and FROM a local tag never pulls with it.
export DOCKER_BUILDKIT=0

# ---------------------------------------------------------------- checks

command -v docker >/dev/null || die "docker CLI not found"
if ! docker version -f '{{.Server.Version}}' >/dev/null 2>&1; then
  why=$(docker version 2>&1 | grep -iE 'cannot|error|permission' | head -n 1 || true)
  die "cannot reach the docker engine${why:+ ($why)}; is dockerd running and may this user use it?"
fi

# ---------------------------------------------------------------- base image

base_hash() {
  { echo "recipe=$BASE_RECIPE suite=$SUITE variant=minbase arch=$(dpkg --print-architecture 2>/dev/null || uname -m)"
    grep -v '^#' "$IMAGES/base/packages.txt" | sed '/^[[:space:]]*$/d' | LC_ALL=C sort
    hash_dir "$IMAGES/base"
  } | short_hash
}

find_mirror() {
  local f uri
  if [ -n "$mirror" ]; then echo "$mirror"; return; fi
  # deb822 .sources: a stanza whose Suites has the plain suite name.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    uri=$(awk -v s="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      { uris = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); uris = $i }
          if ($i ~ /^Suites:/) { n = split($i, a, /[ \t]+/); for (j = 2; j <= n; j++) if (a[j] == s) ok = 1 }
        }
        if (ok && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit } }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    uri=$(awk -v s="$SUITE" '$1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) { print $i; exit } }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  echo "http://deb.debian.org/debian"
}

kill_chroot_procs() { # processes whose root is the chroot (a postinst may leave epmd behind)
  local dir p r pids=()
  dir=$(readlink -f "$1")
  for p in /proc/[0-9]*; do
    r=$($SUDO readlink "$p/root" 2>/dev/null) || continue
    case "$r" in "$dir"|"$dir"/*) pids+=("${p#/proc/}") ;; esac
  done
  if [ ${#pids[@]} -gt 0 ]; then
    log "base: stopping processes left in the chroot: ${pids[*]}"
    $SUDO kill "${pids[@]}" 2>/dev/null || true
    sleep 1
    $SUDO kill -9 "${pids[@]}" 2>/dev/null || true
  fi
}
umount_under() {
  local dir m
  dir=$(readlink -f "$1")
  # deepest first
  for m in $(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r); do
    $SUDO umount -l "$m" 2>/dev/null || true
  done
}

BASE_TAG=""
build_base() {
  local h start m
  h=$(base_hash)
  BASE_TAG="$BASE_REPO:$h"
  if [ $force_base -eq 0 ] && image_exists "$BASE_TAG"; then
    log "base: $BASE_TAG is current, skipped"
    return
  fi
  start=$(date +%s.%N)
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      SUDO=sudo
    else
      die "building the base image needs root (debootstrap, chroot): run as root or with passwordless sudo"
    fi
  fi
  if ! command -v debootstrap >/dev/null && [ ! -x /usr/sbin/debootstrap ]; then
    log "base: installing debootstrap (apt-get)"
    $SUDO apt-get install -y -qq debootstrap >/dev/null 2>&1 \
      || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq debootstrap >/dev/null; } \
      || die "debootstrap is missing and apt-get could not install it"
  fi
  local tmpbase=${MOSSDEV_BUILD_TMP:-/var/tmp}
  need_space "$tmpbase" 2500 "the base root filesystem"
  need_space "$(docker_root)" 3000 "the base image"
  m=$(find_mirror)
  [ -n "$TMP" ] || TMP=$(mktemp -d "$tmpbase/mossdev-images.XXXXXX")
  ROOTFS="$TMP/rootfs"
  mkdir -p "$ROOTFS"
  local pkgs
  pkgs=$(grep -v '^#' "$IMAGES/base/packages.txt" | sed '/^[[:space:]]*$/d' | paste -sd, -)
  log "base: debootstrap --variant=minbase $SUITE from $m (~1.5 min; log: $TMP/debootstrap.log)"
  if ! $SUDO debootstrap --variant=minbase --include="$pkgs" "$SUITE" "$ROOTFS" "$m" >"$TMP/debootstrap.log" 2>&1; then
    tail -n 20 "$TMP/debootstrap.log" >&2
    [ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -n 20 "$ROOTFS/debootstrap/debootstrap.log" >&2
    disk_hint
    die "debootstrap failed (mirror $m)"
  fi
  kill_chroot_procs "$ROOTFS"
  log "base: debootstrap done ($(elapsed "$start")s), slimming the tree"
  $SUDO cp "$IMAGES/base/setup.sh" "$ROOTFS/tmp/mossdev-setup.sh"
  $SUDO chroot "$ROOTFS" /bin/sh /tmp/mossdev-setup.sh
  $SUDO rm -f "$ROOTFS/tmp/mossdev-setup.sh"
  kill_chroot_procs "$ROOTFS"
  umount_under "$ROOTFS"
  log "base: importing $($SUDO du -sh --one-file-system "$ROOTFS" | cut -f1) as $BASE_TAG"
  local old; old=$(image_id "$BASE_TAG")
  $SUDO tar --numeric-owner --one-file-system -C "$ROOTFS" \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
      -c . \
    | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "LABEL org.mossdev.content-hash=$h" \
        --change "LABEL org.mossdev.base=\"Debian $SUITE minbase + $pkgs\"" \
        --change 'CMD ["/bin/bash"]' \
        - "$BASE_TAG" >/dev/null
  drop_if_dangling "$old"
  $SUDO rm -rf --one-file-system "$ROOTFS"
  ROOTFS=""
  log "base: built $BASE_TAG in $(elapsed "$start")s"
}

# Old base tags: `docker image rm` refuses while an image is built on them.
prune_old_bases() {
  local t
  for t in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "$BASE_REPO"); do
    [ "$t" = "$BASE_TAG" ] && continue
    docker image rm "$t" >/dev/null 2>&1 && log "base: removed old $t" || true
  done
}

# ---------------------------------------------------------------- mossdev binary

BIN=""
build_binary() {
  [ -z "$BIN" ] || return 0
  command -v go >/dev/null || die "go not found: it builds the mossdev binary for the mongo/elasticsearch images"
  local start src
  start=$(date +%s.%N)
  [ -n "$TMP" ] || TMP=$(mktemp -d "${MOSSDEV_BUILD_TMP:-/var/tmp}/mossdev-images.XXXXXX")
  src="$ROOT"
  if [ -n "$rev" ]; then
    src="$TMP/src"
    mkdir -p "$src"
    git -C "$ROOT" archive "$rev" | tar -x -C "$src" || die "cannot export git revision $rev"
  fi
  log "binary: CGO_ENABLED=0 go build ./cmd/mossdev${rev:+ at $rev}"
  if ! (cd "$src" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' \
          -o "$TMP/mossdev" ./cmd/mossdev) >"$TMP/go-build.log" 2>&1; then
    cat "$TMP/go-build.log" >&2
    die "go build ./cmd/mossdev failed${rev:+ at $rev}; the mongo and elasticsearch images need it (try --rev HEAD if the working tree is mid-edit)"
  fi
  BIN="$TMP/mossdev"
  log "binary: built in $(elapsed "$start")s ($(du -h "$BIN" | cut -f1))"
}

# Does the binary have a runner for this fake? A bad config makes a known fake
# fail decoding, an unknown one fail with "unknown fake", without serving.
binary_serves() {
  local out
  out=$(MOSSDEV_SERVE="$1" MOSSDEV_SERVE_CONFIG='!' timeout 10 "$BIN" 2>&1 || true)
  ! grep -q 'unknown fake' <<<"$out"
}

# ---------------------------------------------------------------- service images

# The legacy builder (no BuildKit/buildx here) commits one layer per
# instruction, each a container create+commit: ~4-8 s apiece on fuse-overlayfs,
# ~50 s an image. So the Dockerfiles under images/ (valid for `docker build
# --build-arg BASE=...` too) are applied here in one pass instead:
#   FROM ${BASE}  COPY files into the container, every RUN in one container,
#                 every other instruction as `docker commit --change`
#                 (STOPSIGNAL, which commit rejects on engine 20.10, in a
#                 one-line `docker build` on top);
#   FROM scratch  the COPYed files as a tar through `docker import --change`.
# Supported: ARG (before FROM), FROM, COPY <src>... <dst> (no flags), RUN
# (shell form; COPY before RUN; runs as root in /; ENV not visible to it),
# LABEL ENV EXPOSE VOLUME WORKDIR USER ENTRYPOINT CMD STOPSIGNAL.
DF=()
read_dockerfile() { # one logical instruction per element of DF
  local line t cur=""
  DF=()
  while IFS= read -r line || [ -n "$line" ]; do
    t="${line#"${line%%[![:space:]]*}"}"
    if [ -z "$t" ] || [ "${t:0:1}" = "#" ]; then continue; fi
    if [ "${line: -1}" = "\\" ]; then cur+="${line%\\} "; continue; fi
    DF+=("$cur$line"); cur=""
  done <"$1"
  [ -z "$cur" ] || DF+=("$cur")
}

# apply_dockerfile NAME CTX TAG HASH [BASE]
apply_dockerfile() {
  local name=$1 ctx=$2 tag=$3 h=$4 base=${5:-} ins kw rest from="" stage script c rc
  local changes=(--change "LABEL org.mossdev.content-hash=$h") runs=() stopsignal="" ran=0
  read_dockerfile "$ctx/Dockerfile"
  stage="$TMP/stage-$name"
  rm -rf "$stage"; mkdir -p "$stage"; chmod 755 "$stage"
  for ins in "${DF[@]}"; do
    kw=${ins%%[[:space:]]*}; kw=${kw^^}
    rest="${ins#*[[:space:]]}"; rest="${rest#"${rest%%[![:space:]]*}"}"
    case "$kw" in
      ARG) [ -z "$from" ] || die "$name/Dockerfile: ARG after FROM is not supported here" ;;
      FROM)
        case "$rest" in
          scratch) from=scratch ;;
          '${BASE}'|'$BASE') [ -n "$base" ] || die "$name/Dockerfile: FROM \${BASE} without a base"; from=$base ;;
          *) die "$name/Dockerfile: FROM must be \${BASE} or scratch (nothing can be pulled)" ;;
        esac ;;
      COPY)
        [ $ran -eq 0 ] || die "$name/Dockerfile: COPY after RUN is not supported here"
        local words=() dst src n
        read -r -a words <<<"$rest"
        [ "${words[0]:0:2}" != "--" ] || die "$name/Dockerfile: COPY flags are not supported here"
        n=${#words[@]}; [ "$n" -ge 2 ] || die "$name/Dockerfile: bad COPY: $rest"
        dst=${words[n-1]}
        for src in "${words[@]:0:n-1}"; do
          [ -e "$ctx/$src" ] || die "$name: COPY source $src not in the build context"
          if [ -d "$ctx/$src" ]; then
            mkdir -p "$stage$dst"; cp -a "$ctx/$src/." "$stage$dst/"
          elif [ "${dst: -1}" = / ] || [ "$n" -gt 2 ]; then
            mkdir -p "$stage$dst"; cp -a "$ctx/$src" "$stage$dst/"
          else
            mkdir -p "$(dirname "$stage$dst")"; cp -a "$ctx/$src" "$stage$dst"
          fi
        done ;;
      RUN)
        [ "${rest:0:1}" != "[" ] || die "$name/Dockerfile: exec-form RUN is not supported here"
        runs+=("$rest"); ran=1 ;;
      STOPSIGNAL) stopsignal=$rest ;;
      LABEL|ENV|EXPOSE|VOLUME|WORKDIR|USER|ENTRYPOINT|CMD) changes+=(--change "$ins") ;;
      *) die "$name/Dockerfile: instruction $kw is not supported by this builder" ;;
    esac
  done
  [ -n "$from" ] || die "$name/Dockerfile: no FROM"
  if [ "$from" = scratch ]; then
    [ ${#runs[@]} -eq 0 ] || die "$name/Dockerfile: RUN needs a shell; FROM scratch has none"
    [ -z "$stopsignal" ] || die "$name/Dockerfile: STOPSIGNAL is not supported with FROM scratch here"
    tar --numeric-owner --owner=0 --group=0 -C "$stage" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
    return
  fi
  # all RUN instructions as one script, each through /bin/sh -c like docker's shell form
  script="$stage/.mossdev-build.sh"
  {
    echo "set -e"
    for ins in "${runs[@]}"; do
      printf "/bin/sh -c '%s'\n" "$(printf '%s' "$ins" | sed "s/'/'\\\\''/g")"
    done
    echo 'rm -f /.mossdev-build.sh'
  } >"$script"
  c=$(docker create --entrypoint /bin/sh --workdir / --user 0:0 --network none "$from" /.mossdev-build.sh)
  BUILD_CONTAINER=$c
  rc=0
  { (cd "$stage" && find . -mindepth 1 \( -type f -o -type l -o \( -type d -empty \) \) -print0 \
      | tar --numeric-owner --owner=0 --group=0 --no-recursion --null -T - -c) \
      | docker cp - "$c:/" \
    && docker start -a "$c" >"$TMP/run-$name.log" 2>&1; } || rc=$?
  if [ $rc -ne 0 ]; then
    cat "$TMP/run-$name.log" >&2 2>/dev/null || true
    docker rm -f "$c" >/dev/null 2>&1 || true
    BUILD_CONTAINER=""
    disk_hint
    die "$name: the Dockerfile's RUN steps failed (exit $rc)"
  fi
  # commit keeps the create-time user; give it back the image's (root unless USER says)
  changes=(--change "USER root" "${changes[@]}")
  if [ -n "$stopsignal" ]; then
    docker commit "${changes[@]}" "$c" "$tag-stage" >/dev/null
    docker rm -f "$c" >/dev/null; BUILD_CONTAINER=""
    printf 'FROM %s\nSTOPSIGNAL %s\n' "$tag-stage" "$stopsignal" \
      | docker build --pull=false -q -t "$tag" - >"$TMP/build-$name.log" 2>&1 \
      || { cat "$TMP/build-$name.log" >&2; docker image rm "$tag-stage" >/dev/null 2>&1 || true; die "$name: docker build (STOPSIGNAL) failed"; }
    docker image rm "$tag-stage" >/dev/null
  else
    docker commit "${changes[@]}" "$c" "$tag" >/dev/null
    docker rm -f "$c" >/dev/null; BUILD_CONTAINER=""
  fi
}

build_image() {
  local name=$1 tag=${TAG[$1]} dir="$IMAGES/$1" h ctx old start
  [ -f "$dir/Dockerfile" ] || die "$dir/Dockerfile is missing"
  if [ -n "${SERVES[$name]:-}" ]; then
    build_binary
    start=$(date +%s.%N)
    binary_serves "${SERVES[$name]}" \
      || die "$name: this mossdev binary has no '${SERVES[$name]}' fake yet (fakes/serve registers none); build it again once it does"
    h=$( { echo "recipe=$BUILD_RECIPE scratch"; hash_dir "$dir"; sha256sum <"$BIN"; } | short_hash )
  else
    [ -n "$BASE_TAG" ] || build_base
    start=$(date +%s.%N)
    h=$( { echo "recipe=$BUILD_RECIPE $BASE_TAG"; hash_dir "$dir"; } | short_hash )
  fi
  if [ $force -eq 0 ] && [ "$(image_label "$tag" org.mossdev.content-hash)" = "$h" ]; then
    log "$name: $tag is current ($h), skipped"
    return
  fi
  need_space "$(docker_root)" 500 "$tag"
  old=$(image_id "$tag")
  log "$name: building $tag ($h)"
  if [ -n "${SERVES[$name]:-}" ]; then
    ctx="$TMP/ctx-$name"
    rm -rf "$ctx"; mkdir -p "$ctx/tmp"
    chmod 1777 "$ctx/tmp"
    cp -a "$dir/." "$ctx/"
    cp "$BIN" "$ctx/mossdev"
    chmod 755 "$ctx/mossdev"
    apply_dockerfile "$name" "$ctx" "$tag" "$h"
  else
    apply_dockerfile "$name" "$dir" "$tag" "$h" "$BASE_TAG"
  fi
  drop_if_dangling "$old"
  log "$name: built $tag in $(elapsed "$start")s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

# ---------------------------------------------------------------- main

[ -n "$TMP" ] || TMP=$(mktemp -d "${MOSSDEV_BUILD_TMP:-/var/tmp}/mossdev-images.XXXXXX")
log "building: ${names[*]}"
declare -A done_=()
for n in "${names[@]}"; do
  [ -z "${done_[$n]:-}" ] || continue
  done_[$n]=1
  if [ "$n" = base ]; then build_base; else build_image "$n"; fi
done
[ -z "$BASE_TAG" ] || prune_old_bases

mkdir -p "$(dirname "$env_file")"
{
  echo "# written by scripts/build-images.sh: offline stand-in images for mossdev's docker backend"
  for n in "${ALL[@]}"; do
    if image_exists "${TAG[$n]}"; then
      echo "export MOSSDEV_IMAGE_${KIND[$n]}=${TAG[$n]}"
    fi
  done
} >"$env_file.tmp"
mv "$env_file.tmp" "$env_file"
missing=()
for n in "${ALL[@]}"; do image_exists "${TAG[$n]}" || missing+=("$n"); done
grep '^export' "$env_file" || true
[ ${#missing[@]} -eq 0 ] || log "not built yet: ${missing[*]} (run scripts/build-images.sh ${missing[*]})"
log "done; wrote $env_file"
