// `node dist/bench/absorb-speed.js [transactions] [rounds]`: how fast absorb_audit() empties the
// audit inbox, in one large absorb (a backlog: `transactions` at once, default 100,000) and in
// small ones (100 transactions per absorb, as `shadowgate run` sees them while rows arrive), on a
// scratch database of its own. The inbox rows have the shape the recorder writes: half the
// transactions one row (its first finding), half that row plus a row of the rest (three keys), of
// ended transactions (no session recorded).
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { createScratchDb, dropScratchDb } from '../fixtures/scratch-db.js';
import { seedProjects } from '../fixtures/seed.js';
import { createPool } from '../shared/db/pool.js';
import { protectTable } from '../shared/db/protection.js';
import { absorbAudit } from '../shared/db/intake.js';

const TXNS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const SMALL = 100;
const ADMIN = process.env.ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const run = randomBytes(4).toString('hex');
const DB = `shadowgate_bench_absorb_${run}`;
const ROLE = `sg_bench_absorb_${run}`;

const { url } = await createScratchDb(ADMIN, DB, ROLE);
const pool = createPool(url, 2);
try {
  await seedProjects(pool);
  for (const p of ['sm', 'motoko', 'aa', 'ab']) {
    await pool.query(`SELECT shadowgate.set_phase($1, 'shadow', now(), 'bench', NULL, false)`, [p]);
  }
  for (let i = 0; i < 5; i++) {
    await pool.query(`CREATE TABLE public.t${i} (project_id text)`);
    await protectTable(pool, `public.t${i}`);
  }
  let txid = 1;
  /** `n` transactions of sm or motoko reading rows of other projects, in the inbox */
  const fill = async (n: number) => {
    const from = txid;
    txid += n;
    await pool.query(
      `WITH t AS (SELECT i, (ARRAY['sm', 'motoko'])[1 + i % 2] AS ctx,
                         (ARRAY['aa', 'ab', 'bap', 'echo', 'ea', 'io'])[1 + (i / 2) % 6] AS owner, 1 + i % 5 AS tid
                    FROM generate_series($1::bigint, $2::bigint) i)
       INSERT INTO shadowgate.audit_inbox (txid, context_project_id, user_name, session_id, keys, counts)
       SELECT i, ctx, 'app', 'bench', ARRAY['shadowgate.n' || tid || 'rx_x' || encode(convert_to(owner, 'UTF8'), 'hex')], '{1}'::bigint[] FROM t
       UNION ALL SELECT i, ctx, 'app', 'bench',
                        ARRAY(SELECT 'shadowgate.n' || tid || 'rx_x' || encode(convert_to(o, 'UTF8'), 'hex')
                                FROM unnest(ARRAY[owner, 'ea', 'io']) o), '{3,2,1}'::bigint[] FROM t WHERE i % 2 = 0`,
      [from, txid - 1]);
    await pool.query('VACUUM shadowgate.audit_inbox'); // what autovacuum does between absorbs in production
  };
  const large: number[] = [];
  const small: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    await fill(TXNS);
    let t = performance.now();
    await absorbAudit(pool);
    large.push(TXNS / ((performance.now() - t) / 1000));
    let ms = 0;
    for (let k = 0; k < 200; k++) {
      await fill(SMALL);
      t = performance.now();
      await absorbAudit(pool);
      ms += performance.now() - t;
    }
    small.push((200 * SMALL) / (ms / 1000));
  }
  const fmt = (xs: number[]) => xs.map((x) => Math.round(x).toLocaleString('en-US')).join(', ');
  console.log(`one absorb of ${TXNS} transactions: ${fmt(large)} transactions/s`);
  console.log(`absorbs of ${SMALL} transactions:      ${fmt(small)} transactions/s`);
} finally {
  await pool.end();
  await dropScratchDb(ADMIN, DB, ROLE);
}
