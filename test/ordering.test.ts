// No global horizon: a transaction held open in another database of the server (which holds the
// cluster-wide xmin back) must neither put a violation on the wrong side of a clock reset nor
// hold the producer's events back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { absorbAudit } from '../shared/db/intake.js';
import { transactions } from '../fixtures/traffic.js';
import { createTestDb, type TestDb } from './support/db.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';

let db: TestDb & { grantApp(): Promise<void> };
let other: TestDb;
let holder: pg.Client;
const READ_AA = `SELECT count(*) FROM docs WHERE project_id = 'aa'`;
const windowCount = async () => (await db.pool.query(
  `SELECT coalesce(sum(window_occurrences), 0)::int AS n FROM shadowgate.violation_fingerprints WHERE project_id = 'sm'`)).rows[0].n;

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  other = await createTestDb(`${import.meta.url}-other`);
  await seedDocsAndGrant(db, 2);
  await setPhase(db.pool, 'sm', 'shadow');
  // an hour-long report in another database: it holds a transaction id, hence the xmin of every snapshot
  holder = new pg.Client({ connectionString: other.url });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT txid_current()');
});

afterAll(async () => {
  await holder?.end();
  await other?.drop();
  await db?.drop();
});

describe('clock resets with a transaction open in another database', () => {
  it('violations committed before the reset stay out of the new window, absorbed before it or after; later ones count', async () => {
    await transactions(db.app, 'sm', 1, READ_AA); // committed and absorbed before the reset
    await absorbAudit(db.pool);
    await transactions(db.app, 'sm', 1, READ_AA); // committed before the reset, absorbed after it
    await db.pool.query(`SELECT shadowgate.reset_shadow_clock('sm', now(), 'test', 'code change')`);
    expect(await windowCount()).toBe(0);
    await absorbAudit(db.pool);
    expect(await windowCount()).toBe(0);
    await transactions(db.app, 'sm', 1, READ_AA); // after the reset: in the window
    await absorbAudit(db.pool);
    expect(await windowCount()).toBe(2); // the two rows of aa it read
  });
});
