// The ORM recipes of examples/orm, each through its library's own transaction API, against real
// PostgreSQL through the non-superuser application role.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { sql as dsql } from 'drizzle-orm';
import { Kysely, PostgresDialect, sql as ksql } from 'kysely';
import knexFactory from 'knex';
import { QueryTypes, Sequelize } from 'sequelize';
import { withProjectDrizzle } from '../examples/orm/drizzle.js';
import { withProjectKysely } from '../examples/orm/kysely.js';
import { withProjectKnex } from '../examples/orm/knex.js';
import { withProjectSequelize } from '../examples/orm/sequelize.js';
import { addProject } from '../shared/db/projects.js';
import { absorbAndLoadStats } from '../shared/db/stats.js';
import { createTestDb, type TestDb } from './support/db.js';
import { createDocs, setPhase } from './support/seed.js';

/** What each recipe is asked to do, in a transaction as `project`. */
interface Orm {
  count(project: string): Promise<number>;
  insert(project: string, owner: string): Promise<void>;
  close(): Promise<void>;
}

const ORMS: Record<string, (url: string) => Orm> = {
  drizzle(url) {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const db = drizzle(pool);
    return {
      count: (p) => withProjectDrizzle(db, p, async (tx) => Number((await tx.execute(dsql`SELECT count(*) AS n FROM docs`)).rows[0]!.n)),
      insert: (p, owner) => withProjectDrizzle(db, p, async (tx) => void (await tx.execute(dsql`INSERT INTO docs (project_id, body) VALUES (${owner}, 'drizzle')`))),
      close: () => pool.end(),
    };
  },
  kysely(url) {
    interface DB { docs: { id: number; project_id: string; body: string | null } }
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) });
    return {
      count: (p) => withProjectKysely(db, p, async (trx) =>
        Number((await trx.selectFrom('docs').select(ksql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n)),
      insert: (p, owner) => withProjectKysely(db, p, async (trx) => void (await trx.insertInto('docs').values({ project_id: owner, body: 'kysely' } as never).execute())),
      close: () => db.destroy(),
    };
  },
  knex(url) {
    const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
    return {
      count: (p) => withProjectKnex(knex, p, async (trx) => Number((await trx('docs').count({ n: '*' }).first())!.n)),
      insert: (p, owner) => withProjectKnex(knex, p, async (trx) => void (await trx('docs').insert({ project_id: owner, body: 'knex' }))),
      close: () => knex.destroy(),
    };
  },
  sequelize(url) {
    const sequelize = new Sequelize(url, { dialect: 'postgres', logging: false, pool: { max: 2 } });
    return {
      count: (p) => withProjectSequelize(sequelize, p, async (t) =>
        Number((await sequelize.query<{ n: string }>('SELECT count(*) AS n FROM docs', { type: QueryTypes.SELECT, transaction: t }))[0]!.n)),
      insert: (p, owner) => withProjectSequelize(sequelize, p, async (t) =>
        void (await sequelize.query('INSERT INTO docs (project_id, body) VALUES (:owner, :body)', { replacements: { owner, body: 'sequelize' }, transaction: t }))),
      close: () => sequelize.close(),
    };
  },
};

/** The SQLSTATE, wherever the library put the driver's error. */
function sqlstate(err: unknown): string | undefined {
  for (let e = err as Record<string, unknown> | undefined, i = 0; e && i < 4; i++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    e = (e.cause ?? e.parent ?? e.original) as Record<string, unknown> | undefined;
  }
  return undefined;
}

let db: TestDb & { grantApp(): Promise<void> };
const rows = async (owner?: string) =>
  (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM docs WHERE $1::text IS NULL OR project_id = $1', [owner ?? null])).rows[0]!.n;

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  // per library: one enforcing and one shadow project of its own, so each test stands alone
  for (const name of Object.keys(ORMS)) {
    await addProject(db.pool, { projectId: `${name}_enf`, accessLevel: 'isolated' });
    await addProject(db.pool, { projectId: `${name}_shd`, accessLevel: 'isolated' });
  }
  await createDocs(db.pool, 5);
  await db.grantApp();
  for (const name of Object.keys(ORMS)) {
    await setPhase(db.pool, `${name}_enf`, 'enforcing');
    await setPhase(db.pool, `${name}_shd`, 'shadow');
  }
});
afterAll(async () => db?.drop());

describe.each(Object.keys(ORMS))('recipe: %s', (name) => {
  const enf = `${name}_enf`;
  const shd = `${name}_shd`;

  it('declares the project inside the library\'s transaction: enforcing sees and writes only its own rows', async () => {
    const orm = ORMS[name]!(db.appUrl);
    try {
      expect(await orm.count(enf)).toBe(await rows(enf));
      await orm.insert(enf, enf);
      expect(await rows(enf)).toBe(6);
      const other = await rows(shd);
      const err = await orm.insert(enf, shd).then(() => undefined, (e) => e);
      expect(sqlstate(err)).toBe('42501');
      expect(await rows(shd)).toBe(other);
    } finally {
      await orm.close();
    }
  });

  it('shadow: sees every row, the transaction is counted and the would-be denials recorded', async () => {
    const orm = ORMS[name]!(db.appUrl);
    try {
      const [before] = await absorbAndLoadStats(db.pool, [shd]);
      expect(await orm.count(shd)).toBe(await rows());
      const [after] = await absorbAndLoadStats(db.pool, [shd]);
      expect(after!.transactions - before!.transactions).toBe(1);
      expect(after!.violations).toBeGreaterThan(before!.violations);
    } finally {
      await orm.close();
    }
  });
});
