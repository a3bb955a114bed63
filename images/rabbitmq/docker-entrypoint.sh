#!/usr/bin/env bash
# Entrypoint of mossdev-ci/rabbitmq, after the official rabbitmq image's:
#   RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS / RABBITMQ_DEFAULT_VHOST
#                          the first user/vhost (default guest/guest, /)
#   RABBITMQ_ERLANG_COOKIE written to /var/lib/rabbitmq/.erlang.cookie (mode 400)
#   RABBITMQ_NODENAME      default rabbit@$(hostname)
# The server runs in the foreground as user rabbitmq, logs on stdout, with
# the management plugin enabled. Arguments starting with "-" are appended to
# rabbitmq-server's.
set -euo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- rabbitmq-server "$@"
fi

data=/var/lib/rabbitmq
if [[ "$1" == rabbitmq* ]] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$data"
  find "$data" /etc/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
  if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
    cookie="$data/.erlang.cookie"
    if [ -e "$cookie" ] && [ "$(cat "$cookie" 2>/dev/null)" != "$RABBITMQ_ERLANG_COOKIE" ]; then
      echo >&2 "warning: $cookie did not match RABBITMQ_ERLANG_COOKIE; replaced"
    fi
    rm -f "$cookie"
    printf '%s' "$RABBITMQ_ERLANG_COOKIE" >"$cookie"
    chown rabbitmq:rabbitmq "$cookie"
    chmod 400 "$cookie"
  fi
  export HOME="$data"
  # the file now holds it; the variable would only add deprecation warnings
  [ -z "${RABBITMQ_ERLANG_COOKIE:-}" ] || unset RABBITMQ_ERLANG_COOKIE
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "${BASH_SOURCE[0]}" "$@"
fi

exec "$@"
