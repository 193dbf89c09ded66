// Shadow recording on a hot standby: a primary and a streaming standby of this test's own (never the
// shared server), the application reading on the standby as a non-superuser role. With
// recorder_target pointing at the primary, every would-be denial made on the standby (committed,
// rolled back, READ ONLY, in a rolled-back savepoint) reaches the primary's audit and its
// transactions are counted there; with recorder_target left NULL (the standby itself) or naming a
// server in recovery, the application's queries still work, the session warns that nothing is
// recorded, and nothing is; doctor reports the NULL recorder_target on both servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPool, type Pool } from '../shared/db/pool.js';
import { migrateSchema } from '../shared/db/schema-migration.js';
import { absorbAudit } from '../shared/db/intake.js';
import { startHotStandby, startPgCluster, type PgCluster } from './support/faults.js';
import { createDocs, seedProjects, setPhase } from './support/seed.js';
import { statsOf } from './support/rollout.js';
import { until } from './support/sinks.js';
import type { Finding } from '../shared/db/doctor.js';
import { cli } from './support/cli.js';

const APP_ROLE = 'sg_standby_app';
let primary: PgCluster;
let standby: PgCluster;
let pool: Pool;

const appUrl = (cluster: PgCluster) => {
  const u = new URL(cluster.url('sg'));
  u.username = APP_ROLE;
  return u.toString();
};

/** Waits until the standby has replayed everything the primary has written so far. */
async function replayed(): Promise<void> {
  const { lsn } = (await pool.query(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0];
  const c = new pg.Client({ connectionString: standby.url('sg') });
  await c.connect();
  try {
    await until(async () => (await c.query(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done`, [lsn])).rows[0].done, 20_000);
  } finally {
    await c.end();
  }
}

/** A session of the application on the standby, its WARNINGs collected. */
async function standbySession(applicationName: string): Promise<{ c: pg.Client; warnings: string[] }> {
  const c = new pg.Client({ connectionString: appUrl(standby), application_name: applicationName });
  const warnings: string[] = [];
  c.on('notice', (n) => {
    if (n.severity === 'WARNING') warnings.push(n.message ?? '');
  });
  await c.connect();
  return { c, warnings };
}

/** One transaction of project sm on `c` (`begin` e.g. 'BEGIN READ ONLY'), ended by `end`; the rows `statement` returned. */
async function transaction(c: pg.Client, begin: string, statement: string, end: 'COMMIT' | 'ROLLBACK'): Promise<unknown[]> {
  await c.query(begin);
  await c.query(`SELECT shadowgate.set_project_context('sm')`);
  const { rows } = await c.query(statement);
  await c.query(end);
  return rows;
}

async function auditOf(owner: string) {
  return (await pool.query(
    `SELECT project_id, operation, row_project_id, denied_reason, row_count, statement, application_name, session_id
       FROM shadowgate.rls_audit_log WHERE row_project_id = $1 ORDER BY id`, [owner])).rows;
}

beforeAll(async () => {
  primary = await startPgCluster(['wal_level = replica', 'max_wal_senders = 4']);
  const admin = new pg.Client({ connectionString: primary.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE sg');
  await admin.query(`CREATE ROLE ${APP_ROLE} LOGIN`);
  await admin.end();
  await migrateSchema(primary.url('sg'));
  pool = createPool(primary.url('sg'), 2);
  await seedProjects(pool);
  await createDocs(pool, 2);
  await pool.query('SELECT shadowgate.grant_app($1)', [APP_ROLE]);
  await setPhase(pool, 'sm', 'shadow');
  standby = await startHotStandby(primary);
}, 120_000);

afterAll(async () => {
  await pool?.end().catch(() => undefined);
  await Promise.all([standby?.destroy(), primary?.destroy()]);
});

/** The standby's own pid of a session (the audit names a session by pid and start). */
const pidOf = async (c: pg.Client) => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;

/** What `shadowgate doctor` (the CLI, as an operator runs it there) says of recorder_target on `cluster`. */
async function recorderFindings(cluster: PgCluster): Promise<string[]> {
  const r = await cli(['doctor', '--json'], { DATABASE_URL: cluster.url('sg') });
  const out = JSON.parse(r.stdout) as { findings: Finding[] };
  return out.findings.filter((f) => f.kind === 'recorder').map((f) => f.why);
}

describe('a hot standby', () => {
  it('with recorder_target NULL (the standby itself, read-only): the query works, every session warns, nothing is recorded or counted; doctor says so on both servers', async () => {
    await pool.query(`UPDATE shadowgate.recorder_target SET conninfo = NULL`);
    await replayed();
    const before = (await statsOf(pool, 'sm')).transactions;
    const { c, warnings } = await standbySession('standby-null');
    try {
      expect(await transaction(c, 'BEGIN', `SELECT project_id FROM docs WHERE project_id = 'motoko'`, 'COMMIT')).toHaveLength(2);
      expect(await transaction(c, 'BEGIN READ ONLY', `SELECT project_id FROM docs WHERE project_id = 'motoko'`, 'COMMIT')).toHaveLength(2);
      await transaction(c, 'BEGIN', `SELECT count(*) FROM docs WHERE project_id = 'sm'`, 'COMMIT');
      await c.query('SELECT shadowgate.flush_recorder()');
    } finally {
      await c.end();
    }
    // one per attempt to open the recorder: at each transaction's set_project_context (3) and each noted row (4)
    expect(warnings).toHaveLength(7);
    expect(new Set(warnings)).toEqual(new Set([
      'shadowgate: this server is a hot standby and shadowgate.recorder_target is NULL: nothing is recorded (point recorder_target at the primary)',
    ]));
    await absorbAudit(pool);
    expect(await auditOf('motoko')).toEqual([]);
    expect((await statsOf(pool, 'sm')).transactions).toBe(before);
    expect(await Promise.all([recorderFindings(primary), recorderFindings(standby)])).toEqual([
      [expect.stringMatching(/^is NULL while a standby streams from this server/)], [expect.stringMatching(/^is NULL on this hot standby/)]]);
  });

  it('with recorder_target at the standby itself (a server in recovery): the session warns, nothing is recorded', async () => {
    await pool.query(`UPDATE shadowgate.recorder_target SET conninfo = $1`, [`host=127.0.0.1 port=${standby.port} dbname=sg user=postgres`]);
    await replayed();
    const { c, warnings } = await standbySession('standby-self');
    try {
      expect(await transaction(c, 'BEGIN', `SELECT project_id FROM docs WHERE project_id = 'motoko'`, 'COMMIT')).toHaveLength(2);
    } finally {
      await c.end();
    }
    expect(new Set(warnings)).toEqual(new Set([
      'shadowgate: shadowgate.recorder_target is a server in recovery (a standby): nothing is recorded (point recorder_target at the primary)',
    ]));
    await absorbAudit(pool);
    expect(await auditOf('motoko')).toEqual([]);
  });

  it('with recorder_target at the primary: committed, rolled-back, READ ONLY and rolled-back-savepoint would-be denials reach the primary, every transaction counted', async () => {
    await pool.query(`UPDATE shadowgate.recorder_target SET conninfo = $1`, [`host=127.0.0.1 port=${primary.port} dbname=sg user=postgres`]);
    await replayed();
    expect(await Promise.all([recorderFindings(primary), recorderFindings(standby)])).toEqual([[], []]);
    const before = (await statsOf(pool, 'sm')).transactions;
    const { c, warnings } = await standbySession('standby-app');
    let pid: number;
    try {
      pid = await pidOf(c);
      const committed = await transaction(c, 'BEGIN', `SELECT project_id FROM docs WHERE project_id = 'motoko'`, 'COMMIT');
      const rolledBack = await transaction(c, 'BEGIN', `SELECT project_id FROM docs WHERE project_id = 'ab'`, 'ROLLBACK');
      const readOnly = await transaction(c, 'BEGIN READ ONLY', `SELECT project_id FROM docs WHERE project_id = 'bap'`, 'COMMIT');
      await c.query('BEGIN');
      await c.query(`SELECT shadowgate.set_project_context('sm')`);
      await c.query('SAVEPOINT s');
      const inSavepoint = (await c.query(`SELECT project_id FROM docs WHERE project_id = 'echo'`)).rows;
      await c.query('ROLLBACK TO SAVEPOINT s');
      await c.query('COMMIT');
      // shadow blocks nothing: each read returned the other tenant's 2 rows
      expect([committed, rolledBack, readOnly, inSavepoint]).toEqual(['motoko', 'ab', 'bap', 'echo'].map((p) => [{ project_id: p }, { project_id: p }]));
      for (let i = 0; i < 5; i++) await transaction(c, 'BEGIN', `SELECT count(*) FROM docs WHERE project_id = 'sm'`, 'COMMIT');
      await c.query('SELECT shadowgate.flush_recorder()');
    } finally {
      await c.end();
    }
    expect(warnings).toEqual([]);
    await absorbAudit(pool);
    // absorbed at once: the primary cannot see the standby's sessions, nothing waits for them
    expect((await pool.query('SELECT count(*)::int AS n FROM shadowgate.audit_inbox')).rows[0].n).toBe(0);
    for (const owner of ['motoko', 'ab', 'bap', 'echo']) {
      const rows = await auditOf(owner);
      // on a standby every transaction is read-only: as in a READ ONLY transaction on the primary, the
      // first row of a key is sent at once and the second (buffered, no commit flush) is lost
      expect(rows).toEqual([expect.objectContaining({
        project_id: 'sm', operation: 'SELECT', denied_reason: 'cross-tenant read', row_count: 1, application_name: 'standby-app',
        statement: `SELECT project_id FROM docs WHERE project_id = '${owner}'`,
      })]);
      expect(rows[0].session_id).toMatch(new RegExp(`^${pid!}\\.[0-9]+$`)); // the standby's session, not a primary's
    }
    expect((await statsOf(pool, 'sm')).transactions).toBe(before + 9); // 4 with a would-be denial, 5 without
  });

  it('rows of a standby transaction still open are absorbed as they arrive: the primary cannot see it, so it is split into several audit rows', async () => {
    // recorder_target still points at the primary (the test before)
    const { c, warnings } = await standbySession('standby-open');
    const pid = await pidOf(c);
    const inInbox = async () => (await pool.query('SELECT count(*)::int AS n FROM shadowgate.audit_inbox WHERE app_pid = $1', [pid])).rows[0].n as number;
    try {
      await c.query('BEGIN');
      await c.query(`SELECT shadowgate.set_project_context('sm')`);
      for (let piece = 1; piece <= 2; piece++) {
        await c.query(`SELECT project_id FROM docs WHERE project_id = 'motoko'`);
        await until(async () => (await inInbox()) === 1); // the statement's first row, sent at once
        await absorbAudit(pool); // the standby's transaction is still open
        expect(await inInbox()).toBe(0);
        expect((await auditOf('motoko')).filter((r) => r.application_name === 'standby-open')).toHaveLength(piece);
      }
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    expect(warnings).toEqual([]);
    const rows = (await auditOf('motoko')).filter((r) => r.application_name === 'standby-open');
    // one transaction, two audit rows: the first statement's first row; then its second row with the
    // second statement's first row (sent as that statement began noting); the last row is lost at COMMIT
    expect(rows.map((r) => [r.session_id, r.row_count])).toEqual([[rows[0].session_id, 1], [rows[0].session_id, 2]]);
  });
});
