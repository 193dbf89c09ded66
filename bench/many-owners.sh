#!/usr/bin/env bash
# One shadow statement over many distinct row owners, against the same statement in pending (which
# returns the same rows, unrecorded); and one session that sees 100,000 distinct owners over its
# life. See bench/README.md ("Many owners").
# Usage: bash bench/many-owners.sh [owners per statement] [pairs]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
PAIRS=${2:-3}
source bench/scratch.sh owners
# 100,000 rows, each of its own owner o1..o100000 (none registered: read by t, each is a finding)
psql "$URL" -v ON_ERROR_STOP=1 -q <<SQL
INSERT INTO shadowgate.project_registry (project_id, name, access_level) VALUES ('t', 't', 'isolated');
CREATE TABLE public.docs (id bigint PRIMARY KEY, project_id text NOT NULL, v int NOT NULL);
INSERT INTO public.docs SELECT i, 'o' || i, i % 100 FROM generate_series(1, 100000) i;
SELECT shadowgate.protect('public.docs');
SELECT shadowgate.grant_app('$APP');
VACUUM ANALYZE;
SQL
printf 'BEGIN;\nSELECT shadowgate.set_project_context('"'t'"');\nSELECT sum(v) FROM docs WHERE id <= %s;\nCOMMIT;\n' "$N" > "$dir/stmt.sql"
phase() { psql "$URL" -qc "UPDATE shadowgate.rls_migration_status SET migration_phase = '$1'" -c "SELECT shadowgate.absorb_audit()" >/dev/null; }
latency() { "$PB" -h 127.0.0.1 -U "$APP" -n -c 1 -t 3 -f "$dir/$1" "$DB" 2>/dev/null | awk '/^latency average/ {print $4}'; }

echo "# $(date -u +%FT%TZ) owners per statement=$N load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "transaction (BEGIN, context, SELECT over $N owners, COMMIT), ms: pending shadow ratio"
for ((i = 0; i < PAIRS; i++)); do
  phase pending; p=$(latency stmt.sql)
  phase shadow; s=$(latency stmt.sql)
  echo "$p $s $(awk "BEGIN {printf \"%.1f\", $s / $p}")"
done
phase shadow
recorded=$(psql "$URL" -Atc "SELECT count(DISTINCT row_project_id) FROM shadowgate.rls_audit_log")
echo "owners recorded (last transactions): $recorded"

# one session, five statements of 20,000 new owners each (100,000 over the session), in shadow
{
  echo '\timing on'
  for k in 0 1 2 3 4; do
    printf 'BEGIN;\nSELECT shadowgate.set_project_context('"'t'"');\nSELECT sum(v) FROM docs WHERE id > %s AND id <= %s;\nCOMMIT;\n' $((k * 20000)) $(((k + 1) * 20000))
  done
  echo '\timing on'
  printf 'BEGIN;\nSELECT shadowgate.set_project_context('"'t'"');\nSELECT sum(v) FROM docs WHERE id <= 20000;\nCOMMIT;\n'
} > "$dir/session.sql"
echo "one session, 20,000 new owners per statement, ms per transaction (SELECT + COMMIT; the last repeats the first owners):"
psql "postgres://$APP@127.0.0.1:5432/$DB" -q -f "$dir/session.sql" | awk '/^Time:/ {t[++n] = $2} END {for (i = 3; i <= n; i += 4) printf "%.0f ", t[i] + t[i + 1]; print ""}'
