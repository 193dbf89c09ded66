import type { Pool } from '../../shared/db/pool.js';
import { seedProjects as seedRollout } from '../../fixtures/seed.js';
import { protectTable } from '../../shared/db/protection.js';

/** The seed's projects and permissions (fixtures/seed.ts), and aa also reads ab. */
export async function seedProjects(pool: Pool): Promise<void> {
  await seedRollout(pool, [['aa', 'ab']]);
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

/** The state most test files start from: the seed's projects, `rowsPerProject` rows each in public.docs (protected), the application role granted. */
export async function seedDocsAndGrant(db: { pool: Pool; grantApp(): Promise<void> }, rowsPerProject: number): Promise<void> {
  await seedProjects(db.pool);
  await createDocs(db.pool, rowsPerProject);
  await db.grantApp();
}

export async function setPhase(pool: Pool, project: string, phase: string, shadowStartedAt?: Date): Promise<void> {
  await pool.query(
    `SELECT shadowgate.set_phase($1, $2, coalesce($3::timestamptz, now()), 'test', NULL, false)`,
    [project, phase, shadowStartedAt ?? null],
  );
}
