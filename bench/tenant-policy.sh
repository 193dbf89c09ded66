#!/usr/bin/env bash
# shadowgate in every phase against a hand-written tenant policy (the anchor), same data, same
# transactions, one run. See bench/README.md ("Against a hand-written tenant policy").
# Usage: bash bench/tenant-policy.sh [seconds per run] [clients] [rounds] [workloads...]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-4}
C=${2:-2}
ROUNDS=${3:-3}
shift 3 2>/dev/null || shift $#
WORKLOADS=${*:-own400 rls3200 update1 read40update1 foreign1 foreign87}
CONFIGS=${CONFIGS:-norls pending enforcing complete shadow mixed}
source bench/scratch.sh policy
# 800k rows, 8 tenants t0..t7 in blocks of 50 consecutive ids; three tables with the same rows:
# docs (shadowgate), anchor (hand-written policy), plain (no RLS)
psql "$URL" -v ON_ERROR_STOP=1 -q <<SQL
INSERT INTO shadowgate.project_registry (project_id, name, access_level) SELECT 't'||i, 't'||i, 'isolated' FROM generate_series(0, 7) i;
CREATE TABLE public.docs (id bigint PRIMARY KEY, project_id varchar(50) NOT NULL, v int NOT NULL);
INSERT INTO public.docs SELECT i, 't' || ((i / 50) % 8), i % 100 FROM generate_series(1, 800000) i;
CREATE INDEX ON public.docs (project_id, id);
CREATE TABLE public.anchor (LIKE public.docs INCLUDING ALL);
INSERT INTO public.anchor SELECT * FROM public.docs;
CREATE TABLE public.plain (LIKE public.docs INCLUDING ALL);
INSERT INTO public.plain SELECT * FROM public.docs;
ALTER TABLE public.anchor ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON public.anchor USING (project_id = current_setting('app.project_id', true));
SELECT shadowgate.protect('public.docs');
SELECT shadowgate.grant_app('$APP');
GRANT SELECT, UPDATE ON public.anchor, public.plain TO $APP;
VACUUM ANALYZE;
SQL

# Workloads, as tenant t3 (own rows: id / 50 % 8 = 3). Each transaction: BEGIN, the context, the
# workload, COMMIT.
#   own400        its 400 rows in a range of 3,200 ids, with an explicit tenant filter (0 foreign)
#   rls3200       the same range relying on RLS to filter (shadow: 2,800 foreign rows seen)
#   update1       one own row updated by id
#   read40update1 40 own rows read by id range (RLS filter), then one of them updated
#   foreign1      own400 plus one row of t0 (id 1): one foreign row per query
#   foreign87     a range of 400 ids: 350 rows (87%) of other tenants
header='\set a random(1000, 790000)
\set k random(0, 1999)
\set r random(0, 39)
\set own 50 * (8 * :k + 3)
\set one :own + :r'
declare -A Q
Q[own400]="SELECT sum(v) FROM TBL WHERE project_id = 't3' AND id BETWEEN :a AND :a + 3199;"
Q[rls3200]="SELECT sum(v) FROM TBL WHERE id BETWEEN :a AND :a + 3199;"
Q[update1]="UPDATE TBL SET v = v + 1 WHERE id = :one;"
Q[read40update1]="SELECT sum(v) FROM TBL WHERE id BETWEEN :own AND :own + 39;
UPDATE TBL SET v = v + 1 WHERE id = :one;"
Q[foreign1]="SELECT sum(v) FROM TBL WHERE (project_id = 't3' AND id BETWEEN :a AND :a + 3199) OR id = 1;"
Q[foreign87]="SELECT sum(v) FROM TBL WHERE id BETWEEN :a AND :a + 399;"
for w in $WORKLOADS; do
  printf '%s\nBEGIN;\nSELECT set_config('"'app.project_id', 't3'"', true);\n%s\nCOMMIT;\n' "$header" "${Q[$w]//TBL/anchor}" > "$dir/$w-anchor.sql"
  printf '%s\nBEGIN;\nSELECT shadowgate.set_project_context('"'t3'"');\n%s\nCOMMIT;\n' "$header" "${Q[$w]//TBL/docs}" > "$dir/$w-docs.sql"
  printf '%s\nBEGIN;\nSELECT set_config('"'app.project_id', 't3'"', true);\n%s\nCOMMIT;\n' "$header" "${Q[$w]//TBL/plain}" > "$dir/$w-plain.sql"
done

# mixed: t5 in shadow, every other tenant (t3 included) enforcing; shadow-unobserved: shadow
# without the coverage observation arm (CONFIGS="shadow shadow-unobserved" alternates them)
phase() {
  case $1 in
    pending|enforcing|complete|shadow) psql "$URL" -qc "UPDATE shadowgate.rls_migration_status SET migration_phase = '$1'" ;;
    mixed) psql "$URL" -qc "UPDATE shadowgate.rls_migration_status SET migration_phase = CASE project_id WHEN 't5' THEN 'shadow' ELSE 'enforcing' END::shadowgate.migration_phase_enum" ;;
    # shadow without the coverage observation arm (sql/migrations/008_coverage.sql): the policies
    # generated with with_observation() as the identity, then the function put back as it was
    shadow-unobserved) psql "$URL" -v ON_ERROR_STOP=1 -qc "DO \$do\$ DECLARE def text := pg_get_functiondef('shadowgate.with_observation(integer,text,text[],text)'::regprocedure); BEGIN
      EXECUTE 'CREATE OR REPLACE FUNCTION shadowgate.with_observation(tid integer, op text, shadow text[], rule text) RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS \$f\$ SELECT rule \$f\$';
      UPDATE shadowgate.rls_migration_status SET migration_phase = 'shadow';
      EXECUTE def; END \$do\$" ;;
  esac
  # empty what shadow recorded so that the inbox does not grow over the run
  psql "$URL" -qc "SELECT shadowgate.absorb_audit()" >/dev/null
}
# One pgbench run executes the anchor's transactions and the measured configuration's, randomly
# interleaved on the same connections (two scripts of weight 1), so both see the same moment of a
# shared machine; the ratio is anchor latency / configuration latency (= throughput ratio).
ratio() { # protocol anchor-script other-script
  "$PB" -h 127.0.0.1 -U "$APP" -n -c "$C" -j "$C" -T "$T" -M "$1" -f "$2@1" -f "$3@1" "$DB" 2>/dev/null |
    awk '/^ - latency average/ {l[++n] = $5} /^tps/ {t = $3} END {if (n == 2 && l[2] > 0) printf "%.3f %d\n", l[1] / l[2], t / 2; else print "failed 0"}'
}

echo "# $(date -u +%FT%TZ) T=$T clients=$C rounds=$ROUNDS load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "workload protocol config ratios (one per run) | median min max | anchor tps (mean)"
for w in $WORKLOADS; do
  for m in simple prepared; do
    declare -A R=() A=()
    for ((i = 0; i < ROUNDS; i++)); do
      for c in $CONFIGS; do
        if [ "$c" = norls ]; then other="$dir/$w-plain.sql"; else phase "$c"; other="$dir/$w-docs.sql"; fi
        read -r r a < <(ratio "$m" "$dir/$w-anchor.sql" "$other")
        R[$c]="${R[$c]:-} $r"; A[$c]=$(( ${A[$c]:-0} + a ))
      done
    done
    for c in $CONFIGS; do
      stats=$(echo "${R[$c]}" | tr ' ' '\n' | awk 'NF' | sort -n | awk '{v[NR] = $1} END {printf "%s %s %s", (NR % 2 ? v[(NR + 1) / 2] : sprintf("%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2)), v[1], v[NR]}')
      echo "$w $m $c${R[$c]} | $stats | $(( A[$c] / ROUNDS ))"
    done
  done
done
