#!/usr/bin/env bash
# Installs the Debian server packages the native backend runs as supervised
# processes. Idempotent: packages already present are not reinstalled.
#
# Debian's maintainer scripts would start each server as a system service on
# its default port; mossdev runs its own instances on loopback, so a
# policy-rc.d forbids those starts for the duration of the install.
set -euo pipefail

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
