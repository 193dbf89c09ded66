#!/usr/bin/env node
// `npm run demo`: a whole rollout of the seed's eight projects on an accelerated clock, against the
// local PostgreSQL and Redis, with local Slack and SMTP sinks unless real ones are configured.
import { DAY, ManualClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { classifyError, EXIT } from '../shared/errors.js';
import { createPool } from '../shared/db/pool.js';
import { grantApp, protectTable } from '../shared/db/protection.js';
import { permit } from '../shared/db/projects.js';
import { absorbAudit } from '../shared/db/intake.js';
import { absorbAndLoadStats } from '../shared/db/stats.js';
import { fingerprints, review } from '../shared/db/violations.js';
import { openTimers } from '../shared/db/timers.js';
import { changePhase } from '../shared/db/phase-change.js';
import { closeRuntime, connectRedis, openRuntime } from '../shared/jobs/runtime.js';
import { wakeDueTimers } from '../shared/jobs/timers.js';
import { buildReport } from '../shared/domain/report.js';
import { startPipeline } from './commands/run.js';
import { reportMarkdown } from './commands/report.js';
import { slackSink, smtpSink } from './demo-sinks.js';
import { bold, gray, ok } from './output.js';
import { asAdmin, createScratchDb } from '../fixtures/scratch-db.js';
import { SEED_PROJECTS, seedProjects } from '../fixtures/seed.js';
import { transactions } from '../fixtures/traffic.js';

const DB = 'shadowgate_demo';
const APP_ROLE = 'shadowgate_demo_app';
const say = (s: string) => console.log(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const base = loadConfig({ ...process.env, DATABASE_URL: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres' });
  try {
    await asAdmin(base.databaseUrl, async () => undefined);
  } catch (err) {
    console.error(`shadowgate demo: PostgreSQL is not reachable at ${base.databaseUrl} (${(err as Error).message}); start it with \`docker compose up -d\` or your OS packages, or set DATABASE_URL`);
    return 2;
  }
  try {
    (await connectRedis(base.redisUrl)).disconnect();
  } catch {
    console.error(`shadowgate demo: Redis is not reachable at ${base.redisUrl}; start it with \`docker compose up -d\` or your OS packages, or set REDIS_URL`);
    return 2;
  }
  const { url, appUrl } = await createScratchDb(base.databaseUrl, DB, APP_ROLE);

  const slack = base.slackWebhookUrl ? undefined : await slackSink();
  const smtp = base.smtpUrl ? undefined : await smtpSink();
  const prefix = `shadowgate-demo-${process.pid}`;
  const cfg = loadConfig({
    ...process.env, DATABASE_URL: url, SHADOWGATE_REDIS_PREFIX: prefix,
    SLACK_WEBHOOK_URL: base.slackWebhookUrl ?? slack!.url, SMTP_URL: base.smtpUrl ?? smtp!.url,
    DEVOPS_EMAIL: process.env.DEVOPS_EMAIL || 'devops@example.com', SHADOWGATE_RETRY_BASE_MS: '200',
  });
  say(bold(`shadowgate demo: database ${DB} on ${new URL(url).host}, Redis ${cfg.redisUrl} (prefix ${prefix})`));
  say(gray(`Slack -> ${base.slackWebhookUrl ? 'SLACK_WEBHOOK_URL' : `local sink ${slack!.url}`}; email -> ${base.smtpUrl ? 'SMTP_URL' : `local SMTP sink ${smtp!.url}`}`));

  const clock = new ManualClock(new Date(Date.now() - 60 * DAY));
  const p = await openRuntime(cfg, { clock });
  const { pool } = p;
  const app = createPool(appUrl, 4);
  await pool.query(`CREATE TABLE public.memories (id bigserial PRIMARY KEY, project_id varchar(50) NOT NULL, body text NOT NULL)`);
  await seedProjects(pool, [], { actor: 'demo', at: clock.now() });
  await pool.query(`INSERT INTO public.memories (project_id, body) SELECT p, 'note ' || i FROM unnest($1::text[]) p, generate_series(1, 50) i`, [SEED_PROJECTS.map(([id]) => id)]);
  await protectTable(pool, 'public.memories');
  await grantApp(pool, APP_ROLE);
  say(ok('schema installed, 8 projects registered, public.memories protected, application role granted'));

  const running = await startPipeline(p, 'all');
  say(ok('producers and workers running'));

  const seen = { slack: 0, mail: 0 };
  const showMessages = () => {
    for (const m of slack?.messages.slice(seen.slack) ?? []) {
      const lines = m.text.split('\n');
      say(`  ${gray('slack')} ${(lines[0] ?? '').slice(0, 160)}${lines.length > 2 ? gray(` (+${lines.length - 2} more lines)`) : ''}`);
    }
    for (const m of smtp?.mails.slice(seen.mail) ?? []) say(`  ${gray('email')} to ${m.to.join(', ')}: ${m.subject}`);
    seen.slack = slack?.messages.length ?? 0;
    seen.mail = smtp?.mails.length ?? 0;
  };
  const settle = async () => {
    for (let i = 0; i < 40; i++) {
      await sleep(100);
      const counts = await Promise.all(Object.values(p.queues).map((q) => q.getJobCounts('waiting', 'active')));
      if (counts.every((c) => c.waiting === 0 && c.active === 0) && i > 3) break;
    }
    showMessages();
  };
  const traffic = (project: string, n: number, sql = `SELECT count(*) FROM memories WHERE project_id = '${project}'`) => transactions(app, project, n, sql);
  const day = (n: number) => {
    clock.advance(n * DAY);
    say(bold(`\n== ${clock.now().toISOString().slice(0, 10)} (+${n}d)`));
  };
  const changePhaseTo = async (ids: string[], phase: string, reason?: string) => {
    try {
      for (const r of await changePhase(pool, cfg, { projectIds: ids, phase, at: clock.now(), actor: 'demo', reason })) {
        say(ok(`${r.projectId}: ${r.from} -> ${r.to}`));
      }
    } catch (err) {
      say(`  refused: ${(err as Error).message}`);
    }
  };
  const fix = async (project: string, resolution: 'code-fix' | 'acl-change', ref: string) => {
    await absorbAudit(pool);
    if (!(await fingerprints(pool, project)).some((f) => f.open_since)) return;
    // one root cause, every fingerprint it produced: one review, one clock reset
    const done = await review(pool, { selection: { projectId: project }, resolution, ref, actor: 'demo', at: clock.now() });
    say(ok(`reviewed fingerprints ${done.fingerprintIds.map((id) => `#${id}`).join(', ')} of ${project}: ${resolution} ${ref}; shadow clock restarts`));
  };

  say(bold('\n== batch 1: sm'));
  await changePhaseTo(['sm'], 'shadow');
  await traffic('sm', 1100);
  await settle();
  day(8);
  await changePhaseTo(['motoko'], 'shadow'); // refused: sm first
  await changePhaseTo(['sm'], 'enforcing');
  say(bold('\n== batch 2: motoko, with a cross-tenant bug'));
  await changePhaseTo(['motoko'], 'shadow');
  await traffic('motoko', 600);
  await traffic('motoko', 5, `SELECT count(*) FROM memories WHERE project_id IN ('motoko', 'ea')`);
  await settle();
  day(2);
  await fix('motoko', 'code-fix', 'https://git.example/motoko/pull/42');
  await traffic('motoko', 1100);
  await settle();
  day(8);
  await changePhaseTo(['motoko'], 'enforcing');
  say(bold('\n== batch 3: ab, aa, bap (shared)'));
  await changePhaseTo(['ab', 'aa', 'bap'], 'shadow');
  await traffic('ab', 1100);
  await traffic('bap', 1100);
  await traffic('aa', 1100, `SELECT count(*) FROM memories WHERE project_id IN ('aa', 'sm', 'bap')`);
  await settle();
  day(1);
  say('  aa legitimately reads bap: grant the permission (an ACL change resets aa\'s clock)');
  await permit(pool, 'aa', 'bap', { actor: 'demo', at: clock.now() });
  await fix('aa', 'acl-change', 'migration 2026_11_grant_aa_bap');
  await traffic('aa', 1100, `SELECT count(*) FROM memories WHERE project_id IN ('aa', 'sm', 'bap')`);
  await settle();
  day(2);
  say(gray(`  ${cfg.thresholds.investigationHours} hours: every fingerprint was reviewed in time, no escalation`));
  await wakeDueTimers(p, await openTimers(pool));
  await settle();
  day(6);
  await changePhaseTo(['ab'], 'enforcing');
  await changePhaseTo(['aa'], 'enforcing');
  say(gray('  bap is eligible but nobody promotes it...'));
  day(6);
  await wakeDueTimers(p, await openTimers(pool));
  await settle();
  day(6);
  await wakeDueTimers(p, await openTimers(pool));
  await settle();
  await changePhaseTo(['bap'], 'enforcing');
  say(bold('\n== batch 4: echo, ea (super)'));
  await changePhaseTo(['echo', 'ea'], 'shadow');
  await traffic('echo', 1000, `UPDATE memories SET body = body WHERE project_id = 'sm' AND id % 50 = 1`);
  await traffic('ea', 1000);
  await settle();
  day(2);
  say(gray(`  ${cfg.thresholds.investigationHours} hours later, echo's cross-tenant write is still not root-caused:`));
  await wakeDueTimers(p, await openTimers(pool));
  await settle();

  const report = buildReport(await absorbAndLoadStats(pool), cfg, clock.now());
  say(`\n${reportMarkdown(report)}`);

  await running.stop();
  await closeRuntime(p, { forgetQueues: true });
  await app.end();
  await slack?.close();
  await smtp?.close();
  say(ok(`done: ${slack ? `${slack.messages.length} Slack messages` : 'Slack messages sent'}, ${smtp ? `${smtp.mails.length} emails` : 'emails sent'}; database ${DB} kept for inspection (DATABASE_URL=${url} npx shadowgate report)`));
  return 0;
}

main().then((code) => process.exit(code), (err) => {
  const { exitCode, message } = classifyError(err);
  console.error(`shadowgate demo: ${message}`);
  if (exitCode === EXIT.software && process.env.DEBUG) console.error((err as Error).stack);
  process.exit(exitCode);
});
