#!/usr/bin/env bash
# Installs the Debian server packages the native backend runs as supervised
# processes. Idempotent: packages already present are not reinstalled.
#
# Debian's maintainer scripts would start each server as a system service on
# its default port; mossdev runs its own instances on loopback, so a
# policy-rc.d forbids those starts for the duration of the install.
set -euo pipefail

# Not Debian: say what to install instead of failing inside apt. The native
# backend runs Debian's packages at Debian's paths; elsewhere the docker
# backend runs the same platform.
not_debian() {
  echo "install-native: $1" >&2
  if [ -n "${2:-}" ]; then
    echo "  The servers with this system's package manager (names vary by release; Valkey stands in" >&2
    echo "  for Redis on newer Fedora and Arch; the native backend is tested with Debian's packages):" >&2
    echo "    $2" >&2
    echo "  and, when mossdev runs as root, a system user: useradd --system --no-create-home mossdev" >&2
    echo "  Or skip the native servers and use the docker backend: mossdev up --backend docker" >&2
  fi
  exit 1
}
if [ "$(uname -s)" = Darwin ]; then
  echo "install-native: the native backend runs Debian's server packages and is not supported on macOS." >&2
  echo "  Use the docker backend: start Docker Desktop, OrbStack or Colima (brew install colima docker && colima start)," >&2
  echo "  then: mossdev up   (auto picks docker when an engine answers; or say --backend docker)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  ID="" ID_LIKE=""
  # shellcheck disable=SC1091
  [ -r /etc/os-release ] && . /etc/os-release
  case " ${ID:-} ${ID_LIKE:-} " in
    *" fedora "*|*" rhel "*|*" centos "*)
      not_debian "${ID:-this system} is not Debian." \
        "sudo dnf install -y postgresql-server postgresql-contrib pgbouncer mariadb-server redis rabbitmq-server haproxy" ;;
    *" arch "*)
      not_debian "${ID:-this system} is not Debian." \
        "sudo pacman -S --needed postgresql pgbouncer mariadb valkey rabbitmq haproxy" ;;
    *" alpine "*)
      not_debian "${ID:-this system} is not Debian." \
        "sudo apk add postgresql postgresql-contrib pgbouncer mariadb redis rabbitmq-server haproxy" ;;
    *" suse "*|*" opensuse "*)
      not_debian "${ID:-this system} is not Debian." \
        "sudo zypper install postgresql-server postgresql-contrib pgbouncer mariadb redis rabbitmq-server haproxy" ;;
    *)
      echo "install-native: no apt-get here, and ${ID:-this system} is not a distribution this script knows." >&2
      echo "  Install PostgreSQL, PgBouncer, MariaDB, Redis, RabbitMQ and HAProxy with its package manager," >&2
      echo "  or use the docker backend: mossdev up --backend docker" >&2
      exit 1 ;;
  esac
fi

pkgs=(postgresql postgresql-contrib pgbouncer mariadb-server mariadb-client redis-server
      rabbitmq-server haproxy procps iproute2 tmux)

# PostgreSQL and PgBouncer refuse to run as root, so when mossdev runs as root
# it runs every native server as this unprivileged system user.
ensure_user() {
  if [ "$(id -u)" -eq 0 ] && ! getent passwd mossdev >/dev/null; then
    useradd --system --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin mossdev
    echo "install-native: created system user mossdev"
  fi
}

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  ensure_user
  echo "install-native: all server packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-native: installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
had_policy=0; [ -e "$policy" ] && had_policy=1
if [ $had_policy -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
fi
trap '[ $had_policy -eq 0 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Stop anything a maintainer script started anyway (no systemd here, but be sure),
# so the default ports are free and nothing runs outside a mossdev stack.
for svc in mariadb redis-server rabbitmq-server haproxy pgbouncer postgresql; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
$SUDO pkill -x epmd >/dev/null 2>&1 || true
ensure_user
echo "install-native: done"
