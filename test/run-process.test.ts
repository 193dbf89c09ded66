import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../shared/paths.js';
import { createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { seedProjects } from './support/seed.js';
import { dropRedisPrefix } from './support/redis.js';
import { slackSink, until } from './support/sinks.js';
import { closeRuntime, openRuntime } from '../shared/jobs/runtime.js';
import { loadConfig } from '../shared/config.js';
import { notify } from '../shared/notify/outbox.js';

let db: TestDb & { grantApp(): Promise<void> };
const prefix = `sgtest-run-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedProjects(db.pool);
});
afterAll(async () => {
  await dropRedisPrefix(prefix);
  await db?.drop();
});

describe('shadowgate run', () => {
  it('SIGTERM in the middle of a job: the job in hand finishes, the process exits 0', async () => {
    const slack = await slackSink(0, 1500); // Slack takes 1.5 s to answer
    const env = { DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url, SHADOWGATE_REDIS_PREFIX: prefix };
    // a notification waiting in the queue before the workers start
    const cfg = loadConfig(env);
    const p = await openRuntime(cfg, { poolMax: 1 });
    await notify(p, 'test:sigterm', { subject: 's', text: 'sigterm test', blocks: [] });
    await closeRuntime(p);

    const child = spawn(process.execPath, [join(projectRoot(), 'dist/cli/main.js'), 'run', 'workers'], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await until(() => slack.requests === 1, 15_000).catch((e) => { child.kill('SIGKILL'); throw e; }); // the delivery is in flight
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 12_000))]);
    if (code === 'still running') child.kill('SIGKILL'); // never leave a daemon behind a failed test
    expect(code, out).toBe(0);
    expect(out).toContain('stopped');
    expect(slack.messages.map((m) => m.text)).toEqual(['sigterm test']);
    const { rows } = await db.pool.query(`SELECT status FROM shadowgate.notifications WHERE dedupe_key = 'test:sigterm'`);
    expect(rows[0].status).toBe('sent');
    await slack.close();
  });

  it('an unreachable Redis stops start-up with one line and exit 2', async () => {
    const r = await cli(['run'], { DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
  });

  it('a malformed webhook URL stops start-up with one line and exit 2', async () => {
    const r = await cli(['run'], { DATABASE_URL: db.url, SLACK_WEBHOOK_URL: 'hooks.slack.com/x' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('shadowgate: SLACK_WEBHOOK_URL is not a URL: "hooks.slack.com/x"');
  });

  it('an unknown part is bad input', async () => {
    const r = await cli(['run', 'everything'], { DATABASE_URL: db.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown part "everything"');
  });
});
