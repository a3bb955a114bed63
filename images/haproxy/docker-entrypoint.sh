#!/bin/sh
# Entrypoint of mossdev-ci/haproxy, as the official haproxy image's:
# a first argument starting with "-" means `haproxy <args>`, and haproxy runs
# in master-worker mode in the foreground (-W -db).
set -e

# first arg is `-f` or `--some-option`
if [ "${1#-}" != "$1" ]; then
  set -- haproxy "$@"
fi

if [ "$1" = haproxy ]; then
  shift # "haproxy"
  # if the user wants "haproxy", let's add a couple useful flags
  #   -W  -- "master-worker mode" (similar to the old "haproxy-systemd-wrapper"; allows for reload via "SIGUSR2")
  #   -db -- disables background mode
  set -- haproxy -W -db "$@"
fi

exec "$@"
