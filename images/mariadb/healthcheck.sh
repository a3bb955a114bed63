#!/bin/sh
# mossdev-ci/mariadb: a small stand-in for the official image's healthcheck.sh.
# Any of its options (--connect, --innodb_initialized, ...) is accepted; the
# check is whether the server answers on TCP, which it does only after the
# first-start initialisation (that runs with --skip-networking).
exec mariadb-admin --no-defaults --protocol=tcp --host=127.0.0.1 --port="${MARIADB_PORT:-3306}" \
  --connect-timeout=2 ping >/dev/null 2>&1
