import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startDashboard } from '../cli/dashboard/server.js';
import { createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { createDocs, seedProjects, setPhase } from './support/seed.js';
import { transactions } from '../fixtures/traffic.js';

let db: TestDb & { grantApp(): Promise<void> };
let dash: Awaited<ReturnType<typeof startDashboard>>;
let browser: BrowserContext;
const profile = mkdtempSync(join(tmpdir(), 'sg-chromium-'));

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedProjects(db.pool);
  await createDocs(db.pool, 4);
  await db.grantApp();
  await setPhase(db.pool, 'sm', 'shadow');
  const cfg = loadConfig({ DATABASE_URL: db.url });
  dash = await startDashboard({ pool: db.pool, cfg, clock: systemClock, host: '127.0.0.1', port: 0, token: 's3cret', refreshSeconds: 60 });
  // a fresh profile directory each run
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
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
  it('shows every project, and changes without a reload when a violation is recorded', async () => {
    const page = await browser.newPage();
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

  it('refuses requests without the token', async () => {
    expect((await fetch(dash.url)).status).toBe(401);
    expect((await fetch(`${dash.url}api/state`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${dash.url}api/state`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
  });

  it('serves Prometheus metrics per project', async () => {
    const text = await (await fetch(`${dash.url}metrics?token=s3cret`)).text();
    expect(text).toContain('shadowgate_project_phase{project="sm",phase="shadow"} 1');
    expect(text).toContain('shadowgate_violations{project="sm"} 4');
    expect(text).toContain('shadowgate_unreviewed_violations{project="sm"} 1');
    expect(text).toContain('shadowgate_open_investigations{project="sm"} 0');
  });

  it('will not bind beyond loopback without a token', async () => {
    const r = await cli(['dashboard', '--host', '0.0.0.0'], { DATABASE_URL: db.url, SHADOWGATE_DASHBOARD_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('binding to 0.0.0.0 needs --token');
  });
});
