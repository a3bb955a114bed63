#!/usr/bin/env bash
# Entrypoint of mossdev-ci/mariadb: the official mariadb image's behaviour
# (MariaDB/mariadb-docker docker-entrypoint.sh), reduced to what a CI
# stand-in needs, on Debian's MariaDB packages.
#
#   MARIADB_ROOT_PASSWORD | MARIADB_ALLOW_EMPTY_ROOT_PASSWORD | MARIADB_RANDOM_ROOT_PASSWORD
#                          one is required on first start
#   MARIADB_ROOT_HOST      host of the extra root account, default % (none if localhost)
#   MARIADB_DATABASE       created on first start
#   MARIADB_USER, MARIADB_PASSWORD
#                          created @'%', granted ALL on MARIADB_DATABASE
#   MYSQL_*                the same, under the old names
#   MARIADB_INITDB_SKIP_TZINFO  skip loading time zone tables
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz  run once at init
#
# The first start runs mariadb-install-db and a temporary server with
# --skip-networking, then execs the real server: TCP accepts only when ready.
# Arguments starting with "-" go to mariadbd.
set -Eeo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- mariadbd "$@"
fi

log() { printf '%s [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
err() { log "ERROR: $*" >&2; exit 1; }

file_env() {
  local var=$1 fileVar="${1}_FILE" def=${2:-} mysqlVar="${1/#MARIADB_/MYSQL_}" mysqlFileVar val
  mysqlFileVar="${mysqlVar}_FILE"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then err "both $var and $fileVar are set (but are exclusive)"; fi
  val=$def
  if [ "${!var:-}" ]; then val=${!var}
  elif [ "${!fileVar:-}" ]; then val=$(<"${!fileVar}")
  elif [ "${!mysqlVar:-}" ]; then val=${!mysqlVar}
  elif [ "${!mysqlFileVar:-}" ]; then val=$(<"${!mysqlFileVar}")
  fi
  export "$var"="$val"
  unset "$fileVar" "$mysqlFileVar"
}

# mariadbd's effective setting, given the args (like mysql_get_config upstream)
get_config() {
  local conf=$1; shift
  "$@" --verbose --help 2>/dev/null | awk -v conf="$conf" '$1 == conf && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}

setup_env() {
  DATADIR=$(get_config datadir "$@")
  DATADIR=${DATADIR%/}
  SOCKET=$(get_config socket "$@")
  : "${DATADIR:=/var/lib/mysql}" "${SOCKET:=/run/mysqld/mysqld.sock}"
  file_env MARIADB_ROOT_HOST '%'
  file_env MARIADB_DATABASE
  file_env MARIADB_USER
  file_env MARIADB_PASSWORD
  file_env MARIADB_ROOT_PASSWORD
  : "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:=${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
  : "${MARIADB_RANDOM_ROOT_PASSWORD:=${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
  : "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
  DATABASE_ALREADY_EXISTS=
  if [ -d "$DATADIR/mysql" ]; then DATABASE_ALREADY_EXISTS=true; fi
}

create_dirs() {
  mkdir -p "$DATADIR" "$(dirname "$SOCKET")"
  if [ "$(id -u)" = 0 ]; then
    find "$DATADIR" "$(dirname "$SOCKET")" \! -user mysql -exec chown mysql:mysql '{}' +
  fi
}

verify_env() {
  if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    err $'Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD'
  fi
  if [ -n "$MARIADB_USER" ] && [ "$MARIADB_USER" = root ]; then
    err $'MARIADB_USER="root", MARIADB_USER and MARIADB_PASSWORD are for configuring the regular, non-root user\n\tRemove MARIADB_USER="root" and use MARIADB_ROOT_PASSWORD instead'
  fi
  if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then
    log "WARNING: MARIADB_USER set, but MARIADB_PASSWORD not set" >&2
  fi
}

sql_escape() {
  local newline=$'\n' escaped=${1//\\/\\\\}
  escaped=${escaped//$newline/\\n}
  echo "${escaped//\'/\\\'}"
}

process_sql() { # [--dont-use-mysql-root-password] [--database=x] < sql
  local pw=()
  if [ "${1:-}" = --dont-use-mysql-root-password ]; then shift
  elif [ -n "$MARIADB_ROOT_PASSWORD" ]; then export MYSQL_PWD=$MARIADB_ROOT_PASSWORD
  fi
  local db=()
  if [ -n "$MARIADB_DATABASE" ]; then db=(--database="$MARIADB_DATABASE"); fi
  local rc=0
  mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "${db[@]}" "$@" || rc=$?
  unset MYSQL_PWD
  return $rc
}

temp_server_start() {
  "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF \
    --expire-logs-days=0 --skip-slave-start \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
  MARIADB_PID=$!
  log "Waiting for server startup"
  local i
  for i in $(seq 300); do
    if process_sql --dont-use-mysql-root-password --database=mysql <<<'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$MARIADB_PID" 2>/dev/null; then err "Unable to start server."; fi
    sleep 0.1
  done
  err "Unable to start server (30 s)."
}

temp_server_stop() {
  kill "$MARIADB_PID"
  wait "$MARIADB_PID" || true
}

init_database_dir() {
  log "Initializing database files"
  # shellcheck disable=SC2068
  mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --old-mode='UTF8_IS_UTF8MB3' --default-time-zone=SYSTEM \
    --enforce-storage-engine= --skip-log-bin --expire-logs-days=0 \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 \
    "${@:2}" >/dev/null
  log "Database files initialized"
}

setup_db() {
  local rootPasswordEscaped rootCreate='' userPasswordEscaped createDatabase='' createUser='' userGrants=''
  if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ] && [ -d /usr/share/zoneinfo ]; then
    # sed is for https://bugs.mysql.com/bug.php?id=20545
    mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null \
      | process_sql --dont-use-mysql-root-password --database=mysql
  fi
  if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    MARIADB_ROOT_PASSWORD=$(tr -dc '_A-Za-z0-9<>,.;:!@%^&*()=+-' </dev/urandom | head -c 32 || true)
    export MARIADB_ROOT_PASSWORD
    log "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  fi
  rootPasswordEscaped=$(sql_escape "$MARIADB_ROOT_PASSWORD")
  if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
    rootCreate="CREATE USER 'root'@'${MARIADB_ROOT_HOST}' IDENTIFIED BY '${rootPasswordEscaped}';
      GRANT ALL ON *.* TO 'root'@'${MARIADB_ROOT_HOST}' WITH GRANT OPTION;
      GRANT PROXY ON ''@'%' TO 'root'@'${MARIADB_ROOT_HOST}' WITH GRANT OPTION;"
  fi
  if [ -n "$MARIADB_DATABASE" ]; then
    createDatabase="CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
  fi
  if [ -n "$MARIADB_USER" ]; then
    userPasswordEscaped=$(sql_escape "$MARIADB_PASSWORD")
    createUser="CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$userPasswordEscaped';"
    if [ -n "$MARIADB_DATABASE" ]; then
      userGrants="GRANT ALL ON \`${MARIADB_DATABASE//_/\\_}\`.* TO '$MARIADB_USER'@'%';"
    fi
  fi
  log "Securing system users and creating the database and user"
  process_sql --dont-use-mysql-root-password --database=mysql --binary-mode <<-EOSQL
	SET @@SESSION.SQL_LOG_BIN=0;
	SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
	DROP USER IF EXISTS root@'127.0.0.1', root@'::1', ''@'localhost';
	EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');
	EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS \'\'@\'', @@hostname,'\'');
	SET PASSWORD FOR 'root'@'localhost'= PASSWORD('${rootPasswordEscaped}');
	${rootCreate}
	${createDatabase}
	${createUser}
	${userGrants}
	EOSQL
}

process_init_files() {
  local f
  echo
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then log "$0: running $f"; "$f"; else log "$0: sourcing $f"; . "$f"; fi ;;
      *.sql)    log "$0: running $f"; process_sql <"$f"; echo ;;
      *.sql.gz) log "$0: running $f"; gunzip -c "$f" | process_sql; echo ;;
      *)        log "$0: ignoring $f" ;;
    esac
  done
}

is_help() {
  local arg
  for arg; do case "$arg" in -'?'|--help|--print-defaults|-V|--version) return 0 ;; esac; done
  return 1
}

main() {
  if { [ "$1" = mariadbd ] || [ "$1" = mysqld ]; } && ! is_help "$@"; then
    log "Entrypoint script for MariaDB Server (mossdev-ci stand-in, Debian $(mariadbd --version | awk '{print $3}')) started."
    setup_env "$@"
    create_dirs
    if [ "$(id -u)" = 0 ]; then
      log "Switching to dedicated user 'mysql'"
      export HOME=/var/lib/mysql
      exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
      verify_env
      init_database_dir "$@"
      log "Starting temporary server"
      temp_server_start "$@"
      log "Temporary server started."
      setup_db
      process_init_files
      log "Stopping temporary server"
      temp_server_stop
      log "Temporary server stopped"
      echo
      log "MariaDB init process done. Ready for start up."
      echo
    fi
  fi
  exec "$@"
}

main "$@"
