#!/usr/bin/env bash
# Throughput of no RLS vs enforcing vs shadow, simple and prepared protocol, three workloads.
# 800k rows over 8 tenants (blocks of 50 consecutive ids per tenant).
# Usage: bash bench/rls-overhead.sh [seconds] [clients]   (clients: pgbench connections, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-10}
C=${2:-2}
source bench/scratch.sh rls
psql "$URL" -v ON_ERROR_STOP=1 -v app="$APP" -q <<'SQL'
CREATE TABLE public.docs (id bigint PRIMARY KEY, project_id varchar(50) NOT NULL, v int NOT NULL);
INSERT INTO shadowgate.project_registry (project_id, name, access_level) SELECT 't'||i, 't'||i, 'isolated' FROM generate_series(0, 7) i;
INSERT INTO public.docs SELECT i, 't' || ((i / 50) % 8), i % 100 FROM generate_series(1, 800000) i;
CREATE INDEX ON public.docs (project_id, id);
CREATE TABLE public.plain AS SELECT * FROM public.docs;
ALTER TABLE public.plain ADD PRIMARY KEY (id); CREATE INDEX ON public.plain (project_id, id);
SELECT shadowgate.protect('public.docs');
SELECT shadowgate.grant_app(:'app');
GRANT SELECT ON public.plain TO :"app";
VACUUM ANALYZE;
SQL
# w0: 0 denied rows (the tenant's own 50 rows); w1: 399 own rows + 1 of another tenant; w87: 400 rows, 350 of others
q_w0="SELECT sum(v) FROM TBL WHERE project_id = 't3' AND id BETWEEN :a AND :a + 399"
q_w1="SELECT sum(v) FROM TBL WHERE (project_id = 't3' AND id BETWEEN :a AND :a + 3199) OR id = 1"
q_w87="SELECT sum(v) FROM TBL WHERE id BETWEEN :a AND :a + 399"
for w in w0 w1 w87; do
  q_var="q_$w"; q=${!q_var}
  printf '\\set a random(1000, 790000)\nBEGIN;\nSELECT shadowgate.set_project_context('"'"'t3'"'"');\n%s;\nCOMMIT;\n' "${q//TBL/docs}" > "$dir/$w.sql"
  printf '\\set a random(1000, 790000)\nBEGIN;\n%s;\nCOMMIT;\n' "${q//TBL/plain}" > "$dir/$w-plain.sql"
done
tps() { "$PB" -h 127.0.0.1 -U "$APP" -n -c "$C" -j "$C" -T "$T" -M "$1" -f "$2" "$DB" 2>/dev/null | awk '/^tps/ {print int($3)}'; }
echo "workload protocol norls enforcing shadow shadow/enforcing"
for w in w0 w1 w87; do
  for m in simple prepared; do
    n=$(tps "$m" "$dir/$w-plain.sql")
    psql "$URL" -qc "UPDATE shadowgate.rls_migration_status SET migration_phase = 'enforcing'"
    e=$(tps "$m" "$dir/$w.sql")
    psql "$URL" -qc "UPDATE shadowgate.rls_migration_status SET migration_phase = 'shadow'"
    s=$(tps "$m" "$dir/$w.sql")
    echo "$w $m $n $e $s $(awk "BEGIN {printf \"%.2f\", $s / $e}")"
  done
done

# Counting: set_project_context() against a copy without the counter (same lookup, no nextval)
psql "$URL" -v ON_ERROR_STOP=1 -v app="$APP" -q <<'SQL'
CREATE FUNCTION public.context_without_counting(p_project text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
    ignored text;
BEGIN
    ignored := set_config('shadowgate.project_id', coalesce(p_project, ''), true);
    SELECT seq_no INTO n FROM shadowgate.project_registry WHERE project_id = p_project;
    RETURN p_project;
END $$;
GRANT EXECUTE ON FUNCTION public.context_without_counting(text) TO :"app";
UPDATE shadowgate.rls_migration_status SET migration_phase = 'shadow';
SQL
sed 's/shadowgate.set_project_context/public.context_without_counting/' "$dir/w0.sql" > "$dir/w0-nocount.sql"
echo
echo "counting (w0, shadow) protocol without counting with counting ratio"
for m in simple prepared; do
  a=0; b=0
  for i in 1 2 3; do a=$(( a + $(tps "$m" "$dir/w0-nocount.sql") )); b=$(( b + $(tps "$m" "$dir/w0.sql") )); done
  echo "w0 $m $(( a / 3 )) $(( b / 3 )) $(awk "BEGIN {printf \"%.3f\", $b / $a}")"
done
