#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests (installing it from the
# distribution's packages if needed) and print its SQLAlchemy URL.
# Usage: eval "$(bash .ci/postgres.sh)"   # exports CEPENGINE_PG_URL
set -euo pipefail
PORT="${CEPENGINE_PG_PORT:-54329}"
DATA="${CEPENGINE_PG_DATA:-/tmp/cepengine-pg}"

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
RUN_AS=(su postgres -s /bin/bash -c)
[ "$(id -u)" -eq 0 ] || RUN_AS=(bash -c)

if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  rm -rf "$DATA" && mkdir -p "$DATA"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$DATA"
  "${RUN_AS[@]}" "$PGBIN/initdb -D $DATA -A trust -U postgres >/dev/null"
  "${RUN_AS[@]}" "$PGBIN/pg_ctl -D $DATA -l $DATA/server.log -w -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off' start >/dev/null"
fi
echo "export CEPENGINE_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
