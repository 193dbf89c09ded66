import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { DAY, HOUR, ManualClock } from '../shared/clock.js';
import { openTimer } from '../shared/db/timers.js';
import { absorbAudit } from '../shared/db/intake.js';
import { fingerprints } from '../shared/db/violations.js';
import { loadConfig } from '../shared/config.js';
import { startDashboard } from '../cli/dashboard/server.js';
import { createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';
import { transactions } from '../fixtures/traffic.js';
import { ENABLE_BROWSER, chromiumOrSkip } from './support/browser.js';

// without Chromium: a visible line, not a silent skip (the rest of the file still runs); CI fails instead
const chromiumPath = chromiumOrSkip();

let db: TestDb & { grantApp(): Promise<void> };
// a minute ahead of the database: projects put in shadow during set-up are 0 days in, not -1
const now = new Date(Date.now() + 60_000);
let dash: Awaited<ReturnType<typeof startDashboard>>;
let browser: BrowserContext | undefined;
const profile = mkdtempSync(join(tmpdir(), 'sg-chromium-'));

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedDocsAndGrant(db, 4);
  await setPhase(db.pool, 'sm', 'shadow');
  // motoko: clean and 25 days in shadow, past its enforcing deadline (no minimum of transactions here)
  await setPhase(db.pool, 'motoko', 'shadow', new Date(now.getTime() - 25 * DAY));
  await openTimer(db.pool, 'lingering', 'motoko', 'motoko', new Date(now.getTime() - 25 * DAY), new Date(now.getTime() + 2 * HOUR));
  // bap read io's rows 50 hours ago: its investigation is 2 hours past due, the next reminder in 22
  await setPhase(db.pool, 'bap', 'shadow');
  await transactions(db.app, 'bap', 1, `SELECT count(*) FROM docs WHERE project_id = 'io'`);
  await absorbAudit(db.pool);
  const [fp] = await fingerprints(db.pool, 'bap');
  await openTimer(db.pool, 'investigation', String(fp!.id), 'bap', new Date(now.getTime() - 50 * HOUR), new Date(now.getTime() + 22 * HOUR));
  const cfg = loadConfig({ DATABASE_URL: db.url, SHADOWGATE_MIN_TRANSACTIONS: '0' });
  // a clock standing still: two renders of the same data are the same picture
  dash = await startDashboard({ pool: db.pool, cfg, clock: new ManualClock(now), host: '127.0.0.1', port: 0, token: 's3cret', refreshSeconds: 60 });
  // a fresh profile directory each run
  if (chromiumPath) browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await dash?.close();
  await db?.drop();
  rmSync(profile, { recursive: true, force: true });
});

describe('dashboard', () => {
  it.skipIf(!chromiumPath)(`shows every project, and changes without a reload when a violation is recorded (needs Chromium: ${ENABLE_BROWSER})`, async () => {
    const page = await browser!.newPage();
    await page.goto(`${dash.url}?token=s3cret`);
    const row = page.locator('tr[data-project="sm"]');
    await row.waitFor();
    expect(await page.locator('#projects tbody tr').count()).toBe(8);
    expect(await row.locator('.phase').textContent()).toBe('shadow');
    expect(await row.locator('.violations').textContent()).toBe('0');
    await transactions(db.app, 'sm', 1, `SELECT count(*) FROM docs WHERE project_id = 'aa'`); // 4 rows of aa
    await page.waitForFunction(() => document.querySelector('tr[data-project="sm"] .violations')?.textContent === '4', null, { timeout: 10_000 });
    expect(await row.locator('.violations').getAttribute('class')).toContain('bad');
    await page.screenshot({ path: process.env.SHADOWGATE_SCREENSHOT ?? join(profile, 'dashboard.png'), fullPage: true });
  });

  it('sends the data in the first paint, without any script', async () => {
    const html = await (await fetch(`${dash.url}?token=s3cret`)).text();
    expect(html.match(/<tr data-project=/g)).toHaveLength(8);
    expect(html).not.toMatch(/>connecting…<|<!--projects-body-->|<!--chart-->/);
    expect(html).toContain(`updated ${now.toISOString().slice(0, 10)} ${now.toISOString().slice(11, 16)} UTC`);
  });

  it.skipIf(!chromiumPath)('a screenshot of the first paint (scripts blocked) is the picture the live page draws', async () => {
    const first = await browser!.newPage();
    await first.route(/render\.js|\/events/, (r) => r.abort());
    await first.goto(`${dash.url}?token=s3cret`);
    expect(await first.locator('#projects-body tr').count()).toBe(8);
    const shot = await first.locator('#projects').screenshot();
    expect(shot.subarray(1, 4).toString()).toBe('PNG');
    expect(shot.readUInt32BE(20)).toBeGreaterThan(9 * 25); // the height of nine rows: the table was drawn
    const live = await browser!.newPage();
    await live.goto(`${dash.url}?token=s3cret`);
    await live.waitForFunction(() => document.body.dataset.live === 'yes');
    expect(Buffer.compare(await live.locator('#projects').screenshot(), shot)).toBe(0);
    await first.close();
    await live.close();
  });

  it('marks what is past its deadline OVERDUE, with the same deadline in the status and the deadlines table', async () => {
    const html = await (await fetch(`${dash.url}?token=s3cret`)).text();
    const state = await (await fetch(`${dash.url}api/state?token=s3cret`)).json();
    const motoko = state.projects.find((p: { project_id: string }) => p.project_id === 'motoko');
    const enforceBy = motoko.enforce_deadline as string;
    expect(Date.parse(enforceBy)).toBeLessThan(now.getTime());
    const when = `${enforceBy.slice(0, 10)} ${enforceBy.slice(11, 16)} UTC`;
    const row = (attr: string) => html.slice(html.indexOf(attr), html.indexOf('</tr>', html.indexOf(attr)));
    expect(row('data-project="motoko"')).toContain(`enforce by ${when}`);
    expect(row('data-project="motoko"')).toContain('OVERDUE');
    const lingering = row('data-timer="lingering:motoko"');
    expect(lingering).toContain(`<td class="deadline">${when}</td>`);
    expect(lingering).toContain('OVERDUE');
    const nextAlert = new Date(now.getTime() + 2 * HOUR).toISOString();
    expect(lingering).toContain(`${nextAlert.slice(0, 10)} ${nextAlert.slice(11, 16)} UTC`);
    const investigation = row('data-timer="investigation:bap"');
    const due = new Date(now.getTime() - 2 * HOUR).toISOString(); // 48 h after the first occurrence
    expect(investigation).toContain(`<td class="deadline">${due.slice(0, 10)} ${due.slice(11, 16)} UTC</td>`);
    expect(investigation).toContain('OVERDUE</span> by 2h 0m');
    expect(row('data-project="sm"')).not.toContain('OVERDUE');
  });

  it.skipIf(!chromiumPath)('every chart label is inside the chart, at a readable size', async () => {
    const page = await browser!.newPage();
    await page.goto(`${dash.url}?token=s3cret`);
    const labels = await page.locator('#chart text').evaluateAll((els) => els.map((e) => {
      const b = (e as SVGGraphicsElement).getBBox();
      return { x: b.x, y: b.y, right: b.x + b.width, bottom: b.y + b.height, size: parseFloat(getComputedStyle(e).fontSize), text: e.textContent };
    }));
    expect(labels.length).toBeGreaterThanOrEqual(8);
    for (const l of labels) {
      expect(l, String(l.text)).toMatchObject({ x: expect.any(Number) });
      expect(l.x).toBeGreaterThanOrEqual(0);
      expect(l.right).toBeLessThanOrEqual(900);
      expect(l.y).toBeGreaterThanOrEqual(0);
      expect(l.bottom).toBeLessThanOrEqual(160);
      expect(l.size).toBeGreaterThanOrEqual(11);
    }
    await page.close();
  });

  it('refuses requests without the token', async () => {
    expect((await fetch(dash.url)).status).toBe(401);
    expect((await fetch(`${dash.url}api/state`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${dash.url}api/state`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
  });

  it('serves Prometheus metrics per project', async () => {
    // bap's state is built in beforeAll (4 rows of io read, one fingerprint, its investigation open):
    // the browser test, which adds violations of sm, may have been skipped
    const text = await (await fetch(`${dash.url}metrics?token=s3cret`)).text();
    expect(text).toContain('shadowgate_project_phase{project="sm",phase="shadow"} 1');
    expect(text).toContain('shadowgate_project_phase{project="io",phase="pending"} 1');
    expect(text).toContain('shadowgate_violations{project="bap"} 4');
    expect(text).toContain('shadowgate_unreviewed_violations{project="bap"} 1');
    expect(text).toContain('shadowgate_open_investigations{project="bap"} 1');
    expect(text).toContain('shadowgate_violations{project="motoko"} 0');
    expect(text).toContain('shadowgate_open_investigations{project="motoko"} 0');
  });

  it('will not bind beyond loopback without a token', async () => {
    const r = await cli(['dashboard', '--host', '0.0.0.0'], { DATABASE_URL: db.url, SHADOWGATE_DASHBOARD_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('binding to 0.0.0.0 needs --token');
  });
});
