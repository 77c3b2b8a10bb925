#!/bin/sh
# deploy/compose.yaml's PostgreSQL: an empty PGDATA is initialised on first start (trust auth on
# 127.0.0.1 only: the stack is a laptop's, host networking, nothing listens beyond loopback), the
# database POSTGRES_DB created, then the command runs. Any other command (psql, bash) runs as is.
set -eu
if [ "${1:-}" = postgres ]; then
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        initdb -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
        pg_ctl -D "$PGDATA" -o "-c listen_addresses= -k /var/run/postgresql" -w start >/dev/null
        createdb -h /var/run/postgresql -U postgres "${POSTGRES_DB:-maas}"
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    shift
    exec postgres -D "$PGDATA" -k /var/run/postgresql \
        -c listen_addresses="${POSTGRES_LISTEN:-127.0.0.1}" -p "${PGPORT:-5432}" "$@"
fi
exec "$@"
