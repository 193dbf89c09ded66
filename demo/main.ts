#!/usr/bin/env node
// `npm run demo`: a whole rollout of the seed's eight projects on an accelerated clock, against the
// local PostgreSQL and Redis, with local Slack and SMTP sinks unless real ones are configured.
// Every claim it prints is read from what happened; an expected outcome that did not happen (a
// message, a clock reset, a promotion, a refusal) is printed with ✗ and the demo exits 1.
// Its database, role and Redis prefix carry a run id of their own and are removed at the end
// (`npm run demo -- --keep` keeps the database for inspection).
import { randomBytes } from 'node:crypto';
import { withProject } from '../client/index.js';
import { DAY, ManualClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { classifyError, EXIT } from '../shared/errors.js';
import { asAdmin, createScratchDb, dropScratchDb } from '../fixtures/scratch-db.js';
import { SEED_PROJECTS, seedLeadSlack, seedProjects } from '../fixtures/seed.js';
import { createPool } from '../shared/db/pool.js';
import { grantApp, protectTable } from '../shared/db/protection.js';
import { permit } from '../shared/db/projects.js';
import { absorbAudit } from '../shared/db/intake.js';
import { absorbAndLoadStats } from '../shared/db/stats.js';
import { fingerprints, review } from '../shared/db/violations.js';
import { openTimers } from '../shared/db/timers.js';
import { notificationCounts } from '../shared/db/notifications.js';
import { changePhase } from '../shared/db/phase-change.js';
import { evaluateEligibility } from '../shared/domain/eligibility.js';
import { buildReport, reportMarkdown } from '../shared/domain/report.js';
import { closeRuntime, connectRedis, openRuntime } from '../shared/jobs/runtime.js';
import { wakeDueTimers } from '../shared/jobs/timers.js';
import { startPipeline } from '../cli/commands/run.js';
import { bold, gray, green, ok, red } from '../cli/output.js';
import { slackSink, smtpSink } from './sinks.js';

const say = (s: string) => console.log(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keep = process.argv.includes('--keep');

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
  // names of this run only: two demos (or a demo and the tests) on one server never meet
  const run = randomBytes(4).toString('hex');
  const DB = `shadowgate_demo_${run}`;
  const APP_ROLE = `shadowgate_demo_app_${run}`;
  const prefix = `shadowgate-demo-${run}`;
  const dropAll = async () => {
    if (!keep) await dropScratchDb(base.databaseUrl, DB, APP_ROLE);
  };
  const scratch = await createScratchDb(base.databaseUrl, DB, APP_ROLE).catch(async (err) => {
    await dropAll();
    throw err;
  });
  const url = new URL(scratch.url);
  const appUrl = new URL(scratch.appUrl);

  const slack = base.slackWebhookUrl ? undefined : await slackSink();
  const smtp = base.smtpUrl ? undefined : await smtpSink();
  const cfg = loadConfig({
    ...process.env, DATABASE_URL: url.toString(), SHADOWGATE_REDIS_PREFIX: prefix,
    SLACK_WEBHOOK_URL: base.slackWebhookUrl ?? slack!.url, SMTP_URL: base.smtpUrl ?? smtp!.url,
    DEVOPS_EMAIL: process.env.DEVOPS_EMAIL || 'devops@example.com', SHADOWGATE_RETRY_BASE_MS: '200',
    DASHBOARD_URL: process.env.DASHBOARD_URL || 'http://127.0.0.1:8080/',
  });
  say(bold(`shadowgate demo: database ${DB} on ${url.host}, Redis ${cfg.redisUrl} (prefix ${prefix})`));
  say(gray(`Slack -> ${base.slackWebhookUrl ? 'SLACK_WEBHOOK_URL' : `local sink ${slack!.url}`}; email -> ${base.smtpUrl ? 'SMTP_URL' : `local SMTP sink ${smtp!.url}`}`));

  const failures: string[] = [];
  /** A claim of the story, printed as what happened. */
  const check = (claim: string, held: boolean, otherwise = '') => {
    if (held) say(ok(claim));
    else {
      failures.push(claim);
      say(red(`✗ ${claim}${otherwise ? `: ${otherwise}` : ''}`));
    }
  };

  const clock = new ManualClock(new Date(Date.now() - 60 * DAY));
  const p = await (async () => {
    try {
      return await openRuntime(cfg, { clock });
    } catch (err) {
      await Promise.all([slack?.close(), smtp?.close()]);
      await dropAll();
      throw err;
    }
  })();
  const { pool } = p;
  const app = createPool(appUrl.toString(), 4);
  let running: Awaited<ReturnType<typeof startPipeline>> | undefined;
  try {
    await pool.query(`CREATE TABLE public.memories (id bigserial PRIMARY KEY, project_id varchar(50) NOT NULL, body text NOT NULL)`);
    await seedProjects(pool, [], { actor: 'demo', at: clock.now() });
    await pool.query(`INSERT INTO public.memories (project_id, body) SELECT p, 'note ' || i FROM unnest($1::text[]) p, generate_series(1, 50) i`, [SEED_PROJECTS.map(([id]) => id)]);
    await protectTable(pool, 'public.memories');
    await grantApp(pool, APP_ROLE);
    say(ok('schema installed, 8 projects registered, public.memories protected, application role granted'));
    running = await startPipeline(p, 'all');
    say(ok('producers and workers running'));

    // what reached people: the local sinks' messages (a real Slack or SMTP is not read back)
    const slackTexts = () => (slack?.messages ?? []).map((m) => m.text);
    const mails = () => smtp?.mails ?? [];
    const seen = { slack: 0, mail: 0 };
    const showMessages = () => {
      for (const t of slackTexts().slice(seen.slack)) {
        const lines = t.split('\n');
        say(`  ${gray('slack')} ${lines[0]!.slice(0, 160)}${lines.length > 2 ? gray(` (+${lines.length - 2} more lines)`) : ''}`);
      }
      for (const m of mails().slice(seen.mail)) say(`  ${gray('email')} to ${m.to.join(', ')}: ${m.subject}`);
      seen.slack = slackTexts().length;
      seen.mail = mails().length;
    };
    /** Waits until the queues are idle and every recorded notification was delivered (or 20 s). */
    const settle = async () => {
      const end = Date.now() + 20_000;
      let quiet = 0;
      while (Date.now() < end && quiet < 3) {
        await sleep(100);
        const counts = await Promise.all(Object.values(p.queues).map((q) => q.getJobCounts('waiting', 'active')));
        const idle = counts.every((c) => c.waiting === 0 && c.active === 0) && (await notificationCounts(pool)).every((c) => c.status !== 'pending' || c.n === 0);
        quiet = idle ? quiet + 1 : 0;
      }
      showMessages();
    };
    /** Waits (up to 20 s) for what the story expects to have happened; false when it never did. */
    const eventually = async (cond: () => boolean) => {
      const end = Date.now() + 20_000;
      while (Date.now() < end && !cond()) await sleep(50);
      showMessages();
      return cond();
    };
    const expectSlack = (test: (text: string) => boolean, from: number) => (slack ? eventually(() => slackTexts().slice(from).some(test)) : true);
    const traffic = async (project: string, n: number, sql = `SELECT count(*) FROM memories WHERE project_id = '${project}'`) => {
      const c = await app.connect(); // one session, as an application's pooled connection
      try {
        for (let i = 0; i < n; i++) await withProject(c, project, (tx) => tx.query(sql));
        await c.query('SELECT shadowgate.flush_recorder()'); // before the pool parks it: its last transactions counted now
      } finally {
        c.release();
      }
    };
    const day = (n: number) => {
      clock.advance(n * DAY);
      say(bold(`\n== ${clock.now().toISOString().slice(0, 10)} (+${n}d)`));
    };
    const stats = async (id: string) => (await absorbAndLoadStats(pool, [id]))[0]!;
    const eligibility = async (id: string) => evaluateEligibility(await stats(id), cfg.thresholds, clock.now(), cfg.calendar);
    const promote = async (ids: string[], phase: string) => {
      try {
        const results = await changePhase(pool, cfg, { projectIds: ids, phase, at: clock.now(), actor: 'demo' });
        for (const id of ids) {
          const r = results.find((x) => x.projectId === id);
          check(`${id}: ${r?.from} -> ${phase}`, r?.to === phase, 'not moved');
        }
      } catch (err) {
        check(`${ids.join(', ')} -> ${phase}`, false, `refused: ${(err as Error).message}`);
      }
    };
    const refused = async (ids: string[], phase: string, why: string) => {
      try {
        await changePhase(pool, cfg, { projectIds: ids, phase, at: clock.now(), actor: 'demo' });
        check(`${ids.join(', ')} -> ${phase} refused (${why})`, false, 'it was allowed');
      } catch (err) {
        check(`${ids.join(', ')} -> ${phase} refused: ${(err as Error).message}`, true);
      }
    };
    const eligible = async (id: string) => {
      const e = await eligibility(id);
      check(`${id} is ELIGIBLE (${e.criteria.map((c) => c.line.replace(' ✓', '')).join(', ')})`, e.eligible, e.reasons.join('; '));
    };
    /** Reviews every open fingerprint of a project; checks that its shadow clock restarted. */
    const fix = async (project: string, resolution: 'code-fix' | 'acl-change', ref: string) => {
      await absorbAudit(pool);
      const open = (await fingerprints(pool, project)).filter((x) => x.open_since);
      check(`${project} has open fingerprints to review`, open.length > 0, 'none');
      // one root cause, every fingerprint it produced: one review, one clock reset
      const done = await review(pool, { selection: { projectId: project }, resolution, ref, actor: 'demo', at: clock.now() });
      say(ok(`reviewed fingerprints ${done.fingerprintIds.map((id) => `#${id}`).join(', ')} of ${project}: ${resolution} ${ref}`));
      const s = await stats(project);
      check(`${project}'s shadow clock restarted at ${clock.now().toISOString().slice(0, 10)}`,
        s.shadowStartedAt?.getTime() === clock.now().getTime(), `it started ${s.shadowStartedAt?.toISOString()}`);
    };
    const escalations = (from: number) => slackTexts().slice(from).filter((t) => /ESCALATION|REMINDER/.test(t));

    say(bold('\n== batch 1: sm'));
    await promote(['sm'], 'shadow');
    await traffic('sm', 1100);
    await settle();
    day(8);
    await eligible('sm');
    await refused(['motoko'], 'shadow', 'sm first');
    await promote(['sm'], 'enforcing');

    say(bold('\n== batch 2: motoko, with a cross-tenant bug'));
    await promote(['motoko'], 'shadow');
    await traffic('motoko', 600);
    let mark = slackTexts().length;
    await traffic('motoko', 5, `SELECT count(*) FROM memories WHERE project_id IN ('motoko', 'ea')`);
    check('Slack announced motoko\'s would-be denial of ea\'s rows', await expectSlack((t) => t.includes('motoko') && t.includes('ea'), mark), 'no message');
    day(2);
    await fix('motoko', 'code-fix', 'https://git.example/motoko/pull/42');
    await traffic('motoko', 1100);
    await settle();
    day(8);
    await eligible('motoko');
    await promote(['motoko'], 'enforcing');

    say(bold('\n== batch 3: ab, aa, bap (shared)'));
    await promote(['ab', 'aa', 'bap'], 'shadow');
    await traffic('ab', 1100);
    await traffic('bap', 1100);
    mark = slackTexts().length;
    await traffic('aa', 1100, `SELECT count(*) FROM memories WHERE project_id IN ('aa', 'sm', 'bap')`);
    check('Slack announced aa reading bap\'s rows', await expectSlack((t) => t.includes('aa') && t.includes('bap'), mark), 'no message');
    day(1);
    say('  aa legitimately reads bap: grant the permission (an ACL change resets aa\'s clock)');
    await permit(pool, 'aa', 'bap', { actor: 'demo', at: clock.now() });
    await fix('aa', 'acl-change', 'migration 2026_11_grant_aa_bap');
    await traffic('aa', 1100, `SELECT count(*) FROM memories WHERE project_id IN ('aa', 'sm', 'bap')`);
    await settle();
    day(2);
    mark = slackTexts().length;
    const due = await wakeDueTimers(p, await openTimers(pool));
    await settle();
    const unreviewed = (await fingerprints(pool)).filter((f) => f.open_since && f.project_id !== 'echo');
    check(`48 hours on: every fingerprint was reviewed in time (${due} timer(s) woke), no escalation`,
      unreviewed.length === 0 && escalations(mark).length === 0, `${unreviewed.length} unreviewed, ${escalations(mark).length} escalation(s)`);
    day(6);
    await eligible('ab');
    await eligible('aa');
    await promote(['ab'], 'enforcing');
    await promote(['aa'], 'enforcing');
    await eligible('bap');
    say(gray('  ...but nobody promotes bap'));
    mark = slackTexts().length;
    const mailMark = mails().length;
    day(6);
    await wakeDueTimers(p, await openTimers(pool));
    await settle();
    day(6);
    await wakeDueTimers(p, await openTimers(pool));
    const bapDays = (await eligibility('bap')).daysInShadow;
    check(`bap lingers in shadow ${bapDays} days: #devops told its enforcing deadline, then that it passed (OVERDUE)`,
      await expectSlack((t) => t.includes('bap') && t.includes('must move to enforcing by'), mark)
        && await expectSlack((t) => t.includes('bap') && t.includes('OVERDUE'), mark), 'no deadline message, or no OVERDUE');
    if (smtp) {
      const to = () => mails().slice(mailMark).flatMap((m) => m.to);
      check('the lingering alert was emailed to bap\'s lead and devops',
        await eventually(() => to().includes('bap-lead@example.com') && to().includes(cfg.devopsEmail!)), `emails to: ${to().join(', ') || 'nobody'}`);
    }
    await promote(['bap'], 'enforcing');

    say(bold('\n== batch 4: echo, ea (super)'));
    await promote(['echo', 'ea'], 'shadow');
    mark = slackTexts().length;
    await traffic('echo', 1000, `UPDATE memories SET body = body WHERE project_id = 'sm' AND id % 50 = 1`);
    await traffic('ea', 1000);
    check('Slack announced echo\'s would-be cross-tenant write', await expectSlack((t) => t.includes('echo') && /update/i.test(t), mark), 'no message');
    day(2);
    say(gray('  48 hours later, echo\'s cross-tenant write is still not root-caused:'));
    mark = slackTexts().length;
    await wakeDueTimers(p, await openTimers(pool));
    check(`escalated to echo's lead, pinged in Slack (<@${seedLeadSlack('echo')}>)`,
      await expectSlack((t) => /ESCALATION/.test(t) && t.includes(`<@${seedLeadSlack('echo')}>`), mark), 'no escalation');
    if (smtp) {
      const mail = () => mails().find((m) => m.to.includes('echo-lead@example.com') && /ESCALATION/.test(m.subject));
      await eventually(() => !!mail());
      const m = mail();
      check('and emailed to echo\'s lead (text and HTML, with the missed deadline)', !!m && /text\/plain/.test(m.data) && /text\/html/.test(m.data) && /missed/.test(m.data),
        m ? 'a part or the deadline is missing' : 'no email');
    }

    const finalStats = await absorbAndLoadStats(pool);
    const phases = Object.fromEntries(finalStats.map((s) => [s.projectId, s.phase]));
    const expected = { sm: 'enforcing', motoko: 'enforcing', ab: 'enforcing', aa: 'enforcing', bap: 'enforcing', echo: 'shadow', ea: 'shadow', io: 'pending' };
    check(`final phases: ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      JSON.stringify(phases) === JSON.stringify(expected), `expected ${JSON.stringify(expected)}`);
    say(`\n${reportMarkdown(buildReport(finalStats, cfg, clock.now()))}`);
  } finally {
    await running?.stop();
    await closeRuntime(p, { forgetQueues: true });
    await app.end();
    await slack?.close();
    await smtp?.close();
    await dropAll();
  }
  const sent = `${slack ? `${slack.messages.length} Slack messages` : 'Slack messages sent'}, ${smtp ? `${smtp.mails.length} emails` : 'emails sent'}`;
  const where = keep ? `database ${DB} kept (DATABASE_URL=${url} npx shadowgate report; drop it with: dropdb ${DB} && dropuser ${APP_ROLE})` : `database ${DB}, role and Redis keys removed (--keep keeps them)`;
  if (failures.length) {
    say(red(`✗ ${failures.length} expected outcome(s) did not happen: ${failures.join('; ')}`));
    say(gray(`${sent}; ${where}`));
    return 1;
  }
  say(green(`✓ done: every step happened as told; ${sent}; ${where}`));
  return 0;
}

main().then((code) => process.exit(code), (err) => {
  const { exitCode, message } = classifyError(err);
  console.error(`shadowgate demo: ${message}`);
  if (exitCode === EXIT.software && process.env.DEBUG) console.error((err as Error).stack);
  process.exit(exitCode);
});
