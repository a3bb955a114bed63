#!/bin/sh
# Entrypoint of mossdev-ci/redis, after the official redis image's
# docker-entrypoint.sh: a first argument starting with "-" or ending in
# ".conf" means `redis-server <args>`; redis-server runs as user redis in
# /data; unless a config file given as the first argument sets
# protected-mode, "--protected-mode no" is added before the other arguments
# (so arguments can still turn it back on). With no config file redis-server
# binds every interface (its built-in default).
set -e

# first arg is `-f` or `--some-option`, or a config file
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

# allow the container to be started with `--user`
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  export HOME=/var/lib/redis
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# set an appropriate umask (if one isn't set already)
um=$(umask)
if [ "$um" = 0022 ]; then
  umask 0077
fi

if [ "$1" = redis-server ]; then
  doProtectedMode=1
  configFile=
  if [ -f "${2:-}" ]; then
    configFile=$2
    if grep -q '^protected-mode' "$configFile"; then
      doProtectedMode=
    fi
  fi
  if [ "$doProtectedMode" ]; then
    shift # "redis-server"
    if [ "$configFile" ]; then
      shift
    fi
    set -- --protected-mode no "$@"
    if [ "$configFile" ]; then
      set -- "$configFile" "$@"
    fi
    set -- redis-server "$@" # redis-server [config file] --protected-mode no [other options]
  fi
fi

exec "$@"
