import type { Pool } from '../../shared/db/pool.js';
import { addProject, permit } from '../../shared/db/projects.js';
import { protectTable } from '../../shared/db/protection.js';

/** The seed's eight projects: sm, motoko isolated; ab, aa, bap shared; echo, ea, io super. */
export const SEED_PROJECTS: Array<[string, 'isolated' | 'shared' | 'super', boolean]> = [
  ['sm', 'isolated', false],
  ['motoko', 'isolated', false],
  ['ab', 'shared', false],
  ['aa', 'shared', false],
  ['bap', 'shared', false],
  ['echo', 'super', false],
  ['ea', 'super', false],
  ['io', 'super', true],
];

export async function seedProjects(pool: Pool): Promise<void> {
  for (const [id, level, legacy] of SEED_PROJECTS) {
    await addProject(pool, {
      projectId: id, accessLevel: level, legacyOwner: legacy,
      leadEmail: `${id}-lead@example.com`, leadSlack: `@${id}-lead`, minShadowDays: legacy ? 14 : undefined,
    });
  }
  // shared projects read sm (and aa reads ab)
  for (const [r, t] of [['aa', 'sm'], ['ab', 'sm'], ['bap', 'sm'], ['aa', 'ab']] as const) await permit(pool, r, t);
}

/** An application table with rows of every project, protected. */
export async function createDocs(pool: Pool, rowsPerProject = 10): Promise<void> {
  await pool.query(`CREATE TABLE public.docs (id bigserial PRIMARY KEY, project_id varchar(50) NOT NULL, body text)`);
  await pool.query(
    `INSERT INTO public.docs (project_id, body)
     SELECT p.project_id, 'doc ' || i FROM shadowgate.project_registry p, generate_series(1, $1) i`,
    [rowsPerProject],
  );
  await protectTable(pool, 'public.docs');
}

export async function setPhase(pool: Pool, project: string, phase: string, shadowStartedAt?: Date): Promise<void> {
  await pool.query(
    `SELECT shadowgate.set_phase($1, $2, coalesce($3::timestamptz, now()), 'test', NULL, false)`,
    [project, phase, shadowStartedAt ?? null],
  );
}
