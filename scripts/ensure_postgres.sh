#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (trust auth) with a database "test".
set -uo pipefail
ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
if ! ready; then
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || pg_ctlcluster "$v" main start || true
  done
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
if ! ready; then
  echo "PostgreSQL is not available: the PostgreSQL tests will be skipped" >&2
  exit 0
fi
if ! psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test' >/dev/null 2>&1 \
    || su postgres -c "createdb test" 2>/dev/null || true
fi
echo "PostgreSQL ready on 127.0.0.1:5432"
