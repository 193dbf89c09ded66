#!/usr/bin/env bash
# What reach's event triggers and checks cost: an application's temporary table (CREATE + DROP TEMP
# TABLE fire the triggers), a GRANT/REVOKE pair on a protected table (a full comparison each),
# drift_check() (the producer's periodic check, migrate's check) and doctor(). Event triggers on vs
# off alternate within one run. Usage: bash bench/drift-cost.sh [seconds] [pairs] [tables]
set -euo pipefail
SECS=${1:-5}; PAIRS=${2:-3}; TABLES=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# names of this run only (a test run or another bench on the server never meets them), removed at exit
RUN=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
DB=sg_bench_drift_$RUN
ROLE=sg_bench_drift_app_$RUN
PG="-h 127.0.0.1 -U postgres"
cleanup() { dropdb $PG --if-exists --force $DB >/dev/null 2>&1 || true; psql $PG -d postgres -qc "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1 || true; rm -f /tmp/$DB.*.sql; }
trap cleanup EXIT
createdb $PG $DB
( echo 'BEGIN;'; for f in "$ROOT"/sql/migrations/*.sql; do sed '/^-- Down Migration/,$d' "$f"; done; echo 'COMMIT;' ) | psql $PG -d $DB -q -v ON_ERROR_STOP=1
psql $PG -d $DB -q -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE $ROLE LOGIN;
INSERT INTO shadowgate.project_registry (project_id, name, access_level) SELECT 'p' || i, 'p' || i, 'isolated' FROM generate_series(1, 8) i;
DO \$\$ BEGIN FOR i IN 1..$TABLES LOOP
  EXECUTE format('CREATE TABLE public.t%s (id bigserial PRIMARY KEY, project_id text NOT NULL, body text)', i);
  PERFORM shadowgate.protect_table(format('public.t%s', i)::regclass);
END LOOP; END \$\$;
SELECT shadowgate.grant_access('$ROLE');
GRANT CREATE ON SCHEMA public TO $ROLE;
SELECT shadowgate.set_phase('p1', 'shadow', now(), 'bench', NULL, false);
SQL
echo 'CREATE TEMP TABLE scratch (x int); DROP TABLE scratch;' > /tmp/$DB.temp.sql
echo "GRANT SELECT ON public.t1 TO $ROLE; REVOKE SELECT ON public.t1 FROM $ROLE;" > /tmp/$DB.grant.sql
echo "SELECT shadowgate.drift_check('bench');" > /tmp/$DB.check.sql
echo "SELECT count(*) FROM shadowgate.doctor();" > /tmp/$DB.doctor.sql
tps() { pgbench $PG -n -c 1 -T "$SECS" -f "/tmp/$DB.$2.sql" ${3:-} "$1" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}'; }
triggers() { psql $PG -d $DB -qc "ALTER EVENT TRIGGER shadowgate_ddl_end $1; ALTER EVENT TRIGGER shadowgate_sql_drop $1"; }
echo "tables protected: $TABLES; roles in the cluster: $(psql $PG -d $DB -Atc 'SELECT count(*) FROM pg_roles'); ${SECS}s per measure, 1 client"
for w in temp grant; do
  as=""; [ $w = temp ] && as="-U $ROLE"   # the application's temporary tables; the owner's GRANTs
  for i in $(seq "$PAIRS"); do
    triggers DISABLE; off=$(tps "$DB" $w "$as"); triggers ENABLE; on=$(tps "$DB" $w "$as")
    echo "$w pair $i: triggers off $off tps, on $on tps, on/off $(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.2f", a / b}')"
  done
done
for w in check doctor; do
  echo "$w: $(tps "$DB" $w) per second ($(awk -v t="$(tps "$DB" $w)" 'BEGIN {printf "%.2f", 1000 / t}') ms each)"
done
echo "clock resets of p1 during the run: $(psql $PG -d $DB -Atc "SELECT count(*) FROM shadowgate.rls_phase_history WHERE kind = 'clock_reset'")"
