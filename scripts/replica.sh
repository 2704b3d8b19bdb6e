#!/usr/bin/env bash
# A local PostgreSQL streaming replica of a primary server, for the reports database
# (REPORTS_DATABASE_URL) on one machine:
#
#   scripts/replica.sh start    # base backup of the primary (pg_basebackup -R), then serve it
#   scripts/replica.sh status   # running or not, and how far behind the primary it is
#   scripts/replica.sh stop     # stop it and delete its data directory
#
# Settings (environment):
#   PRIMARY_HOST / PRIMARY_PORT / PRIMARY_USER   the primary (127.0.0.1 / 5432 / postgres);
#                                                the user needs the REPLICATION privilege and
#                                                pg_hba.conf a "replication" line for it
#   REPLICA_PORT                                 the replica's port (5433)
#   REPLICA_DIR                                  its data directory (/tmp/climcrm-replica-PORT)
#   PG_BIN                                       PostgreSQL's programs (found on the PATH or
#                                                under /usr/lib/postgresql/*/bin)
# Run as root, the server runs as the "postgres" OS user (runuser); otherwise as the caller.
# The replica is a hot standby: it serves reads and refuses every write.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
PRIMARY_USER=${PRIMARY_USER:-postgres}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_DIR=${REPLICA_DIR:-/tmp/climcrm-replica-${REPLICA_PORT}}

fail() {
  echo "replica: $*" >&2
  exit 1
}

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    echo "$PG_BIN"
    return
  fi
  # The programs of the primary's major version (Debian and Ubuntu keep them off the PATH),
  # else the ones on the PATH, else the newest installed.
  local major
  major=$(psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -d postgres -XAtq \
    -c "SELECT current_setting('server_version_num')::int / 10000" 2>/dev/null || true)
  if [ -n "$major" ] && [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]; then
    echo "/usr/lib/postgresql/$major/bin"
  elif command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
  else
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$found" ] || fail "PostgreSQL's programs not found: set PG_BIN"
    echo "$found"
  fi
}
BIN=$(find_bin)
[ -x "$BIN/pg_basebackup" ] && [ -x "$BIN/pg_ctl" ] || fail "no pg_basebackup/pg_ctl in $BIN"

# PostgreSQL refuses to run as root: as root, run the server's programs as "postgres".
as_server() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

primary_psql() {
  "$BIN/psql" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -d postgres -XAtq "$@"
}

replica_psql() {
  "$BIN/psql" -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PRIMARY_USER" -d postgres -XAtq "$@"
}

running() {
  [ -f "$REPLICA_DIR/postmaster.pid" ] && as_server "$BIN/pg_ctl" -D "$REPLICA_DIR" status >/dev/null 2>&1
}

start() {
  if running; then
    echo "replica already running on port $REPLICA_PORT ($REPLICA_DIR)"
    return 0
  fi
  primary_psql -c "SELECT 1" >/dev/null ||
    fail "primary $PRIMARY_HOST:$PRIMARY_PORT unreachable as $PRIMARY_USER"
  # A hot standby needs these at least as high as on the primary.
  local settings
  settings=$(primary_psql -c "SELECT string_agg(name || ' = ' || setting, E'\n') FROM pg_settings
    WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',
                   'max_prepared_transactions', 'max_locks_per_transaction')")
  as_server rm -rf "$REPLICA_DIR"
  as_server mkdir -p -m 700 "$REPLICA_DIR"
  echo "base backup of $PRIMARY_HOST:$PRIMARY_PORT into $REPLICA_DIR"
  if ! as_server "$BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" \
    -D "$REPLICA_DIR" -R -X stream --checkpoint=fast --no-password 2>"$REPLICA_DIR.err"; then
    cat "$REPLICA_DIR.err" >&2
    rm -f "$REPLICA_DIR.err"
    as_server rm -rf "$REPLICA_DIR"
    fail "pg_basebackup failed: the primary's pg_hba.conf needs a line such as
  host replication $PRIMARY_USER 127.0.0.1/32 trust
(then reload it), wal_level replica and max_wal_senders > 0"
  fi
  rm -f "$REPLICA_DIR.err"
  # Debian keeps the configuration outside the data directory: the replica gets its own.
  as_server tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<EOF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$REPLICA_DIR'
hot_standby = on
# Queries on the replica hold back the vacuum of rows they read instead of being cancelled.
hot_standby_feedback = on
$settings
EOF
  as_server tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
  as_server touch "$REPLICA_DIR/pg_ident.conf"
  as_server "$BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -w -t 60 start >/dev/null ||
    { cat "$REPLICA_DIR/server.log" >&2; fail "the replica did not start"; }
  for _ in $(seq 1 60); do
    if [ "$(replica_psql -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ]; then
      echo "replica running on port $REPLICA_PORT, streaming from $PRIMARY_HOST:$PRIMARY_PORT"
      return 0
    fi
    sleep 0.5
  done
  fail "the replica does not answer on port $REPLICA_PORT (see $REPLICA_DIR/server.log)"
}

stop() {
  if running; then
    as_server "$BIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null
    echo "replica on port $REPLICA_PORT stopped"
  else
    echo "replica on port $REPLICA_PORT not running"
  fi
  as_server rm -rf "$REPLICA_DIR"
}

status() {
  if ! running; then
    echo "replica on port $REPLICA_PORT not running"
    return 3
  fi
  replica_psql -F ' ' -c "SELECT 'replica on port $REPLICA_PORT: WAL receiver ' ||
      COALESCE((SELECT status FROM pg_stat_wal_receiver), 'not connected') ||
      ', last change replayed ' ||
      COALESCE(round(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1)::text
               || ' s ago', 'none yet')"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
