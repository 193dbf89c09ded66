// `node dist/bench/report-speed.js [rows]`: `report --json`'s database work vs the seed's COUNT(*)
// queries, side by side on the same data (default 10M audit rows over 8 projects).
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createScratchDb, dropScratchDb } from '../fixtures/scratch-db.js';
import { SEED_PROJECTS } from '../fixtures/seed.js';
import { createPool } from '../shared/db/pool.js';
import { addProject } from '../shared/db/projects.js';
import { protectTable } from '../shared/db/protection.js';
import { absorbAudit } from '../shared/db/intake.js';
import { absorbAndLoadStats } from '../shared/db/stats.js';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const ADMIN = process.env.ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
// names of this run only, removed at the end
const RUN = randomBytes(4).toString('hex');
const DB = `sg_bench_report_${RUN}`;
const ROLE = `sg_bench_report_app_${RUN}`;
const PROJECTS = SEED_PROJECTS.map(([id]) => id);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
async function time(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

const { url } = await createScratchDb(ADMIN, DB, ROLE);
const pool = createPool(url, 2);
for (const p of PROJECTS) await addProject(pool, { projectId: p, accessLevel: 'isolated' });
for (const p of PROJECTS) {
  await pool.query(`SELECT shadowgate.set_phase($1, 'shadow', now() - interval '10 days', 'bench', NULL, false)`, [p]);
}
await pool.query(`CREATE TABLE ${[0, 1, 2, 3, 4].map((i) => `public.t${i} (project_id text)`).join('; CREATE TABLE ')}`);
for (let i = 0; i < 5; i++) await protectTable(pool, `public.t${i}`);
let t = performance.now();
// 98% of the rows: allowed accesses, spread over 10 days, 8 projects, 5 tables (the seed's audit log
// records those too; only its COUNT(*) queries read them)
await pool.query(
  `INSERT INTO shadowgate.rls_audit_log (logged_at, project_id, table_name, operation, row_project_id, would_be_denied, row_count)
   SELECT now() - (i % 864000) * interval '1 second', p[1 + i % 8], 'public.t' || (i % 5), 'SELECT', p[1 + (i / 8) % 8], false, 1
     FROM generate_series(1, $1) i, (SELECT $2::text[] AS p) x WHERE i % 50 <> 0`, [ROWS, PROJECTS]);
// 2%: would-be denials, arriving the way the policies deliver them (one inbox row per transaction)
await pool.query(
  `INSERT INTO shadowgate.audit_inbox (txid, logged_at, context_project_id, user_name, session_id, keys, counts)
   SELECT i, now() - (i % 864000) * interval '1 second', p[1 + i % 8], 'app', 'bench',
          ARRAY['shadowgate.n' || (1 + i % 5) || 'rx_x' || encode(convert_to(p[1 + (i / 8) % 8], 'UTF8'), 'hex')], '{1}'
     FROM generate_series(1, $1) i, (SELECT $2::text[] AS p) x WHERE i % 50 = 0`, [ROWS, PROJECTS]);
console.log(`loaded ${ROWS} audit rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
t = performance.now();
await absorbAudit(pool);
console.log(`absorbed the inbox into the audit log and the counters in ${((performance.now() - t) / 1000).toFixed(1)} s (once, as rows arrive in production)`);
// what autovacuum does within a minute in production (the emptied inbox's dead rows would slow every drain)
await pool.query('VACUUM shadowgate.audit_inbox');

const ours = await time(async () => {
  await absorbAndLoadStats(pool); // as in `report`: an absorb with nothing to take, then the stats
}, 20);
const seed = await time(async () => {
  for (const p of PROJECTS) {
    await pool.query(`SELECT EXTRACT(DAY FROM (NOW() - updated_at)) AS shadow_days FROM shadowgate.rls_migration_status WHERE project_id = $1 AND migration_phase = 'shadow'`, [p]);
    await pool.query(`SELECT COUNT(*) AS violation_count FROM shadowgate.rls_audit_log WHERE project_id = $1 AND would_be_denied = TRUE`, [p]);
    await pool.query(`SELECT COUNT(*) AS transaction_estimate FROM shadowgate.rls_audit_log WHERE project_id = $1 AND logged_at >= (SELECT updated_at FROM shadowgate.rls_migration_status WHERE project_id = $1)`, [p]);
  }
}, 3);
console.log(`report (absorb + stats): median ${ours.toFixed(1)} ms over 20 runs`);
console.log(`seed COUNT(*) queries:   median ${seed.toFixed(0)} ms over 3 runs`);
console.log(`ratio: ${(seed / ours).toFixed(0)}x`);
await pool.end();
await dropScratchDb(ADMIN, DB, ROLE);
