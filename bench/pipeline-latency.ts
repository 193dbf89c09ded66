// `node dist/bench/pipeline-latency.js [seconds]`: would-be denial committed -> Slack request received,
// end to end through `shadowgate run` (a child process), with the load generator and a local Slack
// HTTP server in this process. PER_TXN violations per transaction, over OWNERS row owners (so OWNERS
// fingerprints); SHADOWGATE_VIOLATION_WINDOW_SECONDS=0 makes every producer batch announce what it
// saw, each fingerprint with its running count. Violation k of an owner is received when the first
// message names that owner with a count >= k.
// OUTAGE=1: Slack refuses (503) while the load runs and takes everything after it: "drained after
// end" is then the time from Slack's recovery to the last violation reported, and drain/s the
// backlog over that time (retries capped at SHADOWGATE_RETRY_MAX_MS=1000 in the pipeline).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createScratchDb, dropScratchDb } from '../fixtures/scratch-db.js';
import { createPool } from '../shared/db/pool.js';
import { addProject } from '../shared/db/projects.js';
import { grantApp, protectTable } from '../shared/db/protection.js';
import { loadConfig } from '../shared/config.js';
import { connectRedis } from '../shared/jobs/runtime.js';
import { projectRoot } from '../shared/paths.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const SECONDS = Number(process.argv[2] ?? 10);
const RATES = (process.env.RATES ?? "100,1000,5000").split(",").map(Number);
const PER_TXN = Number(process.env.PER_TXN ?? 10);
const OUTAGE = process.env.OUTAGE === '1';
const OWNERS = 100;
const CONNECTIONS = 8;
const ADMIN = process.env.ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
// names of this run only (database, role, Redis prefix), removed at the end
const RUN = randomBytes(4).toString('hex');
const DB = `sg_bench_pipeline_${RUN}`;
const ROLE = `sg_bench_pipeline_app_${RUN}`;

const { url, appUrl } = await createScratchDb(ADMIN, DB, ROLE);
const pool = createPool(url, 2);
await addProject(pool, { projectId: 'sm', accessLevel: 'isolated' });
await pool.query(`SELECT shadowgate.set_phase('sm', 'shadow', now(), 'bench', NULL, false)`);
await pool.query('CREATE TABLE public.items (id bigserial PRIMARY KEY, project_id text NOT NULL)');
await protectTable(pool, 'public.items');
await grantApp(pool, ROLE);

// the Slack stand-in: receipt times of (owner, running count); refuses while `refusing`
const receipts = new Map<string, Array<[number, number]>>();
let refusing = false;
let requests = 0;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    requests += 1;
    if (refusing) return void res.writeHead(503).end('unavailable');
    const t = performance.now();
    for (const [, owner = '', count] of (JSON.parse(body).text as string).matchAll(/owner (o\d+): (\d+) row access/g)) {
      const list = receipts.get(owner) ?? [];
      list.push([Number(count), t]);
      receipts.set(owner, list);
    }
    res.writeHead(200).end('ok');
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const slackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack`;
/** when the k-th violation (1-based) of an owner was first reported, or undefined */
const reportedAt = (owner: string, k: number) => receipts.get(owner)?.find(([count]) => count >= k)?.[1];

const prefix = `shadowgate-bench-${RUN}`;
const child = spawn(process.execPath, [join(projectRoot(), 'dist/cli/main.js'), 'run'], {
  env: { ...process.env, DATABASE_URL: url, SLACK_WEBHOOK_URL: slackUrl, SHADOWGATE_REDIS_PREFIX: prefix, SHADOWGATE_VIOLATION_WINDOW_SECONDS: '0', SHADOWGATE_RETRY_MAX_MS: '1000' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((r) => child.stdout!.on('data', (d) => String(d).includes('running') && r()));

const app = createPool(appUrl, CONNECTIONS);
let next = 0;
const seenCount = new Map<string, number>();
const pct = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN;
console.log(`violations/s  committed  reported  lost  p50 ms  p95 ms  p99 ms  achieved/s  drained after end (ms)  drain/s${OUTAGE ? '  (Slack refused during the load)' : ''}`);
for (const rate of RATES) {
  const committed: Array<[string, number, number]> = []; // owner, k, commit time
  const txnRate = rate / PER_TXN;
  refusing = OUTAGE;
  const start = performance.now();
  const total = Math.round(txnRate * SECONDS);
  let issued = 0;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    const c = await app.connect();
    for (;;) {
      const i = issued++;
      if (i >= total) break;
      const due = start + (i / txnRate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const owners = Array.from({ length: PER_TXN }, () => `o${next++ % OWNERS}`);
      // owners are generated here (o<digits>): a literal list is safe, and one round trip per transaction
      await c.query(`BEGIN; SELECT shadowgate.set_project_context('sm'); INSERT INTO items (project_id) VALUES ${owners.map((o) => `('${o}')`).join(', ')}; COMMIT`);
      const t = performance.now();
      for (const o of owners) {
        const k = (seenCount.get(o) ?? 0) + 1;
        seenCount.set(o, k);
        committed.push([o, k, t]);
      }
    }
    c.release();
  }));
  const end = performance.now();
  refusing = false;
  const deadline = end + 30_000;
  while (performance.now() < deadline && committed.some(([o, k]) => reportedAt(o, k) === undefined)) await new Promise((r) => setTimeout(r, 50));
  const got = committed.map(([o, k, t]) => [reportedAt(o, k), t] as const).filter(([r]) => r !== undefined) as Array<readonly [number, number]>;
  const lat = got.map(([r, t]) => r - t).sort((a, b) => a - b);
  const lastReceipt = Math.max(...got.map(([r]) => r));
  console.log([rate, committed.length, lat.length, committed.length - lat.length, pct(lat, 0.5).toFixed(0), pct(lat, 0.95).toFixed(0), pct(lat, 0.99).toFixed(0),
    Math.round(committed.length / ((end - start) / 1000)), Math.max(0, lastReceipt - end).toFixed(0),
    Math.round(committed.length / (Math.max(1, lastReceipt - end) / 1000))].map(String).map((s) => s.padStart(8)).join(' '));
}
child.kill('SIGTERM');
await new Promise((r) => child.on('close', r));
await app.end();
await pool.end();
server.close();
const redis = await connectRedis(loadConfig().redisUrl);
const keys = await redis.keys(`${prefix}:*`);
if (keys.length) await redis.del(...keys);
redis.disconnect();
await dropScratchDb(ADMIN, DB, ROLE);
console.log(`Slack requests: ${requests}`);
process.exit(0);
