import { InputError } from '../errors.js';
import type { Queryable } from './pool.js';
import { requireProjects } from './projects.js';
import { queryOne } from './sql.js';

/**
 * Records a code or permission change; a project in shadow has its clock reset in the same
 * transaction (shadowgate.record_change()).
 */
export async function recordChange(
  db: Queryable,
  c: { projectId: string; kind: string; ref: string; actor: string; at: Date },
): Promise<{ id: number; clockReset: boolean }> {
  if (c.kind !== 'code' && c.kind !== 'acl') throw new InputError(`unknown change kind "${c.kind}" (code or acl)`);
  if (!c.ref) throw new InputError('--ref is required (the PR or migration)');
  await requireProjects(db, [c.projectId]);
  const r = await queryOne<{ change_id: number; clock_reset: boolean }>(db, 'change-record', [c.projectId, c.kind, c.ref, c.actor, c.at]);
  return { id: r.change_id, clockReset: r.clock_reset };
}
