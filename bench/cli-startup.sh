#!/usr/bin/env bash
# CLI startup: `--help` and `status` with node, and `npx shadowgate --help` as an application runs
# it (a scratch application directory whose node_modules/.bin/shadowgate links this build), against
# a scratch database of this run (8 projects). Medians of RUNS runs per round (hyperfine), ROUNDS
# rounds, every other round in the reverse order so that the load of a shared machine falls on all
# commands alike. npx's own cost in the same rounds: `npx semver --help` against the same bin run
# directly (semver: a small bin of a production dependency), `npx --version` (npm's start-up), and
# `npx shadowgate --help` inside this checkout (npm exec then packs the project itself first).
# Usage: bash bench/cli-startup.sh [RUNS] [ROUNDS]     needs: hyperfine (apt-get install -y hyperfine)
# BASELINE=/path/to/another/built/checkout adds its `--help` and `status` to the same rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
rounds=${2:-3}
command -v hyperfine >/dev/null || { echo "bench/cli-startup.sh: needs hyperfine: apt-get install -y hyperfine" >&2; exit 2; }
[ -x node_modules/.bin/semver ] || { echo "bench/cli-startup.sh: needs node_modules/.bin/semver (npm ci)" >&2; exit 2; }
npm run build --silent

admin=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db="sg_bench_cli_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"   # this run's own, dropped at exit
root=$PWD
out=$(mktemp -d)
app=$(mktemp -d)
trap 'psql -qX "$admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; rm -rf "$out" "$app"' EXIT
psql -qX "$admin" -c "CREATE DATABASE \"$db\"" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" NO_COLOR=1
node dist/cli/main.js db migrate >/dev/null
for p in sm motoko ab aa bap echo ea io; do node dist/cli/main.js project add "$p" --access isolated >/dev/null; done

# an application that depends on shadowgate, as npm links it: node_modules/.bin/<bin> -> the package's bin
mkdir -p "$app/node_modules/.bin"
echo '{ "name": "sg-bench-app", "version": "1.0.0", "private": true }' > "$app/package.json"
ln -s "$root/dist/cli/main.js" "$app/node_modules/.bin/shadowgate"
ln -s "$root/node_modules/semver/bin/semver.js" "$app/node_modules/.bin/semver"
cmds=(
  'node -e 0' 'node -e 0'
  'node --help' "node $root/dist/cli/main.js --help"
  'node status' "node $root/dist/cli/main.js status"
  'bin --help (node_modules/.bin/shadowgate)' 'node_modules/.bin/shadowgate --help'
  'npx --help (from the application)' 'npx shadowgate --help'
  'npx semver --help (npx, a small bin)' 'npx semver --help'
  'bin semver --help (the same bin, no npx)' 'node_modules/.bin/semver --help'
  'npx --version (npm start-up)' 'npx --version'
)
[ -n "${BASELINE:-}" ] && cmds+=('baseline --help' "node $BASELINE/dist/cli/main.js --help" 'baseline status' "node $BASELINE/dist/cli/main.js status")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  args=()
  for ((i = 0; i < ${#cmds[@]}; i += 2)); do
    if (( r % 2 )); then args+=(-n "${cmds[i]}" "${cmds[i+1]}"); else args=(-n "${cmds[i]}" "${cmds[i+1]}" "${args[@]}"); fi
  done
  (cd "$app" && hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$out/$r-app.json" "${args[@]}" >/dev/null)
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$out/$r-root.json" -n 'npx --help (inside this checkout)' 'npx shadowgate --help' >/dev/null
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
node -e '
const fs = require("fs"); const dir = process.argv[1];
const rows = {};
for (const f of fs.readdirSync(dir).sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b))) for (const r of JSON.parse(fs.readFileSync(`${dir}/${f}`)).results) {
  const x = (rows[r.command] ??= { wall: [], cpu: [] });
  x.wall.push(r.median * 1000); x.cpu.push((r.user + r.system) * 1000);
}
const ms = (a) => a.map((v) => v.toFixed(0)).join(" / ");
console.log("| command | wall, median of " + process.argv[2] + " runs, per round (ms) | CPU user+sys, mean (ms) |"); console.log("|---|---|---|");
for (const [c, x] of Object.entries(rows)) console.log(`| ${c} | ${ms(x.wall)} | ${ms(x.cpu)} |`);
// per round: what npx adds to a bin (npx semver minus the same bin run directly)
const npx = rows["npx semver --help (npx, a small bin)"], bin = rows["bin semver --help (the same bin, no npx)"];
const added = (k) => npx[k].map((v, i) => v - bin[k][i]);
console.log(`\nnpx adds to a bin, per round: wall ${ms(added("wall"))} ms, CPU ${ms(added("cpu"))} ms`);
' "$out" "$runs"
