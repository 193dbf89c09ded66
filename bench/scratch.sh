# Sourced by the shell benchmarks: a scratch database and application role of this run only (a test
# run or another bench on the server never meets them), migrated, removed at exit with $dir.
# Usage: source bench/scratch.sh <name>   -> ADMIN, RUN, DB, APP, URL, dir, PB (pgbench)
ADMIN=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PB=${PGBENCH:-$(ls /usr/lib/postgresql/*/bin/pgbench | tail -1)}
RUN=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
DB=sg_bench_$1_$RUN
APP=sg_bench_$1_app_$RUN
URL=${ADMIN%/*}/$DB
dir=$(mktemp -d)
cleanup() {
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $APP" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
psql "$ADMIN" -qc "CREATE DATABASE $DB" -c "CREATE ROLE $APP LOGIN"
DATABASE_URL=$URL node dist/cli/main.js db migrate >/dev/null
