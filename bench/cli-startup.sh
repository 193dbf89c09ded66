#!/usr/bin/env bash
# CLI startup: `--help` and `status` with node, `npx shadowgate --help`, against a scratch database
# of this run (8 projects). Medians of RUNS runs (hyperfine, commands interleaved per round so that
# the load of a shared machine falls on all of them alike), ROUNDS rounds.
# Usage: bash bench/cli-startup.sh [RUNS] [ROUNDS]     needs: hyperfine (apt-get install -y hyperfine)
# BASELINE=/path/to/another/built/checkout adds its `--help` and `status` to the same rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
rounds=${2:-3}
command -v hyperfine >/dev/null || { echo "bench/cli-startup.sh: needs hyperfine: apt-get install -y hyperfine" >&2; exit 2; }
npm run build --silent

admin=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db="sg_bench_cli_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
psql -qX "$admin" -c "CREATE DATABASE \"$db\"" >/dev/null
trap 'psql -qX "$admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null' EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" NO_COLOR=1
node dist/cli/main.js db migrate >/dev/null
for p in sm motoko ab aa bap echo ea io; do node dist/cli/main.js project add "$p" --access isolated >/dev/null; done

out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$out/$r.json" \
    -n 'node -e 0' 'node -e 0' \
    -n 'node --help' 'node dist/cli/main.js --help' \
    -n 'node status' 'node dist/cli/main.js status' \
    -n 'npx --help' 'npx shadowgate --help' \
    -n 'npx itself (npx --version)' 'npx --version' \
    ${BASELINE:+-n 'baseline --help' "node $BASELINE/dist/cli/main.js --help" -n 'baseline status' "node $BASELINE/dist/cli/main.js status"} >/dev/null
done
node -e '
const fs = require("fs"); const dir = process.argv[1];
const rows = {};
for (const f of fs.readdirSync(dir).sort()) for (const r of JSON.parse(fs.readFileSync(`${dir}/${f}`)).results) {
  const x = (rows[r.command] ??= { wall: [], cpu: [] });
  x.wall.push(r.median * 1000); x.cpu.push((r.user + r.system) * 1000);
}
const ms = (a) => a.map((v) => v.toFixed(0)).join(" / ");
console.log("| command | wall, median of " + process.argv[2] + " runs, per round (ms) | CPU user+sys, mean (ms) |"); console.log("|---|---|---|");
for (const [c, x] of Object.entries(rows)) console.log(`| ${c} | ${ms(x.wall)} | ${ms(x.cpu)} |`);
' "$out" "$runs"
rm -rf "$out"
