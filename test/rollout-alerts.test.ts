import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, ManualClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { addProject } from '../shared/db/projects.js';
import { changePhase } from '../shared/db/phase-change.js';
import { findOpenTimer, getTimer } from '../shared/db/timers.js';
import { notificationCounts } from '../shared/db/notifications.js';
import { QUEUE } from '../shared/jobs/queues.js';
import { closeRuntime, openRuntime, type Runtime } from '../shared/jobs/runtime.js';
import { absorbAndReadDashboardState } from '../cli/dashboard/state.js';
import { startWorkers, type Workers } from '../workers/start.js';
import { createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { setPhase } from './support/seed.js';
import { transactions } from '../fixtures/traffic.js';
import { slackSink, smtpSink, until } from './support/sinks.js';

// The 14-day rule on time and the announcements, through the real workers, a real local Slack
// webhook and a real SMTP server. Workers are woken the way the producer and BullMQ would wake them
// (jobs added to their queues), at moments set on the workers' clock.
let db: TestDb & { grantApp(): Promise<void> };
let slack: Awaited<ReturnType<typeof slackSink>>;
let smtp: Awaited<ReturnType<typeof smtpSink>>;
let p: Runtime;
let workers: Workers;
const clock = new ManualClock(new Date('2026-11-20T00:00:00Z'));
const prefix = `sgtest-alerts-${process.pid}`;
const env: Record<string, string> = {};
let wakes = 0;

const said = (text: string) => slack.messages.filter((m) => m.text.includes(text));
async function wakeLingering(project: string): Promise<number> {
  const t = await findOpenTimer(db.pool, 'lingering', project);
  if (!t) throw new Error(`no lingering timer for ${project}`);
  await p.queues.lingering.add('timer', { timerId: t.id }, { jobId: `wake-${++wakes}` });
  return t.id;
}
const recompute = (project: string) => p.queues.eligibility.add('recompute', { projectId: project }, { jobId: `recompute-${++wakes}` });
/** The eligibility jobs the workers have finished, in order: the test waits for them, never for a while. */
const looked: Array<{ name: string; projectId: string }> = [];
const looksSince = (mark: number, name: string, project: string) =>
  looked.slice(mark).filter((j) => j.name === name && j.projectId === project).length;
/** Every notification made so far delivered (none pending). */
const delivered = async () => (await notificationCounts(db.pool)).every((c) => c.status !== 'pending');

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await db.grantApp();
  slack = await slackSink();
  smtp = await smtpSink();
  Object.assign(env, {
    DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url, SMTP_URL: smtp.url, SHADOWGATE_REDIS_PREFIX: prefix,
    DEVOPS_EMAIL: 'devops@example.com', SHADOWGATE_TIMEZONE: 'Europe/Berlin', SHADOWGATE_HOLIDAYS: '2026-11-30',
    SHADOWGATE_RECONCILE_SECONDS: '0.2', // the workers' look at every project in shadow
  });
  p = await openRuntime(loadConfig(env), { clock });
  for (const id of ['ling', 'late', 'forced']) {
    await addProject(db.pool, { projectId: id, accessLevel: 'isolated', leadEmail: `${id}-lead@example.com`, leadSlack: `@${id}-lead` });
  }
  workers = await startWorkers(p);
  workers.workers.find((w) => w.name === QUEUE.eligibility)!
    .on('completed', (job) => looked.push({ name: job.name, projectId: job.data.projectId }));
});

afterAll(async () => {
  await workers?.close();
  await closeRuntime(p, { forgetQueues: true });
  await slack.close();
  await smtp.close();
  await db.drop();
});

describe('4. the 14-day rule on time', () => {
  it('the alert as soon as 14 days have passed, with the deadline; a reminder each business day; OVERDUE after the deadline', async () => {
    // shadow from Friday 2026-11-13 08:00Z: day 14 is Friday 2026-11-27 09:00 in Berlin; Monday
    // 2026-11-30 is a holiday: the 3 business days are Tuesday, Wednesday, Thursday
    await setPhase(db.pool, 'ling', 'shadow', new Date('2026-11-13T08:00:00Z'));
    await transactions(db.app, 'ling', 1000);
    await p.queues.lingering.add('open', { projectId: 'ling' }, { jobId: 'open-ling' });
    await until(async () => (await findOpenTimer(db.pool, 'lingering', 'ling')) !== undefined);
    expect((await findOpenTimer(db.pool, 'lingering', 'ling'))!.due_at.toISOString()).toBe('2026-11-27T08:00:00.000Z');

    clock.set(new Date('2026-11-27T08:00:00Z'));
    const timer = await wakeLingering('ling');
    await until(() => said('ling must move to enforcing by').length === 1);
    const alert = said('ling must move to enforcing by')[0]!;
    expect(alert.text).toContain('[shadowgate] ling must move to enforcing by Thu 2026-12-03 09:00 Europe/Berlin');
    expect(alert.text).toContain('enforcing within 3 business days (weekends and holidays skipped, times in Europe/Berlin)');
    expect(alert.text.startsWith('@ling-lead: ')).toBe(true);
    await until(() => smtp.mails.filter((m) => m.subject.includes('ling must move')).length === 2);
    expect(smtp.mails.filter((m) => m.subject.includes('ling must move')).flatMap((m) => m.to).sort()).toEqual(['devops@example.com', 'ling-lead@example.com']);
    // the next look is the next business day (the holiday skipped)
    await until(async () => (await findOpenTimer(db.pool, 'lingering', 'ling'))!.due_at.toISOString() === '2026-12-01T08:00:00.000Z');

    // the same wake-up again, and an early one: nothing new
    await wakeLingering('ling');
    clock.set(new Date('2026-11-30T12:00:00Z'));
    await wakeLingering('ling');
    clock.set(new Date('2026-12-01T08:00:00Z'));
    await wakeLingering('ling');
    await until(() => said('REMINDER 1: ling must move to enforcing by Thu 2026-12-03 09:00 Europe/Berlin (2 business days left)').length === 1);
    expect(said('ling must move to enforcing by')).toHaveLength(2);

    const deadline = new Date('2026-12-03T08:00:00Z');
    clock.set(deadline);
    await wakeLingering('ling');
    await until(() => said('OVERDUE: ling missed its enforcing deadline Thu 2026-12-03 09:00 Europe/Berlin').length === 1);
    await until(() => smtp.mails.filter((m) => m.subject.includes('OVERDUE: ling')).length === 2);
    clock.set(new Date('2026-12-04T08:00:00Z'));
    await wakeLingering('ling');
    await until(() => said('OVERDUE: ling missed its enforcing deadline Thu 2026-12-03 09:00 Europe/Berlin (1 business day ago)').length === 1);
    expect((await getTimer(db.pool, timer))?.fired).toBe(4);

    // what the operator sees at that moment
    const at = deadline.toISOString();
    const cd = await cli(['check-duration', '--now', at], env);
    expect(cd.code).toBe(1);
    expect(cd.stdout).toContain('Project: ling (isolated) OVERDUE');
    expect(cd.stdout).toContain('OVERDUE: the enforcing deadline (Thu 2026-12-03 09:00 Europe/Berlin) has passed');
    const before = await cli(['check-duration', '--now', '2026-11-28T08:00:00Z', '--json'], env);
    expect(JSON.parse(before.stdout).alerts[0]).toMatchObject({ project_id: 'ling', overdue: false, enforce_deadline: '2026-12-03T08:00:00.000Z' });
    expect((await cli(['status', '--now', at], env)).stdout).toMatch(/ling\s+isolated\s+shadow\s+20 days OVERDUE since 2026-12-03T08:00:00.000Z/);
    const rep = JSON.parse((await cli(['report', '--json', '--now', at], env)).stdout).projects.ling;
    expect(rep).toMatchObject({ overdue: true, past_max: true, enforce_deadline: '2026-12-03T08:00:00.000Z' });
    expect(rep.recommendation).toBe('OVERDUE: move to enforcing now (deadline Thu 2026-12-03 09:00 Europe/Berlin passed)');
    const dash = await absorbAndReadDashboardState(db.pool, p.cfg, deadline);
    expect(dash.projects.find((x) => x.project_id === 'ling')).toMatchObject({ overdue: true, enforce_deadline: '2026-12-03T08:00:00.000Z' });
  });

  it('a project that becomes eligible after day 14 (by transactions): announced once, and its 3 business days start then', async () => {
    clock.set(new Date('2026-12-08T10:00:00Z')); // a Tuesday
    await setPhase(db.pool, 'late', 'shadow', new Date(clock.now().getTime() - 16 * DAY));
    await transactions(db.app, 'late', 999);
    await recompute('late');
    await until(async () => (await db.pool.query(`SELECT 1 FROM shadowgate.eligibility_state WHERE project_id = 'late'`)).rowCount === 1);
    expect(said('late is ELIGIBLE')).toHaveLength(0);
    // the 1000th transaction raises no event: the workers' reconciliation finds it
    await transactions(db.app, 'late', 1);
    await until(() => said('late is ELIGIBLE for enforcing').length === 1);
    await until(() => said('late must move to enforcing by Fri 2026-12-11 11:00 Europe/Berlin').length === 1);
    // more looks in the same shadow window (two of its own, and the reconciliations'): no second announcement
    const mark = looked.length;
    await recompute('late');
    await recompute('late');
    await until(() => looksSince(mark, 'recompute', 'late') === 2 && looksSince(mark, 'reconcile', 'late') >= 2);
    await until(delivered);
    expect(said('late is ELIGIBLE')).toHaveLength(1);
  });

  it('a forced promotion is announced with its actor and reason', async () => {
    await setPhase(db.pool, 'forced', 'shadow', new Date(clock.now().getTime() - 2 * DAY));
    await changePhase(db.pool, p.cfg, { projectIds: ['forced'], phase: 'enforcing', at: clock.now(), actor: 'alice', reason: 'CTO approval', force: true });
    await recompute('forced');
    await until(() => said('[shadowgate] FORCED: forced moved shadow -> enforcing by alice').length === 1);
    const m = said('FORCED: forced')[0]!;
    expect(m.text).toContain('Reason: CTO approval.');
    expect(m.text).toContain('Criteria not met: Shadow duration: 2 days (minimum: 7); Transactions: 0 (minimum: 1000).');
    await until(() => smtp.mails.filter((x) => x.subject.includes('FORCED: forced')).length === 2);
    const mark = looked.length;
    await recompute('forced');
    await until(() => looksSince(mark, 'recompute', 'forced') === 1);
    await until(delivered);
    expect(said('FORCED: forced')).toHaveLength(1);
  });
});
