#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:$PORT with a `test` database that the
# `postgres` role reaches without a password, as the test suite expects. A server already
# listening is used as it is; otherwise the Debian package is installed if missing and a
# private cluster (trust authentication, loopback only) is started in $DATA. Prints the PID
# file of a cluster it started, so the caller can stop it.
set -euo pipefail
port=${1:-5432}
data=${2:-/var/tmp/hotline-ci-postgres}

ready() { pg_isready -q -h 127.0.0.1 -p "$port"; }

if ! command -v pg_isready >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq postgresql >/dev/null
fi

if ! ready; then
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ ! -f "$data/PG_VERSION" ]; then
        rm -rf "$data"
        install -d -o postgres -g postgres "$data"
        runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 >/dev/null
    fi
    echo "starting a PostgreSQL cluster in $data on 127.0.0.1:$port" >&2
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-h 127.0.0.1 -p $port -k $data" start >/dev/null
    echo "$data/postmaster.pid"
fi

exists=$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'")
[ "$exists" = "1" ] || psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE test"
