import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminQuery, asApp, createTestDb, onOneAppSession, type TestDb } from './support/db.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';
import { until } from './support/sinks.js';
import { transactions } from '../fixtures/traffic.js';
import { migrateSchema } from '../shared/db/schema-migration.js';
import { readdirSync } from 'node:fs';
import { sqlDir } from '../shared/paths.js';
import { createPool } from '../shared/db/pool.js';

let db: TestDb & { grantApp(): Promise<void> };

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedDocsAndGrant(db, 10); // 8 projects x 10 rows
});
afterAll(async () => db?.drop());

async function audit() {
  await db.pool.query('SELECT shadowgate.absorb_audit()');
  const { rows } = await db.pool.query(
    `SELECT project_id, operation, row_project_id, denied_reason, row_count, context_project_id
       FROM shadowgate.rls_audit_log ORDER BY project_id, operation, row_project_id, denied_reason`,
  );
  return rows;
}

async function allPhases(phase: string) {
  for (const p of ['sm', 'motoko', 'ab', 'aa', 'bap', 'echo', 'ea', 'io']) {
    if (phase === 'pending') {
      await db.pool.query(`UPDATE shadowgate.rls_migration_status SET migration_phase = 'pending', shadow_started_at = NULL WHERE project_id = $1`, [p]);
    } else {
      await setPhase(db.pool, p, phase);
    }
  }
}

const count = (c: { query: (q: string) => Promise<{ rows: Array<{ n: number }> }> }) =>
  c.query('SELECT count(*)::int AS n FROM docs').then((r) => r.rows[0]!.n);

beforeEach(async () => {
  await db.pool.query('TRUNCATE shadowgate.rls_audit_log');
});

describe('db migrate', () => {
  it('is a no-op the second time', async () => {
    expect(await migrateSchema(db.url)).toEqual([]);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM shadowgate.schema_migrations');
    expect(rows[0].n).toBe(readdirSync(sqlDir('migrations')).filter((f) => f.endsWith('.sql')).length);
  });
});

describe('pending', () => {
  it('blocks nothing and records nothing', async () => {
    await allPhases('pending');
    expect(await asApp(db.app, 'sm', count)).toBe(80);
    await asApp(db.app, 'sm', (c) => c.query(`UPDATE docs SET body = 'x' WHERE project_id = 'aa'`));
    expect(await audit()).toEqual([]);
  });
});

describe('shadow', () => {
  beforeAll(() => allPhases('shadow'));

  it('lets an isolated project read everything and records one row per owner with the exact count', async () => {
    const n = await asApp(db.app, 'sm', async (c) => {
      const a = await count(c);
      await count(c); // a second statement in the same transaction adds to the same keys
      return a;
    });
    expect(n).toBe(80);
    const rows = await audit();
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.project_id === 'sm' && r.operation === 'SELECT' && r.denied_reason === 'cross-tenant read')).toBe(true);
    expect(rows.map((r) => r.row_count)).toEqual([20, 20, 20, 20, 20, 20, 20]);
    expect(rows.map((r) => r.row_project_id).sort()).toEqual(['aa', 'ab', 'bap', 'ea', 'echo', 'io', 'motoko']);
  });

  it('absorbs a transaction\'s findings once it has ended, as one row per key, however many pieces the recorder took', async () => {
    const inbox = async () => (await db.pool.query('SELECT count(*)::int AS n FROM shadowgate.audit_inbox')).rows[0].n;
    const logged = async () => (await db.pool.query('SELECT txid, row_count FROM shadowgate.rls_audit_log')).rows;
    const c = await db.app.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT shadowgate.set_project_context('sm')`);
      await c.query(`SELECT count(*) FROM docs WHERE project_id = 'aa'`);
      const txid = (await c.query('SELECT txid_current() AS t')).rows[0].t;
      await until(async () => (await inbox()) > 0); // the first finding leaves at once
      await db.pool.query('SELECT shadowgate.absorb_audit()'); // still open: nothing taken
      expect(await logged()).toEqual([]);
      await c.query(`SELECT count(*) FROM docs WHERE project_id = 'aa'`);
      await c.query('COMMIT');
      await db.pool.query('SELECT shadowgate.absorb_audit()');
      await db.pool.query('SELECT shadowgate.absorb_audit()');
      expect(await inbox()).toBe(0);
      expect(await logged()).toEqual([{ txid, row_count: 20 }]);
    } finally {
      c.release();
    }
  });

  it('counts one access and two accesses of a key exactly', async () => {
    const [a, b] = (await db.pool.query(`SELECT id FROM docs WHERE project_id = 'aa' ORDER BY id LIMIT 2`)).rows.map((r) => r.id);
    for (const ids of [[a], [a, b]]) {
      await db.pool.query('TRUNCATE shadowgate.rls_audit_log');
      await asApp(db.app, 'sm', async (c) => {
        for (const id of ids) expect((await c.query('SELECT body FROM docs WHERE id = $1', [id])).rowCount).toBe(1);
      });
      expect((await audit()).map((r) => [r.row_project_id, r.row_count])).toEqual([['aa', ids.length]]);
    }
  });

  it('records one row per key for the whole transaction when the application fires deferred triggers early', async () => {
    await asApp(db.app, 'sm', async (c) => {
      await c.query(`SELECT count(*) FROM docs WHERE project_id = 'aa'`);
      await c.query('SET CONSTRAINTS ALL IMMEDIATE');
      await c.query(`SELECT count(*) FROM docs WHERE project_id IN ('aa', 'ab')`);
    });
    expect((await audit()).map((r) => [r.row_project_id, r.row_count])).toEqual([['aa', 20], ['ab', 10]]);
  });

  it('cuts a context longer than the audit log\'s column to fit, and records it', async () => {
    await asApp(db.app, 'x'.repeat(60), (c) => c.query(`SELECT count(*) FROM docs WHERE project_id = 'ab'`));
    expect((await audit()).map((r) => [r.project_id, r.context_project_id, r.denied_reason, r.row_count]))
      .toEqual([['ab', 'x'.repeat(50), 'unknown project', 10]]);
  });

  it('does not record what a shared project may read, nor any read of a super project', async () => {
    expect(await asApp(db.app, 'aa', count)).toBe(80);
    expect(await asApp(db.app, 'echo', count)).toBe(80);
    const rows = await audit();
    expect(rows.map((r) => `${r.project_id}->${r.row_project_id}`).sort()).toEqual(
      ['aa->bap', 'aa->ea', 'aa->echo', 'aa->io', 'aa->motoko'],
    );
  });

  it('records cross-tenant writes and blocks none of them', async () => {
    await asApp(db.app, 'sm', async (c) => {
      await c.query(`INSERT INTO docs (project_id, body) VALUES ('aa', 'planted')`);
      const u = await c.query(`UPDATE docs SET body = body WHERE project_id = 'motoko'`);
      expect(u.rowCount).toBe(10);
      const d = await c.query(`DELETE FROM docs WHERE body = 'planted'`);
      expect(d.rowCount).toBe(1);
    });
    // one finding per row changed: not the SELECT policy PostgreSQL also checks, nor the new row
    expect((await audit()).map((r) => [r.operation, r.row_project_id, r.denied_reason, r.row_count])).toEqual([
      ['DELETE', 'aa', 'cross-tenant write', 1],
      ['INSERT', 'aa', 'cross-tenant write', 1],
      ['UPDATE', 'motoko', 'cross-tenant write', 10],
    ]);
  });

  it('records one finding for one foreign row updated or deleted, whatever the statement reads of it', async () => {
    const [id] = (await db.pool.query(`SELECT id FROM docs WHERE project_id = 'ab' ORDER BY id LIMIT 1`)).rows.map((r) => r.id);
    await asApp(db.app, 'sm', async (c) => {
      await c.query(`UPDATE docs SET body = body || '' WHERE id = $1 AND project_id = 'ab' RETURNING body`, [id]);
    });
    expect((await audit()).map((r) => [r.operation, r.row_project_id, r.row_count])).toEqual([['UPDATE', 'ab', 1]]);
    await db.pool.query('TRUNCATE shadowgate.rls_audit_log');
    await asApp(db.app, 'sm', async (c) => {
      const { rows } = await c.query(`INSERT INTO docs (project_id, body) VALUES ('ab', 'one') RETURNING id`);
      await c.query('DELETE FROM docs WHERE id = $1 RETURNING id', [rows[0].id]);
    });
    expect((await audit()).map((r) => [r.operation, r.row_project_id, r.row_count])).toEqual([['DELETE', 'ab', 1], ['INSERT', 'ab', 1]]);
    await db.pool.query('TRUNCATE shadowgate.rls_audit_log');
    // a later statement reading that owner is a finding of its own
    await asApp(db.app, 'sm', async (c) => {
      await c.query(`UPDATE docs SET body = body WHERE id = $1`, [id]);
      await c.query(`SELECT body FROM docs WHERE id = $1`, [id]);
    });
    expect((await audit()).map((r) => [r.operation, r.row_project_id, r.row_count])).toEqual([['SELECT', 'ab', 1], ['UPDATE', 'ab', 1]]);
  });

  it('gives every finding the statement, the application_name, and whether the statement may have discarded the row', async () => {
    const c = await db.app.connect();
    try {
      await c.query(`SET application_name = 'billing-export'`);
      await c.query('BEGIN');
      await c.query(`SELECT shadowgate.set_project_context('sm')`);
      await c.query(`SELECT count(*) FROM docs WHERE project_id = 'bap' /* ${'x'.repeat(2000)} */`);
      await c.query(`SELECT d.id FROM docs d JOIN (VALUES (0)) v(x) ON d.id + 0 = v.x WHERE d.project_id = 'io'`);
      await c.query('COMMIT');
    } finally {
      await c.query('RESET application_name');
      c.release();
    }
    await db.pool.query('SELECT shadowgate.absorb_audit()');
    const { rows } = await db.pool.query(
      `SELECT row_project_id, statement, application_name, plan_dependent FROM shadowgate.rls_audit_log ORDER BY row_project_id`);
    expect(rows.map((r) => [r.row_project_id, r.application_name, r.plan_dependent])).toEqual([
      ['bap', 'billing-export', false],
      ['io', 'billing-export', true], // rows noted by the scan, then discarded by the join
    ]);
    expect(rows[0].statement).toMatch(/^SELECT count\(\*\) FROM docs WHERE project_id = 'bap'/);
    expect(rows[0].statement).toHaveLength(1024);
    expect(rows[1].statement).toContain('JOIN (VALUES (0))');
  });

  it('records access without a project context or with an unknown project, against the row owner', async () => {
    expect(await asApp(db.app, null, count)).toBe(80);
    expect(await asApp(db.app, 'nosuch', count)).toBe(80);
    const rows = await audit();
    expect(rows.filter((r) => r.denied_reason === 'no project context')).toHaveLength(8);
    const unknown = rows.filter((r) => r.denied_reason === 'unknown project');
    expect(unknown).toHaveLength(8);
    expect(unknown.every((r) => r.project_id === r.row_project_id && r.context_project_id === 'nosuch')).toBe(true);
  });

});

const onOneSession = (statements: string[], options?: { readOnlySession?: boolean }) => onOneAppSession(db.app, statements, options);

const txnCount = async (p: string) =>
  Number((await db.pool.query(`SELECT shadowgate.txn_count(seq_no) AS n FROM shadowgate.project_registry WHERE project_id = $1`, [p])).rows[0].n);

describe('shadow: every transaction is recorded, whatever happens to it', () => {
  beforeAll(() => allPhases('shadow'));
  const READ_AA = `SELECT count(*) FROM docs WHERE project_id = 'aa'`;

  // Row counts: exact where the transaction commits a write; otherwise at least the first row, at
  // most every row (what was noted after the recorder's last send is lost with the transaction).
  const findings = async () => (await audit()).map((r) => [r.project_id, r.row_project_id, r.row_count >= 1 && r.row_count <= 20]);

  it('records a transaction that rolls back, and counts it', async () => {
    const before = await txnCount('sm');
    await onOneSession(['BEGIN', `SELECT shadowgate.set_project_context('sm')`, READ_AA, READ_AA, 'ROLLBACK']);
    expect(await findings()).toEqual([['sm', 'aa', true]]);
    expect(await txnCount('sm')).toBe(before + 1);
  });

  it('records what a rolled-back savepoint read', async () => {
    await onOneSession(['BEGIN', `SELECT shadowgate.set_project_context('sm')`, 'SAVEPOINT s', READ_AA,
      `SELECT count(*) FROM docs WHERE project_id = 'ab'`, 'ROLLBACK TO SAVEPOINT s', 'COMMIT']);
    expect((await findings()).map(([, owner]) => owner)).toContain('aa');
  });

  it('records a READ ONLY transaction and counts it', async () => {
    const before = await txnCount('sm');
    await onOneSession(['BEGIN READ ONLY', `SELECT shadowgate.set_project_context('sm')`, READ_AA, 'COMMIT']);
    expect(await findings()).toEqual([['sm', 'aa', true]]);
    expect(await txnCount('sm')).toBe(before + 1);
  });

  it('records a session with default_transaction_read_only, and a read outside any transaction block', async () => {
    const before = await txnCount('sm');
    await onOneSession(['BEGIN', `SELECT shadowgate.set_project_context('sm')`, READ_AA, 'ROLLBACK',
      `SELECT shadowgate.set_project_context('sm'), (${READ_AA})`], { readOnlySession: true });
    expect(await findings()).toEqual([['sm', 'aa', true], ['sm', 'aa', true]]);
    expect(await txnCount('sm')).toBe(before + 2);
  });

  it('leaves no rolled-back reads of another tenant unrecorded: one finding per transaction', async () => {
    const before = await txnCount('sm');
    const n = 150;
    await onOneSession(Array.from({ length: n }, () => ['BEGIN', `SELECT shadowgate.set_project_context('sm')`,
      `SELECT count(*) FROM docs WHERE project_id = 'motoko'`, 'ROLLBACK']).flat());
    const rows = await audit();
    expect(rows).toHaveLength(n);
    expect(rows.every((r) => r.project_id === 'sm' && r.row_project_id === 'motoko' && r.row_count >= 1)).toBe(true);
    expect(await txnCount('sm')).toBe(before + n);
  });
});

describe('enforcing', () => {
  beforeAll(() => allPhases('enforcing'));

  it('filters reads by access level', async () => {
    expect(await asApp(db.app, 'sm', count)).toBe(10);
    expect(await asApp(db.app, 'aa', count)).toBe(30); // own + sm + ab
    expect(await asApp(db.app, 'bap', count)).toBe(20); // own + sm
    expect(await asApp(db.app, 'echo', count)).toBe(80);
    expect(await asApp(db.app, null, count)).toBe(0);
    expect(await asApp(db.app, 'nosuch', count)).toBe(0);
    expect(await audit()).toEqual([]);
  });

  it('rejects cross-tenant inserts with 42501 and skips cross-tenant updates and deletes', async () => {
    await expect(asApp(db.app, 'sm', (c) => c.query(`INSERT INTO docs (project_id, body) VALUES ('aa', 'x')`))).rejects.toMatchObject({ code: '42501' });
    await expect(asApp(db.app, 'echo', (c) => c.query(`UPDATE docs SET project_id = 'sm' WHERE project_id = 'echo'`))).rejects.toMatchObject({ code: '42501' });
    expect((await asApp(db.app, 'echo', (c) => c.query(`UPDATE docs SET body = 'x' WHERE project_id = 'sm'`))).rowCount).toBe(0);
    expect((await asApp(db.app, 'aa', (c) => c.query(`DELETE FROM docs WHERE project_id = 'sm'`))).rowCount).toBe(0);
    expect((await asApp(db.app, 'sm', (c) => c.query(`UPDATE docs SET body = 'own' WHERE project_id = 'sm'`))).rowCount).toBe(10);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM docs WHERE project_id = 'sm' AND body = 'x'`);
    expect(rows[0].n).toBe(0);
  });

  it('never leaks rows through a generic plan reused across tenants', async () => {
    const c = await db.app.connect();
    try {
      await c.query('SET plan_cache_mode = force_generic_plan');
      const q = { name: 'count-docs', text: 'SELECT count(*)::int AS n FROM docs' };
      for (const [p, expected] of [['sm', 10], ['aa', 30], ['sm', 10], ['echo', 80], ['sm', 10]] as const) {
        await c.query('BEGIN');
        await c.query('SELECT shadowgate.set_project_context($1)', [p]);
        const r = await c.query(q);
        await c.query('COMMIT');
        expect(r.rows[0].n, p).toBe(expected);
      }
    } finally {
      c.release();
    }
  });
});

describe('transaction counting', () => {
  beforeAll(() => setPhase(db.pool, 'motoko', 'shadow'));

  it('counts each transaction once per project while it is in shadow, read-only ones too', async () => {
    const before = await txnCount('motoko');
    const ctx = `SELECT shadowgate.set_project_context('motoko')`;
    await onOneSession(['BEGIN', ctx, ctx, 'COMMIT', 'BEGIN', ctx, 'COMMIT', 'BEGIN READ ONLY', ctx, 'COMMIT']);
    const after = await txnCount('motoko');
    expect(after - before).toBe(3);
    // outside shadow nothing reads the count: set_project_context() is then a plain set_config()
    await setPhase(db.pool, 'motoko', 'enforcing');
    await onOneSession(['BEGIN', ctx, 'COMMIT']);
    await setPhase(db.pool, 'motoko', 'shadow');
    expect(await txnCount('motoko')).toBe(after);
  });

  it('never makes a transaction take a transaction id (a read-only one stays without commit flush)', async () => {
    const c = await db.app.connect();
    try {
      const assigned: unknown[] = [];
      for (let i = 0; i < 40; i++) { // a logged sequence writes WAL (and takes an id) every 32 calls
        await c.query('BEGIN');
        await c.query(`SELECT shadowgate.set_project_context('motoko')`);
        assigned.push((await c.query('SELECT txid_current_if_assigned() AS x')).rows[0].x);
        await c.query('COMMIT');
      }
      expect(assigned.filter((x) => x !== null)).toEqual([]);
    } finally {
      c.release();
    }
  });

  it('keeps the count across a crash of PostgreSQL, short by at most what was counted since the last carry', async () => {
    const seq = (await db.pool.query(`SELECT seq_no FROM shadowgate.project_registry WHERE project_id = 'motoko'`)).rows[0].seq_no;
    const counted = async () => Number((await db.pool.query('SELECT shadowgate.txn_count($1) AS n', [seq])).rows[0].n);
    const carry = () => db.pool.query(`SELECT shadowgate.carry_txn_counts('0 s')`);
    // sessions of its own: the shared pool's sessions may hold declared transactions not sent yet
    const run = async (n: number) => {
      const own = createPool(db.appUrl, 1);
      await transactions(own, 'motoko', n).finally(() => own.end());
    };
    const start = await counted();
    await run(3);
    await carry();
    expect(await counted()).toBe(start + 3);
    await run(2);
    expect(await counted()).toBe(start + 5);
    // what a crash does to unlogged relations: the sequence starts over, the marker row is gone
    await db.pool.query(`TRUNCATE shadowgate.txn_counter_alive`);
    await db.pool.query(`ALTER SEQUENCE shadowgate.txn_${Number(seq)} RESTART`);
    expect(await counted()).toBe(start + 3); // the 2 since the last carry are lost, nothing counted twice
    await run(4);
    expect(await counted()).toBe(start + 7);
    await carry();
    expect(await counted()).toBe(start + 7);
    await run(1);
    await carry();
    await carry();
    expect(await counted()).toBe(start + 8);
  });
});

describe('the violation window', () => {
  it('is not recounted by a clock reset or a phase change while an absorb is folding rows into it', async () => {
    await setPhase(db.pool, 'sm', 'shadow');
    const absorbing = await db.pool.connect();
    const other = await db.pool.connect();
    try {
      await absorbing.query('BEGIN');
      await absorbing.query('SELECT shadowgate.absorb_audit()');
      await other.query(`SET lock_timeout = '100ms'`);
      for (const q of [
        `SELECT shadowgate.reset_shadow_clock('sm', now(), 'test', 'a change')`,
        `SELECT shadowgate.set_phase('sm', 'enforcing', now(), 'test', NULL, false)`,
      ]) {
        await expect(other.query(q)).rejects.toMatchObject({ code: '55P03' });
      }
      await absorbing.query('COMMIT');
      expect((await other.query(`SELECT shadowgate.reset_shadow_clock('sm', now(), 'test', 'a change') AS r`)).rows[0].r).toBe(true);
    } finally {
      await absorbing.query('ROLLBACK').catch(() => undefined);
      absorbing.release();
      other.release();
    }
  });
});

describe('the application role', () => {
  const refused = async (sql: string) =>
    expect(asApp(db.app, 'sm', (c) => c.query(sql))).rejects.toMatchObject({ code: '42501' });

  it('cannot read, change or forge audit rows, phases, permissions or the registry', async () => {
    await refused('SELECT * FROM shadowgate.rls_audit_log');
    await refused(`INSERT INTO shadowgate.rls_audit_log (project_id, table_name, operation, would_be_denied) VALUES ('sm','docs','SELECT',true)`);
    await refused('DELETE FROM shadowgate.rls_audit_log');
    await refused(`UPDATE shadowgate.rls_migration_status SET migration_phase = 'pending'`);
    await refused(`INSERT INTO shadowgate.project_read_permissions VALUES ('sm', 'aa')`);
    await refused(`UPDATE shadowgate.project_registry SET access_level = 'super'`);
    await refused(`SELECT shadowgate.set_phase('sm', 'pending', now(), 'me', NULL, false)`);
    await refused(`SELECT shadowgate.protect('public.docs')`);
    await refused(`SELECT shadowgate.absorb_audit()`);
    await refused(`SELECT shadowgate.lock_audit()`);
    await refused(`ALTER TABLE docs DISABLE ROW LEVEL SECURITY`);
  });

  it('cannot record a would-be denial that did not happen', async () => {
    await setPhase(db.pool, 'sm', 'shadow');
    await asApp(db.app, 'sm', async (c) => {
      // claims of reading its own rows, and of a table that is not protected
      await c.query(`SELECT shadowgate.note_row(1, 'r', 'x', 'sm'), shadowgate.note_row(999, 'r', 'x', 'aa')`);
    });
    // reasons that do not fit the context: "no context" and "unknown project" with a known project set
    await asApp(db.app, 'sm', (c) => c.query(`SELECT shadowgate.note_row(1, 'r', k.rc, 'aa') FROM (VALUES ('n'), ('u')) AS k(rc)`));
    // reads the project may do: aa (shared) reads sm, echo (super) reads everything
    await setPhase(db.pool, 'aa', 'shadow');
    await setPhase(db.pool, 'echo', 'shadow');
    for (const [ctx, owner] of [['aa', 'sm'], ['echo', 'aa']] as const) {
      await asApp(db.app, ctx, (c) => c.query(`SELECT shadowgate.note_row(1, 'r', 'x', $1)`, [owner]));
    }
    expect(await audit()).toEqual([]);
  });

  it('cannot read or touch the audit inbox', async () => {
    await refused('SELECT * FROM shadowgate.audit_inbox');
    await refused(`INSERT INTO shadowgate.audit_inbox (txid, context_project_id, keys, counts) VALUES (1, 'sm', '{}', '{}')`);
    await refused('DELETE FROM shadowgate.audit_inbox');
  });

  it('cannot use dblink, the recorder\'s functions, or its connection', async () => {
    await setPhase(db.pool, 'sm', 'shadow');
    const c = await db.app.connect();
    try {
      await c.query(`SELECT shadowgate.set_project_context('sm')`); // the session's recorder is open now
      for (const q of [
        'SELECT shadowgate_dblink.dblink_get_connections()',
        `SELECT shadowgate_dblink.dblink_disconnect('x')`,
        `SELECT shadowgate_dblink.dblink_exec('dbname=postgres', 'SELECT 1')`,
        `SELECT shadowgate_dblink.dblink_send_query('x', 'SELECT 1')`,
        'SELECT shadowgate.recorder_name()',
        `SELECT shadowgate.recorder_send('x', true)`,
        `SELECT shadowgate.take_findings(1, 1, NULL, 'sm', 'u', 'a', 'q', '', 'sm@99999999999999999', 0, 1)`,
        `SELECT shadowgate.note_new_key('x', 1, 'r', 'x', 'o', '', 'h')`,
        `SELECT shadowgate.take_unobserved('1=1000')`,
        `SELECT shadowgate.count_unobserved('sm')`,
        `SELECT shadowgate.transaction_ended(1, now(), now(), 1)`,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'shadowgate recorder'`,
      ]) {
        await expect(c.query(q), q).rejects.toMatchObject({ code: expect.stringMatching(/^(42501|42883)$/) });
      }
      // nothing shows the recorder's buffers: their names hold the connection's random name
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_settings WHERE name LIKE 'shadowgate.%'`);
      expect(rows[0].n).toBe(0);
    } finally {
      c.release();
    }
  });

  it('counts a transaction once per project however often it declares it, whatever it resets', async () => {
    await setPhase(db.pool, 'sm', 'shadow');
    const seq = (await db.pool.query(`SELECT seq_no FROM shadowgate.project_registry WHERE project_id = 'sm'`)).rows[0].seq_no;
    const before = await txnCount('sm');
    const again = Array.from({ length: 20 }, () => [
      `SELECT set_config('shadowgate.counted_${Number(seq)}', '', true), set_config('shadowgate.pending', '', true)`,
      'RESET ALL', `SET LOCAL shadowgate.flush_scheduled = ''`, 'DISCARD TEMP',
      `SELECT shadowgate.set_project_context('sm')`, `SELECT shadowgate.declare_counted('sm')`,
    ]).flat();
    await onOneSession(['BEGIN', `SELECT shadowgate.set_project_context('sm')`, ...again, 'COMMIT']);
    await onOneSession([`SELECT shadowgate.declare_counted('sm') FROM generate_series(1, 50)`]);
    expect(await txnCount('sm')).toBe(before + 2);
  });

  it('cannot hide a would-be denial by resetting settings, by connection options or role settings, or by rolling back', async () => {
    await setPhase(db.pool, 'sm', 'shadow');
    await adminQuery(`ALTER ROLE ${db.appRole} SET shadowgate.pending = 'x'`);
    const tricked = createPool(`${db.appUrl}?options=${encodeURIComponent('-c shadowgate.flush_scheduled=1 -c shadowgate.notify_after=9')}`, 1);
    try {
      const c = await tricked.connect();
      try {
        for (const q of ['BEGIN', `SELECT shadowgate.set_project_context('sm')`,
          `SELECT count(*) FROM docs WHERE project_id = 'bap'`, 'RESET ALL', 'DISCARD TEMP',
          `SELECT set_config('shadowgate.pending', '', true)`, 'ROLLBACK']) await c.query(q);
        await c.query('SELECT shadowgate.flush_recorder()');
      } finally {
        c.release();
      }
    } finally {
      await tricked.end();
      await adminQuery(`ALTER ROLE ${db.appRole} RESET ALL`);
    }
    expect((await audit()).map((r) => [r.project_id, r.row_project_id])).toEqual([['sm', 'bap']]);
  });

  it('cannot escape its tenant in enforcing by setting the settings the policies read', async () => {
    await allPhases('enforcing');
    const n = await asApp(db.app, 'sm', async (c) => {
      await c.query(`SELECT set_config('shadowgate.pending', 'x', true), set_config('shadowgate.mode', 'A', true)`);
      return count(c);
    });
    expect(n).toBe(10);
  });
});
